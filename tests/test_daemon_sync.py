"""The sync job: calls `mftrack.services.sync.sync_now` when it exists; errors map to results."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from mftrack.config import load_settings, resolve_paths
from mftrack.daemon.jobs import JobContext, SyncJob, load_sync_now
from mftrack.daemon.runner import Runner
from mftrack.daemon.schedule import IST, Timetable
from mftrack.errors import BusyError, ConfigError, LoginRequiredError, NetworkError
from tests.test_daemon_runner import FakeClock, MemoryState, stop_after

START = datetime(2025, 12, 11, 12, 0, tzinfo=IST)
SUPABASE = "https://project.supabase.co"


def context(
    load_sync: Callable[[], Callable[..., Any]], store: Any = "STORE", url: str = SUPABASE
) -> JobContext:
    paths = resolve_paths()
    return JobContext(
        store=store,
        settings=load_settings(paths, {"MFTRACK_SUPABASE_URL": url}),
        paths=paths,
        timetable=Timetable.standard(),
        make_client=lambda: None,
        stop=threading.Event(),
        load_sync=load_sync,
    )


def raising(exc: BaseException) -> Callable[..., Any]:
    def sync_now(**_: Any) -> Any:
        raise exc

    return sync_now


def missing() -> Callable[..., Any]:
    raise ImportError("No module named 'mftrack.services.sync'")


@pytest.mark.parametrize(
    ("load", "status", "message", "quiet"),
    [
        (missing, "skipped", "sync not available", True),
        (lambda: raising(LoginRequiredError("no session")), "skipped", "not logged in", True),
        (lambda: raising(BusyError("sync lock held")), "skipped", "another sync is running", False),
    ],
)
def test_sync_is_skipped_quietly_when_it_cannot_run(
    load: Callable[[], Any], status: str, message: str, quiet: bool
) -> None:
    result = SyncJob(context(load)).run(START)
    assert (result.status, result.quiet) == (status, quiet)
    assert result.message.startswith(message)


def test_sync_is_not_attempted_without_a_supabase_project() -> None:
    calls: list[object] = []
    result = SyncJob(context(lambda: calls.append, url="")).run(START)
    assert (result.status, result.quiet, calls) == ("skipped", True, [])
    assert result.message == "sync not configured (no supabase.url)"


def test_a_configuration_problem_is_a_visible_failure() -> None:
    mismatch = ConfigError("this database syncs with another account")
    with pytest.raises(ConfigError):  # the runner turns it into an error result with backoff
        SyncJob(context(lambda: raising(mismatch))).run(START)


def test_sync_now_gets_the_store_settings_and_paths() -> None:
    calls: list[dict[str, Any]] = []

    class Report:
        def summary(self) -> str:
            return "pushed 2, pulled 1"

    def sync_now(**kwargs: Any) -> Report:
        calls.append(kwargs)
        return Report()

    ctx = context(lambda: sync_now)
    result = SyncJob(ctx).run(START)
    assert (result.status, result.message) == ("ok", "pushed 2, pulled 1")
    assert calls == [{"store": "STORE", "settings": ctx.settings, "paths": ctx.paths}]


def test_the_real_module_is_looked_up_lazily(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys
    import types

    fake = types.ModuleType("mftrack.services.sync")
    fake.sync_now = lambda **_: None  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "mftrack.services.sync", fake)
    assert SyncJob(context(load_sync_now)).run(START).message == "synced"


def test_network_errors_back_off_and_retry_on_the_sync_interval(tmp_path: Path) -> None:
    outcomes: list[BaseException | None] = [NetworkError("timed out")] * 3 + [None]
    calls: list[datetime] = []
    clock, stop = FakeClock(START), threading.Event()

    def sync_now(**_: Any) -> None:
        calls.append(clock.now)
        outcome = outcomes.pop(0) if outcomes else None
        if outcome is not None:
            raise outcome

    state = MemoryState()
    runner = Runner(
        [SyncJob(context(lambda: sync_now))],
        state=state,
        clock=clock,
        sleep=stop_after(clock, stop, START + timedelta(hours=1)),
        stop=stop,
    )
    runner.run()
    minutes = [(c - START) / timedelta(minutes=1) for c in calls]
    assert minutes == [0, 1, 3, 7, 37]  # backoff 1, 2, 4 min; then every 30 min
    assert [f for _, _, f in state.history] == [1, 2, 3, 0, 0]
