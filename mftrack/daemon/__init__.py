"""The daemon behind `mftrack daemon run`: NAV pulls in AMFI's publication windows, SIP
history backfill, sync, precomputed valuations and log retention.

`schedule`, `arrival` and `gaps` are pure (times and dates in, times and dates out); `runner`
is the loop (injected clock, sleep and stop event); `jobs` does the work through `services`
and `adapters`; `service` wires it up for the CLI. Nothing here imports typer.
"""
