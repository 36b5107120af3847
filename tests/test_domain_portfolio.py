"""Valuing SIPs against real AMFI NAV histories (mftrack.domain.portfolio).

Expected values are computed here from the raw mfapi.in JSON with explicit Decimal arithmetic
(a linear scan for the NAV, F1's formula for the duty), never by calling the code under test.
"""

from __future__ import annotations

import json
import sys
from bisect import bisect_left
from dataclasses import replace
from datetime import date, datetime, timedelta
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from functools import cache
from pathlib import Path
from typing import NamedTuple

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mftrack.analytics.returns import xirr
from mftrack.domain.navs import NavSeries
from mftrack.domain.options import DEFAULT_OPTIONS, ValuationOptions
from mftrack.domain.portfolio import (
    Instalment,
    InstalmentStatus,
    Lots,
    PortfolioSummary,
    allot,
    summarise,
    value_series,
)
from mftrack.domain.pricing import NavRule, nav_rules
from mftrack.domain.sips import AmountChange, Pause, ScheduledInstalment, Sip, StepUp, StepUpKind
from mftrack.domain.sips import scheduled_instalments as schedule_of

MFAPI = Path(__file__).resolve().parents[1].parent / "shared" / "amfi-data" / "mfapi"
ELSS, NIFTY, IDBI, BANDHAN, LIQUID = 120503, 120716, 118454, 118395, 119800
SMALL_CAP = 125497  # SBI Small Cap: 7 weekend (month-end) NAVs in 2024-25
MILLI, PAISA = Decimal("0.001"), Decimal("0.01")
DUTY_5000 = Decimal("0.25")  # F1: 5000 x 0.005 / 100.005 = 0.2499875... -> ₹0.25


@cache
def raw(code: int) -> tuple[tuple[date, Decimal], ...]:
    """The (date, NAV) rows of one mfapi.in file, oldest first, zero NAVs skipped."""
    (path,) = MFAPI.glob(f"mfapi_{code}_*.json")
    rows = json.loads(path.read_text(encoding="utf-8"))["data"]
    pairs = [(datetime.strptime(r["date"], "%d-%m-%Y").date(), Decimal(r["nav"])) for r in rows]
    return tuple(sorted((d, nav) for d, nav in pairs if nav > 0))


@cache
def series(code: int) -> NavSeries:
    return NavSeries(raw(code))


def scan_on_or_after(code: int, d: date) -> tuple[date, Decimal]:
    return next((nd, nav) for nd, nav in raw(code) if nd >= d)


def scan_on_or_before(code: int, d: date) -> tuple[date, Decimal]:
    return [(nd, nav) for nd, nav in raw(code) if nd <= d][-1]


def sip(code: int = ELSS, **kw: object) -> Sip:
    fields: dict[str, object] = {
        "id": f"sip-{code}",
        "scheme_code": code,
        "amount": Decimal(5000),
        "start_date": date(2021, 4, 5),
        "day": 5,
    }
    fields.update(kw)
    return Sip(**fields)  # type: ignore[arg-type]


@cache
def category(code: int) -> str | None:
    """The AMFI category mfapi.in gives the scheme ("Debt Scheme - Liquid Fund", ...)."""
    (path,) = MFAPI.glob(f"mfapi_{code}_*.json")
    return json.loads(path.read_text(encoding="utf-8"))["meta"].get("scheme_category")


def run(
    sips: list[Sip], as_of: date, options: ValuationOptions = DEFAULT_OPTIONS
) -> PortfolioSummary:
    codes = {s.scheme_code for s in sips}
    known = {c for c in codes if list(MFAPI.glob(f"mfapi_{c}_*.json"))}
    navs = {c: series(c) for c in known}
    rules = nav_rules({c: category(c) for c in known})
    return summarise(sips, navs, {c: f"Scheme {c}" for c in codes}, as_of, options, rules)


