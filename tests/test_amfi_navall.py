"""parse_navall on every real NAVAll.txt snapshot in ../shared/amfi-data/navall."""

from __future__ import annotations

import re
from collections import Counter
from datetime import date
from decimal import Decimal, InvalidOperation
from functools import cache
from typing import NamedTuple

import pytest

from mftrack.adapters.amfi.fields import parse_nav
from mftrack.adapters.amfi.model import ParsedNavFile
from mftrack.adapters.amfi.navall import parse_navall
from mftrack.domain.schemes import SchemeInfo
from mftrack.errors import RemoteDataError
from tests.amfi_data import AMFI_DATA, navall_files, raw_line, read_text

F2017 = "navall/NAVAll_2017-04-13_legacy-8col-repurchase-sale.txt"
F2019 = "navall/NAVAll_2019-06-21.txt"
F2021 = "navall/NAVAll_2021-10-01_LF.txt"
F2023 = "navall/NAVAll_2023-08-11.txt"
F2025_10 = "navall/NAVAll_2025-12-10.txt"
F2025 = "navall/NAVAll_2025-12-11.txt"
F2026_18 = "navall/NAVAll_2026-08-18_last-6col.txt"
F2026_19 = "navall/NAVAll_2026-08-19_first-8col-plan-option.txt"
F2026 = "navall/NAVAll_2026-08-21_8col-plan-option.txt"

# (layout, rows, distinct fund houses, section headings): amfi-formats.md 1.3 and SOURCES.md.
# The 2025-12-10 and 2026-08-19 files are not in the format doc's table: their fund houses and
# headings (None here) come only from `plain_scan` below, like every file's junk NAV counts.
EXPECTED = {
    F2017: ("navall-2017-8col", 13_661, 41, 16),
    F2019: ("navall-6col", 15_834, 43, 53),
    F2021: ("navall-6col", 13_795, 43, 52),
    F2023: ("navall-6col", 12_863, 42, 52),
    F2025_10: ("navall-6col", 14_150, None, None),
    F2025: ("navall-6col", 14_150, 50, 50),
    F2026_18: ("navall-6col", 14_280, 52, 93),
    F2026_19: ("navall-2026-8col", 14_283, None, None),
    F2026: ("navall-2026-8col", 14_282, 52, 101),
}
HEADING = re.compile(r"^(Open Ended|Close Ended|Interval Fund) Schemes\s*\(")  # 1.3


class Scan(NamedTuple):
    rows: int
    fund_houses: int
    headings: int
    not_a_number: int  # NAV field that is no number at all (`N.A.`, `#N/A`, `-`)
    not_positive: int  # NAV field that is a number <= 0 (`0`, `0.0000`)


@cache
def plain_scan(name: str) -> Scan:
    """Count a file the plain way (amfi-formats.md 1.3): split lines and fields, no parser."""
    lines = [line.strip() for line in read_text(name).splitlines()]
    header = lines[0].split(";")
    nav_at = header.index("Net Asset Value")
    rows = not_a_number = not_positive = 0
    houses: set[str] = set()
    headings: set[str] = set()
    for line in lines[1:]:
        if not line or line.split(";") == header:
            continue
        if ";" not in line:
            (headings if HEADING.match(line) else houses).add(line)
            continue
        rows += 1
        try:
            nav = Decimal(line.split(";")[nav_at].strip())
        except InvalidOperation:
            not_a_number += 1
            continue
        if not nav.is_finite():
            not_a_number += 1
        elif nav <= 0:
            not_positive += 1
    return Scan(rows, len(houses), len(headings), not_a_number, not_positive)


@cache
def parsed(name: str) -> ParsedNavFile:
    return parse_navall(read_text(name))


def parse_nav_or_none(text: str) -> Decimal | None:
    try:
        return parse_nav(text)
    except ValueError:
        return None


def scheme(result: ParsedNavFile, code: int) -> SchemeInfo:
    return next(s for s in result.schemes if s.scheme_code == code)


