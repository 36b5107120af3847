"""`mftrack gains`, `lots`, `harvest` and `scheme set-tax-class` through the real CLI, on real
NAV histories (Axis ELSS Tax Saver 120503: its NAV of 31-Jan-2018 is 44.8938)."""

from __future__ import annotations

import csv
import json
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from mftrack.adapters.sqlite.store import LocalStore
from mftrack.config import resolve_paths
from mftrack.domain.transactions import Transaction, TxnKind
from tests.helpers import mfapi_file, run_cli

D = Decimal
NOW = datetime(2025, 12, 10, 9, 0, tzinfo=UTC)
# Purchases without units: the ledger estimates them at that day's real NAV (issue 11).
# Sales fetch units x that day's real NAV.
LEDGER = [
    (TxnKind.PURCHASE, date(2017, 6, 1), "50000.00", None),
    (TxnKind.PURCHASE, date(2022, 5, 2), "20000.00", None),
    (TxnKind.PURCHASE, date(2025, 6, 2), "10000.00", None),
    (TxnKind.REDEMPTION, date(2024, 7, 22), None, "500.000"),
    (TxnKind.REDEMPTION, date(2024, 7, 23), None, "700.000"),
]


def real_nav(day: date) -> Decimal:
    history = json.loads(mfapi_file(120503).read_text())["data"]
    return D(next(p["nav"] for p in history if p["date"] == day.strftime("%d-%m-%Y")))


@pytest.fixture
def ledger(monkeypatch) -> None:
    """Three purchases of Axis ELSS (one before 31-Jan-2018) and sales on both sides of
    23-Jul-2024, valued on 2025-12-10."""
    monkeypatch.setenv("MFTRACK_TODAY", "2025-12-10")
    assert run_cli("nav", "import", str(mfapi_file(120503))).exit_code == 0
    paths = resolve_paths()
    store = LocalStore(paths.database, backup_dir=paths.backup_dir)
    store.insert_transactions(
        Transaction(id=str(uuid.uuid4()), scheme_code=120503, kind=kind, trade_date=day,
                    amount=D(amount) if amount else (D(units) * real_nav(day)).quantize(D("0.01")),
                    units=None if units is None else D(units),
                    created_at=NOW, updated_at=NOW)
        for kind, day, amount, units in LEDGER
    )  # fmt: skip


def test_gains_match_each_sale_to_lots_with_the_rule_of_its_date(ledger) -> None:
    result = run_cli("gains", "--fy", "2024-25", "--json", "--detail")
    assert result.exit_code == 0, result.stderr
    (fy,) = json.loads(result.stdout)["years"]
    assert fy["fy"] == "2024-25" and fy["equity_ltcg_exemption"] == "125000.00"
    lots = fy["lots"]
    assert {lot["sold"] for lot in lots} == {"2024-07-22", "2024-07-23"}
    for lot in lots:
        assert lot["term"] == "long"
        assert lot["rule"] == ("equity-lt-2018" if lot["sold"] == "2024-07-22"
                               else "equity-lt-2024")  # fmt: skip
        if lot["acquired"] == "2017-06-01":
            # Grandfathered with the real 31-Jan-2018 NAV from the local NAV store.
            assert D(lot["fmv_nav_31jan2018"]) == D("44.8938")
            fmv = (D(lot["units"]) * D("44.8938")).quantize(D("0.01"))
            expected = max(D(lot["cost"]), min(fmv, D(lot["proceeds"])))
            assert D(lot["grandfathered_cost"]) == expected
        else:
            assert lot["grandfathered_cost"] is None
        assert D(lot["stt"]) > 0 and lot["stt_estimated"] is True
        # STT is shown, not deducted.
        cost = D(lot["grandfathered_cost"] or lot["cost"])
        assert D(lot["taxable_gain"]) == D(lot["proceeds"]) - cost
    assert sum(D(lot["proceeds"]) for lot in lots) == D(fy["total"]["proceeds"])


def test_schedule_112a_has_the_23_jul_2024_split(ledger, tmp_path) -> None:
    target = tmp_path / "112a.csv"
    result = run_cli("gains", "--fy", "2024-25", "--schedule-112a", str(target))
    assert result.exit_code == 0, result.stderr
    rows = list(csv.reader(target.open()))
    assert rows[0][:3] == ["Share/Unit acquired(1a)", "Share/Unit Transferred(1b)",
                           "ISIN Code(2)"]  # fmt: skip
    flags = sorted((r[0], r[1]) for r in rows[1:])
    assert ("BE", "BE") in flags and all(r[2] == "INF846K01EW2" for r in rows[1:])
    assert "Wrote" in result.stderr and "not tax advice" in result.stderr


def test_schedule_112a_needs_one_year(ledger, tmp_path) -> None:
    result = run_cli("gains", "--schedule-112a", str(tmp_path / "x.csv"))
    assert result.exit_code == 2
    assert "--schedule-112a needs --fy" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "x.csv").exists()


