"""The ledger commands end to end through the real CLI, on real AMFI data: buy, redeem, switch,
dividend, txns, txn edit|rm|restore, with the bad input each must refuse (nothing changed)."""

from __future__ import annotations

import json

import pytest

from tests.helpers import NAVALL, mfapi_file, run_cli

TODAY = "2025-12-11"


@pytest.fixture(autouse=True)
def schemes(monkeypatch: pytest.MonkeyPatch) -> None:
    """120503 (Axis ELSS Direct Growth) and 122639 (Parag Parikh Flexi Cap Direct Growth) with
    their real histories, and every scheme of AMFI's 2025-12-11 file."""
    monkeypatch.setenv("MFTRACK_TODAY", TODAY)
    result = run_cli("nav", "import", str(NAVALL / "NAVAll_2025-12-11.txt"),
                     str(mfapi_file(120503)), str(mfapi_file(122639)))  # fmt: skip
    assert result.exit_code == 0, result.stderr


def ok(*args: str) -> str:
    result = run_cli(*args)
    assert result.exit_code == 0, result.stderr
    return result.stdout


def ledger(*extra: str) -> list[dict]:
    return json.loads(ok("txns", "--json", *extra))


def statement_purchase() -> str:
    """₹20,000 into 120503 on 2024-05-02 as a statement shows it: 206.852 units at that day's
    NAV of 96.68250 (₹1.00 stamp duty, F1)."""
    return ok("buy", "120503", "-a", "20000", "--on", "2024-05-02", "--units", "206.852",
              "--nav", "96.6825").strip()  # fmt: skip


def refused(code: int, *args: str, needle: str) -> str:
    before = ledger("--removed")
    result = run_cli(*args)
    assert result.exit_code == code, (result.stdout, result.stderr)
    assert result.stderr.startswith("Error:") and needle in result.stderr, result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
    assert ledger("--removed") == before  # nothing changed
    return result.stderr


def test_buy_by_code_or_isin_prints_what_it_recorded() -> None:
    first = ok("buy", "120503", "--amount", "50,000", "--on", "2024-03-12").strip()
    result = run_cli("buy", "INF846K01EW2", "-a", "20000", "--on", "2024-05-02", "--units",
                     "206.852", "--nav", "96.6825", "--folio", "91012345/67")  # fmt: skip
    assert result.exit_code == 0
    assert "206.852 units at NAV 96.6825, folio 91012345/67" in result.stderr
    rows = {r["id"]: r for r in ledger()}
    assert rows[first]["amount"] == "50000.00" and rows[first]["units"] is None
    assert rows[first]["kind"] == "purchase" and rows[first]["source"] == "manual"
    assert rows[result.stdout.strip()]["units"] == "206.852"
    as_json = json.loads(ok("buy", "122639", "-a", "1000", "--on", "2024-05-02", "--json"))
    assert as_json["scheme_code"] == 122639 and as_json["trade_date"] == "2024-05-02"


def test_buy_warns_when_units_times_nav_is_far_from_the_amount() -> None:
    result = run_cli("buy", "120503", "-a", "20000", "--on", "2024-05-02", "--units", "2068.52",
                     "--nav", "96.6825")  # fmt: skip
    assert result.exit_code == 0 and "check the figures" in result.stderr


@pytest.mark.parametrize(
    ("args", "code", "needle"),
    [
        (("120503", "-a", "5000", "--on", "2024-13-01"), 2, "is not a date"),
        (("120503", "-a", "5000", "--on", "12-03-2024"), 2, "YYYY-MM-DD"),
        (("120503", "-a", "-5", "--on", "2024-03-12"), 2, "more than zero"),
        (("120503", "-a", "5000", "--on", "2026-01-01"), 2, "in the future"),
        (("120503", "-a", "5000", "--on", "2024-03-12", "--units", "5"), 2, "go together"),
        (
            ("120503", "-a", "5000", "--on", "2024-03-12", "--units", "x", "--nav", "1"),
            2,
            "not a number",
        ),
        (("999999", "-a", "5000", "--on", "2024-03-12"), 3, "no scheme with AMFI code"),
        (("INF000000000", "-a", "5000", "--on", "2024-03-12"), 3, "no scheme with ISIN"),
    ],
)
def test_buy_refuses_bad_input(args: tuple[str, ...], code: int, needle: str) -> None:
    refused(code, "buy", *args, needle=needle)


def test_redeem_units_amount_or_all_and_refusals() -> None:
    statement_purchase()
    refused(2, "redeem", "120503", "--units", "300", "--on", "2024-06-03",
            needle="only 206.852 are held")  # fmt: skip
    refused(2, "redeem", "120503", "--units", "1", "--on", "2024-05-01",
            needle="no units of 120503")  # fmt: skip
    refused(2, "redeem", "120503", "--units", "1", "--all", "--on", "2024-06-03",
            needle="exactly one of")  # fmt: skip
    refused(2, "redeem", "120503", "--on", "2024-06-03", needle="exactly one of")
    hint = refused(3, "redeem", "120503", "--amount", "100", "--on", "2024-06-02",
                   needle="no NAV of scheme 120503 for 2024-06-02")  # fmt: skip
    assert "mftrack nav update" in hint
    result = run_cli("redeem", "120503", "--amount", "5000", "--on", "2024-06-04")
    assert result.exit_code == 0 and "53.274 units at NAV 93.85290" in result.stderr
    ok("redeem", "120503", "--all", "--on", "2024-06-05")
    sales = [r for r in ledger() if r["kind"] == "redemption"]
    assert [s["units"] for s in sales] == ["53.274", "153.578"]


