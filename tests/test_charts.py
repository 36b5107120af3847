"""`mftrack chart` end to end on real portfolios, and the numbers behind the charts."""

from __future__ import annotations

import json
import shutil
import sqlite3
from datetime import date, datetime
from decimal import ROUND_DOWN, Decimal
from pathlib import Path

import pytest

from mftrack.domain.calendar import last_day_of_month
from mftrack.domain.money import paisa
from mftrack.domain.portfolio import InstalmentStatus
from mftrack.render.formatting import rupees
from tests.charts_support import (
    AS_OF,
    AS_OF_DATE,
    build_demo,
    build_one_scheme,
    build_wide,
    cli,
    open_store,
    summary_json,
)
from tests.helpers import mfapi_file, run_cli

CHARTS = [
    ("value",),
    ("value", "--scheme", "120503"),
    ("value", "--since", "2024-04-01"),
    ("nav", "120503"),
    ("nav", "120503", "--since", "2025-01-01"),
    ("ohlc", "120503"),
    ("ohlc", "120503", "--weekly"),
    ("allocation",),
    ("allocation", "--by", "fund-house"),
]


@pytest.fixture(scope="module")
def homes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("chart-homes")
    return {"demo": build_demo(root), "one": build_one_scheme(root), "wide": build_wide(root)}


@pytest.mark.parametrize("portfolio", ["one", "demo", "wide"])
@pytest.mark.parametrize("args", CHARTS, ids=" ".join)
def test_every_chart_draws(homes: dict[str, Path], portfolio: str, args: tuple[str, ...]) -> None:
    result = cli(homes[portfolio], "chart", *args, "--as-of", AS_OF)
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert any("┌" in line for line in lines) and any("└" in line for line in lines)
    assert max(len(line) for line in lines) <= 160  # COLUMNS from the autouse fixture
    assert "\x1b[" not in result.stdout  # NO_COLOR, and not a terminal
    if args[0] in ("value", "nav", "ohlc"):
        frame = [line for line in lines if line.strip()]
        assert 20 <= len(frame) <= 26  # 20-25 chart rows (+ the value caption)


