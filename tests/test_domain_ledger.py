"""The ledger path of a valuation (mftrack.domain.ledger) on real AMFI NAV histories.

Expected values are worked out here from the raw mfapi.in JSON with plain Decimal arithmetic
(a linear scan for the NAV, F1's formula for the duty), not by calling the code under test.
"""

from __future__ import annotations

from dataclasses import fields, replace
from datetime import date, timedelta
from decimal import ROUND_DOWN, Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mftrack.domain.lots import Lot
from mftrack.domain.money import paisa
from mftrack.domain.portfolio import (
    InstalmentStatus,
    PortfolioSummary,
    SchemeSummary,
    scheme_lots,
    summarise,
    value_series,
)
from mftrack.domain.pricing import nav_rules
from mftrack.domain.sips import Sip, StepUp, StepUpKind
from mftrack.domain.transactions import Transaction, TxnKind
from tests.test_domain_portfolio import (
    ELSS,
    IDBI,
    LIQUID,
    NIFTY,
    category,
    raw,
    scan_on_or_after,
    scan_on_or_before,
    series,
    sip,
    solve_xirr,
)

AXIS_LARGE, FRANKLIN_IDCW = 120465, 118550
AS_OF = date(2025, 12, 10)
MILLI = Decimal("0.001")


def value(
    sips: list[Sip], txns: list[Transaction], as_of: date = AS_OF, *, through_ledger: bool = False
) -> PortfolioSummary:
    codes = {s.scheme_code for s in sips} | {t.scheme_code for t in txns}
    navs = {c: series(c) for c in codes}
    rules = nav_rules({c: category(c) for c in codes})
    names = {c: f"Scheme {c}" for c in codes}
    return summarise(sips, navs, names, as_of, nav_rules=rules, transactions=txns,
                     through_ledger=through_ledger)  # fmt: skip


def txn(n: int, code: int, kind: TxnKind, on: date, **kw: object) -> Transaction:
    return Transaction(id=f"t{n}", scheme_code=code, kind=kind, trade_date=on, **kw)  # type: ignore[arg-type]


def of(summary: PortfolioSummary, code: int) -> SchemeSummary:
    return next(s for s in summary.schemes if s.scheme_code == code)


def latest(code: int, on: date = AS_OF) -> tuple[date, Decimal]:
    return scan_on_or_before(code, on)


def statement_buy(n: int, code: int, on: date, amount: Decimal, **kw: object) -> Transaction:
    """A purchase as a statement shows it: that day's NAV, F1's duty, units to 3 places."""
    nav_date, nav = scan_on_or_after(code, on)
    duty = paisa(amount * Decimal("0.005") / Decimal("100.005")) if nav_date >= date(
        2020, 7, 1) else Decimal(0)  # fmt: skip
    units = ((amount - duty) / nav).quantize(MILLI, ROUND_DOWN)
    return txn(n, code, kw.pop("kind", TxnKind.PURCHASE), nav_date, amount=amount,  # type: ignore[arg-type]
               units=units, nav=nav, stamp_duty=duty, **kw)  # fmt: skip


# --- lump sums ---------------------------------------------------------------------------------


def test_lump_sum_with_statement_units_is_valued_at_the_latest_nav() -> None:
    buy = statement_buy(1, NIFTY, date(2019, 3, 12), Decimal(50000))
    s = of(value([], [buy]), NIFTY)
    nav_date, nav = latest(NIFTY)
    assert buy.stamp_duty == 0  # before 1 July 2020 (F1)
    assert (s.units, s.invested, s.paid_in, s.withdrawn) == (buy.units, 50000, 50000, 0)
    assert (s.nav_date, s.value) == (nav_date, paisa(buy.units * nav))  # type: ignore[operator]
    assert s.gain == s.value - 50000 and s.realised_gain == 0
    expected = solve_xirr([(buy.trade_date, Decimal(-50000)), (nav_date, s.value)])
    assert s.xirr == pytest.approx(expected, abs=1e-6)
    assert (s.instalments, s.confirmed, s.estimated) == (0, 0, 0)


