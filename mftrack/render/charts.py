"""Terminal charts drawn with plotext, returned as text sized to the terminal.

plotext is imported inside the functions (it is slow to import and `--help` must stay fast).
Colour is optional: without it (NO_COLOR, or output not a terminal) the lines differ by marker
and the candles use the OHLC style, whose ticks show open (left) and close (right).
The axis helpers (`nice_ticks`, `compact_rupees`, `short_scheme_names`) serve the PNG report too.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING, Any

from mftrack.render.formatting import CRORE, LAKH, group_indian, percent, rupees, rupees_short

if TYPE_CHECKING:
    from mftrack.analytics.timeseries import Candle, Share
    from mftrack.domain.portfolio import ValuePoint
    from mftrack.services.pictures import NavPicture

MIN_WIDTH = 40
_BAR_MARKERS = ["full", "▒"]
# Plan/option words that say nothing to a reader of a chart; "Regular" and "IDCW" stay, as
# they tell two holdings of one fund apart.
_BOILERPLATE = re.compile(
    r"\b(direct\s+plan|direct|growth\s+option|growth\s+plan|growth|plan|option)\b", re.I
)


# --- labels and ticks (shared with the PNG report) -------------------------------------------


def compact_rupees(amount: float) -> str:
    """An axis label: ₹1.5 Cr, ₹12 L, ₹50,000 (Indian units, no needless decimals)."""
    sign = "-" if amount < 0 else ""
    magnitude = abs(amount)
    if magnitude >= float(CRORE):
        return f"{sign}₹{_trim(magnitude / float(CRORE))} Cr"
    if magnitude >= float(LAKH):
        return f"{sign}₹{_trim(magnitude / float(LAKH))} L"
    return f"{sign}₹{group_indian(round(magnitude))}"


def _trim(number: float) -> str:
    return f"{number:.2f}".rstrip("0").rstrip(".")


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values (steps of 1, 2, 2.5 or 5 x 10^k) from at or below `low` to at or
    above `high`, with about `count` of them inside [low, high]."""
    if not math.isfinite(low) or not math.isfinite(high):
        return []
    if high <= low:
        high = low + (abs(low) or 1.0)
    power = 10 ** math.floor(math.log10((high - low) / max(1, count - 1)))

    def inside(step: float) -> int:
        return math.floor(high / step + 1e-9) - math.ceil(low / step - 1e-9) + 1

    steps = [m * power for m in (0.5, 1, 2, 2.5, 5, 10, 20)]
    step = min(steps, key=lambda s: (abs(inside(s) - count), -s))
    value = math.floor(low / step + 1e-9) * step
    ticks = [round(value, 10)]
    while ticks[-1] < high - step * 1e-9:
        value += step
        ticks.append(round(value, 10))
    return ticks


def date_ticks(first: date, last: date, slots: int) -> list[tuple[date, str]]:
    """Year starts (or month starts for short spans) between `first` and `last`, at most
    `slots` of them, labelled 2019 or Jan 2025."""
    slots = max(2, slots)
    years = last.year - first.year
    if years >= 2:
        for step in (1, 2, 5, 10, 20):
            marks = [date(y, 1, 1) for y in range(first.year + 1, last.year + 1) if y % step == 0]
            if len(marks) <= slots:
                return [(d, str(d.year)) for d in marks]
    months = [
        date(y, m, 1)
        for y in range(first.year, last.year + 1)
        for m in range(1, 13)
        if first < date(y, m, 1) <= last
    ]
    for step in (1, 2, 3, 6, 12):
        marks = [d for d in months if (d.month - 1) % step == 0]
        if len(marks) <= slots:
            return [(d, d.strftime("%b %Y")) for d in marks]
    return [(first, first.isoformat()), (last, last.isoformat())]


