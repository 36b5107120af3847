"""Schemes and NAV quotes as AMFI publishes them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class SchemeInfo:
    """One AMFI scheme code (a plan/option of a fund), as read from a NAV file.

    `category` is the text inside AMFI's section heading (e.g. "Equity Scheme - ELSS"),
    `scheme_type` its prefix ("Open Ended Schemes", "Close Ended Schemes", "Interval Fund Schemes").
    ISINs are None when AMFI gives "-", an empty field or junk (see amfi-formats.md 1.4).
    """

    scheme_code: int
    name: str
    isin_growth: str | None = None
    isin_reinvest: str | None = None
    plan: str | None = None
    option: str | None = None
    category: str | None = None
    scheme_type: str | None = None
    fund_house: str | None = None


@dataclass(frozen=True, slots=True)
class NavQuote:
    """The NAV of one scheme on one date. Always a positive Decimal (non-positive = no NAV)."""

    scheme_code: int
    nav_date: date
    nav: Decimal
