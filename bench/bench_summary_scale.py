"""Scale: `summary` over 1,000 SIPs x 15 years of daily NAVs, and how time grows with size.

    python bench/bench_summary_scale.py [--sips 1000] [--schemes 50]

Goal (issue 2): under 2 s for 1,000 SIPs x 15 years, growing linearly with instalments.
The NAV histories here are synthetic (a seeded random walk on business days): the real data
set has no 15-year daily histories, and only the volume matters for this measurement. The
floor is reading the same NAV rows with plain sqlite3 and converting them to Decimal.
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import sys
import tempfile
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from _common import best_of, line, run_process

from mftrack.adapters.sqlite.store import LocalStore
from mftrack.domain.portfolio import summarise
from mftrack.domain.schemes import NavQuote, SchemeInfo
from mftrack.services.portfolio import load_navs
from mftrack.services.sips import add_sip

START = date(2010, 12, 1)
AS_OF = date(2025, 12, 10)


def business_days(first: date, last: date) -> list[date]:
    day, days = first, []
    while day <= last:
        if day.weekday() < 5:
            days.append(day)
        day += timedelta(days=1)
    return days


def build(home: Path, sips: int, schemes: int) -> int:
    store = LocalStore(home / "mftrack.db", backup_dir=home / "backups")
    rng = random.Random(42)
    days = business_days(START, AS_OF)
    for code in range(1, schemes + 1):
        nav = 10.0
        quotes = []
        for day in days:
            nav *= 1 + rng.gauss(0.0005, 0.01)
            quotes.append(NavQuote(code, day, Decimal(f"{nav:.4f}")))
        store.save_navs([SchemeInfo(code, f"Synthetic scheme {code}")], quotes, source="amfi")
    for i in range(sips):
        add_sip(store=store, scheme_code=1 + i % schemes, amount=Decimal(1000 + 500 * (i % 9)),
                start=START + timedelta(days=i % 28), day=1 + i % 28)
    store.close()
    return len(days) * schemes


def floor_read(db: Path) -> None:
    conn = sqlite3.connect(db)
    rows = conn.execute("select scheme_code, nav_date, nav from navs order by 1, 2").fetchall()
    [(date.fromisoformat(d), Decimal(v)) for _, d, v in rows]
    conn.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sips", type=int, default=1000)
    parser.add_argument("--schemes", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        navs = build(home, args.sips, args.schemes)
        store = LocalStore(home / "mftrack.db", backup_dir=home / "backups")
        floor, _ = best_of(lambda: floor_read(home / "mftrack.db"), args.repeat)
        print(f"{args.sips} SIPs on {args.schemes} schemes, {navs:,} daily NAVs "
              f"{START} to {AS_OF}; best of {args.repeat}")
        print(line("floor: read all NAV rows with sqlite3 + Decimal", floor))
        all_sips = store.list_sips()
        load, _ = best_of(lambda: load_navs(store, all_sips, AS_OF), args.repeat)
        navs_by_scheme = load_navs(store, all_sips, AS_OF)
        names = {code: f"Synthetic scheme {code}" for code in navs_by_scheme}
        store.close()
        print(line("load SIPs' NAV histories from the store", load, floor))
        for fraction in (8, 4, 2, 1):
            subset = all_sips[: args.sips // fraction]
            elapsed, _ = best_of(
                lambda subset=subset: summarise(subset, navs_by_scheme, names, AS_OF),
                args.repeat,
            )
            instalments = summarise(subset, navs_by_scheme, names, AS_OF).total.instalments
            print(line(f"valuation: {len(subset):>5} SIPs, {instalments:>7,} instalments",
                       elapsed, floor)
                  + f"  {elapsed / instalments * 1e6:6.2f} us/instalment")
        env = {"MFTRACK_HOME": str(home), "MFTRACK_TODAY": AS_OF.isoformat()}
        cli, _ = best_of(
            lambda: run_process([sys.executable, "-m", "mftrack", "summary", "--json"], env),
            args.repeat,
        )
        print(line(f"mftrack summary --json, {args.sips} SIPs (whole process)", cli, floor,
                   "goal < 2 s"))


if __name__ == "__main__":
    main()