def test_lots_show_the_elss_lock_and_harvest_skips_it(ledger) -> None:
    result = run_cli("lots", "120503", "--json")
    assert result.exit_code == 0, result.stderr
    (scheme,) = json.loads(result.stdout)["schemes"]
    assert scheme["tax_class"] == "equity" and scheme["elss"] is True
    newest = scheme["lots"][-1]
    assert newest["acquired"] == "2025-06-02" and newest["locked"] is True
    assert newest["elss_free_from"] == "2028-06-03"
    assert newest["long_term_from"] == "2026-06-03" and newest["term"] == "short"
    plan = json.loads(run_cli("harvest", "--json").stdout)
    assert plan["fy"] == "2025-26" and D(plan["planned_ltcg"]) <= D(plan["room"])
    assert any("locked" in s["reason"] or "short term" in s["reason"] for s in plan["stops"])
    for pick in plan["redeem"]:
        assert all(lot["acquired"] < "2025-06-02" for lot in pick["lots"])


def test_set_tax_class_changes_the_rules_and_bad_input_changes_nothing(ledger, isolated_home):
    result = run_cli("scheme", "set-tax-class", "120503", "debt")
    assert result.exit_code == 0, result.stderr
    assert "taxed as debt" in result.stderr
    (fy,) = json.loads(run_cli("gains", "--fy", "2024-25", "--json").stdout)["years"]
    assert fy["schemes"][0]["tax_class"] == "debt" and fy["total"]["stt"] == "0.00"
    bad = run_cli("scheme", "set-tax-class", "120503", "gold")
    assert bad.exit_code == 2 and "'gold' is not a tax class" in bad.stderr
    assert bad.stderr.count("\n") <= 2
    run_cli("scheme", "set-tax-class", "120503", "auto")
    (fy,) = json.loads(run_cli("gains", "--fy", "2024-25", "--json").stdout)["years"]
    assert fy["schemes"][0]["tax_class"] == "equity"


def test_no_sales_is_a_message_not_an_error(monkeypatch) -> None:
    monkeypatch.setenv("MFTRACK_TODAY", "2025-12-10")
    result = run_cli("gains")
    assert result.exit_code == 0 and result.stdout == ""
    assert "No sales in the ledger" in result.stderr


def test_summary_json_carries_the_realised_gains_per_year(ledger) -> None:
    summary = json.loads(run_cli("summary", "--json").stdout)
    (fy,) = json.loads(run_cli("gains", "--json").stdout)["years"]
    total = fy["total"]
    assert summary["realised_gains_by_fy"] == {
        "2024-25": {k: total[k] for k in ("short_term_gain", "long_term_gain",
                                          "long_term_taxable")}
    }  # fmt: skip
    # The summary's own realised gain (proceeds - FIFO cost) is the same money.
    assert D(summary["total"]["realised_gain"]) == D(total["long_term_gain"]) + D(
        total["short_term_gain"]
    )


def test_a_summary_without_sales_has_no_realised_years(monkeypatch) -> None:
    monkeypatch.setenv("MFTRACK_TODAY", "2025-12-10")
    assert run_cli("nav", "import", str(mfapi_file(120503))).exit_code == 0
    run_cli("add-sip", "120503", "--amount", "5000", "--start", "2021-04-05")
    assert json.loads(run_cli("summary", "--json").stdout)["realised_gains_by_fy"] == {}


def test_sales_recorded_with_buy_and_redeem_are_matched_fifo(monkeypatch) -> None:
    """The ledger commands of issue 11 feed the gains: a buy before 31-Jan-2018, a later buy,
    and a redemption that takes the first lot whole and part of the second."""
    monkeypatch.setenv("MFTRACK_TODAY", "2025-12-10")
    assert run_cli("nav", "import", str(mfapi_file(120503))).exit_code == 0
    for args in (
        ("buy", "120503", "--amount", "10000", "--on", "2017-06-01"),
        ("buy", "120503", "--amount", "10000", "--on", "2023-06-01"),
    ):
        assert run_cli(*args).exit_code == 0
    lots = json.loads(run_cli("lots", "--json").stdout)["schemes"][0]["lots"]
    first_units = D(lots[0]["units"])
    sold = run_cli("redeem", "120503", "--units", str(first_units + 10), "--on", "2025-06-02")
    assert sold.exit_code == 0, sold.stderr
    (fy,) = json.loads(run_cli("gains", "--json", "--detail").stdout)["years"]
    assert fy["fy"] == "2025-26"
    assert [(lot["acquired"], D(lot["units"])) for lot in fy["lots"]] == [
        ("2017-06-01", first_units), ("2023-06-01", D(10))]  # fmt: skip
    assert fy["lots"][0]["grandfathered_cost"] is not None
    assert all(lot["term"] == "long" for lot in fy["lots"])


def test_harvest_says_once_when_it_prices_the_plan_at_stale_navs(ledger, monkeypatch) -> None:
    fresh = run_cli("harvest")
    assert fresh.exit_code == 0 and "days old" not in fresh.stderr
    # A year later with no new NAVs: the plan's amounts are a year out of date, and it says so.
    monkeypatch.setenv("MFTRACK_TODAY", "2026-12-05")
    stale = run_cli("harvest")
    assert stale.exit_code == 0, stale.stderr
    assert stale.stderr.count("days old") == 1
    assert "Warning: the plan prices 1 scheme (120503) at NAVs up to 359 days old " \
           "(from 2025-12-11): run `mftrack nav update` first" in stale.stderr  # fmt: skip