def solve_xirr(flows: list[tuple[date, Decimal]]) -> float:
    """Independent XIRR: bisection on the future value at the last date (actual/365)."""
    end = max(d for d, _ in flows)

    def future_value(r: float) -> float:
        return float(sum(float(a) * (1 + r) ** ((end - d).days / 365) for d, a in flows))

    lo, hi = -0.99, 10.0
    for _ in range(200):
        mid = (lo + hi) / 2
        if future_value(mid) > 0:  # the value beats the purchases grown at `mid`: rate is higher
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def reference_allotment(code: int, due: date, as_of: date) -> tuple[str, date | None]:
    """(status, NAV date) of an instalment, by a forward scan of the raw file (F2, F3).

    Liquid (119800 only, among these files): processed on business day T (the due date, or
    the next Monday-Friday), at the NAV of T - 1 day or the next one published; allotted once
    that NAV's next day has come by as_of. Others: the first NAV dated Monday-Friday on or
    after the due date, allotted once it is dated on or before as_of. Either way a NAV more
    than 10 days after the day searched from is a gap.
    """
    rows = raw(code)
    if code == LIQUID:
        business = due
        while business.weekday() >= 5:
            business += timedelta(days=1)
        start, lag = business - timedelta(days=1), timedelta(days=1)
    else:
        start, lag = due, timedelta(0)
    k = bisect_left([d for d, _ in rows], start)
    found = next(
        (d for d, _ in rows[k:] if code == LIQUID or d.weekday() < 5), None
    )  # fmt: skip
    if found is None or found + lag > as_of:
        return InstalmentStatus.PENDING, None
    if (found - start).days > 10:
        return InstalmentStatus.NAV_GAP, None
    return InstalmentStatus.ALLOTTED, found


class Bought(NamedTuple):
    """An allotted lot with its allotment fields narrowed to non-None (for the type checker)."""

    sip_id: str
    due_date: date
    amount: Decimal
    nav_date: date
    nav: Decimal
    stamp_duty: Decimal
    net_amount: Decimal
    units: Decimal


def bought(lot: Instalment) -> Bought:
    assert lot.status is InstalmentStatus.ALLOTTED
    assert lot.nav_date and lot.nav and lot.stamp_duty is not None and lot.net_amount
    assert lot.units is not None
    return Bought(
        lot.sip_id, lot.due_date, lot.amount, lot.nav_date, lot.nav,
        lot.stamp_duty, lot.net_amount, lot.units,
    )  # fmt: skip


def allotted(summary: PortfolioSummary, code: int) -> list[Bought]:
    scheme = next(s for s in summary.schemes if s.scheme_code == code)
    return [bought(lot) for lot in scheme.lots if lot.status is InstalmentStatus.ALLOTTED]


def test_elss_sip_first_instalments_match_the_raw_file() -> None:
    summary = run([sip()], date(2025, 12, 11))
    lots = allotted(summary, ELSS)
    # by hand from the JSON: 05-04-2021 NAV 66.11320; 4999.75 / 66.1132 = 75.62408...
    first = lots[0]
    assert (first.due_date, first.nav_date, first.nav) == (
        date(2021, 4, 5),
        date(2021, 4, 5),
        Decimal("66.11320"),
    )
    assert (first.stamp_duty, first.net_amount, first.units) == (
        Decimal("0.25"),
        Decimal("4999.75"),
        Decimal("75.624"),
    )
    # Saturday 5 Jun 2021 rolls to Monday 7 Jun at 71.68210: 4999.75 / 71.6821 = 69.74893...
    third = lots[2]
    assert (third.due_date, third.nav_date, third.nav, third.units) == (
        date(2021, 6, 5),
        date(2021, 6, 7),
        Decimal("71.68210"),
        Decimal("69.748"),
    )
    for lot in lots[:24]:
        nav_date, nav = scan_on_or_after(ELSS, lot.due_date)
        net = Decimal(5000) - DUTY_5000
        assert (lot.nav_date, lot.nav) == (nav_date, nav)
        assert (lot.stamp_duty, lot.net_amount) == (DUTY_5000, net)
        assert lot.units == (net / nav).quantize(MILLI, rounding=ROUND_DOWN)


def test_elss_sip_totals_and_xirr() -> None:
    as_of = date(2025, 12, 11)
    summary = run([sip()], as_of)
    (scheme,) = summary.schemes
    lots = allotted(summary, ELSS)
    n = len(lots)
    assert n == 57  # Apr 2021 .. Dec 2025
    assert (scheme.instalments, scheme.pending, scheme.nav_gaps) == (57, 0, 0)
    assert scheme.invested == Decimal(5000) * n
    assert scheme.stamp_duty == DUTY_5000 * n
    units = sum(
        ((Decimal("4999.75") / scan_on_or_after(ELSS, lot.due_date)[1]).quantize(MILLI, ROUND_DOWN)
         for lot in lots),
        Decimal(0),
    )  # fmt: skip
    assert scheme.units == units
    assert (scheme.nav_date, scheme.nav) == (date(2025, 12, 11), Decimal("109.77620"))
    assert scheme.value == (units * Decimal("109.77620")).quantize(PAISA, ROUND_HALF_UP)
    assert scheme.gain == scheme.value - scheme.invested
    assert scheme.absolute_return == (scheme.gain / scheme.invested).quantize(
        Decimal("0.000001"), ROUND_HALF_UP
    )
    assert scheme.average_cost == (scheme.invested / units).quantize(
        Decimal("0.0001"), ROUND_HALF_UP
    )
    assert scheme.first_allotment == date(2021, 4, 5)
    assert not scheme.stale
    assert summary.warnings == ()
    # F10: purchases (gross, duty included) on their NAV dates, value on as_of
    flows = [(lot.nav_date, -lot.amount) for lot in lots]
    flows.append((as_of, scheme.value))
    assert scheme.xirr == pytest.approx(solve_xirr(flows), abs=1e-7)
    assert summary.total.xirr == scheme.xirr
    assert summary.total.invested == scheme.invested
    assert summary.total.value == scheme.value