def test_lump_sum_without_units_is_estimated_like_an_instalment() -> None:
    # Sunday 10 Mar 2024: the next business day's NAV (F3), F1's duty, 3 places down (F5).
    estimate = txn(1, ELSS, TxnKind.PURCHASE, date(2024, 3, 10), amount=Decimal(50000))
    s = of(value([], [estimate]), ELSS)
    nav_date, nav = scan_on_or_after(ELSS, date(2024, 3, 11))
    duty = Decimal("2.50")  # 50000 x 0.005 / 100.005 = 2.49987... (F1)
    assert s.first_allotment == nav_date == date(2024, 3, 11)
    assert s.units == ((Decimal(50000) - duty) / nav).quantize(MILLI, ROUND_DOWN)
    assert (s.stamp_duty, s.invested) == (duty, 50000)
    (lot,) = s.ledger.open  # type: ignore[union-attr]
    assert lot.estimated and lot.acquired == nav_date


# --- redemptions and switches ------------------------------------------------------------------


def two_lots() -> list[Transaction]:
    return [
        statement_buy(1, NIFTY, date(2019, 1, 10), Decimal(40000)),
        statement_buy(2, NIFTY, date(2021, 1, 11), Decimal(60000)),
    ]


def test_partial_redemption_takes_the_oldest_lot_first() -> None:
    first, second = two_lots()
    assert first.units is not None and second.units is not None
    sold_on, nav = scan_on_or_after(NIFTY, date(2023, 5, 15))
    units = first.units + Decimal("100.000")
    proceeds = paisa(units * nav)
    sale = txn(3, NIFTY, TxnKind.REDEMPTION, sold_on, units=units, amount=proceeds)
    s = of(value([], [first, second, sale]), NIFTY)
    part = paisa(Decimal(60000) * 100 / second.units)  # the second lot's share of cost
    assert s.units == second.units - 100
    assert s.invested == Decimal(60000) - part  # FIFO cost of the units still held
    assert s.paid_in == 100000 and s.withdrawn == proceeds
    assert s.realised_gain == proceeds - Decimal(40000) - part
    ledger = s.ledger
    assert ledger is not None
    assert [m.lot.origin for m in ledger.realised] == ["t1", "t2"]
    assert [m.lot.units for m in ledger.realised] == [first.units, Decimal(100)]
    assert ledger.open[0].acquired == second.trade_date  # a partial lot keeps its date
    nav_date, _ = latest(NIFTY)
    flows = [(first.trade_date, Decimal(-40000)), (second.trade_date, Decimal(-60000)),
             (sold_on, proceeds), (nav_date, s.value)]  # fmt: skip
    assert s.xirr == pytest.approx(solve_xirr(flows), abs=1e-6)
    assert s.realised_gain + s.gain + s.idcw == s.value + s.withdrawn - s.paid_in


def test_full_redemption_leaves_nothing_and_is_marked_redeemed() -> None:
    first, second = two_lots()
    assert first.units is not None and second.units is not None
    sold_on, nav = scan_on_or_after(NIFTY, date(2024, 2, 1))
    units = first.units + second.units
    sale = txn(3, NIFTY, TxnKind.REDEMPTION, sold_on, units=units, amount=paisa(units * nav))
    summary = value([], [first, second, sale])
    s = of(summary, NIFTY)
    assert (s.units, s.invested, s.value, s.gain) == (0, 0, 0, 0)
    assert s.redeemed and s.realised_gain == paisa(units * nav) - 100000
    assert summary.total.realised_gain == s.realised_gain
    series_ = value_series(summary, {NIFTY: series(NIFTY)})
    assert series_.total[-1].invested == 0 and series_.total[-1].value == 0
    before = [p for p in series_.total if p.on < sold_on][-1]
    assert before.invested == 100000 and before.value > 0


