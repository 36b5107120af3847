"""What `summary` prints for a ledger: the JSON keys, `--all`, and the table's new columns.

The summary is made by the pure core from real NAVs (tests/test_domain_ledger.py checks its
numbers); here only its serialisation (`summary_as_dict`) and rendering are checked.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from mftrack.cli.summary import CSV_COLUMNS, render_summary
from mftrack.domain.transactions import TxnKind
from mftrack.services.portfolio import summary_as_dict
from tests.test_domain_ledger import AXIS_LARGE, NIFTY, of, statement_buy, txn, value
from tests.test_domain_portfolio import scan_on_or_after


def redeemed_and_held() -> tuple:
    gone = statement_buy(1, NIFTY, date(2019, 1, 10), Decimal(40000))
    on, _ = scan_on_or_after(NIFTY, date(2023, 5, 15))
    sale = txn(2, NIFTY, TxnKind.REDEMPTION, on, units=gone.units, amount=Decimal("90000.00"))
    kept = statement_buy(3, AXIS_LARGE, date(2020, 2, 10), Decimal(25000))
    return value([], [gone, sale, kept]), gone, kept


def test_json_hides_redeemed_schemes_unless_asked_and_totals_count_them() -> None:
    summary, _, kept = redeemed_and_held()
    shown = summary_as_dict(summary)
    assert [s["scheme_code"] for s in shown["schemes"]] == [AXIS_LARGE]
    everything = summary_as_dict(summary, redeemed=True)
    codes = {s["scheme_code"]: s for s in everything["schemes"]}
    assert set(codes) == {NIFTY, AXIS_LARGE}
    gone = codes[NIFTY]
    assert gone["redeemed"] is True and gone["units"] == "0.000"
    assert (gone["paid_in"], gone["withdrawn"], gone["realised_gain"]) == (
        "40000.00", "90000.00", "50000.00")  # fmt: skip
    assert (gone["invested"], gone["value"], gone["gain"]) == ("0.00", "0.00", "0.00")
    for data in (shown, everything):
        total = data["total"]
        assert total["paid_in"] == "65000.00" and total["withdrawn"] == "90000.00"
        assert total["realised_gain"] == "50000.00" and total["invested"] == "25000.00"
    held = codes[AXIS_LARGE]
    assert held["units"] == format(kept.units, "f") and held["redeemed"] is False
    assert set(CSV_COLUMNS) <= set(held)  # every CSV column is a JSON key


def test_table_shows_withdrawn_and_realised_only_when_there_are_any() -> None:
    summary, _, _ = redeemed_and_held()
    table = render_summary(summary_as_dict(summary, redeemed=True), None).plain()
    header = table.splitlines()[1].split()
    assert "withdrawn" in header and "realised" in header
    assert "₹90,000" in table and "₹50,000" in table
    only_held = value([], [statement_buy(1, AXIS_LARGE, date(2020, 2, 10), Decimal(25000))])
    plain = render_summary(summary_as_dict(only_held), None).plain()
    assert "withdrawn" not in plain and "realised" not in plain and "missed" not in plain


def test_a_missed_instalment_shows_in_the_table() -> None:
    from mftrack.domain.sips import Sip

    plan = Sip("p", NIFTY, Decimal(5000), date(2021, 4, 5), 5, end_date=date(2021, 8, 5))
    failed = txn(1, NIFTY, TxnKind.SIP_FAILED, date(2021, 6, 7), sip_id="p")
    summary = value([plan], [failed])
    data = summary_as_dict(summary)
    assert (data["total"]["missed"], data["total"]["estimated"]) == (1, 4)
    assert of(summary, NIFTY).missed == 1
    plain = render_summary(data, None).plain()
    assert "missed" in plain.splitlines()[1]


def test_daily_valuations_follow_the_units_held_after_a_redemption() -> None:
    from mftrack.services.valuations import TOTAL, valuation_rows
    from tests.test_domain_portfolio import series

    summary, gone, kept = redeemed_and_held()
    rows = valuation_rows(summary, {NIFTY: series(NIFTY), AXIS_LARGE: series(AXIS_LARGE)})
    sold_on = next(t for t in summary.schemes if t.scheme_code == NIFTY).ledger.realised[0].sold_on
    nifty = {r.valuation_date: r for r in rows if r.scheme_code == NIFTY}
    day_before = max(d for d in nifty if d < sold_on)
    assert nifty[day_before].units == gone.units and nifty[day_before].invested == 40000
    assert sold_on not in nifty  # nothing held or invested from the sale on
    last = max(r.valuation_date for r in rows)
    total = next(r for r in rows if r.scheme_code == TOTAL and r.valuation_date == last)
    assert (total.invested, total.value) == (summary.total.invested, summary.total.value)
    assert kept.units == next(
        r.units for r in rows if r.scheme_code == AXIS_LARGE and r.valuation_date == last
    )
