"""Open lots (LT date, ELSS lock-in) and the harvest planner (domain-rules F4, F6, F9)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from mftrack.domain.lots import Lot
from mftrack.domain.money import ZERO
from mftrack.domain.tax.classes import TaxClass, TaxClassChoice
from mftrack.domain.tax.harvest import EXIT_LOAD_NOTE, plan_harvest
from mftrack.domain.tax.holdings import elss_free_from, open_lot_view
from mftrack.domain.tax.rules import Term
from mftrack.domain.tax.schemes import SchemeTax

D = Decimal
TODAY = date(2026, 12, 5)  # FY 2026-27: exemption ₹1.25 L


def _scheme(code: int, *, elss: bool = False, cls: TaxClass = TaxClass.EQUITY) -> SchemeTax:
    return SchemeTax(code, f"s{code}", None, TaxClassChoice(cls, "category", ""), elss=elss)


def test_an_elss_lot_is_locked_for_three_years_from_its_own_allotment() -> None:
    # F4: 3 years from each instalment's allotment; free the day after the 3rd anniversary.
    assert elss_free_from(date(2024, 3, 15)) == date(2027, 3, 16)
    lot = Lot(120503, date(2024, 3, 15), D("10.000"), D("1000.00"))
    view = open_lot_view(lot, _scheme(120503, elss=True), TODAY, D("120.0000"))
    assert view.locked(TODAY) and not view.locked(date(2027, 3, 16))
    assert view.long_term_from == date(2025, 3, 16)
    assert view.if_sold is not None and view.if_sold.term is Term.LONG
    assert view.if_sold.gain == D("200.00")


def test_harvest_skips_locked_elss_and_short_term_lots_and_stops_there() -> None:
    elss = [
        Lot(1, date(2023, 1, 2), D("100"), D("10000.00")),  # free since 3-Jan-2026
        Lot(1, date(2024, 6, 3), D("100"), D("10000.00")),  # locked until 4-Jun-2027
        Lot(1, date(2021, 1, 4), D("1"), D("1.00")),
    ]  # older, but listed after: never sold
    other = [
        Lot(2, date(2025, 1, 2), D("50"), D("5000.00")),  # long term
        Lot(2, date(2026, 6, 1), D("50"), D("5000.00")),
    ]  # short term
    plan = plan_harvest({1: elss, 2: other}, {1: _scheme(1, elss=True), 2: _scheme(2)},
                        {1: D("150"), 2: D("120")}, TODAY, realised_ltcg=ZERO)  # fmt: skip
    assert plan.room == D(125000)
    assert [(p.scheme_code, p.units, p.ltcg) for p in plan.picks] == [
        (1, D("100"), D("5000.00")), (2, D("50"), D("1000.00"))]  # fmt: skip
    assert [why for _, why in plan.stops] == [
        "ELSS units allotted 2024-06-03 are locked (free from 2027-06-04)",
        "units allotted 2026-06-01 are still short term",
    ]
    assert plan.notes == [EXIT_LOAD_NOTE]


def test_harvest_uses_the_room_left_after_what_was_realised_and_splits_the_last_lot() -> None:
    # Exemption 1,25,000, already realised 1,20,000: room 5,000. The lot gains 50 a unit,
    # so 100 units of its 300 fill the room exactly.
    lots = {7: [Lot(7, date(2020, 1, 1), D("300"), D("15000.00"))]}
    plan = plan_harvest(lots, {7: _scheme(7)}, {7: D("100")}, TODAY, D("120000.00"))
    assert plan.room == D("5000.00")
    assert [(p.units, p.proceeds, p.ltcg) for p in plan.picks] == [
        (D("100.000"), D("10000.00"), D("5000.00"))]  # fmt: skip
    assert plan.stops == [(7, "the exemption is used up")]
    # Nothing left: nothing planned.
    full = plan_harvest(lots, {7: _scheme(7)}, {7: D("100")}, TODAY, D("130000.00"))
    assert full.room == ZERO and full.picks == []


def test_harvest_leaves_non_equity_schemes_alone() -> None:
    lots = {3: [Lot(3, date(2020, 1, 1), D("10"), D("100.00"))]}
    plan = plan_harvest(lots, {3: _scheme(3, cls=TaxClass.DEBT)}, {3: D("20")}, TODAY, ZERO)
    assert plan.picks == [] and plan.stops == []


lot_units = st.decimals(min_value=D("0.001"), max_value=D("3000"), places=3)
costs = st.decimals(min_value=D("1"), max_value=D("400"), places=2)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.lists(st.tuples(st.integers(1, 2500), lot_units, costs), min_size=1, max_size=6),
             min_size=1, max_size=4),
    st.decimals(min_value=D("1"), max_value=D("500"), places=4),
    st.decimals(min_value=D("-50000"), max_value=D("200000"), places=2),
    st.booleans(),
)  # fmt: skip
def test_harvest_never_exceeds_the_exemption_and_sells_fifo(schemes, nav, realised, elss) -> None:
    open_lots, infos = {}, {}
    for code, spec in enumerate(schemes, start=1):
        days = sorted(spec, key=lambda s: -s[0])  # oldest first: most days before TODAY
        open_lots[code] = [Lot(code, TODAY - timedelta(days=d), u, (u * c).quantize(D("0.01")))
                           for d, u, c in days]  # fmt: skip
        infos[code] = _scheme(code, elss=elss and code == 1)
    plan = plan_harvest(open_lots, infos, dict.fromkeys(open_lots, nav), TODAY, realised)
    assert plan.planned_ltcg <= plan.room
    for pick in plan.picks:
        lots = open_lots[pick.scheme_code]
        # A prefix of the lots, oldest first; only the last may be partial.
        for k, row in enumerate(pick.rows):
            assert row.acquired == lots[k].acquired
            assert row.units == lots[k].units or k == len(pick.rows) - 1
            assert row.term is Term.LONG
            assert not infos[pick.scheme_code].elss or elss_free_from(row.acquired) <= TODAY


def test_once_the_exemption_is_used_up_the_plan_says_so_once_and_stops() -> None:
    # Scheme 1's gain fills the room (to the paisa, by a partial lot); schemes 2 and 3 are
    # not each told "the exemption is used up" for the paise left over.
    big = [Lot(1, date(2020, 1, 1), D("10000"), D("10000.00"))]  # gain ₹19 a unit at 20
    small = [Lot(k, date(2020, 1, 1), D("10"), D("10.00")) for k in (2, 3)]
    plan = plan_harvest({1: big, 2: small[:1], 3: small[1:]},
                        {k: _scheme(k) for k in (1, 2, 3)}, {1: D(20), 2: D(20), 3: D(20)},
                        TODAY, realised_ltcg=ZERO)  # fmt: skip
    assert [p.scheme_code for p in plan.picks] == [1]
    assert plan.stops == [(1, "the exemption is used up")]
    assert plan.planned_ltcg <= plan.room
