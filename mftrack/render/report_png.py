"""The one-page portfolio report (PNG or PDF) drawn with matplotlib's object API.

No pyplot: a `Figure` on a `FigureCanvasAgg` works headless, keeps no global state, and is
never shown on a screen. The page is A4 portrait (a phone screen, or a printer) at 200 dpi,
1654 x 2338 pixels, and grows taller only when many schemes need the room. Amounts use Indian
digit grouping; axes use lakh/crore. DejaVu Sans, the font matplotlib ships, has the rupee
sign (U+20B9), so ₹ is drawn as itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from typing import IO, TYPE_CHECKING, Any, Literal

from mftrack.render.charts import (
    category_label,
    compact_rupees,
    date_ticks,
    short_scheme_names,
    truncate,
)
from mftrack.render.formatting import percent, rupees, rupees_short

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from mftrack.analytics.timeseries import Share
    from mftrack.services.pictures import ReportData

PAGE_INCHES = (8.27, 11.69)  # A4 portrait; taller only when many schemes need the room
DPI = 200
MAX_BARS = 8  # allocation slices shown; the rest are folded into "Other"
GAIN, LOSS = "#2e7d32", "#c62828"
VALUE, INVESTED, MUTED, INK = "#1565c0", "#78909c", "#607d8b", "#263238"
PALETTE = ("#1565c0", "#ef6c00", "#2e7d32", "#6a1b9a", "#00838f", "#ad1457", "#9e9d24",
           "#4e342e", "#5c6bc0", "#00695c")
AllocationBy = Literal["scheme", "category", "fund-house"]

# The page from the top, in inches: fixed bands, so text never moves with the data.
MARGIN_X, MARGIN_TOP, MARGIN_BOTTOM = 0.7, 0.35, 0.25
HEADER, FOOTER, GAP, SUBTITLE = 1.3, 0.5, 0.45, 0.2
VALUE_CHART = 2.5  # grows by up to 1.5 inches into a small portfolio's free room
TABLE_ROW = 0.22
TAX = 0.7  # this FY's capital gains: a title and three lines


@dataclass(frozen=True, slots=True)
class _Row:
    name: str
    instalments: str
    invested: str
    value: str
    gain: str
    gain_positive: bool
    ret: str


def _bar_unit(bars: int) -> float:
    return 0.30 if bars <= 10 else 0.27


def _content_height(schemes: int, slices: int) -> float:
    bars = max(schemes, slices, 1)
    return (HEADER + VALUE_CHART + 0.5 + _bar_unit(bars) * bars + TABLE_ROW * (schemes + 3)
            + TAX + FOOTER + 4.5 * GAP + SUBTITLE + MARGIN_TOP + MARGIN_BOTTOM)


def page_height(schemes: int, slices: int) -> float:
    """A4, or taller when the bars and the table of many schemes need more room."""
    return max(PAGE_INCHES[1], _content_height(schemes, slices))


def build_report(data: ReportData, *, allocation_by: AllocationBy = "category") -> Figure:
    """Lay the page out: header, value chart, allocation and XIRR bars, per-scheme table,
    this FY's capital gains."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    schemes = len(data.view.data["schemes"])
    shares = _shares(data, allocation_by)
    width, height = PAGE_INCHES[0], page_height(schemes, len(shares))
    fig = Figure(figsize=(width, height), dpi=DPI, facecolor="white")
    FigureCanvasAgg(fig)
    top = height - MARGIN_TOP

    def band(inches: float, left: float = MARGIN_X, right: float = width - MARGIN_X) -> Axes:
        nonlocal top
        top -= inches
        return fig.add_axes((left / width, top / height, (right - left) / width, inches / height))

    _header(band(HEADER), data)
    top -= GAP
    spare = height - _content_height(schemes, len(shares))  # a small portfolio's free room
    _value_chart(band(VALUE_CHART + min(spare, 1.5)), data)
    top -= GAP + SUBTITLE
    bars = 0.5 + _bar_unit(max(schemes, len(shares))) * max(schemes, len(shares))
    middle = width / 2
    rows = max(schemes, len(shares))
    _allocation(band(bars, right=middle - 0.3), shares, allocation_by,
                data.view.data["total"]["value"], rows)
    top += bars
    _xirr_bars(band(bars, left=middle + 0.3), data, rows)
    top -= GAP
    _table(band(TABLE_ROW * (schemes + 3)), data)
    top -= GAP
    _tax_year(band(TAX), data)
    _footer(fig.add_axes((MARGIN_X / width, MARGIN_BOTTOM / height,
                          (width - 2 * MARGIN_X) / width, FOOTER / height)), data)
    return fig


