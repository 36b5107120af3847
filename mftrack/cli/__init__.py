"""The Typer application. Thin: parse options, call a service, render the result.

Command modules import heavy libraries (pandas, matplotlib, httpx, SQLAlchemy) inside the
commands that need them, and the root imports a command module only when one of its commands
runs (cli/lazy.py), so `mftrack --help` stays fast.
"""

from __future__ import annotations

import typer

from mftrack import __version__
from mftrack.cli.errors import HELP_REQUESTED
from mftrack.cli.lazy import LazyGroup

# One registration style: every command module has a `typer.Typer` called `app` whose commands
# are decorated functions. A named one (`typer.Typer(name="nav")`) is a command group; a nameless
# one gives top-level commands. Each top-level name is listed here, in `--help` order, with its
# module and its one-line help (the first sentence of its docstring), so `--help` needs no
# module and a command needs only its own. tests/test_architecture.py checks this table against
# the modules' real commands: a new command is a decorated function plus a line here.
COMMANDS: dict[str, tuple[str, str]] = {
    "config": ("config_cmd", "Show settings and the folders mftrack uses."),
    "nav": ("nav", "Download or import NAVs."),
    "scheme": ("scheme", "Find schemes in the local scheme list."),
    "add-sip": ("sip", "Record a SIP: a fixed amount every month into one scheme from a start "
                       "date."),
    "sips": ("sip", "List your SIPs with their status today."),
    "edit-sip": ("sip", "Change a SIP and say what changed."),
    "pause-sip": ("sip", "Pause a SIP: instalments due in the paused range are skipped."),
    "resume-sip": ("sip", "End the pause that covers a date: instalments due from then on are "
                          "paid again."),
    "stop-sip": ("sip", "Stop a running SIP: no instalments after the given date (its history "
                        "stays)."),
    "rm-sip": ("sip", "Remove a SIP entirely (it leaves summaries; synced devices remove it "
                      "too)."),
    "restore-sip": ("sip", "Bring back a removed SIP whose removal has not been synced yet."),
    "sip": ("sip", "One SIP: `mftrack sip show|paid|missed ID`."),
    "buy": ("ledger", "Record a lump-sum purchase."),
    "redeem": ("ledger", "Record a redemption (or an SWP leg): units leave the oldest lots first "
                         "(FIFO)."),
    "switch": ("ledger", "Record a switch (or an STP leg): a switch-out and a switch-in linked "
                         "as one, written together."),
    "dividend": ("ledger", "Record an IDCW (dividend), paid out or reinvested."),
    "txns": ("ledger", "List recorded transactions by date."),
    "txn": ("ledger", "Change one transaction: `mftrack txn edit|rm|restore ID`."),
    "import": ("imports", "Import transactions from a statement (CAS) or a CSV file."),
    "summary": ("summary", "Your holdings by scheme: instalments, invested, units, NAV, value, "
                           "gain and XIRR."),
    "gains": ("gains", "Realised capital gains per financial year: short and long term, lot by lot "
                       "(FIFO)."),
    "lots": ("gains", "Open lots: units left, cost, when each turns long term, ELSS lock-in, gain "
                      "if sold."),
    "harvest": ("gains", "Which equity units to redeem this year so long-term gains stay within "
                         "the exemption."),
    "demo": ("demo", "Load real NAV histories of five funds and sample SIPs, then print the "
                     "summary."),
    "chart": ("chart", "Charts in the terminal: value vs invested, NAV history, OHLC candles, "
                       "allocation."),
    "report": ("report", "A one-page report: totals and XIRR, value vs invested, allocation, "
                         "XIRR and a table."),
    "daemon": ("daemon", "The background scheduler: NAV pulls, SIP history, sync, logs."),
    "logs": ("logs", "Read mftrack's log files, or clean old ones."),
    "login": ("account", "Log in to your Supabase project and keep the session on this device."),
    "signup": ("account", "Create an account on your Supabase project (if it allows sign-ups) "
                          "and log in."),
    "whoami": ("account", "Show the logged-in account: email, user id, and when the session was "
                          "last refreshed."),
    "logout": ("account", "Log this device out: end its session on the server and delete its "
                          "tokens."),
    "sync": ("sync", "Sync your SIPs and transactions with your Supabase project: push this "
                     "device's changes, pull the others'."),
    "serve": ("serve", "Open the dashboard and REST API in your browser (http://127.0.0.1:8765 "
                       "by default)."),
}


class RootGroup(LazyGroup):
    table = COMMANDS


app = typer.Typer(
    cls=RootGroup,
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
        from mftrack.cli.runtime import Runtime  # settings and paths: not needed for --help

        ctx.obj = Runtime(debug=debug, quiet=quiet, verbose=verbose)
    ctx.obj.command = ctx.invoked_subcommand or ctx.obj.command
    ctx.call_on_close(ctx.obj.close)
    # Every setting is checked before any command runs, so a bad value stops them all the same
    # way (exit 6) and never after a write. `config` (to find and fix the file) and help work
    # with a broken configuration.
    if ctx.invoked_subcommand != "config" and not ctx.meta.get(HELP_REQUESTED):
        ctx.obj.settings  # noqa: B018


def main() -> None:
    try:
        app()
    finally:
        # The process ends here. Python's exit runs one last full collection over every
        # object still tracked (modules, classes, caches: ~15 ms of `summary --json` over
        # 1,000 SIPs, issue 10); frozen objects are left out of it. atexit handlers (logging's
        # flush) have not run yet and still do; memory goes back to the system either way.
        import gc

        gc.freeze()