def demo_elss_average_cost() -> Decimal:
    """The demo's 120503 SIP (₹5,000 on the 5th from 5 Jan 2016) by hand from the mfapi file.

    Each instalment: the first NAV dated Monday-Friday on or after the due date (F3), stamp
    duty ₹0.25 from 1 Jul 2020 (F1: 5000 x 0.005 / 100.005), units to 3 places, down (F5).
    """
    rows = json.loads(mfapi_file(120503).read_text(encoding="utf-8"))["data"]
    navs = sorted(
        (datetime.strptime(r["date"], "%d-%m-%Y").date(), Decimal(r["nav"])) for r in rows
    )
    navs = [(d, nav) for d, nav in navs if nav > 0 and d.weekday() < 5]
    invested = units = Decimal(0)
    due = date(2016, 1, 5)
    while due <= AS_OF_DATE:
        nav_day, nav = next((d, nav) for d, nav in navs if d >= due)
        if nav_day <= AS_OF_DATE:
            net = Decimal("4999.75") if nav_day >= date(2020, 7, 1) else Decimal(5000)
            units += (net / nav).quantize(Decimal("0.001"), ROUND_DOWN)
            invested += 5000
        due = date(due.year + due.month // 12, due.month % 12 + 1, 5)
    return invested / units


def test_nav_chart_marks_the_instalments_and_the_average_cost(homes: dict[str, Path]) -> None:
    result = cli(homes["demo"], "chart", "nav", "120503", "--as-of", AS_OF)
    assert "your instalments" in result.stdout
    assert f"your average cost ₹{demo_elss_average_cost():.2f}" in result.stdout
    assert result.stdout.count("x") > 20
    held_elsewhere = cli(homes["one"], "chart", "nav", "122639", "--as-of", AS_OF)
    assert held_elsewhere.exit_code == 0, held_elsewhere.stderr
    assert "your instalments" not in held_elsewhere.stdout  # NAVs known, no SIP in it


def test_value_chart_caption_is_the_summary_total(homes: dict[str, Path]) -> None:
    total = summary_json(homes["demo"])["total"]
    result = cli(homes["demo"], "chart", "value", "--as-of", AS_OF)
    caption = result.stdout.splitlines()[-1]
    assert caption == (
        f"On {AS_OF}: value {rupees(Decimal(total['value']))}, "
        f"invested {rupees(Decimal(total['invested']))}, "
        f"gain {rupees(Decimal(total['gain']))} ({total['absolute_return'] * 100:.2f}%)"
    )


@pytest.mark.parametrize("portfolio", ["one", "demo", "wide"])
def test_monthly_value_series_ends_on_summary_json_exactly(
    homes: dict[str, Path], portfolio: str
) -> None:
    from mftrack.services.pictures import load_portfolio, value_history

    data = summary_json(homes[portfolio])
    store = open_store(homes[portfolio])
    try:
        view = load_portfolio(store=store, as_of=AS_OF_DATE)
        total = value_history(store=store, view=view)
        assert total.source == "computed"
        last = total.points[-1]
        assert (last.on, last.invested, last.value) == (
            AS_OF_DATE, Decimal(data["total"]["invested"]), Decimal(data["total"]["value"]))
        assert all(p.on == last_day_of_month(p.on) for p in total.points[:-1])  # month ends
        invested = [p.invested for p in total.points]
        assert invested == sorted(invested) and invested[0] > 0
        for row in data["schemes"]:
            own = value_history(store=store, view=view, scheme_code=row["scheme_code"])
            assert own.points[-1].invested == Decimal(row["invested"])
            assert own.points[-1].value == Decimal(row["value"])
    finally:
        store.close()


def test_a_month_end_point_recomputed_from_the_lots(homes: dict[str, Path]) -> None:
    """Value on 31 Mar 2020, independently: units allotted by then x that day's NAV."""
    from mftrack.services.pictures import load_portfolio, value_history

    store = open_store(homes["demo"])
    try:
        view = load_portfolio(store=store, as_of=AS_OF_DATE)
        point = next(p for p in value_history(store=store, view=view).points
                     if p.on == date(2020, 3, 31))
        invested = value = Decimal(0)
        for scheme in view.summary.schemes:
            lots = [lot for lot in scheme.lots if lot.status is InstalmentStatus.ALLOTTED
                    and lot.nav_date is not None and lot.nav_date <= point.on]
            invested += sum((lot.amount for lot in lots), Decimal(0))
            units = sum((lot.units or Decimal(0) for lot in lots), Decimal(0))
            navs = store.nav_history(scheme.scheme_code, end=point.on)
            value += paisa(units * navs[-1][1]) if units else Decimal(0)
        assert (point.invested, point.value) == (invested, value)
    finally:
        store.close()


def test_since_starts_the_chart_later(homes: dict[str, Path]) -> None:
    from mftrack.services.pictures import load_portfolio, value_history

    store = open_store(homes["demo"])
    try:
        view = load_portfolio(store=store, as_of=AS_OF_DATE)
        points = value_history(store=store, view=view, since=date(2024, 4, 1)).points
    finally:
        store.close()
    assert points[0].on == date(2024, 4, 30) and points[-1].on == AS_OF_DATE
    ohlc = cli(homes["demo"], "chart", "ohlc", "120503", "--since", "2025-06-01", "--as-of", AS_OF)
    assert "monthly NAV candles, 2025-06-02 to 2025-12-10" in ohlc.stdout


def _copy(home: Path, tmp_path: Path) -> Path:
    target = tmp_path / "copy"
    shutil.copytree(home, target)
    return target


def _store_valuations(home: Path, rows: list[tuple[date, int, Decimal, Decimal]]) -> None:
    with sqlite3.connect(home / "mftrack.db") as conn:
        conn.executemany(
            "insert into valuations (valuation_date, scheme_code, invested, units, value) "
            "values (?, ?, ?, '0', ?)",
            [(d.isoformat(), code, str(i), str(v)) for d, code, i, v in rows],
        )


@pytest.mark.parametrize("case", ["complete", "stale", "missing a month"])
def test_value_history_reads_the_daemons_valuations_only_when_current(
    homes: dict[str, Path], tmp_path: Path, case: str
) -> None:
    from mftrack.services.pictures import load_portfolio, value_history

    home = _copy(homes["demo"], tmp_path)
    store = open_store(home)
    try:
        view = load_portfolio(store=store, as_of=AS_OF_DATE)
        computed = value_history(store=store, view=view, use_stored=False).points
        # Rows the daemon wrote; the middle ones differ by a rupee so reading them shows.
        rows = [(p.on, 0, p.invested, p.value + (1 if p is not computed[-1] else 0))
                for p in computed]
        if case == "stale":
            rows[-1] = (rows[-1][0], 0, rows[-1][2], rows[-1][3] + 1)
        if case == "missing a month":
            del rows[len(rows) // 2]
        _store_valuations(home, rows)
        history = value_history(store=store, view=view)
    finally:
        store.close()
    if case == "complete":
        assert history.source == "stored"
        assert [p.value for p in history.points[:-1]] == [p.value + 1 for p in computed[:-1]]
        assert history.points[-1] == computed[-1]
    else:
        assert history.source == "computed"
        assert history.points == computed


def test_empty_portfolio_says_so_on_stderr_and_exits_0() -> None:
    for args in (("value",), ("allocation",)):
        result = run_cli("chart", *args)
        assert result.exit_code == 0, result.stderr
        assert result.stdout == ""
        assert "No SIPs yet" in result.stderr and "Hint:" in result.stderr


def test_nav_chart_without_navs_hints_at_downloading(homes: dict[str, Path]) -> None:
    # The bundled history ends on 2025-12-11: nothing to draw in 2026.
    result = cli(homes["one"], "chart", "nav", "120503", "--since", "2026-01-01",
                 "--as-of", "2026-06-30")
    assert result.exit_code == 0
    assert result.stdout == ""
    assert "mftrack nav history 120503" in result.stderr


def test_since_after_as_of_is_a_usage_error(homes: dict[str, Path]) -> None:
    result = cli(homes["one"], "chart", "nav", "120503", "--since", "2026-01-01",
                 "--as-of", AS_OF)
    assert result.exit_code == 2
    assert "--since 2026-01-01 is after --as-of" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("nav", "999999"), "no scheme with AMFI code 999999"),
        (("ohlc", "999999"), "no scheme with AMFI code 999999"),
        (("value", "--scheme", "999999"), "no scheme with AMFI code 999999"),
        (("value", "--scheme", "122639"), "scheme 122639 is not in your portfolio"),
    ],
)
def test_unknown_scheme_is_exit_3_on_stderr(
    homes: dict[str, Path], args: tuple[str, ...], message: str
) -> None:
    result = cli(homes["one"], "chart", *args, "--as-of", AS_OF)
    assert result.exit_code == 3
    assert result.stdout == ""
    assert "Error:" in result.stderr and message in result.stderr