def test_mf_holiday_rolls_to_the_next_nav_day() -> None:
    # 22 Jan 2024 was an MF non-business day (F3; zerodha marketintel 2024-01-21)
    summary = run([sip(start_date=date(2023, 12, 1), day=22)], date(2024, 2, 29))
    jan = next(lot for lot in allotted(summary, ELSS) if lot.due_date == date(2024, 1, 22))
    assert (jan.nav_date, jan.nav) == (date(2024, 1, 23), Decimal("86.17260"))


def test_day_31_falls_on_month_ends_and_rolls_over_holidays() -> None:
    summary = run([sip(start_date=date(2023, 1, 1), day=31)], date(2023, 6, 30))
    lots = allotted(summary, ELSS)
    assert [lot.due_date for lot in lots] == [
        date(2023, 1, 31),
        date(2023, 2, 28),
        date(2023, 3, 31),
        date(2023, 4, 30),
        date(2023, 5, 31),
        date(2023, 6, 30),
    ]
    # 30 Apr 2023 was a Sunday and 1 May (Maharashtra Day) had no NAV: allotted on 2 May
    assert lots[3].nav_date == date(2023, 5, 2)
    assert [lot.nav_date for lot in lots] == [scan_on_or_after(ELSS, d.due_date)[0] for d in lots]


def test_no_stamp_duty_before_1_july_2020() -> None:
    summary = run([sip(start_date=date(2020, 1, 1), day=30)], date(2020, 12, 31))
    lots = allotted(summary, ELSS)
    for lot in lots:
        nav = scan_on_or_after(ELSS, lot.due_date)[1]
        if lot.nav_date < date(2020, 7, 1):
            assert (lot.stamp_duty, lot.net_amount) == (Decimal(0), Decimal(5000))
            assert lot.units == (Decimal(5000) / nav).quantize(MILLI, ROUND_DOWN)
        else:
            assert (lot.stamp_duty, lot.net_amount) == (DUTY_5000, Decimal("4999.75"))
    june = next(lot for lot in lots if lot.due_date == date(2020, 6, 30))
    assert (june.nav_date, june.stamp_duty) == (date(2020, 6, 30), Decimal(0))
    assert summary.total.stamp_duty == DUTY_5000 * 6  # Jul .. Dec 2020
    assert summary.total.invested == Decimal(5000) * 12


def test_pauses_end_date_step_up_and_amount_change() -> None:
    plan = sip(
        start_date=date(2021, 1, 10),
        day=10,
        end_date=date(2024, 6, 10),
        step_up=StepUp(StepUpKind.AMOUNT, Decimal(1000)),
        amount_changes=(AmountChange(date(2023, 7, 1), Decimal(10000)),),
        pauses=(Pause(date(2022, 3, 1), date(2022, 5, 31)),),
    )
    summary = run([plan], date(2025, 12, 11))
    lots = allotted(summary, ELSS)
    by_due = {lot.due_date: lot.amount for lot in lots}
    assert by_due[date(2021, 12, 10)] == 5000
    assert by_due[date(2022, 1, 10)] == 6000  # first anniversary of the start
    assert date(2022, 4, 10) not in by_due  # paused Mar-May 2022
    assert by_due[date(2023, 6, 10)] == 7000
    assert by_due[date(2023, 7, 10)] == 10000  # amount change resets the base
    assert by_due[date(2024, 6, 10)] == 10000  # step-up due 1 Jul 2024, after the end date
    assert max(by_due) == date(2024, 6, 10)
    assert len(lots) == 42 - 3
    assert summary.total.invested == sum(by_due.values())
    for lot in lots:
        assert lot.stamp_duty + lot.net_amount == lot.amount
        duty = (lot.amount * Decimal("0.005") / Decimal("100.005")).quantize(PAISA, ROUND_HALF_UP)
        assert lot.stamp_duty == duty


