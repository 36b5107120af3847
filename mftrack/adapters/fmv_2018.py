"""NAVs of 31-Jan-2018 by ISIN, from casparser-isin's table bundled with mftrack (MIT).

The grandfathering rule needs the NAV of 31-Jan-2018 (docs/gains.md). The local NAV store is
asked first (services.gains); this table covers schemes whose history was never downloaded.
See mftrack/data/casparser_isin/SOURCES.md for where the file comes from.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from importlib import resources

SOURCE = "casparser-isin 2026.6.9"


def _table_text() -> str:
    folder = resources.files("mftrack") / "data" / "casparser_isin"
    return (folder / "nav20180131.csv").read_text(encoding="utf-8")


def bundled_fmv_2018(isins: Iterable[str]) -> dict[str, Decimal]:
    """{ISIN: NAV of 31-Jan-2018} for those of `isins` the table has with a positive NAV.

    Only the wanted lines are decoded (the whole table as Decimals would cost ~0.1 s).
    """
    wanted = {isin.strip().upper() for isin in isins if isin}
    out: dict[str, Decimal] = {}
    if not wanted:
        return out
    for line in _table_text().splitlines()[1:]:  # header: isin,nav_31jan2018
        isin, _, nav_text = line.partition(",")
        if isin not in wanted:
            continue
        try:
            nav = Decimal(nav_text.strip())
        except InvalidOperation:
            continue
        if nav > 0:
            out[isin] = nav
    return out
