"""Output to a terminal and to a pipe, through real processes (issue 10 item 2).

On a terminal (a pty, 80 columns) tables fit the width: names are cut with an ellipsis and the
least useful columns dropped. Into a pipe or a file every column and every whole name is
printed, and nothing is folded, as hledger and gh do.
"""

from __future__ import annotations

import json

from tests.helpers import mfapi_file, run_cli, run_subprocess
from tests.helpers import run_in_pty as pty_run

CODES = (119551, 118550)  # two of the longest real scheme names in the data set
TODAY = {"MFTRACK_TODAY": "2025-12-10"}
SUMMARY_HEADERS = ("code", "scheme", "inst", "invested", "units", "NAV", "NAV date", "value",
                   "gain", "return", "XIRR")


def _names() -> list[str]:
    """The schemes' names as the source file has them (whitespace runs collapsed)."""
    names = []
    for code in CODES:
        meta = json.loads(mfapi_file(code).read_text(encoding="utf-8"))["meta"]
        names.append(" ".join(meta["scheme_name"].split()))
    return names


def _portfolio() -> None:
    assert run_cli("-q", "nav", "import", *(str(mfapi_file(c)) for c in CODES)).exit_code == 0
    for code in CODES:
        assert run_cli("-q", "add-sip", str(code), "-a", "1000", "-s", "2024-01-05").exit_code == 0


def run_in_pty(*args: str) -> str:
    result = pty_run(*args, env=TODAY)
    assert result.exit_code == 0, result.stderr
    return result.stdout


def test_summary_on_a_terminal_fits_80_columns() -> None:
    _portfolio()
    out = run_in_pty("summary")
    lines = [line for line in out.splitlines() if line.strip()]
    assert max(len(line) for line in lines) <= 80
    assert "…" in out  # names are cut to fit
    for name in _names():
        assert name not in out


def test_summary_into_a_pipe_has_every_column_and_whole_names() -> None:
    _portfolio()
    result = run_subprocess("summary", env={**TODAY, "COLUMNS": "80"})
    assert result.exit_code == 0, result.stderr
    header = result.stdout.splitlines()[1].split()
    for column in SUMMARY_HEADERS:
        assert column.split()[0] in header, column
    for name in _names():
        assert name in result.stdout
    assert "…" not in result.stdout
    assert all(line == line.rstrip() for line in result.stdout.splitlines())


def test_sips_scheme_search_and_config_show_are_whole_into_a_pipe(isolated_home) -> None:
    _portfolio()
    sips = run_subprocess("sips", env={"COLUMNS": "80"})
    for name in _names():
        assert name in sips.stdout
    found = run_subprocess("scheme", "search", "Franklin U.S. Opportunities",
                           env={"COLUMNS": "80"})
    assert _names()[1] in found.stdout
    # config show: the long values are on one line each, not folded mid-word
    shown = run_subprocess("config", "show", env={"COLUMNS": "60"})
    assert f"Settings (file: {isolated_home / 'config.toml'})" in shown.stdout
    url_line = next(line for line in shown.stdout.splitlines()
                    if line.startswith("amfi.history_url"))
    assert url_line.split()[1:] == ["https://portal.amfiindia.com/DownloadNAVHistoryReport_Po.aspx",
                                    "default", "MFTRACK_AMFI_HISTORY_URL"]


def test_ohlc_candles_stay_chart_sized_when_piped() -> None:
    """A chart is not a table: piped, it keeps a readable width (80, or $COLUMNS)."""
    _portfolio()
    result = run_subprocess("chart", "ohlc", str(CODES[0]), env={**TODAY, "COLUMNS": "80"})
    assert result.exit_code == 0, result.stderr
    assert max(len(line) for line in result.stdout.splitlines()) <= 80


def test_scheme_show_text_lists_the_schemes_details_from_its_file() -> None:
    """Issue 15: `scheme show`'s text output, against the mfapi file read without mftrack."""
    from datetime import date, datetime

    raw = json.loads(mfapi_file(122639).read_text(encoding="utf-8"))
    meta = raw["meta"]
    rows = [(datetime.strptime(r["date"], "%d-%m-%Y").date(), r["nav"]) for r in raw["data"]
            if float(r["nav"]) > 0]
    last_day, last_nav = max(rows)
    assert run_cli("-q", "nav", "import", str(mfapi_file(122639))).exit_code == 0
    today = date(2025, 12, 20)
    result = run_subprocess("scheme", "show", "122639", env={"MFTRACK_TODAY": str(today)})
    assert result.exit_code == 0, result.stderr
    fields = {line[:14].strip(): line[14:] for line in result.stdout.splitlines()}
    assert fields["Code"] == "122639"
    assert fields["Name"] == " ".join(meta["scheme_name"].split())
    assert fields["Fund house"] == meta["fund_house"]
    assert fields["Category"] == meta["scheme_category"]
    assert fields["ISIN"] == meta["isin_growth"]
    age = (today - last_day).days
    assert fields["NAV"] == f"{last_nav} on {last_day} ({age} days old)"
    assert fields["NAVs stored"] == f"{len({d for d, _ in rows}):,}"
