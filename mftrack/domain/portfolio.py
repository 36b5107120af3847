"""Value SIPs and transactions on a date, by scheme and in total.

Rules (see docs/returns-and-xirr.md):

- Allotment (F1-F3, F5): `mftrack.domain.allotment` prices each instalment (and each
  purchase recorded without units) at its NAV; PENDING and NAV_GAP instalments are left out
  of the totals and warned about.
- A scheme with SIPs only is summed straight from its allotment columns (the fast path: a
  large portfolio has ~180,000 instalments). A scheme with transactions is replayed through
  its ledger (`mftrack.domain.ledger`: confirmed rows replace estimates, FIFO sales, IDCW,
  mergers); both give the same numbers for the same SIPs.
- F10: XIRR over every flow (purchases negative on their allotment date, sales and IDCW
  payouts positive on their trade date) and the value dated on the date of the NAV it was
  valued at (a scheme's latest NAV on or before `as_of`, or `as_of` when it has none), so a
  stale NAV does not stretch the holding period and drag the rate down. The portfolio's value
  is dated on the freshest of the schemes' NAV dates. XIRR is None when the first allotment
  is less than a year before that same date (absolute return is shown).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from itertools import compress, repeat
from operator import attrgetter, is_not, neg
from typing import TYPE_CHECKING

from mftrack.analytics.returns import xirr_by_date
from mftrack.domain.allotment import (
    LATE_ALLOTMENT_DAYS,
    ROW_NAV_GAP,
    ROW_PENDING,
    Instalment,
    InstalmentStatus,
    Lots,
    SchemeBook,
    allot,
)
from mftrack.domain.calendar import month_ends, years_between
from mftrack.domain.money import ZERO, paisa
from mftrack.domain.navs import NavSeries
from mftrack.domain.options import DEFAULT_OPTIONS, ValuationOptions
from mftrack.domain.pricing import NavRule
from mftrack.domain.sips import Sip, instalment_schedule

if TYPE_CHECKING:
    # The ledger and its lots load only when a scheme has transactions (or lots are asked
    # for): a summary of SIPs alone never uses them (~9 ms of start-up, issue 10).
    from mftrack.domain.ledger import SchemeLedger, Step
    from mftrack.domain.lots import SchemeLots
    from mftrack.domain.transactions import Transaction

__all__ = [  # the allotment names are re-exported: callers value SIPs through this module
    "LATE_ALLOTMENT_DAYS", "Instalment", "InstalmentStatus", "Lots", "PortfolioSummary",
    "SchemeSummary", "allot", "summarise", "value_series",
]  # fmt: skip

RATIO_QUANTUM = Decimal("0.000001")  # absolute return as a fraction, 0.0001 % resolution
COST_QUANTUM = Decimal("0.0001")  # average cost per unit, to AMFI's 4 NAV decimals
_EMPTY = NavSeries()
_BY_TRADE_DATE = attrgetter("trade_date")


@dataclass(frozen=True, slots=True)
class SchemeSummary:
    """One scheme's holding from its SIPs and its transactions, valued on `as_of`.

    Without redemptions and IDCW, `invested == paid_in` and the keys mean what they always
    did. In general `realised_gain + gain + idcw == value + withdrawn - paid_in`.
    """

    scheme_code: int
    scheme_name: str
    instalments: int  # allotted: confirmed + estimated
    pending: int  # instalments and estimated purchases whose NAV is not known yet
    nav_gaps: int
    invested: Decimal  # FIFO cost of the units held, gross, stamp duty included (F1)
    stamp_duty: Decimal
    units: Decimal  # held
    average_cost: Decimal | None  # invested / units, None without units
    nav: Decimal | None  # latest NAV on or before as_of
    nav_date: date | None
    value: Decimal  # units x nav, to the paisa
    gain: Decimal  # value - invested: unrealised
    absolute_return: Decimal | None  # gain / invested as a fraction
    xirr: float | None  # every flow, value dated on nav_date; None under a year to it (F10)
    first_allotment: date | None
    stale: bool  # no NAV, or the NAV is more than stale_after_days older than as_of
    lots: Lots  # every instalment (and estimated purchase), by due date
    paid_in: Decimal = ZERO  # every purchase's gross amount (IDCW reinvested is not paid in)
    withdrawn: Decimal = ZERO  # sales' proceeds and IDCW payouts
    realised_gain: Decimal = ZERO  # proceeds minus the FIFO cost of the units sold
    idcw: Decimal = ZERO  # IDCW paid out or reinvested (income, not a capital gain)
    confirmed: int = 0  # instalments a transaction replaced
    estimated: int = 0  # instalments valued from the SIP plan
    missed: int = 0  # instalments with a failed debit
    ledger: SchemeLedger | None = None  # None: valued from SIP plans alone (the fast path)

    @property
    def redeemed(self) -> bool:
        """Held once, nothing held or waiting now (hidden from `summary` unless `--all`)."""
        return not self.units and not self.pending and self.first_allotment is not None


@dataclass(frozen=True, slots=True)
class PortfolioTotal:
    """All schemes together.

    `xirr` is over every flow and the total value, dated on the freshest scheme NAV date
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
    paid_in: Decimal = ZERO
    withdrawn: Decimal = ZERO
    realised_gain: Decimal = ZERO
    idcw: Decimal = ZERO
    confirmed: int = 0
    estimated: int = 0
    missed: int = 0


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
    flows: Mapping[date, Decimal | int], value: Decimal, first: date | None, valued_on: date
) -> float | None:
    """XIRR of `flows` (purchases negative) and `value` dated on `valued_on` (its NAV date).

    Dating a stale value on as_of would stretch the holding period and understate the rate.
    The one-year test below is measured to `valued_on` too, not to as_of.
    """
    # F10: SEBI requires absolute, not annualised, returns for periods under one year.
    if first is None or years_between(first, valued_on) < 1:
        return None
    with_value = dict(flows)
    with_value[valued_on] = with_value.get(valued_on, ZERO) + value
    return xirr_by_date(with_value)


