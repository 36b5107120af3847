"""The daemon's loop: run the jobs that are due, record the outcome, sleep until the next one.

Everything that touches time is injected: `clock()` gives the current aware datetime, `sleep`
waits (the daemon passes `stop.wait`, so SIGTERM cuts a sleep short; tests pass a fake that
advances a fake clock), and `stop` ends the loop. A failing job is retried with exponential
backoff (capped per job), its `consecutive_failures` are recorded and logged at WARNING, and
at ERROR from the third failure in a row.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

from mftrack.errors import MftrackError

Status = Literal["ok", "skipped", "error"]
log = logging.getLogger("mftrack.daemon")
ERROR_AFTER = 3  # failures in a row before the log says ERROR instead of WARNING
MAX_SLEEP = 60.0  # seconds; a monotonic wait does not count a suspended laptop's sleep


@dataclass(frozen=True, slots=True)
class JobResult:
    """What one run of a job did; `run_next` names jobs to run straight after it."""

    status: Status
    message: str
    run_next: tuple[str, ...] = ()
    quiet: bool = False  # log at DEBUG (e.g. sync skipped because nobody is logged in)


class Job(Protocol):
    """A unit of scheduled work. `run` may raise; the runner turns that into a failure."""

    name: str

    def first_run(self, now: datetime) -> datetime: ...

    def run(self, now: datetime) -> JobResult: ...

    def next_run(self, now: datetime) -> datetime:
        """When to run again after a run that did not fail."""
        ...

    def retry_at(self, now: datetime, failures: int) -> datetime:
        """When to try again after `failures` failed runs in a row (backoff)."""
        ...


class JobState(Protocol):
    """Where the runner records job outcomes (`state.JobRunStore` over the database)."""

    def failures(self) -> dict[str, int]: ...

    def scheduled(self, job: str, next_run: datetime) -> None: ...

    def started(self, job: str, at: datetime) -> None: ...

    def finished(
        self, job: str, *, at: datetime, result: JobResult, next_run: datetime, failures: int
    ) -> None: ...


class JobAbandoned(Exception):
    """The stop event was set and the job in hand did not finish within the grace period."""


Execute = Callable[[Callable[[], JobResult]], JobResult]


def run_inline(work: Callable[[], JobResult]) -> JobResult:
    return work()


def run_in_worker(stop: threading.Event, *, grace: float = 1.5) -> Execute:
    """Run each job in a daemon thread so that a stop request is honoured within `grace`
    seconds even while the job waits on the network or a busy database. An abandoned job's
    writes are lost, never half-done: every write is one transaction, and the uncommitted
    transaction of an exiting process is rolled back by SQLite."""

    def execute(work: Callable[[], JobResult]) -> JobResult:
        box: dict[str, JobResult | BaseException] = {}

        def target() -> None:
            try:
                box["result"] = work()
            except BaseException as exc:
                box["error"] = exc

        thread = threading.Thread(target=target, name="mftrack-job", daemon=True)
        thread.start()
        while thread.is_alive():
            if stop.wait(0.05):
                thread.join(grace)
                if thread.is_alive():
                    raise JobAbandoned
        if "error" in box:
            raise box["error"]  # type: ignore[misc]
        return box["result"]  # type: ignore[return-value]

    return execute


class Runner:
    """Runs `jobs` until `stop` is set. See the module docstring."""

    def __init__(
        self,
        jobs: Sequence[Job],
        *,
        state: JobState,
        clock: Callable[[], datetime],
        sleep: Callable[[float], object],
        stop: threading.Event,
        execute: Execute = run_inline,
        max_sleep: float = MAX_SLEEP,
    ) -> None:
        self.jobs = list(jobs)
        self.state = state
        self.clock = clock
        self.sleep = sleep
        self.stop = stop
        self.execute = execute
        self.max_sleep = max_sleep
        self.next_runs: dict[str, datetime] = {}
        self.failures: dict[str, int] = {}

    def start(self) -> None:
        """Plan every job's first run and record it (so `daemon status` shows it)."""
        now = self.clock()
        self.failures = {job.name: 0 for job in self.jobs}
        self.failures.update(self._safe(self.state.failures) or {})
        for job in self.jobs:
            first = self.next_runs[job.name] = job.first_run(now)
            self._safe(self.state.scheduled, job.name, first)
            log.info("%s: first run at %s", job.name, f"{first:%Y-%m-%d %H:%M%z}")

    def run(self) -> None:
        """Loop until `stop` is set; returns after the job in hand (or abandons it)."""
        self.start()
        while not self.stop.is_set():
            self.tick()
            if self.stop.is_set():
                break
            delay = (min(self.next_runs.values()) - self.clock()).total_seconds()
            if delay > 0:
                self.sleep(min(delay, self.max_sleep))

    def tick(self) -> int:
        """Run every job that is due now, earliest first; returns how many ran."""
        now = self.clock()
        due = sorted(
            (at, i) for i, job in enumerate(self.jobs) if (at := self.next_runs[job.name]) <= now
        )
        ran = 0
        for _, i in due:
            if self.stop.is_set():
                break
            self._run_one(self.jobs[i])
            ran += 1
        return ran

    def _run_one(self, job: Job) -> None:
        job_log = logging.getLogger(f"mftrack.daemon.{job.name}")  # component daemon.<job>
        started = self.clock()
        self._safe(self.state.started, job.name, started)
        try:
            result = self.execute(lambda: job.run(started))
        except JobAbandoned:
            job_log.warning("stopping: abandoned in mid-run (its unfinished writes roll back)")
            raise
        except MftrackError as exc:
            result = JobResult("error", exc.message)
        except Exception as exc:
            job_log.exception("crashed")
            result = JobResult("error", f"unexpected {type(exc).__name__}: {exc}")
        finished = self.clock()
        if result.status == "error":
            failures = self.failures.get(job.name, 0) + 1
            next_run = job.retry_at(finished, failures)
            level = logging.ERROR if failures >= ERROR_AFTER else logging.WARNING
            job_log.log(
                level,
                "failed (%d in a row): %s; retrying at %s",
                failures,
                result.message,
                f"{next_run:%Y-%m-%d %H:%M:%S%z}",
            )
        else:
            failures = 0
            next_run = job.next_run(finished)
            level = logging.DEBUG if result.quiet else logging.INFO
            job_log.log(
                level,
                "%s: %s; next run %s",
                result.status,
                result.message,
                f"{next_run:%Y-%m-%d %H:%M:%S%z}",
            )
        self.failures[job.name] = failures
        self.next_runs[job.name] = next_run
        for name in result.run_next:
            if name in self.next_runs and self.next_runs[name] > finished:
                self.next_runs[name] = finished
                self._safe(self.state.scheduled, name, finished)
        self._safe(
            self.state.finished,
            job.name,
            at=finished,
            result=result,
            next_run=next_run,
            failures=failures,
        )

    @staticmethod
    def _safe(action: Callable[..., object], *args: object, **kwargs: object) -> object:
        """Record-keeping must never stop the loop (the database may be busy for a while)."""
        try:
            return action(*args, **kwargs)
        except MftrackError as exc:
            log.warning("could not record job state: %s", exc.message)
            return None
