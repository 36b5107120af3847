"""Has the database changed? SQLite's own change counter, read cheaply and often.

`PRAGMA data_version` on one long-lived connection returns a number that changes whenever
another connection (this process or any other: the CLI, the daemon, sync) commits to the file,
WAL mode included (https://sqlite.org/pragma.html#pragma_data_version). Reading it costs a
few microseconds and takes no lock, so `mftrack serve` can ask on every request (to keep its
summary cache honest) and twice a second (to push live updates) without polling the data.
The file header's change counter is not used: in WAL mode it moves only at checkpoints.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from mftrack.adapters.sqlite.connection import connect, storage_error


class ChangeCounter:
    """A dedicated read connection whose `version()` moves when anyone commits to the file."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._conn = connect(path, write=False)
        self._lock = threading.Lock()  # one connection, shared by the server's threads

    def version(self) -> int:
        try:
            with self._lock:
                return int(self._conn.execute("pragma data_version").fetchone()[0])
        except sqlite3.Error as exc:
            raise storage_error(self._path, exc) from exc

    def close(self) -> None:
        with self._lock:
            self._conn.close()
