"""Indian number formatting: ₹12,34,567.89, lakh/crore, percentages, dates."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

LAKH = Decimal(100_000)
CRORE = Decimal(10_000_000)


def group_indian(whole: int) -> str:
    """12345678 -> '1,23,45,678' (the last three digits, then groups of two)."""
    sign = "-" if whole < 0 else ""
    digits = str(abs(whole))
    if len(digits) <= 3:
        return sign + digits
    head, tail = digits[:-3], digits[-3:]
    groups = []
    while len(head) > 2:
        groups.insert(0, head[-2:])
        head = head[:-2]
    if head:
        groups.insert(0, head)
    return sign + ",".join(groups) + "," + tail


def rupees(value: Decimal | None, *, places: int = 2, symbol: bool = True) -> str:
    """₹12,34,567.89 (Indian grouping); '—' for None."""
    if value is None:
        return "—"
    quantum = Decimal(1).scaleb(-places)
    amount = value.quantize(quantum, rounding=ROUND_HALF_UP)
    negative = amount < 0
    whole = int(abs(amount))
    text = group_indian(whole)
    if places:
        fraction = str(abs(amount)).split(".")[1] if "." in str(abs(amount)) else "0" * places
        text += "." + fraction.ljust(places, "0")[:places]
    return ("-" if negative else "") + ("₹" if symbol else "") + text


def rupees_short(value: Decimal | None) -> str:
    """₹12.35 L / ₹1.20 Cr for large amounts, plain rupees below a lakh."""
    if value is None:
        return "—"
    magnitude = abs(value)
    if magnitude >= CRORE:
        return f"{'-' if value < 0 else ''}₹{(magnitude / CRORE).quantize(Decimal('0.01'))} Cr"
    if magnitude >= LAKH:
        return f"{'-' if value < 0 else ''}₹{(magnitude / LAKH).quantize(Decimal('0.01'))} L"
    return rupees(value, places=0)


def percent(rate: float | Decimal | None, *, places: int = 2) -> str:
    """0.1234 -> '12.34%'; None -> 'n/a'."""
    if rate is None:
        return "n/a"
    return f"{float(rate) * 100:.{places}f}%"


def plain_decimal(value: Decimal | None) -> str:
    return "" if value is None else format(value, "f")


def iso(value: date | None) -> str:
    return value.isoformat() if value else "—"