def save_report(fig: Figure, target: str | IO[bytes], *, fmt: Literal["png", "pdf"]) -> None:
    """Write the page as PNG (exactly the figure's pixel size) or as a one-page PDF."""
    title = fig.get_label() or "mftrack portfolio report"
    metadata = {"Title": title, "Creator": "mftrack"} if fmt == "pdf" else {"Software": "mftrack"}
    fig.savefig(target, format=fmt, dpi=DPI, facecolor="white", metadata=metadata)


def is_a4(fig: Figure) -> bool:
    return bool(abs(fig.get_size_inches()[1] - PAGE_INCHES[1]) < 0.01)


def pixel_size(fig: Figure) -> tuple[int, int]:
    """The PNG's width and height in pixels."""
    width, height = fig.get_size_inches()
    return round(width * DPI), round(height * DPI)


def _money(text: str | None) -> str:
    return rupees(Decimal(text), places=0) if text is not None else "—"


def _long_date(day: date) -> str:
    return f"{day.day} {day:%B %Y}"


# --- header and footer -----------------------------------------------------------------------


def _short_date(day: date) -> str:
    return f"{day.day} {day:%b %Y}"  # 11 Dec 2025


def _valued_on(view: dict[str, Any]) -> tuple[date, bool]:
    """The date the value is true on, and whether NAVs are stale. A value can be no newer than
    its NAVs: with old NAVs that is the freshest NAV date any scheme has (the total's rule)."""
    as_of = date.fromisoformat(view["as_of"])
    nav_dates = [date.fromisoformat(s["nav_date"]) for s in view["schemes"] if s["nav_date"]]
    stale = any(s["stale"] for s in view["schemes"])
    return (max(nav_dates, default=as_of) if stale else as_of), stale


def _header(ax: Axes, data: ReportData) -> None:
    ax.set_axis_off()
    view = data.view.data
    total = view["total"]
    as_of = date.fromisoformat(view["as_of"])
    ax.figure.set_label(f"Mutual fund portfolio as of {as_of}")
    ax.text(0, 1.0, "Mutual fund portfolio", fontsize=20, fontweight="bold", color=INK,
            va="top", transform=ax.transAxes)
    schemes = len(view["schemes"])
    first = total["first_allotment"]
    since = f" since {date.fromisoformat(first):%B %Y}" if first else ""
    valued_on, stale = _valued_on(view)
    when = (f"As of {_short_date(as_of)}  ·  NAVs as of {_short_date(valued_on)}" if stale
            else f"As of {_long_date(as_of)}")
    ax.text(0, 0.68, f"{when}  ·  {schemes} scheme{'s' * (schemes != 1)}  ·  "
            f"{total['instalments']} SIP instalments{since}", fontsize=10.5, color=MUTED,
            va="top", transform=ax.transAxes)
    gain = Decimal(total["gain"])
    xirr = total["xirr"]
    sign = "+" if gain >= 0 else ""
    cards = [
        ("Invested", _money(total["invested"]), INK, "stamp duty included"),
        ("Value", _money(total["value"]), VALUE,
         f"at NAVs of {_short_date(valued_on)}" if stale else f"on {as_of:%d %b %Y}"),
        ("Gain", _money(total["gain"]), GAIN if gain >= 0 else LOSS,
         f"{sign}{percent(total['absolute_return'], places=1)} on the amount invested"),
        ("XIRR", percent(xirr), INK, "a year, over every instalment")
        if xirr is not None else
        ("Return", percent(total["absolute_return"]), INK, "under a year: not annualised"),
    ]
    for (label, amount, colour, note), x in zip(cards, (0.0, 0.25, 0.5, 0.78), strict=True):
        ax.text(x, 0.36, label, fontsize=9.5, color=MUTED, va="bottom", transform=ax.transAxes)
        ax.text(x, 0.33, amount, fontsize=15, fontweight="bold", color=colour, va="top",
                transform=ax.transAxes)
        ax.text(x, 0.0, note, fontsize=7.5, color=MUTED, va="bottom", transform=ax.transAxes)