def test_instalments_after_the_history_ends_stay_pending() -> None:
    # 118454 (IDBI Equity Savings, merged) has no NAV after 27 Jul 2023
    summary = run([sip(IDBI, start_date=date(2023, 1, 1), day=10)], date(2023, 12, 31))
    (scheme,) = summary.schemes
    assert (scheme.instalments, scheme.pending, scheme.nav_gaps) == (7, 5, 0)
    assert scheme.invested == Decimal(5000) * 7
    assert scheme.nav_date == date(2023, 7, 27)
    assert scheme.nav == scan_on_or_before(IDBI, date(2023, 12, 31))[1]
    assert scheme.stale
    assert summary.total.pending == 5
    assert any("2023-07-27" in w and "out of date" in w for w in summary.warnings)
    pending = [lot for lot in scheme.lots if lot.status is InstalmentStatus.PENDING]
    assert [lot.due_date.month for lot in pending] == [8, 9, 10, 11, 12]
    assert all(lot.units is None and lot.nav_date is None for lot in pending)


def test_as_of_in_the_past_uses_only_what_was_known_then() -> None:
    later = run([sip()], date(2025, 12, 11))
    past = run([sip()], date(2022, 6, 4))  # a Saturday
    (scheme,) = past.schemes
    assert scheme.instalments == 14  # Apr 2021 .. May 2022; 5 Jun 2022 is after as_of
    assert scheme.nav_date == scan_on_or_before(ELSS, date(2022, 6, 4))[0] == date(2022, 6, 3)
    assert list(scheme.lots) == [
        lot for lot in later.schemes[0].lots if lot.due_date <= date(2022, 6, 4)
    ]


def test_an_instalment_due_on_as_of_waits_for_its_nav() -> None:
    # due Saturday 5 Jun 2021; its NAV (Monday 7 Jun) is not known on the Saturday
    on_saturday = run([sip()], date(2021, 6, 5))
    assert (on_saturday.total.instalments, on_saturday.total.pending) == (2, 1)
    assert on_saturday.total.invested == 10000
    on_monday = run([sip()], date(2021, 6, 7))
    assert (on_monday.total.instalments, on_monday.total.pending) == (3, 0)


def test_a_gap_of_six_years_is_not_a_holiday() -> None:
    # 118395 has no NAV from 29 Oct 2013 to 14 Aug 2019
    plan = sip(BANDHAN, start_date=date(2013, 6, 1), day=1)
    as_of = date(2020, 6, 30)
    summary = run([plan], as_of)
    (scheme,) = summary.schemes
    gaps = [lot for lot in scheme.lots if lot.status is InstalmentStatus.NAV_GAP]
    expected_gaps = [
        s.due_date
        for s in schedule_of(plan, as_of)
        if (scan_on_or_after(BANDHAN, s.due_date)[0] - s.due_date).days > 10
    ]
    assert [lot.due_date for lot in gaps] == expected_gaps
    assert expected_gaps[0] == date(2013, 11, 1)
    assert expected_gaps[-1] == date(2019, 8, 1)  # next NAV 14 Aug: 13 days is too far
    assert scheme.nav_gaps == len(expected_gaps) == 70
    assert scheme.instalments == 5 + 10  # Jun-Oct 2013 and Sep 2019-Jun 2020
    assert scheme.invested == Decimal(5000) * 15
    assert any("gap in the NAV history" in w for w in summary.warnings)
    assert summary.total.nav_gaps == 70
    # with a long enough roll-forward they would all be bought on 14 Aug 2019
    rolled = run([plan], as_of, ValuationOptions(max_roll_days=3000))
    assert rolled.total.nav_gaps == 0
    assert {lot.nav_date for lot in allotted(rolled, BANDHAN) if lot.due_date in expected_gaps} == {
        date(2019, 8, 14)
    }


def test_weekend_navs_never_price_a_purchase_of_a_non_liquid_scheme() -> None:
    # ELSS (an equity scheme) has NAVs on Sun 31 Mar 2024, Sat 31 Aug 2024, Sat 30 Nov 2024,
    # Sat 31 May 2025, Sun 31 Aug 2025 and Sun 30 Nov 2025 (month-end valuations). A day-31
    # SIP due on them is processed on the next business day, at that day's NAV.
    summary = run([sip(start_date=date(2024, 1, 1), day=31)], date(2025, 12, 11))
    by_due = {lot.due_date: lot for lot in allotted(summary, ELSS)}
    rolled = {
        date(2024, 3, 31): date(2024, 4, 1),  # Sunday -> Monday
        date(2024, 8, 31): date(2024, 9, 2),  # Saturday -> Monday
        date(2024, 11, 30): date(2024, 12, 2),
        date(2025, 5, 31): date(2025, 6, 2),
        date(2025, 8, 31): date(2025, 9, 1),
        date(2025, 11, 30): date(2025, 12, 1),
    }
    for due, business_day in rolled.items():
        assert due in dict(raw(ELSS))  # the weekend NAV is in the file...
        weekday_nav = dict(raw(ELSS))[business_day]
        assert (by_due[due].nav_date, by_due[due].nav) == (business_day, weekday_nav)  # ...unused
    # The weekend NAV still values the holding on a weekend as_of (it is the latest NAV).
    on_sunday = run([sip(start_date=date(2024, 1, 1), day=31)], date(2024, 3, 31))
    assert (on_sunday.schemes[0].nav_date, on_sunday.schemes[0].nav) == (
        date(2024, 3, 31), Decimal("94.73140")
    )
    assert on_sunday.total.pending == 1  # due Sunday 31 Mar: its business day is Monday


