"""Exit codes and the one place that turns exceptions into messages and codes.

The table is documented in docs/exit-codes.md (tests/test_docs.py keeps the two in step).
"""

from __future__ import annotations

import sys
import traceback
from enum import IntEnum
from typing import Any, NoReturn

import typer
from typer._click.exceptions import NoArgsIsHelpError, UsageError
from typer.core import TyperGroup

from mftrack import errors


class ExitCode(IntEnum):
    OK = 0
    FAILURE = 1
    USAGE = 2
    NOT_FOUND = 3
    AMBIGUOUS = 4
    REMOTE_DATA = 5
    CONFIG = 6
    STORAGE = 7
    CREDENTIALS = 8
    BUSY = 9
    TRANSIENT = 75  # sysexits EX_TEMPFAIL: cron can simply retry next run
    LOGIN_REQUIRED = 77  # sysexits EX_NOPERM
    INTERRUPTED = 130  # 128 + SIGINT


# Most specific first; the exception's MRO is walked against this table.
EXIT_CODES: dict[type[errors.MftrackError], ExitCode] = {
    errors.InvalidInputError: ExitCode.USAGE,
    errors.NotFoundError: ExitCode.NOT_FOUND,
    errors.AmbiguousError: ExitCode.AMBIGUOUS,
    errors.RemoteDataError: ExitCode.REMOTE_DATA,
    errors.ConfigError: ExitCode.CONFIG,
    errors.StorageError: ExitCode.STORAGE,
    errors.CredentialsError: ExitCode.CREDENTIALS,
    errors.BusyError: ExitCode.BUSY,
    errors.NetworkError: ExitCode.TRANSIENT,
    errors.LoginRequiredError: ExitCode.LOGIN_REQUIRED,
}


def exit_code_for(exc: BaseException) -> ExitCode:
    for cls in type(exc).__mro__:
        if cls in EXIT_CODES:
            return EXIT_CODES[cls]
    return ExitCode.FAILURE


def _debug_requested(ctx: Any) -> bool:
    runtime = getattr(ctx, "obj", None)
    if getattr(runtime, "debug", False):
        return True
    import os

    return os.environ.get("MFTRACK_DEBUG", "") not in ("", "0")


def report_error(exc: errors.MftrackError, runtime: Any = None) -> None:
    """Print `Error: …` and `Hint: …` on stderr (plain text when not a terminal or NO_COLOR)."""
    console = getattr(runtime, "err", None)
    if console is None:
        from rich.console import Console

        console = Console(stderr=True, highlight=False)
    from rich.markup import escape

    console.print(f"[bold red]Error:[/] {escape(exc.message)}", soft_wrap=True)
    if isinstance(exc, errors.AmbiguousError):
        for candidate in exc.candidates:
            console.print(f"  {escape(candidate)}", soft_wrap=True)
    if exc.hint:
        console.print(f"[dim]Hint: {escape(exc.hint)}[/]", soft_wrap=True)


def _log_crash(runtime: Any) -> str | None:
    paths = getattr(runtime, "paths", None)
    if paths is None:
        return None
    try:
        # Through the log-file adapter (daemon issue): the same daily file and line format as
        # the daemon's, and secrets in the traceback are redacted.
        from mftrack.adapters.logfiles import log_crash

        return str(log_crash(paths.log_dir, traceback.format_exc()))
    except OSError:
        return None


def _log_failure(ctx: Any, exc: errors.MftrackError, code: ExitCode) -> None:
    """Known failures go to the daily log too, so a cron job's trouble can be read later."""
    paths = getattr(ctx.obj, "paths", None)
    if paths is None or code in (ExitCode.USAGE, ExitCode.AMBIGUOUS):
        return  # a typo at the keyboard is not worth a log line
    if code is ExitCode.NOT_FOUND and sys.stdin.isatty():
        return  # a mistyped id or code at a terminal: the person saw the error, cron did not
    try:
        from mftrack.adapters.logfiles import log_failure

        command = ctx.invoked_subcommand or "mftrack"
        log_failure(paths.log_dir, f"{command} failed (exit {int(code)}): {exc.message}")
    except OSError:
        pass


def _usage_error(exc: UsageError) -> NoReturn:
    """A wrong command line gets the product's two lines, not Click's usage block."""
    if isinstance(exc, NoArgsIsHelpError):
        raise exc  # `mftrack nav` alone: Click prints the group's help
    command = exc.ctx.command_path if exc.ctx is not None else "mftrack"
    report_error(errors.InvalidInputError(
        exc.format_message(), hint=f"see `{command} --help`"
    ))
    raise typer.Exit(int(ExitCode.USAGE)) from None


HELP_REQUESTED = "mftrack.help_requested"  # ctx.meta key: the command line asks for help


class ErrorReportingGroup(TyperGroup):
    """Maps MftrackError to a message and exit code; unexpected errors to one line + log."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        from mftrack.cli.conversion import prepare

        # -q after any command, help examples, stdlib conversion instead of pydantic
        argv = kwargs.get("args", args[0] if args else None)
        prepare(self, list(sys.argv[1:] if argv is None else argv))
        return super().main(*args, **kwargs)

    def make_context(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().make_context(*args, **kwargs)
        except UsageError as exc:
            _usage_error(exc)

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        # The root callback runs before the subcommand parses its own `--help`; it reads this
        # to let help through a broken configuration.
        ctx.meta[HELP_REQUESTED] = any(arg in ("--help", "-h") for arg in args)
        return super().resolve_command(ctx, args)

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except UsageError as exc:
            _usage_error(exc)
        except (typer.Exit, typer.Abort, typer.TyperException):
            raise
        except errors.MftrackError as exc:
            if _debug_requested(ctx):
                # --debug adds the traceback and changes nothing else: cron recipes rely on
                # the documented exit code (75 = retry) and the log line.
                traceback.print_exc(file=sys.stderr)
            report_error(exc, ctx.obj)
            code = exit_code_for(exc)
            _log_failure(ctx, exc, code)
            raise typer.Exit(int(code)) from None
        except KeyboardInterrupt:
            sys.stderr.write("Interrupted.\n")
            raise typer.Exit(int(ExitCode.INTERRUPTED)) from None
        except BrokenPipeError:
            # `mftrack sips --csv | head`: the reader left; not an error worth a message.
            import os

            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            raise typer.Exit(int(ExitCode.OK)) from None
        except Exception as exc:
            debug = _debug_requested(ctx)
            if debug:
                traceback.print_exc(file=sys.stderr)
            where = _log_crash(ctx.obj)
            again = "" if debug else " Re-run with --debug for the traceback."
            detail = f" Details in {where}." if where else ""
            sys.stderr.write(f"Error: unexpected {type(exc).__name__}: {exc}.{again}{detail}\n")
            raise typer.Exit(int(ExitCode.FAILURE)) from None
