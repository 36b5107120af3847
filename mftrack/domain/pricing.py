"""Which day's NAV a SIP instalment is bought at, by kind of scheme (F2, F3).

Most schemes (``NEXT_BUSINESS_DAY``): an instalment is processed on its due date, or on the
next MF business day when that is a non-business day, at that day's closing NAV (F3; equirus,
5paisa and dhan help pages). Saturdays and Sundays are non-business days: every AMC's scheme
information document declares them so, and "there is no NAV allotment on non-business days,
the allotments are resumed the following business day" (Business Standard, 2015-02-24 and
2015-02-25; The Hindu BusinessLine, 2020-01-31). AMFI's files nevertheless carry weekend NAVs
of such schemes (month- and year-end valuations, e.g. Sunday 31 Mar 2024 and Saturday
31 Aug 2024): they value a holding but never price a purchase. Weekday MF holidays are not
business days either (22 Jan 2024, 29 Mar 2024), and on those no NAV is published, so "the
first weekday NAV on or after the due date" is the next business day's NAV.

Liquid and overnight schemes (``PREVIOUS_DAY``) publish a NAV for every calendar day, and a
purchase whose funds are available before the cut-off on business day T gets the closing NAV
of the day immediately before T, a calendar day, so Sunday's NAV for Monday (SEBI circular
SEBI/IMD/CIR No. 8/5611/2004 of 19 Mar 2004 as clarified by SEBI/IMD/CIR No. 9/6016/2004 of
25 Mar 2004, "the closing NAV of the day immediately previous to the next business day";
cut-off 1:30 pm from 20 Oct 2019 under SEBI/HO/IMD/DF2/CIR/P/2019/101 of 20 Sep 2019;
funds must be realised, for every amount from 1 Feb 2021, SEBI circular of 17 Sep 2020; all
consolidated in SEBI's Master Circular for Mutual Funds of 27 Jun 2024). A SIP debit is taken
to be realised before the cut-off on T, the due date or the next weekday after it. What the
data cannot tell: a liquid fund prices every day, so its weekday holidays are not visible in
its NAVs; on such a day the estimate is one day early.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from enum import StrEnum


class NavRule(StrEnum):
    """How an instalment's NAV is chosen."""

    NEXT_BUSINESS_DAY = "next_business_day"  # the first weekday NAV on or after the due date
    PREVIOUS_DAY = "previous_day"  # liquid/overnight: the NAV of the day before business day T


# AMFI category texts: "Debt Scheme - Liquid Fund", "Debt Scheme - Overnight Fund",
# "Income/Debt Oriented Schemes - Liquid Fund", and before 2018 simply "Liquid".
_LIQUID_OR_OVERNIGHT = re.compile(r"\b(liquid|overnight)\b", re.IGNORECASE)
_ONE_DAY = timedelta(days=1)


def nav_rule(category: str | None) -> NavRule:
    """The rule for a scheme of AMFI `category` (unknown: NEXT_BUSINESS_DAY)."""
    if category and _LIQUID_OR_OVERNIGHT.search(category):
        return NavRule.PREVIOUS_DAY
    return NavRule.NEXT_BUSINESS_DAY


def nav_rules(categories: Mapping[int, str | None]) -> dict[int, NavRule]:
    """`{scheme_code: rule}` for the schemes whose rule is not the default."""
    return {
        code: rule
        for code, category in categories.items()
        if (rule := nav_rule(category)) is not NavRule.NEXT_BUSINESS_DAY
    }


def is_business_day(d: date) -> bool:
    """Monday to Friday (weekday holidays are known only from the NAVs AMFI published)."""
    return d.weekday() < 5


def previous_day_targets(due_dates: Iterable[date]) -> list[date]:
    """For each due date: the day before T, T being the due date or the next weekday after it."""
    targets = []
    for due in due_dates:
        weekday = due.weekday()
        processed = due if weekday < 5 else due + timedelta(days=7 - weekday)
        targets.append(processed - _ONE_DAY)
    return targets
