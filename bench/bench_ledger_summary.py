"""Scale: `summary` over a ledger of ~2,500 transactions in 20 schemes, against its floor.

    python bench/bench_ledger_summary.py [--repeat 7]

The portfolio (seeded, synthetic NAVs: a random walk on the weekdays from Dec 2015): 20
schemes; 10 of them have a monthly SIP whose every instalment a statement row confirms (with
units a little off the estimate, as a registrar's are); the other 10 have a monthly lump sum
with statement units; every scheme sells a fifth of its units each December and is paid IDCW
twice a year. That is 2,560 transactions, June 2017 to 2025-12-10.

Measured in-process, best CPU time of `--repeat`:

- `summarise(...)` over that ledger (the whole valuation: SIP instalments allotted, matched
  to their confirmed rows, FIFO replay, XIRR per scheme and in total);
- its floor: the same holdings written plainly (sort each scheme's rows by date, FIFO sales
  on a deque with Decimal costs in proportion, value at the latest NAV), with no SIP
  estimates, no matching, no XIRR, no warnings: everything it leaves out makes it lower;
- the same SIPs valued without transactions (today's fast path), for scale.

Then as whole processes, best CPU time (user + system) of `--repeat`, run alternately: the
same SIPs and ledger in a real store, `mftrack summary --json` against `bench/floor_ledger.py`
(the same reads from the same SQLite file and the same plain FIFO, printed as JSON).

Measure on a regular install with bytecode caching on, as bench_summary_scale.py says.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections import deque
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from pathlib import Path

from _common import line

from mftrack.domain.navs import NavSeries
from mftrack.domain.portfolio import summarise
from mftrack.domain.sips import Sip
from mftrack.domain.transactions import Transaction, TxnKind

START = date(2015, 12, 1)
AS_OF = date(2025, 12, 10)
SCHEMES = 20
MILLI, PAISA = Decimal("0.001"), Decimal("0.01")
FLOOR = Path(__file__).resolve().parent / "floor_ledger.py"


def best_cpu(fn: object, repeat: int) -> float:
    """Best CPU time (user + system, `time.process_time`) of `repeat` calls, in seconds: on a
    shared, loaded machine wall time measures the other processes too."""
    times = []
    for _ in range(repeat):
        started = time.process_time()
        fn()  # type: ignore[operator]
        times.append(time.process_time() - started)
    return min(times)


def weekday_navs(rng: random.Random) -> NavSeries:
    day, nav, points = START, 10.0, []
    while day <= AS_OF:
        if day.weekday() < 5:
            nav *= 1 + rng.gauss(0.0004, 0.01)
            points.append((day, Decimal(f"{nav:.4f}")))
        day += timedelta(days=1)
    return NavSeries(points)


def build() -> tuple[list[Sip], dict[int, NavSeries], list[Transaction]]:
    rng = random.Random(11)
    navs = {code: weekday_navs(rng) for code in range(1, SCHEMES + 1)}
    sips: list[Sip] = []
    txns: list[Transaction] = []
    n = 0
    for code, series in navs.items():
        plan = Sip(f"sip-{code}", code, Decimal(5000), date(2017, 6, 5), 5) if code <= 10 else None
        if plan is not None:
            sips.append(plan)
        held = Decimal(0)
        month = date(2017, 6, 5)
        while month <= AS_OF:
            found = series.first_on_or_after(month)
            assert found is not None
            on, nav = found
            units = (Decimal("4999.75") / nav).quantize(MILLI, ROUND_DOWN) + MILLI
            kind = TxnKind.SIP if plan else TxnKind.PURCHASE
            txns.append(
                Transaction(
                    f"t{n}",
                    code,
                    kind,
                    on,
                    Decimal(5000),
                    units,
                    nav,
                    Decimal("0.25"),
                    sip_id=plan.id if plan else None,
                )
            )
            n += 1
            held += units
            if month.month == 12:  # a fifth of the units each year
                sold = (held / 5).quantize(MILLI, ROUND_DOWN)
                txns.append(
                    Transaction(
                        f"t{n}",
                        code,
                        TxnKind.REDEMPTION,
                        on + timedelta(7),
                        (sold * nav).quantize(PAISA),
                        sold,
                    )
                )
                held -= sold
                n += 1
            if month.month in (3, 9):
                txns.append(
                    Transaction(
                        f"t{n}", code, TxnKind.DIVIDEND_PAYOUT, on + timedelta(10), Decimal(250)
                    )
                )
                n += 1
            month = (
                month.replace(year=month.year + 1, month=1)
                if month.month == 12
                else month.replace(month=month.month + 1)
            )
    return sips, navs, [t for t in txns if t.trade_date <= AS_OF]


def floor(navs: dict[int, NavSeries], txns: list[Transaction]) -> dict[int, tuple]:
    """Units, cost held and value per scheme: the ledger's work, written plainly."""
    by_scheme: dict[int, list[Transaction]] = {}
    for t in txns:
        by_scheme.setdefault(t.scheme_code, []).append(t)
    out = {}
    for code, rows in by_scheme.items():
        rows.sort(key=lambda t: t.trade_date)
        lots: deque[list[Decimal]] = deque()
        realised = Decimal(0)
        for t in rows:
            if t.kind in (TxnKind.SIP, TxnKind.PURCHASE):
                lots.append([t.units, t.amount])
            elif t.kind is TxnKind.REDEMPTION:
                left, cost = t.units, Decimal(0)
                while left:
                    lot = lots[0]
                    take = min(lot[0], left)
                    part = lot[1] if take == lot[0] else (lot[1] * take / lot[0]).quantize(PAISA)
                    lot[0] -= take
                    lot[1] -= part
                    cost += part
                    left -= take
                    if not lot[0]:
                        lots.popleft()
                realised += t.amount - cost
        units = sum((lot[0] for lot in lots), Decimal(0))
        cost = sum((lot[1] for lot in lots), Decimal(0))
        nav = navs[code].navs[-1]
        out[code] = (units, cost, (units * nav).quantize(PAISA, ROUND_HALF_UP), realised)
    return out


