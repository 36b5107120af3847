"""The SIP commands end to end through the real CLI, on real AMFI data."""

from __future__ import annotations

import json

import pytest

from tests.helpers import NAVALL, mfapi_file, run_cli

NAVALL_DEC_11 = NAVALL / "NAVAll_2025-12-11.txt"


@pytest.fixture
def with_schemes() -> None:
    result = run_cli("nav", "import", str(NAVALL_DEC_11), str(mfapi_file(120503)))
    assert result.exit_code == 0, result.stderr


def add(*args: str) -> str:
    result = run_cli("add-sip", *args)
    assert result.exit_code == 0, result.stderr
    return result.stdout.strip()


def sips_json(*extra: str) -> list[dict]:
    result = run_cli("sips", "--json", *extra)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def test_add_by_code_isin_and_unique_phrase(with_schemes: None) -> None:
    by_code = add("120503", "--amount", "5000", "--start", "2021-04-05")
    by_isin = add("INF846K01EW2", "--amount", "1,000", "--start", "2022-01-31", "--day", "31")
    by_phrase = add("parag parikh flexi cap direct growth", "-a", "2500", "-s", "2023-03-01")
    listed = {s["id"]: s for s in sips_json()}
    assert set(listed) == {by_code, by_isin, by_phrase}
    assert listed[by_code]["scheme_code"] == 120503
    assert listed[by_isin]["scheme_code"] == 120503
    assert listed[by_isin]["amount"] == "1000.00"
    assert listed[by_isin]["sip_day"] == 31
    assert listed[by_phrase]["scheme_code"] == 122639


def test_ambiguous_phrase_lists_candidates_and_changes_nothing(with_schemes: None) -> None:
    result = run_cli("add-sip", "axis elss", "--amount", "5000", "--start", "2021-04-05")
    assert result.exit_code == 4
    assert result.stdout == ""
    assert "matches" in result.stderr and "120503" in result.stderr and "120502" in result.stderr
    assert sips_json() == []


@pytest.mark.parametrize(
    ("args", "code", "needle"),
    [
        (("120503", "--amount", "5000", "--start", "2021-13-05"), 2, "is not a date"),
        (("120503", "--amount", "-5", "--start", "2021-04-05"), 2, "more than zero"),
        (("120503", "--amount", "abc", "--start", "2021-04-05"), 2, "not a number"),
        (("120503", "--amount", "5000", "--start", "2021-04-05", "--day", "32"), 2, "1 to 31"),
        (("120503", "--amount", "5000", "--start", "2021-04-05", "--end", "2020-01-01"), 2,
         "before"),
        (("999999", "--amount", "5000", "--start", "2021-04-05"), 3, "no scheme"),
        (("no such fund words", "--amount", "5000", "--start", "2021-04-05"), 3, "no scheme"),
    ],
)
def test_bad_input_is_one_line_on_stderr_with_its_code(
    with_schemes: None, args: tuple[str, ...], code: int, needle: str
) -> None:
    result = run_cli("add-sip", *args)
    assert result.exit_code == code
    assert needle in result.stderr
    assert result.stderr.startswith("Error:")
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    assert sips_json() == []


def test_unknown_scheme_on_an_empty_database_hints_at_loading_navs() -> None:
    result = run_cli("add-sip", "120503", "--amount", "5000", "--start", "2021-04-05")
    assert result.exit_code == 3
    assert "nav pull" in result.stderr


