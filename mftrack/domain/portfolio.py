"""Value a set of SIPs on a date: allot each instalment at its NAV, then sum by scheme.

Rules (see docs/returns-and-xirr.md):

- F2/F3: an instalment gets the scheme's first NAV dated on or after its due date, if that NAV
  is dated on or before `as_of`; otherwise it is PENDING. A NAV more than `max_roll_days` after
  the due date is not a holiday but a hole in the history (scheme 118395 has none from
  Oct 2013 to Aug 2019): the instalment is NAV_GAP, left out of the totals and warned about.
- F1: stamp duty is taken out of the gross amount on allotments from 1 July 2020; the gross
  amount (duty included) is the invested amount and the cost of acquisition.
- F5: units are estimated to `unit_places` decimals with `unit_rounding` (default 3, down).
- F10: XIRR over purchases dated on their allotment (NAV) date and the value on `as_of`; None
  for holdings whose first allotment is less than a year old (absolute return is shown).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from operator import attrgetter
from typing import NamedTuple

from mftrack.analytics.returns import xirr
from mftrack.domain.calendar import month_ends, years_between
from mftrack.domain.money import (
    DEFAULT_UNIT_PLACES,
    DEFAULT_UNIT_ROUNDING,
    STAMP_DUTY_START,
    ZERO,
    paisa,
    split_stamp_duty,
    unit_quantum,
)
from mftrack.domain.navs import NavSeries
from mftrack.domain.sips import ScheduledInstalment, Sip, due_amounts

# The longest run of MF non-business days in the bundled AMFI histories is 6 days
# (1-7 Oct 2014: Dussehra, Bakri Id and a weekend); 10 leaves room for rarer closures.
DEFAULT_MAX_ROLL_DAYS = 10
# A NAV older than a week on the valuation date is more than a long weekend: flag it (F11).
DEFAULT_STALE_AFTER_DAYS = 7
RATIO_QUANTUM = Decimal("0.000001")  # absolute return as a fraction, 0.0001 % resolution
COST_QUANTUM = Decimal("0.0001")  # average cost per unit, to AMFI's 4 NAV decimals

_EMPTY = NavSeries()


class InstalmentStatus(StrEnum):
    ALLOTTED = "allotted"  # units issued at the first NAV on or after the due date
    PENDING = "pending"  # no NAV dated on or after the due date and on or before as_of yet
    NAV_GAP = "nav_gap"  # the next NAV is more than max_roll_days away: a hole in the history


class Instalment(NamedTuple):
    """One instalment of a SIP as valued: a lot of its own (F4).

    The allotment fields are None unless `status` is ALLOTTED, and then
    `amount == stamp_duty + net_amount`. A NamedTuple rather than a frozen dataclass: a
    valuation builds one per instalment (180,000 for a large portfolio) and a tuple is built
    about 3x faster; it is just as immutable.
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
    xirr: float | None  # None under one year or without a solution (F10)
    first_allotment: date | None
    stale: bool  # no NAV, or the NAV is more than stale_after_days older than as_of
    lots: tuple[Instalment, ...]  # every instalment, by due date


@dataclass(frozen=True, slots=True)
class PortfolioTotal:
    """All schemes together; `xirr` is over every purchase and the total value."""

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


