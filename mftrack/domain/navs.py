"""The NAV history of one scheme, and the calendar it gives (F3).

F3: a SIP due on a holiday is processed on the next business day at that day's NAV, and MF
business days are not exchange trading days (22 Jan 2024 was an MF holiday under the
Negotiable Instruments Act; zerodha marketintel 2024-01-21). The only reliable calendar of
weekday holidays is the set of days on which AMFI published a NAV for the scheme. Weekend
NAVs exist too (month- and year-end valuations of every scheme; every day for liquid and
overnight funds) but are not business days: `mftrack.domain.pricing` says which NAV a
purchase gets, using `weekday_navs` here.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator, Sequence
from datetime import date
from decimal import Decimal
from itertools import compress
from operator import lt

from mftrack.domain.schemes import NavQuote


class NavSeries:
    """An immutable, date-sorted NAV history with O(log n) look-ups.

    Built from `(date, nav)` pairs in any order. A date given twice keeps the **last** value
    seen (so a corrected NAV fed after the original replaces it). Non-positive NAVs mean "no
    NAV" (AMFI files carry 0.00000 and similar, F11) and are dropped; they never replace a real
    one.
    """

    __slots__ = ("_dates", "_navs", "_weekdays")

    _dates: tuple[date, ...]
    _navs: tuple[Decimal, ...]

    def __init__(self, points: Iterable[tuple[date, Decimal]] = ()) -> None:
        pairs = points if isinstance(points, (list, tuple)) else list(points)
        dates = tuple(d for d, _ in pairs)
        navs = tuple(n for _, n in pairs)
        # The store hands over ascending, positive NAVs: check that (in C) before sorting.
        if not (all(map(lt, dates, dates[1:])) and (not navs or min(navs) > 0)):
            by_date: dict[date, Decimal] = {}
            for nav_date, nav in pairs:
                if nav > 0:
                    by_date[nav_date] = nav
            ordered = sorted(by_date.items())
            dates = tuple(d for d, _ in ordered)
            navs = tuple(n for _, n in ordered)
        self._dates = dates
        self._navs = navs
        self._weekdays: tuple[tuple[int, ...] | None, tuple[date, ...]] | None = None

    @classmethod
    def from_columns(cls, dates: Sequence[date], navs: Sequence[Decimal]) -> NavSeries:
        """Build a series from parallel dates and NAVs (the same rules as the constructor),
        without a pair per NAV when they are already ascending and positive (the store's)."""
        if not (all(map(lt, dates, dates[1:])) and (not navs or min(navs) > 0)):
            return cls(zip(dates, navs, strict=True))
        series = cls()
        series._dates, series._navs = tuple(dates), tuple(navs)
        return series

    @classmethod
    def from_quotes(cls, quotes: Iterable[NavQuote]) -> NavSeries:
        """Build a series from `NavQuote`s of one scheme."""
        return cls((q.nav_date, q.nav) for q in quotes)

    @property
    def dates(self) -> tuple[date, ...]:
        """The NAV dates, ascending."""
        return self._dates

    @property
    def navs(self) -> tuple[Decimal, ...]:
        """The NAVs, parallel to `dates`."""
        return self._navs

    @property
    def first_date(self) -> date | None:
        """The oldest NAV date, or None for an empty series."""
        return self._dates[0] if self._dates else None

    @property
    def last_date(self) -> date | None:
        """The newest NAV date, or None for an empty series."""
        return self._dates[-1] if self._dates else None

    def weekday_navs(self) -> tuple[tuple[int, ...] | None, tuple[date, ...]]:
        """`(positions, dates)` of the NAVs dated Monday to Friday, computed once.

        `positions` index into `dates`/`navs` of the whole series; None when every NAV is on a
        weekday (then the dates are the series' own).
        """
        if self._weekdays is None:
            weekday = map((5).__gt__, map(date.weekday, self._dates))  # in C: every scheme
            positions = list(compress(range(len(self._dates)), weekday))
            if len(positions) == len(self._dates):
                self._weekdays = (None, self._dates)
            else:
                self._weekdays = (tuple(positions), tuple(self._dates[k] for k in positions))
        return self._weekdays

    def __len__(self) -> int:
        return len(self._dates)

    def __iter__(self) -> Iterator[tuple[date, Decimal]]:
        return zip(self._dates, self._navs, strict=True)

    def __repr__(self) -> str:
        return f"NavSeries({len(self)} NAVs, {self.first_date} to {self.last_date})"

    def first_on_or_after(self, d: date) -> tuple[date, Decimal] | None:
        """Return the first `(nav_date, nav)` dated on or after `d` (F3), or None."""
        i = bisect_left(self._dates, d)
        if i == len(self._dates):
            return None
        return self._dates[i], self._navs[i]

    def latest_on_or_before(self, d: date) -> tuple[date, Decimal] | None:
        """Return the last `(nav_date, nav)` dated on or before `d`, or None."""
        i = bisect_right(self._dates, d)
        if i == 0:
            return None
        return self._dates[i - 1], self._navs[i - 1]
