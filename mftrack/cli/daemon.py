"""`mftrack daemon`: run the scheduler in the foreground, or show what it did."""

from __future__ import annotations

import json
from datetime import datetime

import typer

from mftrack.cli.runtime import Runtime

app = typer.Typer(
    name="daemon",
    help="The background scheduler: NAV pulls, SIP history, sync, logs.", no_args_is_help=True
)


@app.command("run")
def run(
    ctx: typer.Context,
    verbose: bool = typer.Option(
        False, "--verbose", "-v", help="Also log DEBUG lines (e.g. sync skipped: not logged in)."
    ),
) -> None:
    """Run the scheduler in the foreground until SIGTERM or Ctrl-C (for systemd or launchd).

    Pulls AMFI's NAVs in the publication windows (21:30-23:30 IST, and 07:00-10:30 the next
    morning for FoF and overseas schemes), fetches missing NAV history for your SIPs so due
    instalments get allotted, precomputes the valuation series, syncs every
    `daemon.sync_interval_minutes` when you are logged in, and deletes log files older than
    `logs.retention_days`. Logs go to stderr and the daily files (`mftrack logs`).
    One daemon per data folder: a second one exits with code 9.
    """
    import signal
    import threading

    from mftrack.daemon.service import run_daemon, stop_on_signals, timetable_for

    runtime: Runtime = ctx.obj
    settings = runtime.settings
    timetable = timetable_for(settings)
    stop = threading.Event()
    received = stop_on_signals(stop)
    run_daemon(
        paths=runtime.paths, settings=settings, stop=stop, timetable=timetable, verbose=verbose
    )
    if received() == signal.SIGINT:
        raise typer.Exit(130)


def _when(value: datetime | None) -> str:
    from mftrack.daemon.schedule import IST

    return "" if value is None else f"{value.astimezone(IST):%Y-%m-%d %H:%M}"


@app.command("status")
def status(
    ctx: typer.Context,
    json_out: bool = typer.Option(False, "--json", help="Print the status as JSON."),
) -> None:
    """Show each daemon job's last run, result, message and next run (IST).

    Read from the database, so it works from any shell while the daemon runs elsewhere.
    """
    from mftrack.daemon.lock import running_daemon_pid
    from mftrack.daemon.state import read_job_runs

    runtime: Runtime = ctx.obj
    pid = running_daemon_pid(runtime.paths)
    runs = read_job_runs(runtime.store)
    if json_out:
        data = {
            "running": pid is not None,
            "pid": pid or None,
            "jobs": [run.as_dict() for run in runs],
        }
        runtime.write_data(json.dumps(data, indent=2))
        return
    state = "not running" if pid is None else f"running (pid {pid})" if pid else "running"
    runtime.out.print(f"Daemon: {state}", soft_wrap=True)
    if not runs:
        runtime.info("No job has run yet. Start the daemon with `mftrack daemon run`.")
        return
    from mftrack.render.tables import Col, fit_table

    rows = [
        (
            run.job,
            _when(run.last_finished_at or run.last_started_at),
            run.last_result or "",
            str(run.consecutive_failures or ""),
            _when(run.next_run_at),
        )
        for run in runs
    ]
    table = fit_table(
        [
            Col("job", keep_if_empty=True),
            Col("last run (IST)"),
            Col("result"),
            Col("failures", "right"),
            Col("next run (IST)"),
        ],
        rows,
        width=runtime.table_width,
    )
    runtime.print_table(table)
    from rich.markup import escape

    for run in runs:
        if run.last_message:
            runtime.out.print(f"{run.job}: {escape(run.last_message)}", soft_wrap=True)
