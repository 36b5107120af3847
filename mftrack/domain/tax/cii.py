"""Cost Inflation Index: indexation of the cost of debt-fund units sold before 23-Jul-2024.

The table is the one in CBDT notification S.O. 1790(E) of 5-Jun-2017 (base year 2001-02 =
100, under clause (v) of the Explanation to the 1961 Act's s.48), extended by a notification
each year. Checked against the primary text: 2024-25 = 363 (Notification 44/2024, S.O.
2103(E), 24-May-2024, inserting serial number 24). 2025-26 = 376 (Notification 70/2025,
1-Jul-2025, serial number 25) as reported by caclubindia and business-standard. The earlier
values are the consolidated table as reproduced by abcaus.in and casparser (analysis/utils.py);
they agree with each other.

Indexation of mutual-fund units ended for transfers on or after 23-Jul-2024 (Finance (No. 2)
Act 2024, second proviso to s.48), so no sale mftrack indexes needs a value after 2024-25.
Units acquired before 1-Apr-2001 take the base year's index (the option to use the fair market
value of 1-Apr-2001 instead is not modelled).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from mftrack.domain.money import paisa
from mftrack.domain.tax.dates import fy_label, fy_start_year

CII: dict[int, int] = {
    2001: 100, 2002: 105, 2003: 109, 2004: 113, 2005: 117, 2006: 122, 2007: 129, 2008: 137,
    2009: 148, 2010: 167, 2011: 184, 2012: 200, 2013: 220, 2014: 240, 2015: 254, 2016: 264,
    2017: 272, 2018: 280, 2019: 289, 2020: 301, 2021: 317, 2022: 331, 2023: 348, 2024: 363,
    2025: 376,
}  # fmt: skip
_FIRST = min(CII)


def cii_for(d: date) -> int:
    """The index of the financial year `d` falls in (the base year's for earlier dates)."""
    year = max(fy_start_year(d), _FIRST)
    if year not in CII:
        raise KeyError(f"no Cost Inflation Index is known for FY {fy_label(year)}")
    return CII[year]


def indexed_cost(cost: Decimal, acquired: date, sold: date) -> Decimal:
    """cost x CII(year of sale) / CII(year of acquisition), to the paisa."""
    return paisa(cost * cii_for(sold) / cii_for(acquired))
