"""`mftrack chart`: value, NAV, OHLC and allocation charts in the terminal (plotext).

The chart goes to stdout, sized to the terminal; messages go to stderr. With no data to draw
there is a one-line message and a hint instead of an empty frame (exit 0); a scheme that does
not exist is an error (exit 3).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import TYPE_CHECKING, Literal

import typer

from mftrack.cli.params import VERBOSE_HELP, parse_as_of, parse_date
from mftrack.cli.runtime import Runtime
from mftrack.errors import InvalidInputError

if TYPE_CHECKING:
    from mftrack.services.pictures import PortfolioView

app = typer.Typer(
    name="chart",
    help="Charts in the terminal: value vs invested, NAV history, OHLC candles, allocation.",
    no_args_is_help=True,
)

SINCE_HELP = "Start the chart on this date (YYYY-MM-DD)."
AS_OF_HELP = "Value the portfolio as of this date (YYYY-MM-DD). Default: today."
ByChoice = Literal["all", "scheme", "category", "fund-house"]


def _size(runtime: Runtime) -> tuple[int, int]:
    """The terminal's width, and its height less room for the prompt, kept within 20-25."""
    out = runtime.out
    return out.width, min(25, max(20, out.height - 4))


def _color(runtime: Runtime) -> bool:
    out = runtime.out
    return out.is_terminal and not out.no_color and not out.is_dumb_terminal


def _dates(runtime: Runtime, since: str | None, as_of: str | None) -> tuple[date | None, date]:
    start = parse_date(since, option="--since")
    day = parse_as_of(as_of, today=runtime.today())
    if start is not None and start > day:
        raise InvalidInputError(f"--since {start} is after --as-of {day}")
    return start, day


def _view(runtime: Runtime, day: date, scheme_codes: set[int] | None = None) -> PortfolioView:
    from mftrack.services.pictures import load_portfolio
    from mftrack.services.portfolio import valuation_options

    settings = runtime.settings
    view = load_portfolio(
        store=runtime.store,
        as_of=day,
        options=valuation_options(settings),
        scheme_codes=scheme_codes,
    )
    runtime.warn_valuation(view.summary)
    return view


def _nothing(runtime: Runtime, message: str, hint: str) -> None:
    runtime.info(f"{message}\nHint: {hint}")


def _scheme(runtime: Runtime, query: str) -> tuple[int, str]:
    from mftrack.render.charts import short_scheme_names
    from mftrack.services.schemes import resolve_scheme

    scheme = resolve_scheme(runtime.store, query)
    return scheme.scheme_code, short_scheme_names([scheme.display_name], 60)[0]


@app.command("value")
def value(
    ctx: typer.Context,
    scheme: str | None = typer.Option(
        None, "--scheme", help="One scheme (code, ISIN or name) instead of the whole portfolio."
    ),
    since: str | None = typer.Option(None, "--since", help=SINCE_HELP),
    as_of: str | None = typer.Option(None, "--as-of", help=AS_OF_HELP),
    verbose: bool = typer.Option(False, "--verbose", "-v", help=VERBOSE_HELP),
) -> None:
    """Portfolio value against the amount invested, month by month.

    The last point is the valuation `mftrack summary` shows for the same --as-of.
    """
    from mftrack.render.charts import value_caption, value_chart
    from mftrack.services.pictures import EMPTY_HINT, TOTAL, value_history

    runtime: Runtime = ctx.obj
    runtime.verbose = runtime.verbose or verbose
    start, day = _dates(runtime, since, as_of)
    code, name = _scheme(runtime, scheme) if scheme else (TOTAL, "Portfolio")
    view = _view(runtime, day)
    if view.is_empty:
        _nothing(runtime, "No SIPs yet, so there is nothing to chart.", EMPTY_HINT)
        return
    history = value_history(store=runtime.store, view=view, scheme_code=code, since=start)
    if not history.points:
        _nothing(runtime, f"No instalment allotted by {day}" + (f" since {start}" if start else ""),
                 "pick an earlier --since or a later --as-of")
        return
    width, height = _size(runtime)
    title = f"{name}: value vs invested, month ends to {day}"
    chart = value_chart(history.points, title=title, width=width, height=height,
                        color=_color(runtime))
    runtime.write_data(chart + value_caption(history.points[-1]))


