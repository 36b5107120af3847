"""The Supabase session on this device: access tokens on demand, refreshed under a lock.

API (what `sync` and other network features code against)::

    from mftrack.adapters.supabase.session import SessionManager

    manager = SessionManager(settings, paths, *, store=None, environ=None, warn=None,
                             clock=time.time)        # ConfigError if Supabase is not set up;
                                                     # no network, no keyring access yet
    manager.project -> Project                       # .url .anon_key .rest_url .auth_url
    manager.access_token(*, min_validity=60) -> str  # refreshes when <= 60 s are left
    manager.refresh() -> StoredSession               # a new pair now (or the one another
                                                     # process stored while we waited)
    manager.user_id -> str; manager.email -> str     # may refresh once (MFTRACK_REFRESH_TOKEN)
    manager.call_with_refresh(fn: Callable[[str], T]) -> T
    manager.current() -> StoredSession               # this manager's copy; LoginRequiredError
                                                     # if there is none; no network
    manager.stored() -> StoredSession | None         # re-read from the store, no network
    manager.forget() -> bool                         # delete the tokens (no network)
    manager.lock()                                   # the cross-process lock (re-entrant)
    is_jwt_rejection(exc) -> bool                    # what call_with_refresh retries on

`warn(message)` receives the one-time notice that a session from MFTRACK_REFRESH_TOKEN was
refreshed in memory only (the CLI passes `Runtime.warn`; the daemon may pass a logger).

`call_with_refresh(fn)` calls `fn(access_token)`; if it raises an exception whose `code`
(or the `code` of an exception in its `__cause__`/`__context__` chain) is `PGRST301` or
`PGRST303` (PostgREST rejected the JWT), or GoTrue's `bad_jwt`, it refreshes once and
calls `fn` again with the new token. A second rejection propagates unchanged (for GoTrue it
is `LoginRequiredError`, and the tokens are deleted). Example::

    rest = SyncPostgrestClient(manager.project.rest_url,
                               headers={"apikey": manager.project.anon_key})
    data = manager.call_with_refresh(
        lambda token: rest.auth(token).rpc("sync_pull", {"p_since": 0}).execute().data)

Errors: `LoginRequiredError` (exit 77) when there is no session or the server ended it
(`refresh_token_already_used`, `refresh_token_not_found`, `session_expired`,
`session_not_found`, `user_banned`, `user_not_found`, a repeated `bad_jwt`) — the stored
tokens are deleted first and nothing prompts; `NetworkError` (exit 75) for connection
failures, time-outs, 429 and 5xx — the tokens are kept; `CredentialsError` (exit 8) when the
token store cannot be used; `BusyError` (exit 9) when the refresh lock stays taken.

Refreshes are serialised across processes by a `filelock` in `<data dir>/locks/`. Under the
lock the store is read again: if another process refreshed meanwhile its pair is used;
otherwise the refresh token is spent and **the new pair is persisted before it is used**
(refresh tokens are single-use). If the answer is lost on the way, the old token is still
stored, and GoTrue hands the same new pair back next time (it is the parent of the active
token).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

from mftrack.adapters.supabase import Project, project_from_settings
from mftrack.adapters.supabase.auth import (
    LOGIN_HINT,
    AccessTokenRejected,
    AuthSession,
    SessionRevoked,
    SupabaseAuth,
)
from mftrack.adapters.supabase.tokens import (
    REFRESH_TOKEN_ENV,
    StoredSession,
    TokenStore,
    open_store,
    project_key,
)
from mftrack.config import Paths, Settings
from mftrack.errors import BusyError, LoginRequiredError

if TYPE_CHECKING:
    from collections.abc import Mapping

T = TypeVar("T")

#: PostgREST's "JWT rejected" codes (v12: PGRST301 for everything; v13+: PGRST303 for
#: claims such as expiry) and GoTrue's.
JWT_REJECTED = frozenset({"PGRST301", "PGRST303", "bad_jwt"})


def is_jwt_rejection(exc: BaseException) -> bool:
    """True if `exc`, or an exception it was raised from, says the JWT was refused."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, AccessTokenRejected):
            return True
        if getattr(current, "code", None) in JWT_REJECTED:
            return True
        current = current.__cause__ or current.__context__
    return False


