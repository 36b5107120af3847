"""Parser for AMFI's daily all-schemes file `NAVAll.txt` (pure: text in, records out).

Accepts the three layouts seen in real files (amfi-formats.md 1.2): `navall-2017-8col`
(NAV, Repurchase Price, Sale Price), `navall-6col` (2019 -> 18-Aug-2026) and
`navall-2026-8col` (Plan;Option, from 19-Aug-2026). Columns are found by header name.
"""

from __future__ import annotations

from .layouts import NAVALL
from .model import ParsedNavFile
from .sections import parse_sectioned


def parse_navall(text: str) -> ParsedNavFile:
    """Parse the text of a NAVAll.txt (CRLF or LF).

    Raises `RemoteDataError` for HTML, an empty text, an unknown header or a history report.
    Bad rows and values do not raise: they are listed in `problems` (a row with a junk NAV
    still records its scheme, without a quote).
    """
    return parse_sectioned(text, kind=NAVALL, source="NAVAll.txt")