def quote_of(result: ParsedNavFile, code: int) -> tuple[date, Decimal] | None:
    found = [(q.nav_date, q.nav) for q in result.quotes if q.scheme_code == code]
    assert len(found) <= 1
    return found[0] if found else None


def test_every_snapshot_in_the_data_folder_is_covered() -> None:
    assert set(navall_files()) == set(EXPECTED), f"new or missing files in {AMFI_DATA}/navall"


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_counts_and_layout(name: str) -> None:
    layout, rows, fund_houses, headings = EXPECTED[name]
    result = parsed(name)
    scan = plain_scan(name)
    assert result.kind == "navall"
    assert result.layout == layout
    assert result.rows == rows == scan.rows
    assert len(result.fund_houses) == scan.fund_houses == (fund_houses or scan.fund_houses)
    assert len(result.headings) == scan.headings == (headings or scan.headings)
    # Scheme codes are unique in a NAVAll file (amfi-formats.md 1.4), and a row with a junk NAV
    # still records its scheme.
    assert len(result.schemes) == rows
    assert all(s.category and s.scheme_type and s.fund_house for s in result.schemes)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_junk_navs_become_problems_not_quotes(name: str) -> None:
    # Trailing-dot (`10.`) and leading-dot (`.4157`) NAVs are good NAVs (Decimal reads them
    # too) and must not be counted as junk.
    scan = plain_scan(name)
    not_number, not_positive = scan.not_a_number, scan.not_positive
    assert not_number + not_positive > 0  # every snapshot has some (241 to 431)
    result = parsed(name)
    messages = Counter(
        "number" if "not a number" in p.message else "positive"
        for p in result.problems
        if p.message.startswith("NAV ")
    )
    assert messages["number"] == not_number
    assert messages["positive"] == not_positive
    assert len(result.quotes) == result.rows - not_number - not_positive
    assert all(q.nav > 0 for q in result.quotes)
    problem = next(p for p in result.problems if p.message.startswith("NAV "))
    assert problem.text == raw_line(name, problem.text.split(";")[0] + ";")
    assert read_text(name).split("\n")[problem.line_no - 1].rstrip("\r") == problem.text


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_text_fields_are_whitespace_normalised(name: str) -> None:
    for s in parsed(name).schemes:
        for value in (s.name, s.plan, s.option, s.category, s.fund_house):
            if value is not None:
                assert value == " ".join(value.split()), (s.scheme_code, value)
        for isin in (s.isin_growth, s.isin_reinvest):
            assert isin is None or (len(isin) == 12 and isin.startswith("INF")), isin


def test_2017_reads_the_nav_not_the_repurchase_price() -> None:
    line = raw_line(F2017, "135763;")
    assert line.split(";")[4:7] == ["11.3215", "10.9819", "11.3215"]  # NAV, Repurchase, Sale
    result = parsed(F2017)
    assert quote_of(result, 135763) == (date(2017, 4, 13), Decimal("11.3215"))
    s = scheme(result, 135763)
    assert s.name == "Axis Children's Gift Fund - without Lock in - Direct Dividend"
    assert (s.isin_growth, s.isin_reinvest) == ("INF846K01WS2", "INF846K01WQ6")
    assert (s.scheme_type, s.category, s.fund_house) == (
        "Open Ended Schemes", "Balanced", "Axis Mutual Fund"
    )  # 2017 heading with a space before the bracket: `Open Ended Schemes (Balanced)`
    # `N.A.` NAV with a real Repurchase Price: no quote, scheme kept.
    assert raw_line(F2017, "102507;").split(";")[4] == "N.A."
    assert quote_of(result, 102507) is None
    assert scheme(result, 102507).name.startswith("OLD-SBI Magnum Income Fund")


def test_2017_lower_case_isin_is_recovered() -> None:
    assert raw_line(F2017, "117142;").split(";")[1] == "INf200K01KQ1"
    assert scheme(parsed(F2017), 117142).isin_growth == "INF200K01KQ1"


