"""Allot SIP instalments (and estimated purchases) at their NAVs: the columns a valuation reads.

Rules (see docs/returns-and-xirr.md):

- F2/F3 (`mftrack.domain.pricing`): an instalment gets the scheme's first NAV dated on a
  weekday on or after its due date (a weekend NAV never prices a purchase); a liquid or
  overnight fund's instalment gets the NAV of the calendar day before the business day it is
  processed on. If that NAV, or that business day, is after `as_of`, it is PENDING. A NAV more
  than `max_roll_days` after the day searched from is not a holiday but a hole in the history
  (scheme 118395 has none from Oct 2013 to Aug 2019): the instalment is NAV_GAP, left out of
  the totals and warned about.
- F1: stamp duty is taken out of the gross amount on allotments from 1 July 2020; the gross
  amount (duty included) is the invested amount and the cost of acquisition.
- F5: units are estimated to `options.unit_places` decimals with `options.unit_rounding`
  (default 3, down); see `mftrack.domain.options.ValuationOptions`.

A large portfolio has ~180,000 instalments, so the allotment loop keeps them in parallel
columns and `Lots` builds an `Instalment` only when one is looked at.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum
from itertools import compress, pairwise, repeat
from operator import sub
from typing import overload

from mftrack.domain.money import STAMP_DUTY_START, ZERO, split_stamp_duty, unit_quantum
from mftrack.domain.navs import NavSeries
from mftrack.domain.options import DEFAULT_OPTIONS, ValuationOptions
from mftrack.domain.pricing import NavRule, previous_day_targets
from mftrack.domain.sips import ScheduledInstalment

# A weekend plus a holiday delays an allotment by at most 4 days in the bundled histories
# (1,612 same-day, 384/292/42 at 1/2/3 days over 2,330 instalments); beyond that, NAVs are more
# likely missing from the local store than AMFI closed: worth a warning, not a different value.
LATE_ALLOTMENT_DAYS = 4

_LATE = timedelta(days=LATE_ALLOTMENT_DAYS)
_ONE_DAY, _NO_DAYS = timedelta(days=1), timedelta(0)
# Markers in the NAV-index column. CONFIRMED and MISSED are set by the ledger
# (`mftrack.domain.ledger`) on an instalment a statement row replaced or marked failed.
ROW_PENDING, ROW_NAV_GAP, ROW_CONFIRMED, ROW_MISSED = -1, -2, -3, -4


class InstalmentStatus(StrEnum):
    ALLOTTED = "allotted"  # units issued at the NAV its pricing rule gives (F2, F3)
    PENDING = "pending"  # that NAV, or the business day it is processed on, is after as_of
    NAV_GAP = "nav_gap"  # the next NAV is more than max_roll_days away: a hole in the history
    CONFIRMED = "confirmed"  # a recorded or imported transaction replaced the estimate (F5)
    MISSED = "missed"  # a failed debit (sip_failed) for it: no units, no cash flow (F4)


@dataclass(frozen=True, slots=True)
class Instalment:
    """One instalment of a SIP as valued: a lot of its own (F4).

    The allotment fields are None unless `status` is ALLOTTED; then
    `amount == stamp_duty + net_amount`.
    """

    sip_id: str
    scheme_code: int
    due_date: date
    amount: Decimal  # gross, what the investor paid
    status: InstalmentStatus
    nav_date: date | None = None
    nav: Decimal | None = None
    stamp_duty: Decimal | None = None
    net_amount: Decimal | None = None
    units: Decimal | None = None


class Columns:
    """One scheme's instalments as parallel lists, in the order they were allotted."""

    __slots__ = ("amount", "confirmed", "due", "index", "late", "sip_id", "units")

    def __init__(self) -> None:
        self.sip_id: list[str] = []
        self.due: list[date] = []
        self.amount: list[Decimal] = []
        self.index: list[int] = []  # into the NAV series, or ROW_PENDING / ROW_NAV_GAP
        self.units: list[Decimal | None] = []  # stamp duty and net are derived when looked at
        self.late: list[int] = []  # rows allotted more than LATE_ALLOTMENT_DAYS after due
        # Rows a confirmed transaction replaced (ROW_CONFIRMED): the Instalment fields after
        # the due date (amount, status, NAV date, NAV, duty, net, units), set by the ledger.
        self.confirmed: dict[int, tuple] = {}


