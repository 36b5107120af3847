"""The server's memory of the database: a cache that empties when the file changes, and a feed
that tells open pages about changes.

Both key off SQLite's change counter (`adapters/sqlite/changes.py`), never a timer: a write by
this server, another terminal's `add-sip`, the daemon's NAVs or a sync pull all move it.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from mftrack.adapters.sqlite.changes import ChangeCounter
from mftrack.errors import StorageError

log = logging.getLogger(__name__)

T = TypeVar("T")
WATCH_INTERVAL = 0.25  # seconds between two looks at the change counter (a few µs each)


class VersionedCache:
    """Results keyed by their inputs, valid while the database's change counter stands still."""

    def __init__(self, counter: ChangeCounter) -> None:
        self._counter = counter
        self._lock = threading.Lock()
        self._version: int | None = None
        self._items: dict[Hashable, Any] = {}
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable, compute: Callable[[], T]) -> T:
        # The version is read BEFORE computing: a write that lands during the computation
        # moves the counter, so the next call recomputes (a result is never newer-labelled).
        version = self._counter.version()
        with self._lock:
            if version != self._version:
                self._items.clear()
                self._version = version
            if key in self._items:
                self.hits += 1
                return self._items[key]  # type: ignore[no-any-return]
        value = compute()
        with self._lock:
            self.misses += 1
            if self._version == version:
                self._items[key] = value
        return value


class ChangeFeed:
    """Watches the change counter and wakes every subscriber (one queue per open page)."""

    def __init__(self, counter: ChangeCounter, *, interval: float = WATCH_INTERVAL) -> None:
        self._counter = counter
        self._interval = interval
        self._queues: set[asyncio.Queue[int]] = set()
        self.version = counter.version()

    def subscribe(self) -> asyncio.Queue[int]:
        queue: asyncio.Queue[int] = asyncio.Queue(maxsize=1)
        self._queues.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[int]) -> None:
        self._queues.discard(queue)

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                version = self._counter.version()
            except StorageError as exc:  # a busy or vanished file: say so, keep watching
                log.warning("cannot read the database change counter: %s", exc)
                continue
            if version == self.version:
                continue
            self.version = version
            for queue in list(self._queues):
                if queue.full():  # the page has not read the last news yet: newer replaces it
                    queue.get_nowait()
                queue.put_nowait(version)
