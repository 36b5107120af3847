"""Stamp duty (F1) and unit allotment (F5) in mftrack.domain.money."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mftrack.domain.money import (
    DEFAULT_UNIT_PLACES,
    DEFAULT_UNIT_ROUNDING,
    STAMP_DUTY_START,
    allot_units,
    paisa,
    split_stamp_duty,
    stamp_duty,
    unit_quantum,
    whole_rupees,
)
from mftrack.errors import InvalidInputError

amounts = st.decimals(min_value=Decimal("1"), max_value=Decimal("10000000"), places=2)
navs = st.decimals(min_value=Decimal("0.0001"), max_value=Decimal("100000"), places=4)
allot_dates = st.dates(min_value=date(2015, 1, 1), max_value=date(2030, 12, 31))


def test_stamp_duty_starts_on_1_july_2020() -> None:
    assert date(2020, 7, 1) == STAMP_DUTY_START
    assert stamp_duty(Decimal(5000), date(2020, 6, 30)) == 0
    assert stamp_duty(Decimal(5000), date(2020, 7, 1)) == Decimal("0.25")


def test_stamp_duty_examples() -> None:
    # F1's worked example: a ₹5,000 SIP pays ₹0.25 and invests ₹4,999.75.
    assert split_stamp_duty(Decimal(5000), date(2021, 4, 5)) == (
        Decimal("0.25"),
        Decimal("4999.75"),
    )
    # 1,00,000 x 0.005 / 100.005 = 4.99975... -> ₹5.00; 100 x ... = 0.0049997... -> ₹0.00
    assert stamp_duty(Decimal(100000), date(2024, 1, 1)) == Decimal("5.00")
    assert stamp_duty(Decimal(100), date(2024, 1, 1)) == Decimal("0.00")
    # 1,000 -> 0.049997... -> ₹0.05 (half up at the paisa)
    assert stamp_duty(Decimal(1000), date(2024, 1, 1)) == Decimal("0.05")


def test_stamp_duty_rejects_negative_amounts() -> None:
    with pytest.raises(InvalidInputError):
        stamp_duty(Decimal(-1), date(2024, 1, 1))


def test_default_allotment_is_three_decimals_rounded_down() -> None:
    assert DEFAULT_UNIT_PLACES == 3
    assert DEFAULT_UNIT_ROUNDING == ROUND_DOWN
    # 4999.75 / 66.1132 = 75.62408... ; 1000 / 3 = 333.3333...; 2 / 3 = 0.6666...
    assert allot_units(Decimal("4999.75"), Decimal("66.11320")) == Decimal("75.624")
    assert allot_units(Decimal(2), Decimal(3)) == Decimal("0.666")
    assert allot_units(Decimal(2), Decimal(3), rounding=ROUND_HALF_UP) == Decimal("0.667")
    # Zerodha's example (F5): 5000 / 15.61 = 320.30749... shown truncated to 4 decimals
    assert allot_units(Decimal(5000), Decimal("15.61"), places=4) == Decimal("320.3074")


def test_allot_units_rejects_bad_input() -> None:
    with pytest.raises(InvalidInputError):
        allot_units(Decimal(100), Decimal(0))
    with pytest.raises(InvalidInputError):
        unit_quantum(9)


def test_quantisers() -> None:
    assert paisa(Decimal("1.005")) == Decimal("1.01")
    assert paisa(Decimal("1.0049")) == Decimal("1.00")
    assert whole_rupees(Decimal("7320.5")) == Decimal(7321)
    assert unit_quantum(3) == Decimal("0.001")


@given(amounts, allot_dates)
def test_stamp_duty_and_net_add_up_to_the_amount(amount: Decimal, on: date) -> None:
    duty, net = split_stamp_duty(amount, on)
    assert duty + net == amount
    assert duty == duty.quantize(Decimal("0.01"))
    # the exact duty is amount x 0.005/100.005; rounding to the paisa moves it by <= half a paisa
    exact = amount * Decimal("0.005") / Decimal("100.005") if on >= STAMP_DUTY_START else 0
    assert abs(duty - exact) <= Decimal("0.005")


@given(amounts, navs, st.integers(min_value=0, max_value=6))
def test_unit_rounding_is_idempotent(net: Decimal, nav: Decimal, places: int) -> None:
    for rounding in (ROUND_DOWN, ROUND_HALF_UP):
        units = allot_units(net, nav, places, rounding)
        assert units.quantize(unit_quantum(places), rounding=rounding) == units
        assert allot_units(units * nav, nav, places, rounding) == units


@given(amounts, navs)
def test_units_times_nav_is_within_one_unit_quantum_of_the_net_amount(
    net: Decimal, nav: Decimal
) -> None:
    # Bound from rounding: truncating units to 10**-3 loses less than one 0.001 unit, i.e.
    # 0 <= net - units x nav < nav x 0.001 (under a paisa only when the NAV is under ₹10);
    # half-up rounding keeps |net - units x nav| <= nav x 0.0005.
    units = allot_units(net, nav)
    assert 0 <= net - units * nav < nav * Decimal("0.001")
    units = allot_units(net, nav, rounding=ROUND_HALF_UP)
    assert abs(net - units * nav) <= nav * Decimal("0.0005")
