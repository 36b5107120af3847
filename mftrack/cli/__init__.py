"""The Typer application. Thin: parse options, call a service, render the result.

Command modules import heavy libraries (pandas, matplotlib, httpx, SQLAlchemy) inside the
commands that need them, so `mftrack --help` stays fast.
"""

from __future__ import annotations

import typer

from mftrack import __version__
from mftrack.cli import account as account_cmd
from mftrack.cli import chart, config_cmd, daemon, demo, logs, nav, report, scheme, sip, summary
from mftrack.cli import serve as serve_cmd
from mftrack.cli import sync as sync_cmd
from mftrack.cli.errors import HELP_REQUESTED, ErrorReportingGroup
from mftrack.cli.runtime import Runtime

app = typer.Typer(
    cls=ErrorReportingGroup,
    name="mftrack",
    help="Track Indian mutual-fund SIPs offline: exact units, stamp duty, XIRR; opt-in sync.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"mftrack {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    debug: bool = typer.Option(
        False, "--debug", envvar="MFTRACK_DEBUG",
        help="Also print the traceback of an error (exit codes stay the same).",
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Only errors and data, no progress."),
    verbose: bool = typer.Option(
        False, "--verbose", "-v", help="Warnings one per scheme instead of one per kind."
    ),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """mftrack keeps your SIPs in a local database and values them with AMFI's NAVs."""
    if ctx.obj is None:
        ctx.obj = Runtime(debug=debug, quiet=quiet, verbose=verbose)
    ctx.obj.command = ctx.invoked_subcommand or ctx.obj.command
    ctx.call_on_close(ctx.obj.close)
    # Every setting is checked before any command runs, so a bad value stops them all the same
    # way (exit 6) and never after a write. `config` (to find and fix the file) and help work
    # with a broken configuration.
    if ctx.invoked_subcommand != "config" and not ctx.meta.get(HELP_REQUESTED):
        ctx.obj.settings  # noqa: B018


# One registration style: every command module has a `typer.Typer` called `app`. A named one
# (`typer.Typer(name="nav")`) becomes a command group; a nameless one adds its commands to the
# top level. A new command is a decorated function in one of these modules.
for _module in (config_cmd, nav, scheme, sip, summary, demo, chart, report, daemon, logs,
                account_cmd, sync_cmd, serve_cmd):
    app.add_typer(_module.app)


def main() -> None:
    app()
