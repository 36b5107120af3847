"""Value a set of SIPs on a date: allot each instalment at its NAV, then sum by scheme.

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
- F10: XIRR over purchases dated on their allotment (NAV) date and the value dated on the date
  of the NAV it was valued at (a scheme's latest NAV on or before `as_of`, or `as_of` when it
  has none), so a stale NAV does not stretch the holding period and drag the rate down. The
  portfolio's value is dated on the freshest of the schemes' NAV dates. XIRR is None when the
  first allotment is less than a year before that same date (absolute return is shown).

A large portfolio has ~180,000 instalments, so the allotment loop keeps them in parallel
columns and `Lots` builds an `Instalment` only when one is looked at.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from itertools import compress, pairwise, repeat
from operator import is_not, neg, sub
from typing import overload

from mftrack.analytics.returns import xirr_by_date
from mftrack.domain.calendar import month_ends, years_between
from mftrack.domain.money import STAMP_DUTY_START, ZERO, paisa, split_stamp_duty, unit_quantum
from mftrack.domain.navs import NavSeries
from mftrack.domain.options import DEFAULT_OPTIONS, ValuationOptions
from mftrack.domain.pricing import NavRule, previous_day_targets
from mftrack.domain.sips import ScheduledInstalment, Sip, instalment_schedule

# A weekend plus a holiday delays an allotment by at most 4 days in the bundled histories
# (1,612 same-day, 384/292/42 at 1/2/3 days over 2,330 instalments); beyond that, NAVs are more
# likely missing from the local store than AMFI closed: worth a warning, not a different value.
LATE_ALLOTMENT_DAYS = 4
RATIO_QUANTUM = Decimal("0.000001")  # absolute return as a fraction, 0.0001 % resolution
COST_QUANTUM = Decimal("0.0001")  # average cost per unit, to AMFI's 4 NAV decimals

_EMPTY = NavSeries()
_LATE = timedelta(days=LATE_ALLOTMENT_DAYS)
_ONE_DAY, _NO_DAYS = timedelta(days=1), timedelta(0)
_PENDING, _NAV_GAP = -1, -2  # markers in the NAV-index column


class InstalmentStatus(StrEnum):
    ALLOTTED = "allotted"  # units issued at the NAV its pricing rule gives (F2, F3)
    PENDING = "pending"  # that NAV, or the business day it is processed on, is after as_of
    NAV_GAP = "nav_gap"  # the next NAV is more than max_roll_days away: a hole in the history


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


class _Columns:
    """One scheme's instalments as parallel lists, in the order they were allotted."""

    __slots__ = ("amount", "due", "index", "late", "sip_id", "units")

    def __init__(self) -> None:
        self.sip_id: list[str] = []
        self.due: list[date] = []
        self.amount: list[Decimal] = []
        self.index: list[int] = []  # into the NAV series, or _PENDING / _NAV_GAP
        self.units: list[Decimal | None] = []  # stamp duty and net are derived when looked at
        self.late: list[int] = []  # rows allotted more than LATE_ALLOTMENT_DAYS after due