class Lots(Sequence[Instalment]):
    """The instalments of one scheme, by due date (then SIP order); read-only."""

    __slots__ = ("_code", "_cols", "_dates", "_in_order", "_lag", "_navs", "_sorted")

    def __init__(
        self, code: int, cols: Columns, navs: NavSeries, in_order: bool, lag: timedelta
    ) -> None:
        self._code = code
        self._cols = cols
        self._dates = navs.dates
        self._navs = navs.navs
        self._lag = lag  # from a lot's NAV date to the business day it was processed on
        self._in_order = in_order
        self._sorted: list[int] | None = None  # sorted on first use: a summary rarely looks

    @property
    def _order(self) -> list[int] | None:
        """Row numbers in due-date order, or None when the rows already are."""
        if self._in_order:
            return None
        if self._sorted is None:
            order = self._sort(self._cols.due)
            if order is None:
                self._in_order = True
                return None
            self._sorted = order
        return self._sorted

    @staticmethod
    def _sort(due: list[date]) -> list[int] | None:
        if all(a <= b for a, b in pairwise(due)):
            return None
        return sorted(range(len(due)), key=due.__getitem__)

    def _build(self, j: int) -> Instalment:
        c = self._cols
        i = c.index[j]
        head = (c.sip_id[j], self._code, c.due[j], c.amount[j])
        if i == ROW_PENDING:
            return Instalment(*head, InstalmentStatus.PENDING)
        if i == ROW_NAV_GAP:
            return Instalment(*head, InstalmentStatus.NAV_GAP)
        if i == ROW_MISSED:
            return Instalment(*head, InstalmentStatus.MISSED)
        if i == ROW_CONFIRMED:  # the statement's figures, as the ledger recorded them
            return Instalment(*head[:3], *c.confirmed[j])
        nav_date = self._dates[i]
        duty, net = split_stamp_duty(c.amount[j], nav_date + self._lag)  # F1, as in the book
        return Instalment(
            *head, InstalmentStatus.ALLOTTED, nav_date, self._navs[i], duty, net, c.units[j],
        )  # fmt: skip

    def __len__(self) -> int:
        return len(self._cols.due)

    @overload
    def __getitem__(self, k: int) -> Instalment: ...
    @overload
    def __getitem__(self, k: slice) -> list[Instalment]: ...
    def __getitem__(self, k: int | slice) -> Instalment | list[Instalment]:
        if isinstance(k, slice):
            return [self[j] for j in range(*k.indices(len(self)))]
        j = range(len(self))[k]  # normalises negatives, raises IndexError
        order = self._order
        return self._build(j if order is None else order[j])

    def __iter__(self) -> Iterator[Instalment]:
        order = range(len(self)) if self._order is None else self._order
        return (self._build(j) for j in order)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Lots):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))

    def __hash__(self) -> int:
        return hash(tuple(self))

    def __repr__(self) -> str:
        return f"<Lots: {len(self)} instalments of scheme {self._code}>"

    def valued_with(self, navs: NavSeries) -> bool:
        """Tell whether `navs` is the series these lots were allotted against."""
        return navs.dates is self._dates or navs.dates == self._dates

    def due_dates(self, marker: int) -> list[date]:
        """Due dates, ascending, of the lots whose NAV index is `marker` (a ROW_ constant)."""
        c = self._cols
        return sorted(due for due, i in zip(c.due, c.index, strict=True) if i == marker)

    def late_due_dates(self) -> list[date]:
        """Due dates, ascending, of lots allotted more than LATE_ALLOTMENT_DAYS after them."""
        due, index = self._cols.due, self._cols.index
        return sorted(due[row] for row in self._cols.late if index[row] >= 0)

    def allotted_by_nav_index(self) -> dict[int, tuple[Decimal, Decimal]]:
        """Return `{nav index: (gross amount, units)}` of allotted lots, merged per NAV date.

        The index is into the `NavSeries` the summary was made with (see `valued_with`).
        """
        merged: dict[int, tuple[Decimal, Decimal]] = {}
        c = self._cols
        for i, amount, units in zip(c.index, c.amount, c.units, strict=True):
            if i < 0 or units is None:
                continue
            had = merged.get(i)
            merged[i] = (amount, units) if had is None else (had[0] + amount, had[1] + units)
        return merged


