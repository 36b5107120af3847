"""Database plumbing for the stand-in: throwaway databases, bootstrap, migrations, pools."""

from __future__ import annotations

import contextlib
import logging
import os
import re
import secrets
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

log = logging.getLogger("tests.standin")

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[1]
BOOTSTRAP_SQL = HERE / "bootstrap.sql"
MIGRATIONS_DIR = REPO_ROOT / "supabase" / "migrations"

#: The maintenance database used to create and drop throwaway databases.
DEFAULT_ADMIN_URL = os.environ.get(
    "MFTRACK_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)

_MIGRATION_NAME = re.compile(r"^(?P<version>[^_]+)_(?P<name>.+)\.sql$")


def conninfo_with(url: str, **changes: Any) -> str:
    """The connection string ``url`` with some of its parameters replaced."""
    params = conninfo_to_dict(url)
    params.update(changes)
    return make_conninfo(**{k: v for k, v in params.items() if v is not None})


def database_name(url: str) -> str:
    return str(conninfo_to_dict(url).get("dbname") or "postgres")


def url_for_database(admin_url: str, dbname: str) -> str:
    """A ``postgresql://`` URL like ``admin_url`` but for another database (for printing)."""
    params = conninfo_to_dict(admin_url)
    user = params.get("user", "postgres")
    password = params.get("password")
    host = params.get("host", "127.0.0.1")
    port = params.get("port", "5432")
    auth = f"{user}:{password}@" if password else f"{user}@"
    return f"postgresql://{auth}{host}:{port}/{dbname}"


def check_server(admin_url: str = DEFAULT_ADMIN_URL, timeout: float = 3.0) -> str | None:
    """None if PostgreSQL answers at ``admin_url``, else the reason it does not."""
    try:
        with psycopg.connect(admin_url, connect_timeout=max(1, int(timeout))) as conn:
            conn.execute("select 1")
    except psycopg.Error as exc:
        return str(exc).strip() or exc.__class__.__name__
    return None


def create_database(admin_url: str = DEFAULT_ADMIN_URL, prefix: str = "mftrack_test_") -> str:
    """Create an empty database named ``<prefix><random>``; returns its URL."""
    name = f"{prefix}{secrets.token_hex(6)}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    return url_for_database(admin_url, name)


def drop_database(database_url: str, admin_url: str = DEFAULT_ADMIN_URL) -> None:
    name = database_name(database_url)
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name))
        )


def drop_stale_databases(admin_url: str = DEFAULT_ADMIN_URL, prefix: str = "mftrack_test_",
                         older_than: float = 12 * 3600) -> list[str]:
    """Drop ``<prefix>*`` databases left behind by killed test runs: nobody connected, and
    created more than ``older_than`` seconds ago. Best effort (needs a superuser)."""
    dropped: list[str] = []
    pattern = prefix.replace("_", r"\_") + "%"
    try:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            rows = conn.execute(
                """
                select d.datname from pg_database d
                where d.datname like %s
                  and not exists (select 1 from pg_stat_activity a where a.datname = d.datname)
                  and (pg_stat_file('base/' || d.oid || '/PG_VERSION')).modification
                      < now() - make_interval(secs => %s)
                """,
                [pattern, older_than],
            ).fetchall()
            for (name,) in rows:
                conn.execute(sql.SQL("drop database if exists {} with (force)")
                             .format(sql.Identifier(name)))
                dropped.append(name)
    except psycopg.Error as exc:
        log.debug("could not drop stale test databases: %s", exc)
    return dropped


def apply_bootstrap(database_url: str, path: Path = BOOTSTRAP_SQL) -> None:
    """Run bootstrap.sql. Roles are cluster-wide, so two test runs starting together may race
    on ``create role``; the script is idempotent, so a failed attempt is simply retried."""
    script = path.read_text(encoding="utf-8")
    for attempt in range(5):
        try:
            with psycopg.connect(database_url, autocommit=True) as conn, conn.transaction():
                conn.execute(script)
            return
        except (psycopg.errors.UniqueViolation, psycopg.errors.DuplicateObject,
                psycopg.errors.InternalError_, psycopg.errors.SerializationFailure):
            if attempt == 4:
                raise
            time.sleep(0.2 * (attempt + 1))


def migration_files(directory: Path = MIGRATIONS_DIR) -> list[Path]:
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.iterdir() if p.suffix == ".sql" and p.is_file())


