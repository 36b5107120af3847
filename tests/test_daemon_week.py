"""A week of the daemon on a fake clock against a loopback AMFI serving the real NAVAll files.

The story (India time), Wed 10 Dec 2025 12:00 to Mon 15 Dec 12:00:

* Wed: AMFI answers HTTP 500 until 21:45 (the pull backs off 1, 2, 4, 8 minutes), then the
  real NAVAll of 10 Dec: everything the user holds is in, no more polls that day.
* Thu: the 10-Dec file stays up until 22:15 (late NAVs), then the real 11-Dec file, in which
  the ELSS has 11 Dec but the overseas FoF still has 10 Dec (real F11 behaviour).
* Fri morning: from 09:30 the FoF's 11-Dec NAV appears (the 11-Dec file with that one row
  moved to 11 Dec: the only derived data here).
* Fri, Sat, Sun: nothing new is published (the data shows a holiday, then the weekend).

The real sync runs every 6 hours against the Supabase stand-in, as a logged-in user.

Two SIPs are due on the 11th: on the ELSS (120503) and the FoF (118550). Their history comes
from mfapi.in's real JSON, cut at the fake "today".
"""

from __future__ import annotations

import json
import logging
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from itertools import pairwise
from pathlib import Path

import pytest

from mftrack.adapters.sqlite.store import LocalStore
from mftrack.config import load_settings, resolve_paths
from mftrack.daemon.jobs import JobContext, build_jobs
from mftrack.daemon.runner import Runner
from mftrack.daemon.schedule import IST, Timetable
from mftrack.daemon.service import amfi_client_factory
from mftrack.daemon.state import read_job_runs
from mftrack.domain.portfolio import InstalmentStatus
from mftrack.services.portfolio import portfolio_summary, summary_as_dict
from mftrack.services.sips import add_sip
from mftrack.services.valuations import read_valuations
from tests.daemon_support import FakeClock, RecordingState, stop_after
from tests.helpers import NAVALL, mfapi_file
from tests.loopback import LoopbackServer, Reply, SeenRequest
from tests.standin import StandIn
from tests.sync_support import new_user, save_session, server_rows

pytestmark = pytest.mark.postgres

ELSS, FOF = 120503, 118550
START = datetime(2025, 12, 10, 12, 0, tzinfo=IST)
END = datetime(2025, 12, 15, 12, 0, tzinfo=IST)
FOF_NAV_11_DEC = "93.6120"  # derived: the real file has no 11-Dec NAV for the FoF yet


def at(day: int, hh: int, mm: int = 0) -> datetime:
    return datetime(2025, 12, day, hh, mm, tzinfo=IST)


