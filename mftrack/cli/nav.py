"""`mftrack nav`: get NAVs from AMFI or mfapi.in, or import files."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer

from mftrack.cli.params import HistorySource, parse_date
from mftrack.cli.runtime import Runtime

app = typer.Typer(
    name="nav",help="Download or import NAVs.", no_args_is_help=True)


@contextmanager
def download_progress(runtime: Runtime, label: str) -> Iterator[Callable[[int, int | None], None]]:
    """A progress bar on stderr while bytes arrive (hidden with --quiet or off a terminal)."""
    if runtime.quiet or not runtime.err.is_terminal:
        yield lambda done, total: None
        return
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TransferSpeedColumn,
    )

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        console=runtime.err,
        transient=True,
    ) as progress:
        task = progress.add_task(label, total=None)

        def update(done: int, total: int | None) -> None:
            progress.update(task, completed=done, total=total)

        yield update


def make_client(runtime: Runtime, progress: Callable[[int, int | None], None] | None = None) -> Any:
    """The AMFI/mfapi HTTP client, configured from settings (imports httpx only now)."""
    from mftrack.adapters.amfi.client import AmfiClient

    settings = runtime.settings
    return AmfiClient(
        settings.amfi_navall_url,
        settings.amfi_history_url,
        settings.mfapi_base_url,
        timeout=settings.network_timeout,
        retries=settings.network_retries,
        deadline=settings.network_deadline,
        progress=progress,
        on_retry=runtime.info,  # "…: HTTP 503; retrying in 1 s (1 of 3)" on stderr
    )


def _report_problems(runtime: Runtime, report: Any) -> None:
    if report.problems:
        runtime.warn(
            f"{report.origin}: {len(report.problems)} row(s) without a usable NAV "
            f"(e.g. line {report.problems[0].line_no}: {report.problems[0].message})"
        )
    for note in report.notes:
        runtime.info(note)


@app.command("pull")
def pull(
    ctx: typer.Context,
    json_out: bool = typer.Option(False, "--json", help="Print the result as JSON."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress or status lines (cron)."),
) -> None:
    """Download AMFI's NAVAll.txt and store every scheme with its latest NAV.

    Safe to re-run: NAVs already stored are not written again.
    """
    from mftrack.services.navs import pull_latest

    runtime: Runtime = ctx.obj
    runtime.quiet = runtime.quiet or quiet
    with download_progress(runtime, "NAVAll.txt") as progress:
        client = make_client(runtime, progress)
        report = pull_latest(store=runtime.store, client=client)
    _report_problems(runtime, report)
    if json_out:
        runtime.write_data(json.dumps(report.as_dict(), indent=2))
        return
    dated = f", dated {report.last_nav_date:%d %b %Y}" if report.last_nav_date else ""
    runtime.info(
        f"Stored {report.schemes:,} schemes; {report.navs_written:,} new or changed NAVs "
        f"({report.layout}{dated})."
    )


@app.command("update")
def update(
    ctx: typer.Context,
    json_out: bool = typer.Option(False, "--json", help="Print the result as JSON."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress or status lines (cron)."),
) -> None:
    """Bring every scheme you hold up to date: the latest NAVs, then the NAV history that due
    instalments lack. What the daemon does, for running by hand or from cron.

    Exits 75 when a download failed (the next run retries); safe to re-run.
    """
    from datetime import datetime

    from mftrack.services.nav_update import update_navs

    runtime: Runtime = ctx.obj
    runtime.quiet = runtime.quiet or quiet
    today = runtime.today()
    with (
        download_progress(runtime, "NAVs") as progress,
        make_client(runtime, progress) as client,
    ):
        report = update_navs(
            store=runtime.store, client=client, today=today, now=datetime.now().astimezone(),
            settings=runtime.settings,
            on_scheme=lambda code, start: runtime.info(f"history {code} from {start}"),
        )  # fmt: skip
    if report.pull is not None:
        _report_problems(runtime, report.pull)
    elif report.pull_error is not None:
        runtime.warn(f"NAVAll.txt: {report.pull_error.message}")
    for line in report.gaps.unfilled + report.gaps.failed:
        runtime.warn(line)
    if json_out:
        runtime.write_data(json.dumps(report.as_dict(), indent=2))
    else:
        pulled = f"{report.pull.navs_written:,} new NAVs" if report.pull else "no NAVAll.txt"
        gaps = report.gaps
        runtime.info(
            f"Updated: {pulled}; history fetched for {len(gaps.fetched)} of "
            f"{len(gaps.suspects)} schemes; {report.allotted}."
        )
    if report.pull_error is not None or report.gaps.failed:
        raise typer.Exit(75)  # exit-codes.md TRANSIENT: a download failed, retry later


def fetch_history_for_new_sip(runtime: Runtime, sip: Any) -> None:
    """After `add-sip`: fetch the scheme's NAV history from the SIP's start, so its
    instalments are valued at once. Offline (or with `nav.fetch_on_add = off`) the SIP stays
    recorded and the message names the command that fills it in later."""
    from mftrack.errors import MftrackError, UnreachableError
    from mftrack.services.nav_update import FIX_COMMAND
    from mftrack.services.navs import fetch_history

    today = runtime.today()
    if sip.start_date > today:
        return  # nothing is due yet
    if runtime.settings.nav_fetch_on_add == "off":
        return  # summary's warnings name `mftrack nav update`
    later = f"run `{FIX_COMMAND}` to fetch its NAVs"
    code = sip.scheme_code
    try:
        with (
            download_progress(runtime, f"history {code}") as progress,
            make_client(runtime, progress) as client,
        ):
            client.retries = 0  # offline must not hold add-sip up: `nav update` retries
            report = fetch_history(
                store=runtime.store, client=client, scheme_code=code,
                start=sip.start_date, end=today,
            )  # fmt: skip
    except UnreachableError:  # offline: say so once, not each source's chain of attempts
        hosts = "; ".join(f"{host}: {why}" for host, why in client.unreachable.items())
        runtime.warn(f"the SIP is recorded, but its NAV history was not fetched (could not "
                     f"connect: {hosts}); {later}")
        return
    except MftrackError as exc:
        runtime.warn(f"the SIP is recorded, but its NAV history was not fetched "
                     f"({exc.message}); {later}")
        return
    runtime.info(f"  NAV history: {report.quotes:,} NAVs from {sip.start_date} via {report.kind}.")


@app.command("history")
def history(
    ctx: typer.Context,
    scheme: str = typer.Argument(..., help="Scheme code, ISIN or name phrase."),
    start: str | None = typer.Option(
        None,
        "--from",
        help="First date (YYYY-MM-DD). Default: your first SIP in it, or a year ago.",
    ),
    end: str | None = typer.Option(None, "--to", help="Last date (YYYY-MM-DD). Default: today."),
    source: HistorySource = typer.Option(
        HistorySource.AUTO, help="auto (AMFI, then mfapi.in), amfi, or mfapi.",
        case_sensitive=False,
    ),
    json_out: bool = typer.Option(False, "--json", help="Print the result as JSON."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress or status lines (cron)."),
) -> None:
    """Fetch a scheme's NAV history into the local NAV table."""
    from mftrack.services.navs import default_history_start, fetch_history
    from mftrack.services.schemes import resolve_scheme

    runtime: Runtime = ctx.obj
    runtime.quiet = runtime.quiet or quiet
    today = runtime.today()
    store = runtime.store
    code = int(scheme) if scheme.strip().isdigit() else resolve_scheme(store, scheme).scheme_code
    first = parse_date(start, option="--from") or default_history_start(store, code, today)
    last = parse_date(end, option="--to") or today
    with download_progress(runtime, f"history {code}") as progress:
        client = make_client(runtime, progress)
        report = fetch_history(
            store=store, client=client, scheme_code=code, start=first, end=last, source=source.value
        )
    _report_problems(runtime, report)
    if json_out:
        runtime.write_data(json.dumps(report.as_dict(), indent=2))
        return
    if report.first_nav_date is None or report.last_nav_date is None:
        runtime.info(f"Scheme {code}: no NAVs between {first} and {last} via {report.kind}.")
        return
    # The dates of the NAVs obtained, not of the range asked for: a scheme launched later, or
    # a source that stops early, gives less than was asked.
    runtime.info(
        f"Scheme {code}: {report.quotes:,} NAVs dated {report.first_nav_date} to "
        f"{report.last_nav_date} ({report.navs_written:,} new or changed) via {report.kind}."
    )


