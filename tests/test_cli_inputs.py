"""Bad input at the command line: one line naming the cause, a hint that fits, nothing stored
(issue 10 item 5)."""

from __future__ import annotations

import json

from tests.helpers import NAVALL, mfapi_file, run_cli


def _sips() -> list[dict]:
    return json.loads(run_cli("sips", "--json").stdout)


def test_a_day_first_date_is_refused_with_both_readings() -> None:
    assert run_cli("-q", "nav", "import", str(mfapi_file(120503))).exit_code == 0
    result = run_cli("add-sip", "120503", "-a", "5000", "--start", "04/05/2024")
    assert result.exit_code == 2
    assert "--start '04/05/2024' is not a YYYY-MM-DD date" in result.stderr
    assert "2024-04-05 (5 April) or 2024-05-04 (4 May)" in result.stderr
    assert _sips() == []
    for text in ("05-04-2024", "05-Apr-2024", "2024/04/05"):
        assert run_cli("add-sip", "120503", "-a", "5000", "-s", text).exit_code == 2, text
    assert _sips() == []


def test_amounts_below_a_rupee_are_refused_and_the_documented_spellings_work() -> None:
    assert run_cli("-q", "nav", "import", str(mfapi_file(120503))).exit_code == 0
    small = run_cli("add-sip", "120503", "-a", "0.50", "-s", "2024-04-05")
    assert small.exit_code == 2 and "is less than ₹1" in small.stderr
    assert _sips() == []
    for spelled in ("10,000", "₹5000"):
        result = run_cli("-q", "add-sip", "120503", "-a", spelled, "-s", "2024-04-05")
        assert result.exit_code == 0, result.stderr
    assert sorted(s["amount"] for s in _sips()) == ["10000.00", "5000.00"]


def test_a_wordy_step_up_gets_a_step_up_hint() -> None:
    assert run_cli("-q", "nav", "import", str(mfapi_file(120503))).exit_code == 0
    result = run_cli("add-sip", "120503", "-a", "5000", "-s", "2024-04-05", "--step-up", "ten")
    assert result.exit_code == 2
    hint = result.stderr.splitlines()[-1]
    assert hint.startswith("Hint:") and "--step-up 10%" in hint and "--amount" not in hint
    assert _sips() == []


def test_an_unknown_code_among_loaded_schemes_does_not_say_load_navs_first() -> None:
    navall = NAVALL / "NAVAll_2026-08-21_8col-plan-option.txt"
    assert run_cli("-q", "nav", "import", str(navall)).exit_code == 0
    # Every scheme row of AMFI's file has a numeric code in the first field and a ';'-list.
    codes = {line.split(";")[0] for line in navall.read_text(encoding="utf-8").splitlines()
             if line[:1].isdigit() and line.count(";") >= 5}
    unknown = "999999"
    assert unknown not in codes
    result = run_cli("add-sip", unknown, "-a", "5000", "-s", "2024-04-05")
    assert result.exit_code == 3
    assert f"among the {len(codes):,} schemes" in result.stderr
    assert "load NAVs first" not in result.stderr
    assert "mftrack scheme search" in result.stderr