def _valued(
    units: Decimal, invested: Decimal, navs: NavSeries, as_of: date
) -> tuple[date | None, Decimal | None, Decimal, Decimal, Decimal | None]:
    """`(nav_date, nav, value, gain, average_cost)` of `units` that cost `invested`, at the
    latest NAV on or before `as_of`: value to the paisa, gain unrealised (value - cost held)."""
    latest = navs.latest_on_or_before(as_of)
    nav_date, nav = latest if latest is not None else (None, None)
    value = paisa(units * nav) if nav is not None and units else ZERO
    average_cost = (
        (invested / units).quantize(COST_QUANTUM, rounding=ROUND_HALF_UP) if units else None
    )
    return nav_date, nav, value, value - invested, average_cost


def _summarise_scheme(
    code: int, name: str, book: SchemeBook, navs: NavSeries, stale_after_days: int
) -> tuple[SchemeSummary, dict[date, Decimal | int]]:
    """The fast path (SIPs only): the summary and its flows by NAV date (purchases negative)."""
    as_of = book.as_of
    dates = book.dates
    by_index = book.outflows  # by NAV index: keep the dates with a purchase (in C)
    outflows = dict(
        compress(zip(dates, by_index, strict=True), map(is_not, by_index, repeat(None)))
    )
    flows = dict(zip(outflows.keys(), map(neg, outflows.values()), strict=True))  # in C
    first = next(iter(flows), None)  # dates ascend with the NAV index
    units, invested = book.units, book.invested
    nav_date, nav, value, gain, average_cost = _valued(units, invested, navs, as_of)
    pending = book.cols.index.count(ROW_PENDING)
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
        xirr=_xirr_if_a_year(flows, value, first, nav_date or as_of),
        first_allotment=first,
        stale=nav_date is None or (as_of - nav_date).days > stale_after_days,
        lots=Lots(code, book.cols, navs, in_order=book.sips <= 1, lag=book.lag),
        paid_in=invested,
        estimated=book.allotted,
    )
    return summary, flows


def _summarise_ledger(
    code: int,
    name: str,
    book: SchemeBook,
    ledger: SchemeLedger,
    navs: NavSeries,
    stale_after_days: int,
) -> SchemeSummary:
    """A scheme with transactions, from its replayed ledger (`mftrack.domain.ledger`)."""
    as_of = book.as_of
    units, invested = ledger.units, ledger.invested
    nav_date, nav, value, gain, average_cost = _valued(units, invested, navs, as_of)
    return SchemeSummary(
        scheme_code=code,
        scheme_name=name,
        instalments=ledger.confirmed + ledger.estimated,
        pending=ledger.pending,
        nav_gaps=ledger.nav_gaps,
        invested=invested,
        stamp_duty=ledger.stamp_duty,
        units=units,
        average_cost=average_cost,
        nav=nav,
        nav_date=nav_date,
        value=value,
        gain=gain,
        absolute_return=_ratio(gain, invested),
        xirr=_xirr_if_a_year(ledger.flows, value, ledger.first_allotment, nav_date or as_of),
        first_allotment=ledger.first_allotment,
        stale=nav_date is None or (as_of - nav_date).days > stale_after_days,
        lots=Lots(code, book.cols, navs, in_order=book.sips <= 1, lag=book.lag),
        paid_in=ledger.paid_in,
        withdrawn=ledger.withdrawn,
        realised_gain=ledger.realised_gain,
        idcw=ledger.idcw,
        confirmed=ledger.confirmed,
        estimated=ledger.estimated,
        missed=ledger.missed,
        ledger=ledger,
    )


