"""The data behind `mftrack chart` and `mftrack report`, assembled from the store.

Every picture starts from one `portfolio_summary` and its `summary_as_dict` (the object
`summary --json` prints) plus the domain's `value_series`, so a chart can never disagree with
the summary. The value history may instead come from the `valuations` table the daemon fills,
but only when it has a row for every point asked for and its last row equals the fresh
summary to the paisa; otherwise it is computed (a stale table is simply ignored).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

from mftrack.analytics.timeseries import Candle, Period, Share, allocation, ohlc
from mftrack.domain.options import DEFAULT_OPTIONS, ValuationOptions
from mftrack.domain.portfolio import (
    InstalmentStatus,
    PortfolioSummary,
    SchemeSummary,
    ValuePoint,
    valuation_dates,
    value_series,
)
from mftrack.errors import NotFoundError

if TYPE_CHECKING:
    from mftrack.adapters.sqlite.store import LocalStore
    from mftrack.domain.navs import NavSeries

TOTAL = 0  # the `valuations` table's scheme_code for the whole portfolio
UNKNOWN_CATEGORY = "Unknown category"
UNKNOWN_FUND_HOUSE = "Unknown fund house"
EMPTY_HINT = (
    "add a SIP (`mftrack add-sip SCHEME --amount 5000 --start YYYY-MM-DD`) "
    "or try `mftrack demo`"
)


@dataclass(frozen=True, slots=True)
class PortfolioView:
    """One valuation of the portfolio: the numbers every chart and the report show."""

    summary: PortfolioSummary
    navs: Mapping[int, NavSeries]
    data: dict[str, Any]  # summary_as_dict(summary): exactly what `summary --json` prints

    @property
    def is_empty(self) -> bool:
        return not self.summary.schemes

    def scheme(self, scheme_code: int) -> SchemeSummary | None:
        return next((s for s in self.summary.schemes if s.scheme_code == scheme_code), None)


def load_portfolio(
    *,
    store: LocalStore,
    as_of: date,
    options: ValuationOptions = DEFAULT_OPTIONS,
    scheme_codes: set[int] | None = None,
) -> PortfolioView:
    """Value the SIPs on `as_of` once, the way `mftrack summary` does."""
    from mftrack.services.portfolio import portfolio_summary, summary_as_dict

    summary, navs = portfolio_summary(
        store=store,
        as_of=as_of,
        options=options,
        scheme_codes=scheme_codes,
    )
    from mftrack.services.realised import realised_gains_by_fy

    data = summary_as_dict(summary)
    data["realised_gains_by_fy"] = realised_gains_by_fy(store, summary)  # as summary --json
    return PortfolioView(summary, navs, data)


# --- value against invested ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ValueHistory:
    """Month-end value and cost held (after redemptions), ending with the summary's as_of."""

    points: tuple[ValuePoint, ...]
    source: Literal["computed", "stored"]


def value_history(
    *,
    store: LocalStore,
    view: PortfolioView,
    scheme_code: int = TOTAL,
    since: date | None = None,
    use_stored: bool = True,
) -> ValueHistory:
    """Value vs cost held for the portfolio (`TOTAL`) or one scheme, from `since` on.

    Points start at the first allotment's month end; after a full redemption both are 0.
    """
    if scheme_code == TOTAL:
        first = view.summary.total.first_allotment
        last = (view.summary.total.invested, view.summary.total.value)
    else:
        scheme = view.scheme(scheme_code)
        if scheme is None:
            raise NotFoundError(
                f"scheme {scheme_code} is not in your portfolio",
                hint="`mftrack summary` lists the schemes you hold",
            )
        first = scheme.first_allotment
        last = (scheme.invested, scheme.value)
    if first is None:
        return ValueHistory((), "computed")
    as_of = view.summary.as_of
    dates = [d for d in valuation_dates(first, as_of) if since is None or d >= since]
    if use_stored and dates:
        stored = _stored_points(store, scheme_code, dates, last)
        if stored is not None:
            return ValueHistory(stored, "stored")
    series = value_series(view.summary, view.navs, dates=dates)
    points = series.total if scheme_code == TOTAL else series.by_scheme[scheme_code]
    return ValueHistory(tuple(points), "computed")  # every point is on or after `first`


def _stored_points(
    store: LocalStore, scheme_code: int, dates: list[date], last: tuple[Decimal, Decimal]
) -> tuple[ValuePoint, ...] | None:
    """The daemon's rows for exactly `dates`, or None when any is missing or out of date."""
    rows = read_valuations(store, scheme_code, dates[0], dates[-1])
    if any(d not in rows for d in dates):
        return None
    if rows[dates[-1]] != last:  # SIPs or NAVs changed since the daemon ran
        return None
    return tuple(ValuePoint(d, *rows[d]) for d in dates)