def apply_migrations(database_url: str, directory: Path = MIGRATIONS_DIR) -> list[str]:
    """Apply, in name order, the files of ``directory`` not yet recorded in
    ``supabase_migrations.schema_migrations`` (the Supabase CLI's bookkeeping table). Each
    file runs in its own transaction. Returns the file names applied."""
    applied: list[str] = []
    files = migration_files(directory)
    if not files:
        return applied
    with psycopg.connect(database_url, autocommit=True) as conn:
        done = {
            row[0]
            for row in conn.execute("select version from supabase_migrations.schema_migrations")
        }
        for path in files:
            match = _MIGRATION_NAME.match(path.name)
            version, name = (match["version"], match["name"]) if match else (path.stem, "")
            if version in done:
                continue
            script = path.read_text(encoding="utf-8")
            try:
                with conn.transaction():
                    conn.execute(script)
                    conn.execute(
                        "insert into supabase_migrations.schema_migrations"
                        " (version, name, statements) values (%s, %s, %s)",
                        [version, name, [script]],
                    )
            except psycopg.Error as exc:
                raise RuntimeError(f"migration {path.name} failed: {exc}") from exc
            applied.append(path.name)
    return applied


# --------------------------------------------------------------------------------------------
# Connection pools
# --------------------------------------------------------------------------------------------


class PoolTimeout(Exception):
    """No connection became free in time."""


class _SimplePool:
    """A small thread-safe pool, used when psycopg_pool is not installed."""

    def __init__(self, conninfo: str, *, min_size: int, max_size: int, name: str) -> None:
        self.conninfo = conninfo
        self.max_size = max_size
        self.name = name
        self._idle: list[psycopg.Connection] = []
        self._count = 0
        self._closed = False
        self._cond = threading.Condition()
        for _ in range(min_size):
            conn = self._connect()
            self._idle.append(conn)
            self._count += 1

    def _connect(self) -> psycopg.Connection:
        return psycopg.connect(self.conninfo, autocommit=True)

    def _acquire(self, timeout: float) -> psycopg.Connection:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                if self._closed:
                    raise PoolTimeout(f"pool {self.name} is closed")
                while self._idle:
                    conn = self._idle.pop()
                    if not conn.closed:
                        return conn
                    self._count -= 1
                if self._count < self.max_size:
                    self._count += 1
                    break
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise PoolTimeout(f"couldn't get a connection after {timeout:.2f} sec")
                self._cond.wait(remaining)
        try:
            return self._connect()
        except BaseException:
            with self._cond:
                self._count -= 1
                self._cond.notify()
            raise

    def _release(self, conn: psycopg.Connection) -> None:
        healthy = not conn.closed and not conn.broken
        if healthy and conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
            try:
                conn.rollback()
            except psycopg.Error:
                healthy = False
        with self._cond:
            if healthy and not self._closed:
                self._idle.append(conn)
            else:
                self._count -= 1
                with contextlib.suppress(Exception):
                    conn.close()
            self._cond.notify()

    @contextlib.contextmanager
    def connection(self, timeout: float = 30.0) -> Iterator[psycopg.Connection]:
        conn = self._acquire(timeout)
        try:
            yield conn
        finally:
            self._release(conn)

    def close(self) -> None:
        with self._cond:
            self._closed = True
            idle, self._idle = self._idle, []
            self._cond.notify_all()
        for conn in idle:
            with contextlib.suppress(Exception):
                conn.close()


class Pool:
    """``psycopg_pool.ConnectionPool`` when available, else :class:`_SimplePool`. Connections
    are in autocommit mode; callers send BEGIN/COMMIT themselves."""

    def __init__(self, conninfo: str, *, min_size: int = 1, max_size: int = 10,
                 name: str = "standin") -> None:
        self.name = name
        self.max_size = max_size
        try:
            from psycopg_pool import ConnectionPool
        except ImportError:
            ConnectionPool = None
        if ConnectionPool is not None:
            self.kind = "psycopg_pool"
            self._pool: Any = ConnectionPool(
                conninfo,
                min_size=min_size,
                max_size=max_size,
                kwargs={"autocommit": True},
                name=name,
                open=True,
                timeout=30.0,
            )
            self._pool.wait(timeout=30.0)
        else:
            self.kind = "simple"
            self._pool = _SimplePool(conninfo, min_size=min_size, max_size=max_size, name=name)

    @contextlib.contextmanager
    def connection(self, timeout: float = 30.0) -> Iterator[psycopg.Connection]:
        if self.kind == "psycopg_pool":
            from psycopg_pool import PoolTimeout as _PT

            try:
                cm = self._pool.connection(timeout=timeout)
                conn = cm.__enter__()
            except _PT as exc:
                raise PoolTimeout(str(exc)) from exc
            try:
                yield conn
            except BaseException as exc:
                if not cm.__exit__(type(exc), exc, exc.__traceback__):
                    raise
            else:
                cm.__exit__(None, None, None)
        else:
            with self._pool.connection(timeout=timeout) as conn:
                yield conn

    def close(self) -> None:
        self._pool.close()