def _footer(ax: Axes, data: ReportData) -> None:
    ax.set_axis_off()
    as_of = data.view.data["as_of"]
    notes = [
        "XIRR: the yearly return, allowing for when each instalment was paid. Under a year "
        "of holding, the plain return (†), as SEBI asks.",
        "Invested includes the 0.005% stamp duty. NAVs as published by AMFI.",
        f"Made with mftrack; the same figures as: mftrack summary --as-of {as_of}",
    ]
    ax.text(0, 1.0, "\n".join(notes), fontsize=7.5, color=MUTED, va="top", linespacing=1.7,
            transform=ax.transAxes)


# --- this financial year's capital gains -----------------------------------------------------


def tax_lines(data: ReportData) -> list[str]:
    """The section's lines under its title, the last one the footer: figures exactly as
    `mftrack gains --fy FY --json` and `mftrack harvest --json` give them (services.gains)."""
    tax = data.tax
    as_of = data.view.data["as_of"]
    source = (f"The same figures as: mftrack gains --fy {tax.fy} --as-of {as_of} and mftrack "
              f"harvest --as-of {as_of}. Exit loads not counted. Not tax advice.")
    if tax.quiet:
        return [f"Nothing sold in FY {tax.fy} and nothing to harvest.", source]
    plan = tax.harvest
    lines = []
    if tax.gains is None:
        lines.append(f"Nothing sold in FY {tax.fy}.")
    else:
        g, total = tax.gains, tax.gains["total"]
        above = Decimal(g["equity_ltcg_above_exemption"] or 0)
        lines.append(
            f"Realised: short term {_money(total['short_term_gain'])}  ·  long term "
            f"{_money(total['long_term_gain'])}  ·  equity LTCG {_money(g['equity_ltcg'])} "
            f"of {_money(g['equity_ltcg_exemption'])} exempt"
            + (f" ({_money(g['equity_ltcg_above_exemption'])} above)" if above > 0 else ""))
    if plan["redeem"]:
        value = sum((Decimal(p["proceeds"]) for p in plan["redeem"]), Decimal(0))
        schemes = len(plan["redeem"])
        lines.append(
            f"Harvestable: {_money(plan['room'])} of the exemption left; redeem "
            f"{_money(str(value))} ({schemes} scheme{'s' * (schemes != 1)}) for "
            f"{_money(plan['planned_ltcg'])} of LTCG")
    else:
        lines.append(f"Nothing to harvest: {_money(plan['room'])} of the exemption left, no "
                     "long-term equity units to fill it")
    return [*lines, source]


def _tax_year(ax: Axes, data: ReportData) -> None:
    ax.set_axis_off()
    ax.set_title(f"Capital gains, FY {data.tax.fy}", loc="left", fontsize=12,
                 fontweight="bold", color=INK, pad=4)
    *lines, footer = tax_lines(data)
    ax.text(0, 1.0, "\n".join(lines), fontsize=9, color=INK, va="top", linespacing=1.5,
            transform=ax.transAxes)
    ax.text(0, 0.0, footer, fontsize=7.5, color=MUTED, va="bottom", transform=ax.transAxes)


# --- charts ----------------------------------------------------------------------------------


