"""The pure schedule: NAV windows (F11), daily and interval jobs, backoff."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mftrack.daemon.schedule import (
    IST,
    NavPlan,
    NavProgress,
    Timetable,
    WindowKind,
    backoff,
    business_day,
    next_daily,
    next_nav_poll,
    windows_from,
)

PLAN = NavPlan()


def ist(day: int, hh: int, mm: int = 0, month: int = 12) -> datetime:
    return datetime(2025, month, day, hh, mm, tzinfo=IST)


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (ist(11, 12, 0), ist(11, 21, 30)),  # midday: wait for the evening window
        (ist(11, 21, 30), ist(11, 21, 30)),  # at the opening: now
        (ist(11, 22, 47), ist(11, 22, 47)),  # inside, never polled: now
        (ist(11, 23, 30), ist(11, 23, 30)),  # the end is inclusive
        (ist(11, 23, 31), ist(12, 7, 0)),  # after the evening: the morning window
        (ist(12, 2, 0), ist(12, 7, 0)),
        (ist(12, 9, 0), ist(12, 9, 0)),
        (ist(12, 10, 31), ist(12, 21, 30)),  # after the morning: the next evening
    ],
)
def test_first_poll_is_the_next_moment_inside_a_window(now: datetime, expected: datetime) -> None:
    assert next_nav_poll(now, plan=PLAN) == expected


def test_polls_are_spaced_by_the_interval_and_stop_at_the_window_end() -> None:
    polls = [ist(11, 21, 30)]
    while len(polls) < 12:
        polls.append(next_nav_poll(polls[-1], plan=PLAN, last_poll=polls[-1]))
    assert [f"{p:%d %H:%M}" for p in polls] == [
        "11 21:30",
        "11 21:50",
        "11 22:10",
        "11 22:30",
        "11 22:50",
        "11 23:10",
        "11 23:30",
        "12 07:00",
        "12 07:20",
        "12 07:40",
        "12 08:00",
        "12 08:20",
    ]


def test_progress_skips_windows_whose_nav_day_is_done() -> None:
    evening_in = NavProgress(date(2025, 12, 11), evening_done=True, morning_done=False)
    after = ist(11, 22, 30)
    assert next_nav_poll(after, plan=PLAN, last_poll=after, progress=evening_in) == ist(12, 7)

    all_in = NavProgress(date(2025, 12, 11), evening_done=True, morning_done=True)
    assert next_nav_poll(after, plan=PLAN, last_poll=after, progress=all_in) == ist(12, 21, 30)

    # progress about an older day says nothing about today's windows
    stale = NavProgress(date(2025, 12, 10), evening_done=True, morning_done=True)
    assert next_nav_poll(ist(11, 21, 0), plan=PLAN, progress=stale) == ist(11, 21, 30)


def test_the_morning_window_belongs_to_the_previous_business_day() -> None:
    first = next(windows_from(ist(12, 6, 0), PLAN))
    assert (first.day, first.kind) == (date(2025, 12, 11), WindowKind.MORNING)
    assert business_day(ist(12, 9, 40), PLAN) == date(2025, 12, 11)
    assert business_day(ist(12, 23, 31), PLAN) == date(2025, 12, 12)


def test_times_in_other_zones_are_read_as_india_time() -> None:
    now = datetime(2025, 12, 11, 16, 0, tzinfo=UTC)  # 21:30 IST
    assert next_nav_poll(now, plan=PLAN) == ist(11, 21, 30)


windows_minutes = [(21 * 60 + 30, 23 * 60 + 30), (7 * 60, 10 * 60 + 30)]


@given(
    start=st.datetimes(
        min_value=datetime(2024, 1, 1), max_value=datetime(2027, 1, 1), timezones=st.just(IST)
    ),
    last_gap=st.one_of(st.none(), st.integers(min_value=0, max_value=30)),
    done_evening=st.booleans(),
    done_morning=st.booleans(),
)
def test_every_poll_is_inside_a_window_and_spaced(
    start: datetime, last_gap: int | None, done_evening: bool, done_morning: bool
) -> None:
    last = None if last_gap is None else start - timedelta(minutes=last_gap)
    progress = NavProgress(business_day(start, PLAN), done_evening, done_morning)
    at = next_nav_poll(start, plan=PLAN, last_poll=last, progress=progress)
    minute = at.hour * 60 + at.minute + at.second / 60
    assert at >= start
    assert any(lo <= minute <= hi for lo, hi in windows_minutes), at
    if last is not None:
        assert at - last >= PLAN.every
    assert at - start < timedelta(days=2)


def test_next_daily_is_strictly_later() -> None:
    assert next_daily(ist(11, 10, 0), time(11)) == ist(11, 11, 0)
    assert next_daily(ist(11, 11, 0), time(11)) == ist(12, 11, 0)
    assert next_daily(ist(11, 23, 59), time(0, 5)) == ist(12, 0, 5)


def test_backoff_doubles_up_to_the_cap() -> None:
    minute = timedelta(minutes=1)
    waits = [backoff(n, base=minute, cap=20 * minute) for n in range(0, 8)]
    assert [w / minute for w in waits] == [0, 1, 2, 4, 8, 16, 20, 20]
    assert backoff(500, base=minute, cap=20 * minute) == 20 * minute  # no overflow


def test_timetable_caps_retries_per_job() -> None:
    table = Timetable.standard(sync_interval_minutes=30)
    assert table.sync_every == timedelta(minutes=30)
    assert table.retry_delay(10) == timedelta(hours=1)
    assert table.retry_delay(10, cap=timedelta(minutes=20)) == timedelta(minutes=20)


def test_compressed_timetable_keeps_the_window_open_all_day() -> None:
    table = Timetable.compressed_to(2)
    plan = table.nav
    night = ist(11, 3, 0)
    assert next_nav_poll(night, plan=plan) == night
    done = NavProgress(date(2025, 12, 11), True, True)
    assert next_nav_poll(night, plan=plan, last_poll=night, progress=done) == night + timedelta(
        seconds=2
    )
    assert table.next_daily(night, time(11)) == night + timedelta(seconds=2)
