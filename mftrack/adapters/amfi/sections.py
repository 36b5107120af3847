"""The line-oriented reader shared by NAVAll.txt and the NAV history report.

Both files are: a header line, then blocks of "section heading" -> "fund-house line" -> data
rows with `;`. They differ in blank lines, bracket spacing and columns (amfi-formats.md 1.3,
2.3), none of which matters once lines are classified as:

* containing `;`            -> a data row (names never contain `;`);
* blank (`""` or `" "`)     -> ignored (2017 files use `""`, 2019+ use `" "`);
* matching `_HEADING`       -> a section heading (scheme type + category);
* anything else             -> a fund-house line, even with brackets (`IL&FS Mutual Fund (IDF)`).

A fund-house line is only printed when the fund house changes, even across a heading.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

from mftrack.domain.schemes import NavQuote, SchemeInfo
from mftrack.errors import RemoteDataError

from .fields import clean_isin, norm_text, parse_amfi_date, parse_nav
from .layouts import (
    CODE,
    DATE,
    FORMAT_HINT,
    ISIN_GROWTH,
    ISIN_REINVEST,
    NAME,
    NAV,
    NAV_NAME,
    NAVALL,
    OPTION,
    PLAN,
    Layout,
    find_header,
)
from .model import ParsedNavFile, ParseProblem

# amfi-formats.md 1.3/6.5: only this prefix makes a heading; `(` alone would also catch
# fund-house lines such as `360 ONE Mutual Fund (Formerly Known as IIFL Mutual Fund)`.
_HEADING = re.compile(r"(Open Ended|Close Ended|Interval Fund) Schemes\s*\(")
_NO_ISIN = ("", "-")  # the normal "absent" spellings: `-` in NAVAll, empty in history reports
_BAD_DATE = date.min  # cache marker for an unparsable date string


def parse_sectioned(text: str, *, kind: str, source: str) -> ParsedNavFile:
    """Parse a NAVAll.txt (`kind="navall"`) or history report (`kind="history"`)."""
    lines, start, layout = find_header(text, source)
    if layout.kind != kind:
        other = "NAVAll.txt" if layout.kind == NAVALL else "NAV history report"
        raise RemoteDataError(
            f"this is an AMFI {other}, not a {source} (header {layout.name})",
            hint="check that the URL or file is the one meant for this command",
        )
    return _read(layout, lines, start)


def _read(layout: Layout, lines: list[str], start: int) -> ParsedNavFile:
    """One pass over the lines after the header; state is kept in locals (hot loop)."""
    width = len(layout.header)
    ci = _required(layout, CODE)
    ni = layout.column(NAME)
    ni = ni if ni is not None else _required(layout, NAV_NAME)
    gi = _required(layout, ISIN_GROWTH)
    ri = _required(layout, ISIN_REINVEST)
    vi = _required(layout, NAV)
    di = _required(layout, DATE)
    pi = layout.column(PLAN)
    oi = layout.column(OPTION)
    header_key = lines[start - 1].strip()

    schemes: dict[int, SchemeInfo] = {}
    quotes: list[NavQuote] = []
    problems: list[ParseProblem] = []
    dates: dict[str, date] = {}
    fund_houses: dict[str, None] = {}
    headings: dict[str, None] = {}
    fund_house_lines = rows = 0
    fund_house: str | None = None
    scheme_type: str | None = None
    category: str | None = None

    for index in range(start, len(lines)):
        line = lines[index]
        if ";" not in line:
            stripped = line.strip()
            if not stripped:
                continue
            match = _HEADING.match(stripped)
            if match is None:
                fund_house = norm_text(stripped)
                fund_houses[fund_house] = None
                fund_house_lines += 1
                continue
            heading = norm_text(stripped)
            headings[heading] = None
            scheme_type = match.group(1) + " Schemes"
            category = _category(stripped, match.end() - 1, index, problems)
            # No reset of `fund_house`: AMFI prints a fund-house line only when it changes, so
            # a section whose first fund house ended the previous section starts with rows
            # (2023+: ICICI under `Open Ended Schemes(Growth)`; UTI and Zerodha in 2026).
            continue

        rows += 1
        parts = line.split(";")
        if len(parts) != width:
            problems.append(ParseProblem(
                index + 1, f"expected {width} fields, got {len(parts)}; row skipped",
                line.rstrip("\r"),
            ))  # fmt: skip
            continue
        code_text = parts[ci].strip()
        if not (code_text.isdigit() and code_text.isascii()):
            if line.strip() == header_key:
                rows -= 1  # the header repeated (e.g. concatenated reports): not a row
                continue
            problems.append(ParseProblem(
                index + 1, f"scheme code {code_text!r} is not a number; row skipped",
                line.rstrip("\r"),
            ))  # fmt: skip
            continue
        code = int(code_text)

        raw_g, raw_r = parts[gi], parts[ri]
        isin_g = None if raw_g == "-" else clean_isin(raw_g)  # `-`: ~40% of fields, skip work
        if isin_g is None and raw_g.strip() not in _NO_ISIN:
            problems.append(_isin_problem(index, raw_g, line))
        isin_r = None if raw_r == "-" else clean_isin(raw_r)
        if isin_r is None and raw_r.strip() not in _NO_ISIN:
            problems.append(_isin_problem(index, raw_r, line))

        schemes[code] = SchemeInfo(
            code,
            " ".join(parts[ni].split()),
            isin_g,
            isin_r,
            None if pi is None else (" ".join(parts[pi].split()) or None),
            None if oi is None else (" ".join(parts[oi].split()) or None),
            category,
            scheme_type,
            fund_house,
        )

        try:
            nav: Decimal = parse_nav(parts[vi])
        except ValueError as exc:
            problems.append(
                ParseProblem(index + 1, f"{exc}; no NAV recorded", line.rstrip("\r"))
            )
            continue
        raw_date = parts[di]
        day = dates.get(raw_date)
        if day is None:
            try:
                day = parse_amfi_date(raw_date)
            except ValueError:
                day = _BAD_DATE
            dates[raw_date] = day
        if day is _BAD_DATE:
            problems.append(ParseProblem(
                index + 1, f"date {raw_date.strip()!r} is not dd-Mon-yyyy; no NAV recorded",
                line.rstrip("\r"),
            ))  # fmt: skip
            continue
        quotes.append(NavQuote(code, day, nav))

    return ParsedNavFile(
        kind=layout.kind,
        layout=layout.name,
        schemes=list(schemes.values()),
        quotes=quotes,
        problems=problems,
        rows=rows,
        fund_houses=list(fund_houses),
        fund_house_lines=fund_house_lines,
        headings=list(headings),
    )


def _required(layout: Layout, name: str) -> int:
    index = layout.column(name)
    if index is None:  # only reachable if LAYOUTS gains a layout without this column
        raise RemoteDataError(f"AMFI header has no {name!r} column", hint=FORMAT_HINT)
    return index


def _category(heading: str, open_at: int, index: int, problems: list[ParseProblem]) -> str:
    """The text between the FIRST `(` and the LAST `)`, whitespace-normalised.

    amfi-formats.md 1.5: nested brackets since 2026 —
    `Open Ended Schemes(Exchange Traded Funds (ETFs) - Gold ETF)`; a lazy `\\((.*?)\\)`
    would cut it at `(ETFs`. 2.3: history headings have spaces inside: `( Income )`.
    """
    close_at = heading.rfind(")")
    if close_at < open_at:
        problems.append(ParseProblem(index + 1, "section heading has no closing ')'", heading))
        close_at = len(heading)
    return norm_text(heading[open_at + 1 : close_at])


def _isin_problem(index: int, raw: str, line: str) -> ParseProblem:
    message = f"ISIN {raw.strip()!r} is not a 12-character INF code; ignored"
    return ParseProblem(index + 1, message, line.rstrip("\r"))