def _rupee_axis(axis: Any, bins: int = 6) -> None:
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    axis.set_major_locator(MaxNLocator(nbins=bins, steps=[1, 2, 2.5, 5, 10]))
    axis.set_major_formatter(FuncFormatter(lambda v, _pos: compact_rupees(v) if v else "0"))


def _style(ax: Axes, title: str, pad: float = 10) -> None:
    ax.set_title(title, loc="left", fontsize=12, fontweight="bold", color=INK, pad=pad)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    for side in ("left", "bottom"):
        ax.spines[side].set_color("#b0bec5")
    ax.tick_params(colors=INK, labelsize=8.5)


def _value_chart(ax: Axes, data: ReportData) -> None:
    points = data.history.points
    _style(ax, "Value against amount invested (month ends)")
    if not points:
        ax.text(0.5, 0.5, "No instalment allotted yet", ha="center", transform=ax.transAxes)
        return
    valued_on, stale = _valued_on(data.view.data)
    if stale:  # the line stops at the NAVs' date: after it nothing is known, nothing drawn
        after = [p for p in points if p.on > valued_on]
        points = [p for p in points if p.on <= valued_on]
        if after:  # unchanged since the last NAV (later instalments are pending)
            points.append(replace(after[0], on=valued_on))
    days = [p.on for p in points]
    value = [float(p.value) for p in points]
    invested = [float(p.invested) for p in points]
    ax.plot(days, invested, color=INVESTED, linewidth=1.8, label="Invested")
    ax.plot(days, value, color=VALUE, linewidth=2.2, label="Value")
    ax.fill_between(days, invested, value, where=[v >= i for v, i in zip(value, invested,
                    strict=True)], interpolate=True, color=GAIN, alpha=0.15, linewidth=0)
    ax.fill_between(days, invested, value, where=[v < i for v, i in zip(value, invested,
                    strict=True)], interpolate=True, color=LOSS, alpha=0.18, linewidth=0)
    _rupee_axis(ax.yaxis)
    ax.set_ylim(bottom=0)
    ticks = date_ticks(days[0], days[-1], 12)
    ax.set_xticks([d for d, _ in ticks], [label for _, label in ticks])
    ax.grid(axis="y", color="#eceff1", linewidth=0.8)
    ax.set_axisbelow(True)
    ax.legend(loc="upper left", frameon=False, fontsize=9)
    last = points[-1]
    for amount, colour, offset in ((last.value, VALUE, 8), (last.invested, INVESTED, -12)):
        ax.annotate(rupees_short(amount), (last.on, float(amount)),
                    xytext=(4, offset), textcoords="offset points", fontsize=9,
                    color=colour, fontweight="bold", va="center")
    from datetime import timedelta

    room = timedelta(days=max(20, (days[-1] - days[0]).days // 9))  # for the end labels
    ax.set_xlim(days[0], days[-1] + room)


def _hbars(ax: Axes, labels: Sequence[str], values: Sequence[float], colours: Sequence[str],
           texts: Sequence[str], rows: int) -> None:
    """Bars top-down, each with its name above it and its figure at its end; `rows` bar
    slots, so bars keep one size however few there are."""
    positions = [-i for i in range(len(labels))]
    ax.barh(positions, values, color=colours, height=0.42)
    span = max((abs(v) for v in values), default=1.0) or 1.0
    for y, v, label, text in zip(positions, values, labels, texts, strict=True):
        ax.text(0, y + 0.25, label, va="bottom", ha="left", fontsize=8.5, color=INK, zorder=3,
                transform=ax.get_yaxis_transform(),  # x: the left edge of the axes
                bbox={"facecolor": "white", "edgecolor": "none", "pad": 0.5, "alpha": 0.85})
        ax.text(max(v, 0) + 0.015 * span, y, text, va="center", ha="left", fontsize=8,
                color=INK, zorder=3,
                bbox={"facecolor": "white", "edgecolor": "none", "pad": 0.5, "alpha": 0.85})
    ax.set_yticks([])
    ax.set_ylim(-max(rows, len(labels), 1) + 0.55, 0.85)
    ax.spines["left"].set_visible(False)


def _shares(data: ReportData, by: AllocationBy) -> list[Share]:
    """The allocation slices to draw, labelled for the page, at most MAX_BARS of them."""
    from mftrack.analytics.timeseries import allocation

    alloc = data.allocation
    if by == "scheme":
        raw = alloc.by_scheme
        labels = short_scheme_names([s.label for s in raw], 44)
    elif by == "fund-house":
        raw = alloc.by_fund_house
        labels = [s.label.removesuffix(" Mutual Fund") for s in raw]
    else:
        raw = alloc.by_category
        labels = [category_label(s.label) for s in raw]
    items = [(label, s.value) for label, s in zip(labels, raw, strict=True)]
    return allocation(items, top=MAX_BARS, other="Other")


def _allocation(ax: Axes, shares: list[Share], by: AllocationBy, total: str, rows: int) -> None:
    heading = {"scheme": "scheme", "category": "category", "fund-house": "fund house"}[by]
    _style(ax, f"Where the money is (by {heading})", pad=18)
    ax.text(0, 1.0, f"share of the value, {_money(total)}", transform=ax.transAxes,
            fontsize=8, color=MUTED, va="bottom")
    values = [float(s.value) for s in shares]
    texts = [f"{rupees_short(s.value)}  {percent(s.fraction, places=1)}" for s in shares]
    colours = [PALETTE[i % len(PALETTE)] for i in range(len(shares))]
    _hbars(ax, [truncate(s.label, 44) for s in shares], values, colours, texts, rows)
    ax.set_xlim(0, max(values, default=1.0) * 1.45)
    _rupee_axis(ax.xaxis, bins=3)


def _xirr_bars(ax: Axes, data: ReportData, rows: int) -> None:
    _style(ax, "XIRR by scheme (per year)", pad=18)
    schemes = data.view.data["schemes"]
    names = dict(zip((s["scheme_code"] for s in schemes),
                     short_scheme_names([s["scheme_name"] for s in schemes], 44), strict=True))
    rated = sorted((s for s in schemes if s["xirr"] is not None), key=lambda s: -s["xirr"])
    young = [s for s in schemes if s["xirr"] is None and s["instalments"]]
    labels = [names[s["scheme_code"]] for s in rated + young]
    values = [100 * s["xirr"] for s in rated] + [0.0] * len(young)
    colours = [GAIN if v >= 0 else LOSS for v in values]
    texts = [percent(s["xirr"], places=1) for s in rated] + [
        f"under a year: {percent(s['absolute_return'], places=1)}†" for s in young
    ]
    _hbars(ax, labels, values, colours, texts, rows)
    low = min([0.0, *values])
    high = max([0.0, *values]) or 1.0
    ax.set_xlim(low * 1.4 if low < 0 else 0, high * 1.45)
    ax.axvline(0, color="#b0bec5", linewidth=0.8)
    total = data.view.data["total"]["xirr"]
    if total is not None:
        ax.axvline(100 * total, color=INK, linestyle="--", linewidth=1)
        ax.text(0, 1.0, f"dashed line: the whole portfolio, {percent(total, places=1)}",
                transform=ax.transAxes, fontsize=8, color=MUTED, va="bottom")
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(nbins=4))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:g}%"))
    if not rated:  # no scale to read when every holding is under a year
        ax.set_xticks([])


