"""`mftrack summary` and `sip show` over transactions in a real store (issue 11).

NAVs come from the shared AMFI data through `mftrack nav import`; transactions are written
with the store's own `insert_transactions` (the ledger commands are helper `txns`'s). The
expected figures are worked out here from the raw mfapi.in JSON.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from mftrack.adapters.sqlite.store import LocalStore
from mftrack.config import resolve_paths
from mftrack.domain.money import paisa
from mftrack.domain.transactions import Transaction, TxnKind
from tests.helpers import NAVALL, mfapi_file, run_cli
from tests.test_domain_portfolio import ELSS, NIFTY, scan_on_or_after, scan_on_or_before

TODAY = "2025-12-11"


@pytest.fixture(autouse=True)
def navs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MFTRACK_TODAY", TODAY)
    result = run_cli("nav", "import", str(NAVALL / "NAVAll_2025-12-11.txt"),
                     str(mfapi_file(NIFTY)), str(mfapi_file(ELSS)))  # fmt: skip
    assert result.exit_code == 0, result.stderr


def record(*txns: Transaction) -> None:
    paths = resolve_paths()
    store = LocalStore(paths.database, backup_dir=paths.backup_dir)
    now = datetime.now(UTC)
    try:
        store.insert_transactions(replace(t, created_at=now, updated_at=now) for t in txns)
    finally:
        store.close()


def summary(*args: str) -> dict:
    result = run_cli("summary", "--json", *args)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def test_summary_values_a_lump_sum_and_a_partial_redemption() -> None:
    bought_on, bought_nav = scan_on_or_after(NIFTY, date(2020, 1, 10))
    units = Decimal("1000.000")
    sold_on, sold_nav = scan_on_or_after(NIFTY, date(2023, 6, 12))
    proceeds = paisa(Decimal(400) * sold_nav)
    record(
        Transaction("b1", NIFTY, TxnKind.PURCHASE, bought_on, Decimal("80000.00"), units,
                    bought_nav, Decimal("0.00"), folio="F1"),
        Transaction("r1", NIFTY, TxnKind.REDEMPTION, sold_on, proceeds, Decimal(400),
                    folio="F1"),
    )  # fmt: skip
    data = summary()
    (scheme,) = data["schemes"]
    _, nav = scan_on_or_before(NIFTY, date(2025, 12, 11))
    assert scheme["units"] == "600.000"
    assert scheme["invested"] == "48000.00"  # 600 of 1,000 units of an ₹80,000 lot
    assert scheme["value"] == format(paisa(600 * nav), "f")
    assert scheme["paid_in"] == "80000.00" and scheme["withdrawn"] == format(proceeds, "f")
    assert scheme["realised_gain"] == format(proceeds - 32000, "f")
    assert data["total"]["realised_gain"] == scheme["realised_gain"]
    csv = run_cli("summary", "--csv").stdout.splitlines()
    assert csv[0].endswith("paid_in,withdrawn,realised_gain,idcw,confirmed,estimated,missed")
    table = run_cli("summary").stdout
    assert "withdrawn" in table and "realised" in table


def test_a_fully_redeemed_scheme_shows_only_with_all() -> None:
    bought_on, nav = scan_on_or_after(NIFTY, date(2020, 1, 10))
    record(
        Transaction("b1", NIFTY, TxnKind.PURCHASE, bought_on, Decimal("10000.00"),
                    Decimal("100.000"), nav),
        Transaction("r1", NIFTY, TxnKind.REDEMPTION, date(2024, 1, 10), Decimal("20000.00"),
                    Decimal("100.000")),
    )  # fmt: skip
    assert summary()["schemes"] == []
    assert summary()["total"]["realised_gain"] == "10000.00"
    (gone,) = summary("--all")["schemes"]
    assert gone["redeemed"] is True and gone["units"] == "0.000"
    plain = run_cli("summary")
    assert plain.exit_code == 0 and "summary --all" in plain.stderr


def test_sip_show_counts_a_confirmed_and_a_missed_instalment() -> None:
    added = run_cli("add-sip", str(ELSS), "-a", "5000", "-s", "2025-06-05")
    assert added.exit_code == 0, added.stderr
    sip_id = added.stdout.strip()
    (full_id,) = [s["id"] for s in json.loads(run_cli("sips", "--json").stdout)]
    on, nav = scan_on_or_after(ELSS, date(2025, 6, 5))
    record(
        Transaction("c1", ELSS, TxnKind.SIP, on, Decimal(5000), Decimal("50.123"), nav,
                    Decimal("0.25"), sip_id=full_id),
        Transaction("f1", ELSS, TxnKind.SIP_FAILED, date(2025, 7, 7), sip_id=full_id),
    )  # fmt: skip
    data = json.loads(run_cli("sip", "show", sip_id[:8], "--json").stdout)
    assert data["instalments"] == {
        "confirmed": 1, "estimated": 5, "missed": 1, "pending": 0, "nav_gaps": 0,
    }  # fmt: skip
    total = summary()["total"]
    assert (total["confirmed"], total["estimated"], total["missed"]) == (1, 5, 1)
    assert total["instalments"] == 6 and total["paid_in"] == "30000.00"


def test_as_of_before_a_redemption_values_the_units_then_held() -> None:
    bought_on, nav = scan_on_or_after(NIFTY, date(2020, 1, 10))
    record(
        Transaction("b1", NIFTY, TxnKind.PURCHASE, bought_on, Decimal("10000.00"),
                    Decimal("100.000"), nav),
        Transaction("r1", NIFTY, TxnKind.REDEMPTION, date(2024, 1, 10), Decimal("20000.00"),
                    Decimal("40.000")),
    )  # fmt: skip
    before = summary("--as-of", "2024-01-09")
    (scheme,) = before["schemes"]
    _, then = scan_on_or_before(NIFTY, date(2024, 1, 9))
    assert scheme["units"] == "100.000" and scheme["withdrawn"] == "0.00"
    assert scheme["value"] == format(paisa(100 * then), "f")
    (after,) = summary("--as-of", "2024-01-10")["schemes"]
    assert after["units"] == "60.000" and after["realised_gain"] == "16000.00"


def test_an_oversold_ledger_is_warned_about_and_valued_not_a_crash() -> None:
    # A synced or edited ledger may sell more than it bought (`redeem` itself refuses): the
    # summary still runs, values what is held and names the sale on stderr and in --json.
    bought_on, nav = scan_on_or_after(NIFTY, date(2020, 1, 10))
    record(
        Transaction("b1", NIFTY, TxnKind.PURCHASE, bought_on, Decimal("10000.00"),
                    Decimal("100.000"), nav),
        Transaction("r1", NIFTY, TxnKind.REDEMPTION, date(2024, 1, 10), Decimal("30000.00"),
                    Decimal("150.000")),
    )  # fmt: skip
    result = run_cli("summary", "--all")
    assert result.exit_code == 0 and "Traceback" not in result.stderr
    assert "redemption on 2024-01-10 takes 150.000 units but only 100.000 are held" in (
        result.stderr)  # fmt: skip
    data = summary("--all")
    (scheme,) = data["schemes"]
    assert scheme["units"] == "0.000" and scheme["withdrawn"] == "20000.00"  # 100/150 of it
    assert scheme["realised_gain"] == "10000.00"
    assert any("only 100.000 are held" in w for w in data["warnings"])
