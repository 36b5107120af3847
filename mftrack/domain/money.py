"""Rupees, NAVs and units as exact Decimals; stamp duty and unit allotment.

Decimal discipline (applies to the whole of `mftrack.domain`):

- Money, NAVs and units are `Decimal`, built from `str` or `int`, never from a `float`.
- A value is quantised only where a rule says so: money to the paisa (`paisa`), units to the
  RTA's decimals (`allot_units`), ratios and average costs where a summary is produced. Sums of
  quantised values stay exact, so totals always add up.
- Floats exist only inside `mftrack.analytics` (pyxirr) and are converted back at its edge.
- The default context (28 significant digits) is enough: quotients of AMFI-sized numbers are
  exact to far more places than any quantum used here, so quantising never double-rounds.
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from functools import lru_cache
from typing import TypeAlias

from mftrack.errors import InvalidInputError

Rupees: TypeAlias = Decimal
Units: TypeAlias = Decimal
Nav: TypeAlias = Decimal

ZERO = Decimal(0)
PAISA = Decimal("0.01")
RUPEE = Decimal(1)

# F1: stamp duty of 0.005 % on every issue of MF units (SIP, lump sum, switch-in, IDCW
# reinvestment) under the Indian Stamp Act, 1899 as amended by the Finance Act, 2019, in force
# from 1 July 2020 (livemint 2020-07-02; casparser CHANGELOG). It is deducted from the amount
# paid and units are allotted on the rest, so stamp = amount x 0.005 / 100.005
# (a ₹5,000 SIP pays ₹0.25 and invests ₹4,999.75).
STAMP_DUTY_START = date(2020, 7, 1)
STAMP_DUTY_PERCENT = Decimal("0.005")
_HUNDRED = Decimal(100)

# F5: RTAs "usually" allot units to 3 decimals (Value Research, story 4178). Platforms that
# show more decimals truncate (Zerodha Coin: 320.30749... shown as 320.3074). We default to
# 3 decimals rounded DOWN, so an estimated allotment never issues units worth more than the
# money invested (units x NAV <= net amount); both are parameters, and the units the RTA
# actually reports always win over this estimate.
DEFAULT_UNIT_PLACES = 3
DEFAULT_UNIT_ROUNDING = ROUND_DOWN


def paisa(amount: Decimal) -> Rupees:
    """Round an amount of rupees to the paisa (half up, as bills and statements do)."""
    return amount.quantize(PAISA, ROUND_HALF_UP)  # positional: keywords cost 2x here


def whole_rupees(amount: Decimal) -> Rupees:
    """Round an amount of rupees to the whole rupee (half up)."""
    return amount.quantize(RUPEE, ROUND_HALF_UP)


@lru_cache(maxsize=16)
def unit_quantum(places: int) -> Decimal:
    """Return the quantum `10**-places` for units (cached: it is used once per instalment)."""
    if not 0 <= places <= 8:
        raise InvalidInputError(f"unit decimals must be between 0 and 8, not {places}")
    return Decimal(1).scaleb(-places)


def is_stamp_dutiable(allot_date: date) -> bool:
    """Tell whether an allotment on `allot_date` pays stamp duty (F1: from 1 July 2020)."""
    return allot_date >= STAMP_DUTY_START


def stamp_duty(amount: Decimal, allot_date: date) -> Rupees:
    """Return the stamp duty taken out of `amount` for units allotted on `allot_date`.

    F1: zero before 1 July 2020, else `amount x 0.005 / 100.005` to the paisa, half up
    (₹5,000 -> ₹0.25). The duty is part of the cost of acquisition.
    """
    if amount < 0:
        raise InvalidInputError(f"an instalment amount cannot be negative: {amount}")
    if not is_stamp_dutiable(allot_date):
        return ZERO
    return paisa(amount * STAMP_DUTY_PERCENT / (_HUNDRED + STAMP_DUTY_PERCENT))


def split_stamp_duty(amount: Decimal, allot_date: date) -> tuple[Rupees, Rupees]:
    """Split a gross amount into `(stamp_duty, net_amount)`; the two always add up to it."""
    duty = stamp_duty(amount, allot_date)
    return duty, amount - duty


def allot_units(
    net_amount: Decimal,
    nav: Decimal,
    places: int = DEFAULT_UNIT_PLACES,
    rounding: str = DEFAULT_UNIT_ROUNDING,
) -> Units:
    """Return the units `net_amount` buys at `nav`, to `places` decimals with `rounding`.

    The default (3 decimals, rounded down) is an estimate of what the RTA allots (F5).
    With ROUND_DOWN, `0 <= net_amount - units x nav < nav x 10**-places`.
    """
    if nav <= 0:
        raise InvalidInputError(f"a NAV must be positive, not {nav}")
    return (net_amount / nav).quantize(unit_quantum(places), rounding=rounding)
