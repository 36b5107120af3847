"""The dates the capital-gains rules turn on, and financial years (1 April to 31 March)."""

from __future__ import annotations

from datetime import date

from mftrack.errors import InvalidInputError

# Finance Act 2018: long-term gains on equity-oriented units sold from 1-Apr-2018 are taxed
# (until then they were exempt), with cost grandfathered to the NAV of 31-Jan-2018 for units
# acquired on or before that day (F6).
EQUITY_LTCG_TAXED_FROM = date(2018, 4, 1)
GRANDFATHER_DATE = date(2018, 1, 31)

# Finance Act 2023: units of a "specified mutual fund" acquired on or after 1-Apr-2023 give
# short-term gains whatever the holding period (F7).
SPECIFIED_FUND_FROM = date(2023, 4, 1)

# Finance (No. 2) Act 2024: new rates, exemption, holding periods and no indexation for
# transfers on or after 23-Jul-2024 (F6, F7).
REGIME_2024 = date(2024, 7, 23)

# Finance (No. 2) Act 2024 substituted the definition of a specified mutual fund "with effect
# from the 1st day of April, 2026", i.e. from assessment year 2026-27: transfers in FY 2025-26
# (from 1-Apr-2025) onwards (taxmanagementindia, Finance (No. 2) Bill 2024 notes; F7).
SPECIFIED_FUND_REDEFINED = date(2025, 4, 1)


def fy_start_year(d: date) -> int:
    """The year a financial year starts in: 2024 for any day from 1-Apr-2024 to 31-Mar-2025."""
    return d.year if d.month >= 4 else d.year - 1


def fy_label(start_year: int) -> str:
    """`2024` -> "2024-25"."""
    return f"{start_year}-{(start_year + 1) % 100:02d}"


def fy_of(d: date) -> str:
    return fy_label(fy_start_year(d))


def fy_bounds(start_year: int) -> tuple[date, date]:
    """First and last day of the financial year starting in `start_year`."""
    return date(start_year, 4, 1), date(start_year + 1, 3, 31)


def parse_fy(text: str) -> int:
    """ "2024-25" (or "2024-2025", "FY2024-25") -> 2024; one-line error otherwise."""
    raw = text.strip().upper().removeprefix("FY").strip()
    head, sep, tail = raw.partition("-")
    if not (sep and head.isdigit() and len(head) == 4 and tail.isdigit()):
        raise InvalidInputError(
            f"not a financial year: {text!r}", hint="write it like 2024-25 (April to March)"
        )
    start = int(head)
    end = int(tail)
    if end not in (start + 1, (start + 1) % 100):
        raise InvalidInputError(
            f"not a financial year: {text!r} (the second year must follow the first)",
            hint="write it like 2024-25 (April to March)",
        )
    return start
