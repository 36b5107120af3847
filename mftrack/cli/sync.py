"""`mftrack sync`: push this device's SIP and transaction changes to Supabase and pull the
other devices'.

Exit codes (docs/sync.md): 0 done (also when another sync is running), 75 network trouble
(retry later; nothing is lost), 77 login required, 6 not configured.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import typer

from mftrack.cli.runtime import Runtime

if TYPE_CHECKING:
    from mftrack.services.sync import SyncStatus

app = typer.Typer(
    name="sync",invoke_without_command=True)


@app.callback()
def sync(
    ctx: typer.Context,
    dry_run: bool = typer.Option(
        False, "--dry-run", help="List the changes the next sync would push; no network."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print the result as JSON."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Only errors and warnings (for cron)."),
) -> None:
    """Sync your SIPs and transactions with your Supabase project: push this device's
    changes, pull the others'.

    The local database stays the truth on each device; edits of one SIP or transaction on two
    devices merge per field (the later sync wins); a removed one stays removed. For cron:
    exit 0 done (or another sync is running), 75 network trouble (retry next run; nothing is
    lost), 77 run `mftrack login`. `mftrack sync status` shows what is pending, the last
    result and the changes the server refused. See docs/sync.md.
    """
    if ctx.invoked_subcommand is not None:
        return
    runtime: Runtime = ctx.obj
    if quiet:
        runtime.quiet = True
    if dry_run:
        _dry_run(runtime, json_out)
        return
    from mftrack.services.sync import SyncBusy, sync_now

    try:
        report = sync_now(store=runtime.store, settings=runtime.settings, paths=runtime.paths,
                          warn=runtime.warn)
    except SyncBusy:
        if json_out:
            runtime.write_data(json.dumps({"skipped": "another sync is running"}))
        runtime.info("Another sync is running; nothing to do.")
        return
    if json_out:
        runtime.write_data(json.dumps(report.as_dict(), indent=2))
    runtime.info(f"Synced: {report.summary()} (server version {report.server_version}).")
    if report.rejected:  # shown even with --quiet: cron mails it once
        runtime.warn(f"the server refused {report.rejected} change(s); they are kept as dead "
                     "letters and the rows show the server's values: `mftrack sync status`")


def _dry_run(runtime: Runtime, json_out: bool) -> None:
    from mftrack.services.sync import pending_changes

    changes = pending_changes(store=runtime.store)
    if json_out:
        runtime.write_data(json.dumps(
            [{"mid": m.mid, "table": m.table, "id": m.row_id, "base_version": m.base_version,
              "fields": m.fields, "deleted": m.deleted, "queued_at": m.created_at}
             for m in changes], indent=2))
        return
    if not changes:
        runtime.info("Nothing to push (pulling is not simulated: run `mftrack sync`).")
        return
    for m in changes:
        what = "remove" if m.deleted else ("create" if m.base_version <= 0 and
                                            "scheme_code" in m.fields else "change")
        names = ", ".join(sorted(k for k in m.fields if k not in ("updated_at", "deleted")))
        runtime.out.print(f"{m.mid:>6}  {what:<7} {_row_label(m.table)} {m.row_id[:8]}  {names}",
                          soft_wrap=True)
    counts = {t: sum(1 for m in changes if m.table == t)
              for t in sorted({m.table for m in changes})}
    runtime.info(f"{len(changes)} change(s) would be pushed ({_per_table(counts)}); "
                 "pulling is not simulated.")


_LABELS = {"sips": ("SIP", "SIPs"), "transactions": ("transaction", "transactions")}


def _row_label(table: str) -> str:
    """What one row of a synced table is called (the table's name for one mftrack does not
    know)."""
    return _LABELS.get(table, (table, table))[0]


def _per_table(counts: dict[str, int]) -> str:
    """`{"sips": 3, "transactions": 2}` -> "3 SIPs, 2 transactions"."""
    return ", ".join(f"{n} {_LABELS.get(t, (t, t))[n != 1]}" for t, n in counts.items())


@app.command("status")
def status(
    ctx: typer.Context,
    json_out: bool = typer.Option(False, "--json", help="Print the status as JSON."),
) -> None:
    """Show pending changes, the last sync's time and result, the server version reached and
    the changes the server refused (dead letters). No network."""
    from mftrack.services.sync import sync_status

    runtime: Runtime = ctx.obj
    state = sync_status(store=runtime.store)
    if json_out:
        runtime.write_data(json.dumps(state.as_dict(), indent=2))
        return
    _print_status(runtime, state)


def _print_status(runtime: Runtime, state: SyncStatus) -> None:
    out = runtime.out
    lines: list[tuple[str, Any]] = [
        ("Pending changes", f"{state.pending} ({_per_table(state.pending_by_table)})"),
        ("Last sync", f"{state.last_run_at or 'never'}"
                      + (f" ({state.last_result}: {state.last_message})"
                         if state.last_result else "")),
        ("Last successful sync", state.last_ok_at or "never"),
        ("Server version", "unknown" if state.server_version is None else state.server_version),
        ("Cursor", f"{state.cursor_version}" + (f" / {state.cursor_id}"
                                                if state.cursor_id else "")),
    ]
    if state.reset_in_progress:
        lines.append(("Full re-pull", f"in progress (after a {state.reset_in_progress})"))
    if state.account:
        lines.append(("Account", f"{state.account.get('user_id')} at "
                                 f"{state.account.get('url')}"))
    if state.client_id:
        lines.append(("Device id", state.client_id))
    width = max(len(name) for name, _ in lines)
    for name, value in lines:
        out.print(f"{name + ':':<{width + 1}} {value}", soft_wrap=True, markup=False)
    if not state.dead_letters:
        out.print("Dead letters: none", markup=False)
        return
    out.print(f"Dead letters ({len(state.dead_letters)}): changes the server refused; the rows "
              "show the server's values", soft_wrap=True, markup=False)
    for d in state.dead_letters:
        names = ", ".join(sorted(k for k in d.fields if k not in ("updated_at", "deleted")))
        what = "remove" if d.deleted else (names or "no fields")
        out.print(f"  {d.mid:>6}  {_row_label(d.table)} {d.row_id[:8]}  {what}  [{d.code}] "
                  f"{d.message}  ({d.failed_at})", soft_wrap=True, markup=False)