def short_scheme_names(names: Sequence[str], width: int = 40) -> list[str]:
    """Scheme names without plan/option boilerplate, at most `width` characters.

    "Axis ELSS Tax Saver Fund - Direct Plan - Growth Option" -> "Axis ELSS Tax Saver Fund".
    Names that would become equal keep their full text (then truncated).
    """
    shortened = []
    for name in names:
        head, *rest = [part.strip() for part in name.split(" - ")]
        extras = [" ".join(_BOILERPLATE.sub(" ", part).replace("-", " ").split()) for part in rest]
        shortened.append(" · ".join([head, *[e for e in extras if e]]))
    clashes = {s for s in shortened if shortened.count(s) > 1}
    chosen = [
        full if short in clashes else short
        for full, short in zip(names, shortened, strict=True)
    ]
    return [truncate(text, width) for text in chosen]


def truncate(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(1, width - 1)].rstrip() + "…"


def category_label(category: str) -> str:
    """AMFI's "Equity Scheme - Mid Cap Fund" -> "Mid Cap Fund (Equity)"."""
    kind, sep, rest = category.partition(" Scheme - ")
    return f"{rest} ({kind})" if sep and rest else category


# --- plotext ---------------------------------------------------------------------------------


def _figure(width: int, height: int, color: bool) -> Any:
    import plotext as plt

    plt.terminal.limit(False, False)  # the size is ours to choose (stdout may be a pipe)
    fig = plt.figure
    fig.clear()
    fig.plot_size(max(MIN_WIDTH, width), max(8, height))
    fig.theme("simple" if color else "colorless")
    return fig


def _render(fig: Any, color: bool) -> str:
    import contextlib
    import io

    # plotext writes notes such as "values too close together" to stderr while building; the
    # chart is still right (a flat line), so they are kept out of the user's terminal.
    with contextlib.redirect_stderr(io.StringIO()):
        text = str(fig.build().string(colorless=not color))
    return text.rstrip("\n") + "\n"


