"""Arrival of a day's NAVs judged from real NAVAll files, and suspect SIP instalments (pure)."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime
from decimal import Decimal
from functools import cache

import pytest

from mftrack.adapters.amfi.model import ParsedNavFile
from mftrack.adapters.amfi.navall import parse_navall
from mftrack.daemon.arrival import HeldScheme, is_late_publisher, judge_arrival, modal_date
from mftrack.daemon.schedule import IST, NavPlan
from mftrack.domain.navs import NavSeries
from mftrack.domain.portfolio import summarise
from mftrack.domain.sips import Sip
from mftrack.services.history_gaps import suspect_schemes
from tests.helpers import NAVALL

ELSS, FOF, LIQUID = 120503, 118550, 119800  # on time, FoF overseas (late), liquid
PLAN = NavPlan()


@cache
def navall(day: str) -> ParsedNavFile:
    return parse_navall((NAVALL / f"NAVAll_{day}.txt").read_text(encoding="utf-8"))


def held(parsed: ParsedNavFile, *codes: int) -> list[HeldScheme]:
    dates = {q.scheme_code: q.nav_date for q in parsed.quotes}
    infos = {s.scheme_code: s for s in parsed.schemes}
    return [
        HeldScheme(c, dates.get(c), is_late_publisher(infos[c].name, infos[c].category))
        for c in codes
    ]


def judge(file: str, day: date, now: datetime, *codes: int):  # type: ignore[no-untyped-def]
    parsed = navall(file)
    counts = Counter(q.nav_date for q in parsed.quotes)
    return judge_arrival(day=day, now=now, held=held(parsed, *codes), date_counts=counts, plan=PLAN)


def test_late_publishers_are_recognised_from_real_categories() -> None:
    infos = {s.scheme_code: s for s in navall("2025-12-11").schemes}
    assert is_late_publisher(infos[FOF].name, infos[FOF].category)  # Other Scheme - FoF Overseas
    assert not is_late_publisher(infos[ELSS].name, infos[ELSS].category)
    assert not is_late_publisher(infos[LIQUID].name, infos[LIQUID].category)
    gold = [s for s in infos.values() if s.category == "Other Scheme - Gold ETF"]
    assert gold and all(is_late_publisher(s.name, s.category) for s in gold)


def test_the_modal_date_is_the_day_amfi_last_published() -> None:
    counts = Counter(q.nav_date for q in navall("2025-12-11").quotes)
    assert modal_date(counts) == date(2025, 12, 11)
    assert modal_date({}) is None


def test_before_publication_the_on_time_scheme_is_awaited() -> None:
    # Thursday 21:30: AMFI still serves Wednesday's file.
    verdict = judge(
        "2025-12-10", date(2025, 12, 11), datetime(2025, 12, 11, 21, 30, tzinfo=IST), ELSS, FOF
    )
    assert verdict.waiting_on_time == (ELSS,)
    assert verdict.waiting_late == (FOF,)
    assert not verdict.published
    assert not verdict.progress.evening_done
    assert not verdict.progress.morning_done


def test_after_publication_only_the_fof_is_left_for_the_morning() -> None:
    # The real 11-Dec file: the ELSS has 11-Dec; the FoF still carries 10-Dec (F11: 10:00 T+1).
    verdict = judge(
        "2025-12-11", date(2025, 12, 11), datetime(2025, 12, 11, 22, 30, tzinfo=IST), ELSS, FOF
    )
    assert verdict.arrived == (ELSS,)
    assert verdict.waiting_late == (FOF,)
    assert verdict.progress.evening_done
    assert not verdict.progress.morning_done


def test_a_stale_scheme_is_not_waited_for() -> None:
    parsed = navall("2025-12-11")
    old = next(q.scheme_code for q in parsed.quotes if q.nav_date.year == 2018)
    verdict = judge(
        "2025-12-11", date(2025, 12, 11), datetime(2025, 12, 11, 22, 30, tzinfo=IST), ELSS, old
    )
    assert verdict.arrived == (ELSS,)
    assert old not in verdict.waiting_on_time + verdict.waiting_late
    assert verdict.progress.morning_done


@pytest.mark.parametrize(
    ("when", "nothing", "evening_done", "morning_done"),
    [
        (datetime(2025, 12, 12, 22, 50, tzinfo=IST), False, False, False),  # before 23:00 + grace
        (datetime(2025, 12, 12, 23, 10, tzinfo=IST), True, True, False),  # stop; check at 07:00
        (datetime(2025, 12, 13, 7, 0, tzinfo=IST), True, True, True),  # confirmed next morning
    ],
)
def test_a_day_without_navs_is_recognised_after_the_deadline(
    when: datetime, nothing: bool, evening_done: bool, morning_done: bool
) -> None:
    # Friday 12-Dec with Thursday's file still up: nothing published for Friday (yet).
    verdict = judge("2025-12-11", date(2025, 12, 12), when, ELSS, FOF)
    assert verdict.nothing_published is nothing
    assert verdict.progress.evening_done is evening_done
    assert verdict.progress.morning_done is morning_done


def test_nothing_held_waits_for_the_file_to_advance() -> None:
    at = datetime(2025, 12, 11, 21, 30, tzinfo=IST)
    assert not judge("2025-12-10", date(2025, 12, 11), at).progress.evening_done
    assert judge("2025-12-11", date(2025, 12, 11), at).progress.evening_done


# --- suspect instalments ---------------------------------------------------------------------


def sip(code: int, start: date, day: int) -> Sip:
    now = datetime(2025, 1, 1, tzinfo=IST)
    return Sip(
        id=f"sip-{code}-{day}",
        scheme_code=code,
        amount=Decimal(1000),
        start_date=start,
        day=day,
        created_at=now,
        updated_at=now,
    )


def navs(*days: str) -> NavSeries:
    return NavSeries((date.fromisoformat(d), Decimal(10)) for d in days)


def test_a_weekday_instalment_allotted_a_day_late_is_suspect() -> None:
    # Due Wed 10-Dec, but the store only knows Thu 11-Dec: a missed day or a holiday.
    summary = summarise(
        [sip(1, date(2025, 12, 10), 10)],
        {1: navs("2025-12-09", "2025-12-11")},
        {},
        date(2025, 12, 11),
    )
    assert suspect_schemes(summary, {}) == {1: date(2025, 12, 10)}
    assert suspect_schemes(summary, {1: date(2025, 12, 11)}) == {}  # checked once: a holiday


def test_a_weekend_instalment_allotted_on_monday_is_normal() -> None:
    summary = summarise(
        [sip(1, date(2025, 12, 13), 13)],
        {1: navs("2025-12-12", "2025-12-15")},
        {},
        date(2025, 12, 15),
    )
    assert suspect_schemes(summary, {}) == {}


def test_holes_and_schemes_without_navs_are_suspect() -> None:
    as_of = date(2025, 12, 11)
    gap = summarise([sip(1, date(2025, 6, 5), 5)], {1: navs("2025-06-05", "2025-12-11")}, {}, as_of)
    assert suspect_schemes(gap, {}) == {1: date(2025, 7, 5)}  # NAV_GAP from July on
    none = summarise([sip(2, date(2025, 11, 5), 5)], {}, {}, as_of)
    assert suspect_schemes(none, {}) == {2: date(2025, 11, 5)}
    pending = summarise([sip(3, date(2025, 12, 11), 11)], {3: navs("2025-12-10")}, {}, as_of)
    assert suspect_schemes(pending, {}) == {}  # pending with NAVs: the day is just not in yet
