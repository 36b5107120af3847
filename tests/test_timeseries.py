"""OHLC candles and allocation shares, checked against independent computations."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mftrack.analytics.timeseries import Candle, allocation, ohlc, period_start
from tests.charts_support import mfapi_points


@pytest.fixture(scope="module")
def axis_elss() -> list[tuple[date, Decimal]]:
    points = mfapi_points(120503)
    assert len(points) > 3000
    return points


def by_hand(points: list[tuple[date, Decimal]], keep) -> tuple[Decimal, ...]:  # type: ignore[no-untyped-def]
    chosen = sorted(p for p in points if keep(p[0]))
    navs = [nav for _, nav in chosen]
    return chosen[0][1], max(navs), min(navs), chosen[-1][1]


def test_march_2020_candle_of_a_real_history(axis_elss: list[tuple[date, Decimal]]) -> None:
    expected = by_hand(axis_elss, lambda d: (d.year, d.month) == (2020, 3))
    candle = next(c for c in ohlc(axis_elss, "month") if c.start == date(2020, 3, 1))
    assert (candle.open, candle.high, candle.low, candle.close) == expected
    assert candle.first == date(2020, 3, 2) and candle.last == date(2020, 3, 31)
    assert candle.low < candle.open  # the COVID crash: a real range, not a flat month


def test_iso_week_candle_of_a_real_history(axis_elss: list[tuple[date, Decimal]]) -> None:
    # ISO week 13 of 2020 runs Monday 23 to Sunday 29 March.
    expected = by_hand(axis_elss, lambda d: d.isocalendar()[:2] == (2020, 13))
    candle = next(c for c in ohlc(axis_elss, "week") if c.start == date(2020, 3, 23))
    assert (candle.open, candle.high, candle.low, candle.close) == expected
    assert candle.count == 5


def test_iso_week_across_new_year(axis_elss: list[tuple[date, Decimal]]) -> None:
    # 29 Dec 2025 is in ISO week 1 of 2026; 31 Dec 2024 in week 1 of 2025 with 1-3 Jan 2025.
    week = next(c for c in ohlc(axis_elss, "week") if c.start == date(2024, 12, 30))
    expected = by_hand(axis_elss, lambda d: d.isocalendar()[:2] == (2025, 1))
    assert (week.open, week.high, week.low, week.close) == expected
    assert week.first.year == 2024 and week.last.year == 2025


@pytest.mark.parametrize(("period", "rule"), [("month", "MS"), ("week", "W-MON")])
def test_every_candle_matches_pandas_resample(
    axis_elss: list[tuple[date, Decimal]], period: str, rule: str
) -> None:
    import pandas as pd

    series = pd.Series(
        [float(nav) for _, nav in axis_elss],
        index=pd.DatetimeIndex([pd.Timestamp(d) for d, _ in axis_elss]),
    ).sort_index()
    frame = series.resample(rule, label="left", closed="left").ohlc().dropna()
    candles = ohlc(axis_elss, period)  # type: ignore[arg-type]
    assert len(candles) == len(frame)
    for candle, (start, row) in zip(candles, frame.iterrows(), strict=True):
        assert candle.start == start.date()
        assert (float(candle.open), float(candle.high), float(candle.low),
                float(candle.close)) == (row["open"], row["high"], row["low"], row["close"])


def test_candles_count_every_nav_once(axis_elss: list[tuple[date, Decimal]]) -> None:
    for period in ("month", "week"):
        candles = ohlc(axis_elss, period)  # type: ignore[arg-type]
        assert sum(c.count for c in candles) == len({d for d, _ in axis_elss})


def test_period_start() -> None:
    assert period_start(date(2024, 2, 29), "month") == date(2024, 2, 1)
    assert period_start(date(2024, 2, 29), "week") == date(2024, 2, 26)  # a Thursday
    assert period_start(date(2024, 3, 3), "week") == date(2024, 2, 26)  # Sunday ends the week
    with pytest.raises(ValueError, match="unknown period"):
        period_start(date(2024, 1, 1), "year")  # type: ignore[arg-type]


def test_empty_and_single_point() -> None:
    assert ohlc([], "month") == []
    one = ohlc([(date(2024, 5, 17), Decimal("10.5"))], "week")
    assert one == [Candle(date(2024, 5, 13), date(2024, 5, 17), date(2024, 5, 17),
                          Decimal("10.5"), Decimal("10.5"), Decimal("10.5"), Decimal("10.5"), 1)]


def test_a_date_given_twice_keeps_the_last_value() -> None:
    points = [(date(2024, 5, 2), Decimal("11")), (date(2024, 5, 1), Decimal("10")),
              (date(2024, 5, 2), Decimal("12"))]
    (candle,) = ohlc(points, "month")
    assert (candle.open, candle.high, candle.low, candle.close) == (10, 12, 10, 12)


navs = st.decimals(min_value=Decimal("0.0001"), max_value=Decimal("100000"), places=4)
days = st.dates(min_value=date(2015, 1, 1), max_value=date(2026, 12, 31))


@given(st.dictionaries(days, navs, min_size=1, max_size=120), st.sampled_from(["month", "week"]))
def test_candle_invariants(points: dict[date, Decimal], period: str) -> None:
    candles = ohlc(list(points.items()), period)  # type: ignore[arg-type]
    starts = [c.start for c in candles]
    assert starts == sorted(set(starts))
    assert len(candles) == len({period_start(d, period) for d in points})  # type: ignore[arg-type]
    for c in candles:
        inside = {d: v for d, v in points.items() if c.first <= d <= c.last}
        assert c.count == len(inside)
        assert c.open == points[c.first] and c.close == points[c.last]
        assert c.high == max(inside.values()) and c.low == min(inside.values())
        assert c.low <= min(c.open, c.close) <= max(c.open, c.close) <= c.high
        assert c.start <= c.first and c.last < c.start + timedelta(days=31 if period == "month"
                                                                     else 7)
        assert period_start(c.last, period) == c.start  # type: ignore[arg-type]


def test_allocation_adds_up_sorts_and_drops_nothing_worth_something() -> None:
    shares = allocation([("Equity", Decimal("300")), ("Debt", Decimal("100")),
                         ("Equity", Decimal("100")), ("Pending", Decimal("0"))])
    assert [(s.label, s.value, s.members) for s in shares] == [
        ("Equity", Decimal("400"), 2), ("Debt", Decimal("100"), 1)]
    assert [s.fraction for s in shares] == [0.8, 0.2]


def test_allocation_folds_the_tail_into_other() -> None:
    items = [(f"s{i}", Decimal(10 - i)) for i in range(6)]  # 10, 9, ... 5
    shares = allocation(items, top=3)
    assert [s.label for s in shares] == ["s0", "s1", "Other (4)"]
    assert shares[-1].value == Decimal(8 + 7 + 6 + 5) and shares[-1].members == 4
    assert sum(s.value for s in shares) == sum(v for _, v in items)
    assert allocation(items, top=6) == allocation(items)


@given(st.lists(st.tuples(st.sampled_from("abcde"), navs), min_size=1, max_size=30),
       st.integers(min_value=1, max_value=6))
def test_allocation_keeps_the_total(items: list[tuple[str, Decimal]], top: int) -> None:
    shares = allocation(items, top=top)
    assert sum(s.value for s in shares) == sum(v for _, v in items)
    assert len(shares) <= top
    assert abs(sum(s.fraction for s in shares) - 1) < 1e-9