class _SchemeBook:
    """Allots the instalments of every SIP on one scheme and keeps the running totals."""

    __slots__ = (
        "allotted", "as_of", "code", "dates", "gaps", "invested", "lots", "max_roll", "navs",
        "outflows", "pending", "quantum", "rounding", "stamp", "stamp_from", "units", "usable",
    )  # fmt: skip

    def __init__(
        self, code: int, navs: NavSeries, as_of: date, places: int, rounding: str, max_roll: int
    ) -> None:
        self.code = code
        self.dates = navs.dates
        self.navs = navs.navs
        self.as_of = as_of
        self.usable = bisect_right(self.dates, as_of)  # NAVs dated after as_of are unknown yet
        self.stamp_from = bisect_left(self.dates, STAMP_DUTY_START)  # F1
        self.quantum = unit_quantum(places)
        self.rounding = rounding
        self.max_roll = timedelta(days=max_roll)
        self.lots: list[Instalment] = []
        self.allotted = self.pending = self.gaps = 0
        self.invested = self.stamp = self.units = ZERO
        self.outflows: dict[int, Decimal] = {}  # gross purchases by NAV index

    def add(self, sip_id: str, schedule: Iterable[tuple[date, Decimal]]) -> None:
        """Allot `(due_date, amount)` pairs of one SIP, oldest first (the hot loop)."""
        code, dates, navs, usable = self.code, self.dates, self.navs, self.usable
        quantum, rounding, max_roll = self.quantum, self.rounding, self.max_roll
        lots, outflows = self.lots, self.outflows
        allotted_ = InstalmentStatus.ALLOTTED
        invested = stamp = units = ZERO
        allotted = pending = gaps = 0
        split_for: tuple[Decimal, bool] | None = None
        duty = net = ZERO
        lo = 0
        for due, amount in schedule:
            i = lo = bisect_left(dates, due, lo)  # F3: the first NAV on or after the due date
            if i >= usable:
                lots.append(Instalment(sip_id, code, due, amount, InstalmentStatus.PENDING))
                pending += 1
                continue
            nav_date = dates[i]
            if nav_date - due > max_roll:
                lots.append(Instalment(sip_id, code, due, amount, InstalmentStatus.NAV_GAP))
                gaps += 1
                continue
            dutiable = i >= self.stamp_from
            if split_for != (amount, dutiable):
                split_for = (amount, dutiable)
                duty, net = split_stamp_duty(amount, nav_date)
            nav = navs[i]
            bought = (net / nav).quantize(quantum, rounding=rounding)
            lots.append(
                Instalment(sip_id, code, due, amount, allotted_, nav_date, nav, duty, net, bought)
            )
            allotted += 1
            invested += amount
            stamp += duty
            units += bought
            outflows[i] = outflows.get(i, ZERO) + amount
        self.allotted += allotted
        self.pending += pending
        self.gaps += gaps
        self.invested += invested
        self.stamp += stamp
        self.units += units


def allot(
    scheduled: ScheduledInstalment,
    navs: NavSeries,
    as_of: date,
    *,
    unit_places: int = DEFAULT_UNIT_PLACES,
    unit_rounding: str = DEFAULT_UNIT_ROUNDING,
    max_roll_days: int = DEFAULT_MAX_ROLL_DAYS,
) -> Instalment:
    """Allot one scheduled instalment at the first NAV on or after its due date (F3).

    PENDING when no such NAV is dated on or before `as_of`; NAV_GAP when it is more than
    `max_roll_days` after the due date.
    """
    s = scheduled
    book = _SchemeBook(s.scheme_code, navs, as_of, unit_places, unit_rounding, max_roll_days)
    book.add(s.sip_id, [(s.due_date, s.amount)])
    return book.lots[0]


def _ratio(gain: Decimal, invested: Decimal) -> Decimal | None:
    if not invested:
        return None
    return (gain / invested).quantize(RATIO_QUANTUM, rounding=ROUND_HALF_UP)


def _xirr_if_a_year(
    outflows: Mapping[date, Decimal], value: Decimal, first: date | None, as_of: date
) -> float | None:
    # F10: SEBI requires absolute, not annualised, returns for periods under one year.
    if first is None or years_between(first, as_of) < 1:
        return None
    flows = [(on, -amount) for on, amount in outflows.items()]
    flows.append((as_of, value))
    return xirr(flows)


def _summarise_scheme(
    book: _SchemeBook, name: str, navs: NavSeries, stale_after_days: int
) -> tuple[SchemeSummary, dict[date, Decimal]]:
    """Return the scheme's summary and its gross purchases by NAV date (for the total XIRR)."""
    as_of = book.as_of
    lots = book.lots
    lots.sort(key=attrgetter("due_date"))  # stable; each SIP's run is already in order
    outflows = {book.dates[i]: amount for i, amount in sorted(book.outflows.items())}
    first = next(iter(outflows), None)
    latest = navs.latest_on_or_before(as_of)
    nav_date, nav = latest if latest is not None else (None, None)
    units, invested = book.units, book.invested
    value = paisa(units * nav) if nav is not None and units else ZERO
    gain = value - invested
    average_cost = (
        (invested / units).quantize(COST_QUANTUM, rounding=ROUND_HALF_UP) if units else None
    )
    summary = SchemeSummary(
        scheme_code=book.code,
        scheme_name=name,
        instalments=book.allotted,
        pending=book.pending,
        nav_gaps=book.gaps,
        invested=invested,
        stamp_duty=book.stamp,
        units=units,
        average_cost=average_cost,
        nav=nav,
        nav_date=nav_date,
        value=value,
        gain=gain,
        absolute_return=_ratio(gain, invested),
        xirr=_xirr_if_a_year(outflows, value, first, as_of),
        first_allotment=first,
        stale=nav_date is None or (as_of - nav_date).days > stale_after_days,
        lots=tuple(lots),
    )
    return summary, outflows


