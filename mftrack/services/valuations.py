"""The daily valuation series, precomputed into the `valuations` table after each NAV update.

One row per calendar day and scheme from the scheme's first allotment to `as_of`, plus
scheme_code 0 for the whole portfolio. Rows are built from the same summary as
`mftrack summary` (`value_series` over its lots), so the last total row equals
`summary --json`'s totals. Units of different schemes do not add up, so the total row's units
are "0". Decimals are stored as text.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from mftrack.domain.money import ZERO
from mftrack.domain.navs import NavSeries
from mftrack.domain.options import DEFAULT_OPTIONS, ValuationOptions
from mftrack.domain.portfolio import PortfolioSummary, holding_steps, value_series
from mftrack.services.portfolio import portfolio_summary

if TYPE_CHECKING:
    from mftrack.adapters.sqlite.store import LocalStore

TOTAL = 0  # scheme_code of the whole-portfolio rows


@dataclass(frozen=True, slots=True)
class ValuationRow:
    valuation_date: date
    scheme_code: int
    invested: Decimal
    units: Decimal
    value: Decimal


@dataclass(frozen=True, slots=True)
class ValuationReport:
    as_of: date
    first_date: date | None
    rows: int


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def _units_by_day(
    summary: PortfolioSummary, navs: Mapping[int, NavSeries], days: list[date]
) -> dict[int, list[Decimal]]:
    """Units held per scheme on each day (a lot counts from its NAV date, a sale from its
    trade date)."""
    result: dict[int, list[Decimal]] = {}
    for scheme in summary.schemes:
        steps = holding_steps(scheme, navs.get(scheme.scheme_code, NavSeries()))
        k, units, column = 0, ZERO, []
        for day in days:
            while k < len(steps) and steps[k].on <= day:
                units += steps[k].units
                k += 1
            column.append(units)
        result[scheme.scheme_code] = column
    return result


def valuation_rows(summary: PortfolioSummary, navs: Mapping[int, NavSeries]) -> list[ValuationRow]:
    """Daily rows from the first allotment to the summary's as_of (empty without allotments)."""
    first = summary.total.first_allotment
    if first is None:
        return []
    days = _days(first, summary.as_of)
    series = value_series(summary, navs, dates=days)
    units = _units_by_day(summary, navs, days)
    rows: list[ValuationRow] = []
    for code, points in series.by_scheme.items():
        for point, held in zip(points, units[code], strict=True):
            if point.invested or held:
                rows.append(ValuationRow(point.on, code, point.invested, held, point.value))
    rows.extend(ValuationRow(p.on, TOTAL, p.invested, ZERO, p.value) for p in series.total)
    return rows


def save_valuations(store: LocalStore, rows: list[ValuationRow]) -> None:
    """Replace the whole stored series (a history fetch can change past days)."""
    from mftrack.adapters.sqlite.daemon_tables import replace_valuations

    replace_valuations(
        store, [(r.valuation_date, r.scheme_code, r.invested, r.units, r.value) for r in rows]
    )


def refresh_valuations(
    *,
    store: LocalStore,
    as_of: date,
    options: ValuationOptions = DEFAULT_OPTIONS,
    computed: tuple[PortfolioSummary, Mapping[int, NavSeries]] | None = None,
) -> ValuationReport:
    """Recompute the series up to `as_of` and store it; `computed` reuses a summary (and its
    NAVs) the caller already made for the same `as_of` and settings."""
    if computed is None:
        computed = portfolio_summary(store=store, as_of=as_of, options=options)
    summary, navs = computed
    rows = valuation_rows(summary, navs)
    save_valuations(store, rows)
    return ValuationReport(
        as_of=as_of, first_date=rows[0].valuation_date if rows else None, rows=len(rows)
    )


def read_valuations(store: LocalStore, *, scheme_code: int = TOTAL) -> list[ValuationRow]:
    """The stored series of one scheme (0: the portfolio), oldest first."""
    from mftrack.adapters.sqlite.daemon_tables import valuations_of

    return [ValuationRow(*row) for row in valuations_of(store, scheme_code)]
