"""Bring the database file up to the schema this mftrack expects, before anything reads it.

The up-to-date case costs one stdlib `sqlite3` query. Only when the schema is missing or
behind are SQLAlchemy and Alembic imported and the migrations run, in one transaction (a
failed migration leaves the old schema and data). Before upgrading an existing database it is
copied with SQLite's online backup API. A database stamped with a revision this mftrack does
not know was written by a newer mftrack and is refused untouched.
"""

from __future__ import annotations

import os
import sqlite3
from contextlib import suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mftrack.adapters.sqlite.connection import BUSY_TIMEOUT_MS, folder_error, storage_error
from mftrack.errors import StorageError

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

# Keep in step with migrations/versions (tests/test_sqlite_store.py checks it against Alembic).
KNOWN_REVISIONS: tuple[str, ...] = ("0001", "0002", "0003", "0004")
HEAD_REVISION = KNOWN_REVISIONS[-1]
MIGRATIONS_DIR = Path(__file__).with_name("migrations")
UPGRADE_WAIT_SECONDS = 120


def current_revision(path: Path) -> str | None:
    """The Alembic revision stamped in the file, or None when the file does not exist.

    mftrack never leaves an empty or unstamped file at `path` (a new database is built under
    another name and moved into place complete), so both are refused: an empty file is not a
    new database, it is a database that lost its contents (issue 9 item 8).
    """
    if not path.exists():
        return None
    if path.stat().st_size == 0:
        raise StorageError(
            f"the database {path} is an empty file (0 bytes): mftrack did not make it, so "
            "it is not treated as a new database",
            hint="if you have no data yet, delete the empty file and run the command again; "
            "otherwise restore the newest copy from the backups folder (`mftrack config paths`)",
        )
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_MS / 1000)
        try:
            row = conn.execute(
                "select name from sqlite_master where type='table' and name='alembic_version'"
            ).fetchone()
            found = None
            if row is not None:
                found = conn.execute("select version_num from alembic_version").fetchone()
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise storage_error(path, exc) from exc
    if found is None:
        if _has_no_tables(path):
            return None  # a SQLite file with nothing in it: nothing to lose, migrate it
        raise StorageError(
            f"the database {path} is a SQLite file without mftrack's schema stamp",
            hint="point MFTRACK_HOME at a folder of its own, or move this file aside",
        )
    return str(found[0])


def _has_no_tables(path: Path) -> bool:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return conn.execute("select count(*) from sqlite_master").fetchone()[0] == 0
    finally:
        conn.close()


def _table_counts(conn: sqlite3.Connection) -> dict[str, int]:
    names = [r[0] for r in conn.execute(
        "select name from sqlite_master where type = 'table' and name not like 'sqlite_%'")]
    return {name: conn.execute(f'select count(*) from "{name}"').fetchone()[0]
            for name in sorted(names)}


