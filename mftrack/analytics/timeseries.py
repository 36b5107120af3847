"""Aggregations behind the charts: OHLC candles from daily NAVs, and allocation shares.

Pure and exact: Decimals in, Decimals out (shares of a total are float fractions, like rates).
Plain Python rather than pandas: a NAV history is a few thousand points, grouping them is a
single pass, and nothing here may slow down `mftrack --help`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Literal

Period = Literal["month", "week"]
PERIODS: tuple[Period, ...] = ("month", "week")


@dataclass(frozen=True, slots=True)
class Candle:
    """The NAVs of one calendar month or ISO week (Monday to Sunday) in four numbers."""

    start: date  # the 1st of the month, or the Monday of the ISO week
    first: date  # date of the opening NAV
    last: date  # date of the closing NAV
    open: Decimal  # first NAV of the period
    high: Decimal
    low: Decimal
    close: Decimal  # last NAV of the period
    count: int  # NAVs in the period


def period_start(day: date, period: Period) -> date:
    """Return the first day of `day`'s calendar month, or the Monday of its ISO week."""
    if period == "month":
        return day.replace(day=1)
    if period == "week":
        return day - timedelta(days=day.weekday())
    raise ValueError(f"unknown period {period!r}; expected one of {PERIODS}")


def ohlc(points: Iterable[tuple[date, Decimal]], period: Period = "month") -> list[Candle]:
    """Return one candle per period that has NAVs, oldest first.

    open is the first NAV of the period, close the last, high and low the largest and
    smallest. `points` may come in any order; a date given twice keeps the last value seen
    (as `NavSeries` does).
    """
    by_date: dict[date, Decimal] = {}
    for day, nav in points:
        by_date[day] = nav
    candles: list[Candle] = []
    current: date | None = None
    first = last = date.min
    o = h = lo = c = Decimal(0)
    count = 0
    for day in sorted(by_date):
        nav = by_date[day]
        start = period_start(day, period)
        if start != current:
            if current is not None:
                candles.append(Candle(current, first, last, o, h, lo, c, count))
            current, first, o, h, lo, count = start, day, nav, nav, nav, 0
        h = max(h, nav)
        lo = min(lo, nav)
        c, last = nav, day
        count += 1
    if current is not None:
        candles.append(Candle(current, first, last, o, h, lo, c, count))
    return candles


@dataclass(frozen=True, slots=True)
class Share:
    """One slice of an allocation: a label, its value, and its fraction of the total."""

    label: str
    value: Decimal
    fraction: float  # of the total of all positive values, 0..1
    members: int  # how many items were added up into it


def allocation(
    items: Iterable[tuple[str, Decimal]], *, top: int | None = None, other: str = "Other"
) -> list[Share]:
    """Add values up by label; largest first (ties by label).

    Items worth nothing (all instalments pending) are left out. With `top`, the slices after
    the first `top - 1` are folded into one `other` slice so a chart stays readable.
    """
    totals: dict[str, Decimal] = {}
    members: dict[str, int] = {}
    for label, value in items:
        if value > 0:
            totals[label] = totals.get(label, Decimal(0)) + value
            members[label] = members.get(label, 0) + 1
    grand = sum(totals.values(), Decimal(0))
    ordered = sorted(totals.items(), key=lambda item: (-item[1], item[0]))
    if top is not None and top >= 1 and len(ordered) > top:
        head, tail = ordered[: top - 1], ordered[top - 1 :]
        folded = sum((value for _, value in tail), Decimal(0))
        count = sum(members[label] for label, _ in tail)
        shares = [Share(label, v, float(v / grand), members[label]) for label, v in head]
        return [*shares, Share(f"{other} ({len(tail)})", folded, float(folded / grand), count)]
    return [Share(label, v, float(v / grand), members[label]) for label, v in ordered]