@app.command("import")
def import_(
    ctx: typer.Context,
    files: list[Path] = typer.Argument(
        ..., help="NAVAll.txt, AMFI NAV history reports or mfapi.in JSON files; '-' reads "
        "standard input."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Import NAV files; the kind of each file is detected from its content."""
    from mftrack.services.navs import import_files

    runtime: Runtime = ctx.obj
    stdin = None
    if Path("-") in files:
        import sys

        stdin = sys.stdin.buffer.read()
    reports, failures = import_files(store=runtime.store, paths=files, stdin=stdin)
    for report in reports:
        _report_problems(runtime, report)
    if json_out:
        runtime.write_data(json.dumps([r.as_dict() for r in reports], indent=2))
    else:
        for r in reports:
            runtime.info(
                f"{r.origin}: {r.kind} ({r.layout}), {r.schemes:,} schemes, {r.quotes:,} NAVs, "
                f"{r.navs_written:,} new or changed."
            )
    if not failures:
        return
    from mftrack.cli.errors import ExitCode, exit_code_for, report_error
    from mftrack.errors import MftrackError

    for failure in failures:
        report_error(
            MftrackError(f"{failure.path}: {failure.error.message}",
                         hint="give NAVAll.txt, an AMFI NAV history report or mfapi.in JSON"),
            runtime,
        )
    if len(files) == 1:  # one file: its own error's exit code (3 missing, 5 unreadable...)
        raise typer.Exit(int(exit_code_for(failures[0].error)))
    raise typer.Exit(int(ExitCode.FAILURE))  # some files of a batch failed (exit-codes.md)
