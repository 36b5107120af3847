"""Full re-pulls of more than one page after a tombstone purge (issue 9 item 1), through the real
client (`sync_now`, and `mftrack sync` for the exit code) against the stand-in.

`sync_pull` must tell a full re-pull in progress (started at version 0, paging through rows
below `min_version`) from a device whose cursor is behind the purge horizon. Each path is run
with 1,200 SIPs, i.e. three pages of 500."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mftrack.services import sips
from mftrack.services.sync import sync_status
from tests.helpers import NAVALL, run_cli
from tests.standin import StandIn
from tests.sync_support import (
    PASSWORD,
    Device,
    assert_converged,
    make_device,
    new_user,
    purge_all_tombstones,
    server_rows,
)

pytestmark = pytest.mark.postgres

ROWS = 1200
PAGE = 500
PAGES = -(-(ROWS - 1) // PAGE)  # 1,199 rows left after one removal: 3 pages


def assert_same_live_sips(standin: StandIn, user_id: str, devices: list[Device]) -> None:
    """Every device lists exactly the server's live SIPs. (A device that pulled a tombstone
    before the purge keeps it, hidden, so whole-table equality only holds for the others.)"""
    live = sorted(i for i, r in server_rows(standin, user_id).items() if not r["deleted"])
    for dev in devices:
        assert dev.live_ids() == live, dev.name


def min_version(standin: StandIn, user_id: str) -> int:
    return int(standin.sql_value(
        "select min_version from public.sync_state where user_id = %s", user_id))


@pytest.fixture
def user(standin: StandIn) -> str:
    return new_user(standin)[1]


@pytest.fixture
def purged(standin: StandIn, user: str, tmp_path: Path) -> tuple[Device, Device, str]:
    """Device `a` adds 1,200 SIPs and syncs; `b` syncs them all; `a` removes one and syncs;
    the operator purges every tombstone. Returns (a, b, removed id)."""
    a = make_device(standin, user, tmp_path / "a", "a")
    b = make_device(standin, user, tmp_path / "b", "b")
    ids = [a.add(label=f"s{i}") for i in range(ROWS)]
    a.sync()
    b.sync()
    sips.remove_sip(store=a.store, sip_id=ids[0])
    a.sync()
    purge_all_tombstones(standin)  # every user's (the stand-in's database is shared)
    assert ids[0] not in server_rows(standin, user)
    # the purge horizon is above every live row's version: all of them sit "behind" it
    assert min_version(standin, user) > max(r["version"] for r in
                                            server_rows(standin, user).values())
    yield a, b, ids[0]
    a.close()
    b.close()


def test_a_fresh_device_pulls_every_page_after_a_purge(
        standin: StandIn, purged: tuple[Device, Device, str], tmp_path: Path) -> None:
    a, _, removed = purged
    c = make_device(standin, a.user_id, tmp_path / "c", "c")
    horizons: list[int | None] = []
    report = c.sync(progress=lambda event: horizons.append(
        sync_status(store=c.store).cursor_horizon) if event.stage == "pull" else None)
    # the first pages' cursors carry the purge horizon; the last page's drops it
    assert horizons == [min_version(standin, a.user_id)] * (PAGES - 1) + [None]
    assert report.reset is None  # a first pull is already a full pull: nothing to reset
    assert (report.pulled, report.pages) == (ROWS - 1, PAGES)
    assert len(c.live_ids()) == ROWS - 1 and removed not in c.rows()
    assert_converged(standin, a.user_id, [c])
    assert_same_live_sips(standin, a.user_id, [a])
    assert c.sync().requests == 1  # and the next run is an ordinary incremental one
    c.close()


def test_a_device_behind_the_purge_re_pulls_every_page(
        standin: StandIn, purged: tuple[Device, Device, str]) -> None:
    a, b, removed = purged
    report = b.sync()  # b never saw the removal: its cursor is behind the purge
    assert report.reset == "purge"
    assert (report.pulled, report.pages, report.dropped) == (ROWS - 1, PAGES, 1)
    assert removed not in b.rows() and len(b.live_ids()) == ROWS - 1
    a_report = a.sync()  # a saw the tombstone before the purge: no reset for it
    assert a_report.reset is None and a_report.requests == 1
    assert_converged(standin, a.user_id, [b])
    assert_same_live_sips(standin, a.user_id, [a])


def test_rotating_the_epoch_after_a_purge_lets_every_device_finish(
        standin: StandIn, purged: tuple[Device, Device, str], tmp_path: Path) -> None:
    a, b, removed = purged
    c = make_device(standin, a.user_id, tmp_path / "c", "c")
    c.sync()
    b.sync()  # every device has caught up with the purge
    standin.sql("select public.rotate_sync_epoch(%s)", a.user_id)  # the documented restore step
    for device in (a, b, c):
        report = device.sync()
        assert report.reset == "restore", device.name
        assert report.pages == PAGES and report.pulled == ROWS - 1, device.name
        assert report.requeued == 0, device.name
    assert removed not in b.rows()
    server = assert_converged(standin, a.user_id, [a, b, c])
    assert len(server) == ROWS - 1
    c.close()


def test_a_purge_during_a_full_re_pull_restarts_it(
        standin: StandIn, purged: tuple[Device, Device, str], tmp_path: Path) -> None:
    """The horizon a full re-pull started from is part of its cursor: a purge while it runs
    removes tombstones of rows it may already have received, so it starts over."""
    a, _, _ = purged
    c = make_device(standin, a.user_id, tmp_path / "c", "c")
    first_page = sorted(a.live_ids())  # ids in page 1 are the lowest (version, id) pairs
    victim: list[str] = []

    def meanwhile(event) -> None:  # after c's first page: a removes a row c already has
        if event.stage == "pull" and event.report.pages == 1 and not victim:
            pulled = set(c.rows())
            victim.append(next(i for i in first_page if i in pulled))
            sips.remove_sip(store=a.store, sip_id=victim[0])
            a.sync()
            purge_all_tombstones(standin)
            assert victim[0] not in server_rows(standin, a.user_id)

    report = c.sync(progress=meanwhile)
    assert report.reset == "purge"
    assert victim[0] not in c.rows() and len(c.live_ids()) == ROWS - 2
    assert_converged(standin, a.user_id, [c])
    assert_same_live_sips(standin, a.user_id, [a])
    c.close()


def test_mftrack_sync_on_a_fresh_device_after_a_purge_exits_0(
        standin: StandIn, user: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The issue's own repro through the CLI: 600 SIPs, one removed, purged; a fresh device
    logs in and runs `mftrack sync` (it used to stop at 500 of 600 with exit 5)."""
    email = standin.sql_value("select email from auth.users where id = %s", user)
    a = make_device(standin, user, tmp_path / "a", "a")
    ids = [a.add(label=f"s{i}") for i in range(600)]
    a.sync()
    sips.remove_sip(store=a.store, sip_id=ids[-1])
    a.sync()
    purge_all_tombstones(standin)
    monkeypatch.setenv("MFTRACK_SUPABASE_URL", standin.url)
    monkeypatch.setenv("MFTRACK_SUPABASE_ANON_KEY", standin.anon_key)
    monkeypatch.setenv("MFTRACK_TOKEN_STORE", "file")
    env = {"MFTRACK_HOME": str(tmp_path / "fresh")}
    run_cli("nav", "import", str(NAVALL / "NAVAll_2025-12-11.txt"), env=env)
    login = run_cli("login", "--email", email, "--password-stdin", input=PASSWORD + "\n",
                    env=env)
    assert login.exit_code == 0, login.stderr
    synced = run_cli("sync", "--json", env=env)
    assert synced.exit_code == 0, synced.stderr
    assert json.loads(synced.stdout)["pulled"] == 599
    listed = json.loads(run_cli("sips", "--json", env=env).stdout)
    assert len(listed) == 599 and ids[-1] not in {s["id"] for s in listed}
    a.close()
