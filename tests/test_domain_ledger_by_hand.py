"""Ledger valuations checked to the paisa against arithmetic done by hand in this file.

The NAVs are read from the real mfapi.in files (../shared/amfi-data/mfapi) the way the other
ledger tests read them; each one used is written next to its date below, so every figure can
be redone on paper: F1's duty, F5's units (3 places, down), FIFO's cost shares (to the paisa,
half up), the value, the gains and the XIRR flows (F10).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from mftrack.domain.portfolio import FIX_COMMAND, InstalmentStatus
from mftrack.domain.transactions import TxnKind
from mftrack.domain.warning_groups import grouped_warnings
from tests.test_domain_ledger import AS_OF, AXIS_LARGE, of, txn, value
from tests.test_domain_portfolio import (
    ELSS,
    IDBI,
    NIFTY,
    scan_on_or_after,
    scan_on_or_before,
    sip,
    solve_xirr,
)


def nav(code: int, on: date) -> Decimal:
    """The NAV dated exactly `on` in the raw file (the hand arithmetic below uses it)."""
    nav_date, found = scan_on_or_after(code, on)
    assert nav_date == on, f"{code} has no NAV dated {on}"
    return found


def test_an_estimated_lump_sum_then_a_partial_redemption_by_hand() -> None:
    # UTI Nifty 50 (120716): NAV 116.60160 on Mon 13 Mar 2023, 176.03280 on Mon 13 Oct 2025,
    # 179.97840 on Wed 10 Dec 2025 (AS_OF).
    assert nav(NIFTY, date(2023, 3, 13)) == Decimal("116.60160")
    assert nav(NIFTY, date(2025, 10, 13)) == Decimal("176.03280")
    assert scan_on_or_before(NIFTY, AS_OF) == (AS_OF, Decimal("179.97840"))
    # ₹50,000 paid on Saturday 11 Mar 2023, no units given: allotted on Monday's NAV (F3);
    # duty 50000 x 0.005 / 100.005 = 2.4998750.. -> ₹2.50 (F1); net 49,997.50;
    # units 49997.50 / 116.6016 = 428.78914.. -> 428.789 (F5: 3 places, down).
    buy = txn(1, NIFTY, TxnKind.PURCHASE, date(2023, 3, 11), amount=Decimal(50000))
    # 200 units redeemed on 13 Oct 2025 for 200 x 176.0328 = ₹35,206.56.
    sale = txn(2, NIFTY, TxnKind.REDEMPTION, date(2025, 10, 13), units=Decimal("200.000"),
               amount=Decimal("35206.56"))  # fmt: skip
    s = of(value([], [buy, sale]), NIFTY)
    # Cost of the 200 units sold: 50000 x 200 / 428.789 = 23321.4937.. -> ₹23,321.49.
    assert s.units == Decimal("228.789")  # 428.789 - 200
    assert s.stamp_duty == Decimal("2.50")
    assert s.invested == Decimal("26678.51")  # 50000 - 23321.49: the cost still held
    assert s.paid_in == Decimal("50000") and s.withdrawn == Decimal("35206.56")
    assert s.realised_gain == Decimal("11885.07")  # 35206.56 - 23321.49
    assert s.value == Decimal("41177.08")  # 228.789 x 179.9784 = 41177.0781576
    assert s.gain == Decimal("14498.57")  # 41177.08 - 26678.51
    assert s.first_allotment == date(2023, 3, 13)
    (lot,) = s.ledger.open  # type: ignore[union-attr]
    assert (lot.acquired, lot.units, lot.cost) == (date(2023, 3, 13), Decimal("228.789"),
                                                   Decimal("26678.51"))  # fmt: skip
    # F10: the purchase negative on its allotment date, the sale and the value positive.
    assert dict(s.ledger.flows) == {  # type: ignore[union-attr]
        date(2023, 3, 13): Decimal(-50000), date(2025, 10, 13): Decimal("35206.56"),
    }  # fmt: skip
    flows = [(date(2023, 3, 13), Decimal(-50000)), (date(2025, 10, 13), Decimal("35206.56")),
             (AS_OF, Decimal("41177.08"))]  # fmt: skip
    assert s.xirr == pytest.approx(solve_xirr(flows), abs=1e-6)


def test_a_sip_with_a_confirmed_row_a_failed_debit_and_a_redemption_by_hand() -> None:
    # Axis ELSS (120503) NAVs: Mon 5 Apr 2021 66.11320; Wed 5 May 67.16500; Thu 6 May
    # 67.50740; Mon 5 Jul 74.02000; Wed 3 Dec 2025 110.78130; Wed 10 Dec 2025 109.08860.
    for on, expected in [(date(2021, 4, 5), "66.11320"), (date(2021, 5, 5), "67.16500"),
                         (date(2021, 5, 6), "67.50740"), (date(2021, 7, 5), "74.02000"),
                         (date(2025, 12, 3), "110.78130"), (AS_OF, "109.08860")]:  # fmt: skip
        assert nav(ELSS, on) == Decimal(expected)
    plan = sip(ELSS, end_date=date(2021, 7, 5))  # ₹5,000 on the 5th, Apr to Jul 2021
    # Every instalment pays ₹0.25 duty (5000 x 0.005 / 100.005 = 0.24998..) and invests
    # ₹4,999.75. Estimates: Apr 4999.75 / 66.1132 = 75.62408.. -> 75.624;
    # May would be 4999.75 / 67.165 = 74.439 on 5 May, but the registrar's row says 6 May at
    # 67.5074, 74.062 units (its own rounding of 74.06225..), duty ₹0.25: those win (F5).
    confirmed = txn(1, ELSS, TxnKind.SIP, date(2021, 5, 6), amount=Decimal(5000),
                    units=Decimal("74.062"), nav=Decimal("67.50740"),
                    stamp_duty=Decimal("0.25"), sip_id=plan.id)  # fmt: skip
    # Jun (Sat 5th, processed Mon 7th) failed: no units, no flow (F4).
    failed = txn(2, ELSS, TxnKind.SIP_FAILED, date(2021, 6, 7), sip_id=plan.id)
    # Jul: 4999.75 / 74.02 = 67.54593.. -> 67.545.
    # Redeemed on 3 Dec 2025: the whole April lot and 10 units of May's (FIFO),
    # 85.624 x 110.7813 = 9485.538.. -> ₹9,485.54.
    sale = txn(3, ELSS, TxnKind.REDEMPTION, date(2025, 12, 3), units=Decimal("85.624"),
               amount=Decimal("9485.54"))  # fmt: skip
    s = of(value([plan], [confirmed, failed, sale]), ELSS)
    assert (s.confirmed, s.estimated, s.missed, s.pending, s.instalments) == (1, 2, 1, 0, 3)
    assert s.stamp_duty == Decimal("0.75")
    assert s.paid_in == Decimal(15000) and s.withdrawn == Decimal("9485.54")
    # May's lot keeps 64.062 units and 5000 - 5000 x 10 / 74.062 (675.110.. -> 675.11).
    assert s.units == Decimal("131.607")  # 64.062 + 67.545
    assert s.invested == Decimal("9324.89")  # 4324.89 + 5000
    assert s.realised_gain == Decimal("3810.43")  # 9485.54 - 5000 - 675.11
    assert s.value == Decimal("14356.82")  # 131.607 x 109.0886 = 14356.8233802
    assert s.gain == Decimal("5031.93")  # 14356.82 - 9324.89
    ledger = s.ledger
    assert ledger is not None
    assert [(m.lot.acquired, m.lot.units, m.lot.cost, m.proceeds) for m in ledger.realised] == [
        (date(2021, 4, 5), Decimal("75.624"), Decimal(5000), Decimal("8377.73")),
        (date(2021, 5, 6), Decimal("10.000"), Decimal("675.11"), Decimal("1107.81")),
    ]  # proceeds shared by units: 9485.54 x 75.624 / 85.624 = 8377.7267.. -> 8377.73;
    # the rest, 9485.54 - 8377.73 = 1107.81, goes to the last lot matched
    assert [(lot.acquired, lot.units, lot.cost, lot.estimated) for lot in ledger.open] == [
        (date(2021, 5, 6), Decimal("64.062"), Decimal("4324.89"), False),
        (date(2021, 7, 5), Decimal("67.545"), Decimal(5000), True),
    ]
    may = next(lot for lot in s.lots if lot.due_date == date(2021, 5, 5))
    assert (may.status, may.nav_date, may.nav, may.units, may.stamp_duty) == (
        InstalmentStatus.CONFIRMED, date(2021, 5, 6), Decimal("67.50740"), Decimal("74.062"),
        Decimal("0.25"))  # fmt: skip
    flows = [(date(2021, 4, 5), Decimal(-5000)), (date(2021, 5, 6), Decimal(-5000)),
             (date(2021, 7, 5), Decimal(-5000)), (date(2025, 12, 3), Decimal("9485.54")),
             (AS_OF, Decimal("14356.82"))]  # fmt: skip
    assert dict(ledger.flows) == dict(flows[:-1])
    assert s.xirr == pytest.approx(solve_xirr(flows), abs=1e-6)


# --- regressions found in review ---------------------------------------------------------------


def test_a_confirmed_row_waiting_for_its_nav_is_pending_not_confirmed() -> None:
    # Sat 5 Jun 2021 is processed on Mon 7 Jun: on 5 Jun its NAV is not known. A `sip` row
    # for it with an amount but no units is estimated the same way, so it waits too: the
    # instalment is pending (counted once), not also confirmed and counted as allotted.
    plan = sip(ELSS, end_date=date(2021, 8, 5))
    row = txn(1, ELSS, TxnKind.SIP, date(2021, 6, 5), amount=Decimal(5000), sip_id=plan.id)
    as_of = date(2021, 6, 5)
    plain = of(value([plan], [], as_of), ELSS)
    s = of(value([plan], [row], as_of), ELSS)
    assert (plain.instalments, plain.pending) == (2, 1)
    assert (s.confirmed, s.estimated, s.pending, s.instalments) == (0, 2, 1, 2)
    assert (s.units, s.invested) == (plain.units, plain.invested)
    # Once the NAV is known the row confirms the instalment.
    later = of(value([plan], [row], date(2021, 6, 7)), ELSS)
    assert (later.confirmed, later.estimated, later.pending, later.instalments) == (1, 2, 0, 3)


def test_a_sip_row_without_units_or_amount_leaves_the_estimate_standing() -> None:
    plan = sip(ELSS, end_date=date(2021, 8, 5))
    blank = txn(1, ELSS, TxnKind.SIP, date(2021, 6, 7), sip_id=plan.id)
    plain = of(value([plan], []), ELSS)
    summary = value([plan], [blank])
    s = of(summary, ELSS)
    assert (s.confirmed, s.estimated, s.instalments) == (0, 5, 5)
    assert (s.units, s.invested, s.paid_in) == (plain.units, plain.invested, plain.paid_in)
    assert any("neither units nor an amount" in w for w in summary.warnings)


def test_a_sale_in_one_folio_keeps_the_fifo_order_of_same_day_lots_in_others() -> None:
    # Two lots allotted on the same day, folio B's recorded first: B's is first in. A sale in
    # folio B takes 10 of its units; a later sale naming no folio must take B's rest first.
    on, nav_then = scan_on_or_after(NIFTY, date(2021, 1, 11))
    b = txn(1, NIFTY, TxnKind.PURCHASE, on, amount=Decimal(40000), units=Decimal("100.000"),
            nav=nav_then, folio="B")  # fmt: skip
    a = txn(2, NIFTY, TxnKind.PURCHASE, on, amount=Decimal(10000), units=Decimal("25.000"),
            nav=nav_then, folio="A")  # fmt: skip
    in_b = txn(3, NIFTY, TxnKind.REDEMPTION, date(2022, 1, 10), units=Decimal(10),
               amount=Decimal(1500), folio="B")  # fmt: skip
    anywhere = txn(4, NIFTY, TxnKind.REDEMPTION, date(2023, 1, 10), units=Decimal(5),
                   amount=Decimal(800))  # fmt: skip
    ledger = of(value([], [b, a, in_b, anywhere]), NIFTY).ledger
    assert ledger is not None
    assert [(m.sale_id, m.lot.origin) for m in ledger.realised] == [("t3", "t1"), ("t4", "t1")]
    assert [(lot.origin, lot.units) for lot in ledger.open] == [("t1", Decimal(85)),
                                                                ("t2", Decimal(25))]  # fmt: skip


def test_a_sale_without_units_is_warned_about_not_dropped_silently() -> None:
    # The contract: a sale always carries its units. A synced or edited row that does not is
    # left out of the holding, like a purchase without units or an amount, and said so.
    buy = txn(1, NIFTY, TxnKind.PURCHASE, date(2020, 1, 10), amount=Decimal(10000),
              units=Decimal("123.234"))  # fmt: skip
    sale = txn(2, NIFTY, TxnKind.REDEMPTION, date(2022, 1, 10), amount=Decimal(5000))
    summary = value([], [buy, sale])
    s = of(summary, NIFTY)
    assert (s.units, s.withdrawn) == (Decimal("123.234"), 0)
    (warning,) = summary.warnings
    assert "redemption on 2022-01-10" in warning and "no units" in warning


def test_a_fully_redeemed_scheme_is_not_warned_about_as_stale() -> None:
    # IDBI Equity Savings' NAVs stop on 27 Jul 2023 (merged): holding it, the value is stale;
    # once it is all redeemed nothing is valued at that NAV, so there is nothing to warn about.
    plan = sip(IDBI, start_date=date(2021, 1, 5), end_date=date(2022, 7, 5))
    held = value([plan], [])
    assert any("118454" in w and "out of date" in w for w in held.warnings)
    units = of(held, IDBI).units
    sale = txn(1, IDBI, TxnKind.REDEMPTION, date(2023, 7, 20), units=units,
               amount=Decimal(100000))  # fmt: skip
    summary = value([plan], [sale])
    assert of(summary, IDBI).redeemed
    assert summary.warnings == ()
    assert grouped_warnings(summary, FIX_COMMAND) == []


def test_an_estimated_purchase_keeps_the_stamp_duty_and_nav_its_row_gives() -> None:
    # ₹50,000 on Mon 13 Mar 2023 in 120716 (NAV 116.60160), no units. F1's duty would be
    # ₹2.50 and the units 49997.50 / 116.6016 = 428.789 (the test above). A row that says the
    # duty was ₹7.50 (a demat purchase pays 0.015 %: 50000 x 0.015 / 100.015 = 7.4988..)
    # buys 49992.50 / 116.6016 = 428.74626.. -> 428.746 units; one that says ₹0 buys
    # 50000 / 116.6016 = 428.81058.. -> 428.810.
    on = date(2023, 3, 13)
    assert nav(NIFTY, on) == Decimal("116.60160")
    for duty, units in [(Decimal("7.50"), Decimal("428.746")), (Decimal(0), Decimal("428.810"))]:
        row = txn(1, NIFTY, TxnKind.PURCHASE, on, amount=Decimal(50000), stamp_duty=duty)
        s = of(value([], [row]), NIFTY)
        assert (s.units, s.stamp_duty, s.invested) == (units, duty, Decimal(50000))
    # A row with the statement's NAV but no units: that NAV and date win, F1's duty applies.
    # Dated Sat 11 Mar at NAV 116.6016 it is a lot of 11 Mar, 428.789 units.
    row = txn(1, NIFTY, TxnKind.PURCHASE, date(2023, 3, 11), amount=Decimal(50000),
              nav=Decimal("116.6016"))  # fmt: skip
    s = of(value([], [row]), NIFTY)
    assert (s.units, s.stamp_duty, s.first_allotment) == (
        Decimal("428.789"), Decimal("2.50"), date(2023, 3, 11))  # fmt: skip


def test_a_merger_is_a_switch_at_value_for_each_schemes_xirr_by_hand() -> None:
    # IDBI Equity Savings (118454) merged on 27 Jul 2023 (its last NAV, 13.82510) into a
    # scheme the investor also bought on its own; here Axis Large Cap (120465): NAV 44.69000
    # on 10 Jun 2022, 52.61000 on 27 Jul 2023, 70.65000 on 10 Dec 2025 (AS_OF).
    assert nav(IDBI, date(2019, 2, 11)) == Decimal("10.20770")
    assert scan_on_or_before(IDBI, AS_OF) == (date(2023, 7, 27), Decimal("13.82510"))
    assert nav(AXIS_LARGE, date(2022, 6, 10)) == Decimal("44.69000")
    assert scan_on_or_before(AXIS_LARGE, AS_OF) == (AS_OF, Decimal("70.65000"))
    # ₹30,000 in IDBI on 11 Feb 2019 (no duty before July 2020): 30000 / 10.2077 = 2938.957.
    old = txn(1, IDBI, TxnKind.PURCHASE, date(2019, 2, 11), amount=Decimal(30000),
              units=Decimal("2938.957"), nav=Decimal("10.20770"))  # fmt: skip
    # ₹10,000 in Axis on 10 Jun 2022: duty 0.49997.. -> 0.50, 9999.50 / 44.69 = 223.752.
    own = txn(2, AXIS_LARGE, TxnKind.PURCHASE, date(2022, 6, 10), amount=Decimal(10000))
    # The merger: 2938.957 x 13.8251 = 40631.3744.. -> ₹40,631.37 moves; the registrar gives
    # 40631.37 / 52.61 = 772.313 units of Axis for it.
    on = date(2023, 7, 27)
    out = txn(3, IDBI, TxnKind.MERGER_OUT, on, units=Decimal("2938.957"), link_id="m")
    into = txn(4, AXIS_LARGE, TxnKind.MERGER_IN, on, units=Decimal("772.313"), link_id="m")
    summary = value([], [old, own, out, into])
    gone, axis = of(summary, IDBI), of(summary, AXIS_LARGE)
    # Lots keep their dates and cost; nothing is paid in, withdrawn or realised by a merger.
    assert gone.redeemed and (gone.paid_in, gone.withdrawn, gone.realised_gain) == (30000, 0, 0)
    assert axis.units == Decimal("996.065")  # 223.752 + 772.313
    assert (axis.invested, axis.paid_in, axis.stamp_duty) == (40000, 10000, Decimal("0.50"))
    assert axis.value == Decimal("70371.99")  # 996.065 x 70.65 = 70371.99225
    # XIRR (F10): IDBI received the merged value on the merger date; Axis paid it then.
    assert dict(gone.ledger.flows) == {  # type: ignore[union-attr]
        date(2019, 2, 11): Decimal(-30000), on: Decimal("40631.37")}  # fmt: skip
    assert dict(axis.ledger.flows) == {  # type: ignore[union-attr]
        date(2022, 6, 10): Decimal(-10000), on: Decimal("-40631.37")}  # fmt: skip
    gone_flows = [(date(2019, 2, 11), Decimal(-30000)), (on, Decimal("40631.37"))]
    assert gone.xirr == pytest.approx(solve_xirr(gone_flows), abs=1e-6)
    assert axis.xirr == pytest.approx(solve_xirr(
        [(date(2022, 6, 10), Decimal(-10000)), (on, Decimal("-40631.37")),
         (AS_OF, Decimal("70371.99"))]), abs=1e-6)  # fmt: skip
    assert axis.xirr is not None and axis.xirr < 0.25  # not 220 % as before
    # In the portfolio the two cancel: only the purchases and the value are left.
    assert summary.total.xirr == pytest.approx(solve_xirr(
        [(date(2019, 2, 11), Decimal(-30000)), (date(2022, 6, 10), Decimal(-10000)),
         (AS_OF, Decimal("70371.99"))]), abs=1e-6)  # fmt: skip
