"""SIP due dates and month arithmetic in mftrack.domain.calendar."""

from __future__ import annotations

from datetime import date, timedelta
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mftrack.domain.calendar import (
    add_months,
    anniversary,
    days_in_month,
    instalment_dates,
    last_day_of_month,
    month_ends,
    years_between,
)
from mftrack.errors import InvalidInputError

some_dates = st.dates(min_value=date(1990, 1, 1), max_value=date(2060, 12, 31))
sip_days = st.integers(min_value=1, max_value=31)


def test_day_31_falls_on_the_last_day_of_shorter_months_and_comes_back() -> None:
    assert instalment_dates(date(2024, 1, 1), 31, date(2024, 5, 31)) == [
        date(2024, 1, 31),
        date(2024, 2, 29),
        date(2024, 3, 31),
        date(2024, 4, 30),
        date(2024, 5, 31),
    ]
    assert instalment_dates(date(2023, 2, 1), 31, date(2023, 3, 31)) == [
        date(2023, 2, 28),
        date(2023, 3, 31),
    ]


def test_days_29_and_30_in_february() -> None:
    assert instalment_dates(date(2023, 2, 1), 29, date(2023, 3, 29)) == [
        date(2023, 2, 28),
        date(2023, 3, 29),
    ]
    assert instalment_dates(date(2024, 2, 1), 30, date(2024, 3, 1)) == [date(2024, 2, 29)]


def test_first_instalment_is_the_first_sip_day_on_or_after_the_start() -> None:
    assert instalment_dates(date(2021, 4, 5), 5, date(2021, 6, 5))[0] == date(2021, 4, 5)
    assert instalment_dates(date(2021, 4, 6), 5, date(2021, 6, 5)) == [
        date(2021, 5, 5),
        date(2021, 6, 5),
    ]
    # start on 28 Feb 2023 with day 30: February's due date is the 28th, so it counts
    assert instalment_dates(date(2023, 2, 28), 30, date(2023, 3, 30)) == [
        date(2023, 2, 28),
        date(2023, 3, 30),
    ]
    # across a year end
    assert instalment_dates(date(2023, 12, 20), 10, date(2024, 2, 10)) == [
        date(2024, 1, 10),
        date(2024, 2, 10),
    ]


def test_end_is_inclusive_and_an_end_before_the_start_gives_nothing() -> None:
    assert instalment_dates(date(2024, 1, 1), 15, date(2024, 3, 15))[-1] == date(2024, 3, 15)
    assert instalment_dates(date(2024, 1, 1), 15, date(2024, 3, 14))[-1] == date(2024, 2, 15)
    assert instalment_dates(date(2024, 1, 16), 15, date(2024, 2, 14)) == []
    assert instalment_dates(date(2024, 5, 1), 15, date(2024, 1, 1)) == []


@pytest.mark.parametrize("day", [0, 32, -1])
def test_invalid_sip_day(day: int) -> None:
    with pytest.raises(InvalidInputError):
        instalment_dates(date(2024, 1, 1), day, date(2024, 12, 31))


def test_month_helpers() -> None:
    assert last_day_of_month(date(2024, 2, 10)) == date(2024, 2, 29)
    assert last_day_of_month(date(2100, 2, 10)) == date(2100, 2, 28)
    assert days_in_month(2000, 2) == 29
    assert add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)
    assert add_months(date(2024, 2, 29), 1, day=31) == date(2024, 3, 31)
    assert add_months(date(2024, 1, 15), -13) == date(2022, 12, 15)
    assert month_ends(date(2023, 11, 5), date(2024, 2, 28)) == [
        date(2023, 11, 30),
        date(2023, 12, 31),
        date(2024, 1, 31),
    ]
    assert month_ends(date(2024, 2, 5), date(2024, 2, 29)) == [date(2024, 2, 29)]


def test_years_between_counts_full_anniversaries() -> None:
    assert years_between(date(2021, 4, 5), date(2022, 4, 4)) == 0
    assert years_between(date(2021, 4, 5), date(2022, 4, 5)) == 1
    assert years_between(date(2021, 4, 5), date(2031, 4, 5)) == 10
    assert years_between(date(2022, 4, 5), date(2021, 4, 5)) == 0
    # 29 Feb: the anniversary in a common year is 1 March
    assert years_between(date(2020, 2, 29), date(2021, 2, 28)) == 0
    assert years_between(date(2020, 2, 29), date(2021, 3, 1)) == 1
    assert anniversary(date(2020, 2, 29), 1) == date(2021, 3, 1)
    assert anniversary(date(2020, 2, 29), 4) == date(2024, 2, 29)


@given(some_dates, sip_days, st.integers(min_value=-5, max_value=400))
def test_instalment_dates_properties(start: date, day: int, days_long: int) -> None:
    end = start + timedelta(days=days_long)
    dates = instalment_dates(start, day, end)
    assert all(start <= d <= end for d in dates)
    assert all(a < b for a, b in pairwise(dates))
    months = [d.year * 12 + d.month for d in dates]
    assert all(b - a == 1 for a, b in pairwise(months))  # one a month
    for d in dates:  # the day rule, for 29-31 in particular
        assert d.day == min(day, days_in_month(d.year, d.month))
    # nothing is missed at either end: the due dates just outside the list are outside the range
    first_month = dates[0] if dates else start
    before = add_months(first_month, -1, day=day)
    assert before < start
    after = add_months(dates[-1], 1, day=day) if dates else None
    assert after is None or after > end
    if not dates:
        candidate = add_months(date(start.year, start.month, 1), 0, day=day)
        if candidate < start:
            candidate = add_months(candidate, 1, day=day)
        assert candidate > end


@given(some_dates, st.integers(min_value=1, max_value=40))
def test_anniversaries_agree_with_years_between(start: date, years: int) -> None:
    on = anniversary(start, years)
    assert years_between(start, on) == years
    assert years_between(start, on - timedelta(days=1)) == years - 1


@given(
    st.lists(some_dates, min_size=1, max_size=12),
    st.integers(min_value=1, max_value=28),
    some_dates,
)
def test_sips_on_one_day_up_to_one_end_share_due_dates_without_sharing_lists(
    starts: list[date], day: int, end: date
) -> None:
    # Days 1-28 up to one end come from one list built once and sliced per start (a later
    # start first, then an earlier one that rebuilds it): each is every month's `day` from
    # the first on or after its start, and a caller changing its list changes no other.
    for start in starts:
        expected = []
        month = date(start.year, start.month, day)
        while month <= end:
            if month >= start:
                expected.append(month)
            month = add_months(month, 1)
        got = instalment_dates(start, day, end)
        assert got == expected
        got.append(date.max)
        assert instalment_dates(start, day, end) == expected