def test_a_sale_naming_a_folio_takes_only_that_folio_and_estimated_lots() -> None:
    a = statement_buy(1, NIFTY, date(2019, 1, 10), Decimal(40000), folio="A")
    b = statement_buy(2, NIFTY, date(2020, 1, 10), Decimal(40000), folio="B")
    c = statement_buy(3, NIFTY, date(2021, 1, 11), Decimal(40000), folio="A")
    sale = txn(4, NIFTY, TxnKind.REDEMPTION, date(2023, 1, 10), units=a.units + 1,  # type: ignore[operator]
               amount=Decimal(70000), folio="A")  # fmt: skip
    ledger = of(value([], [a, b, c, sale]), NIFTY).ledger
    assert ledger is not None
    assert [m.lot.origin for m in ledger.realised] == ["t1", "t3"]  # folio B untouched
    assert [lot.origin for lot in ledger.open] == ["t2", "t3"]


def test_switch_moves_money_between_schemes_as_a_sale_and_a_purchase() -> None:
    buy = statement_buy(1, NIFTY, date(2020, 1, 10), Decimal(100000))
    on, nav = scan_on_or_after(NIFTY, date(2022, 6, 1))
    assert buy.units is not None
    half = (buy.units / 2).quantize(MILLI)
    proceeds = paisa(half * nav)
    out = txn(2, NIFTY, TxnKind.SWITCH_OUT, on, units=half, amount=proceeds, link_id="sw")
    into = statement_buy(3, AXIS_LARGE, on, proceeds, kind=TxnKind.SWITCH_IN, link_id="sw")
    summary = value([], [buy, out, into])
    nifty, axis = of(summary, NIFTY), of(summary, AXIS_LARGE)
    assert nifty.units == buy.units - half and nifty.withdrawn == proceeds
    assert nifty.realised_gain == proceeds - paisa(Decimal(100000) * half / buy.units)
    assert axis.units == into.units and axis.paid_in == proceeds == axis.invested
    t = summary.total
    assert t.paid_in == 100000 + proceeds and t.withdrawn == proceeds
    assert t.realised_gain + t.gain + t.idcw == t.value + t.withdrawn - t.paid_in


# --- IDCW ------------------------------------------------------------------------------------


def test_idcw_payout_is_cash_out_and_reinvestment_a_lot_without_a_flow() -> None:
    buy = statement_buy(1, FRANKLIN_IDCW, date(2019, 4, 10), Decimal(50000))
    payout = txn(2, FRANKLIN_IDCW, TxnKind.DIVIDEND_PAYOUT, date(2021, 3, 25),
                 amount=Decimal("1250.00"))  # fmt: skip
    reinvest = statement_buy(3, FRANKLIN_IDCW, date(2022, 3, 24), Decimal("900.00"),
                             kind=TxnKind.DIVIDEND_REINVEST)  # fmt: skip
    assert buy.units is not None and reinvest.units is not None
    s = of(value([], [buy, payout, reinvest]), FRANKLIN_IDCW)
    assert s.units == buy.units + reinvest.units
    assert s.invested == Decimal("50900.00")  # the reinvested lot has its own cost
    assert (s.paid_in, s.withdrawn, s.idcw) == (50000, Decimal("1250.00"), Decimal("2150.00"))
    assert s.ledger is not None and reinvest.trade_date not in s.ledger.flows  # F10
    nav_date, _ = latest(FRANKLIN_IDCW)
    flows = [(buy.trade_date, Decimal(-50000)), (payout.trade_date, Decimal(1250)),
             (nav_date, s.value)]  # fmt: skip
    assert s.xirr == pytest.approx(solve_xirr(flows), abs=1e-6)
    assert s.realised_gain + s.gain + s.idcw == s.value + s.withdrawn - s.paid_in


# --- SIPs meet reality -------------------------------------------------------------------------


