"""NavSeries: building, look-ups and the holiday roll-forward rule (F3)."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from mftrack.domain.navs import NavSeries
from mftrack.domain.schemes import NavQuote

MFAPI = Path(__file__).resolve().parents[1].parent / "shared" / "amfi-data" / "mfapi"


def load_mfapi(code: int) -> list[tuple[date, Decimal]]:
    """Return the raw (date, NAV) rows of one mfapi.in history, newest first, zeros skipped."""
    (path,) = MFAPI.glob(f"mfapi_{code}_*.json")
    rows = json.loads(path.read_text(encoding="utf-8"))["data"]
    pairs = [(datetime.strptime(r["date"], "%d-%m-%Y").date(), Decimal(r["nav"])) for r in rows]
    return [(d, nav) for d, nav in pairs if nav > 0]


ELSS = load_mfapi(120503)
ELSS_SERIES = NavSeries(ELSS)


def test_builds_sorted_from_any_order() -> None:
    series = NavSeries([(date(2024, 1, 3), Decimal(3)), (date(2024, 1, 1), Decimal(1))])
    assert series.dates == (date(2024, 1, 1), date(2024, 1, 3))
    assert series.navs == (Decimal(1), Decimal(3))
    assert len(series) == 2
    assert list(series) == [(date(2024, 1, 1), Decimal(1)), (date(2024, 1, 3), Decimal(3))]
    assert series.first_date == date(2024, 1, 1)
    assert series.last_date == date(2024, 1, 3)


def test_a_repeated_date_keeps_the_last_value_and_non_positive_navs_are_dropped() -> None:
    day = date(2024, 1, 1)
    series = NavSeries([(day, Decimal(1)), (day, Decimal(2)), (day, Decimal(0))])
    assert list(series) == [(day, Decimal(2))]
    assert len(NavSeries([(day, Decimal("-1")), (day, Decimal("0.00000"))])) == 0


def test_from_quotes() -> None:
    quotes = [
        NavQuote(1, date(2024, 1, 2), Decimal("10.5")),
        NavQuote(1, date(2024, 1, 1), Decimal(10)),
    ]
    assert NavSeries.from_quotes(quotes).dates == (date(2024, 1, 1), date(2024, 1, 2))


def test_lookups_on_an_empty_series() -> None:
    empty = NavSeries()
    assert len(empty) == 0
    assert empty.first_on_or_after(date(2024, 1, 1)) is None
    assert empty.latest_on_or_before(date(2024, 1, 1)) is None
    assert empty.first_date is None
    assert empty.last_date is None


def test_real_history_loads_whole() -> None:
    # 3,191 rows in the file, one of them a 0.00000 NAV
    assert len(ELSS_SERIES) == len(ELSS) == 3190
    assert ELSS_SERIES.last_date == date(2025, 12, 11)
    assert ELSS_SERIES.navs[-1] == Decimal("109.77620")


def test_holidays_roll_forward_to_the_next_published_nav() -> None:
    # 22 Jan 2024 was an MF non-business day (F3): no NAV that day; the next is 23 Jan
    assert ELSS_SERIES.first_on_or_after(date(2024, 1, 22)) == (
        date(2024, 1, 23),
        Decimal("86.17260"),
    )
    # Saturday 5 Jun 2021 -> Monday 7 Jun 2021
    assert ELSS_SERIES.first_on_or_after(date(2021, 6, 5)) == (
        date(2021, 6, 7),
        Decimal("71.68210"),
    )
    # a business day finds its own NAV
    assert ELSS_SERIES.first_on_or_after(date(2024, 1, 19)) == (
        date(2024, 1, 19),
        Decimal("87.76280"),
    )
    assert ELSS_SERIES.latest_on_or_before(date(2024, 1, 22)) == (
        date(2024, 1, 19),
        Decimal("87.76280"),
    )
    assert ELSS_SERIES.first_on_or_after(date(2025, 12, 12)) is None
    assert ELSS_SERIES.latest_on_or_before(date(2013, 1, 1)) is None


def test_liquid_fund_publishes_weekend_navs() -> None:
    liquid = NavSeries(load_mfapi(119800))
    assert liquid.first_on_or_after(date(2024, 6, 1)) == (
        date(2024, 6, 1),
        Decimal("3826.05460"),
    )  # a Saturday


@given(st.dates(min_value=date(2012, 12, 1), max_value=date(2026, 1, 31)))
def test_lookups_agree_with_a_linear_scan_of_the_raw_file(d: date) -> None:
    on_or_after = [(nav_date, nav) for nav_date, nav in ELSS if nav_date >= d]
    expected_after = min(on_or_after) if on_or_after else None
    assert ELSS_SERIES.first_on_or_after(d) == expected_after
    on_or_before = [(nav_date, nav) for nav_date, nav in ELSS if nav_date <= d]
    expected_before = max(on_or_before) if on_or_before else None
    assert ELSS_SERIES.latest_on_or_before(d) == expected_before


# Any order, repeated dates, non-positive NAVs: what AMFI files and corrections can give.
RAW_POINTS = st.lists(
    st.tuples(
        st.dates(min_value=date(2020, 1, 1), max_value=date(2020, 3, 1)),
        st.decimals(min_value=-5, max_value=100, places=2),
    ),
    max_size=60,
)


@given(RAW_POINTS)
def test_series_is_sorted_unique_and_positive(points: list[tuple[date, Decimal]]) -> None:
    series = NavSeries(points)
    assert all(a < b for a, b in zip(series.dates, series.dates[1:], strict=False))
    assert all(nav > 0 for nav in series.navs)
    last: dict[date, Decimal] = {}
    for d, nav in points:
        if nav > 0:
            last[d] = nav
    assert dict(series) == last
    for d, _ in points:
        found = series.first_on_or_after(d - timedelta(days=1))
        assert found is None or found[0] >= d - timedelta(days=1)


@given(RAW_POINTS)
def test_series_from_columns_follows_the_same_rules(points: list[tuple[date, Decimal]]) -> None:
    """Parallel columns (the store's shape) give the series the pairs give, whatever the order,
    duplicates or non-positive NAVs; already clean columns are kept as they are."""
    series = NavSeries.from_columns([d for d, _ in points], [n for _, n in points])
    assert list(series) == list(NavSeries(points))
    clean = sorted({d: n for d, n in points if n > 0}.items())
    columns = NavSeries.from_columns([d for d, _ in clean], [n for _, n in clean])
    assert list(columns) == clean
