"""Shared by the daemon tests (no tests of its own): a fake clock driven by the runner's
sleeps, and the real job-run store that also remembers every run for assertions."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timedelta

from mftrack.adapters.sqlite.store import LocalStore
from mftrack.daemon.runner import JobResult
from mftrack.daemon.schedule import IST
from mftrack.daemon.state import JobRunStore

START = datetime(2025, 12, 11, 12, 0, tzinfo=IST)


class FakeClock:
    """`now()` and a `sleep(seconds)` that advances time and records the request."""

    def __init__(self, start: datetime = START) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def __call__(self) -> datetime:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += timedelta(seconds=seconds)


def stop_after(clock: FakeClock, stop: threading.Event, until: datetime) -> Callable[[float], None]:
    """A sleep for the runner: advances `clock`, and sets `stop` once `until` is reached."""

    def sleep(seconds: float) -> None:
        clock.sleep(seconds)
        if clock.now >= until:
            stop.set()

    return sleep


class RecordingState(JobRunStore):
    """The real `job_runs` store over a real database; it also keeps every start and finished
    run, which the table itself overwrites."""

    def __init__(self, store: LocalStore) -> None:
        super().__init__(store)
        self.starts: list[tuple[str, datetime]] = []
        self.runs: list[tuple[datetime, str, JobResult, int]] = []

    def started(self, job: str, at: datetime) -> None:
        self.starts.append((job, at))
        super().started(job, at)

    def finished(
        self, job: str, *, at: datetime, result: JobResult, next_run: datetime, failures: int
    ) -> None:
        self.runs.append((at, job, result, failures))
        super().finished(job, at=at, result=result, next_run=next_run, failures=failures)

    def of(self, job: str) -> list[tuple[datetime, JobResult, int]]:
        return [
            (when, result, failures) for when, name, result, failures in self.runs if name == job
        ]

    def history(self) -> list[tuple[str, str, int]]:
        return [(job, result.status, failures) for _, job, result, failures in self.runs]