def read_valuations(
    store: LocalStore, scheme_code: int, start: date, end: date
) -> dict[date, tuple[Decimal, Decimal]]:
    """`{valuation_date: (invested, value)}` from the `valuations` table, in [start, end].

    """
    from mftrack.adapters.sqlite.daemon_tables import valuations_of

    return {
        day: (invested, value)
        for day, _, invested, _, value in valuations_of(store, scheme_code, start=start, end=end)
    }


# --- allocation ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AllocationView:
    """Current value split three ways; every slice adds up to the summary's total value."""

    by_scheme: list[Share]
    by_category: list[Share]
    by_fund_house: list[Share]


def allocation_view(*, store: LocalStore, view: PortfolioView) -> AllocationView:
    """Group the summary's per-scheme values by scheme, AMFI category and fund house."""
    rows = view.data["schemes"]
    details = store.get_schemes(row["scheme_code"] for row in rows)
    by_scheme, by_category, by_house = [], [], []
    for row in rows:
        value = Decimal(row["value"])
        info = details[row["scheme_code"]].info if row["scheme_code"] in details else None
        by_scheme.append((row["scheme_name"], value))
        by_category.append(((info and info.category) or UNKNOWN_CATEGORY, value))
        by_house.append(((info and info.fund_house) or UNKNOWN_FUND_HOUSE, value))
    return AllocationView(allocation(by_scheme), allocation(by_category), allocation(by_house))


# --- one scheme's NAVs -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NavPicture:
    """A scheme's NAV history and the user's allotments on it (NAV date, NAV)."""

    scheme_code: int
    name: str
    navs: list[tuple[date, Decimal]]
    purchases: list[tuple[date, Decimal]]
    average_cost: Decimal | None  # invested / units on as_of, None when not held

    @property
    def held(self) -> bool:
        return bool(self.purchases)


def nav_picture(
    *, store: LocalStore, view: PortfolioView, scheme_code: int, name: str,
    since: date | None = None,
) -> NavPicture:
    """NAVs up to the view's as_of, from `since` or else the month of the first allotment."""
    scheme = view.scheme(scheme_code)
    bought: list[tuple[date, Decimal]] = []
    if scheme is not None:
        bought = sorted(
            {
                (lot.nav_date, lot.nav)
                for lot in scheme.lots
                if lot.status in (InstalmentStatus.ALLOTTED, InstalmentStatus.CONFIRMED)
                and lot.nav_date is not None
                and lot.nav is not None
            }
        )
    start = since if since is not None else (bought[0][0].replace(day=1) if bought else None)
    navs = store.nav_history(scheme_code, start=start, end=view.summary.as_of)
    shown = [p for p in bought if start is None or p[0] >= start]
    cost = scheme.average_cost if scheme is not None else None
    return NavPicture(scheme_code, name, navs, shown, cost)


def candles(
    *,
    store: LocalStore,
    scheme_code: int,
    as_of: date,
    period: Period,
    since: date | None = None,
    limit: int | None = None,
) -> list[Candle]:
    """OHLC candles of a scheme's NAVs up to `as_of`; with `limit`, only the latest ones."""
    result = ohlc(store.nav_history(scheme_code, start=since, end=as_of), period)
    return result[-limit:] if limit else result


# --- the report ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TaxYear:
    """The report's capital-gains section: the financial year of the report's date, in the
    shapes `mftrack gains --fy FY --json` and `mftrack harvest --as-of DAY --json` print."""

    fy: str
    gains: dict[str, Any] | None  # that FY's entry of `gains --json`; None: nothing sold
    harvest: dict[str, Any]  # `harvest --json` on the report's date

    @property
    def quiet(self) -> bool:
        """Nothing sold this year and nothing to harvest: the section is one line."""
        return self.gains is None and not self.harvest["redeem"]


def tax_year(
    *, store: LocalStore, as_of: date, options: ValuationOptions = DEFAULT_OPTIONS
) -> TaxYear:
    """This FY's realised gains and harvest plan, from services.gains (no rule applied here).

    Imported here, not at the top: the tax rules cost ~50 ms and only the report needs them.
    """
    from mftrack.domain.tax.dates import fy_label, fy_start_year
    from mftrack.services.gains import fy_as_dict, gains_report, harvest_as_dict, harvest_report

    label = fy_label(fy_start_year(as_of))
    gains = gains_report(store, as_of, options)
    year = gains.years.get(label)
    return TaxYear(
        label,
        None if year is None else fy_as_dict(year, gains.schemes, detail=False),
        harvest_as_dict(harvest_report(store, as_of, options, gains=gains)),
    )


@dataclass(frozen=True, slots=True)
class ReportData:
    """Everything on the one-page report."""

    view: PortfolioView
    history: ValueHistory
    allocation: AllocationView
    tax: TaxYear


def report_data(
    *, store: LocalStore, view: PortfolioView, options: ValuationOptions = DEFAULT_OPTIONS
) -> ReportData:
    return ReportData(
        view,
        value_history(store=store, view=view),
        allocation_view(store=store, view=view),
        tax_year(store=store, as_of=view.summary.as_of, options=options),
    )
