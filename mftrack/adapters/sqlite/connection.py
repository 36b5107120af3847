"""Connections to the local database through the stdlib `sqlite3` driver, and the one place
that turns the driver's errors into `StorageError`s with their true cause.

Every read and write of mftrack's data uses these connections (see docs/architecture.md,
"Database access"); only the migrations (`migrate.py`) go through SQLAlchemy and Alembic.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from mftrack.errors import StorageError

BUSY_TIMEOUT_MS = 10_000


def _pragmas(conn: sqlite3.Connection, *, write: bool) -> None:
    # busy_timeout makes a second writer queue instead of failing with "database is locked";
    # WAL (set once, when the database is created) lets the daemon write while the CLI reads.
    conn.execute(f"pragma busy_timeout={BUSY_TIMEOUT_MS}")
    if write:
        conn.execute("pragma synchronous=normal")
        conn.execute("pragma foreign_keys=on")
    else:
        conn.execute("pragma query_only=on")


def connect(path: Path, *, write: bool) -> sqlite3.Connection:
    """A connection in autocommit mode: transactions are explicit (`BEGIN IMMEDIATE`)."""
    try:
        conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                               check_same_thread=False)
        try:
            _pragmas(conn, write=write)
        except BaseException:
            conn.close()
            raise
    except sqlite3.Error as exc:
        raise storage_error(path, exc) from exc
    return conn


@contextmanager
def reading(path: Path) -> Iterator[sqlite3.Connection]:
    """A read-only connection for the queries of one call; driver errors become StorageError."""
    conn = connect(path, write=False)
    try:
        yield conn
    except sqlite3.Error as exc:
        raise storage_error(path, exc) from exc
    finally:
        conn.close()


@contextmanager
def transaction(path: Path) -> Iterator[sqlite3.Connection]:
    """One write transaction. BEGIN IMMEDIATE takes the write lock up front, so concurrent
    writers queue on the busy timeout instead of failing half-way."""
    conn = connect(path, write=True)
    try:
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
            conn.execute("COMMIT")
        except BaseException:
            # SQLite has already rolled back on some errors (SQLITE_FULL, SQLITE_IOERR): a
            # second ROLLBACK would fail with "no transaction is active" and hide the cause.
            if conn.in_transaction:
                with suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
            raise
    except sqlite3.Error as exc:
        raise storage_error(path, exc) from exc
    finally:
        conn.close()


def _read_only_fs(folder: Path) -> bool:
    try:
        return bool(os.statvfs(folder).f_flag & os.ST_RDONLY)
    except OSError:
        return False


def storage_error(path: Path, exc: BaseException) -> StorageError:
    """The StorageError for a driver error: its true cause, and a hint that is safe to follow.

    Only a damaged file gets the backups hint: for every other cause restoring a copy would
    throw away newer data and fix nothing.
    """
    code = getattr(exc, "sqlite_errorcode", None)
    primary = code & 0xFF if isinstance(code, int) else None
    text = str(exc)
    folder = path.parent
    if primary in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED) or "locked" in text:
        return StorageError(
            f"the database {path} is locked by another process",
            hint="wait for the other mftrack command (or the daemon's job) to finish and retry",
        )
    if primary in (sqlite3.SQLITE_READONLY, sqlite3.SQLITE_CANTOPEN) and _read_only_fs(folder):
        return StorageError(
            f"{folder} is on a read-only file system; mftrack cannot write its database there",
            hint="remount that file system read-write, or point MFTRACK_HOME at a writable "
            "folder",
        )
    if primary == sqlite3.SQLITE_READONLY:
        return StorageError(
            f"the database {path} is read-only: mftrack cannot write to it or to {folder}",
            hint=f"make {path} and {folder} writable by you (an immutable file or "
            "permissions), or point MFTRACK_HOME at a writable folder",
        )
    if primary == sqlite3.SQLITE_FULL:
        return StorageError(
            f"the disk holding {path} is full; nothing was written",
            hint="free some space on that disk and run the command again; "
            "your data is unchanged",
        )
    if primary in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB):
        return StorageError(
            f"the database {path} is damaged ({text})",
            hint="move the damaged file aside and restore the newest copy from the backups "
            "folder (`mftrack config paths`), if there is one",
        )
    if primary in (sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_PERM, sqlite3.SQLITE_AUTH):
        return StorageError(
            f"cannot open the database {path}: the file or {folder} is not accessible",
            hint=f"check that {folder} exists and that you may read and write it, "
            "or point MFTRACK_HOME at a folder you own",
        )
    if primary == sqlite3.SQLITE_IOERR:
        return StorageError(
            f"a disk error occurred while using the database {path} ({text})",
            hint="check the disk and its free space (`df`, the system log); your last change "
            "may not have been saved",
        )
    return StorageError(
        f"the database {path} could not be used: {text}",
        hint="re-run with --debug for details",
    )


def folder_error(path: Path, exc: OSError) -> StorageError:
    """The StorageError for a failure to create or write the database's folder or files."""
    import errno

    where = Path(exc.filename) if exc.filename else path.parent
    if exc.errno == errno.ENOSPC:
        return StorageError(
            f"the disk holding {where} is full; nothing was written",
            hint="free some space on that disk and run the command again; "
            "your data is unchanged",
        )
    if exc.errno == errno.EROFS:
        return StorageError(
            f"{where} is on a read-only file system; mftrack cannot write its database there",
            hint="point MFTRACK_HOME at a writable folder, or remount that file system "
            "read-write",
        )
    if exc.errno in (errno.EACCES, errno.EPERM):
        return StorageError(
            f"permission denied: mftrack cannot create or write {where}",
            hint=f"fix the permissions of {where} (it must be yours and writable), "
            "or point MFTRACK_HOME at a folder you own",
        )
    if exc.errno in (errno.ENOTDIR, errno.EEXIST, errno.EISDIR):
        return StorageError(
            f"{where} is in the way: a file stands where mftrack needs a folder (or the "
            "other way round)",
            hint="move it aside, or point MFTRACK_HOME at another folder",
        )
    return StorageError(
        f"mftrack cannot use {where}: {exc.strerror or exc}",
        hint="re-run with --debug for details",
    )
