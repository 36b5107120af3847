"""Changing SIPs safely: resume, stop and pause never rewrite history they do not cover.

Every expectation is counted by hand from the calendar (a SIP on day 5 has one instalment a
month) and the amounts given, never copied from mftrack's output.
"""

from __future__ import annotations

import json
import sqlite3

import pytest

from tests.helpers import NAVALL, mfapi_file, run_cli

TODAY = "2025-12-11"


@pytest.fixture(autouse=True)
def pinned_today(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MFTRACK_TODAY", TODAY)


@pytest.fixture
def axis_elss() -> None:
    """Scheme 120503 (Axis ELSS Direct Growth) with its real NAV history to 2025-12-11."""
    result = run_cli("nav", "import", str(NAVALL / "NAVAll_2025-12-11.txt"),
                     str(mfapi_file(120503)))
    assert result.exit_code == 0, result.stderr


def add(*args: str) -> str:
    result = run_cli("add-sip", *args)
    assert result.exit_code == 0, result.stderr
    return result.stdout.strip()


def the_sip() -> dict:
    result = run_cli("sips", "--json", "--all")
    assert result.exit_code == 0, result.stderr
    (sip,) = json.loads(result.stdout)
    return sip


def totals() -> tuple[int, str]:
    result = run_cli("summary", "--json")
    assert result.exit_code == 0, result.stderr
    total = json.loads(result.stdout)["total"]
    return total["instalments"], total["invested"]


def outbox_size() -> int:
    from mftrack.config import resolve_paths

    with sqlite3.connect(resolve_paths().database) as conn:
        return conn.execute("select count(*) from outbox").fetchone()[0]


def refused(result, *needles: str) -> None:
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert result.stderr.startswith("Error:")
    assert "Hint:" in result.stderr
    for needle in needles:
        assert needle in result.stderr
    assert "Traceback" not in result.stderr


# --- issue 9 item 5: resume only ends a pause that covers the date ----------------------------

def test_resume_before_a_past_ended_pause_is_refused_and_keeps_history(axis_elss: None) -> None:
    sip_id = add("120503", "--amount", "5000", "--start", "2021-04-05")
    assert run_cli("pause-sip", sip_id, "--from", "2022-01-01", "--to", "2022-04-30").exit_code == 0
    # Due on the 5th from Apr 2021 to Dec 2025: 9 + 12 + 12 + 12 + 12 = 57 months; the pause
    # skips Jan-Apr 2022 (4), so 53 instalments of ₹5,000 (stamp duty is inside the amount).
    expected = (57 - 4, f"{(57 - 4) * 5000}.00")
    assert totals() == expected
    queued = outbox_size()

    result = run_cli("resume-sip", sip_id[:8], "--from", "2021-12-01")

    refused(result, "not paused on 2021-12-01", "2022-01-01 to 2022-04-30")
    assert the_sip()["pauses"] == [{"start": "2022-01-01", "end": "2022-04-30"}]
    assert totals() == expected
    assert outbox_size() == queued  # nothing queued for sync either


def test_resume_after_a_pause_ended_or_before_one_began_is_refused(axis_elss: None) -> None:
    sip_id = add("120503", "--amount", "5000", "--start", "2021-04-05")[:8]
    assert run_cli("pause-sip", sip_id, "--from", "2022-01-01", "--to", "2022-04-30").exit_code == 0
    assert run_cli("pause-sip", sip_id, "--from", "2026-03-01").exit_code == 0
    after = run_cli("resume-sip", sip_id, "--from", "2022-06-01")
    refused(after, "not paused on 2022-06-01")
    before_it_began = run_cli("resume-sip", sip_id)  # today, before the March 2026 pause
    refused(before_it_began, f"not paused on {TODAY}", "--remove-pause")
    assert the_sip()["pauses"] == [{"start": "2022-01-01", "end": "2022-04-30"},
                                   {"start": "2026-03-01", "end": None}]


def test_resume_inside_a_pause_shortens_it_and_on_its_first_day_removes_it(
    axis_elss: None,
) -> None:
    sip_id = add("120503", "--amount", "5000", "--start", "2021-04-05")[:8]
    assert run_cli("pause-sip", sip_id, "--from", "2022-01-01", "--to", "2022-04-30").exit_code == 0
    assert run_cli("pause-sip", sip_id, "--from", "2024-01-01").exit_code == 0
    assert run_cli("resume-sip", sip_id, "--from", "2024-07-01").exit_code == 0
    assert run_cli("resume-sip", sip_id, "--from", "2022-01-01").exit_code == 0
    assert the_sip()["pauses"] == [{"start": "2024-01-01", "end": "2024-06-30"}]
    # 57 months less Jan-Jun 2024 (6)
    assert totals() == (51, f"{51 * 5000}.00")


# --- issue 9 item 6: stop-sip and pause-sip on an ended SIP -----------------------------------

def test_stop_on_an_ended_sip_is_refused_and_adds_no_instalment(axis_elss: None) -> None:
    sip_id = add("120503", "-a", "15000", "-s", "2021-04-05", "--end", "2024-06-30")[:8]
    # Apr 2021 to Jun 2024 on the 5th: 9 + 12 + 12 + 6 = 39 instalments of ₹15,000
    expected = (39, f"{39 * 15000}.00")
    assert totals() == expected
    queued = outbox_size()

    today = run_cli("stop-sip", sip_id)
    refused(today, "already ended on 2024-06-30", "edit-sip", "--end")
    earlier = run_cli("stop-sip", sip_id, "--on", "2024-01-31")
    refused(earlier, "already ended on 2024-06-30")

    assert the_sip()["end_date"] == "2024-06-30"
    assert totals() == expected
    assert outbox_size() == queued


def test_stop_never_moves_a_future_end_later(axis_elss: None) -> None:
    sip_id = add("120503", "-a", "5000", "-s", "2021-04-05", "--end", "2026-06-30")[:8]
    later = run_cli("stop-sip", sip_id, "--on", "2026-12-31")
    refused(later, "already ends on 2026-06-30, before 2026-12-31")
    same = run_cli("stop-sip", sip_id, "--on", "2026-06-30")
    refused(same, "already ends on 2026-06-30")
    assert run_cli("stop-sip", sip_id, "--on", "2026-01-31").exit_code == 0
    assert the_sip()["end_date"] == "2026-01-31"


def test_pause_on_an_ended_sip_is_refused(axis_elss: None) -> None:
    sip_id = add("120503", "-a", "5000", "-s", "2021-04-05", "--end", "2024-06-30")[:8]
    result = run_cli("pause-sip", sip_id)  # from today, long after its end
    refused(result, "ended on 2024-06-30", f"nothing to pause from {TODAY}", "edit-sip")
    assert the_sip()["pauses"] == []
    # Recording a skip that really happened while it ran is still allowed.
    assert run_cli("pause-sip", sip_id, "--from", "2023-01-01", "--to", "2023-03-31").exit_code == 0
    assert totals() == (39 - 3, f"{(39 - 3) * 5000}.00")


# --- issue 9 item 17: amounts as recorded, paise included ------------------------------------

def test_amounts_with_paise_are_shown_as_recorded(axis_elss: None) -> None:
    result = run_cli("add-sip", "120503", "-a", "700.50", "-s", "2025-04-05",
                     "--step-up", "333.33")
    assert result.exit_code == 0, result.stderr
    assert "₹700.50 on day 5 from 2025-04-05" in result.stderr
    assert "+₹333.33 a year" in result.stderr
    assert "₹701" not in result.stderr and "₹333 " not in result.stderr
    table = run_cli("sips")
    # Due today (2025-12-11) is the first year's amount: no anniversary has passed yet.
    assert "₹700.50 +₹333.33 a year" in table.stdout


def test_whole_rupee_amounts_stay_without_paise(axis_elss: None) -> None:
    result = run_cli("add-sip", "120503", "-a", "10,000", "-s", "2025-04-05", "--step-up", "10%")
    assert "₹10,000 on day 5 from 2025-04-05, +10% a year" in result.stderr


# --- issue 10 flow item 4: edits say what changed ---------------------------------------------

def test_each_edit_says_what_changed(axis_elss: None) -> None:
    sip_id = add("120503", "--amount", "5000", "--start", "2021-04-05")[:8]
    steps = [
        (("edit-sip", sip_id, "--amount", "7500", "--from", "2025-01-05"),
         "amount ₹5,000 → ₹7,500 from 2025-01-05"),
        (("pause-sip", sip_id, "--from", "2024-01-01", "--to", "2024-02-29"),
         "paused 2024-01-01 to 2024-02-29"),
        (("pause-sip", sip_id, "--from", "2025-06-01"), "paused from 2025-06-01 until resumed"),
        (("resume-sip", sip_id, "--from", "2025-08-01"),
         "resumed from 2025-08-01 (the pause is now 2025-06-01 to 2025-07-31)"),
        (("stop-sip", sip_id, "--on", "2025-12-31"), "end none (runs until stopped) → 2025-12-31"),
        (("edit-sip", sip_id, "--label", "tax"), "label none → 'tax'"),
        (("edit-sip", sip_id, "--day", "10"), "due day 5 → 10"),
        (("edit-sip", sip_id, "--step-up", "500"), "step-up no step-up → +₹500 a year"),
    ]
    for args, change in steps:
        result = run_cli(*args)
        assert result.exit_code == 0, (args, result.stderr)
        assert result.stdout.strip().startswith(sip_id)  # the id on stdout for scripts
        assert f"  {change}\n" in result.stderr, (args, result.stderr)


def test_a_second_amount_from_the_same_date_replaces_the_first(axis_elss: None) -> None:
    sip_id = add("120503", "--amount", "5000", "--start", "2021-04-05")[:8]
    assert run_cli("edit-sip", sip_id, "-a", "7500", "--from", "2025-01-05").exit_code == 0
    again = run_cli("edit-sip", sip_id, "-a", "8000", "--from", "2025-01-05")
    assert "amount ₹7,500 → ₹8,000 from 2025-01-05" in again.stderr
    assert the_sip()["amount_changes"] == [{"effective": "2025-01-05", "amount": "8000.00"}]
    # Apr 2021 - Dec 2024 at ₹5,000 (9 + 12 + 12 + 12 = 45), Jan - Dec 2025 at ₹8,000 (12)
    assert totals() == (57, f"{45 * 5000 + 12 * 8000}.00")


def test_a_pause_or_an_amount_change_can_be_removed(axis_elss: None) -> None:
    sip_id = add("120503", "--amount", "5000", "--start", "2021-04-05")[:8]
    assert run_cli("edit-sip", sip_id, "-a", "7500", "--from", "2025-01-05").exit_code == 0
    assert run_cli("pause-sip", sip_id, "--from", "2024-01-01", "--to", "2024-02-29").exit_code == 0
    wrong = run_cli("edit-sip", sip_id, "--remove-pause", "2024-01-02")
    refused(wrong, "no pause starting on 2024-01-02", "2024-01-01 to 2024-02-29")
    gone = run_cli("edit-sip", sip_id, "--remove-pause", "2024-01-01")
    assert gone.exit_code == 0 and "pause 2024-01-01 to 2024-02-29 removed" in gone.stderr
    change = run_cli("edit-sip", sip_id, "--remove-change", "2025-01-05")
    assert change.exit_code == 0, change.stderr
    assert "amount change ₹7,500 from 2025-01-05 removed" in change.stderr
    sip = the_sip()
    assert sip["pauses"] == [] and sip["amount_changes"] == []
    assert totals() == (57, f"{57 * 5000}.00")
    none_left = run_cli("edit-sip", sip_id, "--remove-change", "2025-01-05")
    refused(none_left, "no amount change from 2025-01-05")


def test_sip_show_lists_the_schedule_and_the_next_instalments(axis_elss: None) -> None:
    sip_id = add("120503", "-a", "5000", "-s", "2021-04-05", "--step-up", "10%")[:8]
    assert run_cli("pause-sip", sip_id, "--from", "2026-02-01", "--to", "2026-02-28").exit_code == 0
    assert run_cli("edit-sip", sip_id, "-a", "6000", "--from", "2022-04-05").exit_code == 0
    shown = run_cli("sip", "show", sip_id, "--next", "4", "--json")
    assert shown.exit_code == 0, shown.stderr
    data = json.loads(shown.stdout)
    # The 10% step-up counts from the amount change on 2022-04-05, each year rounded to the
    # rupee: 6000 -> 6600 (Apr 2023) -> 7260 (Apr 2024) -> 7986 (Apr 2025) -> 8784.6, i.e.
    # 8785 (Apr 2026). February 2026 is paused.
    assert data["next_instalments"] == [
        {"due_date": "2026-01-05", "amount": "7986"},
        {"due_date": "2026-03-05", "amount": "7986"},
        {"due_date": "2026-04-05", "amount": "8785"},
        {"due_date": "2026-05-05", "amount": "8785"},
    ]
    assert data["status"] == "active"
    text = run_cli("sip", "show", sip_id).stdout
    for line in ("status        active", "amount        ₹5,000 from 2021-04-05, due on day 5",
                 "step-up       +10% a year", "    ₹6,000 from 2022-04-05",
                 "    2026-02-01 to 2026-02-28", "    2026-01-05  ₹7,986",
                 "    2026-03-05  ₹7,986", "    2026-04-05  ₹8,785"):
        assert line in text, line
    assert "2026-05-05" not in text  # three by default


def test_sip_show_of_an_ended_sip_has_no_next_instalments(axis_elss: None) -> None:
    sip_id = add("120503", "-a", "5000", "-s", "2021-04-05", "--end", "2024-06-30")[:8]
    data = json.loads(run_cli("sip", "show", sip_id, "--json").stdout)
    assert data["status"] == "ended" and data["next_instalments"] == []


# --- issue 9 item 16: schemes that take no purchases ------------------------------------------

@pytest.fixture
def odd_schemes() -> None:
    result = run_cli("nav", "import", str(NAVALL / "NAVAll_2025-12-11.txt"),
                     str(mfapi_file(147389)), str(mfapi_file(102987)), str(mfapi_file(120503)))
    assert result.exit_code == 0, result.stderr


@pytest.mark.parametrize(
    ("code", "reasons", "not_said"),
    [
        # Tata Corporate Bond Fund (Segregated Portfolio 1): last mfapi NAV 09-02-2022
        ("147389", ("segregated portfolio", "no NAV for it since 2022-02-09"), "close-ended"),
        # ICICI Prudential Plan I (Close Ended Schemes in mfapi's meta), NAVs end 24-05-2006
        ("102987", ("close-ended", "no NAV for it since 2006-05-24"), "segregated"),
        # BANK OF INDIA Mid Cap Tax Fund Series 1: "Close Ended Schemes(ELSS)", NAV of the day
        ("141950", ("close-ended",), "no NAV for it since"),
        # Baroda BNP Paribas Credit Risk Fund ... Segregated Portfolio- 1 (NAV 0.0000)
        ("148333", ("segregated portfolio",), "close-ended"),
    ],
)
def test_add_sip_warns_about_a_scheme_that_takes_no_purchases(
    odd_schemes: None, code: str, reasons: tuple[str, ...], not_said: str
) -> None:
    result = run_cli("add-sip", code, "-a", "1000", "-s", "2005-01-01")
    assert result.exit_code == 0, result.stderr
    warning = [line for line in result.stderr.splitlines() if line.startswith("Warning:")]
    assert len(warning) == 1 and f"a SIP into {code} " in warning[0]
    for reason in reasons:
        assert reason in warning[0]
    assert not_said not in warning[0]
    assert the_sip()["scheme_code"] == int(code)  # recorded all the same


def test_an_open_ended_scheme_with_current_navs_gets_no_warning(odd_schemes: None) -> None:
    result = run_cli("add-sip", "120503", "-a", "1000", "-s", "2021-01-01")
    assert result.exit_code == 0 and "Warning" not in result.stderr


def test_an_amount_from_before_the_start_replaces_the_sips_own_amount(axis_elss: None) -> None:
    sip_id = add("120503", "--amount", "5000", "--start", "2021-04-05")[:8]
    result = run_cli("edit-sip", sip_id, "-a", "6000", "--from", "2020-01-01")
    assert result.exit_code == 0, result.stderr
    assert "  amount ₹5,000 → ₹6,000 from 2021-04-05\n" in result.stderr
    sip = the_sip()
    assert (sip["amount"], sip["amount_changes"]) == ("6000.00", [])
    both = run_cli("edit-sip", sip_id, "-a", "7000", "--remove-change", "2021-04-05")
    refused(both, "contradict")
