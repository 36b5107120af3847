"""When each daemon job runs. Pure: aware datetimes in, aware datetimes out, in India time.

F11 (domain-rules.md): NAVs are due on AMFI by 23:00 IST on day T; schemes with exchange-traded
commodity-derivative exposure have until 09:00 on T+1, FoFs and >=80 % overseas schemes until
10:00 on T+1. So the NAVs of business day T are polled in two windows:

* the evening of T, 21:30-23:30, every 20 minutes, until every held scheme that publishes on
  time has a NAV dated T (or the 23:00 deadline has passed with nothing published for T);
* the morning of T+1, 07:00-10:30, until the late publishers have T too.

Nothing is polled outside the windows. The windows open on every calendar day, weekends
included: AMFI's calendar is not hard-coded (F3: the only reliable calendar is the days AMFI
published), liquid and overnight funds publish on weekends, and a day without NAVs is
recognised from the data (`arrival.py`) once the deadline has passed, which ends that day's
polling early.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from itertools import count
from zoneinfo import ZoneInfo

IST = ZoneInfo("Asia/Kolkata")
_ONE_DAY = timedelta(days=1)


class WindowKind(StrEnum):
    EVENING = "evening"  # day T itself: most NAVs (deadline 23:00)
    MORNING = "morning"  # T+1: commodity (09:00) and FoF/overseas (10:00) stragglers


@dataclass(frozen=True, slots=True)
class Window:
    """A stretch of time in which the NAVs of business day `day` are polled."""

    day: date
    kind: WindowKind
    start: datetime
    end: datetime  # inclusive: a poll exactly at the end still happens


@dataclass(frozen=True, slots=True)
class NavProgress:
    """How far the NAVs of `day` have arrived (judged from the data by `arrival.py`)."""

    day: date
    evening_done: bool
    morning_done: bool

    def done(self, kind: WindowKind) -> bool:
        return self.evening_done if kind is WindowKind.EVENING else self.morning_done


def _at(day: date, clock_time: time) -> datetime:
    return datetime.combine(day, clock_time, IST)


@dataclass(frozen=True, slots=True)
class NavPlan:
    """The NAV polling windows (F11); `always_open` is for the soak bench only."""

    evening_start: time = time(21, 30)
    evening_end: time = time(23, 30)
    morning_start: time = time(7, 0)
    morning_end: time = time(10, 30)
    deadline: time = time(23, 0)  # F11: NAVs due on AMFI by 11 pm on day T
    grace: timedelta = timedelta(minutes=10)  # AMFI's site lags its own deadline a little
    every: timedelta = timedelta(minutes=20)
    always_open: bool = False  # one all-day window per day, polled every `every` regardless
    jitter: timedelta = timedelta(0)  # this installation's offset from each window's start

    def windows_opening_on(self, day: date) -> list[Window]:
        """The windows that open on calendar day `day`, in time order."""
        if self.always_open:
            start = _at(day, time(0))
            return [Window(day, WindowKind.EVENING, start, start + _ONE_DAY - timedelta.resolution)]
        shift = self.jitter
        return [
            Window(
                day - _ONE_DAY,
                WindowKind.MORNING,
                _at(day, self.morning_start) + shift,
                _at(day, self.morning_end),
            ),
            Window(
                day,
                WindowKind.EVENING,
                _at(day, self.evening_start) + shift,
                _at(day, self.evening_end),
            ),
        ]

    def deadline_passed(self, day: date, now: datetime) -> bool:
        """True once AMFI's deadline for `day`'s NAVs (plus grace) is behind `now`."""
        return now >= _at(day, self.deadline) + self.grace


def windows_from(now: datetime, plan: NavPlan) -> Iterator[Window]:
    """Every window that has not ended by `now`, in time order (endless)."""
    today = now.astimezone(IST).date()
    for offset in count():
        for window in plan.windows_opening_on(today + timedelta(days=offset)):
            if window.end >= now:
                yield window


def business_day(now: datetime, plan: NavPlan) -> date:
    """The business day whose NAVs a poll at `now` waits for.

    Before noon IST that is yesterday (the morning window), from noon on it is today (the
    evening window), so a retry that slips a little past a window's end still counts for it.
    """
    local = now.astimezone(IST)
    if plan.always_open or local.time() >= time(12):
        return local.date()
    return local.date() - _ONE_DAY


def next_nav_poll(
    now: datetime,
    *,
    plan: NavPlan,
    last_poll: datetime | None = None,
    progress: NavProgress | None = None,
) -> datetime:
    """The first moment at or after `now` (and `every` after `last_poll`) inside a window
    whose day still waits for NAVs according to `progress`."""
    for window in windows_from(now, plan):
        if progress is not None and not plan.always_open:
            if progress.day > window.day:
                continue
            if progress.day == window.day and progress.done(window.kind):
                continue
        at = max(window.start, now)
        if last_poll is not None:
            at = max(at, last_poll + plan.every)
        if at <= window.end:
            return at.astimezone(IST)
    raise AssertionError("unreachable: windows_from is endless")  # pragma: no cover


def next_daily(now: datetime, at: time) -> datetime:
    """The next `at` o'clock IST strictly after `now`."""
    local = now.astimezone(IST)
    candidate = _at(local.date(), at)
    return candidate if candidate > local else _at(local.date() + _ONE_DAY, at)


