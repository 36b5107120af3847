"""Which schemes need their NAV history fetched so that instalments get the right NAV (pure).

An instalment is allotted at the scheme's first NAV on or after its due date (F3). NAVAll.txt
only carries each scheme's latest NAV, so if the daemon was not running on a due date the first
NAV the store knows may be a later one, and the instalment would be allotted at the wrong NAV.
An instalment is *suspect* when

* it is a NAV_GAP (no NAV within `max_roll_days`: the history has a hole), or
* it is allotted at a NAV dated after its due date and a weekday lies between the two (a
  Saturday instalment allotted on Monday is normal; a Wednesday one allotted on Thursday may be
  a holiday, or a day the store missed), or
* the scheme has no NAV at all yet and the instalment is pending.

A suspect holiday is confirmed once: after a history fetch, `checked_through` records the
latest NAV date the fetch brought (`nav_update.HistoryBook`), and instalments due up to it
are not suspected again.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta

from mftrack.domain.portfolio import InstalmentStatus, PortfolioSummary


def _weekday_between(first: date, last: date) -> bool:
    """Is there a Monday-Friday in [first, last)?"""
    day = first
    while day < last:
        if day.weekday() < 5:
            return True
        day += timedelta(days=1)
    return False


def suspect_schemes(
    summary: PortfolioSummary, checked_through: Mapping[int, date]
) -> dict[int, date]:
    """`{scheme_code: earliest suspect due date}` for schemes whose history should be fetched."""
    found: dict[int, date] = {}
    for scheme in summary.schemes:
        checked = checked_through.get(scheme.scheme_code, date.min)
        for lot in scheme.lots:
            if lot.due_date <= checked:
                continue
            if lot.status is InstalmentStatus.NAV_GAP:
                suspect = True
            elif lot.status is InstalmentStatus.PENDING:
                suspect = scheme.nav_date is None
            elif lot.status is not InstalmentStatus.ALLOTTED:
                continue  # CONFIRMED or MISSED: a statement row says what happened (F5)
            else:
                assert lot.nav_date is not None
                suspect = _weekday_between(lot.due_date, lot.nav_date)
            if suspect:
                found[scheme.scheme_code] = lot.due_date  # lots are in due-date order
                break
    return found