def _scheme_warnings(
    s: SchemeSummary, navs: NavSeries, as_of: date, max_roll_days: int
) -> list[str]:
    label = f"{s.scheme_code} {s.scheme_name}".strip()
    if not len(navs):
        return [f"{label}: no NAV history at all; its {s.pending} instalments are pending"]
    warnings: list[str] = []
    if s.nav_date is None:
        warnings.append(f"{label}: no NAV on or before {as_of}")
    elif s.stale:
        days = (as_of - s.nav_date).days
        warnings.append(
            f"{label}: latest NAV is from {s.nav_date}, {days} days before {as_of}; "
            f"its value may be out of date"
        )
    if s.nav_gaps:
        due = [lot.due_date for lot in s.lots if lot.status is InstalmentStatus.NAV_GAP]
        warnings.append(
            f"{label}: {s.nav_gaps} instalments due {due[0]} to {due[-1]} have no NAV "
            f"within {max_roll_days} days (a gap in the NAV history); "
            f"they are left out of the totals"
        )
    return warnings


def summarise(
    sips: Iterable[Sip],
    navs_by_scheme: Mapping[int, NavSeries],
    scheme_names: Mapping[int, str],
    as_of: date,
    *,
    unit_places: int = DEFAULT_UNIT_PLACES,
    unit_rounding: str = DEFAULT_UNIT_ROUNDING,
    stale_after_days: int = DEFAULT_STALE_AFTER_DAYS,
    max_roll_days: int = DEFAULT_MAX_ROLL_DAYS,
) -> PortfolioSummary:
    """Value every SIP's instalments due up to `as_of`, grouped by scheme, with totals.

    Several SIPs on one scheme add up into one `SchemeSummary`. Deleted SIPs are ignored.
    NAVs dated after `as_of` are never used, so a past `as_of` reproduces that day's view.
    """
    books: dict[int, _SchemeBook] = {}
    for sip in sips:
        if sip.deleted:
            continue
        code = sip.scheme_code
        book = books.get(code)
        if book is None:
            navs = navs_by_scheme.get(code, _EMPTY)
            book = _SchemeBook(code, navs, as_of, unit_places, unit_rounding, max_roll_days)
            books[code] = book
        book.add(sip.id, due_amounts(sip, as_of))

    schemes: list[SchemeSummary] = []
    outflows: dict[date, Decimal] = {}
    for code, book in books.items():
        navs = navs_by_scheme.get(code, _EMPTY)
        scheme, flows = _summarise_scheme(book, scheme_names.get(code, ""), navs, stale_after_days)
        schemes.append(scheme)
        for on, amount in flows.items():
            outflows[on] = outflows.get(on, ZERO) + amount
    schemes.sort(key=lambda s: (s.scheme_name.casefold(), s.scheme_code))
    warnings = [
        warning
        for s in schemes
        for warning in _scheme_warnings(
            s, navs_by_scheme.get(s.scheme_code, _EMPTY), as_of, max_roll_days
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
    return PortfolioTotal(
        instalments=sum(s.instalments for s in schemes),
        pending=sum(s.pending for s in schemes),
        nav_gaps=sum(s.nav_gaps for s in schemes),
        invested=invested,
        stamp_duty=sum((s.stamp_duty for s in schemes), ZERO),
        value=value,
        gain=value - invested,
        absolute_return=_ratio(value - invested, invested),
        xirr=_xirr_if_a_year(outflows, value, first, as_of),
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

    Uses the summary's lots, so the last point equals the summary's invested and value
    exactly. A lot counts from its NAV date; each point uses the latest NAV on or before it.
    `dates` replaces the default month ends (dates after `as_of` are dropped).
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
    for scheme in summary.schemes:
        navs = navs_by_scheme.get(scheme.scheme_code, _EMPTY)
        lots = sorted(
            (lot for lot in scheme.lots if lot.status is InstalmentStatus.ALLOTTED),
            key=attrgetter("nav_date"),
        )
        i, units, invested = 0, ZERO, ZERO
        series: list[ValuePoint] = []
        for point in points:
            while i < len(lots) and lots[i].nav_date <= point:  # type: ignore[operator]
                units += lots[i].units  # type: ignore[operator]
                invested += lots[i].amount
                i += 1
            latest = navs.latest_on_or_before(point) if units else None
            value = paisa(units * latest[1]) if latest is not None else ZERO
            series.append(ValuePoint(point, invested, value))
        by_scheme[scheme.scheme_code] = tuple(series)
    total = tuple(
        ValuePoint(
            point,
            sum((s[k].invested for s in by_scheme.values()), ZERO),
            sum((s[k].value for s in by_scheme.values()), ZERO),
        )
        for k, point in enumerate(points)
    )
    return ValueSeries(as_of, total, by_scheme)
