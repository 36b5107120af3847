"""The pure-Python floor of `mftrack summary --json` over a ledger: the same work, plainly.

    python bench/floor_ledger.py DATABASE AS_OF

Stdlib only, run as its own process (so Python's start-up is in it too): read the live
transactions up to AS_OF and their schemes' NAVs from the same SQLite file, replay each
scheme's purchases and redemptions FIFO with Decimal costs in proportion (ledger-notes "FIFO
and units"), value the units held at the latest NAV and print one JSON object with decimals
as strings. No SIP estimates, no matching to instalments, no XIRR, no warnings: everything it
leaves out makes the floor lower, never higher.
"""

from __future__ import annotations

import json
import sqlite3
import sys
from collections import deque
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

PAISA = Decimal("0.01")


def main() -> None:
    db, as_of = sys.argv[1], date.fromisoformat(sys.argv[2])
    conn = sqlite3.connect(db)
    rows = conn.execute(
        "select scheme_code, kind, trade_date, amount, units from transactions "
        "where not deleted and trade_date <= ? order by trade_date, created_at, id",
        (as_of.isoformat(),),
    ).fetchall()
    first = min(row[2] for row in rows)
    navs: dict[int, list[tuple[date, Decimal]]] = {}
    for code, day, nav in conn.execute(
        "select scheme_code, nav_date, nav from navs where nav_date between ? and ? "
        "order by scheme_code, nav_date",
        (first, as_of.isoformat()),
    ):
        navs.setdefault(code, []).append((date.fromisoformat(day), Decimal(nav)))
    conn.close()
    lots: dict[int, deque[list[Decimal]]] = {}
    realised: dict[int, Decimal] = {}
    for code, kind, _, amount, units in rows:
        held = lots.setdefault(code, deque())
        if kind in ("purchase", "sip", "switch_in", "dividend_reinvest"):
            held.append([Decimal(units), Decimal(amount)])
        elif kind in ("redemption", "switch_out"):
            left, cost = Decimal(units), Decimal(0)
            while left:
                lot = held[0]
                take = min(lot[0], left)
                part = lot[1] if take == lot[0] else (lot[1] * take / lot[0]).quantize(PAISA)
                lot[0] -= take
                lot[1] -= part
                cost += part
                left -= take
                if not lot[0]:
                    held.popleft()
            realised[code] = realised.get(code, Decimal(0)) + Decimal(amount) - cost
    schemes = []
    for code, held in sorted(lots.items()):
        units = sum((lot[0] for lot in held), Decimal(0))
        cost = sum((lot[1] for lot in held), Decimal(0))
        value = (units * navs[code][-1][1]).quantize(PAISA, ROUND_HALF_UP)
        schemes.append({"scheme_code": code, "units": str(units), "invested": str(cost),
                        "value": str(value), "realised_gain": str(realised.get(code, 0))})
    print(json.dumps({"as_of": as_of.isoformat(), "schemes": schemes}, indent=2))


if __name__ == "__main__":
    main()
