"""What the AMFI/mfapi.in parsers return: records plus the problems met on the way."""

from __future__ import annotations

from dataclasses import dataclass, field

from mftrack.domain.schemes import NavQuote, SchemeInfo


@dataclass(frozen=True, slots=True)
class ParseProblem:
    """One row or value that could not be used as it stands (the rest of the file still is).

    `line_no` is the 1-based line of the text file; for mfapi.in JSON it is the 1-based position
    in `data` (0 for a problem with `meta`). `text` is the offending line or value.
    """

    line_no: int
    message: str
    text: str


@dataclass(frozen=True, slots=True)
class ParsedNavFile:
    """A parsed NAVAll.txt, NAV history report or mfapi.in `/mf/{code}` response.

    * `kind`: "navall" | "history" | "mfapi".
    * `layout`: "navall-2017-8col", "navall-6col", "navall-2026-8col", "history-legacy",
      "history-2026" or "mfapi".
    * `schemes`: one `SchemeInfo` per scheme code, the last row seen for a code wins.
    * `quotes`: one `NavQuote` per row with a usable (positive) NAV, in file order; for mfapi.in,
      oldest first.
    * `problems`: rows or values skipped or degraded (junk NAV, bad date, wrong field count...).
    * `rows`: data rows read (lines with `;`, or elements of mfapi.in's `data`).
    * `fund_houses` / `headings`: distinct fund-house names and section-heading lines, in order
      of first appearance (whitespace-normalised); `fund_house_lines` counts every fund-house
      line (a fund house repeats under each section it has schemes in).

    Frozen-ish: the attributes cannot be rebound, but the lists are plain lists.
    """

    kind: str
    layout: str
    schemes: list[SchemeInfo]
    quotes: list[NavQuote]
    problems: list[ParseProblem] = field(default_factory=list)
    rows: int = 0
    fund_houses: list[str] = field(default_factory=list)
    fund_house_lines: int = 0
    headings: list[str] = field(default_factory=list)