def test_edit_pause_resume_stop_and_remove(with_schemes: None) -> None:
    sip_id = add("120503", "--amount", "5000", "--start", "2021-04-05")
    short = sip_id[:8]
    assert run_cli("edit-sip", short, "--amount", "7500", "--from", "2023-01-01").exit_code == 0
    assert run_cli("pause-sip", short, "--from", "2024-01-01").exit_code == 0
    again = run_cli("pause-sip", short, "--from", "2024-02-01")
    assert again.exit_code == 2 and "already paused" in again.stderr
    assert run_cli("resume-sip", short, "--from", "2024-06-01").exit_code == 0
    assert run_cli("stop-sip", short, "--on", "2025-06-30").exit_code == 0
    (sip,) = sips_json()
    assert sip["amount"] == "5000.00"
    assert sip["amount_changes"] == [{"effective": "2023-01-01", "amount": "7500.00"}]
    assert sip["pauses"] == [{"start": "2024-01-01", "end": "2024-05-31"}]
    assert sip["end_date"] == "2025-06-30"
    assert run_cli("rm-sip", short, "--yes").exit_code == 0
    assert sips_json() == []
    (removed,) = sips_json("--all")
    assert removed["deleted"] is True and removed["status"] == "removed"
    missing = run_cli("edit-sip", short, "--amount", "1")
    assert missing.exit_code == 3


def test_every_change_is_queued_for_sync_in_order(with_schemes: None) -> None:
    import sqlite3

    from mftrack.config import resolve_paths

    sip_id = add("120503", "--amount", "5000", "--start", "2021-04-05")
    run_cli("edit-sip", sip_id[:8], "--label", "retirement")
    run_cli("rm-sip", sip_id[:8], "--yes")
    conn = sqlite3.connect(resolve_paths().database)
    rows = conn.execute("select row_id, fields, deleted from outbox order by mid").fetchall()
    assert [r[0] for r in rows] == [sip_id] * 3
    assert json.loads(rows[0][1])["amount"] == "5000.00"
    assert set(json.loads(rows[1][1])) == {"label", "updated_at"}
    assert rows[2][2] == 1


def test_sips_csv_has_a_header_and_a_row(with_schemes: None) -> None:
    add("120503", "--amount", "5000", "--start", "2021-04-05")
    result = run_cli("sips", "--csv")
    lines = result.stdout.strip().splitlines()
    assert lines[0].startswith("id,scheme_code,scheme_name,status")
    assert len(lines) == 2 and ",120503," in lines[1]
    both = run_cli("sips", "--csv", "--json")
    assert both.exit_code == 2


def test_label_longer_than_the_server_allows_is_refused(with_schemes: None) -> None:
    result = run_cli("add-sip", "120503", "-a", "100", "-s", "2021-04-05", "--label", "x" * 501)
    assert result.exit_code == 2 and "at most 500" in result.stderr
    assert sips_json() == []


def test_contradicting_options_and_whole_sip_edits(with_schemes: None) -> None:
    sip_id = add("120503", "--amount", "5000", "--start", "2021-04-05", "--step-up", "10%")
    both = run_cli("edit-sip", sip_id[:8], "--step-up", "5%", "--no-step-up")
    assert both.exit_code == 2 and "contradict" in both.stderr
    ends = run_cli("edit-sip", sip_id[:8], "--end", "2025-03-31", "--no-end")
    assert ends.exit_code == 2
    (sip,) = sips_json()
    assert sip["step_up_value"] == "10" and sip["end_date"] is None
    day = run_cli("edit-sip", sip_id[:8], "--day", "20")
    assert day.exit_code == 0 and "past instalments included" in day.stderr


def test_a_schemes_exact_full_name_is_not_ambiguous(with_schemes: None) -> None:
    shown = json.loads(run_cli("scheme", "show", "120716", "--json").stdout)["name"]
    result = run_cli("add-sip", shown, "--amount", "3000", "--start", "2019-04-01")
    assert result.exit_code == 0, result.stderr
    assert sips_json()[0]["scheme_code"] == 120716


def test_search_without_a_near_match_finds_nothing(with_schemes: None) -> None:
    assert run_cli("scheme", "search", "zzzzqqq").exit_code == 3
    assert run_cli("scheme", "search", " ").exit_code == 2


def test_future_as_of_and_bad_today_are_refused(with_schemes: None, monkeypatch) -> None:
    future = run_cli("summary", "--as-of", "2099-01-01")
    assert future.exit_code == 2 and "in the future" in future.stderr
    monkeypatch.setenv("MFTRACK_TODAY", "garbage")
    bad = run_cli("sips")
    assert bad.exit_code == 6 and "MFTRACK_TODAY" in bad.stderr