def test_switch_records_two_linked_legs() -> None:
    statement_purchase()
    out = ok("switch", "120503", "122639", "--units", "100", "--on", "2024-07-01").split()
    assert len(out) == 2
    legs = {r["id"]: r for r in ledger()}
    assert legs[out[0]]["kind"] == "switch_out" and legs[out[1]]["kind"] == "switch_in"
    assert legs[out[0]]["link_id"] == legs[out[1]]["link_id"]
    assert legs[out[1]]["amount"] == "10319.44"  # 100 units x 103.19440, that day's NAV
    refused(2, "switch", "120503", "120503", "--all", "--on", "2024-07-01",
            needle="two different schemes")  # fmt: skip
    refused(2, "switch", "120503", "122639", "--units", "107", "--on", "2024-07-01",
            needle="only 106.852")  # fmt: skip


def test_dividend_payout_and_reinvestment() -> None:
    refused(2, "dividend", "120503", "-a", "150", "--on", "2024-06-03", "--payout",
            needle="no units")  # fmt: skip
    statement_purchase()
    refused(2, "dividend", "120503", "-a", "150", "--on", "2024-06-03", needle="one of --payout")
    refused(2, "dividend", "120503", "-a", "150", "--on", "2024-06-03", "--payout", "--reinvest",
            needle="one of --payout")  # fmt: skip
    ok("dividend", "120503", "-a", "150", "--on", "2024-06-03", "--payout")
    ok("dividend", "120503", "-a", "150", "--on", "2024-06-03", "--reinvest", "--units", "1.537",
       "--nav", "97.572")  # fmt: skip
    kinds = [(r["kind"], r["units"]) for r in ledger()]
    assert kinds[1:] == [("dividend_payout", None), ("dividend_reinvest", "1.537")]


def test_txns_lists_filters_and_exports() -> None:
    empty = run_cli("txns")
    assert empty.exit_code == 0 and empty.stdout == "" and "No transactions" in empty.stderr
    ok("buy", "120503", "-a", "50000", "--on", "2024-03-12")
    ok("buy", "122639", "-a", "1000", "--on", "2024-05-02", "--units", "12.896", "--nav", "77.5363")
    table = ok("txns")
    assert "estimated" in table and "Parag Parikh Flexi Cap" in table and "₹50,000.00" in table
    assert [r["scheme_code"] for r in ledger("122639")] == [122639]
    assert [r["trade_date"] for r in ledger("--from", "2024-04-01")] == ["2024-05-02"]
    assert [r["trade_date"] for r in ledger("--to", "2024-04-01")] == ["2024-03-12"]
    csv_text = ok("txns", "--csv")
    assert csv_text.splitlines()[0].startswith("id,date,scheme_code,scheme_name,type,amount")
    assert len(csv_text.splitlines()) == 3
    assert run_cli("txns", "--csv", "--json").exit_code == 2
    assert run_cli("txns", "--csv", "--removed").exit_code == 2
    assert run_cli("txns", "--from", "2024/01/01").exit_code == 2
    assert run_cli("txns", "999999").exit_code == 3


def test_txn_edit_rm_and_restore() -> None:
    lot = statement_purchase()
    sale = ok("redeem", "120503", "--units", "150", "--on", "2024-06-10").strip()
    result = run_cli("txn", "edit", sale[:8], "--note", "for the car", "--stt", "0.15")
    assert result.exit_code == 0 and "note — → for the car" in result.stderr
    assert "stt — → 0.15" in result.stderr
    refused(2, "txn", "edit", sale[:8], "--units", "207", needle="only 206.852")
    refused(2, "txn", "edit", sale[:8], needle="nothing to change")
    refused(2, "txn", "edit", lot[:8], "--on", "2026-01-01", needle="in the future")
    refused(3, "txn", "edit", "ffffffff", "--note", "x", needle="no transaction")
    refused(3, "txn", "edit", "ff", "--note", "x", needle="too short")
    refused(2, "txn", "rm", lot[:8], "--yes", needle="short by 150")
    refused(2, "txn", "rm", sale[:8], needle="stdin is not a terminal")
    removed = run_cli("txn", "rm", sale[:8], "--yes")
    assert removed.exit_code == 0 and removed.stdout.strip() == sale
    assert [r["id"] for r in ledger()] == [lot]
    assert [r["deleted"] for r in ledger("--removed")] == [False, True]
    refused(3, "txn", "edit", sale[:8], "--note", "x", needle="no transaction")
    back = run_cli("txn", "restore", sale[:8])
    assert back.exit_code == 0 and back.stdout.strip() == sale
    assert [r["id"] for r in ledger()] == [lot, sale]
    refused(2, "txn", "restore", sale[:8], needle="is not removed")


def test_txn_rm_asks_on_a_terminal() -> None:
    from tests.helpers import run_at_terminal

    lot = ok("buy", "120503", "-a", "50000", "--on", "2024-03-12").strip()
    code, screen = run_at_terminal(["txn", "rm", lot[:8]], "n")
    assert code == 0 and "Remove purchase" in screen and "Nothing removed" in screen
    assert [r["id"] for r in ledger()] == [lot]
    code, screen = run_at_terminal(["txn", "rm", lot[:8]], "y")
    assert code == 0 and ledger() == []
