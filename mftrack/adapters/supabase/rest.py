"""The sync RPCs (`sync_push`, `sync_pull`, `sync_fetch`) over supabase-py's PostgREST client,
and the one place where PostgREST and httpx errors become mftrack's.

`SupabaseRest` is built per sync run: one httpx client (keep-alive; the TLS context is built
once per process), tokens from `SessionManager.call_with_refresh` (an expired or rejected JWT
is refreshed and the call retried once). postgrest-py's `APIError` carries no HTTP status, so
an httpx response hook records it: a gateway's 429/5xx body has no SQLSTATE to go by.

Error map (`translate`):

| what | mftrack error | exit |
|---|---|---|
| connection refused/reset/lost answer, time-out | `NetworkError` | 75 |
| HTTP 429, 5xx; `40xxx`, `55P03`, `57014`, `53xxx`, `08xxx`, `PGRST000-3` | `NetworkError` | 75 |
| `PGRST301`/`PGRST303` after the one refresh | `LoginRequiredError` | 77 |
| `23503` (the JWT's user no longer exists) | `LoginRequiredError` | 77 |
| `42501` (not allowed) | `CredentialsError` | 8 |
| `PGRST202`/`42883`/`PGRST205` (RPC missing), 401/404 without a code | `ConfigError` | 6 |
| `22023` `unknown table "…"` (a synced table's migration not deployed) | `ConfigError` | 6 |
| `54000` (a limit of the hosted schema: too many devices; HTTP 500) | `ConfigError` | 6 |
| `22xxx`/`23xxx`/`P0001` for a whole call (a client bug) | `SyncRequestRefused` | 1 |
| an answer that is not the documented JSON | `RemoteDataError` | 5 |

Nothing here logs or formats a token; messages carry the project URL and the server's text.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from mftrack.adapters.supabase import Project
from mftrack.adapters.supabase.gateway import describe_wait, with_retries
from mftrack.errors import (
    ConfigError,
    CredentialsError,
    LoginRequiredError,
    MftrackError,
    NetworkError,
    RemoteDataError,
)

if TYPE_CHECKING:
    import ssl

    import httpx

    from mftrack.adapters.supabase.session import SessionManager

SCHEMA_HINT = "deploy the hosted schema to the project: see docs/hosted-schema.md"
LOGIN_HINT = "run `mftrack login`"
RETRY_HINT = "retry later; nothing was lost (the next `mftrack sync` resends)"

#: SQLSTATEs / PostgREST codes that mean "try again later" (whole call rolled back).
_TRANSIENT_PREFIXES = ("40", "53", "08", "57P", "58")
_TRANSIENT_CODES = frozenset({"55P03", "57014", "PGRST000", "PGRST001", "PGRST002", "PGRST003"})
_MISSING_RPC = frozenset({"PGRST202", "PGRST205", "42883", "42P01", "PGRST106"})
_JWT_CODES = frozenset({"PGRST301", "PGRST302", "PGRST303"})


class SyncRequestRefused(MftrackError):
    """The server refused a sync request as malformed (a bug in this client): resending the
    same request cannot succeed. Exit 1."""


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """Building a default SSL context costs ~25 ms (CA bundle); the daemon syncs every 30 min
    and tests sync thousands of times, so build it once per process."""
    import ssl

    import certifi

    return ssl.create_default_context(cafile=certifi.where())


def translate(exc: BaseException, status: int | None, project: Project) -> MftrackError | None:
    """The mftrack error for an exception from postgrest-py/httpx, given the HTTP status of
    the last response (None: no response). None for exceptions this adapter does not know."""
    import httpx
    from postgrest.exceptions import APIError

    where = project.url
    if isinstance(exc, httpx.TimeoutException):
        return NetworkError(f"Supabase at {where} did not answer in time", hint=RETRY_HINT)
    if isinstance(exc, httpx.TransportError):
        return NetworkError(f"cannot reach Supabase at {where}: {exc or type(exc).__name__}",
                            hint="check the connection and supabase.url; " + RETRY_HINT)
    if isinstance(exc, APIError):
        return _api_error(exc.code or "", exc.message or "", status, where)
    if isinstance(exc, ValueError):  # JSON that does not parse (pydantic's errors included)
        return RemoteDataError(f"Supabase at {where} answered with something that is not JSON",
                               hint="check supabase.url")
    return None


def _api_error(code: str, message: str, status: int | None, where: str) -> MftrackError:
    text = f"{message} ({code})" if code else message
    if status is None and len(code) == 3 and code.isdigit():
        status = int(code)  # postgrest-py's stand-in code for a body that is not PostgREST's
    if status == 429:
        return NetworkError(f"Supabase is rate-limiting requests: {message}",
                            hint="wait a little; " + RETRY_HINT)
    sqlstate = code if len(code) == 5 else ""  # PGRSTnnn codes are 8 characters
    # A limit of the hosted schema (docs/hosted-schema.md "Limits"). PostgREST answers class 54
    # with HTTP 500, but retrying cannot help: checked before the transient codes.
    if code == "54000":
        return ConfigError(f"Supabase refused this device: {message}",
                           hint="the project's operator can free places by deleting unused "
                                "rows of public.sync_clients (docs/hosted-schema.md \"Limits\")")
    if (status or 0) >= 500 or code in _TRANSIENT_CODES \
            or (sqlstate and sqlstate.startswith(_TRANSIENT_PREFIXES)):
        return NetworkError(f"Supabase had a temporary problem (HTTP {status}): {text}",
                            hint=RETRY_HINT)
    if code in _JWT_CODES:
        return LoginRequiredError(f"Supabase keeps refusing this session's token: {message}",
                                  hint=LOGIN_HINT)
    if code == "23503":
        return LoginRequiredError("this account no longer exists on the Supabase project",
                                  hint=LOGIN_HINT)
    if code == "42501":
        return CredentialsError(f"Supabase refused access: {message}",
                                hint="log in again (`mftrack login`); if it persists, check the "
                                     "grants of the hosted schema (docs/hosted-schema.md)")
    if code in _MISSING_RPC:
        return ConfigError(f"the sync functions are missing on {where}: {message}",
                           hint=SCHEMA_HINT)
    if code == "22023" and message.startswith("unknown table"):  # sync_fetch of a new table
        return ConfigError(f"the hosted schema at {where} is older than this mftrack: {message}",
                           hint=SCHEMA_HINT + " (apply the newer files of supabase/migrations)")
    if status == 401:
        return ConfigError(f"Supabase at {where} refused the API key: {message}",
                           hint="check supabase.anon_key (the project's anon/publishable key)")
    if status == 404:
        return ConfigError(f"{where} does not look like a Supabase project: {message}",
                           hint="check supabase.url")
    if sqlstate.startswith(("22", "23")) or code == "P0001":
        return SyncRequestRefused(
            f"the server refused the sync request as malformed: {text}",
            hint="this is a bug in mftrack; please report it with `mftrack --debug sync`")
    return RemoteDataError(f"Supabase answered an unexpected error (HTTP {status}): {text}")


class SupabaseRest:
    """RPC calls for one sync run (a context manager; closes its connections on exit)."""

    def __init__(self, session: SessionManager, *, timeout: float) -> None:
        self.session = session
        self.project: Project = session.project
        self.timeout = timeout
        self.requests = 0  # RPC requests sent (retries after a refresh included)
        self._http: httpx.Client | None = None
        self._client: Any = None
        self._status: int | None = None
        self._last: httpx.Response | None = None

    def __enter__(self) -> SupabaseRest:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._http is not None:
            self._http.close()
            self._http = None
            self._client = None

    def _postgrest(self) -> Any:
        if self._client is None:
            import httpx
            from postgrest import SyncPostgrestClient
            from postgrest.constants import DEFAULT_POSTGREST_CLIENT_HEADERS

            def remember(response: httpx.Response) -> None:
                self._status = response.status_code
                self._last = response

            self._http = httpx.Client(
                timeout=self.timeout, verify=_tls_context(), follow_redirects=True,
                event_hooks={"response": [remember]})
            self._client = SyncPostgrestClient(
                self.project.rest_url,
                headers={**DEFAULT_POSTGREST_CLIENT_HEADERS, "apikey": self.project.anon_key},
                http_client=self._http)
        return self._client

    def rpc(self, name: str, params: dict[str, Any]) -> Any:
        """POST /rest/v1/rpc/<name> with `params`; the JSON answer. A transient gateway
        answer with Retry-After is retried (`gateway.with_retries`)."""
        def call(token: str) -> Any:
            self._status = None
            self._last = None
            self.requests += 1
            # `Authorization` is always the user's access token; the project's key goes in
            # `apikey` only (it may be a publishable key, which is not a JWT).
            client = self._postgrest().auth(token)
            return client.rpc(name, params).execute().data

        def attempt() -> Any:
            with self._translated():
                return self.session.call_with_refresh(call)

        return with_retries(attempt, lambda: self._last,
                            retries=self.session.retries)

    @contextmanager
    def _translated(self) -> Iterator[None]:
        try:
            yield
        except MftrackError:
            raise
        except Exception as exc:
            mapped = translate(exc, self._status, self.project)
            if mapped is None:
                raise
            if isinstance(mapped, NetworkError):
                mapped.message += describe_wait(self._last)
            raise mapped from exc

    # --- the sync protocol (docs/hosted-schema.md) ------------------------------------------

    def push(self, client_id: str, mutations: list[dict[str, Any]]) -> dict[str, Any]:
        data = self.rpc("sync_push", {"p_client_id": client_id, "p_mutations": mutations})
        return _shaped(data, "sync_push", _PUSH_KEYS, self.project)

    def pull(self, *, since: int, after_id: str | None, limit: int, epoch: str | None,
             client_id: str, horizon: int | None = None) -> dict[str, Any]:
        args: dict[str, Any] = {"p_since": since, "p_after_id": after_id, "p_limit": limit,
                                "p_epoch": epoch, "p_client_id": client_id}
        if horizon is not None:  # only inside a full pull (a schema without it never sends one)
            args["p_horizon"] = horizon
        page = _shaped(self.rpc("sync_pull", args), "sync_pull", _PULL_KEYS, self.project)
        cursor = page["cursor"]
        horizon = cursor.get("horizon") if isinstance(cursor, dict) else None
        if not isinstance(cursor, dict) or not isinstance(cursor.get("version"), int) \
                or not isinstance(horizon, int | None) or isinstance(horizon, bool):
            raise _bad_shape("sync_pull", self.project)
        return page

    def fetch(self, table: str, ids: list[str]) -> list[dict[str, Any]]:
        data = self.rpc("sync_fetch", {"p_table": table, "p_ids": ids})
        return list(_shaped(data, "sync_fetch", {"rows": list}, self.project)["rows"])


_PUSH_KEYS: dict[str, type | tuple[type, ...]] = {
    "last_mutation_id": int, "version": int, "conflicts": list, "rejected": list}
_PULL_KEYS: dict[str, type | tuple[type, ...]] = {
    "rows": list, "cursor": dict, "has_more": bool, "server_version": int, "reset": bool,
    "last_mutation_id": int, "epoch": (str, type(None))}


def _bad_shape(rpc: str, project: Project) -> RemoteDataError:
    return RemoteDataError(f"Supabase at {project.url} answered {rpc} with data mftrack cannot "
                           "read", hint="the hosted schema may be older or newer than this "
                                        "mftrack: " + SCHEMA_HINT)


def _shaped(data: Any, rpc: str, keys: dict[str, type | tuple[type, ...]],
            project: Project) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise _bad_shape(rpc, project)
    for key, kind in keys.items():
        value = data.get(key)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise _bad_shape(rpc, project)
    return data