def test_bad_dates_are_usage_errors(homes: dict[str, Path]) -> None:
    result = cli(homes["one"], "chart", "value", "--since", "yesterday")
    assert result.exit_code == 2 and "--since 'yesterday' is not a YYYY-MM-DD date" in result.stderr


def test_colour_only_when_asked() -> None:
    from mftrack.domain.portfolio import ValuePoint
    from mftrack.render.charts import value_chart

    points = [ValuePoint(date(2024, m, 28), Decimal(1000 * m), Decimal(1100 * m))
              for m in range(1, 13)]
    plain = value_chart(points, title="t", width=80, height=20, color=False)
    coloured = value_chart(points, title="t", width=80, height=20, color=True)
    assert "\x1b[" not in plain and "\x1b[" in coloured
    assert len(plain.splitlines()) == 20 and max(len(line) for line in plain.splitlines()) == 80


def test_axis_helpers() -> None:
    from mftrack.render.charts import compact_rupees, date_ticks, nice_ticks, short_scheme_names

    assert compact_rupees(4393340.01) == "₹43.93 L"
    assert compact_rupees(15_000_000) == "₹1.5 Cr"
    assert compact_rupees(200_000) == "₹2 L"
    assert compact_rupees(50_000) == "₹50,000"
    assert nice_ticks(0, 4_393_340) == [0, 1_000_000, 2_000_000, 3_000_000, 4_000_000, 5_000_000]
    assert nice_ticks(75.2, 115.0) == [70, 80, 90, 100, 110, 120]
    assert [label for _, label in date_ticks(date(2016, 1, 5), date(2025, 12, 10), 5)] == [
        "2018", "2020", "2022", "2024"]
    assert [label for _, label in date_ticks(date(2025, 3, 7), date(2025, 12, 10), 12)][:2] == [
        "Apr 2025", "May 2025"]
    assert short_scheme_names([
        "Axis ELSS Tax Saver Fund - Direct Plan - Growth Option",
        "UTI Nifty 50 Index Fund - Growth Option- Direct",
        "Bandhan Medium to Long Duration Fund - Direct Plan - Half Yearly IDCW",
    ], 60) == ["Axis ELSS Tax Saver Fund", "UTI Nifty 50 Index Fund",
               "Bandhan Medium to Long Duration Fund · Half Yearly IDCW"]
    # Direct and Regular of one fund must stay apart.
    assert short_scheme_names(["X Fund - Direct Plan - Growth", "X Fund - Direct - Growth"],
                              12) == ["X Fund - Di…", "X Fund - Di…"]
