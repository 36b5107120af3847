"""The runner loop, driven by a fake clock and a recording sleep (no real sleeping)."""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from mftrack.adapters.sqlite.store import LocalStore
from mftrack.daemon.runner import JobAbandoned, JobResult, Runner, run_in_worker
from mftrack.daemon.schedule import backoff
from mftrack.daemon.state import JobRunStore, read_job_runs
from mftrack.errors import NetworkError
from tests.daemon_support import START, FakeClock, RecordingState, stop_after

MINUTE = timedelta(minutes=1)


@dataclass
class ScriptedJob:
    """Runs `every` apart; `script` gives each run's outcome (an exception is raised)."""

    name: str
    script: list[JobResult | Exception]
    every: timedelta = 10 * MINUTE
    runs: list[datetime] = field(default_factory=list)
    on_run: Callable[[], None] | None = None

    def first_run(self, now: datetime) -> datetime:
        return now

    def next_run(self, now: datetime) -> datetime:
        return now + self.every

    def retry_at(self, now: datetime, failures: int) -> datetime:
        return now + backoff(failures, base=MINUTE, cap=8 * MINUTE)

    def run(self, now: datetime) -> JobResult:
        self.runs.append(now)
        if self.on_run:
            self.on_run()
        outcome = self.script[min(len(self.runs) - 1, len(self.script) - 1)]
        if isinstance(outcome, Exception):
            raise outcome
        return outcome


@pytest.fixture
def store(tmp_path: Path) -> Iterator[LocalStore]:
    real = LocalStore(tmp_path / "mftrack.db", backup_dir=tmp_path / "backups")
    yield real
    real.close()


def make_runner(jobs: list[ScriptedJob], until: datetime, store: LocalStore, **kwargs: object):  # type: ignore[no-untyped-def]
    clock, stop, state = FakeClock(), threading.Event(), RecordingState(store)
    runner = Runner(
        jobs, state=state, clock=clock, sleep=stop_after(clock, stop, until), stop=stop, **kwargs
    )  # type: ignore[arg-type]
    return runner, clock, stop, state


OK = JobResult("ok", "done")


def test_failures_back_off_exponentially_then_reset(
    caplog: pytest.LogCaptureFixture, store: LocalStore
) -> None:
    flaky = ScriptedJob("nav_pull", [NetworkError("HTTP 500")] * 4 + [OK])
    runner, _, _, state = make_runner([flaky], START + 40 * MINUTE, store)
    with caplog.at_level(logging.INFO, logger="mftrack"):
        runner.run()
    gaps = [(b - a) / MINUTE for a, b in zip(flaky.runs, flaky.runs[1:], strict=False)]
    assert gaps[:5] == [1, 2, 4, 8, 10]  # backoff 1, 2, 4, 8 min; then the normal 10 min
    assert [f for job, _, f in state.history()][:5] == [1, 2, 3, 4, 0]
    levels = [r.levelname for r in caplog.records if "failed" in r.getMessage()]
    assert levels == ["WARNING", "WARNING", "ERROR", "ERROR"]  # ERROR from the 3rd in a row
    assert all(r.name == "mftrack.daemon.nav_pull" for r in caplog.records if "failed" in r.msg)


def test_an_unexpected_exception_is_a_failure_and_the_loop_goes_on(
    caplog: pytest.LogCaptureFixture, store: LocalStore
) -> None:
    buggy = ScriptedJob("sync", [ZeroDivisionError("boom"), OK])
    other = ScriptedJob("log_retention", [OK], every=5 * MINUTE)
    runner, _, _, state = make_runner([buggy, other], START + 20 * MINUTE, store)
    with caplog.at_level(logging.INFO, logger="mftrack"):
        runner.run()
    assert state.history()[0] == ("sync", "error", 1)
    row = next(r for r in read_job_runs(store) if r.job == "sync")
    assert (row.last_result, row.last_message) == ("ok", "done")
    assert len(other.runs) >= 4
    crash = next(r for r in caplog.records if r.getMessage() == "crashed")
    assert crash.exc_info is not None  # the traceback goes to the log


