"""The NAV and history jobs on their own: a missed day is repaired from the history."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from mftrack.adapters.sqlite.store import LocalStore
from mftrack.config import load_settings, resolve_paths
from mftrack.daemon.jobs import JobContext, NavPullJob, SipHistoryJob
from mftrack.daemon.schedule import IST, Timetable
from mftrack.daemon.service import amfi_client_factory
from mftrack.domain.portfolio import InstalmentStatus
from mftrack.services.nav_update import CHECKED_KEY, RETRY_KEY
from mftrack.services.portfolio import portfolio_summary
from mftrack.services.sips import add_sip
from tests.helpers import NAVALL, mfapi_file
from tests.loopback import LoopbackServer, Reply

ELSS = 120503


@dataclass
class Setup:
    ctx: JobContext
    store: LocalStore
    server: LoopbackServer
    today: list[date]


def mfapi_until(code: int, today: list[date]):  # type: ignore[no-untyped-def]
    def reply(_: object) -> Reply:
        data = json.loads(mfapi_file(code).read_text(encoding="utf-8"))
        data["data"] = [
            row
            for row in data["data"]
            if datetime.strptime(row["date"], "%d-%m-%Y").date() <= today[0]
        ]
        return Reply.json(data)

    return reply


@pytest.fixture
def setup(tmp_path: Path, loopback: LoopbackServer) -> Iterator[Setup]:
    env = {
        "MFTRACK_HOME": str(tmp_path / "home"),
        "MFTRACK_AMFI_NAVALL_URL": loopback.url("/NAVAll.txt"),
        "MFTRACK_AMFI_HISTORY_URL": loopback.url("/history"),
        "MFTRACK_MFAPI_BASE_URL": loopback.url("/"),
        "MFTRACK_NETWORK_RETRIES": "0",
    }
    paths = resolve_paths(env)
    settings = load_settings(paths, env)
    store = LocalStore(paths.database, backup_dir=paths.backup_dir)
    stop = threading.Event()
    ctx = JobContext(
        store=store,
        settings=settings,
        paths=paths,
        timetable=Timetable.standard(),
        make_client=amfi_client_factory(settings, stop),
        stop=stop,
    )
    today = [date(2025, 12, 9)]
    loopback.route(f"/mf/{ELSS}", mfapi_until(ELSS, today))
    yield Setup(ctx, store, loopback, today)
    store.close()


def context_for(env: dict[str, str]) -> JobContext:
    """A job context over the settings `env` gives (the caller closes `ctx.store`)."""
    paths = resolve_paths(env)
    settings = load_settings(paths, env)
    stop = threading.Event()
    return JobContext(
        store=LocalStore(paths.database, backup_dir=paths.backup_dir), settings=settings,
        paths=paths, timetable=Timetable.standard(),
        make_client=amfi_client_factory(settings, stop), stop=stop,
    )  # fmt: skip


def test_a_missed_day_is_noticed_by_the_pull_and_repaired_from_history(setup: Setup) -> None:
    store, ctx = setup.store, setup.ctx
    add_sip(store=store, scheme_code=ELSS, amount=Decimal(5000), start=date(2025, 11, 10))
    first = SipHistoryJob(ctx).run(datetime(2025, 12, 9, 12, tzinfo=IST))
    assert "history fetched for 1 of 1 schemes" in first.message
    assert store.get_meta(CHECKED_KEY.format(code=ELSS)) == "2025-12-09"

    # The daemon was off on Wednesday 10 Dec; on Thursday night it gets 11 Dec's file.
    setup.server.route("/NAVAll.txt", Reply(body=(NAVALL / "NAVAll_2025-12-11.txt").read_bytes()))
    pulled = NavPullJob(ctx).run(datetime(2025, 12, 11, 22, 30, tzinfo=IST))
    assert "1 instalment allotted" in pulled.message
    assert pulled.run_next == ("sip_history",)  # due 10 Dec, allotted at 11 Dec: suspect

    setup.today[0] = date(2025, 12, 11)
    repaired = SipHistoryJob(ctx).run(datetime(2025, 12, 11, 22, 31, tzinfo=IST))
    assert repaired.status == "ok"
    assert f"{ELSS}: " in repaired.message and "from 2025-12-10" in repaired.message
    summary, _ = portfolio_summary(store=store, as_of=date(2025, 12, 11))
    lot = next(lot for lot in summary.schemes[0].lots if lot.due_date == date(2025, 12, 10))
    assert lot.status is InstalmentStatus.ALLOTTED
    assert (lot.nav_date, lot.nav) == (date(2025, 12, 10), Decimal("109.0886"))  # F3
    assert store.get_meta(CHECKED_KEY.format(code=ELSS)) == "2025-12-11"


def test_failed_and_empty_fetches_are_retried_with_backoff_never_marked_checked(
    setup: Setup,
) -> None:
    """Issue 9 item 2: a 404 or an empty answer used to mark the scheme checked for good."""
    store, ctx = setup.store, setup.ctx
    add_sip(store=store, scheme_code=ELSS, amount=Decimal(5000), start=date(2025, 11, 10))
    add_sip(store=store, scheme_code=999999, amount=Decimal(100), start=date(2025, 11, 10))
    setup.server.route(f"/mf/{ELSS}", Reply(status=503))
    setup.server.route("/mf/999999", Reply(status=404))
    job = SipHistoryJob(ctx)
    noon = datetime(2025, 12, 9, 12, tzinfo=IST)
    result = job.run(noon)
    assert result.status == "error"
    assert f"{ELSS} failed: could not download mfapi.in: HTTP 503" in result.message
    assert "999999: no history (mfapi.in does not know scheme 999999)" in result.message
    assert store.get_meta(CHECKED_KEY.format(code=ELSS)) is None
    assert store.get_meta(CHECKED_KEY.format(code=999999)) is None
    # each scheme backs off on its own: 15 minutes after the first failure
    first_retry = noon + timedelta(minutes=15)
    assert store.get_meta(RETRY_KEY.format(code=999999)) == f"1 {first_retry.isoformat()}"
    assert job.retry_at(noon, 1) == first_retry

    # before the backoff ends nothing is asked for
    asked = len(setup.server.requests)
    early = job.run(noon + timedelta(minutes=5))
    assert len(setup.server.requests) == asked
    assert "backing off: 120503 until 2025-12-09 12:15, 999999 until 2025-12-09 12:15" in (
        early.message
    )

    # then it is asked again; a second failure doubles the wait
    again = job.run(first_retry)
    assert "999999: no history" in again.message
    second = first_retry + timedelta(minutes=30)
    assert store.get_meta(RETRY_KEY.format(code=999999)) == f"2 {second.isoformat()}"

    # mfapi.in learns the ELSS: its history is fetched and checked up to the NAVs obtained
    setup.server.route(f"/mf/{ELSS}", mfapi_until(ELSS, setup.today))
    fixed = job.run(second)
    assert f"{ELSS}: " in fixed.message and "NAVs from 2025-11-10" in fixed.message
    assert store.get_meta(CHECKED_KEY.format(code=ELSS)) == "2025-12-09"
    assert store.get_meta(RETRY_KEY.format(code=ELSS)) == ""
    assert store.get_meta(CHECKED_KEY.format(code=999999)) is None


def test_a_fetch_that_stops_short_of_the_gap_is_retried(setup: Setup) -> None:
    """mfapi.in's history ending before the instalment's due date does not settle it."""
    store, ctx = setup.store, setup.ctx
    add_sip(store=store, scheme_code=ELSS, amount=Decimal(5000), start=date(2025, 11, 10))
    setup.today[0] = date(2025, 11, 7)  # mfapi.in lags: its last NAV is 7 Nov
    noon = datetime(2025, 12, 9, 12, tzinfo=IST)
    result = SipHistoryJob(ctx).run(noon)
    assert f"{ELSS}: no NAVs from 2025-11-10 yet" in result.message
    assert store.get_meta(CHECKED_KEY.format(code=ELSS)) is None  # nothing from 10 Nov on
    assert store.get_meta(RETRY_KEY.format(code=ELSS)).startswith("1 ")


def test_a_trickling_server_cannot_hold_the_daemons_pull(
    tmp_path: Path, loopback: LoopbackServer
) -> None:
    """network.deadline ends the download, so the runner can go on with the other jobs."""
    from mftrack.errors import NetworkError

    body = (NAVALL / "NAVAll_2025-12-11.txt").read_bytes()
    loopback.route("/NAVAll.txt", Reply(body=body, chunk_size=4096, pace=0.2))  # > 60 s in all
    env = {
        "MFTRACK_HOME": str(tmp_path / "slow"),
        "MFTRACK_AMFI_NAVALL_URL": loopback.url("/NAVAll.txt"),
        "MFTRACK_NETWORK_DEADLINE": "1",
    }
    ctx = context_for(env)
    store = ctx.store
    try:
        with pytest.raises(NetworkError, match=r"after 1 s, the network\.deadline"):
            NavPullJob(ctx).run(datetime(2025, 12, 11, 21, 30, tzinfo=IST))
        assert store.get_scheme(ELSS) is None  # nothing stored
    finally:
        store.close()
    assert len(loopback.requests) == 1


def test_a_dead_network_fails_the_history_job_once_and_it_backs_off(tmp_path: Path) -> None:
    """No connection at all: the first scheme's fetch ends the pass (the others would hit the
    same dead network); no scheme is held responsible (no per-scheme backoff record), and the
    runner retries the job as a whole after its own backoff instead of spinning."""
    from mftrack.errors import UnreachableError
    from tests.loopback import closed_port_url

    env = {
        "MFTRACK_HOME": str(tmp_path / "offline"),
        "MFTRACK_AMFI_NAVALL_URL": closed_port_url("/NAVAll.txt"),
        "MFTRACK_AMFI_HISTORY_URL": closed_port_url("/history"),
        "MFTRACK_MFAPI_BASE_URL": closed_port_url("/"),
        "MFTRACK_NETWORK_RETRIES": "0",
    }
    ctx = context_for(env)
    store = ctx.store
    codes = (118989, ELSS)  # no fund house known: mfapi.in is each one's only source
    try:
        for code in codes:
            add_sip(store=store, scheme_code=code, amount=Decimal(5000), start=date(2025, 11, 10))
        job = SipHistoryJob(ctx)
        noon = datetime(2025, 12, 9, 12, tzinfo=IST)
        with pytest.raises(UnreachableError, match="could not connect"):
            job.run(noon)
        for code in codes:
            assert store.get_meta(RETRY_KEY.format(code=code)) is None
        assert job.retry_at(noon, 1) == noon + ctx.timetable.retry_delay(1)
    finally:
        store.close()
