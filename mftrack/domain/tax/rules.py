"""Holding periods and rates: which rule a sale of units follows, keyed on the two dates.

Sources (primary texts as read, via the Finance Acts' amending sections):
- Equity-oriented units (F6): long term when held MORE than 12 months (1961 Act s.2(42A) and
  its proviso). STCG 15 % (s.111A) / LTCG 10 % above ₹1 lakh (s.112A, Finance Act 2018) for
  transfers before 23-Jul-2024; 20 % / 12.5 % above ₹1.25 lakh on or after it (Finance (No. 2)
  Act 2024 ss.29, 31: "at the rate of twenty per cent for any transfer which takes place on or
  after the 23rd day of July, 2024"; "the limit of one lakh twenty-five thousand rupees shall
  apply on aggregate" of both sides of the date). Before 1-Apr-2018 equity LTCG was exempt
  (s.10(38), withdrawn by the Finance Act 2018); STCG was 10 % before 1-Apr-2008 (Finance Act
  2008 raised it to 15 %).
- Other units (F7): a unit of a specified mutual fund acquired on or after 1-Apr-2023 gives a
  short-term gain whatever the holding period, at the slab rate (s.50AA, Finance Act 2023; the
  fund's definition changed from FY 2025-26, see `classes`). Otherwise, transfers before
  23-Jul-2024: long term after MORE than 36 months, 20 % with indexation (s.112); on or after
  23-Jul-2024: long term after MORE than 24 months, 12.5 % without indexation (Finance (No. 2)
  Act 2024 amending s.2(42A), s.48 second proviso and s.112).
- mftrack treats units as bought from and sold to the fund. Units bought or sold on an
  exchange (ETFs) follow the rules for listed securities, which are not modelled.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum

from mftrack.domain.calendar import add_months
from mftrack.domain.tax.classes import TaxClass
from mftrack.domain.tax.dates import (
    EQUITY_LTCG_TAXED_FROM,
    REGIME_2024,
    SPECIFIED_FUND_FROM,
    SPECIFIED_FUND_REDEFINED,
    fy_start_year,
)

_STCG_15_FROM = date(2008, 4, 1)


class Term(StrEnum):
    SHORT = "short"
    LONG = "long"


@dataclass(frozen=True, slots=True)
class SaleRule:
    """How the gain on units acquired on one date and sold on another is taxed."""

    term: Term
    rule: str  # a short name, shown in --detail and documented in docs/gains.md
    rate: Decimal | None  # None: the slab rate (added to income)
    indexed: bool = False  # cost indexed with the CII (debt, LT, sold before 23-Jul-2024)
    exempt: bool = False  # equity LTCG before 1-Apr-2018


def held_more_than(acquired: date, sold: date, months: int) -> bool:
    """Held MORE than `months` months: sold after the same day `months` months later.

    A month-end day is clamped (31 Jan + 1 month = 28/29 Feb), as calendar.add_months does.
    """
    return sold > add_months(acquired, months)


def long_term_months(tax_class: TaxClass, sold: date) -> int:
    """Months a unit must be held (more than) for a sale on `sold` to be long term."""
    if tax_class is TaxClass.EQUITY:
        return 12
    return 36 if sold < REGIME_2024 else 24


def is_specified_fund(tax_class: TaxClass, sold: date) -> bool:
    """A specified mutual fund for a transfer on `sold` (2023 definition, then 2025's)."""
    if tax_class is TaxClass.DEBT:
        return True  # > 65 % debt: <= 35 % equity too, so specified under both definitions
    if tax_class is TaxClass.OTHER:
        return sold < SPECIFIED_FUND_REDEFINED  # <= 35 % domestic equity, not > 65 % debt
    return False


def sale_rule(tax_class: TaxClass, acquired: date, sold: date) -> SaleRule:
    """The rule a sale on `sold` of units acquired on `acquired` follows."""
    if tax_class is TaxClass.EQUITY:
        return _equity_rule(acquired, sold)
    if acquired >= SPECIFIED_FUND_FROM and is_specified_fund(tax_class, sold):
        return SaleRule(Term.SHORT, "specified-fund-2023", None)
    months = long_term_months(tax_class, sold)
    if not held_more_than(acquired, sold, months):
        return SaleRule(Term.SHORT, f"non-equity-st-{months}m", None)
    if sold < REGIME_2024:
        return SaleRule(Term.LONG, "non-equity-lt-indexed", Decimal(20), indexed=True)
    return SaleRule(Term.LONG, "non-equity-lt-2024", Decimal("12.5"))


def _equity_rule(acquired: date, sold: date) -> SaleRule:
    if not held_more_than(acquired, sold, 12):
        if sold >= REGIME_2024:
            return SaleRule(Term.SHORT, "equity-st-2024", Decimal(20))
        rate = Decimal(15) if sold >= _STCG_15_FROM else Decimal(10)
        return SaleRule(Term.SHORT, "equity-st", rate)
    if sold < EQUITY_LTCG_TAXED_FROM:
        return SaleRule(Term.LONG, "equity-lt-exempt-pre-2018", Decimal(0), exempt=True)
    if sold < REGIME_2024:
        return SaleRule(Term.LONG, "equity-lt-2018", Decimal(10))
    return SaleRule(Term.LONG, "equity-lt-2024", Decimal("12.5"))


def equity_ltcg_exemption(fy_start: int) -> Decimal | None:
    """The yearly exemption on equity LTCG for a financial year (None before FY 2018-19).

    ₹1 lakh from FY 2018-19 (Finance Act 2018); ₹1.25 lakh from FY 2024-25, on the aggregate
    of gains on both sides of 23-Jul-2024 (Finance (No. 2) Act 2024 s.31 proviso).
    """
    if fy_start >= fy_start_year(REGIME_2024):
        return Decimal(125000)
    if fy_start >= fy_start_year(EQUITY_LTCG_TAXED_FROM):
        return Decimal(100000)
    return None


def long_term_from(tax_class: TaxClass, acquired: date, on: date) -> date | None:
    """The first day a sale of the lot is long term, under the rules in force on `on`.

    None when no holding period makes it long term (a specified fund's units bought from
    1-Apr-2023).
    """
    if acquired >= SPECIFIED_FUND_FROM and is_specified_fund(tax_class, on):
        return None
    return add_months(acquired, long_term_months(tax_class, on)) + timedelta(days=1)