def scheme_lots(scheme: SchemeSummary) -> SchemeLots:
    """The scheme's open lots (oldest first) and realised matches, whichever path valued it.

    On the fast path every allotted instalment is an open, estimated lot (F4), acquired on
    its NAV date at its gross amount (F1).
    """
    from mftrack.domain.lots import Lot, SchemeLots

    if scheme.ledger is not None:
        return SchemeLots(scheme.scheme_code, scheme.ledger.open, scheme.ledger.realised)
    lots = tuple(
        Lot(scheme.scheme_code, lot.nav_date, lot.units, lot.amount, None,
            f"sip:{lot.sip_id}:{lot.due_date.isoformat()}", estimated=True)
        for lot in scheme.lots
        if lot.status is InstalmentStatus.ALLOTTED
        and lot.nav_date is not None and lot.units is not None
    )  # fmt: skip
    return SchemeLots(scheme.scheme_code, lots, ())


# Every warning about missing NAVs names the one command that fixes it (issue 10, flow 1):
# it pulls the latest NAVs and fetches the history gaps of due instalments.
FIX_COMMAND = "mftrack nav update"


def _scheme_warnings(
    s: SchemeSummary, navs: NavSeries, as_of: date, max_roll_days: int
) -> list[str]:
    label = f"{s.scheme_code} {s.scheme_name}".strip()
    if not (s.instalments or s.pending or s.nav_gaps or s.units):
        return []  # nothing due or held on as_of: no NAV is needed, so nothing to warn about
    if not len(navs) and not s.redeemed:
        held = f"its {s.units} units are valued at ₹0" if s.units else ""
        waiting = f"its {s.pending} instalments are pending" if s.pending or not held else ""
        return [
            f"{label}: no NAV history at all; {' and '.join(filter(None, (held, waiting)))} "
            f"(`{FIX_COMMAND}` fetches it)"
        ]
    warnings: list[str] = []
    if s.redeemed:
        pass  # all sold: no NAV values anything (a merged scheme's NAVs just stop)
    elif s.nav_date is None:
        warnings.append(f"{label}: no NAV on or before {as_of} (`{FIX_COMMAND}` fetches it)")
    elif s.stale:
        days = (as_of - s.nav_date).days
        warnings.append(
            f"{label}: latest NAV is from {s.nav_date}, {days} days before {as_of}; "
            f"its value may be out of date (`{FIX_COMMAND}` brings the latest)"
        )
    if s.pending:
        due = s.lots.due_dates(ROW_PENDING)
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
        due = s.lots.due_dates(ROW_NAV_GAP)
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
    transactions: Iterable[Transaction] = (),
    *,
    through_ledger: bool = False,
) -> PortfolioSummary:
    """Value every SIP's instalments and every transaction up to `as_of`, by scheme, with totals.

    Several SIPs on one scheme add up into one `SchemeSummary`. Deleted SIPs and transactions
    are ignored. NAVs dated after `as_of` are never used, so a past `as_of` reproduces that
    day's view. `nav_rules` gives a scheme's NAV rule (liquid and overnight funds:
    PREVIOUS_DAY); a scheme not in it is NEXT_BUSINESS_DAY (`mftrack.domain.pricing`).

    A scheme with transactions is valued through its ledger (`mftrack.domain.ledger`); one
    with SIPs only on a fast path that gives the same numbers. `through_ledger` sends every
    scheme through the ledger (the tests compare the two).
    """
    books: dict[int, SchemeBook] = {}
    sip_rows: dict[int, dict[str, range]] = {}
    rules = nav_rules or {}

    def book_of(code: int) -> SchemeBook:
        book = books.get(code)
        if book is None:
            navs = navs_by_scheme.get(code, _EMPTY)
            rule = rules.get(code, NavRule.NEXT_BUSINESS_DAY)
            book = books[code] = SchemeBook(navs, as_of, options, rule)
            sip_rows[code] = {}
        return book

    for sip in sips:
        if sip.deleted:
            continue
        book = book_of(sip.scheme_code)
        start = len(book.cols.due)
        book.add(sip.id, *instalment_schedule(sip, as_of))
        sip_rows[sip.scheme_code][sip.id] = range(start, len(book.cols.due))

    by_scheme: dict[int, list[Transaction]] = {}
    for t in transactions:
        if not t.deleted and t.trade_date <= as_of:
            by_scheme.setdefault(t.scheme_code, []).append(t)
    for code in by_scheme:
        book_of(code)
    on_ledger = set(books) if through_ledger else set(by_scheme)
    ledgers: dict[int, SchemeLedger] = {}
    if on_ledger:
        from mftrack.domain.ledger import LedgerInput, run_ledgers

        ledgers = run_ledgers({
            code: LedgerInput(
                books[code], navs_by_scheme.get(code, _EMPTY), sip_rows[code],
                sorted(by_scheme.get(code, ()), key=_BY_TRADE_DATE),
                f"{code} {scheme_names.get(code, '')}".strip(),
            )
            for code in on_ledger
        })  # fmt: skip

    schemes: list[SchemeSummary] = []
    flows: dict[date, Decimal | int] = {}
    for code, book in books.items():
        navs = navs_by_scheme.get(code, _EMPTY)
        name = scheme_names.get(code, "")
        ledger = ledgers.get(code)
        if ledger is None:
            scheme, scheme_flows = _summarise_scheme(
                code, name, book, navs, options.stale_after_days
            )
        else:
            scheme = _summarise_ledger(code, name, book, ledger, navs, options.stale_after_days)
            scheme_flows = ledger.flows
        schemes.append(scheme)
        for on, amount in scheme_flows.items():
            flows[on] = flows.get(on, 0) + amount  # int 0: whole rupees stay ints (_price)
    schemes.sort(key=lambda s: (s.scheme_name.casefold(), s.scheme_code))
    warnings = [
        warning
        for s in schemes
        for warning in (
            *_scheme_warnings(
                s, navs_by_scheme.get(s.scheme_code, _EMPTY), as_of, options.max_roll_days
            ),
            *(s.ledger.warnings if s.ledger is not None else ()),
        )
    ]
    total = _total(schemes, flows, as_of)
    return PortfolioSummary(as_of, tuple(schemes), total, tuple(warnings))


