"""The pure-Python floor of `mftrack summary --json`: the same work, written plainly.

    python bench/floor_summary.py DATABASE AS_OF

Stdlib only, run as its own process (so Python's start-up is in it too): read the live SIPs
and their schemes' NAVs from the same SQLite file, allot every monthly instalment at the first
weekday NAV on or after its due date (F3; the synthetic histories have no liquid funds), take
stamp duty out (F1), estimate units (3 places, down; F5), value each scheme at its latest NAV,
and print one JSON object with decimals as strings. No step-ups, pauses or amount changes (the
benchmark's SIPs have none), no XIRR, no warnings: everything it leaves out makes the floor
lower, never higher.
"""

from __future__ import annotations

import json
import sqlite3
import sys
from bisect import bisect_left, bisect_right
from datetime import date
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

STAMP_FROM = date(2020, 7, 1)
MILLI, PAISA = Decimal("0.001"), Decimal("0.01")


def dues(start: date, day: int, last: date) -> list[date]:
    out, year, month = [], start.year, start.month
    while True:
        due = date(year, month, day)  # the benchmark's SIP days are 1-28
        if due > last:
            return out
        if due >= start:
            out.append(due)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)


def main() -> None:
    db, as_of = sys.argv[1], date.fromisoformat(sys.argv[2])
    conn = sqlite3.connect(db)
    sips = conn.execute(
        "select scheme_code, amount, start_date, sip_day from sips where not deleted"
    ).fetchall()
    first = min(start for _, _, start, _ in sips)
    navs: dict[int, tuple[list[date], list[Decimal]]] = {}
    for code, day, nav in conn.execute(
        "select scheme_code, nav_date, nav from navs where nav_date between ? and ? "
        "order by scheme_code, nav_date",
        (first, as_of.isoformat()),
    ):
        dates, values = navs.setdefault(code, ([], []))
        dates.append(date.fromisoformat(day))
        values.append(Decimal(nav))
    conn.close()
    weekday_navs = {
        code: ([d for d in dates if d.weekday() < 5],
               [v for d, v in zip(dates, values, strict=True) if d.weekday() < 5])
        for code, (dates, values) in navs.items()
    }
    totals: dict[int, list[Decimal]] = {}
    for code, amount_text, start_text, day in sips:
        amount, start = Decimal(amount_text), date.fromisoformat(start_text)
        duty = (amount * Decimal("0.005") / Decimal("100.005")).quantize(PAISA, ROUND_HALF_UP)
        dates, values = weekday_navs[code]
        usable = bisect_right(dates, as_of)
        invested = units = Decimal(0)
        p = 0
        for due in dues(start, day, as_of):
            p = bisect_left(dates, due, p)
            if p >= usable:
                continue
            net = amount - duty if dates[p] >= STAMP_FROM else amount
            units += (net / values[p]).quantize(MILLI, ROUND_DOWN)
            invested += amount
        total = totals.setdefault(code, [Decimal(0), Decimal(0)])
        total[0] += invested
        total[1] += units
    schemes = []
    for code, (invested, units) in sorted(totals.items()):
        nav = navs[code][1][-1]
        value = (units * nav).quantize(PAISA, ROUND_HALF_UP)
        schemes.append({"scheme_code": code, "invested": str(invested), "units": str(units),
                        "nav": str(nav), "value": str(value), "gain": str(value - invested)})
    print(json.dumps({"as_of": as_of.isoformat(), "schemes": schemes}, indent=2))


if __name__ == "__main__":
    main()
