"""Valuation warnings on stderr: one line per kind for the whole portfolio (every scheme's own
line with --verbose), each naming `mftrack nav update`; typos at a terminal stay out of the
cron owner's log. Counts are worked out from the calendar and the real NAV files' dates."""

from __future__ import annotations

import json
import os
from datetime import date

import pytest

from tests.helpers import NAVALL, mfapi_file, run_at_terminal, run_cli, run_subprocess

TODAY = date(2025, 12, 11)
# NAVAll of 2023-08-11 is the only NAV file: every scheme's latest NAV is from that day.
OLD_NAVALL = NAVALL / "NAVAll_2023-08-11.txt"
# Sorted by scheme name, as the summary lists them: Axis Long Term Equity (120503), HDFC
# Mid-Cap Opportunities (118989), Parag Parikh Flexi Cap (122639), UTI Nifty 50 Index (120716).
SCHEMES = ("120503", "118989", "122639", "120716")


@pytest.fixture(autouse=True)
def pinned_today(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MFTRACK_TODAY", TODAY.isoformat())


def warnings_in(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("Warning:")]


@pytest.fixture
def four_stale_sips() -> None:
    assert run_cli("nav", "import", str(OLD_NAVALL)).exit_code == 0
    for code in SCHEMES:
        assert run_cli("add-sip", code, "-a", "1000", "-s", "2023-09-05").exit_code == 0


def test_summary_groups_warnings_by_kind(four_stale_sips: None) -> None:
    result = run_cli("summary")
    assert result.exit_code == 0, result.stderr
    days = (TODAY - date(2023, 8, 11)).days
    # Due on the 5th from Sep 2023 to Dec 2025 (4 + 12 + 12 = 28 each), none with a NAV yet.
    pending = 4 * (4 + 12 + 12)
    assert warnings_in(result.stderr) == [
        f"Warning: 4 schemes' NAVs (120503, 118989, 122639 and 1 more) are {days} days old, "
        "so values may be out of date: run `mftrack nav update`",
        f"Warning: {pending} instalments of 4 schemes (120503, 118989, 122639 and 1 more) are "
        "pending (no NAV on or after the due date yet): run `mftrack nav update`",
    ]
    assert "`mftrack --verbose summary ...`" in result.stderr


def test_verbose_gives_each_schemes_own_lines(four_stale_sips: None) -> None:
    result = run_cli("--verbose", "summary")
    lines = warnings_in(result.stderr)
    assert len(lines) == 2 * len(SCHEMES)  # stale and pending for each scheme
    for code in SCHEMES:
        assert sum(line.startswith(f"Warning: {code} ") for line in lines) == 2
    assert "4 schemes" not in result.stderr


@pytest.mark.parametrize("args", [("summary", "--verbose"), ("chart", "value", "-v")])
def test_verbose_after_the_command_works_too(four_stale_sips: None, args: tuple[str, ...]) -> None:
    lines = warnings_in(run_cli(*args).stderr)
    assert len(lines) == 2 * len(SCHEMES)
    assert all(line.startswith(tuple(f"Warning: {code} " for code in SCHEMES)) for line in lines)


def test_json_keeps_every_schemes_warning(four_stale_sips: None) -> None:
    result = run_cli("summary", "--json")
    assert len(json.loads(result.stdout)["warnings"]) == 2 * len(SCHEMES)
    assert len(warnings_in(result.stderr)) == 2


def test_chart_groups_them_too(four_stale_sips: None) -> None:
    result = run_cli("chart", "value")
    assert len(warnings_in(result.stderr)) == 2
    assert "`mftrack --verbose chart ...`" in result.stderr


def test_one_scheme_reads_in_the_singular() -> None:
    assert run_cli("nav", "import", str(OLD_NAVALL)).exit_code == 0
    assert run_cli("add-sip", "120503", "-a", "1000", "-s", "2025-12-05").exit_code == 0
    days = (TODAY - date(2023, 8, 11)).days
    assert warnings_in(run_cli("summary").stderr) == [
        f"Warning: 1 scheme's NAV (120503) is {days} days old, so values may be out of date: "
        "run `mftrack nav update`",
        "Warning: 1 instalment of 1 scheme (120503) is pending (no NAV on or after the due date "
        "yet): run `mftrack nav update`",
    ]


def test_late_allotments_and_gaps_are_grouped() -> None:
    # 118395's mfapi history has no NAV from 2013-10-29 to 2019-08-14 (a six-year gap).
    assert run_cli("nav", "import", str(mfapi_file(118395))).exit_code == 0
    assert run_cli("add-sip", "118395", "-a", "1000", "-s", "2014-01-05").exit_code == 0
    lines = warnings_in(run_cli("summary").stderr)
    # Due 2014-01-05 to 2019-07-05 (5 x 12 + 7 = 67): the next NAV is over 10 days away, a gap.
    # Due 2019-08-05: allotted at the NAV of 2019-08-14, 9 days late (more than 4).
    assert lines == [
        "Warning: 1 instalment of 1 scheme (118395) was allotted at a NAV more than 4 days "
        "after the due date (a long closure, or NAVs missing locally): run `mftrack nav update`",
        "Warning: 67 instalments of 1 scheme (118395) have no NAV near the due date (a gap in "
        "the NAV history) and are left out of the totals: run `mftrack nav update`",
    ]


# --- typos are not WARNINGs in the log ----------------------------------------------------------

def _log_lines() -> list[str]:
    from mftrack.config import resolve_paths

    folder = resolve_paths().log_dir
    if not folder.is_dir():
        return []
    return [line for path in sorted(folder.iterdir())
            for line in path.read_text(encoding="utf-8").splitlines()]


def test_a_mistyped_sip_id_at_a_terminal_is_not_logged() -> None:
    assert run_cli("nav", "import", str(OLD_NAVALL)).exit_code == 0
    code, screen = run_at_terminal(["edit-sip", "zzzz", "-a", "5"], "")
    assert code == 3 and "no SIP with id 'zzzz'" in screen
    assert not [line for line in _log_lines() if "WARNING" in line]


def test_the_same_failure_in_a_script_is_logged_for_cron() -> None:
    assert run_cli("nav", "import", str(OLD_NAVALL)).exit_code == 0
    result = run_subprocess("edit-sip", "zzzz", "-a", "5", input="",  # stdin: a pipe
                            env={"MFTRACK_HOME": os.environ["MFTRACK_HOME"]})
    assert result.exit_code == 3
    assert [line for line in _log_lines() if "WARNING" in line and "no SIP with id" in line]
