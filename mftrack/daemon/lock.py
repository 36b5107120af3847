"""One daemon per data folder: an OS file lock (filelock) in `<data>/locks/daemon.lock`.

The lock is released by the OS when the process ends, however it ends, so a crashed daemon never
leaves a stale lock behind. The pid beside it is only for messages.
"""

from __future__ import annotations

import os
from pathlib import Path
from types import TracebackType

from filelock import FileLock, Timeout

from mftrack.config import Paths
from mftrack.errors import BusyError


def _lock_path(paths: Paths) -> Path:
    return paths.lock_dir / "daemon.lock"


def _pid_path(paths: Paths) -> Path:
    return paths.lock_dir / "daemon.pid"


def _recorded_pid(paths: Paths) -> int | None:
    try:
        return int(_pid_path(paths).read_text(encoding="ascii").strip())
    except (OSError, ValueError):
        return None


class DaemonLock:
    """Held for the daemon's lifetime; `acquire` raises BusyError if another daemon holds it."""

    def __init__(self, paths: Paths) -> None:
        self.paths = paths
        paths.lock_dir.mkdir(parents=True, exist_ok=True)
        self._lock = FileLock(_lock_path(paths), timeout=0)

    def acquire(self) -> None:
        try:
            self._lock.acquire()
        except Timeout:
            pid = _recorded_pid(self.paths)
            who = f" (pid {pid})" if pid else ""
            raise BusyError(
                f"another mftrack daemon is already running for {self.paths.data_dir}{who}",
                hint="stop it first; `mftrack daemon status` shows what it is doing",
            ) from None
        _pid_path(self.paths).write_text(f"{os.getpid()}\n", encoding="ascii")

    def release(self) -> None:
        if self._lock.is_locked:
            _pid_path(self.paths).unlink(missing_ok=True)
            self._lock.release()

    def __enter__(self) -> DaemonLock:
        self.acquire()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()


def running_daemon_pid(paths: Paths) -> int | None:
    """The pid of the daemon running for `paths` (0 if its pid is unknown), None if none is."""
    if not _lock_path(paths).exists():
        return None
    probe = FileLock(_lock_path(paths), timeout=0)
    try:
        probe.acquire()
    except Timeout:
        return _recorded_pid(paths) or 0
    probe.release()
    return None