def test_stop_ends_the_loop_without_another_sleep(store: LocalStore) -> None:
    stop_holder: list[threading.Event] = []
    job = ScriptedJob("nav_pull", [OK], on_run=lambda: stop_holder[0].set())
    runner, clock, stop, _ = make_runner([job], START + timedelta(days=1), store)
    stop_holder.append(stop)
    runner.run()
    assert len(job.runs) == 1
    assert clock.sleeps == []


def test_a_job_can_ask_for_another_to_run_now(store: LocalStore) -> None:
    history = ScriptedJob("sip_history", [OK], every=timedelta(days=1))
    pull = ScriptedJob(
        "nav_pull", [JobResult("ok", "new NAVs", run_next=("sip_history",))], every=20 * MINUTE
    )
    runner, _, _, _ = make_runner([pull, history], START + 30 * MINUTE, store)
    runner.run()
    # once at start (already due when the first pull asked), then straight after the next pull
    # instead of a day later
    assert history.runs == [START, START + 20 * MINUTE]


def test_sleeps_are_capped_so_a_suspended_machine_catches_up(store: LocalStore) -> None:
    job = ScriptedJob("sip_history", [OK], every=timedelta(hours=2))
    runner, clock, _, _ = make_runner([job], START + 3 * timedelta(hours=1), store, max_sleep=600)
    runner.run()
    assert max(clock.sleeps) == 600
    assert job.runs == [START, START + timedelta(hours=2)]


def test_state_write_failures_never_stop_the_loop(
    caplog: pytest.LogCaptureFixture, store: LocalStore
) -> None:
    job = ScriptedJob("sync", [OK])
    runner, _, _, _ = make_runner([job], START + 25 * MINUTE, store)
    with sqlite3.connect(store.path) as other:  # the table is gone: every record fails
        other.execute("drop table job_runs")
    with caplog.at_level(logging.WARNING, logger="mftrack"):
        runner.run()
    assert len(job.runs) == 3
    assert any("could not record job state" in r.getMessage() for r in caplog.records)


def test_job_runs_are_recorded_in_the_database(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "mftrack.db", backup_dir=tmp_path / "backups")
    try:
        clock, stop = FakeClock(), threading.Event()
        token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1c2VyIn0.c2lnbmF0dXJl"
        job = ScriptedJob("sync", [NetworkError(f"rejected Bearer {token}"), OK])
        runner = Runner(
            [job],
            state=JobRunStore(store),
            clock=clock,
            sleep=stop_after(clock, stop, START + 2 * MINUTE),
            stop=stop,
        )
        runner.run()
        (row,) = read_job_runs(store)
        assert (row.job, row.last_result, row.consecutive_failures) == ("sync", "ok", 0)
        assert row.next_run_at == START + MINUTE + 10 * MINUTE
        assert row.last_finished_at == START + MINUTE
        # a restarted daemon picks up the failure count where it was
        JobRunStore(store).finished(
            "sync", at=START, result=JobResult("error", f"x {token}"), next_run=START, failures=4
        )
        assert JobRunStore(store).failures() == {"sync": 4}
        assert token not in (read_job_runs(store)[0].last_message or "")  # redacted
    finally:
        store.close()


def test_a_worker_returns_results_and_raises_errors() -> None:
    execute = run_in_worker(threading.Event(), grace=0)
    assert execute(lambda: OK) == OK
    with pytest.raises(NetworkError):
        execute(lambda: (_ for _ in ()).throw(NetworkError("down")))


def test_a_stuck_job_is_abandoned_when_stop_is_set() -> None:
    stop, never = threading.Event(), threading.Event()
    stop.set()
    execute = run_in_worker(stop, grace=0)

    def stuck() -> JobResult:
        never.wait(30)  # stands for a download that hangs
        return OK

    with pytest.raises(JobAbandoned):
        execute(stuck)
    never.set()  # let the worker thread finish