def test_liquid_fund_gets_the_nav_of_the_day_before_its_business_day() -> None:
    # 119800 (SBI Liquid) prices every calendar day. F2: funds realised on business day T get
    # the NAV of T - 1 day. Day-1 SIP: Mon 1 Jan 2024 -> Sun 31 Dec 2023's NAV; Sat 1 Jun 2024
    # -> T = Mon 3 Jun -> Sun 2 Jun's NAV; Wed 1 May 2024 -> Tue 30 Apr's NAV.
    summary = run([sip(LIQUID, start_date=date(2024, 1, 1), day=1)], date(2024, 12, 31))
    by_due = {lot.due_date: lot for lot in allotted(summary, LIQUID)}
    navs = dict(raw(LIQUID))
    for due, nav_day in (
        (date(2024, 1, 1), date(2023, 12, 31)),
        (date(2024, 6, 1), date(2024, 6, 2)),
        (date(2024, 5, 1), date(2024, 4, 30)),
        (date(2024, 9, 1), date(2024, 9, 1)),  # Sunday: T = Mon 2 Sep, NAV of Sun 1 Sep
    ):
        assert (by_due[due].nav_date, by_due[due].nav) == (nav_day, navs[nav_day])
    # Due Saturday 1 Jun: on Sunday 2 Jun its business day has not come (pending), on Monday
    # 3 Jun it is allotted at Sunday's NAV.
    plan = [sip(LIQUID, start_date=date(2024, 6, 1), day=1)]
    assert run(plan, date(2024, 6, 2)).total.pending == 1
    assert run(plan, date(2024, 6, 3)).total.instalments == 1


def test_stamp_duty_follows_the_business_day_of_a_liquid_purchase() -> None:
    # F1 applies to purchases from 1 Jul 2020. Liquid, due Wed 1 Jul 2020: processed that day
    # at Tue 30 Jun's NAV, and pays duty (5000 x 0.005 / 100.005 = 0.2499875 -> 0.25).
    # ELSS due Tue 30 Jun 2020: processed (and priced) that day, no duty.
    liquid = run([sip(LIQUID, start_date=date(2020, 7, 1), day=1)], date(2020, 7, 2))
    (lot,) = allotted(liquid, LIQUID)
    assert (lot.nav_date, lot.stamp_duty) == (date(2020, 6, 30), DUTY_5000)
    elss = run([sip(start_date=date(2020, 6, 30), day=30)], date(2020, 7, 2))
    (lot,) = allotted(elss, ELSS)
    assert (lot.nav_date, lot.stamp_duty) == (date(2020, 6, 30), Decimal(0))


def test_several_sips_on_one_scheme_add_up() -> None:
    as_of = date(2025, 6, 30)
    sips = [
        sip(id="a", day=5),
        sip(id="b", day=20, amount=Decimal(2500), start_date=date(2022, 1, 1)),
        sip(NIFTY, id="c", day=12, start_date=date(2019, 3, 1), amount=Decimal(1000)),
        sip(id="gone", deleted=True),
    ]
    summary = run(sips, as_of)
    assert [s.scheme_code for s in summary.schemes] == [ELSS, NIFTY]  # "Scheme 120503" first
    elss = summary.schemes[0]
    alone = [run([s], as_of).schemes[0] for s in sips[:2]]
    assert elss.instalments == sum(s.instalments for s in alone)
    assert elss.invested == sum(s.invested for s in alone)
    assert elss.units == sum(s.units for s in alone)
    dues = [lot.due_date for lot in elss.lots]
    assert dues == sorted(dues)
    assert {lot.sip_id for lot in elss.lots} == {"a", "b"}
    total = summary.total
    assert total.invested == sum(s.invested for s in summary.schemes)
    assert total.value == sum(s.value for s in summary.schemes)
    assert total.first_allotment == date(2019, 3, 12)
    flows = [
        (lot.nav_date, -lot.amount)
        for s in summary.schemes
        for lot in s.lots
        if lot.status is InstalmentStatus.ALLOTTED
    ]
    flows.append((as_of, total.value))
    assert total.xirr == pytest.approx(solve_xirr(flows), abs=1e-7)  # type: ignore[arg-type]


