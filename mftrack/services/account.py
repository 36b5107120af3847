"""Account use cases: sign up, log in (password or emailed code), who am I, log out.

The CLI gathers the inputs (prompts only on a terminal) and calls these; they talk to
Supabase through `SessionManager` and never see a third-party exception.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from mftrack.config import Paths, Settings
from mftrack.errors import (
    ConfigError,
    InvalidInputError,
    LoginRequiredError,
    MftrackError,
    NetworkError,
)

if TYPE_CHECKING:
    from mftrack.adapters.supabase.auth import AuthSession
    from mftrack.adapters.supabase.session import SessionManager
    from mftrack.adapters.supabase.tokens import StoredSession

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")
_CODE = re.compile(r"^\d{6,10}$")


@dataclass(frozen=True, slots=True)
class Account:
    email: str
    user_id: str
    last_refreshed: datetime | None  # this device's last login or refresh (UTC)
    project_url: str
    token_store: str
    verified: bool  # True when the server confirmed the session just now

    def as_dict(self) -> dict[str, object]:
        return {
            "email": self.email,
            "user_id": self.user_id,
            "last_refreshed": self.last_refreshed.isoformat() if self.last_refreshed else None,
            "project_url": self.project_url,
            "token_store": self.token_store,
            "verified": self.verified,
        }


@dataclass(frozen=True, slots=True)
class SignUpOutcome:
    email: str
    account: Account | None  # None: the project wants the address confirmed first


@dataclass(frozen=True, slots=True)
class LogoutOutcome:
    was_logged_in: bool
    ended_on_server: bool  # the server confirmed (or already had) no such session
    problem: str | None  # why the server could not be told (tokens were deleted anyway)
    from_environment: bool  # the session came from MFTRACK_REFRESH_TOKEN


def session_manager(settings: Settings, paths: Paths, *,
                    warn: Callable[[str], None] | None = None) -> SessionManager:
    """The project's session manager; `ConfigError` when Supabase is not configured."""
    from mftrack.adapters.supabase.session import SessionManager

    return SessionManager(settings, paths, warn=warn)


def check_email(email: str) -> str:
    text = email.strip()
    if not _EMAIL.match(text):
        raise InvalidInputError(f"{email!r} is not an email address")
    return text


def check_code(code: str) -> str:
    text = re.sub(r"\s", "", code)
    if not _CODE.match(text):
        raise InvalidInputError("the code is the 6-digit number from the email",
                                hint="copy it without other characters")
    return text


def check_password(password: str) -> str:
    if not password:
        raise InvalidInputError("the password is empty")
    return password


def prepare_login(manager: SessionManager) -> None:
    """Fail before asking for anything when the session could not be kept: the session
    comes from MFTRACK_REFRESH_TOKEN, or the token store does not work (CredentialsError)."""
    if not manager.store.persistent:
        raise ConfigError(
            "MFTRACK_REFRESH_TOKEN is set, so mftrack uses that session and cannot store "
            "another one", hint="unset MFTRACK_REFRESH_TOKEN to log in here")
    manager.store.load()


def _account(manager: SessionManager, stored: StoredSession, *, verified: bool,
             email: str | None = None) -> Account:
    refreshed = (datetime.fromtimestamp(stored.refreshed_at, tz=UTC)
                 if stored.refreshed_at else None)
    return Account(email=email or stored.email, user_id=stored.user_id,
                   last_refreshed=refreshed, project_url=manager.project.url,
                   token_store=manager.store.describe(), verified=verified)


def _keep(manager: SessionManager, session: AuthSession) -> Account:
    """Store a new session; end the previous one on the server (best effort). If it cannot
    be stored, end the new one on the server so no session is left behind."""
    previous = manager.stored()
    try:
        stored = manager.establish(session)
    except MftrackError:
        with contextlib.suppress(MftrackError), manager.auth() as auth:
            auth.sign_out(session.access_token, scope="local")
        raise
    if previous is not None and previous.refresh_token != session.refresh_token \
            and previous.access_token and previous.expires_at - stored.refreshed_at > 10:
        with contextlib.suppress(MftrackError), manager.auth() as auth:
            auth.sign_out(previous.access_token, scope="local")
    return _account(manager, stored, verified=True)


def login_with_password(*, manager: SessionManager, email: str, password: str) -> Account:
    prepare_login(manager)
    with manager.auth() as auth:
        session = auth.sign_in_with_password(check_email(email), check_password(password))
    return _keep(manager, session)


def send_login_code(*, manager: SessionManager, email: str) -> None:
    """Email a one-time code (existing accounts only: `signup` creates accounts)."""
    prepare_login(manager)
    with manager.auth() as auth:
        auth.send_otp(check_email(email), create_user=False)


def login_with_code(*, manager: SessionManager, email: str, code: str) -> Account:
    """Finish a code login (also confirms a new account's address with its signup code)."""
    prepare_login(manager)
    with manager.auth() as auth:
        session = auth.verify_otp(check_email(email), check_code(code))
    return _keep(manager, session)


def sign_up(*, manager: SessionManager, email: str, password: str) -> SignUpOutcome:
    prepare_login(manager)
    address = check_email(email)
    with manager.auth() as auth:
        result = auth.sign_up(address, check_password(password))
    if result.session is None:
        return SignUpOutcome(email=result.user.email or address, account=None)
    return SignUpOutcome(email=result.session.email or address,
                         account=_keep(manager, result.session))


def whoami(*, manager: SessionManager, offline: bool = False) -> Account:
    """The logged-in account; confirmed with the server (refreshing if needed) unless
    `offline`."""
    if offline:
        stored = manager.stored()
        if stored is None:
            raise LoginRequiredError(f"not logged in to Supabase ({manager.project.url})",
                                     hint="run `mftrack login`")
        return _account(manager, stored, verified=False)
    with manager.auth() as auth:
        user = manager.call_with_refresh(auth.get_user)
    return _account(manager, manager.current(), verified=True, email=user.email)


def logout(*, manager: SessionManager) -> LogoutOutcome:
    """End this device's session on the server (scope `local`: other devices stay logged
    in) and delete its tokens — the tokens go even when the server cannot be reached."""
    from_env = not manager.store.persistent
    with manager.lock():
        if manager.stored() is None:
            return LogoutOutcome(False, False, None, from_env)
        problem: str | None = None
        ended = False
        try:
            token = manager.access_token(min_validity=10)
            with manager.auth() as auth:
                auth.sign_out(token, scope="local")
            ended = True
        except LoginRequiredError:
            ended = True  # the server had already ended it
        except (NetworkError, MftrackError) as exc:
            problem = exc.message
        finally:
            manager.forget()
    return LogoutOutcome(True, ended, problem, from_env)
