"""Bring the database file up to the schema this mftrack expects, before anything reads it.

The up-to-date case costs one stdlib `sqlite3` query. Only when the schema is missing or
behind are SQLAlchemy and Alembic imported and the migrations run, in one transaction (a
failed migration leaves the old schema and data). Before upgrading an existing database it is
copied with SQLite's online backup API. A database stamped with a revision this mftrack does
not know was written by a newer mftrack and is refused untouched.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from mftrack.adapters.sqlite.connection import BUSY_TIMEOUT_MS, storage_error
from mftrack.errors import StorageError

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

# Keep in step with migrations/versions (tests/test_sqlite_store.py checks it against Alembic).
KNOWN_REVISIONS: tuple[str, ...] = ("0001", "0002")
HEAD_REVISION = KNOWN_REVISIONS[-1]
MIGRATIONS_DIR = Path(__file__).with_name("migrations")


def current_revision(path: Path) -> str | None:
    """The Alembic revision stamped in the file, or None for a new/empty database."""
    if not path.exists() or path.stat().st_size == 0:
        return None
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_MS / 1000)
        try:
            row = conn.execute(
                "select name from sqlite_master where type='table' and name='alembic_version'"
            ).fetchone()
            if row is None:
                return None
            found = conn.execute("select version_num from alembic_version").fetchone()
            return found[0] if found else None
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise storage_error(path, exc) from exc


def _backup(path: Path, backup_dir: Path, revision: str) -> Path:
    backup_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    target = backup_dir / f"mftrack-{stamp}-rev{revision}.db"
    src = sqlite3.connect(path)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()
    return target


def migration_engine(path: Path) -> Engine:
    """A SQLAlchemy engine for Alembic only; mftrack's own queries never use it."""
    from sqlalchemy import create_engine, event

    engine = create_engine(
        f"sqlite:///{path}",
        connect_args={"timeout": BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
    )

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn, _record):  # type: ignore[no-untyped-def]
        # Transactions are explicit (one BEGIN IMMEDIATE around the whole upgrade).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("pragma journal_mode=wal")  # persistent: set once, kept in the file
        cur.execute(f"pragma busy_timeout={BUSY_TIMEOUT_MS}")
        cur.close()

    return engine


def upgrade(engine: Engine, target: str = "head") -> None:
    """Run the migrations up to `target` in one transaction."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.connect() as conn:
        # One transaction for the whole upgrade: a failed migration leaves the old schema.
        conn.exec_driver_sql("BEGIN IMMEDIATE")
        config.attributes["connection"] = conn
        try:
            command.upgrade(config, target)
        except BaseException:
            conn.exec_driver_sql("ROLLBACK")
            raise
        conn.exec_driver_sql("COMMIT")


def prepare_database(path: Path, *, backup_dir: Path) -> None:
    """Create or migrate the database at `path` to head; refuse one from a newer mftrack.

    The up-to-date case is one stdlib query: SQLAlchemy and Alembic are imported only when
    the schema is missing or behind (a backup copy is made before an upgrade).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    revision = current_revision(path)
    if revision == HEAD_REVISION:
        return
    if revision is not None and revision not in KNOWN_REVISIONS:
        raise StorageError(
            f"the database {path} was written by a newer mftrack (schema {revision})",
            hint="upgrade mftrack (pip install -U mftrack), or point MFTRACK_HOME elsewhere",
        )
    engine = migration_engine(path)
    try:
        if revision is not None:
            _backup(path, backup_dir, revision)
        upgrade(engine)
    except Exception as exc:
        from sqlalchemy.exc import DBAPIError

        if isinstance(exc, DBAPIError) and isinstance(exc.orig, sqlite3.Error):
            raise storage_error(path, exc.orig) from exc
        if isinstance(exc, sqlite3.Error):
            raise storage_error(path, exc) from exc
        raise
    finally:
        engine.dispose()
