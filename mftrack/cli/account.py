"""Account commands: login, signup, whoami, logout (Supabase Auth; see docs/login.md).

Prompts happen only when stdin is a terminal; scripts pass `--email` and
`--password-stdin` (or `--otp --code`). Nothing here ever prints a token or a password.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import typer

from mftrack.cli.runtime import Runtime

# Commands of this module join the top level (`mftrack COMMAND`), see cli/__init__.py.
app = typer.Typer()

if TYPE_CHECKING:
    from mftrack.services.account import Account

EMAIL_HELP = "Your email address (prompted for on a terminal when left out)."
STDIN_HELP = "Read the password from stdin (for scripts and cron) instead of prompting."


def _manager(runtime: Runtime):  # type: ignore[no-untyped-def]
    from mftrack.services.account import session_manager

    return session_manager(runtime.settings, runtime.paths, warn=runtime.warn)


def _no_terminal(what: str, hint: str) -> None:
    from mftrack.errors import InvalidInputError

    raise InvalidInputError(f"stdin is not a terminal, so mftrack will not prompt for {what}",
                            hint=hint)


def _email(runtime: Runtime, email: str | None) -> str:
    if email:
        return email
    if not runtime.interactive:
        _no_terminal("the email address", "pass --email ADDRESS")
    return str(typer.prompt("Email"))


def _password(runtime: Runtime, from_stdin: bool, *, confirm: bool = False) -> str:
    if from_stdin:
        return sys.stdin.read().rstrip("\r\n")
    if not runtime.interactive:
        _no_terminal("the password", "pipe it in with --password-stdin, e.g. "
                     "printf '%s' \"$PASSWORD\" | mftrack login --email ADDRESS --password-stdin")
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=confirm))


def _ago(when: datetime | None) -> str:
    if when is None:
        return "never (not refreshed on this device yet)"
    seconds = max(0, int((datetime.now(UTC) - when).total_seconds()))
    if seconds < 90:
        span = f"{seconds} s"
    elif seconds < 5400:
        span = f"{seconds // 60} min"
    elif seconds < 172800:
        span = f"{seconds // 3600} h"
    else:
        span = f"{seconds // 86400} days"
    return f"{when.astimezone().strftime('%Y-%m-%d %H:%M:%S %z')} ({span} ago)"


def _logged_in(runtime: Runtime, account: Account) -> None:
    runtime.info(f"Logged in to {account.project_url} as {account.email} "
                 f"(user id {account.user_id}); tokens kept in {account.token_store}.")


@app.command("login")
def login(
    ctx: typer.Context,
    email: str | None = typer.Option(None, "--email", "-e", help=EMAIL_HELP),
    password_stdin: bool = typer.Option(False, "--password-stdin", help=STDIN_HELP),
    otp: bool = typer.Option(
        False, "--otp", help="Log in with a 6-digit code sent by email instead of a password."
    ),
    code: str | None = typer.Option(
        None, "--code", help="The emailed code (with --otp; no email is sent then)."
    ),
) -> None:
    """Log in to your Supabase project and keep the session on this device.

    With a password (prompted for on a terminal, or --password-stdin), or with --otp: a code
    is emailed and prompted for; without a terminal, run again with --code.
    """
    from mftrack.services import account as svc

    runtime: Runtime = ctx.obj
    manager = _manager(runtime)
    svc.prepare_login(manager)
    if otp or code is not None:
        if password_stdin:
            from mftrack.errors import InvalidInputError

            raise InvalidInputError("--password-stdin and --otp do not go together")
        address = _email(runtime, email)
        if code is None:
            svc.send_login_code(manager=manager, email=address)
            runtime.info(f"A login code was sent to {address}.")
            if not runtime.interactive:
                _no_terminal("the code", f"finish with: mftrack login --otp --email {address} "
                                         "--code CODE")
            code = str(typer.prompt("Code from the email"))
        result = svc.login_with_code(manager=manager, email=address, code=code)
    else:
        address = _email(runtime, email)
        secret = _password(runtime, password_stdin)
        result = svc.login_with_password(manager=manager, email=address, password=secret)
    _logged_in(runtime, result)


@app.command("signup")
def signup(
    ctx: typer.Context,
    email: str | None = typer.Option(None, "--email", "-e", help=EMAIL_HELP),
    password_stdin: bool = typer.Option(False, "--password-stdin", help=STDIN_HELP),
) -> None:
    """Create an account on your Supabase project (if it allows sign-ups) and log in.

    When the project wants email addresses confirmed, follow the link in the email (or use
    its code with `mftrack login --otp --code`), then log in.
    """
    from mftrack.services import account as svc

    runtime: Runtime = ctx.obj
    manager = _manager(runtime)
    svc.prepare_login(manager)
    address = _email(runtime, email)
    secret = _password(runtime, password_stdin, confirm=True)
    outcome = svc.sign_up(manager=manager, email=address, password=secret)
    if outcome.account is None:
        runtime.info(
            f"Check your email: confirm {outcome.email} with the link, or with the code: "
            f"mftrack login --otp --email {outcome.email} --code CODE. Then you are logged in."
        )
        return
    runtime.info("Account created.")
    _logged_in(runtime, outcome.account)


@app.command("whoami")
def whoami(
    ctx: typer.Context,
    json_out: bool = typer.Option(False, "--json", help="Print one JSON object."),
    offline: bool = typer.Option(
        False, "--offline", help="Show the stored session without asking the server."
    ),
) -> None:
    """Show the logged-in account: email, user id, and when the session was last refreshed.

    Asks the server to confirm the session (refreshing it if needed) unless --offline.
    """
    from mftrack.services import account as svc

    runtime: Runtime = ctx.obj
    result = svc.whoami(manager=_manager(runtime), offline=offline)
    if json_out:
        runtime.write_data(json.dumps(result.as_dict(), indent=2))
        return
    unknown = "(not known until the first refresh)"
    lines = [
        f"email           {result.email or unknown}",
        f"user id         {result.user_id or unknown}",
        f"last refreshed  {_ago(result.last_refreshed)}",
        f"project         {result.project_url}",
        f"tokens kept in  {result.token_store}",
    ]
    if not result.verified:
        lines.append("(not checked with the server: --offline)")
    runtime.write_data("\n".join(lines))


@app.command("logout")
def logout(ctx: typer.Context) -> None:
    """Log this device out: end its session on the server and delete its tokens.

    Other devices stay logged in. The tokens are deleted even when the server cannot be
    reached.
    """
    from mftrack.services import account as svc

    runtime: Runtime = ctx.obj
    outcome = svc.logout(manager=_manager(runtime))
    if not outcome.was_logged_in:
        runtime.info("Not logged in; nothing to do.")
    elif outcome.problem is not None:
        runtime.warn(f"the session could not be ended on the server ({outcome.problem}); "
                     "its tokens were deleted from this device, but the session stays valid on "
                     "the server until it is revoked (for example by logging out everywhere "
                     "from the Supabase dashboard).")
    else:
        runtime.info("Logged out: this device's session ended and its tokens were deleted.")
    if outcome.from_environment and outcome.was_logged_in:
        runtime.warn("MFTRACK_REFRESH_TOKEN is still set and no longer works: unset it.")