class Lots(Sequence[Instalment]):
    """The instalments of one scheme, by due date (then SIP order); read-only."""

    __slots__ = ("_code", "_cols", "_dates", "_in_order", "_lag", "_navs", "_sorted")

    def __init__(
        self, code: int, cols: _Columns, navs: NavSeries, in_order: bool, lag: timedelta
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
        if i == _PENDING:
            return Instalment(*head, InstalmentStatus.PENDING)
        if i == _NAV_GAP:
            return Instalment(*head, InstalmentStatus.NAV_GAP)
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
        """Due dates, ascending, of the lots whose NAV index is `marker` (_PENDING, _NAV_GAP)."""
        c = self._cols
        return sorted(due for due, i in zip(c.due, c.index, strict=True) if i == marker)

    def late_due_dates(self) -> list[date]:
        """Due dates, ascending, of lots allotted more than LATE_ALLOTMENT_DAYS after them."""
        due = self._cols.due
        return sorted(due[row] for row in self._cols.late)

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


class _SchemeBook:
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
        self.cols = _Columns()
        self.sips = self.allotted = 0
        self.invested = self.stamp = self.units = ZERO
        self.outflows: list[Decimal | None] = [None] * len(self.dates)  # by NAV index
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
        searched = due_dates if self.rule is NavRule.NEXT_BUSINESS_DAY else (
            previous_day_targets(due_dates)
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
            index[k] = _NAV_GAP
        c.index.extend(index)
        c.index.extend([_PENDING] * (n - ok))
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
            self.units += sum((u for u in run if u is not None), ZERO) if gaps else sum(
                run, ZERO  # type: ignore[arg-type]
            )
            for i in held:
                if i >= 0:
                    had = flows[i]
                    flows[i] = amount if had is None else had + amount
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
    book = _SchemeBook(navs, as_of, options, rule)
    book.add(s.sip_id, [s.due_date], [s.amount])
    return Lots(s.scheme_code, book.cols, navs, in_order=True, lag=book.lag)[0]


@dataclass(frozen=True, slots=True)
class SchemeSummary:
    """One scheme's holding from all its SIPs, valued on `as_of`."""

    scheme_code: int
    scheme_name: str
    instalments: int  # allotted
    pending: int
    nav_gaps: int
    invested: Decimal  # gross amounts of allotted instalments, stamp duty included
    stamp_duty: Decimal
    units: Decimal
    average_cost: Decimal | None  # invested / units, None without units
    nav: Decimal | None  # latest NAV on or before as_of
    nav_date: date | None
    value: Decimal  # units x nav, to the paisa
    gain: Decimal
    absolute_return: Decimal | None  # gain / invested as a fraction
    xirr: float | None  # value dated on nav_date; None under a year to it, or no solution (F10)
    first_allotment: date | None
    stale: bool  # no NAV, or the NAV is more than stale_after_days older than as_of
    lots: Lots  # every instalment (allotted, pending, gap), by due date


@dataclass(frozen=True, slots=True)
class PortfolioTotal:
    """All schemes together.

    `xirr` is over every purchase and the total value, dated on the freshest scheme NAV date
    (as_of when no scheme has a NAV); None when the first allotment is less than a year before
    that date.
    """

    instalments: int
    pending: int
    nav_gaps: int
    invested: Decimal
    stamp_duty: Decimal
    value: Decimal
    gain: Decimal
    absolute_return: Decimal | None
    xirr: float | None
    first_allotment: date | None


@dataclass(frozen=True, slots=True)
class PortfolioSummary:
    as_of: date
    schemes: tuple[SchemeSummary, ...]  # by scheme name, then code
    total: PortfolioTotal
    warnings: tuple[str, ...]


def _ratio(gain: Decimal, invested: Decimal) -> Decimal | None:
    if not invested:
        return None
    return (gain / invested).quantize(RATIO_QUANTUM, rounding=ROUND_HALF_UP)


def _xirr_if_a_year(
    outflows: Mapping[date, Decimal], value: Decimal, first: date | None, valued_on: date
) -> float | None:
    """XIRR of the purchases and `value` dated on `valued_on` (the NAV date it was valued at).

    Dating a stale value on as_of would stretch the holding period and understate the rate.
    The one-year test below is measured to `valued_on` too, not to as_of.
    """
    # F10: SEBI requires absolute, not annualised, returns for periods under one year.
    if first is None or years_between(first, valued_on) < 1:
        return None
    # Purchases negative, then the value added on its date: `xirr`'s merge, built in C.
    flows = dict(zip(outflows.keys(), map(neg, outflows.values()), strict=True))
    flows[valued_on] = flows.get(valued_on, ZERO) + value
    return xirr_by_date(flows)


def _summarise_scheme(
    code: int, name: str, book: _SchemeBook, navs: NavSeries, stale_after_days: int
) -> tuple[SchemeSummary, dict[date, Decimal]]:
    """Return the scheme's summary and its gross purchases by NAV date (for the total XIRR)."""
    as_of = book.as_of
    dates = book.dates
    flows = book.outflows  # by NAV index: keep the dates with a purchase (in C)
    outflows = dict(compress(zip(dates, flows, strict=True), map(is_not, flows, repeat(None))))
    first = next(iter(outflows), None)  # dates ascend with the NAV index
    latest = navs.latest_on_or_before(as_of)
    nav_date, nav = latest if latest is not None else (None, None)
    units, invested = book.units, book.invested
    value = paisa(units * nav) if nav is not None and units else ZERO
    gain = value - invested
    average_cost = (
        (invested / units).quantize(COST_QUANTUM, rounding=ROUND_HALF_UP) if units else None
    )
    pending = book.cols.index.count(_PENDING)
    summary = SchemeSummary(
        scheme_code=code,
        scheme_name=name,
        instalments=book.allotted,
        pending=pending,
        nav_gaps=len(book.cols.index) - book.allotted - pending,
        invested=invested,
        stamp_duty=book.stamp,
        units=units,
        average_cost=average_cost,
        nav=nav,
        nav_date=nav_date,
        value=value,
        gain=gain,
        absolute_return=_ratio(gain, invested),
        xirr=_xirr_if_a_year(outflows, value, first, nav_date or as_of),
        first_allotment=first,
        stale=nav_date is None or (as_of - nav_date).days > stale_after_days,
        lots=Lots(code, book.cols, navs, in_order=book.sips <= 1, lag=book.lag),
    )
    return summary, outflows


# Every warning about missing NAVs names the one command that fixes it (issue 10, flow 1):
# it pulls the latest NAVs and fetches the history gaps of due instalments.
FIX_COMMAND = "mftrack nav update"


def _scheme_warnings(
    s: SchemeSummary, navs: NavSeries, as_of: date, max_roll_days: int
) -> list[str]:
    label = f"{s.scheme_code} {s.scheme_name}".strip()
    if s.instalments == 0 and s.pending == 0 and s.nav_gaps == 0:
        return []  # nothing due yet on as_of: no NAV is needed, so nothing to warn about
    if not len(navs):
        return [
            f"{label}: no NAV history at all; its {s.pending} instalments are pending "
            f"(`{FIX_COMMAND}` fetches it)"
        ]
    warnings: list[str] = []
    if s.nav_date is None:
        warnings.append(f"{label}: no NAV on or before {as_of} (`{FIX_COMMAND}` fetches it)")
    elif s.stale:
        days = (as_of - s.nav_date).days
        warnings.append(
            f"{label}: latest NAV is from {s.nav_date}, {days} days before {as_of}; "
            f"its value may be out of date (`{FIX_COMMAND}` brings the latest)"
        )
    if s.pending:
        due = s.lots.due_dates(_PENDING)
        warnings.append(
            f"{label}: {s.pending} instalment{'s' if s.pending > 1 else ''} due {due[0]}"
            + (f" to {due[-1]}" if len(due) > 1 else "")
            + f" pending: no NAV on or after the due date yet (`{FIX_COMMAND}`)"
        )
    late = s.lots.late_due_dates()
    if late:
        warnings.append(
            f"{label}: {len(late)} instalment{'s' if len(late) > 1 else ''} (first due "
            f"{late[0]}) allotted at a NAV more than {LATE_ALLOTMENT_DAYS} days after "
            f"the due date: a long closure, or NAVs missing locally "
            f"(`{FIX_COMMAND}` fetches them)"
        )
    if s.nav_gaps:
        due = s.lots.due_dates(_NAV_GAP)
        warnings.append(
            f"{label}: {s.nav_gaps} instalments due {due[0]} to {due[-1]} have no NAV "
            f"within {max_roll_days} days of the due date (a gap in the NAV history); "
            f"they are left out of the totals until `{FIX_COMMAND}` fetches that history"
        )
    return warnings


def summarise(
    sips: Iterable[Sip],
    navs_by_scheme: Mapping[int, NavSeries],
    scheme_names: Mapping[int, str],
    as_of: date,
    options: ValuationOptions = DEFAULT_OPTIONS,
    nav_rules: Mapping[int, NavRule] | None = None,
) -> PortfolioSummary:
    """Value every SIP's instalments due up to `as_of`, grouped by scheme, with totals.

    Several SIPs on one scheme add up into one `SchemeSummary`. Deleted SIPs are ignored.
    NAVs dated after `as_of` are never used, so a past `as_of` reproduces that day's view.
    `nav_rules` gives a scheme's NAV rule (liquid and overnight funds: PREVIOUS_DAY); a scheme
    not in it is NEXT_BUSINESS_DAY (`mftrack.domain.pricing`).
    """
    books: dict[int, _SchemeBook] = {}
    rules = nav_rules or {}
    for sip in sips:
        if sip.deleted:
            continue
        book = books.get(sip.scheme_code)
        if book is None:
            navs = navs_by_scheme.get(sip.scheme_code, _EMPTY)
            rule = rules.get(sip.scheme_code, NavRule.NEXT_BUSINESS_DAY)
            book = _SchemeBook(navs, as_of, options, rule)
            books[sip.scheme_code] = book
        book.add(sip.id, *instalment_schedule(sip, as_of))

    schemes: list[SchemeSummary] = []
    outflows: dict[date, Decimal] = {}
    for code, book in books.items():
        navs = navs_by_scheme.get(code, _EMPTY)
        name = scheme_names.get(code, "")
        scheme, flows = _summarise_scheme(code, name, book, navs, options.stale_after_days)
        schemes.append(scheme)
        for on, amount in flows.items():
            outflows[on] = outflows.get(on, ZERO) + amount
    schemes.sort(key=lambda s: (s.scheme_name.casefold(), s.scheme_code))
    warnings = [
        warning
        for s in schemes
        for warning in _scheme_warnings(
            s, navs_by_scheme.get(s.scheme_code, _EMPTY), as_of, options.max_roll_days
        )
    ]
    total = _total(schemes, outflows, as_of)
    return PortfolioSummary(as_of, tuple(schemes), total, tuple(warnings))


def _total(
    schemes: list[SchemeSummary], outflows: Mapping[date, Decimal], as_of: date
) -> PortfolioTotal:
    invested = sum((s.invested for s in schemes), ZERO)
    value = sum((s.value for s in schemes), ZERO)
    first = min(outflows, default=None)
    # The portfolio's value is as of its freshest NAV (each scheme's value is as of its own).
    valued_on = max((s.nav_date for s in schemes if s.nav_date is not None), default=as_of)
    return PortfolioTotal(
        instalments=sum(s.instalments for s in schemes),
        pending=sum(s.pending for s in schemes),
        nav_gaps=sum(s.nav_gaps for s in schemes),
        invested=invested,
        stamp_duty=sum((s.stamp_duty for s in schemes), ZERO),
        value=value,
        gain=value - invested,
        absolute_return=_ratio(value - invested, invested),
        xirr=_xirr_if_a_year(outflows, value, first, valued_on),
        first_allotment=first,
    )


@dataclass(frozen=True, slots=True)
class ValuePoint:
    """Cumulative invested (gross, allotted by `on`) and the holding's value on `on`."""

    on: date
    invested: Decimal
    value: Decimal


@dataclass(frozen=True, slots=True)
class ValueSeries:
    """Value vs invested over time, per scheme and in total, ending at the summary's as_of."""

    as_of: date
    total: tuple[ValuePoint, ...]
    by_scheme: Mapping[int, tuple[ValuePoint, ...]]


def valuation_dates(first: date, as_of: date) -> list[date]:
    """Return every month end from `first`'s month that is before `as_of`, then `as_of`."""
    return [d for d in month_ends(first, as_of) if d < as_of] + [as_of]


def value_series(
    summary: PortfolioSummary,
    navs_by_scheme: Mapping[int, NavSeries],
    *,
    dates: Iterable[date] | None = None,
) -> ValueSeries:
    """Return month-end value vs cumulative invested from the first allotment to `as_of`.

    Built from the summary's lots with the same rounding, so the last point equals the
    summary's invested and value exactly. A lot counts from its NAV date; each point uses the
    latest NAV on or before it. `dates` replaces the default points (those after `as_of` are
    dropped). `navs_by_scheme` must be the mapping the summary was made with.
    """
    as_of = summary.as_of
    first = summary.total.first_allotment
    if dates is not None:
        points = sorted({d for d in dates if d <= as_of})
    elif first is not None:
        points = valuation_dates(first, as_of)
    else:
        points = []
    by_scheme: dict[int, tuple[ValuePoint, ...]] = {}
    total_invested = [ZERO] * len(points)
    total_value = [ZERO] * len(points)
    for scheme in summary.schemes:
        navs = navs_by_scheme.get(scheme.scheme_code, _EMPTY)
        nav_dates, nav_values = navs.dates, navs.navs
        if not scheme.lots.valued_with(navs):
            raise ValueError(f"scheme {scheme.scheme_code}: not the NAVs the summary used")
        bought = sorted(scheme.lots.allotted_by_nav_index().items())
        k, units, invested = 0, ZERO, ZERO
        series: list[ValuePoint] = []
        for n, point in enumerate(points):
            known = bisect_right(nav_dates, point)  # NAVs dated on or before the point
            while k < len(bought) and bought[k][0] < known:
                invested += bought[k][1][0]
                units += bought[k][1][1]
                k += 1
            value = paisa(units * nav_values[known - 1]) if units else ZERO
            series.append(ValuePoint(point, invested, value))
            total_invested[n] += invested
            total_value[n] += value
        by_scheme[scheme.scheme_code] = tuple(series)
    total = tuple(map(ValuePoint, points, total_invested, total_value))
    return ValueSeries(as_of, total, by_scheme)