@app.command("nav")
def nav(
    ctx: typer.Context,
    scheme: str = typer.Argument(..., help="Scheme code, ISIN or name phrase."),
    since: str | None = typer.Option(
        None, "--since", help=SINCE_HELP + " Default: your first instalment, else all history."
    ),
    as_of: str | None = typer.Option(None, "--as-of", help="Last date shown. Default: today."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help=VERBOSE_HELP),
) -> None:
    """A scheme's NAV history, with your instalments marked x at their allotment NAV."""
    from mftrack.render.charts import nav_chart
    from mftrack.services.pictures import nav_picture

    runtime: Runtime = ctx.obj
    runtime.verbose = runtime.verbose or verbose
    start, day = _dates(runtime, since, as_of)
    code, name = _scheme(runtime, scheme)
    view = _view(runtime, day, {code})
    picture = nav_picture(store=runtime.store, view=view, scheme_code=code, name=name,
                          since=start)
    if len(picture.navs) < 2:
        _nothing(runtime, f"Not enough NAVs of {code} {name} to draw up to {day}.",
                 f"`mftrack nav history {code}` downloads them")
        return
    width, height = _size(runtime)
    span = f"{picture.navs[0][0]} to {picture.navs[-1][0]}"
    title = f"{name} ({code}): NAV, {span}"
    runtime.write_data(nav_chart(picture, title=title, width=width, height=height,
                                 color=_color(runtime)))


@app.command("ohlc")
def ohlc(
    ctx: typer.Context,
    scheme: str = typer.Argument(..., help="Scheme code, ISIN or name phrase."),
    weekly: bool = typer.Option(False, "--weekly", help="ISO weeks instead of calendar months."),
    since: str | None = typer.Option(
        None, "--since", help=SINCE_HELP + " Default: as many recent periods as fit the width."
    ),
    as_of: str | None = typer.Option(None, "--as-of", help="Last date shown. Default: today."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help=VERBOSE_HELP),
) -> None:
    """Monthly (or weekly) open, high, low and close of a scheme's daily NAVs.

    Open is the period's first NAV, close its last, high and low the largest and smallest.
    """
    from mftrack.render.charts import ohlc_chart
    from mftrack.services.pictures import candles

    runtime: Runtime = ctx.obj
    runtime.verbose = runtime.verbose or verbose
    start, day = _dates(runtime, since, as_of)
    code, name = _scheme(runtime, scheme)
    width, height = _size(runtime)
    period: Literal["month", "week"] = "week" if weekly else "month"
    found = candles(store=runtime.store, scheme_code=code, as_of=day, period=period,
                    since=start, limit=None if start else max(6, (width - 12) // 3))
    if not found:
        _nothing(runtime, f"No NAVs of {code} {name} to draw up to {day}.",
                 f"`mftrack nav history {code}` downloads them")
        return
    kind = "weekly" if weekly else "monthly"
    title = f"{name} ({code}): {kind} NAV candles, {found[0].first} to {found[-1].last}"
    runtime.write_data(ohlc_chart(found, title=title, width=width, height=height,
                                  color=_color(runtime)))


@app.command("allocation")
def allocation(
    ctx: typer.Context,
    by: ByChoice = typer.Option("all", "--by", help="scheme, category, fund-house, or all three."),
    as_of: str | None = typer.Option(None, "--as-of", help=AS_OF_HELP),
    verbose: bool = typer.Option(False, "--verbose", "-v", help=VERBOSE_HELP),
) -> None:
    """Current value by scheme, by AMFI category and by fund house, as bar charts."""
    from mftrack.render.charts import allocation_chart, category_label, short_scheme_names
    from mftrack.render.formatting import rupees
    from mftrack.services.pictures import EMPTY_HINT, allocation_view

    runtime: Runtime = ctx.obj
    runtime.verbose = runtime.verbose or verbose
    _, day = _dates(runtime, None, as_of)
    view = _view(runtime, day)
    if view.is_empty:
        _nothing(runtime, "No SIPs yet, so there is nothing to chart.", EMPTY_HINT)
        return
    groups = allocation_view(store=runtime.store, view=view)
    if not groups.by_scheme:
        _nothing(runtime, f"No units allotted by {day}: every instalment is still pending.",
                 "`mftrack nav pull` brings the latest NAVs, or pick a later --as-of")
        return
    width, _ = _size(runtime)
    label_width = max(12, min(40, width // 3))
    names = dict(zip([s.label for s in groups.by_scheme],
                     short_scheme_names([s.label for s in groups.by_scheme], label_width),
                     strict=True))
    sections = {
        "scheme": ("By scheme", [replace(s, label=names[s.label]) for s in groups.by_scheme]),
        "category": ("By category",
                     [replace(s, label=category_label(s.label)) for s in groups.by_category]),
        "fund-house": ("By fund house", groups.by_fund_house),
    }
    total = rupees(view.summary.total.value)
    charts = [
        allocation_chart(shares, title=f"{heading}: value on {day}, total {total}",
                         width=width, color=_color(runtime), label_width=label_width)
        for key, (heading, shares) in sections.items()
        if by in ("all", key)
    ]
    runtime.write_data("\n".join(charts))