def test_a_scheme_without_any_nav_is_pending_and_warned_about() -> None:
    summary = run([sip(999999, start_date=date(2025, 1, 1))], date(2025, 6, 30))
    (scheme,) = summary.schemes
    assert (scheme.instalments, scheme.pending, scheme.value, scheme.nav) == (
        0,
        6,
        Decimal(0),
        None,
    )
    assert scheme.stale
    assert scheme.xirr is None
    assert scheme.absolute_return is None
    assert scheme.average_cost is None
    assert summary.warnings == (
        "999999 Scheme 999999: no NAV history at all; its 6 instalments are pending "
        "(`mftrack nav update` fetches it)",
    )


def test_under_one_year_shows_absolute_return_only() -> None:
    young = run([sip()], date(2022, 4, 4))  # first allotment 5 Apr 2021
    assert young.schemes[0].xirr is None
    assert young.total.xirr is None
    assert young.total.absolute_return is not None
    assert young.total.absolute_return == (young.total.gain / young.total.invested).quantize(
        Decimal("0.000001"), ROUND_HALF_UP
    )
    grown = run([sip()], date(2022, 4, 5))
    assert grown.total.xirr is not None


def test_allot_gives_the_same_lot_as_summarise() -> None:
    plan = sip(day=31, start_date=date(2020, 1, 1), step_up=StepUp(StepUpKind.PERCENT, Decimal(7)))
    as_of = date(2021, 7, 31)  # a Saturday and a due date: its NAV comes on Monday 2 Aug
    summary = run([plan], as_of)
    one_by_one = [allot(s, series(ELSS), as_of) for s in schedule_of(plan, as_of)]
    assert one_by_one == list(summary.schemes[0].lots)
    assert one_by_one[-1].status is InstalmentStatus.PENDING
    assert one_by_one[-1].due_date == as_of
    assert one_by_one[-2].amount == Decimal(5350)  # 7 % step-up from 1 Jan 2021


def test_value_series_agrees_with_the_summary() -> None:
    as_of = date(2024, 8, 14)
    sips = [sip(), sip(NIFTY, id="n", start_date=date(2021, 9, 1), day=15)]
    summary = run(sips, as_of)
    navs = {ELSS: series(ELSS), NIFTY: series(NIFTY)}
    chart = value_series(summary, navs)
    assert chart.total[0].on == date(2021, 4, 30)
    assert chart.total[-1].on == as_of
    assert all(p.on.month != q.on.month for p, q in zip(chart.total, chart.total[1:], strict=False))
    assert chart.total[-1].invested == summary.total.invested
    assert chart.total[-1].value == summary.total.value
    for scheme in summary.schemes:
        last = chart.by_scheme[scheme.scheme_code][-1]
        assert (last.invested, last.value) == (scheme.invested, scheme.value)
    invested = [p.invested for p in chart.total]
    assert invested == sorted(invested)
    # an independent month end: 30 Jun 2021 holds the ELSS lots of Apr, May and Jun
    june = next(p for p in chart.by_scheme[ELSS] if p.on == date(2021, 6, 30))
    units = sum((lot.units for lot in allotted(summary, ELSS)[:3]), Decimal(0))
    nav = scan_on_or_before(ELSS, date(2021, 6, 30))[1]
    assert june.invested == 15000
    assert june.value == (units * nav).quantize(PAISA, ROUND_HALF_UP)
    assert value_series(summary, navs, dates=[date(2030, 1, 1)]).total == ()
    # lots refer to NAVs by position, so another history would silently misprice them
    shorter = NavSeries(raw(ELSS)[100:])
    with pytest.raises(ValueError, match="not the NAVs the summary used"):
        value_series(summary, {**navs, ELSS: shorter})


plans = st.builds(
    lambda code, day, start, amount, years: sip(
        code,
        day=day,
        start_date=start,
        amount=Decimal(amount),
        end_date=start + timedelta(days=365 * years),
    ),
    st.sampled_from([ELSS, NIFTY, IDBI, LIQUID, BANDHAN, SMALL_CAP]),
    st.integers(min_value=1, max_value=31),
    st.dates(min_value=date(2013, 1, 1), max_value=date(2025, 6, 30)),
    st.sampled_from([500, 1000, 1234, 5000, 99999]),
    st.integers(min_value=0, max_value=6),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(plans, min_size=1, max_size=3), st.dates(date(2014, 1, 1), date(2025, 12, 31)))
