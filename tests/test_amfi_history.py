"""parse_history_report on the two real NAV history reports (new layout and legacy excerpt)."""

from __future__ import annotations

from collections import Counter
from datetime import date
from decimal import Decimal

import pytest

from mftrack.adapters.amfi.history import parse_history_report
from mftrack.adapters.amfi.model import ParsedNavFile
from mftrack.domain.schemes import SchemeInfo
from mftrack.errors import RemoteDataError
from tests.amfi_data import raw_line, read_text

NEW = "history-report/NAVHistoryReport_new-layout_all-AMCs_2026-09-27-Sunday.txt"
LEGACY = (
    "history-report/NAVHistoryReport_legacy-layout_all-AMCs_2006-04-03_EXCERPT-first-175-lines.txt"
)


def scheme(result: ParsedNavFile, code: int) -> SchemeInfo:
    return next(s for s in result.schemes if s.scheme_code == code)


def navs(result: ParsedNavFile, code: int) -> list[tuple[date, Decimal]]:
    return [(q.nav_date, q.nav) for q in result.quotes if q.scheme_code == code]


def test_new_layout_sunday_report() -> None:
    result = parse_history_report(read_text(NEW))
    assert (result.kind, result.layout) == ("history", "history-2026")
    # amfi-formats.md 2.3 / SOURCES.md: 708 rows, 708 codes, 51 fund houses, 6 headings.
    assert result.rows == len(result.quotes) == len(result.schemes) == 708
    assert len(result.fund_houses) == 51
    assert len(result.headings) == 6
    assert result.problems == []  # empty ISINs are the normal "absent" here, not junk
    assert {q.nav_date for q in result.quotes} == {date(2026, 9, 27)}  # a Sunday
    assert {s.scheme_type for s in result.schemes} == {"Open Ended Schemes"}


def test_new_layout_fields_by_header_name() -> None:
    line = raw_line(NEW, "145488;")
    assert line.split(";")[4:7] == ["INF209KB1ZL4", "", "1000.2953"]
    result = parse_history_report(read_text(NEW))
    s = scheme(result, 145488)
    assert s.name == "ADITYA BIRLA SUN LIFE OVERNIGHT FUND- Direct - Monthly Payout of IDCW"
    assert (s.plan, s.option) == ("Direct Plan", "Monthly IDCW")
    assert (s.isin_growth, s.isin_reinvest) == ("INF209KB1ZL4", None)
    # `Open Ended Schemes ( Debt Scheme - Overnight Fund )`: spaces inside the brackets.
    assert s.category == "Debt Scheme - Overnight Fund"
    assert s.fund_house == "Aditya Birla Sun Life Mutual Fund"
    assert navs(result, 145488) == [(date(2026, 9, 27), Decimal("1000.2953"))]


def test_new_layout_empty_plan_option_and_nested_brackets() -> None:
    result = parse_history_report(read_text(NEW))
    assert raw_line(NEW, "151908;").split(";")[2:6] == ["", "", "", "INF769K01KS1"]
    s = scheme(result, 151908)
    assert (s.plan, s.option, s.isin_growth, s.isin_reinvest) == (
        None, None, None, "INF769K01KS1"
    )
    assert s.category == "Exchange Traded Funds (ETFs) - Debt ETF"
    assert navs(result, 151908) == [(date(2026, 9, 27), Decimal("1000.0000"))]
    # amfi-formats.md 2.3: Plan empty in 78 rows, Option in 61.
    assert sum(x.plan is None for x in result.schemes) == 78
    assert sum(x.option is None for x in result.schemes) == 61


def test_legacy_excerpt_with_junk_navs() -> None:
    result = parse_history_report(read_text(LEGACY))
    assert (result.kind, result.layout) == ("history", "history-legacy")
    assert result.rows == len(result.schemes) == 147
    assert len(result.fund_houses) == 12
    assert result.headings == ["Open Ended Schemes ( Income )"]
    assert {s.category for s in result.schemes} == {"Income"}
    kinds = Counter(p.message.split(" is ")[0] for p in result.problems)
    assert kinds == {"NAV '0'": 3, "NAV '#DIV/0!'": 1, "NAV '#N/A'": 2}
    assert len(result.quotes) == 147 - 6
    # A junk-NAV row keeps its scheme, without a quote.
    assert raw_line(LEGACY, "103063;").split(";")[4] == "#DIV/0!"
    assert scheme(result, 103063).isin_growth == "INF109K01AS1"
    assert navs(result, 103063) == []
    # Fund-house line `ABN  AMRO Mutual Fund` (double space) is normalised.
    assert scheme(result, 102652).fund_house == "ABN AMRO Mutual Fund"


def test_legacy_reads_the_nav_not_the_sale_price() -> None:
    line = raw_line(LEGACY, "100551;")
    assert line.split(";")[4:7] == ["23.3897", "23.3897", "23.6300"]
    result = parse_history_report(read_text(LEGACY))
    s = scheme(result, 100551)
    assert s.name == "Templeton India Children’s Asset Plan-Education Plan"  # U+2019
    assert (s.isin_growth, s.isin_reinvest) == ("INF090I01AF4", None)
    assert navs(result, 100551) == [(date(2006, 4, 3), Decimal("23.3897"))]


def test_many_rows_per_scheme_one_scheme_many_quotes() -> None:
    """A range report repeats each code once per date (amfi-formats.md 2.3)."""
    lines = read_text(NEW).split("\r\n")
    doubled: list[str] = []
    for line in lines:
        doubled.append(line)
        if line.endswith(";27-Sep-2026"):
            doubled.append(line.replace("27-Sep-2026", "28-Sep-2026").replace(";1000.", ";1001."))
    result = parse_history_report("\r\n".join(doubled))
    assert result.rows == 1416
    assert len(result.schemes) == 708
    assert len(result.quotes) == 1416
    assert navs(result, 145488) == [
        (date(2026, 9, 27), Decimal("1000.2953")),
        (date(2026, 9, 28), Decimal("1001.2953")),
    ]


def test_tab_inside_a_field_is_normalised() -> None:
    """Seen in the 16-Aug-2026 report: `Fortnightly - IDCW\\t` (amfi-formats.md 2.3)."""
    text = read_text(NEW).replace(";Direct Plan;Monthly IDCW;INF209KB1ZL4;", (
        ";Direct Plan;Fortnightly - IDCW\t;INF209KB1ZL4;"
    ))  # fmt: skip
    assert scheme(parse_history_report(text), 145488).option == "Fortnightly - IDCW"


def test_navall_text_is_refused() -> None:
    with pytest.raises(RemoteDataError, match="NAVAll"):
        parse_history_report(read_text("navall/NAVAll_2025-12-11.txt"))


def test_html_frameset_is_refused() -> None:
    """A bad `mf` reportedly answers HTTP 200 with an HTML frameset (amfi-formats.md 2.1)."""
    page = "\r\n<!DOCTYPE html>\r\n<html><frameset><frame src='x.aspx'></frameset></html>"
    with pytest.raises(RemoteDataError, match="HTML"):
        parse_history_report(page)


def test_header_only_report_is_empty_not_an_error() -> None:
    header = read_text(NEW).split("\r\n", 1)[0]
    result = parse_history_report(header + "\r\n")
    assert (result.rows, result.schemes, result.quotes) == (0, [], [])
