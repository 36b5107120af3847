"""GoTrue (Supabase Auth) over supabase-py, and the one place its errors become mftrack's.

`SupabaseAuth` wraps a `SyncGoTrueClient` built as contract section B advises
(`auto_refresh_token=False, persist_session=False`, implicit flow, our own httpx client):
supabase-py keeps nothing and starts no timer; `mftrack.adapters.supabase.session` owns
persistence and refreshing. supabase-py and httpx are imported inside the methods.

`translate()` maps every exception supabase-py or httpx raises to the mftrack error tree;
no other module looks at `AuthApiError` codes.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from mftrack.adapters.supabase import Project
from mftrack.adapters.supabase.gateway import TRANSIENT_STATUSES, describe_wait, with_retries
from mftrack.errors import (
    ConfigError,
    CredentialsError,
    InvalidInputError,
    LoginRequiredError,
    MftrackError,
    NetworkError,
    RemoteDataError,
)

T = TypeVar("T")


class SessionRevoked(LoginRequiredError):
    """The server will never accept this session again: its tokens must be deleted."""


class AccessTokenRejected(LoginRequiredError):
    """GoTrue refused the access token (403 `bad_jwt`): refresh once and retry."""


#: Refresh or /user answers meaning the session is gone for good.
SESSION_GONE = frozenset({
    "refresh_token_already_used", "refresh_token_not_found", "session_expired",
    "session_not_found", "user_banned", "user_not_found",
})

_SESSION_GONE_TEXT = {
    "refresh_token_already_used": "The session's refresh token had already been used (a copy "
                                  "of it was used elsewhere), so Supabase ended the session",
    "refresh_token_not_found": "The session no longer exists on the server (logged out "
                               "elsewhere, or revoked)",
    "session_expired": "The session has expired",
    "session_not_found": "The session no longer exists on the server (logged out elsewhere, "
                         "or revoked)",
    "user_banned": "This account is banned",
    "user_not_found": "This account no longer exists",
}

LOGIN_HINT = "run `mftrack login`"


@dataclass(frozen=True, slots=True)
class AuthSession:
    """What mftrack keeps from a Session JSON (never the whole object)."""

    access_token: str
    refresh_token: str
    expires_at: int
    user_id: str
    email: str

    def __repr__(self) -> str:  # never show tokens, even in a debugger or a traceback
        return f"AuthSession(user_id={self.user_id!r}, email={self.email!r}, " \
               f"expires_at={self.expires_at})"


@dataclass(frozen=True, slots=True)
class AuthUser:
    user_id: str
    email: str
    confirmed: bool


@dataclass(frozen=True, slots=True)
class SignUpResult:
    """`session` is None when the project wants the email address confirmed first."""

    user: AuthUser
    session: AuthSession | None


def _gone(code: str) -> SessionRevoked:
    return SessionRevoked(_SESSION_GONE_TEXT[code], hint=LOGIN_HINT)


def translate(exc: BaseException, project: Project,
              response: Any = None) -> tuple[MftrackError, bool] | None:
    """The mftrack error for an exception from supabase-py/httpx/pydantic, and whether the
    original may be chained as `__cause__` (False when its text could hold a token).
    `response` is the last HTTP response seen (None: none). None: not something this
    adapter knows (a bug; let it crash to the log)."""
    import httpx
    import pydantic
    from supabase_auth.errors import (
        AuthApiError,
        AuthRetryableError,
        AuthUnknownError,
        AuthWeakPasswordError,
    )

    where = project.url
    status = response.status_code if response is not None else None
    if status in TRANSIENT_STATUSES and not isinstance(exc, httpx.TransportError | AuthApiError):
        # A gateway's answer (often an HTML page supabase-py cannot read): try again later.
        what = ("is rate-limiting requests" if status == 429
                else "is unavailable behind its gateway")
        return NetworkError(f"Supabase Auth at {where} {what} (HTTP {status})"
                            + describe_wait(response), hint="retry later"), False
    if isinstance(exc, pydantic.ValidationError):
        # Its text quotes the response body, which may hold tokens: never chain it.
        return RemoteDataError(f"Supabase Auth at {where} answered with data mftrack cannot "
                               "read", hint="check supabase.url"), False
    if isinstance(exc, httpx.TimeoutException):
        return NetworkError(f"Supabase Auth at {where} did not answer in time",
                            hint="retry later"), True
    if isinstance(exc, httpx.HTTPError):
        return NetworkError(f"cannot reach Supabase Auth at {where}: {exc}",
                            hint="check the connection and supabase.url; retry later"), True
    if isinstance(exc, AuthRetryableError):
        if not exc.status:  # a transport error (refused, reset, time-out, lost answer)
            return NetworkError(f"cannot reach Supabase Auth at {where}: {exc.message}",
                                hint="check the connection and supabase.url; retry later"), True
        return NetworkError(f"Supabase Auth at {where} is unavailable (HTTP {exc.status})",
                            hint="retry later"), True
    if isinstance(exc, AuthWeakPasswordError):
        reasons = ", ".join(str(r) for r in exc.reasons or [])
        detail = f" ({reasons})" if reasons else ""
        return InvalidInputError(f"the password is too weak{detail}: {exc.message}",
                                 hint="choose a longer password with more kinds of "
                                      "characters"), True
    if isinstance(exc, AuthUnknownError | ValueError):  # not JSON: not Supabase's answer
        return RemoteDataError(f"Supabase Auth at {where} answered with something that is "
                               "not a Supabase response", hint="check supabase.url"), True
    if not isinstance(exc, AuthApiError):
        return None
    return _api_error(exc.code, exc.status, exc.message, where), True


def _api_error(code: str | None, status: int, message: str, where: str) -> MftrackError:
    if code in SESSION_GONE:
        return _gone(code)
    if code == "bad_jwt":
        return AccessTokenRejected("Supabase rejected the access token", hint=LOGIN_HINT)
    if code == "no_authorization":
        return LoginRequiredError("Supabase wants a logged-in session", hint=LOGIN_HINT)
    if status == 429 or (code or "").startswith("over_"):
        return NetworkError(f"Supabase is rate-limiting requests: {message}",
                            hint="wait a little and retry")
    if status >= 500 or code in ("conflict", "request_timeout", "hook_timeout"):
        return NetworkError(f"Supabase Auth had a problem (HTTP {status}): {message}",
                            hint="retry later")
    known = _KNOWN.get(code or "")
    if known is not None:
        cls, text, hint = known
        return cls(text, hint=hint)
    if status == 401 and code is None:
        return ConfigError(f"Supabase at {where} refused the API key: {message}",
                           hint="check supabase.anon_key (the project's anon/publishable key)")
    if status == 404 and code is None:
        return ConfigError(f"{where} does not look like a Supabase project: {message}",
                           hint="check supabase.url")
    if code == "validation_failed":
        return InvalidInputError(message)
    return RemoteDataError(f"Supabase Auth refused the request: {message}"
                           + (f" ({code})" if code else f" (HTTP {status})"))


_KNOWN: dict[str, tuple[type[MftrackError], str, str | None]] = {
    "invalid_credentials": (CredentialsError, "wrong email or password",
                            "check both, or log in with an emailed code: mftrack login --otp"),
    "email_not_confirmed": (CredentialsError, "this email address is not confirmed yet",
                            "open the confirmation email, or type its 6-digit code with "
                            "`mftrack login --otp --email <address> --code <code>`"),
    "otp_expired": (CredentialsError, "the code is wrong or has expired",
                    "request a new one with `mftrack login --otp`"),
    "otp_disabled": (CredentialsError, "there is no account for this email address",
                     "create one with `mftrack signup`"),
    "signup_disabled": (CredentialsError, "this Supabase project does not allow sign-ups",
                        "ask the project's owner to create your account"),
    "user_already_exists": (CredentialsError, "an account with this email already exists",
                            "log in with `mftrack login`"),
    "email_exists": (CredentialsError, "an account with this email already exists",
                     "log in with `mftrack login`"),
    "email_address_invalid": (InvalidInputError, "Supabase does not accept this email address",
                              None),
    "email_provider_disabled": (CredentialsError, "this project does not allow email logins",
                                None),
}


@contextmanager
def translated(project: Project, response: Any = None) -> Iterator[None]:
    """Run a supabase-py call; re-raise what it throws as an mftrack error. `response`: a
    callable giving the last HTTP response (for gateway answers supabase-py cannot read)."""
    try:
        yield
    except MftrackError:
        raise
    except Exception as exc:
        mapped = translate(exc, project, response() if response is not None else None)
        if mapped is None:
            raise
        error, chain = mapped
        if chain:
            raise error from exc
        raise error from None


def _session(raw: Any) -> AuthSession:
    import time

    expires_at = raw.expires_at or int(time.time()) + int(raw.expires_in or 0)
    return AuthSession(access_token=raw.access_token, refresh_token=raw.refresh_token,
                       expires_at=int(expires_at), user_id=str(raw.user.id),
                       email=raw.user.email or "")


def _user(raw: Any) -> AuthUser:
    return AuthUser(user_id=str(raw.id), email=raw.email or "",
                    confirmed=bool(raw.email_confirmed_at or raw.confirmed_at))


class SupabaseAuth:
    """A short-lived GoTrue client: use as a context manager (it owns an httpx client)."""

    def __init__(self, project: Project, *, timeout: float = 30.0, retries: int = 0,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        import httpx
        from supabase_auth import SyncGoTrueClient

        self.project = project
        self.retries = retries
        self._sleep = sleep
        self._last: httpx.Response | None = None

        def remember(response: httpx.Response) -> None:
            self._last = response

        self._http = httpx.Client(timeout=timeout, follow_redirects=True,
                                  event_hooks={"response": [remember]})
        # Only `apikey` carries the project's key. `Authorization` carries a user's access
        # token, on the calls that take one (supabase-py sets it per request): a publishable
        # key is not a JWT, and a gateway/GoTrue given one as a Bearer token refuses it
        # (supabase-py issue 1230; docs/standin.md "API keys").
        self._client = SyncGoTrueClient(
            url=project.auth_url,
            headers={"apikey": project.anon_key},
            auto_refresh_token=False,
            persist_session=False,
            flow_type="implicit",  # no PKCE verifier is stored anywhere
            http_client=self._http,
        )

    def __enter__(self) -> SupabaseAuth:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def _call(self, fn: Callable[[], T], *, retry: bool = True) -> T:
        """`fn()` translated; retried after a transient gateway answer with Retry-After."""
        def attempt() -> T:
            self._last = None
            with translated(self.project, lambda: self._last):
                return fn()

        if not retry:
            return attempt()
        return with_retries(attempt, lambda: self._last, retries=self.retries,
                            sleep=self._sleep)

    def sign_in_with_password(self, email: str, password: str) -> AuthSession:
        response = self._call(lambda: self._client.sign_in_with_password(
            {"email": email, "password": password}))
        return self._need_session(response)

    def send_otp(self, email: str, *, create_user: bool = False) -> None:
        # Never resent on its own: a lost answer may mean a mail went out.
        self._call(lambda: self._client.sign_in_with_otp(
            {"email": email, "options": {"should_create_user": create_user}}), retry=False)

    def verify_otp(self, email: str, code: str) -> AuthSession:
        response = self._call(lambda: self._client.verify_otp(
            {"email": email, "token": code, "type": "email"}))
        return self._need_session(response)

    def sign_up(self, email: str, password: str) -> SignUpResult:
        response = self._call(lambda: self._client.sign_up(
            {"email": email, "password": password}), retry=False)
        if response.user is None:
            raise RemoteDataError("Supabase Auth answered the sign-up without a user")
        session = _session(response.session) if response.session is not None else None
        return SignUpResult(user=_user(response.user), session=session)

    def refresh(self, refresh_token: str) -> AuthSession:
        try:
            response = self._call(lambda: self._client.refresh_session(refresh_token))
        except InvalidInputError as exc:  # 400 validation_failed: "Refresh token is not valid"
            raise SessionRevoked(f"The stored refresh token is not valid: {exc.message}",
                                 hint=LOGIN_HINT) from exc
        return self._need_session(response)

    def get_user(self, access_token: str) -> AuthUser:
        response = self._call(lambda: self._client.get_user(access_token))
        if response is None or response.user is None:
            raise RemoteDataError("Supabase Auth answered /user without a user")
        return _user(response.user)

    def sign_out(self, access_token: str, *, scope: str = "local") -> None:
        """End one session on the server (`local`: only this device's, never `global`).
        A session the server already forgot counts as signed out."""
        def sign_out() -> None:
            try:
                self._client.admin.sign_out(access_token, scope)  # type: ignore[arg-type]
            except Exception as exc:
                from supabase_auth.errors import AuthApiError

                if isinstance(exc, AuthApiError) and exc.status in (401, 403, 404):
                    return
                raise

        self._call(sign_out)

    def _need_session(self, response: Any) -> AuthSession:
        if response.session is None:
            raise RemoteDataError("Supabase Auth answered without a session")
        return _session(response.session)