def _total(
    schemes: list[SchemeSummary], flows: Mapping[date, Decimal | int], as_of: date
) -> PortfolioTotal:
    invested = sum((s.invested for s in schemes), ZERO)
    value = sum((s.value for s in schemes), ZERO)
    first = min((s.first_allotment for s in schemes if s.first_allotment), default=None)
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
        xirr=_xirr_if_a_year(flows, value, first, valued_on),
        first_allotment=first,
        paid_in=sum((s.paid_in for s in schemes), ZERO),
        withdrawn=sum((s.withdrawn for s in schemes), ZERO),
        realised_gain=sum((s.realised_gain for s in schemes), ZERO),
        idcw=sum((s.idcw for s in schemes), ZERO),
        confirmed=sum(s.confirmed for s in schemes),
        estimated=sum(s.estimated for s in schemes),
        missed=sum(s.missed for s in schemes),
    )


def holding_steps(scheme: SchemeSummary, navs: NavSeries) -> tuple[Step, ...]:
    """Every change of the scheme's units and cost held, by date (`navs`: the summary's)."""
    from mftrack.domain.ledger import Step

    if scheme.ledger is not None:
        return scheme.ledger.steps
    dates = navs.dates
    return tuple(
        Step(dates[i], amount, units)
        for i, (amount, units) in sorted(scheme.lots.allotted_by_nav_index().items())
    )


@dataclass(frozen=True, slots=True)
class ValuePoint:
    """The cost of the units held on `on` (gross, F1) and the holding's value on `on`."""

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
    """Return month-end value vs cost held from the first allotment to `as_of`.

    Built from the summary's lots with the same rounding, so the last point equals the
    summary's invested (the cost of the units held) and value exactly. A lot counts from its
    NAV date and a sale from its trade date; each point uses the latest NAV on or before it.
    `dates` replaces the default points (those after `as_of` are dropped). `navs_by_scheme`
    must be the mapping the summary was made with.
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
        steps = holding_steps(scheme, navs)
        k, units, invested = 0, ZERO, ZERO
        series: list[ValuePoint] = []
        for n, point in enumerate(points):
            known = bisect_right(nav_dates, point)  # NAVs dated on or before the point
            while k < len(steps) and steps[k].on <= point:
                invested += steps[k].cost
                units += steps[k].units
                k += 1
            value = paisa(units * nav_values[known - 1]) if units and known else ZERO
            series.append(ValuePoint(point, invested, value))
            total_invested[n] += invested
            total_value[n] += value
        by_scheme[scheme.scheme_code] = tuple(series)
    total = tuple(map(ValuePoint, points, total_invested, total_value))
    return ValueSeries(as_of, total, by_scheme)
