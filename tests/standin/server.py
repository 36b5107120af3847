"""The running stand-in: a Starlette app behind the Kong-like gateway, served by uvicorn in a
background thread, plus the knobs tests use to steer it."""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
import psycopg
import uvicorn
from psycopg.rows import dict_row
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from . import db, jwtutil, signing
from .clock import Clock
from .faults import (
    FaultInjector,
    FaultRule,
    LoggedRequest,
    RequestLog,
    split_prefix,
    tracking_protocol,
)
from .gateway import Gateway
from .gotrue import AuthSettings, GoTrue
from .http import Req, Resp
from .postgrest import PostgREST, RestSettings

log = logging.getLogger("tests.standin")

#: Fixed ``iat``/``exp`` for the generated API keys, so a given secret always yields the same
#: keys (handy when the stand-in is restarted by hand).
KEY_IAT = 1_700_000_000
KEY_EXP = 2_000_000_000


def _derived(label: str, secret: str, length: int) -> str:
    import hashlib

    return hashlib.sha256(f"{label}:{secret}".encode()).hexdigest()[:length]


class StandIn:
    """A faithful, in-process stand-in for a Supabase project (gateway + GoTrue + PostgREST)
    on a real PostgreSQL database.

    ``StandIn.temporary()`` creates a throwaway ``mftrack_test_<random>`` database (dropped by
    :meth:`close`); ``StandIn(database_url)`` uses an existing one. :meth:`start` applies
    bootstrap.sql and any pending ``supabase/migrations/*.sql``, opens the pools and serves on
    ``127.0.0.1`` (a free port unless ``port`` is given).
    """

    def __init__(
        self,
        database_url: str,
        *,
        jwt_secret: str | None = None,
        anon_key: str | None = None,
        service_key: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        migrations_dir: Path | None = db.MIGRATIONS_DIR,
        apply_schema: bool = True,
        owns_database: bool = False,
        admin_url: str = db.DEFAULT_ADMIN_URL,
        pool_size: int = 16,
        auth_pool_size: int = 8,
        threads: int = 64,
        signing_alg: str = "HS256",
        publishable_key: str | None = None,
        secret_key: str | None = None,
    ) -> None:
        self.database_url = database_url
        self.jwt_secret = jwt_secret or jwtutil.random_secret()
        if len(self.jwt_secret) < 32:
            raise ValueError("the JWT secret must have at least 32 characters (PostgREST v13)")
        self.anon_key = anon_key or jwtutil.api_key("anon", self.jwt_secret, iat=KEY_IAT,
                                                    exp=KEY_EXP)
        self.service_key = service_key or jwtutil.api_key("service_role", self.jwt_secret,
                                                          iat=KEY_IAT, exp=KEY_EXP)
        # New API keys (opaque, not JWTs): sb_publishable_ (role anon), sb_secret_ (role
        # service_role). https://supabase.com/docs/guides/api/api-keys
        # Derived from the JWT secret, so a given secret always yields the same keys (as the
        # legacy JWT keys below); a wrong key is any other string.
        self.publishable_key = publishable_key or "sb_publishable_" + _derived(
            "publishable", self.jwt_secret, 22)
        self.secret_key = secret_key or "sb_secret_" + _derived("secret", self.jwt_secret, 32)
        self.legacy_api_keys = True
        self.signing_alg = self._initial_signing = signing_alg
        self.keyring = signing.KeyRing.start(self.jwt_secret, signing_alg)
        self._verifiers: dict[tuple[str, int], jwtutil.Verifier] = {}
        self.host = host
        self.port = port
        self.migrations_dir = migrations_dir
        self.apply_schema = apply_schema
        self.owns_database = owns_database
        self.admin_url = admin_url
        self.pool_size = pool_size
        self.auth_pool_size = auth_pool_size
        self.threads = threads

        self.clock = Clock()
        self.faults = FaultInjector()
        self._log = RequestLog()
        self.gotrue = GoTrue(self)
        self.postgrest = PostgREST(self)
        self.applied_migrations: list[str] = []

        self._transports: dict[tuple[str, int], Any] = {}
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None
        self._limiter: anyio.CapacityLimiter | None = None
        self._admin_lock = threading.Lock()
        self._admin: psycopg.Connection | None = None
        self.auth_pool: db.Pool | None = None  # type: ignore[assignment]
        self.rest_pool: db.Pool | None = None  # type: ignore[assignment]
        self.rest_login = "authenticator"

    # ------------------------------------------------------------------------- lifecycle

    @classmethod
    def temporary(cls, admin_url: str = db.DEFAULT_ADMIN_URL, **kwargs: Any) -> StandIn:
        """A stand-in on a new ``mftrack_test_<random>`` database, dropped by :meth:`close`."""
        url = db.create_database(admin_url)
        return cls(url, owns_database=True, admin_url=admin_url, **kwargs)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def auth_url(self) -> str:
        return f"{self.url}/auth/v1"

    @property
    def rest_url(self) -> str:
        return f"{self.url}/rest/v1"

    def start(self) -> StandIn:
        if self._thread is not None:
            return self
        try:
            if self.apply_schema:
                db.apply_bootstrap(self.database_url)
                if self.migrations_dir is not None:
                    self.applied_migrations = db.apply_migrations(self.database_url,
                                                                  self.migrations_dir)
            self.auth_pool = db.Pool(self.database_url, min_size=1,
                                     max_size=self.auth_pool_size, name="standin-auth")
            self.rest_pool = self._open_rest_pool()
            self.postgrest.reload_schema()
            self._serve()
        except BaseException:
            self.close()
            raise
        return self

    def _open_rest_pool(self) -> db.Pool:
        """PostgREST logs in as ``authenticator`` and switches role per request. If that login
        is refused (e.g. password auth), fall back to the configured user."""
        conninfo = db.conninfo_with(self.database_url, user="authenticator", password=None)
        try:
            psycopg.connect(conninfo, connect_timeout=5).close()
            self.rest_login = "authenticator"
        except psycopg.Error as exc:
            log.warning("cannot log in as authenticator (%s); REST uses the admin user", exc)
            conninfo = self.database_url
            self.rest_login = "superuser"
        return db.Pool(conninfo, min_size=2, max_size=self.pool_size, name="standin-rest")

    def _serve(self) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        sock.listen(2048)
        self._socket = sock
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            Gateway(self._build_app(), keys=self.api_keys, mint=self._mint_key_jwt,
                    faults=self.faults, log=self._log, transports=self._transports),
            http=tracking_protocol(self._transports),
            lifespan="off",
            log_level="warning",
            access_log=False,
            timeout_keep_alive=30,
            backlog=2048,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]},
                                        name=f"standin-{self.port}", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 15
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the stand-in server did not start")
            time.sleep(0.01)

    def stop(self) -> None:
        """Stop serving (the database is kept)."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._server = None
        self._thread = None
        if self._socket is not None:
            with contextlib.suppress(OSError):
                self._socket.close()
            self._socket = None

    def close(self) -> None:
        """Stop, close the pools, and drop the database if this stand-in created it."""
        self.stop()
        for pool in (self.auth_pool, self.rest_pool):
            if pool is not None:
                with contextlib.suppress(Exception):
                    pool.close()
        self.auth_pool = self.rest_pool = None
        with self._admin_lock:
            if self._admin is not None:
                with contextlib.suppress(Exception):
                    self._admin.close()
                self._admin = None
        if self.owns_database:
            self.owns_database = False
            db.drop_database(self.database_url, self.admin_url)

    def __enter__(self) -> StandIn:
        return self.start()

    # ------------------------------------------------------------------ keys and signing

    def api_keys(self) -> dict[str, str]:
        """Accepted API key -> its kind (``legacy`` JWTs are refused while disabled)."""
        keys = {self.publishable_key: "publishable", self.secret_key: "secret"}
        if self.legacy_api_keys:
            keys.update({self.anon_key: "legacy", self.service_key: "legacy"})
        else:
            keys.update({self.anon_key: "legacy-disabled", self.service_key: "legacy-disabled"})
        return keys

    def _mint_key_jwt(self, kind: str) -> str:
        """The short-lived JWT Supabase's gateway puts in ``Authorization`` for a request that
        carries a new API key and no Authorization header (role anon / service_role)."""
        iat = int(self.clock.now())
        role = "anon" if kind == "publishable" else "service_role"
        return self.keyring.sign({"iss": f"{self.url}/auth/v1", "role": role,
                                  "iat": iat, "exp": iat + 300})

    def verifier(self, side: str) -> jwtutil.Verifier:
        """GoTrue verifies with its own keys; PostgREST with the JWKS it is configured with
        (published keys + the legacy secret). Rebuilt when the ring changes."""
        cache = (side, self.keyring.version)
        found = self._verifiers.get(cache)
        if found is None:
            found = jwtutil.Verifier(self.keyring.verification_jwks(), cache)
            self._verifiers = {cache: found}
        return found

    def rotate_signing_key(self, alg: str = "ES256") -> str:
        """A new current signing key (ES256); the previous one keeps verifying. Its kid."""
        return self.keyring.rotate(alg)

    def revoke_signing_key(self, kid: str | None) -> None:
        """Revoke a previous key (``None``: the legacy JWT secret)."""
        self.keyring.revoke(kid)

    def set_legacy_api_keys(self, enabled: bool) -> None:
        """Off: the legacy anon/service_role JWT keys get 401 "Legacy API keys are disabled"."""
        self.legacy_api_keys = enabled

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------------------ app

    def _build_app(self) -> Starlette:
        def auth(route: str) -> Any:
            return self._endpoint(lambda req: self.gotrue.handle(route, req))

        def rest(kind: str) -> Any:
            return self._endpoint(lambda req: self.postgrest.handle(kind, req))

        routes = [
            Route("/auth/v1/signup", auth("signup"), methods=["POST"]),
            Route("/auth/v1/token", auth("token"), methods=["POST"]),
            Route("/auth/v1/otp", auth("otp"), methods=["POST"]),
            Route("/auth/v1/verify", auth("verify"), methods=["POST"]),
            Route("/auth/v1/user", auth("user"), methods=["GET"]),
            Route("/auth/v1/logout", auth("logout"), methods=["POST"]),
            Route("/auth/v1/settings", auth("settings"), methods=["GET"]),
            Route("/auth/v1/health", auth("health"), methods=["GET"]),
            Route("/auth/v1/.well-known/jwks.json", auth("jwks"), methods=["GET"]),
            Route("/rest/v1/", rest("root"), methods=["GET"]),
            Route("/rest/v1/rpc/{fn}", rest("rpc"), methods=["GET", "POST"]),
            Route("/rest/v1/{table}", rest("table"),
                  methods=["GET", "POST", "PATCH", "DELETE"]),
        ]

        async def not_found(request: Request, exc: Exception) -> Response:
            return Response(b'{"message":"no Route matched with those values"}', 404,
                            media_type="application/json")

        async def not_allowed(request: Request, exc: Exception) -> Response:
            return Response(b'{"code":405,"error_code":"method_not_allowed",'
                            b'"msg":"Method not allowed"}', 405, media_type="application/json")

        return Starlette(routes=routes, exception_handlers={404: not_found, 405: not_allowed})

    def _endpoint(self, handler: Any) -> Any:
        async def endpoint(request: Request) -> Response:
            body = await request.body()
            headers: dict[str, str] = {}
            for key, value in request.headers.items():
                key = key.lower()
                headers[key] = f"{headers[key]},{value}" if key in headers else value
            req = Req(
                method=request.method,
                path=request.url.path,
                query_string=request.scope.get("query_string", b"").decode("latin-1"),
                headers=headers,
                body=body,
                client_ip=request.client.host if request.client else None,
                path_params=dict(request.path_params),
            )
            if self._limiter is None:
                self._limiter = anyio.CapacityLimiter(self.threads)
            resp: Resp = await anyio.to_thread.run_sync(handler, req, limiter=self._limiter)
            out_headers = dict(resp.headers)
            payload = resp.payload()
            if payload and not any(k.lower() == "content-type" for k in out_headers):
                out_headers["Content-Type"] = "application/json"
            return Response(payload, status_code=resp.status, headers=out_headers)

        return endpoint

    # ----------------------------------------------------------------- database helpers

    def sql(self, query: Any, *params: Any) -> list[tuple[Any, ...]]:
        """Run ``query`` as the superuser on the stand-in's database (autocommit) and return
        its rows (``[]`` for statements without a result)."""
        with self._admin_lock:
            if self._admin is None or self._admin.closed:
                self._admin = psycopg.connect(self.database_url, autocommit=True)
            cur = self._admin.execute(query, params or None)
            return cur.fetchall() if cur.description else []

    def sql_value(self, query: Any, *params: Any) -> Any:
        rows = self.sql(query, *params)
        return rows[0][0] if rows else None

    @contextlib.contextmanager
    def _auth_cursor(self) -> Iterator[psycopg.Cursor]:
        assert self.auth_pool is not None
        with self.auth_pool.connection() as conn, conn.transaction(), \
                conn.cursor(row_factory=dict_row) as cur:
            yield cur

    # --------------------------------------------------------------------------- knobs

    def reset(self) -> None:
        """Knobs back to their defaults: clock, faults, request log, OTP outbox, auth and
        REST settings. Data in the database is kept."""
        self.clock.reset()
        self.faults.clear()
        self._log.clear()
        self.gotrue.settings = AuthSettings()
        self.postgrest.settings = RestSettings()
        self.legacy_api_keys = True
        self.signing_alg = self._initial_signing
        self.keyring.reset(self.signing_alg)
        with self.gotrue._outbox_lock:
            self.gotrue.outbox.clear()

    # settings
    def use_signing(self, alg: str) -> None:
        """Start over on ``HS256`` (legacy secret only) or ``ES256`` (migrated project: an
        ES256 current key, the legacy secret as a previous key). ``reset()`` goes back to
        the constructor's choice."""
        self.signing_alg = alg
        self.keyring.reset(alg)

    def set_reuse_interval(self, seconds: float) -> None:
        self.gotrue.settings.reuse_interval = seconds

    def set_autoconfirm(self, enabled: bool) -> None:
        self.gotrue.settings.autoconfirm = enabled

    def set_signup_enabled(self, enabled: bool) -> None:
        self.gotrue.settings.signup_enabled = enabled

    def set_jwt_expiry(self, seconds: int) -> None:
        self.gotrue.settings.jwt_exp = seconds

    def set_postgrest_version(self, major: int) -> None:
        """12: every JWT failure is ``PGRST301``; 13 (default): claim failures ``PGRST303``."""
        self.postgrest.settings.version = major

    def set_max_rows(self, rows: int | None) -> None:
        self.postgrest.settings.max_rows = rows

    def reload_schema(self) -> None:
        self.postgrest.reload_schema()

    # faults
    def _rule(self, kind: str, path_prefix: str, count: int, method: str | None,
              **extra: Any) -> FaultRule:
        path, query = split_prefix(path_prefix)
        return self.faults.add(FaultRule(kind=kind, path_prefix=path, query=query,
                                         remaining=count, method=method, **extra))

    def fail_next(self, path_prefix: str, status: int = 503, count: int = 1, *,
                  method: str | None = None, body: Any = None,
                  headers: dict[str, str] | None = None, html: bool = False) -> FaultRule:
        """Answer the next ``count`` matching requests with ``status`` (canned GoTrue /
        PostgREST / gateway body unless ``body`` is given; the gateway's HTML error page with
        ``html=True`` and always for Cloudflare's 520-526) without processing them."""
        return self._rule("fail", path_prefix, count, method, status=status, body=body,
                          headers=dict(headers or {}), html=html)

    def drop_next(self, path_prefix: str, count: int = 1, *,
                  method: str | None = None) -> FaultRule:
        """Close the connection of the next ``count`` matching requests without processing
        them or answering."""
        return self._rule("drop", path_prefix, count, method)

    def lose_next_response(self, path_prefix: str, count: int = 1, *,
                           method: str | None = None) -> FaultRule:
        """Process (and commit) the next ``count`` matching requests, then close the
        connection instead of sending the response."""
        return self._rule("lose", path_prefix, count, method)

    def delay_next(self, path_prefix: str, seconds: float, count: int = 1, *,
                   method: str | None = None) -> FaultRule:
        return self._rule("delay", path_prefix, count, method, seconds=seconds)

    def barrier_next(self, path_prefix: str, parties: int, *, timeout: float = 30.0,
                     method: str | None = None) -> FaultRule:
        """Hold the next ``parties`` matching requests until all have arrived (or ``timeout``
        passed), then process them together. The rule's ``met`` says whether they all came."""
        return self._rule("barrier", path_prefix, parties, method, parties=parties,
                          seconds=timeout)

    def clear_faults(self) -> None:
        self.faults.clear()

    # request log
    @property
    def request_log(self) -> list[LoggedRequest]:
        return self._log.entries()

    def requests(self, path_prefix: str = "", method: str | None = None) -> list[LoggedRequest]:
        path, query = split_prefix(path_prefix)
        out = []
        for entry in self._log.entries():
            if not entry.path.startswith(path):
                continue
            if method and entry.method.upper() != method.upper():
                continue
            if query:
                from urllib.parse import parse_qsl

                params = dict(parse_qsl(entry.query, keep_blank_values=True))
                if any(params.get(k) != v for k, v in query.items()):
                    continue
            out.append(entry)
        return out

    def clear_request_log(self) -> None:
        self._log.clear()

    # OTP outbox
    def otp_outbox(self, email: str) -> list[str]:
        """The codes sent to ``email``, oldest first."""
        email = email.strip().lower()
        with self.gotrue._outbox_lock:
            return [m.code for m in self.gotrue.outbox if m.email == email]

    def last_otp(self, email: str) -> str:
        codes = self.otp_outbox(email)
        if not codes:
            raise LookupError(f"no code was sent to {email}")
        return codes[-1]

    # users and sessions
    def create_user(self, email: str, password: str, *, confirmed: bool = True,
                    user_metadata: dict[str, Any] | None = None) -> str:
        """Create a user directly (no HTTP, no outbox); returns its id."""
        with self._auth_cursor() as cur:
            row = self.gotrue.create_user_row(cur, email=email.strip().lower(),
                                              password=password, data=user_metadata,
                                              confirmed=confirmed)
            return str(row["id"])

    def issue_session(self, user_id: str, method: str = "password") -> dict[str, Any]:
        """A fresh session for ``user_id`` (Session JSON as ``/token`` returns it)."""
        with self._auth_cursor() as cur:
            user = self.gotrue._user_by_id(cur, user_id)
            if user is None:
                raise LookupError(f"no user {user_id}")
            return self.gotrue.issue_session(cur, user, method)

    def user_id(self, email: str) -> str | None:
        value = self.sql_value("select id from auth.users where lower(email) = %s",
                               email.strip().lower())
        return str(value) if value is not None else None

    def _session_ids(self, session_id: str | None, user_id: str | None,
                     access_token: str | None) -> list[str]:
        if access_token is not None:
            claims = jwtutil.unverified_claims(access_token) or {}
            session_id = claims.get("session_id")
            if not session_id:
                raise ValueError("the access token has no session_id claim")
        if session_id is not None:
            return [str(session_id)]
        if user_id is not None:
            return [str(r[0]) for r in self.sql(
                "select id from auth.sessions where user_id = %s", user_id)]
        raise ValueError("give a session_id, a user_id or an access_token")

    def expire_session(self, session_id: str | None = None, *, user_id: str | None = None,
                       access_token: str | None = None) -> int:
        """Time the session(s) out (``not_after`` = now): refresh then fails with
        ``session_expired``. Returns how many sessions were changed."""
        ids = self._session_ids(session_id, user_id, access_token)
        for sid in ids:
            self.sql("update auth.sessions set not_after = %s where id = %s",
                     self.clock.now_dt(), sid)
        return len(ids)

    def revoke_sessions(self, user_id: str | None = None, *, session_id: str | None = None,
                        access_token: str | None = None) -> int:
        """Delete the session(s) (a server-side logout): refresh answers
        ``refresh_token_not_found`` and ``/user`` ``session_not_found``."""
        ids = self._session_ids(session_id, user_id, access_token)
        for sid in ids:
            self.sql("delete from auth.sessions where id = %s", sid)
        return len(ids)

    def ban_user(self, user_id: str, seconds: float = 86400.0) -> None:
        until = datetime.fromtimestamp(self.clock.now() + seconds, tz=UTC)
        self.sql("update auth.users set banned_until = %s where id = %s", until, user_id)

    def delete_user(self, user_id: str) -> None:
        self.sql("delete from auth.users where id = %s", user_id)

    def make_jwt(self, *, user_id: str | None = None, role: str = "authenticated",
                 expires_in: float = 3600, session_id: str | None = None,
                 secret: str | None = None, **claims: Any) -> str:
        """Sign arbitrary claims (defaults: an ``authenticated`` token issued now on the
        stand-in clock). ``secret`` lets a test forge a token with the wrong key."""
        iat = int(self.clock.now())
        payload: dict[str, Any] = {
            "iss": f"{self.url}/auth/v1", "aud": "authenticated", "iat": iat,
            "exp": int(iat + expires_in), "role": role,
        }
        if user_id is not None:
            payload.update({"sub": str(user_id), "email": "", "phone": "",
                            "app_metadata": {"provider": "email", "providers": ["email"]},
                            "user_metadata": {}, "aal": "aal1",
                            "amr": [{"method": "password", "timestamp": iat}],
                            "session_id": str(session_id or uuid.uuid4()),
                            "is_anonymous": False})
        payload.update(claims)
        if secret is not None:
            return jwtutil.sign(payload, secret)
        return self.keyring.sign(payload)

    # ready-made supabase-py clients (imported lazily)
    def auth_client(self, *, api_key: str | None = None, **kwargs: Any) -> Any:
        """A ``SyncGoTrueClient`` for this stand-in, set up as a CLI would (contract B). A
        legacy JWT key also goes in ``Authorization`` (what supabase-py does); a new API key
        never does (it is not a JWT)."""
        from supabase_auth import SyncGoTrueClient

        key = api_key or self.anon_key
        options = {"auto_refresh_token": False, "persist_session": False,
                   "flow_type": "implicit"}
        options.update(kwargs)
        headers = {"apikey": key}
        if not key.startswith("sb_"):
            headers["Authorization"] = f"Bearer {key}"
        return SyncGoTrueClient(url=self.auth_url, headers=headers, **options)

    def rest_client(self, access_token: str | None = None, *, api_key: str | None = None,
                    **kwargs: Any) -> Any:
        """A ``SyncPostgrestClient`` sending the API key and, if given, a user's token (a
        legacy JWT key stands in for the token when there is none)."""
        from postgrest import SyncPostgrestClient

        key = api_key or self.anon_key
        client = SyncPostgrestClient(self.rest_url, headers={"apikey": key}, **kwargs)
        if access_token is None and key.startswith("sb_"):
            return client
        return client.auth(access_token or key)
