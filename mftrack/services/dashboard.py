"""The data behind the browser dashboard (`mftrack serve`) and `mftrack report --html`.

Everything is assembled by `services/pictures.py` from one `load_portfolio` (whose `data` is
exactly what `summary --json` prints), so the page, the terminal charts, the PNG report and
`summary` can never disagree. The result is JSON-ready: Decimals as strings (the page parses
them only to draw), dates ISO, shares as fractions.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from mftrack.analytics.timeseries import ohlc
from mftrack.services.pictures import (
    PortfolioView,
    allocation_view,
    load_portfolio,
    nav_picture,
    value_history,
)

if TYPE_CHECKING:
    from mftrack.adapters.sqlite.store import LocalStore
    from mftrack.analytics.timeseries import Candle, Share
    from mftrack.domain.options import ValuationOptions
    from mftrack.domain.portfolio import ValuePoint

WEEKLY_CANDLES = 52  # a year of weeks
MONTHLY_CANDLES = 60  # five years of months


def _text(value: Any) -> str | None:
    return None if value is None else format(value, "f")


def points_as_list(points: tuple[ValuePoint, ...]) -> list[dict[str, Any]]:
    return [
        {"date": p.on.isoformat(), "invested": _text(p.invested), "value": _text(p.value)}
        for p in points
    ]


def shares_as_list(shares: list[Share]) -> list[dict[str, Any]]:
    return [
        {"label": s.label, "value": _text(s.value), "share": round(s.fraction, 6)} for s in shares
    ]


def candles_as_list(items: list[Candle]) -> list[dict[str, Any]]:
    return [
        {"start": c.start.isoformat(), "open": _text(c.open), "high": _text(c.high),
         "low": _text(c.low), "close": _text(c.close), "count": c.count}
        for c in items
    ]


def candle_window_start(as_of: date) -> date:
    """The first day whose NAV can open one of the candles shown: the 1st of the month
    MONTHLY_CANDLES - 1 months before as_of (52 ISO weeks always fit inside)."""
    months = as_of.year * 12 + as_of.month - 1 - (MONTHLY_CANDLES - 1)
    return date(months // 12, months % 12 + 1, 1)


def nav_chart(
    *, store: LocalStore, view: PortfolioView, scheme_code: int, name: str,
    since: date | None = None,
) -> dict[str, Any]:
    """One scheme's daily NAVs (from the month of the first allotment), the user's allotments,
    the average cost, and weekly and monthly candles up to the view's as_of."""
    picture = nav_picture(store=store, view=view, scheme_code=scheme_code, name=name,
                          since=since)
    as_of = view.summary.as_of
    window = candle_window_start(as_of)
    # Candles need only the last five years: reuse the NAVs just read when they reach back
    # that far, else read that window once (not the scheme's whole history, twice).
    if picture.navs and picture.navs[0][0] <= window:
        recent = [p for p in picture.navs if p[0] >= window]
    else:
        recent = store.nav_history(scheme_code, start=window, end=as_of)
    return {
        "scheme_code": scheme_code,
        "name": name,
        "navs": [[d.isoformat(), _text(n)] for d, n in picture.navs],
        "purchases": [[d.isoformat(), _text(n)] for d, n in picture.purchases],
        "average_cost": _text(picture.average_cost),
        "weekly": candles_as_list(ohlc(recent, "week")[-WEEKLY_CANDLES:]),
        "monthly": candles_as_list(ohlc(recent, "month")[-MONTHLY_CANDLES:]),
    }


def dashboard_data(
    *, store: LocalStore, as_of: date, valuation: ValuationOptions
) -> dict[str, Any]:
    """Every number the dashboard shows, valued once on `as_of`.

    `valuation` is `services.portfolio.valuation_options(settings)`.
    """
    view = load_portfolio(store=store, as_of=as_of, options=valuation)
    return dashboard_of(store=store, view=view)


def dashboard_of(*, store: LocalStore, view: PortfolioView) -> dict[str, Any]:
    """The dashboard's data for a portfolio already valued (`load_portfolio`)."""
    shares = allocation_view(store=store, view=view)
    return {
        "as_of": view.summary.as_of.isoformat(),
        "summary": view.data,
        "value_history": points_as_list(value_history(store=store, view=view).points),
        "allocation": {
            "scheme": shares_as_list(shares.by_scheme),
            "category": shares_as_list(shares.by_category),
            "fund_house": shares_as_list(shares.by_fund_house),
        },
        "navs": [
            nav_chart(store=store, view=view, scheme_code=row["scheme_code"],
                      name=row["scheme_name"])
            for row in view.data["schemes"]
        ],
    }