class SchemeBook:
    """Allots the instalments of every SIP on one scheme and keeps the running totals.

    Which NAV an instalment gets is `rule`'s (see `mftrack.domain.pricing`): NEXT_BUSINESS_DAY
    searches the weekday NAVs only (`pick`, positions into the whole series; None when all
    are weekdays) from the due date; PREVIOUS_DAY searches every NAV from the day before the
    business day T the instalment is processed on, and `lag` (one day) is how far T is after
    that NAV, for the as_of and stamp-duty tests.
    """

    __slots__ = (
        "allotted", "as_of", "cols", "dates", "invested", "lag", "max_roll", "navs", "outflows",
        "pick", "pick_dates", "quantum", "rounding", "rule", "sips", "spaced", "stamp",
        "stamp_from", "units", "usable",
    )  # fmt: skip

    def __init__(
        self, navs: NavSeries, as_of: date, options: ValuationOptions, rule: NavRule
    ) -> None:
        self.dates = navs.dates
        self.navs = navs.navs
        self.as_of = as_of
        self.rule = rule
        if rule is NavRule.PREVIOUS_DAY:
            self.pick, self.pick_dates, self.lag = None, self.dates, _ONE_DAY
        else:
            (self.pick, self.pick_dates), self.lag = navs.weekday_navs(), _NO_DAYS
        # A purchase needs its NAV published and its business day reached by as_of.
        self.usable = bisect_right(self.pick_dates, as_of - self.lag)
        self.stamp_from = bisect_left(self.dates, STAMP_DUTY_START - self.lag)  # F1
        self.quantum = unit_quantum(options.unit_places)
        self.rounding = options.unit_rounding
        self.max_roll = timedelta(days=options.max_roll_days)
        self.cols = Columns()
        self.sips = self.allotted = 0
        self.invested = self.stamp = self.units = ZERO
        # Gross purchases by NAV index, for XIRR (see _price on why some are ints)
        self.outflows: list[Decimal | int | None] = [None] * len(self.dates)
        # NAV positions a search can end far from its start at (see _exceptions).
        reach = min(self.max_roll, _LATE)
        picked = self.pick_dates  # the maps below run in C: this is done for every scheme
        apart = map(reach.__lt__, map(sub, picked[1:], picked[:-1]))
        self.spaced = [0, *compress(range(1, len(picked)), apart)]

    def add(self, sip_id: str, due_dates: list[date], amounts: list[Decimal]) -> None:
        """Allot one SIP's instalments, oldest first.

        The hot path of every summary (180,000 instalments for 1,000 SIPs), so it works on
        whole lists with `map` (the per-row work runs in C): the NAV positions in one pass,
        then runs of instalments that share an amount and a stamp-duty status, each priced in
        one pass. Rare cases (gaps, late allotments) are found from the few NAV positions that
        can produce them (`_exceptions`), not by looking at every row.
        """
        c = self.cols
        n = len(due_dates)
        first_row = len(c.due)  # the column row of this SIP's first instalment
        c.sip_id.extend([sip_id] * n)
        c.due.extend(due_dates)
        c.amount.extend(amounts)
        searched = (
            due_dates
            if self.rule is NavRule.NEXT_BUSINESS_DAY
            else (previous_day_targets(due_dates))
        )
        pick_dates = self.pick_dates
        # F2/F3: the NAV position of each (non-decreasing); map() keeps the loop in C
        found = list(map(bisect_left, repeat(pick_dates, n), searched))
        ok = bisect_left(found, self.usable)  # found[ok:] is after as_of: PENDING
        pick = self.pick
        index = found[:ok] if pick is None else list(map(pick.__getitem__, found[:ok]))
        cut = bisect_left(index, self.stamp_from)  # F1: rows from here pay stamp duty
        gaps, late = self._exceptions(found, ok, due_dates, searched)
        units = self._price(index, amounts, cut, gaps)
        for k in gaps:
            index[k] = ROW_NAV_GAP
        c.index.extend(index)
        c.index.extend([ROW_PENDING] * (n - ok))
        c.units.extend(units)
        c.units.extend([None] * (n - ok))
        c.late.extend(first_row + k for k in late)
        self.sips += 1

    def _exceptions(
        self, found: list[int], ok: int, due_dates: list[date], searched: list[date]
    ) -> tuple[list[int], list[int]]:
        """Rows (of this SIP) that are NAV gaps, and rows allotted late, in row order.

        A search from day s lands on position p with pick_dates[p-1] < s <= pick_dates[p],
        so it can end more than x days later only where NAVs p-1 and p are more than x days
        apart, or at p == 0: `self.spaced` lists those positions; each row there is checked.
        """
        gaps: list[int] = []
        late: list[int] = []
        pick_dates, max_roll = self.pick_dates, self.max_roll
        for p in self.spaced:
            lo = bisect_left(found, p, 0, ok)
            for k in range(lo, bisect_right(found, p, lo, ok)):
                if pick_dates[p] - searched[k] > max_roll:
                    gaps.append(k)
                elif pick_dates[p] - due_dates[k] > _LATE:
                    late.append(k)
        return sorted(gaps), sorted(late)

    def _price(
        self, index: list[int], amounts: list[Decimal], cut: int, gaps: list[int]
    ) -> list[Decimal | None]:
        """Units of each row (None for gaps), adding the allotted ones to the totals.

        Rows are taken in runs with one amount (a step-up or an amount change starts a new
        run) and one stamp-duty status (rows from `cut` on pay it, F1), each run priced in one
        pass.
        """
        dates, navs, quantum, rounding = self.dates, self.navs, self.quantum, self.rounding
        flows = self.outflows
        ok = len(index)
        if not ok:
            return []
        cuts = {0, ok, cut}
        if amounts[:ok].count(amounts[0]) != ok:  # compares by identity first: cheap if equal
            cuts.update(k for k in range(1, ok) if amounts[k] != amounts[k - 1])
        units: list[Decimal | None] = []
        for a, b in pairwise(sorted(cuts)):
            amount = amounts[a]
            duty, net = split_stamp_duty(amount, dates[index[a]] + self.lag)
            # F5: units = net / NAV, to `quantum` with `rounding`, for every row of the run
            run: list[Decimal | None] = list(map(
                Decimal.quantize,
                map(net.__truediv__, map(navs.__getitem__, index[a:b])),
                repeat(quantum), repeat(rounding),
            ))  # fmt: skip
            held = index[a:b]
            for k in (k for k in gaps if a <= k < b):  # rare: drop the gap rows
                run[k - a] = None
                held[k - a] = -1
            count = sum(1 for u in run if u is not None) if gaps else b - a
            self.allotted += count
            self.invested += amount * count
            self.stamp += duty * count
            self.units += (
                sum((u for u in run if u is not None), ZERO)
                if gaps
                else sum(
                    run,
                    ZERO,  # type: ignore[arg-type]
                )
            )
            # The purchases by NAV date are only ever turned into XIRR's floats. A whole-rupee
            # amount goes in as an int: the same exact value, but int adds and float(int) take
            # a fraction of Decimal's (whose float() goes through text), ~110,000 of each for
            # 1,000 SIPs. Sums stay exact either way, so the floats, and XIRR, are the same.
            whole = int(amount)
            flow = whole if whole == amount else amount
            for i in held:
                if i >= 0:
                    had = flows[i]
                    flows[i] = flow if had is None else had + flow
            units.extend(run)
        return units


def allot(
    scheduled: ScheduledInstalment,
    navs: NavSeries,
    as_of: date,
    options: ValuationOptions = DEFAULT_OPTIONS,
    rule: NavRule = NavRule.NEXT_BUSINESS_DAY,
) -> Instalment:
    """Allot one scheduled instalment at the NAV `rule` gives it (F2, F3).

    PENDING when that NAV (or the business day it is processed on) is after `as_of`; NAV_GAP
    when that NAV is more than `options.max_roll_days` after the day it was searched from.
    """
    s = scheduled
    book = SchemeBook(navs, as_of, options, rule)
    book.add(s.sip_id, [s.due_date], [s.amount])
    return Lots(s.scheme_code, book.cols, navs, in_order=True, lag=book.lag)[0]