def test_summary_invariants_on_real_histories(sips: list[Sip], as_of: date) -> None:
    sips = [replace(s, id=f"s{i}") for i, s in enumerate(sips)]
    summary = run(sips, as_of)
    scheduled = sum(len(schedule_of(s, as_of)) for s in sips)
    assert sum(len(s.lots) for s in summary.schemes) == scheduled
    for scheme in summary.schemes:
        lots = list(scheme.lots)
        mine = allotted(summary, scheme.scheme_code)
        assert scheme.instalments + scheme.pending + scheme.nav_gaps == len(lots)
        assert scheme.invested == sum((lot.amount for lot in mine), Decimal(0))
        assert scheme.units == sum((lot.units for lot in mine), Decimal(0))
        for lot in lots:
            status, nav_date = reference_allotment(scheme.scheme_code, lot.due_date, as_of)
            assert (lot.status, lot.nav_date) == (status, nav_date)
        for lot in mine:
            # F1 by hand, on the day the purchase is processed (liquid: the day after its NAV)
            processed = lot.nav_date + timedelta(days=1 if scheme.scheme_code == LIQUID else 0)
            duty = (lot.amount * 5 / Decimal("100005")).quantize(PAISA, ROUND_HALF_UP)
            assert lot.stamp_duty == (duty if processed >= date(2020, 7, 1) else 0)
            assert lot.stamp_duty + lot.net_amount == lot.amount
            assert lot.nav_date <= as_of
            assert 0 <= lot.net_amount - lot.units * lot.nav < lot.nav * MILLI
        if scheme.nav is not None:
            assert scheme.value == (scheme.units * scheme.nav).quantize(PAISA, ROUND_HALF_UP)
    assert summary.total.invested == sum(s.invested for s in summary.schemes)
    chart = value_series(summary, {c: series(c) for c in {s.scheme_code for s in sips}})
    if chart.total:
        assert (chart.total[-1].invested, chart.total[-1].value) == (
            summary.total.invested,
            summary.total.value,
        )


def test_stale_threshold_is_a_parameter() -> None:
    as_of = date(2025, 12, 11) + timedelta(days=5)
    assert not run([sip()], as_of).schemes[0].stale
    assert run([sip()], as_of, ValuationOptions(stale_after_days=3)).schemes[0].stale


def test_late_allotments_are_found_on_the_columns_without_building_lots() -> None:
    # ELSS without its NAVs of Mon 5 to Fri 9 Jul 2021: the instalment due Monday 5 Jul can
    # only get Monday 12 Jul's NAV, 7 days late (> 4, so warned; <= 10, so not a gap).
    hole = {date(2021, 7, d) for d in range(5, 10)}
    navs = NavSeries((d, nav) for d, nav in raw(ELSS) if d not in hole)
    assert navs.first_on_or_after(date(2021, 7, 5)) == scan_on_or_after(ELSS, date(2021, 7, 12))
    builds = 0

    def count_builds(frame, event, _arg) -> None:  # observes calls; replaces nothing
        nonlocal builds
        if event == "call" and frame.f_code is Lots._build.__code__:
            builds += 1

    sys.setprofile(count_builds)
    try:
        summary = summarise([sip()], {ELSS: navs}, {ELSS: "ELSS"}, date(2022, 3, 31))
    finally:
        sys.setprofile(None)
    (warning,) = summary.warnings
    assert "120503 ELSS: 1 instalment (first due 2021-07-05) allotted at a NAV more than 4" in (
        warning
    )
    assert builds == 0  # 12 instalments valued and checked without one Instalment object
    late = [lot for lot in summary.schemes[0].lots if lot.due_date == date(2021, 7, 5)]
    assert late[0].nav_date == date(2021, 7, 12)