def test_trailing_dot_nav_2019() -> None:
    assert raw_line(F2019, "134392;").split(";")[4] == "10."
    assert quote_of(parsed(F2019), 134392) == (date(2018, 10, 16), Decimal("10"))


def test_leading_dot_nav_and_lf_line_ends_2021() -> None:
    text = read_text(F2021)
    assert "\r" not in text
    assert raw_line(F2021, "147803;").split(";")[4] == ".4157"
    assert quote_of(parsed(F2021), 147803) == (date(2021, 10, 1), Decimal("0.4157"))


def test_non_ascii_is_decoded_2021() -> None:
    s = scheme(parsed(F2021), 148796)
    assert s.name == (
        "Edelweiss NIFTY PSU Bond Plus SDL Index Fund – 2026 - Direct Plan - IDCW Option"
    )
    categories = {x.category for x in parsed(F2021).schemes}
    assert "Solution Oriented Scheme - Children’s Fund" in categories


def test_fund_house_with_brackets_is_not_a_heading_2023() -> None:
    result = parsed(F2023)
    fund_house = "360 ONE Mutual Fund (Formerly Known as IIFL Mutual Fund)"
    assert fund_house in result.fund_houses
    assert not any("360 ONE" in h for h in result.headings)
    s = scheme(result, 122612)
    assert s.fund_house == fund_house
    assert s.category != "Formerly Known as IIFL Mutual Fund"
    assert s.scheme_type in ("Open Ended Schemes", "Close Ended Schemes", "Interval Fund Schemes")


def test_ilfs_idf_fund_house_redeemed_isin_and_largest_nav_2025() -> None:
    result = parsed(F2025)
    assert "IL&FS Mutual Fund (IDF)" in result.fund_houses
    assert not any("IL&FS" in h for h in result.headings)
    assert "IDF" not in {s.category for s in result.schemes}
    line = raw_line(F2025, "130565;")
    assert line.split(";")[2] == "Redeemed"
    s = scheme(result, 130565)
    assert s.fund_house == "IL&FS Mutual Fund (IDF)"
    assert (s.isin_growth, s.isin_reinvest) == ("INF613Q01025", None)
    assert quote_of(result, 130565) == (date(2018, 12, 31), Decimal("1680494.0463"))
    redeemed = [p for p in result.problems if "'Redeemed'" in p.message]
    assert len(redeemed) == 9


def test_double_spaces_in_names_are_collapsed_2025() -> None:
    assert "Fund  - DIRECT" in raw_line(F2025, "119551;")
    s = scheme(parsed(F2025), 119551)
    assert s.name == "Aditya Birla Sun Life Banking & PSU Debt Fund - DIRECT - IDCW"
    assert (s.plan, s.option) == (None, None)  # the 6-field layout has no Plan/Option
    assert quote_of(parsed(F2025), 119551) == (date(2025, 12, 11), Decimal("110.0609"))


def test_consecutive_days_share_codes_2025() -> None:
    day1, day2 = parsed(F2025_10), parsed(F2025)
    assert {s.scheme_code for s in day1.schemes} == {s.scheme_code for s in day2.schemes}
    # amfi-formats.md 1.3: 8,042 rows carry the modal date 11-Dec-2025 (some with a zero NAV).
    dated = [line for line in read_text(F2025).split("\r\n") if line.endswith(";11-Dec-2025")]
    assert len(dated) == 8042
    zero = sum(1 for line in dated if parse_nav_or_none(line.split(";")[4]) is None)
    on_day = Counter(q.nav_date for q in day2.quotes)
    assert on_day.most_common(1)[0] == (date(2025, 12, 11), 8042 - zero)


