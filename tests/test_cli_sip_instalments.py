"""`mftrack sip paid` and `sip missed`: a SIP's instalments as the registrar reported them
(F4, F5), by hand, through the real CLI on 120503's real NAVs (Axis ELSS Tax Saver Direct
Growth; mfapi.in: 2024-06-05 97.15380, 2024-06-06 97.79730, 2024-07-05 103.81880)."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from tests.helpers import mfapi_file, run_cli

TODAY = "2025-12-11"


@pytest.fixture(autouse=True)
def sip_id(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("MFTRACK_TODAY", TODAY)
    assert run_cli("nav", "import", str(mfapi_file(120503))).exit_code == 0
    result = run_cli("add-sip", "120503", "-a", "5000", "--start", "2024-05-05")
    assert result.exit_code == 0, result.stderr
    return result.stdout.strip()


def _ok(*args: str) -> str:
    result = run_cli(*args)
    assert result.exit_code == 0, result.stderr
    return result.stdout


def _units() -> Decimal:
    return Decimal(json.loads(_ok("summary", "--json"))["schemes"][0]["units"])


def test_a_paid_instalment_replaces_its_estimate_and_a_missed_one_drops_out(sip_id: str) -> None:
    before = _units()
    # June's instalment: estimated at 2024-06-05's NAV, ₹0.25 stamp duty (F1): 4,999.75 /
    # 97.15380 = 51.4622 -> 51.462 (3 decimals, down, F5). The registrar allotted it a day
    # later at 97.7973: 51.124 units, which win.
    paid = json.loads(_ok("sip", "paid", sip_id[:8], "--on", "2024-06-06", "--units", "51.124",
                          "--nav", "97.7973", "--json"))  # fmt: skip
    assert (paid["kind"], paid["sip_id"], paid["amount"]) == ("sip", sip_id, "5000.00")
    assert _units() == before - Decimal("51.462") + Decimal("51.124")
    # July's debit failed: its estimate (4,999.75 / 103.8188 -> 48.158) is gone.
    missed = json.loads(_ok("sip", "missed", sip_id[:8], "--on", "2024-07-05", "--json"))
    assert (missed["kind"], missed["units"]) == ("sip_failed", None)
    assert _units() == before - Decimal("51.462") + Decimal("51.124") - Decimal("48.158")
    counts = json.loads(_ok("sip", "show", sip_id[:8], "--json"))["instalments"]
    assert (counts["confirmed"], counts["missed"]) == (1, 1)


def test_a_date_near_no_instalment_is_refused_and_nothing_is_recorded(sip_id: str) -> None:
    result = run_cli("sip", "paid", sip_id[:8], "--on", "2024-06-20", "--units", "51.124",
                     "--nav", "97.7973")  # fmt: skip
    assert result.exit_code == 2, result.stderr
    assert result.stderr.startswith("Error: no instalment of SIP")
    assert "Traceback" not in result.stderr and result.stdout == ""
    assert json.loads(_ok("txns", "--json")) == []
    half = run_cli("sip", "paid", sip_id[:8], "--on", "2024-06-06", "--units", "51.124")
    assert half.exit_code == 2 and "go together" in half.stderr
    assert json.loads(_ok("txns", "--json")) == []
