"""`mftrack import`: transactions from a statement (CAS) or from mftrack's CSV format."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer

from mftrack.cli.runtime import Runtime

app = typer.Typer(
    name="import", help="Import transactions from a statement (CAS) or a CSV file.",
    no_args_is_help=True,
)  # fmt: skip

PASSWORD_ENV = "MFTRACK_CAS_PASSWORD"
DRY_RUN_HELP = "Show what the import would add and reconcile; change nothing."


@contextmanager
def working(runtime: Runtime, label: str) -> Iterator[None]:
    """A spinner on stderr while a long step runs (a terminal only; hidden with --quiet)."""
    if runtime.quiet or not runtime.err.is_terminal:
        yield
        return
    with runtime.err.status(label):
        yield


def _password(runtime: Runtime, from_stdin: bool) -> str | None:
    """The PDF's password: --password-stdin, else MFTRACK_CAS_PASSWORD, else a prompt on a
    terminal; None when there is none to ask for (an unencrypted PDF needs none). Never stored,
    logged or printed."""
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if os.environ.get(PASSWORD_ENV):
        return os.environ[PASSWORD_ENV]
    if runtime.interactive:
        return str(typer.prompt("Password of the statement", hide_input=True, default="",
                                show_default=False))  # fmt: skip
    return None


def _show(
    runtime: Runtime, report: Any, as_json: bool, lines: Callable[[Any], list[tuple[str, str]]]
) -> None:
    """The report as JSON on stdout (--json); the counts, rejected rows and mismatches in
    words on stderr."""
    from mftrack.render.imports import WARN, report_dict

    if as_json:
        runtime.write_data(json.dumps(report_dict(report), indent=2))
    for level, text in lines(report):
        if level == WARN:
            runtime.warn(text)
        else:
            runtime.info(text)


@app.command("cas")
def cas(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="The CAS PDF, or casparser's JSON output of one."),
    dry_run: bool = typer.Option(False, "--dry-run", help=DRY_RUN_HELP),
    password_stdin: bool = typer.Option(
        False,
        "--password-stdin",
        help="Read the PDF's password from the first line of stdin (scripts) instead of "
        f"prompting; {PASSWORD_ENV} works too.",
    ),
    json_out: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Import a CAMS/KFintech detailed statement (CAS): its transactions, then a reconciliation.

    Safe to re-run: rows already imported are not added again. Each folio and scheme's units
    are compared with the statement's closing balance. A wrong password exits 8; a PDF that is
    not a statement exits 2.
    """
    from mftrack.render.imports import cas_report_lines
    from mftrack.services.statements import import_cas

    runtime: Runtime = ctx.obj
    password = _password(runtime, password_stdin) if file.suffix.lower() != ".json" else None
    with working(runtime, f"Reading {file.name}…"):
        report = import_cas(runtime.store, file, password, dry_run=dry_run,
                            today=runtime.today())  # fmt: skip
    del password
    _show(runtime, report, json_out, cas_report_lines)


@app.command("csv")
def csv_file(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="A CSV file in mftrack's format (docs/ledger.md)."),
    dry_run: bool = typer.Option(False, "--dry-run", help=DRY_RUN_HELP),
    json_out: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Import transactions from a CSV file in mftrack's format (what `mftrack txns --csv` writes).

    Safe to re-run: rows already imported are not added again. A malformed row is rejected
    with its line number and reason; the others are imported.
    """
    from mftrack.render.imports import import_lines
    from mftrack.services.statements import import_csv

    runtime: Runtime = ctx.obj
    with working(runtime, f"Reading {file.name}…"):
        report = import_csv(runtime.store, file, dry_run=dry_run, today=runtime.today())
    _show(runtime, report, json_out, import_lines)