def _x_dates(fig: Any, first: date, last: date, width: int) -> None:
    ticks = date_ticks(first, last, width // 10)
    if ticks:
        fig.ruler("x").ticks([d.toordinal() for d, _ in ticks], [label for _, label in ticks])
    pad = max(1, (last - first).days // 100)
    fig.ruler("x").lim(first.toordinal() - pad, last.toordinal() + pad)


def _y_values(fig: Any, low: float, high: float, label: Any = compact_rupees) -> None:
    """Round ticks inside the data's range, and limits a little beyond it."""
    pad = (high - low) * 0.04 or abs(high) * 0.04 or 1.0
    ticks = [t for t in nice_ticks(low, high) if low - pad <= t <= high + pad]
    fig.ruler("y").ticks(ticks, [label(t) for t in ticks])
    lower = low if low == 0 else low - pad  # amounts start at ₹0; NAVs float
    fig.ruler("y").lim(min([lower, *ticks]), high + pad)


def value_chart(
    points: Sequence[ValuePoint], *, title: str, width: int, height: int, color: bool
) -> str:
    """Month-end value and amount invested, rupee axis in lakh/crore."""
    fig = _figure(width, height, color)
    xs = [p.on.toordinal() for p in points]
    value = fig.signal(xs, [float(p.value) for p in points], marker="hd")
    value.label("value").lines()
    invested = fig.signal(xs, [float(p.invested) for p in points], marker="hd" if color else "·")
    invested.label("invested").lines()
    fig.draw(invested)
    fig.draw(value)
    top = max(max(float(p.value), float(p.invested)) for p in points)
    _y_values(fig, 0.0, top)
    _x_dates(fig, points[0].on, points[-1].on, width)
    fig.title(title)
    return _render(fig, color)


def nav_chart(picture: NavPicture, *, title: str, width: int, height: int, color: bool) -> str:
    """Daily NAVs as a line, the user's allotments as x marks on it, and their average cost
    as a dotted level when it is near the NAVs shown. The key is a line under the chart, so
    no legend box hides the NAVs."""
    fig = _figure(width, height, color)
    navs = picture.navs
    values = [float(n) for _, n in navs]
    fig.draw(fig.signal([d.toordinal() for d, _ in navs], values, marker="hd").lines())
    key = ["▚ NAV"]
    if picture.purchases:
        fig.draw(fig.signal([d.toordinal() for d, _ in picture.purchases],
                            [float(n) for _, n in picture.purchases], marker="x"))
        key.append("x your instalments (allotment NAV)")
    low, high = min(values), max(values)
    if picture.average_cost is not None:
        cost = float(picture.average_cost)
        near = low - (high - low) / 4 <= cost <= high + (high - low) / 4
        if near:  # else the line would squash the NAVs into a corner of the chart
            ends = [navs[0][0].toordinal(), navs[-1][0].toordinal()]
            fig.draw(fig.signal(ends, [cost, cost], marker="·").lines())
            low, high = min(low, cost), max(high, cost)
        where = "···" if near else "off the chart:"
        key.append(f"{where} your average cost {rupees(picture.average_cost)}")
    _y_values(fig, low, high, _nav_label)
    _x_dates(fig, navs[0][0], navs[-1][0], width)
    fig.title(title)
    return _render(fig, color) + "   ".join(key) + "\n"


def _nav_label(value: float) -> str:
    return f"₹{_trim(value)}"


def ohlc_chart(candles: Sequence[Candle], *, title: str, width: int, height: int,
               color: bool) -> str:
    """Candles (colour) or OHLC bars (no colour: open tick left, close tick right)."""
    fig = _figure(width, height, color)
    xs = [c.start.toordinal() for c in candles]
    data = {
        "date": xs,
        "open": [float(c.open) for c in candles],
        "close": [float(c.close) for c in candles],
        "high": [float(c.high) for c in candles],
        "low": [float(c.low) for c in candles],
    }
    fig.draw(fig.candlestick(data, style="candle" if color else "ohlc", tick=1))
    _y_values(fig, min(data["low"]), max(data["high"]), _nav_label)
    _x_dates(fig, candles[0].start, candles[-1].start, width)
    fig.title(title)
    return _render(fig, color)


def allocation_chart(shares: Sequence[Share], *, title: str, width: int, color: bool,
                     label_width: int = 30) -> str:
    """Horizontal bars, largest on top, each labelled with its value and share."""
    fig = _figure(width, len(shares) + 4, color)
    names = [truncate(s.label, label_width) for s in shares]
    amounts = [rupees_short(s.value) for s in shares]
    shares_text = [percent(s.fraction, places=1) for s in shares]
    name_w = max(len(n) for n in names)
    amount_w = max(len(a) for a in amounts)
    labels = [
        f"{n:<{name_w}} {a:>{amount_w}} {p:>6}"
        for n, a, p in zip(names, amounts, shares_text, strict=True)
    ]
    values = [float(s.value) for s in shares]
    # One row a bar, alternately solid and shaded so neighbours stay apart without colour
    # (plotext 6.1 draws a horizontal bar over its whole slot whatever `width` says).
    bars = fig.bar(labels[::-1], values[::-1], orientation="h", marker=_BAR_MARKERS[::-1]
                   if len(shares) % 2 == 0 else _BAR_MARKERS)
    fig.draw(bars)
    fig.ruler("y").alignment(lim="edge")
    fig.ruler("y").lim(0.5, len(shares) + 0.5)
    top = max(values) * 1.05
    ticks = [t for t in nice_ticks(0.0, max(values), 4) if t <= top]
    fig.ruler("x").ticks(ticks, [compact_rupees(t) for t in ticks])
    fig.ruler("x").lim(0, top)
    fig.title(title)
    return _render(fig, color)


def value_caption(point: ValuePoint) -> str:
    """One line under the value chart: the numbers `summary` shows for the last point."""
    gain = point.value - point.invested
    ratio = f" ({percent(gain / point.invested)})" if point.invested else ""
    return (
        f"On {point.on}: value {rupees(point.value)}, invested {rupees(point.invested)}, "
        f"gain {rupees(gain)}{ratio}"
    )