def test_confirmed_rows_replace_estimates_with_the_registrars_figures() -> None:
    plan = sip(ELSS, end_date=date(2022, 3, 5))  # 12 instalments, Apr 2021 .. Mar 2022
    fast = of(value([plan], []), ELSS)
    estimates = [lot for lot in fast.lots if lot.status is InstalmentStatus.ALLOTTED]
    # The registrar allotted 0.002 units more than the estimate, and dated it a day later.
    confirmed = [
        txn(n, ELSS, TxnKind.SIP, lot.nav_date + timedelta(days=1),  # type: ignore[operator]
            amount=Decimal(5000), units=lot.units + Decimal("0.002"),  # type: ignore[operator]
            nav=lot.nav, stamp_duty=Decimal("0.25"), sip_id=plan.id)
        for n, lot in enumerate(estimates[:3])
    ]  # fmt: skip
    s = of(value([plan], confirmed), ELSS)
    assert (s.confirmed, s.estimated, s.missed, s.instalments) == (3, 9, 0, 12)
    assert s.units == fast.units + Decimal("0.006")
    assert s.invested == fast.invested == s.paid_in
    statuses = [lot.status for lot in s.lots]
    assert statuses[:3] == [InstalmentStatus.CONFIRMED] * 3
    assert statuses[3:] == [InstalmentStatus.ALLOTTED] * 9
    first = s.lots[0]
    assert (first.nav_date, first.units) == (confirmed[0].trade_date, confirmed[0].units)
    assert s.first_allotment == confirmed[0].trade_date  # the registrar's date wins


def test_a_sip_row_without_a_sip_id_matches_the_nearest_instalment_in_the_window() -> None:
    plan = sip(ELSS, end_date=date(2021, 8, 5))
    # Saturday 5 Jun 2021 was allotted on Monday 7 Jun; a row dated 9 Jun still matches.
    row = txn(1, ELSS, TxnKind.SIP, date(2021, 6, 9), amount=Decimal(5000), units=Decimal(70))
    far = txn(2, ELSS, TxnKind.SIP, date(2021, 6, 20), amount=Decimal(5000), units=Decimal(70))
    s = of(value([plan], [row, far]), ELSS)
    assert (s.confirmed, s.estimated) == (1, 4)
    assert s.paid_in == 5 * 5000 + 5000  # the far row is a purchase of its own


def test_a_failed_debit_marks_the_instalment_missed() -> None:
    plan = sip(ELSS, end_date=date(2022, 3, 5))
    fast = of(value([plan], []), ELSS)
    failed = txn(1, ELSS, TxnKind.SIP_FAILED, date(2021, 6, 7), sip_id=plan.id)
    s = of(value([plan], [failed]), ELSS)
    missed = next(lot for lot in fast.lots if lot.due_date == date(2021, 6, 5))
    assert (s.missed, s.estimated, s.instalments) == (1, 11, 11)
    assert s.invested == fast.invested - 5000
    assert s.units == fast.units - missed.units  # type: ignore[operator]
    assert next(lot for lot in s.lots if lot.due_date == date(2021, 6, 5)).status is (
        InstalmentStatus.MISSED)  # fmt: skip
    assert date(2021, 6, 7) not in s.ledger.flows  # type: ignore[union-attr]


def test_a_purchase_and_its_reversal_add_nothing() -> None:
    plan = sip(ELSS, end_date=date(2021, 8, 5))
    bought = txn(1, ELSS, TxnKind.SIP, date(2021, 6, 7), amount=Decimal(5000),
                 units=Decimal("69.748"), sip_id=plan.id)  # fmt: skip
    reversal = txn(2, ELSS, TxnKind.SIP_FAILED, date(2021, 6, 8), sip_id=plan.id)
    s = of(value([plan], [bought, reversal]), ELSS)
    assert (s.confirmed, s.missed, s.estimated) == (0, 1, 4)
    assert s.paid_in == 4 * 5000


# --- mergers -----------------------------------------------------------------------------------


