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

from bisect import bisect_left
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from operator import attrgetter

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


@dataclass(frozen=True, slots=True)
class Instalment:
    """One instalment of a SIP as valued: a lot of its own (F4). Allotment fields are None
    unless `status` is ALLOTTED; `amount = stamp_duty + net_amount` when they are set."""

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


class _Allotter:
    """Allots instalments against one NAV series; caches the stamp-duty split per amount."""

    __slots__ = ("_as_of", "_dates", "_max_roll", "_navs", "_quantum", "_rounding", "_split")

    def __init__(
        self, navs: NavSeries, as_of: date, places: int, rounding: str, max_roll_days: int
    ) -> None:
        self._dates = navs.dates
        self._navs = navs.navs
        self._as_of = as_of
        self._quantum = unit_quantum(places)
        self._rounding = rounding
        self._max_roll = timedelta(days=max_roll_days)
        self._split: dict[tuple[Decimal, bool], tuple[Decimal, Decimal]] = {}

    def allot(self, sip_id: str, code: int, due: date, amount: Decimal) -> Instalment:
        dates = self._dates
        i = bisect_left(dates, due)  # F3: the first NAV on or after the due date
        if i == len(dates) or dates[i] > self._as_of:
            return Instalment(sip_id, code, due, amount, InstalmentStatus.PENDING)
        nav_date = dates[i]
        if nav_date - due > self._max_roll:
            return Instalment(sip_id, code, due, amount, InstalmentStatus.NAV_GAP)
        key = (amount, nav_date >= STAMP_DUTY_START)
        split = self._split.get(key)
        if split is None:
            split = self._split[key] = split_stamp_duty(amount, nav_date)
        nav = self._navs[i]
        units = (split[1] / nav).quantize(self._quantum, rounding=self._rounding)
        return Instalment(
            sip_id, code, due, amount, InstalmentStatus.ALLOTTED,
            nav_date, nav, split[0], split[1], units,
        )  # fmt: skip


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
    allotter = _Allotter(navs, as_of, unit_places, unit_rounding, max_roll_days)
    s = scheduled
    return allotter.allot(s.sip_id, s.scheme_code, s.due_date, s.amount)


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
    code: int,
    name: str,
    lots: list[Instalment],
    navs: NavSeries,
    as_of: date,
    stale_after_days: int,
    outflows: dict[date, Decimal],
) -> SchemeSummary:
    """Sum one scheme's lots; add its purchases to `outflows` (by NAV date) as a side result."""
    lots.sort(key=attrgetter("due_date"))  # stable: each SIP's lots are already in order
    allotted = pending = gaps = 0
    invested = stamp = units = ZERO
    mine: dict[date, Decimal] = {}
    first: date | None = None
    for lot in lots:
        if lot.status is InstalmentStatus.ALLOTTED:
            allotted += 1
            invested += lot.amount
            stamp += lot.stamp_duty  # type: ignore[operator]  # set when ALLOTTED
            units += lot.units  # type: ignore[operator]
            on: date = lot.nav_date  # type: ignore[assignment]
            mine[on] = mine.get(on, ZERO) + lot.amount
            if first is None or on < first:
                first = on
        elif lot.status is InstalmentStatus.PENDING:
            pending += 1
        else:
            gaps += 1
    for on, amount in mine.items():
        outflows[on] = outflows.get(on, ZERO) + amount

    latest = navs.latest_on_or_before(as_of)
    nav_date, nav = latest if latest is not None else (None, None)
    value = paisa(units * nav) if nav is not None and units else ZERO
    gain = value - invested
    return SchemeSummary(
        scheme_code=code,
        scheme_name=name,
        instalments=allotted,
        pending=pending,
        nav_gaps=gaps,
        invested=invested,
        stamp_duty=stamp,
        units=units,
        average_cost=(invested / units).quantize(COST_QUANTUM, rounding=ROUND_HALF_UP)
        if units
        else None,
        nav=nav,
        nav_date=nav_date,
        value=value,
        gain=gain,
        absolute_return=_ratio(gain, invested),
        xirr=_xirr_if_a_year(mine, value, first, as_of),
        first_allotment=first,
        stale=nav_date is None or (as_of - nav_date).days > stale_after_days,
        lots=tuple(lots),
    )


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
    lots_by_scheme: dict[int, list[Instalment]] = {}
    allotters: dict[int, _Allotter] = {}
    for sip in sips:
        if sip.deleted:
            continue
        code = sip.scheme_code
        allotter = allotters.get(code)
        if allotter is None:
            navs = navs_by_scheme.get(code, _EMPTY)
            allotter = _Allotter(navs, as_of, unit_places, unit_rounding, max_roll_days)
            allotters[code] = allotter
            lots_by_scheme[code] = []
        one = allotter.allot
        sip_id = sip.id
        lots_by_scheme[code].extend(
            [one(sip_id, code, due, amount) for due, amount in due_amounts(sip, as_of)]
        )

    outflows: dict[date, Decimal] = {}
    schemes = [
        _summarise_scheme(
            code,
            scheme_names.get(code, ""),
            lots,
            navs_by_scheme.get(code, _EMPTY),
            as_of,
            stale_after_days,
            outflows,
        )
        for code, lots in lots_by_scheme.items()
    ]
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
    firsts = [s.first_allotment for s in schemes if s.first_allotment is not None]
    first = min(firsts) if firsts else None
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
