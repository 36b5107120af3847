"""`run_daemon` on an injected clock: the log lines, the midnight switch to the next day's
file and log retention follow the daemon's clock, not the machine's."""

from __future__ import annotations

import threading
from datetime import date, datetime, time, timedelta
from pathlib import Path

import pytest

from mftrack.config import load_settings, resolve_paths
from mftrack.daemon.schedule import Timetable
from mftrack.daemon.service import run_daemon
from tests.daemon_support import FakeClock, stop_after
from tests.helpers import NAVALL
from tests.loopback import LoopbackServer, Reply


def local(day: date, at: time) -> datetime:
    """`at` o'clock on `day` in the machine's zone (the zone of the log files' names)."""
    return datetime.combine(day, at).astimezone()


def test_log_lines_switch_files_at_the_clocks_midnight(
    tmp_path: Path, loopback: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    loopback.route("/NAVAll.txt", Reply(body=(NAVALL / "NAVAll_2025-12-11.txt").read_bytes()))
    env = {
        "MFTRACK_HOME": str(tmp_path / "home"),
        "MFTRACK_AMFI_NAVALL_URL": loopback.url("/NAVAll.txt"),
        "MFTRACK_MFAPI_BASE_URL": loopback.url("/"),
        "MFTRACK_SUPABASE_URL": "",
        "MFTRACK_DAEMON_JITTER_MINUTES": "0",
    }
    paths = resolve_paths(env)
    settings = load_settings(paths, env)
    paths.log_dir.mkdir(parents=True)
    # retention (90 days) by the clock's date, 11 Dec 2025: September goes, November stays
    for name in ("mftrack-2025-09-01.log", "mftrack-2025-11-01.log"):
        (paths.log_dir / name).write_text("old\n", encoding="utf-8")

    start = local(date(2025, 12, 11), time(23, 55))
    clock, stop = FakeClock(start), threading.Event()
    run_daemon(
        paths=paths,
        settings=settings,
        stop=stop,
        timetable=Timetable.standard(),
        verbose=True,
        clock=clock,
        sleep=stop_after(clock, stop, start + timedelta(minutes=35)),
    )
    files = sorted(p.name for p in paths.log_dir.iterdir())
    assert files == [
        "mftrack-2025-11-01.log",
        "mftrack-2025-12-11.log",
        "mftrack-2025-12-12.log",
    ]
    before = (paths.log_dir / "mftrack-2025-12-11.log").read_text(encoding="utf-8")
    after = (paths.log_dir / "mftrack-2025-12-12.log").read_text(encoding="utf-8")
    stamp = f"{start:%Y-%m-%d %H:%M:%S%z}"
    assert f"{stamp} INFO daemon daemon started" in before
    assert "removed 1 log files dated before 2025-09-13" in before
    # the second sync, 30 minutes after the first, is past midnight: the next day's file
    second_sync = start + timedelta(minutes=30)
    assert (
        f"{second_sync:%Y-%m-%d %H:%M:%S%z} DEBUG daemon.sync skipped: sync not configured"
        in after
    )
    assert "daemon stopped" in after and "daemon stopped" not in before


def first_runs(paths, settings, start: datetime) -> dict[str, datetime]:  # type: ignore[no-untyped-def]
    """Run the daemon for its first minute; the next run it planned for each job."""
    from mftrack.adapters.sqlite.store import LocalStore
    from mftrack.daemon.state import read_job_runs

    clock, stop = FakeClock(start), threading.Event()
    run_daemon(
        paths=paths, settings=settings, stop=stop, timetable=Timetable.standard(),
        clock=clock, sleep=stop_after(clock, stop, start + timedelta(seconds=1)),
    )  # fmt: skip
    store = LocalStore(paths.database, backup_dir=paths.backup_dir)
    try:
        return {row.job: row.next_run_at for row in read_job_runs(store)}  # type: ignore[misc]
    finally:
        store.close()


def test_jitter_spreads_nav_polls_and_syncs_and_keeps_its_spot(
    tmp_path: Path, loopback: LoopbackServer
) -> None:
    from mftrack.adapters.sqlite.store import LocalStore
    from mftrack.daemon.schedule import IST
    from mftrack.daemon.service import JITTER_KEY

    env = {
        "MFTRACK_HOME": str(tmp_path / "home"),
        "MFTRACK_AMFI_NAVALL_URL": loopback.url("/NAVAll.txt"),
        "MFTRACK_SUPABASE_URL": loopback.url("/supabase"),  # a project: the sync job is planned
        "MFTRACK_DAEMON_JITTER_MINUTES": "10",
    }
    paths = resolve_paths(env)
    settings = load_settings(paths, env)
    store = LocalStore(paths.database, backup_dir=paths.backup_dir)
    store.set_meta(JITTER_KEY, "0.25")  # this installation's spot: 2.5 of the 10 minutes
    store.close()
    start = datetime(2025, 12, 11, 21, 0, tzinfo=IST)
    planned = first_runs(paths, settings, start)
    assert planned["nav_pull"] == datetime(2025, 12, 11, 21, 32, 30, tzinfo=IST)
    assert planned["sync"] == start + timedelta(minutes=2, seconds=30)  # not at start

    # a fresh installation draws its own spot once and keeps it across restarts
    other = resolve_paths({**env, "MFTRACK_HOME": str(tmp_path / "other")})
    first = first_runs(other, settings, start)["nav_pull"]
    again = first_runs(other, settings, start)["nav_pull"]
    assert first == again
    window = datetime(2025, 12, 11, 21, 30, tzinfo=IST)
    assert window <= first < window + timedelta(minutes=10)
