"""The NAV and history jobs on their own: a missed day is repaired from the history."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from mftrack.adapters.sqlite.store import LocalStore
from mftrack.config import load_settings, resolve_paths
from mftrack.daemon.jobs import CHECKED_KEY, JobContext, NavPullJob, SipHistoryJob
from mftrack.daemon.schedule import IST, Timetable
from mftrack.daemon.service import amfi_client_factory
from mftrack.domain.portfolio import InstalmentStatus
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


def test_history_failures_are_retried_but_unknown_schemes_are_not(setup: Setup) -> None:
    store, ctx = setup.store, setup.ctx
    add_sip(store=store, scheme_code=ELSS, amount=Decimal(5000), start=date(2025, 11, 10))
    add_sip(store=store, scheme_code=999999, amount=Decimal(100), start=date(2025, 11, 10))
    setup.server.route(f"/mf/{ELSS}", Reply(status=503))
    setup.server.route("/mf/999999", Reply(status=404))
    result = SipHistoryJob(ctx).run(datetime(2025, 12, 9, 12, tzinfo=IST))
    assert result.status == "error"  # the runner backs off and retries
    assert f"{ELSS} failed: could not download mfapi.in: HTTP 503" in result.message
    assert "999999: no history (mfapi.in does not know scheme 999999)" in result.message
    assert store.get_meta(CHECKED_KEY.format(code=ELSS)) is None
    assert store.get_meta(CHECKED_KEY.format(code=999999)) == "2025-12-09"