def test_a_merger_moves_lots_with_their_dates_and_cost() -> None:
    # IDBI Equity Savings' NAVs stop on 27 Jul 2023 (ledger-notes: a merger). Its lots move
    # into the absorbing scheme with their dates and cost; the units are the in-leg's.
    a = statement_buy(1, IDBI, date(2019, 2, 11), Decimal(30000))
    b = statement_buy(2, IDBI, date(2021, 2, 10), Decimal(20000))
    assert a.units is not None and b.units is not None
    held = a.units + b.units
    on = date(2023, 7, 27)
    out = txn(3, IDBI, TxnKind.MERGER_OUT, on, units=held, link_id="m1")
    into = txn(4, AXIS_LARGE, TxnKind.MERGER_IN, on, units=Decimal("812.345"), link_id="m1")
    summary = value([], [a, b, out, into])
    old, new = of(summary, IDBI), of(summary, AXIS_LARGE)
    assert old.redeemed and old.realised_gain == 0 and old.withdrawn == 0
    assert new.units == Decimal("812.345") and new.invested == 50000
    assert new.paid_in == 0 and new.realised_gain == 0
    assert new.ledger is not None
    assert [lot.acquired for lot in new.ledger.open] == [a.trade_date, b.trade_date]
    assert [lot.cost for lot in new.ledger.open] == [30000, 20000]
    assert new.first_allotment == a.trade_date
    assert summary.total.paid_in == 50000 and summary.total.withdrawn == 0


# --- bad ledgers -------------------------------------------------------------------------------


def test_an_oversold_ledger_warns_and_values_what_is_held() -> None:
    buy = statement_buy(1, NIFTY, date(2020, 1, 10), Decimal(10000))
    assert buy.units is not None
    sale = txn(2, NIFTY, TxnKind.REDEMPTION, date(2022, 1, 10), units=buy.units * 2,
               amount=Decimal(30000))  # fmt: skip
    summary = value([], [buy, sale])
    s = of(summary, NIFTY)
    assert s.units == 0 and s.withdrawn == Decimal(15000)  # half the units: half the money
    assert any("only" in w and "are held" in w for w in summary.warnings)


# --- the fast path and the ledger agree --------------------------------------------------------

COMPARED = [f.name for f in fields(SchemeSummary) if f.name not in {"ledger", "lots"}]


def assert_same(fast: PortfolioSummary, ledger: PortfolioSummary) -> None:
    assert fast.total == ledger.total
    assert fast.warnings == ledger.warnings
    for a, b in zip(fast.schemes, ledger.schemes, strict=True):
        assert b.ledger is not None and a.ledger is None
        assert {n: getattr(a, n) for n in COMPARED} == {n: getattr(b, n) for n in COMPARED}
        assert list(a.lots) == list(b.lots)
        assert scheme_lots(a) == scheme_lots(b)


def test_a_ledger_of_sip_estimates_gives_the_fast_paths_numbers() -> None:
    sips = [
        sip(ELSS),
        sip(ELSS, id="second", day=20, amount=Decimal(2500),
            step_up=StepUp(StepUpKind.PERCENT, Decimal(10))),
        sip(LIQUID, start_date=date(2019, 6, 1), day=1),
        sip(118395, start_date=date(2013, 2, 1), day=3),  # a 6-year hole in its NAVs
    ]  # fmt: skip
    for as_of in (date(2020, 1, 1), date(2024, 3, 29), AS_OF):
        assert_same(value(sips, [], as_of), value(sips, [], as_of, through_ledger=True))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    start=st.dates(date(2014, 1, 1), date(2024, 6, 1)),
    day=st.integers(1, 31),
    amount=st.integers(500, 20000),
    code=st.sampled_from([ELSS, NIFTY, LIQUID, AXIS_LARGE]),
)
def test_sip_estimates_agree_on_both_paths(start: date, day: int, amount: int, code: int) -> None:
    sips = [sip(code, start_date=start, day=day, amount=Decimal(amount))]
    assert_same(value(sips, []), value(sips, [], through_ledger=True))


# --- properties of any ledger ------------------------------------------------------------------

NIFTY_DAYS = [d for d, _ in raw(NIFTY) if date(2014, 1, 1) <= d <= date(2025, 6, 30)]


