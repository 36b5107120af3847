"""The header lines of AMFI's two `;`-separated text formats, and how to recognise them.

amfi-formats.md 1.2 and 2.2: AMFI changed both formats in Aug-2026 without notice; the 2017 and
2026 NAVAll layouts and both history layouts are 8 fields wide, so columns are found by header
name, never by position, and an unknown header is refused loudly.
"""

from __future__ import annotations

from dataclasses import dataclass

from mftrack.errors import RemoteDataError

from .fields import looks_like_html, strip_preamble

NAVALL = "navall"
HISTORY = "history"

# Column names as mftrack refers to them; matched ignoring case and whitespace, so the NAVAll
# spelling `ISIN Div Payout/ ISIN Growth` (space after the slash) and the history report's
# `ISIN Div Payout/ISIN Growth` are the same column.
CODE = "Scheme Code"
NAME = "Scheme Name"
NAV_NAME = "NAV Name"  # history report 2026: the full name incl. plan/option text
ISIN_GROWTH = "ISIN Div Payout/ISIN Growth"
ISIN_REINVEST = "ISIN Div Reinvestment"
PLAN = "Plan"
OPTION = "Option"
NAV = "Net Asset Value"
DATE = "Date"

FORMAT_HINT = (
    "AMFI may have changed its file format again; update mftrack, or see docs/amfi-data.md"
)


def _key(name: str) -> str:
    return "".join(name.split()).casefold()


@dataclass(frozen=True, slots=True)
class Layout:
    """One known header line: `name` (e.g. "navall-6col"), `kind` and AMFI's column names."""

    name: str
    kind: str
    header: tuple[str, ...]

    def column(self, name: str) -> int | None:
        """The index of a column, by name (case and whitespace ignored), or None if absent."""
        wanted = _key(name)
        for index, column in enumerate(self.header):
            if _key(column) == wanted:
                return index
        return None


LAYOUTS: tuple[Layout, ...] = (
    # amfi-formats.md 1.2: <= 2017, NAV followed by Repurchase/Sale Price (NAV is NOT second-last).
    Layout("navall-2017-8col", NAVALL, (
        "Scheme Code", "ISIN Div Payout/ ISIN Growth", "ISIN Div Reinvestment", "Scheme Name",
        "Net Asset Value", "Repurchase Price", "Sale Price", "Date",
    )),
    # 2019 -> NAV date 18-Aug-2026.
    Layout("navall-6col", NAVALL, (
        "Scheme Code", "ISIN Div Payout/ ISIN Growth", "ISIN Div Reinvestment", "Scheme Name",
        "Net Asset Value", "Date",
    )),
    # NAV date 19-Aug-2026 -> now: Plan and Option inserted before the NAV.
    Layout("navall-2026-8col", NAVALL, (
        "Scheme Code", "ISIN Div Payout/ ISIN Growth", "ISIN Div Reinvestment", "Scheme Name",
        "Plan", "Option", "Net Asset Value", "Date",
    )),
    # amfi-formats.md 2.2: history report fetched before 19-Aug-2026.
    Layout("history-legacy", HISTORY, (
        "Scheme Code", "Scheme Name", "ISIN Div Payout/ISIN Growth", "ISIN Div Reinvestment",
        "Net Asset Value", "Repurchase Price", "Sale Price", "Date",
    )),
    # History report fetched from 19-Aug-2026.
    Layout("history-2026", HISTORY, (
        "Scheme Code", "NAV Name", "Plan", "Option", "ISIN Div Payout/ISIN Growth",
        "ISIN Div Reinvestment", "Net Asset Value", "Date",
    )),
)  # fmt: skip

_BY_KEY = {tuple(_key(c) for c in layout.header): layout for layout in LAYOUTS}


def identify(header_line: str) -> Layout | None:
    """The layout whose header is `header_line` (column order matters), or None."""
    return _BY_KEY.get(tuple(_key(c) for c in header_line.split(";")))


def find_header(text: str, source: str) -> tuple[list[str], int, Layout]:
    """Split `text` into lines and recognise its header.

    Returns the lines, the index of the first line after the header, and the layout.
    Raises `RemoteDataError` for HTML, an empty text or an unknown header; `source` names the
    text in messages ("NAVAll.txt", "NAV history report").
    """
    if looks_like_html(text):
        raise RemoteDataError(
            f"got an HTML page, not AMFI's NAV text ({source})",
            hint="the address may have moved or be wrong; check the configured AMFI URL",
        )
    lines = text.split("\n")
    for index, line in enumerate(lines):
        first = strip_preamble(line).rstrip()
        if not first:
            continue
        layout = identify(first)
        if layout is None:
            raise RemoteDataError(
                f"unknown header in AMFI {source}: {first[:160]!r}", hint=FORMAT_HINT
            )
        return lines, index + 1, layout
    raise RemoteDataError(f"AMFI {source} is empty (no header line)")