def child_cpu(args: list[str], env: dict[str, str], cwd: Path) -> float:
    """CPU seconds (user + system) of one child process run to the end."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(args, env=env, check=True, stdout=subprocess.DEVNULL, cwd=cwd)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime


def whole_process(
    sips: list[Sip], navs: dict[int, NavSeries], txns: list[Transaction], repeat: int
) -> tuple[float, float]:
    """Best CPU time of a `mftrack summary --json` process over the same ledger in a real
    store, and of its floor process (`bench/floor_ledger.py`), run alternately."""
    from mftrack.adapters.sqlite.store import LocalStore
    from mftrack.domain.schemes import NavQuote, SchemeInfo

    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        store = LocalStore(home / "mftrack.db", backup_dir=home / "backups")
        for code, series in navs.items():
            store.save_navs(
                [SchemeInfo(code, f"Synthetic scheme {code}")],
                [NavQuote(code, d, v) for d, v in series],
                source="amfi",
            )
        now = datetime.now(UTC)
        for sip in sips:
            store.insert_sip(replace(sip, created_at=now, updated_at=now))
        store.insert_transactions(replace(t, created_at=now, updated_at=now) for t in txns)
        store.close()
        env = {**os.environ, "MFTRACK_HOME": str(home), "MFTRACK_TODAY": AS_OF.isoformat()}
        cli = [sys.executable, "-m", "mftrack", "summary", "--json"]
        floor_args = [sys.executable, str(FLOOR), str(home / "mftrack.db"), AS_OF.isoformat()]
        cli_times, floor_times = [], []
        for _ in range(repeat):
            cli_times.append(child_cpu(cli, env, home))
            floor_times.append(child_cpu(floor_args, env, home))
        return min(cli_times), min(floor_times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    sips, navs, txns = build()
    names = {code: f"Synthetic scheme {code}" for code in navs}
    summary = summarise(sips, navs, names, AS_OF, transactions=txns)
    plain = floor(navs, txns)
    for s in summary.schemes:  # the floor does the same holdings
        assert (s.units, s.invested, s.value, s.realised_gain) == plain[s.scheme_code], s
    assert summary.total.confirmed == sum(1 for t in txns if t.kind is TxnKind.SIP)
    print(
        f"{SCHEMES} schemes, {len(txns):,} transactions ({summary.total.confirmed:,} confirm "
        f"SIP instalments), {START} to {AS_OF}; best of {args.repeat}"
    )
    floor_time = best_cpu(lambda: floor(navs, txns), args.repeat)
    ledger_time = best_cpu(
        lambda: summarise(sips, navs, names, AS_OF, transactions=txns), args.repeat
    )
    fast_time = best_cpu(lambda: summarise(sips, navs, names, AS_OF), args.repeat)
    print(line("  floor: FIFO holdings, written plainly", floor_time))
    print(line("  summarise over the ledger", ledger_time, floor_time))
    print(line("  summarise, the same SIPs without transactions", fast_time))
    process, process_floor = whole_process(sips, navs, txns, args.repeat)
    print(line("  floor process (bench/floor_ledger.py)", process_floor))
    print(line("  mftrack summary --json (whole process)", process, process_floor))
    print(f"load average while measuring: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