def backoff(failures: int, *, base: timedelta, cap: timedelta) -> timedelta:
    """Wait before retry number `failures` (1, 2, ...): base, 2x, 4x ... at most `cap`."""
    if failures < 1:
        return timedelta(0)
    return min(cap, base * 2 ** min(failures - 1, 30))


@dataclass(frozen=True, slots=True)
class Timetable:
    """Every schedule parameter of the daemon in one place.

    `compressed` (bench only) runs every periodic job every that-many seconds and keeps the NAV
    window open all day, so a soak test sees hours of work in minutes.
    """

    nav: NavPlan = field(default_factory=NavPlan)
    sync_every: timedelta = timedelta(minutes=30)
    history_at: time = time(11, 0)  # after the morning window: FoF NAVs are in by 10:00 (F11)
    retention_at: time = time(0, 5)
    retry_base: timedelta = timedelta(minutes=1)
    retry_cap: timedelta = timedelta(hours=1)
    # one scheme's history fetch that failed or found nothing: 15 min, 30 min ... at most a day
    history_retry_base: timedelta = timedelta(minutes=15)
    history_retry_cap: timedelta = timedelta(days=1)
    compressed: timedelta | None = None
    sync_offset: timedelta = timedelta(0)  # the first sync waits this long (jitter)

    @classmethod
    def standard(cls, *, sync_interval_minutes: int = 30) -> Timetable:
        return cls(sync_every=timedelta(minutes=sync_interval_minutes))

    @classmethod
    def compressed_to(cls, seconds: float) -> Timetable:
        step = timedelta(seconds=seconds)
        return cls(
            nav=NavPlan(every=step, always_open=True),
            sync_every=step,
            retry_base=timedelta(seconds=min(1.0, seconds)),
            retry_cap=step,
            history_retry_base=step,
            history_retry_cap=step * 8,
            compressed=step,
        )

    def jittered(self, offset: timedelta) -> Timetable:
        """This installation's spot (`offset`, from `daemon.jitter_minutes`): NAV polls start
        `offset` after each window opens and the first sync waits `offset` (capped by the sync
        interval), so daemons everywhere do not all call AMFI and Supabase in the same minute
        once AMFI publishes. The compressed bench timetable is left as it is."""
        if self.compressed is not None or offset <= timedelta(0):
            return self
        return replace(self, nav=replace(self.nav, jitter=offset), sync_offset=offset)

    def next_daily(self, now: datetime, at: time) -> datetime:
        if self.compressed is not None:
            return now + self.compressed
        return next_daily(now, at)

    def retry_delay(self, failures: int, *, cap: timedelta | None = None) -> timedelta:
        limit = self.retry_cap if cap is None else min(cap, self.retry_cap)
        return backoff(failures, base=self.retry_base, cap=limit)
