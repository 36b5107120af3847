"""`mftrack logs`: print (or follow) mftrack's daily log files, and remove old ones."""

from __future__ import annotations

from datetime import UTC, date, datetime

import typer

from mftrack.cli.params import parse_date
from mftrack.cli.runtime import Runtime

app = typer.Typer(
    name="logs",help="Read mftrack's log files, or clean old ones.")


def _local_today() -> date:
    # Log files are named by the machine's local day (see adapters/logfiles.py).
    return datetime.now(UTC).astimezone().date()


@app.callback(invoke_without_command=True)
def show(
    ctx: typer.Context,
    follow: bool = typer.Option(False, "--follow", "-f", help="Keep printing new lines."),
    since: str | None = typer.Option(None, "--since", help="Only lines from this date on."),
    level: str | None = typer.Option(
        None, "--level", help="Only lines at this level or above: DEBUG, INFO, WARNING, ERROR."
    ),
) -> None:
    """Print the lines of mftrack's daily log files (oldest first) on stdout."""
    if ctx.invoked_subcommand is not None:
        return
    from mftrack.adapters.logfiles import LEVELS, follow_lines, read_lines
    from mftrack.errors import InvalidInputError

    runtime: Runtime = ctx.obj
    if level is not None and level.upper() not in LEVELS:
        raise InvalidInputError(
            f"--level {level!r} is not a log level", hint="use DEBUG, INFO, WARNING or ERROR"
        )
    first = parse_date(since, option="--since")
    log_dir = runtime.paths.log_dir
    try:
        if not follow:
            lines = read_lines(log_dir, since=first, level=level)
            if lines:
                runtime.write_data("\n".join(lines))
            elif not runtime.quiet:
                runtime.info(f"No matching log lines in {log_dir}.")
            return
        import threading

        for line in follow_lines(log_dir, since=first, level=level, stop=threading.Event()):
            runtime.write_data(line)
    except BrokenPipeError:
        _reader_went_away()


def _reader_went_away() -> None:
    """`mftrack logs | head` closed the pipe: stop quietly, like `cat` does."""
    import os
    import sys

    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no error at exit flush
    raise typer.Exit(0)


@app.command("clean")
def clean(
    ctx: typer.Context,
    dry_run: bool = typer.Option(False, "--dry-run", help="List what would go; delete nothing."),
) -> None:
    """Delete mftrack's log files older than `logs.retention_days` days.

    Only files named exactly mftrack-YYYY-MM-DD.log are considered; anything else in the log
    folder is left alone. The daemon does this on start and daily.
    """
    from mftrack.adapters.logfiles import clean_logs

    runtime: Runtime = ctx.obj
    days = runtime.settings.logs_retention_days
    report = clean_logs(
        runtime.paths.log_dir, retention_days=days, today=_local_today(), dry_run=dry_run
    )
    for path in report.removed:
        runtime.write_data(str(path))
    verb = "Would remove" if dry_run else "Removed"
    runtime.info(
        f"{verb} {len(report.removed)} log file(s) dated before {report.cutoff} "
        f"(logs.retention_days = {days}); kept {len(report.kept)}."
    )
    for problem in report.problems:
        runtime.warn(problem)
    if report.problems:
        raise typer.Exit(1)
