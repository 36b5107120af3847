"""Month arithmetic for SIP schedules: due dates, month ends and full years.

A SIP is due once a month on its nominal day (1-31). Days 29-31 fall on the last day of a
shorter month and return to the nominal day in the next long month (day 31: 31 Jan, 28/29 Feb,
31 Mar). Business days are *not* decided here: which NAV applies to a due date is the NAV
series' job (F3, see `mftrack.domain.navs`).
"""

from __future__ import annotations

from datetime import date
from itertools import cycle, islice, repeat
from operator import floordiv

from mftrack.errors import InvalidInputError

_MONTHS = range(1, 13)
_DAYS_IN_MONTH = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def is_leap_year(year: int) -> bool:
    """Tell whether `year` is a Gregorian leap year."""
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def days_in_month(year: int, month: int) -> int:
    """Return the number of days in `month` of `year`."""
    if month == 2 and is_leap_year(year):
        return 29
    return _DAYS_IN_MONTH[month - 1]


def last_day_of_month(d: date) -> date:
    """Return the last date of the month `d` is in."""
    return date(d.year, d.month, days_in_month(d.year, d.month))


def on_day(year: int, month: int, day: int) -> date:
    """Return `day` of the month, or the month's last day when the month is shorter."""
    return date(year, month, min(day, days_in_month(year, month)))


def add_months(d: date, months: int, day: int | None = None) -> date:
    """Move `d` by `months` (may be negative), keeping the nominal `day` (default `d.day`).

    The day is clamped to the target month's length: add_months(31 Jan, 1) = 28/29 Feb,
    add_months(28 Feb, 1, day=31) = 31 Mar.
    """
    index = d.year * 12 + d.month - 1 + months
    return on_day(index // 12, index % 12 + 1, d.day if day is None else day)


def years_between(start: date, end: date) -> int:
    """Return the number of full years (anniversaries) from `start` to `end`; 0 if none.

    An anniversary of 29 Feb falls on 1 Mar in common years.
    """
    years = end.year - start.year - ((end.month, end.day) < (start.month, start.day))
    return max(years, 0)


def anniversary(start: date, years: int) -> date:
    """Return the date `years` full years after `start`; date.max beyond the calendar.

    29 Feb falls on 1 Mar in common years, so years_between(start, anniversary(start, n)) == n.
    """
    year = start.year + years
    if year > date.max.year:
        return date.max
    if start.month == 2 and start.day == 29 and not is_leap_year(year):
        return date(year, 3, 1)
    return date(year, start.month, start.day)


def validate_sip_day(day: int) -> int:
    """Return `day` if it is a valid SIP day (1-31), else raise InvalidInputError."""
    if not 1 <= day <= 31:
        raise InvalidInputError(
            f"the SIP day must be between 1 and 31, not {day}",
            hint="days 29-31 fall on the last day of shorter months",
        )
    return day


def instalment_dates(start: date, day: int, end: date) -> list[date]:
    """Return the monthly due dates on `day` from the first on or after `start` up to `end`.

    `end` is inclusive (an end date or the valuation date). Empty when `end` comes first.
    """
    validate_sip_day(day)
    year, month = start.year, start.month
    if on_day(year, month, day) < start:
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    if day <= 28:
        # Hot path (every SIP on every valuation): every month has the day.
        first = year * 12 + month - 1
        last = end.year * 12 + end.month - (1 if end.day >= day else 2)
        return _monthly(first, last, day)
    dates: list[date] = []
    append = dates.append
    while True:
        if day <= 28:
            due = date(year, month, day)
        elif month == 2:
            due = date(year, 2, min(day, 29 if is_leap_year(year) else 28))
        else:
            due = date(year, month, min(day, _DAYS_IN_MONTH[month - 1]))
        if due > end:
            return dates
        append(due)
        if month == 12:
            year, month = year + 1, 1
        else:
            month += 1


# Due dates on days 1-28 by (day, last month): built once, from the earliest month asked for,
# then sliced for every SIP due on that day up to that month. A valuation asks for a handful
# (every SIP of a portfolio ends at its as_of; there are 28 such days), whatever the number of
# SIPs: 1,000 SIPs share ~28 lists instead of building 180,000 dates (~40 ms, issue 10).
# Threads (the daemon, the dashboard) may share it: an entry is only ever replaced whole, and
# every caller gets its own list.
_DUE_DATES: dict[tuple[int, int], tuple[int, tuple[date, ...]]] = {}
_DUE_DATES_KEPT = 256


def _monthly(first: int, last: int, day: int) -> list[date]:
    """`day` of every month from `first` to `last` (months counted from January of year 0)."""
    key = (day, last)
    kept = _DUE_DATES.get(key)
    if kept is None or kept[0] > first:
        months = range(first, last + 1)  # the dates are built by `map`, in C
        dates = tuple(map(
            date,
            map(floordiv, months, repeat(12)),
            islice(cycle(_MONTHS), first % 12, first % 12 + len(months)),
            repeat(day),
        ))  # fmt: skip
        if len(_DUE_DATES) >= _DUE_DATES_KEPT:
            _DUE_DATES.clear()
        _DUE_DATES[key] = kept = (first, dates)
    since, dates = kept
    return list(dates[first - since :])


def month_ends(start: date, end: date) -> list[date]:
    """Return the last day of every month from `start`'s month while it is <= `end`."""
    ends: list[date] = []
    current = last_day_of_month(start)
    while current <= end:
        ends.append(current)
        current = add_months(current, 1, day=31)
    return ends