class Amfi:
    """What AMFI and mfapi.in serve at the fake clock's time; records every NAVAll request."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.pulls: list[datetime] = []
        self.history: list[tuple[datetime, str]] = []
        dec10 = (NAVALL / "NAVAll_2025-12-10.txt").read_text(encoding="utf-8")
        dec11 = (NAVALL / "NAVAll_2025-12-11.txt").read_text(encoding="utf-8")
        old_row = next(line for line in dec11.splitlines() if line.startswith(f"{FOF};"))
        new_row = ";".join([*old_row.split(";")[:4], FOF_NAV_11_DEC, "11-Dec-2025"])
        assert old_row.endswith(";10-Dec-2025")
        self.files = {"10": dec10, "11": dec11, "11+fof": dec11.replace(old_row, new_row)}

    def navall(self, _: SeenRequest) -> Reply:
        now = self.clock.now
        self.pulls.append(now)
        if now < at(10, 21, 45):
            return Reply(status=500, body="Internal Server Error")
        if now < at(11, 22, 15):
            return Reply(body=self.files["10"])
        if now < at(12, 9, 30):
            return Reply(body=self.files["11"])
        return Reply(body=self.files["11+fof"])

    def mfapi(self, request: SeenRequest) -> Reply:
        code = int(request.path.rsplit("/", 1)[1])
        self.history.append((self.clock.now, request.path))
        data = json.loads(mfapi_file(code).read_text(encoding="utf-8"))
        today = self.clock.now.date()
        data["data"] = [
            row
            for row in data["data"]
            if datetime.strptime(row["date"], "%d-%m-%Y").date() <= today
        ]
        return Reply.json(data)


@dataclass
class Week:
    amfi: Amfi
    state: RecordingState
    standin: StandIn
    user_id: str
    store: LocalStore
    log_dir: Path
    logs: list[logging.LogRecord]


@pytest.fixture(scope="module")
def week(tmp_path_factory: pytest.TempPathFactory, standin_server: StandIn) -> Iterator[Week]:
    """Run the whole week once; the tests below look at different parts of it."""
    home = tmp_path_factory.mktemp("week")
    clock = FakeClock(START)
    amfi = Amfi(clock)
    server = LoopbackServer()
    server.route("/NAVAll.txt", amfi.navall)
    server.route(f"/mf/{ELSS}", amfi.mfapi)
    server.route(f"/mf/{FOF}", amfi.mfapi)
    env = {
        "MFTRACK_HOME": str(home),
        "MFTRACK_AMFI_NAVALL_URL": server.url("/NAVAll.txt"),
        "MFTRACK_AMFI_HISTORY_URL": server.url("/history"),  # 404: falls back to mfapi.in
        "MFTRACK_MFAPI_BASE_URL": server.url("/"),
        "MFTRACK_NETWORK_RETRIES": "0",  # one request per attempt: the runner does the retrying
        # the real sync, against the Supabase stand-in, as a logged-in user
        "MFTRACK_SUPABASE_URL": standin_server.url,
        "MFTRACK_SUPABASE_ANON_KEY": standin_server.anon_key,
        "MFTRACK_TOKEN_STORE": "file",
        "MFTRACK_DAEMON_SYNC_INTERVAL_MINUTES": "360",
    }
    paths = resolve_paths(env)
    settings = load_settings(paths, env)
    log_dir = paths.log_dir
    log_dir.mkdir(parents=True)
    for name in (
        "mftrack-2025-09-01.log",
        "mftrack-2025-09-12.log",
        "mftrack-2025-12-01.log",
        "notes.txt",
    ):
        (log_dir / name).write_text("old\n", encoding="utf-8")
    _, user_id = new_user(standin_server)
    save_session(paths, standin_server.url, standin_server.issue_session(user_id))
    store = LocalStore(paths.database, backup_dir=paths.backup_dir)
    add_sip(store=store, scheme_code=ELSS, amount=Decimal(5000), start=date(2025, 10, 11), day=11)
    add_sip(store=store, scheme_code=FOF, amount=Decimal(3000), start=date(2025, 11, 11), day=11)

    stop = threading.Event()
    ctx = JobContext(
        store=store,
        settings=settings,
        paths=paths,
        timetable=Timetable.standard(sync_interval_minutes=360),
        make_client=amfi_client_factory(settings, stop),
        stop=stop,
    )
    state = RecordingState(store)
    records: list[logging.LogRecord] = []
    handler = logging.Handler(logging.DEBUG)
    handler.emit = records.append  # type: ignore[method-assign]
    logger = logging.getLogger("mftrack")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        runner = Runner(
            build_jobs(ctx),
            state=state,
            clock=clock,
            sleep=stop_after(clock, stop, END),
            stop=stop,
            max_sleep=3600,
        )
        runner.run()
    finally:
        logger.removeHandler(handler)
        logger.setLevel(logging.NOTSET)
        server.close()
    yield Week(amfi, state, standin_server, user_id, store, log_dir, records)
    store.close()


WINDOWS = [(time(21, 30), time(23, 30)), (time(7, 0), time(10, 30))]


def test_pulls_happen_only_inside_the_f11_windows(week: Week) -> None:
    assert week.amfi.pulls
    for pull in week.amfi.pulls:
        assert any(lo <= pull.timetz().replace(tzinfo=None) <= hi for lo, hi in WINDOWS), pull


def test_the_week_of_pulls_follows_arrival_holidays_and_late_navs(week: Week) -> None:
    by_day = Counter(f"{p:%a %d}" for p in week.amfi.pulls)
    assert [f"{p:%H:%M}" for p in week.amfi.pulls if p.day == 10] == [
        "21:30",
        "21:31",
        "21:33",
        "21:37",
        "21:45",  # 500s with backoff, then the file
    ]
    assert [f"{p:%H:%M}" for p in week.amfi.pulls if p.day == 11] == [
        "21:30",
        "21:50",
        "22:10",
        "22:30",  # the 11-Dec NAVs arrive at 22:30: evening done
    ]
    friday = [f"{p:%H:%M}" for p in week.amfi.pulls if p.day == 12]
    assert friday[:9] == [
        "07:00",
        "07:20",
        "07:40",
        "08:00",
        "08:20",
        "08:40",
        "09:00",
        "09:20",
        "09:40",
    ]  # the FoF's NAV comes at 09:30
    # Friday evening and the weekend: nothing published; the evening stops after 23:00 + grace
    # and one poll the next morning confirms it.
    holiday = ["21:30", "21:50", "22:10", "22:30", "22:50", "23:10"]
    assert friday[9:] == holiday
    for day in (13, 14):
        assert [f"{p:%H:%M}" for p in week.amfi.pulls if p.day == day] == ["07:00", *holiday]
    assert [f"{p:%H:%M}" for p in week.amfi.pulls if p.day == 15] == ["07:00"]
    assert sum(by_day.values()) == len(week.amfi.pulls) == 5 + 4 + 9 + 6 + 7 + 7 + 1


def test_failed_pulls_back_off_and_are_visible(week: Week) -> None:
    wednesday = [(when, r.status, f) for when, r, f in week.state.of("nav_pull") if when.day == 10]
    assert [(s, f) for _, s, f in wednesday] == [
        ("error", 1),
        ("error", 2),
        ("error", 3),
        ("error", 4),
        ("ok", 0),
    ]
    failed = [r for r in week.logs if r.name == "mftrack.daemon.nav_pull" and "failed" in r.msg]
    assert [r.levelname for r in failed] == ["WARNING", "WARNING", "ERROR", "ERROR"]
    assert "HTTP 500" in failed[0].getMessage()


def test_instalments_are_allotted_as_their_navs_arrive(week: Week) -> None:
    messages = {(f"{when:%d %H:%M}"): r.message for when, r, _ in week.state.of("nav_pull")}
    assert "allotted" not in messages["11 22:10"]  # before the NAVs: still pending
    assert "1 instalment allotted (pending 2 -> 1)" in messages["11 22:30"]  # the ELSS
    assert "waiting for 118550" in messages["11 22:30"]
    assert "1 instalment allotted (pending 1 -> 0)" in messages["12 09:40"]  # the FoF
    assert "no NAVs for 2025-12-12 by AMFI's 23:00 deadline" in messages["12 23:10"]
    assert "AMFI published no NAVs for 2025-12-12 (holiday or weekend)" in messages["13 07:00"]

    summary, _ = portfolio_summary(store=week.store, as_of=date(2025, 12, 15))
    lots = {(lot.scheme_code, lot.due_date): lot for s in summary.schemes for lot in s.lots}
    elss, fof = lots[(ELSS, date(2025, 12, 11))], lots[(FOF, date(2025, 12, 11))]
    assert elss.status is fof.status is InstalmentStatus.ALLOTTED
    assert (elss.nav_date, elss.nav) == (date(2025, 12, 11), Decimal("109.7762"))
    assert (fof.nav_date, fof.nav) == (date(2025, 12, 11), Decimal(FOF_NAV_11_DEC))
    # the Saturday 11-Oct instalment rolled to Monday 13-Oct from the fetched history (F3)
    assert lots[(ELSS, date(2025, 10, 11))].nav_date == date(2025, 10, 13)
    assert summary.total.pending == 0


def test_history_is_fetched_once_for_the_instalments_before_the_daemon(week: Week) -> None:
    assert week.amfi.history == [(START, f"/mf/{FOF}"), (START, f"/mf/{ELSS}")]
    first = week.state.of("sip_history")[0][1]
    assert first.status == "ok"
    assert "history fetched for 2 of 2 schemes" in first.message
    assert "3 instalments allotted (pending 3 -> 0)" in first.message


def test_the_real_sync_pushes_the_sips_then_runs_every_interval(week: Week) -> None:
    syncs = week.state.of("sync")
    assert syncs[0][0] == START
    assert syncs[0][1].message.startswith("pushed 2, pulled ")
    assert all(r.status == "ok" for _, r, _ in syncs)
    assert all(r.message.startswith("pushed 0, ") for _, r, _ in syncs[1:])
    gaps = {b[0] - a[0] for a, b in pairwise(syncs)}
    assert gaps == {timedelta(hours=6)}
    assert len(syncs) == (END - START) // timedelta(hours=6)  # the loop stops on reaching END
    server = server_rows(week.standin, week.user_id)
    assert {row["scheme_code"] for row in server.values()} == {ELSS, FOF}


def test_log_retention_runs_at_start_and_daily_and_keeps_foreign_files(week: Week) -> None:
    runs = week.state.of("log_retention")
    assert runs[0][0] == START
    assert {f"{when:%H:%M}" for when, _, _ in runs[1:]} == {"00:05"}
    assert len(runs) == 6
    assert sorted(p.name for p in week.log_dir.iterdir()) == [
        "mftrack-2025-12-01.log",
        "notes.txt",
    ]


def test_valuations_end_on_the_summary_totals(week: Week) -> None:
    total = read_valuations(week.store)
    assert total[-1].valuation_date == date(2025, 12, 15)
    summary, _ = portfolio_summary(store=week.store, as_of=date(2025, 12, 15))
    expected = summary_as_dict(summary)["total"]
    assert (format(total[-1].invested, "f"), format(total[-1].value, "f")) == (
        expected["invested"],
        expected["value"],
    )
    assert total[0].valuation_date == date(2025, 10, 13)  # the first allotment


def test_status_rows_show_every_job(week: Week) -> None:
    rows = {row.job: row for row in read_job_runs(week.store)}
    assert set(rows) == {"nav_pull", "sip_history", "sync", "log_retention"}
    assert rows["nav_pull"].last_result == "ok"
    assert rows["nav_pull"].next_run_at == at(15, 21, 30)
    assert all(row.consecutive_failures == 0 for row in rows.values())