# --- the per-scheme table --------------------------------------------------------------------

_HEADERS = ("Scheme", "Instalments", "Invested", "Value", "Gain", "XIRR / return")
_COLUMN_GAP = 0.03  # between columns, as a fraction of the table's width


def _rows(data: ReportData) -> list[_Row]:
    view = data.view.data
    schemes = view["schemes"]
    names = short_scheme_names([s["scheme_name"] for s in schemes], 60)
    rows = []
    for name, s in zip(names, schemes, strict=True):
        ret = (percent(s["xirr"]) if s["xirr"] is not None
               else f"{percent(s['absolute_return'])}†" if s["absolute_return"] is not None
               else "—")
        pending = f" (+{s['pending']} pending)" if s["pending"] else ""
        rows.append(_Row(name, f"{s['instalments']}{pending}", _money(s["invested"]),
                         _money(s["value"]), _money(s["gain"]), Decimal(s["gain"]) >= 0, ret))
    t = view["total"]
    total_ret = (percent(t["xirr"]) if t["xirr"] is not None
                 else f"{percent(t['absolute_return'])}†" if t["absolute_return"] is not None
                 else "—")
    rows.append(_Row("Total", str(t["instalments"]), _money(t["invested"]), _money(t["value"]),
                     _money(t["gain"]), Decimal(t["gain"]) >= 0, total_ret))
    return rows