def backup_before_upgrade(path: Path, backup_dir: Path, revision: str) -> Path:
    """Copy the database with SQLite's online backup API and verify the copy.

    The name is unique (revision, UTC time to the microsecond, process id) and the file is
    created exclusively, so no backup ever replaces another. The copy is written under a
    `.partial` name and only renamed once `integrity_check`, its schema stamp and every
    table's row count match the original; otherwise nothing is migrated.
    """
    backup_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S-%f")
    target = backup_dir / f"mftrack-rev{revision}-{stamp}-{os.getpid()}.db"
    partial = target.with_name(target.name + ".partial")
    os.close(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    src = sqlite3.connect(path)
    dst = sqlite3.connect(partial)
    try:
        src.execute("begin")  # one snapshot for the copy and the counts it is checked against
        expected = _table_counts(src)
        src.backup(dst)
        src.rollback()
        checked = dst.execute("pragma integrity_check").fetchone()[0]
        copied = _table_counts(dst)
        stamped = dst.execute("select version_num from alembic_version").fetchone()
    finally:
        dst.close()
        src.close()
    if checked != "ok" or copied != expected or stamped != (revision,):
        partial.unlink(missing_ok=True)
        raise StorageError(
            f"the backup copy of {path} made before upgrading it did not verify "
            f"({checked}); the database was not upgraded",
            hint=f"check the disk holding {backup_dir} and run the command again",
        )
    os.link(partial, target)  # fails rather than replace an existing file
    partial.unlink()
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


def _migrate(path: Path, *, from_revision: str | None, backup: Path | None) -> None:
    engine = migration_engine(path)
    try:
        upgrade(engine)
    except Exception as exc:
        from sqlalchemy.exc import DBAPIError

        cause = exc.orig if isinstance(exc, DBAPIError) else exc
        if isinstance(cause, sqlite3.Error) and (
            getattr(cause, "sqlite_errorcode", 1) & 0xFF) != sqlite3.SQLITE_ERROR:
            raise storage_error(path, cause) from exc  # locked, full, read-only, damaged...
        if from_revision is None:
            raise
        saved = f"; the copy made before the upgrade is {backup}" if backup else ""
        raise StorageError(
            f"upgrading the database {path} from schema {from_revision} to {HEAD_REVISION} "
            f"failed ({cause}); it was left as it was{saved}",
            hint="keep using the mftrack version you had, and report this error",
        ) from exc
    finally:
        engine.dispose()


def _create(path: Path) -> None:
    """Build a new database under a temporary name and move it into place complete, so the
    file at `path` is never empty or half-made (and an empty one can be refused)."""
    # Under the upgrade lock nobody else is building: anything left by a build that was
    # killed half-way is garbage.
    for stale in path.parent.glob(f".{path.name}.new-*"):
        stale.unlink(missing_ok=True)
    building = path.with_name(f".{path.name}.new-{os.getpid()}")
    try:
        _migrate(building, from_revision=None, backup=None)
        with suppress(FileExistsError):
            os.link(building, path)  # never replaces a database another process made
    finally:
        for leftover in (building, *building.parent.glob(building.name + "-*")):
            leftover.unlink(missing_ok=True)


def _upgrade_lock(path: Path) -> Any:
    from filelock import FileLock

    lock_dir = path.parent / "locks"
    lock_dir.mkdir(parents=True, exist_ok=True)
    return FileLock(lock_dir / "upgrade.lock", timeout=UPGRADE_WAIT_SECONDS)


def prepare_database(path: Path, *, backup_dir: Path) -> None:
    """Create or migrate the database at `path` to head; refuse one from a newer mftrack.

    The up-to-date case is one stdlib query: SQLAlchemy and Alembic are imported only when
    the schema is missing or behind. Creating or upgrading happens under a file lock, once:
    processes that waited find the work done. Before an upgrade a verified backup is made.
    """
    revision = _known(path, current_revision(path))
    if revision == HEAD_REVISION:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with _upgrade_lock(path):
            revision = _known(path, current_revision(path))
            if revision == HEAD_REVISION:
                return  # another process created or upgraded it while we waited
            if revision is None and not path.exists():
                _create(path)
                return
            backup = None
            if revision is not None:
                backup = backup_before_upgrade(path, backup_dir, revision)
            _migrate(path, from_revision=revision or "(none)", backup=backup)
    except sqlite3.Error as exc:
        raise storage_error(path, exc) from exc
    except OSError as exc:
        raise folder_error(path, exc) from exc
    except Exception as exc:
        from filelock import Timeout

        if isinstance(exc, Timeout):
            raise StorageError(
                f"another mftrack process has been upgrading the database {path} for over "
                f"{UPGRADE_WAIT_SECONDS} s",
                hint="wait for it to finish and run the command again",
            ) from exc
        raise


def _known(path: Path, revision: str | None) -> str | None:
    if revision is not None and revision not in KNOWN_REVISIONS:
        raise StorageError(
            f"the database {path} was written by a newer mftrack (schema {revision})",
            hint="upgrade mftrack (pip install -U mftrack), or point MFTRACK_HOME elsewhere",
        )
    return revision
