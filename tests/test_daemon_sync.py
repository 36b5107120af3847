"""The daemon's sync job runs the real `mftrack.services.sync.sync_now` against the Supabase
stand-in (tests/standin); every way it cannot sync maps to a result, and failures back off."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from mftrack.config import load_settings
from mftrack.daemon.jobs import JobContext, SyncJob
from mftrack.daemon.runner import Runner
from mftrack.daemon.schedule import IST, Timetable
from mftrack.daemon.state import read_job_runs
from mftrack.errors import ConfigError
from mftrack.services.sync import _sync_lock
from tests.daemon_support import FakeClock, RecordingState, stop_after
from tests.standin import StandIn
from tests.sync_support import PUSH, Device, make_device, new_user, server_rows

pytestmark = pytest.mark.postgres

START = datetime(2025, 12, 11, 12, 0, tzinfo=IST)


def job_for(device: Device, **env: str) -> SyncJob:
    settings = device.settings
    if env:
        settings = load_settings(device.paths, environ={
            "MFTRACK_SUPABASE_ANON_KEY": settings.supabase_anon_key or "",
            "MFTRACK_TOKEN_STORE": "file", **env,
        })  # fmt: skip
    return SyncJob(
        JobContext(
            store=device.store,
            settings=settings,
            paths=device.paths,
            timetable=Timetable.standard(),
            make_client=lambda: None,
            stop=threading.Event(),
        )
    )


@pytest.fixture
def device(standin: StandIn, tmp_path: Path) -> Device:
    _, user_id = new_user(standin)
    dev = make_device(standin, user_id, tmp_path / "laptop")
    yield dev  # type: ignore[misc]
    dev.close()


def test_the_job_pushes_the_sips_through_the_real_sync(device: Device, standin: StandIn) -> None:
    first = device.add(120503, "5000")
    second = device.add(118989, "2500")
    result = job_for(device).run(START)
    assert result.status == "ok"
    assert result.message.startswith("pushed 2, pulled ")
    assert set(server_rows(standin, device.user_id)) == {first, second}


def test_no_supabase_project_means_no_attempt(device: Device, standin: StandIn) -> None:
    standin.clear_request_log()
    result = job_for(device, MFTRACK_SUPABASE_URL="").run(START)
    assert (result.status, result.quiet) == ("skipped", True)
    assert result.message == "sync not configured (no supabase.url)"
    assert standin.requests("/") == []


def test_nobody_logged_in_is_skipped_quietly(standin: StandIn, tmp_path: Path) -> None:
    _, user_id = new_user(standin)
    dev = make_device(standin, user_id, tmp_path / "desk")
    try:
        for session in (dev.paths.data_dir / "auth").iterdir():
            session.unlink()  # logged out
        result = job_for(dev).run(START)
    finally:
        dev.close()
    assert (result.status, result.message, result.quiet) == ("skipped", "not logged in", True)


def test_an_overlapping_sync_is_skipped_visibly(device: Device) -> None:
    with _sync_lock(device.paths):  # what a running `mftrack sync` holds
        result = job_for(device).run(START)
    assert (result.status, result.message, result.quiet) == (
        "skipped", "another sync is running", False,
    )  # fmt: skip


def test_a_configuration_problem_is_a_visible_failure(device: Device, standin: StandIn) -> None:
    device.add()
    job_for(device).run(START)
    _, other = new_user(standin)  # the session now belongs to another account
    from tests.sync_support import save_session

    save_session(device.paths, standin.url, standin.issue_session(other))
    with pytest.raises(ConfigError):  # the runner turns it into an error result with backoff
        job_for(device).run(START)


def test_network_errors_back_off_and_retry_on_the_sync_interval(
    device: Device, standin: StandIn
) -> None:
    device.add()
    standin.fail_next(PUSH, status=503, count=3)
    clock, stop = FakeClock(START), threading.Event()
    state = RecordingState(device.store)
    until = START + timedelta(hours=1)
    runner = Runner(
        [job_for(device)], state=state, clock=clock, sleep=stop_after(clock, stop, until), stop=stop
    )
    runner.run()
    minutes = [(at - START) / timedelta(minutes=1) for _, at in state.starts]
    assert minutes == [0, 1, 3, 7, 37]  # backoff 1, 2, 4 min; then every 30 min
    assert [f for _, _, _, f in state.runs] == [1, 2, 3, 0, 0]
    (row,) = read_job_runs(device.store)
    assert (row.last_result, row.consecutive_failures) == ("ok", 0)