class SessionManager:
    """One project's session on this device (see the module docstring for the API)."""

    def __init__(
        self,
        settings: Settings,
        paths: Paths,
        *,
        store: TokenStore | None = None,
        environ: Mapping[str, str] | None = None,
        warn: Callable[[str], None] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.project: Project = project_from_settings(settings)
        self.paths = paths
        self.store: TokenStore = store or open_store(
            settings, paths, self.project.url, dict(environ) if environ is not None else None)
        self.timeout = float(settings.network_timeout)
        self.retries = int(settings.network_retries)
        self._warn = warn
        self._clock = clock
        self._session: StoredSession | None = None
        self._warned_env = False
        self._filelock: Any = None

    # --- reading ------------------------------------------------------------------------------

    def stored(self) -> StoredSession | None:
        """The stored session as it is now (no network)."""
        return self.store.load()

    def current(self) -> StoredSession:
        """The session this manager works with (read from the store once); no network."""
        if self._session is None:
            self._session = self.store.load()
        if self._session is None:
            raise LoginRequiredError(f"not logged in to Supabase ({self.project.url})",
                                     hint=LOGIN_HINT)
        return self._session

    def access_token(self, *, min_validity: float = 60) -> str:
        """A valid access token, refreshed first when fewer than `min_validity` s are left."""
        session = self.current()
        if session.access_token and session.expires_at - self._clock() > min_validity:
            return session.access_token
        return self._refresh(session.refresh_token, session.access_token,
                             min_validity=min_validity).access_token

    def refresh(self) -> StoredSession:
        """Spend the refresh token for a new pair now, unless another process has stored a
        newer pair since this one was read (then that pair is used)."""
        session = self.current()
        return self._refresh(session.refresh_token, session.access_token, min_validity=60)

    @property
    def user_id(self) -> str:
        session = self.current()
        if not session.user_id:  # a session from MFTRACK_REFRESH_TOKEN, never refreshed
            session = self.refresh()
        return session.user_id

    @property
    def email(self) -> str:
        session = self.current()
        if not session.user_id:
            session = self.refresh()
        return session.email

    # --- network ------------------------------------------------------------------------------

    def auth(self) -> SupabaseAuth:
        """A GoTrue client for this project (a context manager)."""
        return SupabaseAuth(self.project, timeout=self.timeout, retries=self.retries)

    def call_with_refresh(self, fn: Callable[[str], T]) -> T:
        """`fn(access_token)`, retried once with a refreshed token if the JWT is refused."""
        token = self.access_token()
        refresh_token = self.current().refresh_token
        try:
            return self._revocation_clears(fn, token)
        except Exception as exc:
            if not is_jwt_rejection(exc):
                raise
        fresh = self._refresh(refresh_token, token, min_validity=60)
        try:
            return self._revocation_clears(fn, fresh.access_token)
        except AccessTokenRejected as exc:
            self.forget()
            raise LoginRequiredError(f"Supabase keeps refusing this session: {exc.message}",
                                     hint=LOGIN_HINT) from exc

    def _revocation_clears(self, fn: Callable[[str], T], token: str) -> T:
        try:
            return fn(token)
        except SessionRevoked:
            self.forget()
            raise

    def _refresh(self, stale_refresh: str, stale_access: str, *,
                 min_validity: float) -> StoredSession:
        with self.lock():
            latest = self.store.load()
            if latest is None:
                self._session = None
                raise LoginRequiredError(
                    f"not logged in to Supabase ({self.project.url}): the session was removed "
                    "(another mftrack process logged out or found it ended)", hint=LOGIN_HINT)
            # A new refresh token proves another process refreshed while we waited. (Comparing
            # access tokens would not: GoTrue can issue a byte-identical JWT within a second.)
            if (latest.refresh_token != stale_refresh
                    and latest.access_token
                    and latest.expires_at - self._clock() > min_validity):
                self._session = latest  # another process refreshed while we waited
                return latest
            try:
                with self.auth() as auth:
                    fresh = auth.refresh(latest.refresh_token)
            except SessionRevoked:
                self.forget()
                raise
            new = self._stored(fresh)
            self.store.save(new)  # persisted before anyone uses it
            if self.store.persistent:
                self._session = new
            else:
                self._session = self.store.load() or new
                self._warn_env()
            return new

    def _warn_env(self) -> None:
        if self._warn is not None and not self._warned_env:
            self._warned_env = True
            self._warn(f"the session from {REFRESH_TOKEN_ENV} was refreshed; the new tokens "
                       "are kept in memory for this run only (the variable keeps working on "
                       "later runs)")

    # --- login and logout (used by services.account) ------------------------------------------

    def _stored(self, session: AuthSession) -> StoredSession:
        return StoredSession(refresh_token=session.refresh_token,
                             access_token=session.access_token, expires_at=session.expires_at,
                             user_id=session.user_id, email=session.email,
                             refreshed_at=self._clock())

    def establish(self, session: AuthSession) -> StoredSession:
        """Keep a session from a login or sign-up (replacing any previous one)."""
        with self.lock():
            stored = self._stored(session)
            self.store.save(stored)
            self._session = stored
            return stored

    def forget(self) -> bool:
        """Delete this device's tokens (no network). True if something was stored."""
        with self.lock():
            self._session = None
            return self.store.clear()

    @contextmanager
    def lock(self) -> Iterator[None]:
        """The per-project lock that serialises refresh, login and logout across processes
        (re-entrant within this manager)."""
        from filelock import FileLock, Timeout

        path = self.paths.lock_dir / f"auth-{project_key(self.project.url)}.lock"
        if self._filelock is None:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._filelock = FileLock(str(path), timeout=2 * self.timeout + 10)
        try:
            self._filelock.acquire()
        except Timeout as exc:
            raise BusyError("another mftrack process is refreshing the Supabase session",
                            hint=f"retry in a moment (lock: {path})") from exc
        try:
            yield
        finally:
            self._filelock.release()
