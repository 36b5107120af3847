"""XIRR of dated cash flows, Excel's convention, with "no answer" instead of a garbage number.

F10: Excel/OOXML XIRR solves sum(P_i / (1 + r) ** ((d_i - d_1) / 365)) = 0 on actual days over
365 (c-rex OOXML Part 4; learn.microsoft.com XIRR). Purchases are negative (gross, including
stamp duty), redemptions, payouts and the current value positive. At least one flow of each
sign is needed; when the solver finds no finite root the answer is None ("n/a"), never a
made-up rate (paisa #179). Whether to show XIRR at all for holdings under a year is the
caller's rule (SEBI: absolute return under one year).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import date
from decimal import Decimal

_ZERO = Decimal(0)


def xirr(flows: Iterable[tuple[date, Decimal]]) -> float | None:
    """Return the annual XIRR of `flows` as a fraction (0.1 = 10 %), or None if it has none.

    None when there is not both a negative and a positive flow, when pyxirr finds no root,
    or when the root is not a finite rate above -100 %.
    """
    merged: dict[date, Decimal] = {}
    get = merged.get
    for on, amount in flows:
        merged[on] = get(on, _ZERO) + amount
    return xirr_by_date(merged)


def xirr_by_date(merged: dict[date, Decimal | int]) -> float | None:
    """`xirr` of flows already summed per date (one entry per date), in the dict's order.

    An amount may be an int (whole rupees): exact like a Decimal, and ~8x cheaper to turn into
    a float (`float(Decimal)` goes through text); the valuation passes ints where it can.
    """
    if not merged or not min(merged.values()) < 0 < max(merged.values()):
        return None

    import pyxirr  # imported here so that importing mftrack.analytics stays cheap

    try:
        rate = pyxirr.xirr(
            list(merged),
            list(map(float, merged.values())),
            day_count=pyxirr.DayCount.ACT_365F,  # F10: actual days / 365, as Excel
        )
    except (pyxirr.InvalidPaymentsError, ValueError, OverflowError, ArithmeticError):
        return None
    if rate is None or not math.isfinite(rate) or rate <= -1.0:
        return None
    return float(rate)
