"""Parser for AMFI's NAV history report `DownloadNAVHistoryReport_Po.aspx` (pure).

Accepts both layouts (amfi-formats.md 2.2): `history-legacy` (`Scheme Code;Scheme Name;ISIN…;
Net Asset Value;Repurchase Price;Sale Price;Date`, fetched before 19-Aug-2026) and
`history-2026` (`Scheme Code;NAV Name;Plan;Option;ISIN…;Net Asset Value;Date`). Its quirks
(2.3) — spaces inside heading brackets `( Income )`, two empty lines after headings, empty
strings for missing ISINs, one row per scheme per date — are absorbed by the shared reader.
"""

from __future__ import annotations

from .layouts import HISTORY
from .model import ParsedNavFile
from .sections import parse_sectioned


def parse_history_report(text: str) -> ParsedNavFile:
    """Parse a NAV history report; `quotes` has one entry per row (scheme x date).

    `schemes` holds one entry per code (the last row seen wins). Raises `RemoteDataError` for
    HTML (AMFI answers a bad `mf` with an HTML frameset and HTTP 200), an empty text, an
    unknown header or a NAVAll.txt.
    """
    return parse_sectioned(text, kind=HISTORY, source="NAV history report")
