"""XIRR (F10) in mftrack.analytics.returns."""

from __future__ import annotations

import subprocess
import sys
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mftrack.analytics.returns import xirr

D0 = date(2020, 1, 1)


def test_closed_form_two_flows() -> None:
    # 10,000 grows to 11,000 in exactly 730 days: (1.1) ** (365 / 730) - 1 = 4.88 %
    rate = xirr([(D0, Decimal(-10000)), (D0 + timedelta(days=730), Decimal(11000))])
    assert rate == pytest.approx(1.1 ** (365 / 730) - 1, abs=1e-9)
    assert rate == pytest.approx(0.048809, abs=1e-6)


def test_actual_days_over_365_even_across_a_leap_year() -> None:
    # 2020 has 366 days; Excel's XIRR still divides by 365 (F10)
    rate = xirr([(D0, Decimal(-100)), (date(2021, 1, 1), Decimal(110))])
    assert rate == pytest.approx(1.1 ** (365 / 366) - 1, abs=1e-9)


def test_flows_on_the_same_date_are_netted_and_order_does_not_matter() -> None:
    flows = [
        (D0 + timedelta(days=365), Decimal(60)),
        (D0, Decimal(-50)),
        (D0, Decimal(-50)),
        (D0 + timedelta(days=365), Decimal(50)),
    ]
    assert xirr(flows) == pytest.approx(0.1, abs=1e-9)


@pytest.mark.parametrize(
    "flows",
    [
        [],
        [(D0, Decimal(-100))],
        [(D0, Decimal(-100)), (date(2021, 1, 1), Decimal(0))],  # all lost: no positive flow
        [(D0, Decimal(100)), (date(2021, 1, 1), Decimal(110))],  # no purchase
        [(D0, Decimal(-100)), (D0, Decimal(100))],  # nets to nothing
        # -1000, +3000, -2500 a year apart: NPV < 0 at every rate, so there is no root
        [
            (D0, Decimal(-1000)),
            (date(2021, 1, 1), Decimal(3000)),
            (date(2022, 1, 1), Decimal(-2500)),
        ],
        # a billion-fold gain overnight: the "rate" is infinite
        [(D0, Decimal(-100)), (D0 + timedelta(days=1), Decimal(10) ** 9)],
    ],
)
def test_no_answer_is_none_not_a_garbage_number(flows: list[tuple[date, Decimal]]) -> None:
    assert xirr(flows) is None


def test_importing_the_module_does_not_import_pyxirr() -> None:
    code = "import sys, mftrack.analytics.returns; print('pyxirr' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@given(
    st.floats(min_value=-0.6, max_value=1.5),
    st.lists(st.integers(min_value=100, max_value=100000), min_size=1, max_size=36),
    st.integers(min_value=30, max_value=800),
)
def test_constant_rate_series_recovers_the_rate(
    rate: float, contributions: list[int], tail_days: int
) -> None:
    # Monthly purchases that all grow at `rate` (actual/365) are worth sum(c * (1+r)^(t/365))
    # at the end; XIRR must give `rate` back.
    dates = [D0 + timedelta(days=30 * k) for k in range(len(contributions))]
    end = dates[-1] + timedelta(days=tail_days)
    value = sum(
        c * (1 + rate) ** ((end - d).days / 365) for c, d in zip(contributions, dates, strict=True)
    )
    flows = [(d, Decimal(-c)) for c, d in zip(contributions, dates, strict=True)]
    flows.append((end, Decimal(repr(value))))
    assert xirr(flows) == pytest.approx(rate, abs=1e-6)