def test_fund_house_line_is_only_printed_when_it_changes() -> None:
    """A section can start with rows: they belong to the fund house that ended the last one."""
    old = parsed(F2023)
    assert scheme(old, 103028).fund_house == "ICICI Prudential Mutual Fund"
    assert scheme(old, 103028).category == "Growth"
    new = parsed(F2026)
    for code, fund_house in [
        (103028, "ICICI Prudential Mutual Fund"),
        (145295, "UTI Mutual Fund"),  # Floating Interest Rates Fund
        (106185, "UTI Mutual Fund"),  # Close Ended ... Other Debt Scheme
        (154437, "Zerodha Mutual Fund"),  # Life Cycle Fund with Maturity of 15 Years
    ]:
        assert scheme(new, code).fund_house == fund_house, code
    # The ISIN issuer prefix (INF109K = ICICI Prudential, INF789F = UTI) agrees.
    assert (scheme(new, 103028).isin_growth or "").startswith("INF109K")
    assert (scheme(new, 145295).isin_growth or "").startswith("INF789F")


def test_last_6col_and_first_8col_files_agree_on_the_scheme() -> None:
    old, new = parsed(F2026_18), parsed(F2026_19)
    assert (old.layout, new.layout) == ("navall-6col", "navall-2026-8col")
    before, after = scheme(old, 119551), scheme(new, 119551)
    assert before.name == "Aditya Birla Sun Life Banking & PSU Debt Fund - DIRECT - IDCW"
    assert after.name == "Aditya Birla Sun Life Banking & PSU Debt Fund"  # plan/option removed
    assert (after.plan, after.option) == ("Direct Plan", "IDCW-Re-investment")
    assert (before.isin_growth, before.isin_reinvest) == (after.isin_growth, after.isin_reinvest)
    assert quote_of(old, 119551) == (date(2026, 8, 18), Decimal("107.1360"))
    assert quote_of(new, 119551) == (date(2026, 8, 19), Decimal("107.1683"))


def test_plan_option_and_tabs_2026() -> None:
    result = parsed(F2026)
    assert raw_line(F2026, "119163;").split(";")[5] == "Daily IDCW - ReInvestment\t"
    assert scheme(result, 119163).option == "Daily IDCW - ReInvestment"
    assert raw_line(F2026, "151202;").split(";")[5] == "Monthly IDCW\t Option"
    assert scheme(result, 151202).option == "Monthly IDCW Option"
    sbi = scheme(result, 125497)
    assert (sbi.name, sbi.plan, sbi.option) == ("SBI SMALL CAP FUND", "Direct Plan", "Growth")
    assert quote_of(result, 125497) == (date(2026, 8, 21), Decimal("215.4137"))
    # amfi-formats.md 1.4: Plan empty in 5,867 rows and Option in 5,875 -> None, not "".
    assert sum(s.plan is None for s in result.schemes) == 5867
    assert sum(s.option is None for s in result.schemes) == 5875
    assert not any("\t" in (s.option or "") for s in result.schemes)


def test_nested_bracket_headings_2026() -> None:
    result = parsed(F2026)
    gold = scheme(result, 152957)
    assert gold.category == "Exchange Traded Funds (ETFs) - Gold ETF"
    assert (gold.scheme_type, gold.fund_house) == ("Open Ended Schemes", "Groww Mutual Fund")
    categories = {s.category for s in result.schemes}
    assert "Fund of Funds Scheme (Domestic) - Fund of Funds Scheme (Domestic)" in categories
    assert "Solution Oriented Scheme - Children’s Fund" in categories
    assert scheme(result, 146407).category == "Solution Oriented Scheme - Children’s Fund"
    assert "Other Scheme - Other ETFs" in categories  # AMFI writes `Other  ETFs` (double space)


def test_non_ascii_names_and_future_dates_2026() -> None:
    result = parsed(F2026)
    assert scheme(result, 126677).name == "ICICI Prudential Equity Savings Fund – Series 1"
    assert sum(not s.name.isascii() for s in result.schemes) == 8
    # Liquid funds publish ahead of holidays: a Sunday date in a Friday file.
    assert quote_of(result, 119368) == (date(2026, 8, 23), Decimal("1005.0000"))