@st.composite
def ledgers(draw: st.DrawFn) -> list[Transaction]:
    """Buys (some estimated) and sales of at most the units held, on real NIFTY NAV days."""
    days = sorted(draw(st.lists(st.sampled_from(NIFTY_DAYS), min_size=1, max_size=25)))
    txns: list[Transaction] = []
    held = Decimal(0)
    for n, on in enumerate(days):
        if held and draw(st.booleans()):
            units = Decimal(draw(st.integers(1, int(held * 1000)))) / 1000
            held -= units
            kind = draw(st.sampled_from([TxnKind.REDEMPTION, TxnKind.SWITCH_OUT]))
            txns.append(txn(n, NIFTY, kind, on, units=units,
                            amount=Decimal(draw(st.integers(1, 10**6)))))  # fmt: skip
        else:
            amount = Decimal(draw(st.integers(500, 200000)))
            if draw(st.booleans()):
                units = Decimal(draw(st.integers(1, 10**7))) / 1000
                held += units
                txns.append(txn(n, NIFTY, TxnKind.PURCHASE, on, amount=amount, units=units))
            else:  # estimated at valuation: a 3-decimal estimate, sold only once it exists
                txns.append(txn(n, NIFTY, TxnKind.PURCHASE, on, amount=amount))
    return txns


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(txns=ledgers())
def test_ledger_properties(txns: list[Transaction]) -> None:
    summary = value([], txns)
    s = of(summary, NIFTY)
    ledger = s.ledger
    assert ledger is not None and not summary.warnings
    bought = sum((lot.units for lot in ledger.open), Decimal(0)) + sum(
        (m.lot.units for m in ledger.realised), Decimal(0))  # fmt: skip
    sold = sum((t.units for t in txns if t.kind is not TxnKind.PURCHASE), Decimal(0))  # type: ignore[misc]
    assert s.units == bought - sold >= 0  # held = purchases - sales
    running = Decimal(0)
    for step in ledger.steps:  # units never go negative
        running += step.units
        assert running >= 0
    # FIFO: within a sale the lots go oldest first, and no open lot is older than a sold one
    # sold after it was acquired.
    for m1, m2 in zip(ledger.realised, ledger.realised[1:], strict=False):
        if m1.sale_id == m2.sale_id:
            assert m1.lot.acquired <= m2.lot.acquired
    for m in ledger.realised:
        assert all(lot.acquired >= m.lot.acquired for lot in ledger.open
                   if lot.acquired <= m.sold_on)  # fmt: skip
    assert [lot.acquired for lot in ledger.open] == sorted(lot.acquired for lot in ledger.open)
    # What is realised and unrealised is all the money that came and went, and the value.
    assert s.realised_gain + s.gain + s.idcw == s.value + s.withdrawn - s.paid_in
    points = value_series(summary, {NIFTY: series(NIFTY)}).total
    assert (points[-1].invested, points[-1].value) == (s.invested, s.value)


def test_scheme_lots_of_the_fast_path_are_the_allotted_instalments() -> None:
    s = of(value([sip(ELSS, end_date=date(2021, 6, 5))], []), ELSS)
    lots = scheme_lots(s)
    assert lots.realised == () and len(lots.open) == 3
    assert lots.open[2] == Lot(ELSS, date(2021, 6, 7), Decimal("69.748"), Decimal(5000), None,
                               f"sip:sip-{ELSS}:2021-06-05", estimated=True)  # fmt: skip
    assert replace(lots.open[0], units=Decimal(0)).origin.startswith("sip:")


def test_units_held_without_any_nav_are_warned_about_not_called_instalments() -> None:
    bought = txn(1, 999999, TxnKind.PURCHASE, date(2024, 1, 10), amount=Decimal(1000),
                 units=Decimal("10.000"))  # fmt: skip
    summary = summarise([], {}, {999999: "Unknown"}, AS_OF, transactions=[bought])
    (warning,) = summary.warnings
    assert "its 10.000 units are valued at ₹0" in warning and "instalments" not in warning
    assert of(summary, 999999).value == 0 and of(summary, 999999).invested == 1000
