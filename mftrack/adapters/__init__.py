"""Adapters: the only layer that does I/O (AMFI/mfapi.in over HTTP, SQLite, Supabase).

Each subpackage translates a third-party format or library into `mftrack.domain` types and
`mftrack.errors` exceptions. Nothing here is imported by `mftrack.domain` or `mftrack.services`.
"""