def test_crlf_lf_and_empty_separator_lines_parse_alike() -> None:
    crlf = read_text(F2025)
    assert "\r\n \r\n" in crlf
    reference = parsed(F2025)
    for variant in (crlf.replace("\r\n", "\n"), crlf.replace("\r\n \r\n", "\r\n\r\n")):
        again = parse_navall(variant)
        assert again.schemes == reference.schemes
        assert again.quotes == reference.quotes
        assert len(again.problems) == len(reference.problems)


def test_header_without_the_space_after_the_slash_is_the_same_layout() -> None:
    text = read_text(F2025).replace("Payout/ ISIN Growth", "Payout/ISIN Growth", 1)
    assert parse_navall(text).layout == "navall-6col"


@pytest.mark.parametrize(
    "header",
    [
        "Scheme Code;ISIN;Scheme Name;Net Asset Value;Date",
        # the known columns in another order are refused too: positions would be guessed
        "Scheme Code;ISIN Div Reinvestment;ISIN Div Payout/ ISIN Growth;Scheme Name;"
        "Net Asset Value;Date",
        "Scheme Code;ISIN Div Payout/ ISIN Growth;ISIN Div Reinvestment;Scheme Name;"
        "Net Asset Value;Date;Plan",
        "Open Ended Schemes(Debt Scheme - Banking and PSU Fund)",  # header missing
    ],
)
def test_unknown_header_is_refused(header: str) -> None:
    lines = read_text(F2025).split("\r\n")
    with pytest.raises(RemoteDataError, match="unknown header") as info:
        parse_navall("\r\n".join([header, *lines[1:]]))
    assert info.value.hint and "format" in info.value.hint


@pytest.mark.parametrize("text", ["", "\r\n \r\n", "\ufeff"])
def test_empty_text_is_refused(text: str) -> None:
    with pytest.raises(RemoteDataError, match="empty"):
        parse_navall(text)


@pytest.mark.parametrize(
    "name",
    ["navall/error_www-NAVAll_404-page_2025-09-14.html",
     "navall/error_www-NAVAll_object-moved_2025-09-16.html"],
)  # fmt: skip
def test_real_html_error_pages_are_refused(name: str) -> None:
    with pytest.raises(RemoteDataError, match="got an HTML page, not AMFI's NAV text"):
        parse_navall(read_text(name))


def test_history_report_is_refused() -> None:
    text = read_text("history-report/NAVHistoryReport_new-layout_all-AMCs_2026-09-27-Sunday.txt")
    with pytest.raises(RemoteDataError, match="history report"):
        parse_navall(text)


def test_bad_rows_are_problems_with_line_numbers() -> None:
    lines = read_text(F2025).split("\r\n")
    lines[6:6] = [
        "999991;INF209KA12Z1;-;Short row;10.0",  # 5 fields
        "ABCDEF;INF209KA12Z1;-;Bad code;10.0;11-Dec-2025",
        "999992;-;-;Bad date;10.0;31-Feb-2025",
        "999993;#N/A;INF769K01PB;Junk ISINs;#DIV/0!;11-Dec-2025",
        lines[0],  # a repeated header is not a row
    ]
    result = parse_navall("\r\n".join(lines))
    assert result.rows == 14_150 + 4
    found = {(p.line_no, p.message.split(";")[0]) for p in result.problems if p.line_no <= 11}
    assert found == {
        (7, "expected 6 fields, got 5"),
        (8, "scheme code 'ABCDEF' is not a number"),
        (9, "date '31-Feb-2025' is not dd-Mon-yyyy"),
        (10, "ISIN '#N/A' is not a 12-character INF code"),
        (10, "ISIN 'INF769K01PB' is not a 12-character INF code"),
        (10, "NAV '#DIV/0!' is not a number"),
    }
    assert scheme(result, 999992).name == "Bad date"
    assert quote_of(result, 999992) is None
    assert scheme(result, 999993).isin_growth is None
    assert 999991 not in {s.scheme_code for s in result.schemes}