def _table(ax: Axes, data: ReportData) -> None:
    """Right-aligned figure columns sized to their widest cell; names shortened to fit."""
    from matplotlib.patches import Rectangle

    ax.set_axis_off()
    ax.set_title("Scheme by scheme", loc="left", fontsize=12, fontweight="bold", color=INK,
                 pad=4)
    rows = _rows(data)
    height = 1.0 / (len(rows) + 1)
    size = 9 if len(rows) <= 12 else 8
    grid: list[list[Any]] = []  # [row][column] Text artists, the header row first
    for i, cells in enumerate([_HEADERS, *[_cells(r) for r in rows]]):
        y = 1 - (i + 0.5) * height
        is_total = i == len(rows)
        if is_total or (i and i % 2 == 0):
            ax.add_patch(Rectangle((-0.01, y - height / 2), 1.02, height, linewidth=0,
                                   color="#e3f2fd" if is_total else "#f5f7f8",
                                   transform=ax.transAxes, clip_on=False))
        line = []
        for col, cell in enumerate(cells):
            colour = MUTED if i == 0 else INK
            if i and col == 4:
                colour = GAIN if rows[i - 1].gain_positive else LOSS
            line.append(ax.text(0, y, cell, ha="left" if col == 0 else "right", va="center",
                                fontsize=size, color=colour, transform=ax.transAxes,
                                fontweight="bold" if i == 0 or is_total else "normal"))
        grid.append(line)
    ax.plot([-0.01, 1.01], [1 - height, 1 - height], color="#b0bec5", linewidth=0.8,
            transform=ax.transAxes, clip_on=False)
    _place_columns(ax, grid)


def _cells(row: _Row) -> tuple[str, ...]:
    return (row.name, row.instalments, row.invested, row.value, row.gain, row.ret)


def _place_columns(ax: Axes, grid: list[list[Any]]) -> None:
    renderer = ax.figure.canvas.get_renderer()  # type: ignore[attr-defined]
    full = ax.get_window_extent(renderer).width

    def width(text: Any) -> float:
        return float(text.get_window_extent(renderer).width) / full

    x = 1.0
    for col in range(len(_HEADERS) - 1, 0, -1):
        for line in grid:
            line[col].set_x(x)
        x -= max(width(line[col]) for line in grid) + _COLUMN_GAP
    for line in grid[1:]:  # the names get what is left: two smaller lines, then an ellipsis
        _fit_name(line[0], x, width)


def _fit_name(name: Any, room: float, width: Any) -> None:
    """A long name wraps onto a second line at the row's own font size (one size for the
    whole table: a shrunken name reads as a footnote), then ends in an ellipsis."""
    text = name.get_text()
    if width(name) <= room:
        return
    words = text.split()
    name.set_linespacing(1.0)
    for cut in range(len(words) - 1, 0, -1):
        name.set_text(" ".join(words[:cut]))
        if width(name) <= room:
            first, rest = " ".join(words[:cut]), " ".join(words[cut:])
            break
    else:
        first, rest = text, ""
    name.set_text(rest)
    while rest and width(name) > room and len(rest) > 4:
        rest = rest[:-2]
        name.set_text(rest.rstrip() + "…")
    name.set_text(f"{first}\n{name.get_text()}" if rest else first)
