"""Realised gains lot by lot, grandfathering, STT and Schedule 112A (domain-rules F1, F6, F7).

The 31-Jan-2018 NAV used is real: Axis ELSS Tax Saver Direct Growth (120503, INF846K01EW2),
44.8938 in casparser-isin's table and in mfapi's history for 31-01-2018. Purchase and sale
amounts are hand-picked so each branch of the rule shows.
"""

from __future__ import annotations

import csv
import json
from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from mftrack.domain.lots import Lot, LotMatch, SchemeLots, consume_fifo
from mftrack.domain.money import ZERO, paisa
from mftrack.domain.tax.classes import TaxClass, TaxClassChoice
from mftrack.domain.tax.gains import SaleTax, by_fy, gain_row, realised_rows, totals
from mftrack.domain.tax.rules import Term
from mftrack.domain.tax.schedule_112a import headers, rows_112a
from mftrack.domain.tax.schemes import SchemeTax
from tests.amfi_data import data_file, read_text

D = Decimal
AXIS_ELSS = 120503
FMV = D("44.8938")


def _scheme(code: int = AXIS_ELSS, cls: TaxClass = TaxClass.EQUITY, fmv: Decimal | None = FMV,
            elss: bool = False) -> SchemeTax:  # fmt: skip
    return SchemeTax(code, f"scheme {code}", "INF846K01EW2", TaxClassChoice(cls, "category", ""),
                     elss=elss, fmv_nav_2018=fmv)  # fmt: skip


def _match(acquired: date, units: str, cost: str, sold: date, proceeds: str) -> LotMatch:
    return LotMatch(Lot(AXIS_ELSS, acquired, D(units), D(cost)), sold, D(proceeds), "sale-1")


def test_the_fmv_is_the_real_31_jan_2018_nav_in_both_sources() -> None:
    table = read_text("casparser-isin/casparser-isin-2026.6.9_nav20180131.csv")
    assert "INF846K01EW2,44.8938" in table.splitlines()
    history = json.loads(data_file(
        "mfapi/mfapi_120503_axis-elss-tax-saver-direct-growth_2013-01-02_2025-12-11.json"
    ).read_text())  # fmt: skip
    assert {"date": "31-01-2018", "nav": "44.89380"} in history["data"]


def test_grandfathering_when_the_2018_nav_is_above_the_cost() -> None:
    # s.55(2)(ac): max(4,000, min(100 x 44.8938 = 4,489.38, 5,000)) = 4,489.38.
    row = gain_row(_match(date(2017, 6, 1), "100", "4000.00", date(2019, 5, 10), "5000.00"),
                   _scheme())  # fmt: skip
    assert (row.term, row.grandfathered_cost, row.gain, row.taxable_gain) == (
        Term.LONG, D("4489.38"), D("1000.00"), D("510.62"))  # fmt: skip


def test_grandfathering_when_the_2018_nav_is_below_the_cost() -> None:
    # max(4,600, min(4,489.38, 5,000)) = 4,600: the actual cost stands.
    row = gain_row(_match(date(2017, 6, 1), "100", "4600.00", date(2019, 5, 10), "5000.00"),
                   _scheme())  # fmt: skip
    assert (row.grandfathered_cost, row.taxable_gain) == (D("4600.00"), D("400.00"))


def test_grandfathering_when_the_2018_nav_is_above_the_sale_value() -> None:
    # max(4,000, min(4,489.38, 4,200)) = 4,200: no gain, and the FMV never creates a loss.
    row = gain_row(_match(date(2017, 6, 1), "100", "4000.00", date(2019, 5, 10), "4200.00"),
                   _scheme())  # fmt: skip
    assert (row.grandfathered_cost, row.taxable_gain, row.gain) == (
        D("4200.00"), D("0.00"), D("200.00"))  # fmt: skip
    loss = gain_row(_match(date(2017, 6, 1), "100", "4000.00", date(2019, 5, 10), "3800.00"),
                    _scheme())  # fmt: skip
    assert (loss.grandfathered_cost, loss.taxable_gain) == (D("4000.00"), D("-200.00"))


def test_no_grandfathering_after_31_jan_2018_or_without_a_known_nav() -> None:
    later = gain_row(_match(date(2018, 2, 1), "100", "4000.00", date(2019, 5, 10), "5000.00"),
                     _scheme())  # fmt: skip
    assert later.grandfathered_cost is None and later.taxable_gain == D("1000.00")
    unknown = gain_row(_match(date(2017, 6, 1), "100", "4000.00", date(2019, 5, 10), "5000.00"),
                       _scheme(fmv=None))  # fmt: skip
    assert unknown.grandfathered_cost is None
    assert "no NAV of 31-Jan-2018" in unknown.notes[0]


def test_stt_is_shown_and_never_deducted() -> None:
    # Finance Act 2013: 0.001 % of the sale value of equity-oriented units sold to the fund.
    m = _match(date(2022, 1, 3), "200", "80000.00", date(2024, 9, 2), "100000.00")
    estimated = gain_row(m, _scheme())
    assert (estimated.stt, estimated.stt_estimated) == (D("1.00"), True)
    assert estimated.taxable_gain == D("20000.00")  # proceeds - cost, STT not deducted
    # Recorded STT of ₹1.20 on a 400-unit sale: this 200-unit lot carries half of it.
    recorded = gain_row(m, _scheme(), SaleTax(units=D(400), stt=D("1.20")))
    assert (recorded.stt, recorded.stt_estimated, recorded.taxable_gain) == (
        D("0.60"), False, D("20000.00"))  # fmt: skip
    debt = gain_row(m, _scheme(cls=TaxClass.DEBT))
    assert debt.stt == ZERO