def test_xirr_values_are_dated_on_their_nav_dates_and_the_total_on_the_freshest() -> None:
    # Saturday 20 Dec 2025: ELSS's last NAV is Thu 11 Dec 2025; IDBI's history stops 27 Jul 2023.
    as_of = date(2025, 12, 20)
    plans = [sip(), sip(IDBI, start_date=date(2021, 1, 10), day=10)]
    summary = run(plans, as_of)
    elss, idbi = (next(s for s in summary.schemes if s.scheme_code == c) for c in (ELSS, IDBI))
    assert (elss.nav_date, idbi.nav_date) == (date(2025, 12, 11), date(2023, 7, 27))
    elss_flows = [(lot.nav_date, -lot.amount) for lot in allotted(summary, ELSS)]
    idbi_flows = [(lot.nav_date, -lot.amount) for lot in allotted(summary, IDBI)]
    idbi_value = (
        sum((lot.units for lot in allotted(summary, IDBI)), Decimal(0)) * scan_on_or_before(
            IDBI, as_of)[1]
    ).quantize(PAISA, ROUND_HALF_UP)
    assert idbi.value == idbi_value
    # each scheme's value on its own NAV date, not on as_of
    assert idbi.xirr == pytest.approx(
        solve_xirr([*idbi_flows, (date(2023, 7, 27), idbi_value)]), abs=1e-7
    )
    assert elss.xirr == pytest.approx(
        solve_xirr([*elss_flows, (date(2025, 12, 11), elss.value)]), abs=1e-7
    )
    # the total's value on the freshest NAV date of all schemes (11 Dec 2025)
    total_flows = [*elss_flows, *idbi_flows, (date(2025, 12, 11), elss.value + idbi_value)]
    assert summary.total.xirr == pytest.approx(solve_xirr(total_flows), abs=1e-7)


def test_xirr_is_the_exact_one_with_whole_rupee_and_paise_amounts_on_one_date() -> None:
    # The valuation sums purchases per NAV date as ints when amounts are whole rupees (cheaper
    # to turn into XIRR's floats) and as Decimals otherwise: the rates must be exactly those of
    # the Decimal sums, per scheme and in total, when both kinds fall on the same dates.
    as_of = date(2025, 12, 11)
    plans = [
        sip(),  # 5,000 on the 5th
        sip(id="paise", amount=Decimal("1234.56")),  # the same days, paise
        sip(id="step", amount=Decimal(3000), step_up=StepUp(StepUpKind.PERCENT, Decimal("7.5"))),
        sip(NIFTY, id="nifty", amount=Decimal("999.99"), start_date=date(2019, 2, 10), day=10),
    ]
    summary = run(plans, as_of)
    assert len({lot.amount % 1 == 0 for lot in allotted(summary, ELSS)}) == 2  # both kinds
    total: list[tuple[date, Decimal]] = []
    for scheme in summary.schemes:
        flows = [(lot.nav_date, -lot.amount) for lot in allotted(summary, scheme.scheme_code)]
        flows.sort(key=lambda flow: flow[0])  # the valuation's order: by NAV date
        assert scheme.nav_date is not None
        assert scheme.xirr == xirr([*flows, (scheme.nav_date, scheme.value)])  # exactly
        total += flows
    valued_on = max(s.nav_date for s in summary.schemes if s.nav_date is not None)
    value = sum((s.value for s in summary.schemes), Decimal(0))
    assert summary.total.xirr == xirr([*total, (valued_on, value)])


def test_the_one_year_test_is_measured_to_the_nav_date() -> None:
    # First IDBI allotment 1 Sep 2022 and its last NAV 27 Jul 2023: under a year apart, so
    # no XIRR, although as_of is more than two years after the first allotment.
    summary = run([sip(IDBI, start_date=date(2022, 9, 1), day=1)], date(2025, 1, 31))
    (idbi,) = summary.schemes
    assert idbi.first_allotment == scan_on_or_after(IDBI, date(2022, 9, 1))[0]
    assert idbi.nav_date == date(2023, 7, 27)
    assert idbi.xirr is None and summary.total.xirr is None
    assert idbi.absolute_return is not None


# Weekend NAV dates of the non-liquid files (month- and year-end valuations, e.g. 31 Mar 2024).
WEEKEND_NAVS = sorted(
    {d for code in (ELSS, SMALL_CAP, BANDHAN) for d, _ in raw(code) if d.weekday() >= 5}
)


@settings(max_examples=150, deadline=None)
@given(
    st.sampled_from([ELSS, SMALL_CAP, BANDHAN, LIQUID]),
    st.sampled_from(WEEKEND_NAVS),
    st.integers(min_value=-3, max_value=3),
    st.integers(min_value=0, max_value=12),
)
def test_instalments_around_weekend_navs_follow_the_nav_rules(
    code: int, around: date, shift: int, wait: int
) -> None:
    due = around + timedelta(days=shift)
    as_of = due + timedelta(days=wait)
    rule = nav_rules({code: category(code)}).get(code, NavRule.NEXT_BUSINESS_DAY)
    assert (rule is NavRule.PREVIOUS_DAY) == (code == LIQUID)
    lot = allot(ScheduledInstalment("s", code, due, Decimal(5000)), series(code), as_of,
                rule=rule)
    status, nav_date = reference_allotment(code, due, as_of)
    assert (lot.status, lot.nav_date) == (status, nav_date)
    if nav_date is not None:
        assert lot.nav == dict(raw(code))[nav_date]
        assert code == LIQUID or nav_date.weekday() < 5