def _lots_sold_on_both_sides_of_23_jul_2024() -> dict[int, SchemeLots]:
    lots = [Lot(AXIS_ELSS, date(2017, 6, 1), D("100"), D("4000.00")),
            Lot(AXIS_ELSS, date(2022, 5, 2), D("100"), D("7000.00")),
            Lot(AXIS_ELSS, date(2023, 5, 2), D("100"), D("8000.00"))]  # fmt: skip
    rest, first = consume_fifo(lots, D(150), sold_on=date(2024, 7, 22), proceeds=D("15000.00"),
                               sale_id="a")  # fmt: skip
    rest, second = consume_fifo(rest, D(100), sold_on=date(2024, 7, 23), proceeds=D("11000.00"),
                                sale_id="b")  # fmt: skip
    return {AXIS_ELSS: SchemeLots(AXIS_ELSS, tuple(rest), (*first, *second))}


def test_a_sale_across_23_jul_2024_splits_rules_and_schedule_112a_rows(tmp_path) -> None:
    rows = realised_rows(_lots_sold_on_both_sides_of_23_jul_2024(), {AXIS_ELSS: _scheme()})
    # Sale a (22-Jul, 150 units for 15,000): the 2017 lot and half the 2022 lot; sale b (23-Jul,
    # 100 units for 11,000): the rest of the 2022 lot and half the 2023 lot (14 months: long).
    assert [(r.sold, r.acquired, r.units, r.cost, r.proceeds, r.rule.rule) for r in rows] == [
        (date(2024, 7, 22), date(2017, 6, 1), D(100), D("4000.00"), D("10000.00"),
         "equity-lt-2018"),
        (date(2024, 7, 22), date(2022, 5, 2), D(50), D("3500.00"), D("5000.00"), "equity-lt-2018"),
        (date(2024, 7, 23), date(2022, 5, 2), D(50), D("3500.00"), D("5500.00"), "equity-lt-2024"),
        (date(2024, 7, 23), date(2023, 5, 2), D(50), D("4000.00"), D("5500.00"), "equity-lt-2024"),
    ]  # fmt: skip
    fy = by_fy(rows)["2024-25"]
    t = totals(fy.rows)
    assert (t.proceeds, t.cost, t.long_gain, t.short_gain) == (
        D("26000.00"), D("15000.00"), D("11000.00"), ZERO)  # fmt: skip
    # Taxable: 10,000 - 4,489.38 (grandfathered) + 1,500 + 2,000 + 1,500 = 10,510.62.
    assert fy.equity_ltcg == t.long_taxable == D("10510.62")
    table = rows_112a(fy.rows, {AXIS_ELSS: _scheme()})
    # One grandfathered (BE) row; the after-2018 units one row per side of 23-Jul-2024.
    assert [(r.acquired, r.transferred, r.units, r.full_value, r.cost) for r in table] == [
        ("AE", "AE", D(100), D("11000.00"), D("7500.00")),
        ("AE", "BE", D(50), D("5000.00"), D("3500.00")),
        ("BE", "BE", D(100), D("10000.00"), D("4000.00")),
    ]
    assert len(headers(2024)) == 15 and len(headers(2023)) == 14
    be = next(r for r in table if r.acquired == "BE")
    # 100 units sold at 100: FMV 4,489.38 < 10,000, cost 4,000 -> 7 = 4,489.38, 14 = 5,510.62.
    cells = dict(zip(headers(2024), be.cells(True), strict=True))
    assert cells["Cost of acquisition without indexation(7)"] == "4489.38"
    assert cells["Balance(14) = 6 - 13"] == "5510.62"
    assert cells["Fair Market Value per share/unit as on 31st January 2018(10)"] == "44.8938"
    path = tmp_path / "112a.csv"
    with path.open("w", newline="") as fh:
        csv.writer(fh).writerows([headers(2024), *(r.cells(True) for r in table)])
    assert len(list(csv.reader(path.open()))) == 4


units = st.decimals(min_value=D("0.001"), max_value=D("500"), places=3)
navs = st.decimals(min_value=D("5"), max_value=D("500"), places=4)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.booleans(), units, navs, st.integers(1, 200)), min_size=1,
                max_size=30), navs)  # fmt: skip
def test_realised_plus_unrealised_is_value_plus_withdrawn_less_paid_in(steps, today_nav) -> None:
    """For any ledger of buys and sells: gains add up to the money in and out."""
    day, lots, realised = date(2015, 1, 1), [], []
    paid_in = withdrawn = ZERO
    for k, (buy, n, nav, gap) in enumerate(steps):
        day += timedelta(days=gap)
        held = sum((lot.units for lot in lots), ZERO)
        if buy or held == 0:
            cost = paisa(n * nav)
            lots.append(Lot(1, day, n, cost))
            paid_in += cost
            continue
        take = min(n, held)
        proceeds = paisa(take * nav)
        lots, matches = consume_fifo(lots, take, sold_on=day, proceeds=proceeds, sale_id=str(k))
        realised.extend(matches)
        withdrawn += proceeds
    rows = realised_rows({1: SchemeLots(1, tuple(lots), tuple(realised))},
                         {1: _scheme(code=1)})  # fmt: skip
    realised_gain = sum((r.gain for r in rows), ZERO)
    value = sum((paisa(lot.units * today_nav) for lot in lots), ZERO)
    unrealised = value - sum((lot.cost for lot in lots), ZERO)
    assert realised_gain + unrealised == value + withdrawn - paid_in
    # FIFO: within a sale, lots are consumed oldest first.
    for sale_id in {r.sale_id for r in rows}:
        acquired = [r.acquired for r in rows if r.sale_id == sale_id]
        assert acquired == sorted(acquired)
