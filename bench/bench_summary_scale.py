"""Scale: `summary --json` over 1,000-3,000 SIPs x 15 years of daily NAVs, against its floor.

    python bench/bench_summary_scale.py [--sips 1000 2000 3000] [--schemes 50] [--repeat 3]

Goal (issue 10): 1,000 SIPs x 15 y `mftrack summary --json` as a whole process within 1.5x
its pure-Python floor (`bench/floor_summary.py`: the same reads and the same Decimal
allotment, written plainly, also a whole process) measured in the same run; time per
instalment flat up to 3,000 SIPs; peak memory (max RSS) of each process reported.

Measure on a regular, non-editable install, with bytecode caching on:

    python3 -m venv /tmp/bench-venv && /tmp/bench-venv/bin/pip install -q .
    env -u PYTHONDONTWRITEBYTECODE /tmp/bench-venv/bin/python bench/bench_summary_scale.py

The processes run in a scratch folder, so `python -m mftrack` imports the installed package,
not the checkout; the script says which one it got. The NAV histories are synthetic (a seeded
random walk on weekdays): the real data set has no 15-year daily histories, and only the
volume matters here. In-process figures (loading, valuation) are printed too, for profiling.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from _common import REPO, best_of, line, measured

from mftrack.adapters.sqlite.store import LocalStore
from mftrack.domain.portfolio import summarise
from mftrack.domain.schemes import NavQuote, SchemeInfo
from mftrack.services.portfolio import load_navs
from mftrack.services.sips import add_sip

START = date(2010, 12, 1)
AS_OF = date(2025, 12, 10)
FLOOR = Path(__file__).resolve().parent / "floor_summary.py"


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


def keep_first(source: Path, target: Path, sips: int) -> None:
    """A copy of the database with only its first `sips` SIPs (the others removed outright)."""
    shutil.copy(source, target)
    conn = sqlite3.connect(target)
    ids = [row[0] for row in conn.execute("select id from sips order by rowid")][sips:]
    conn.executemany("delete from sips where id = ?", [(i,) for i in ids])
    conn.commit()
    conn.close()


def best(
    args: list[str], env: dict[str, str], cwd: Path, repeat: int
) -> tuple[float, float, int]:
    """Best wall time, best CPU time and the largest peak RSS of `repeat` runs."""
    runs = [measured(args, env, cwd) for _ in range(repeat)]
    return (min(r[0] for r in runs), min(r[1] for r in runs), max(r[2] for r in runs))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sips", type=int, nargs="+", default=[1000, 2000, 3000])
    parser.add_argument("--schemes", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        scratch = root / "cwd"
        scratch.mkdir()
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        probe = subprocess.run([sys.executable, "-c", "import mftrack; print(mftrack.__file__)"],
                               env=env, cwd=scratch, capture_output=True, text=True, check=True)
        installed = probe.stdout.strip()
        print(f"python {sys.version.split()[0]} at {sys.executable}; mftrack from {installed}")
        if installed.startswith(str(REPO)):
            print("WARNING: this is the checkout (an editable install), not a regular install")
        if os.environ.get("PYTHONDONTWRITEBYTECODE"):
            print("WARNING: PYTHONDONTWRITEBYTECODE is set: every run compiles from source")
        full = root / "full"
        full.mkdir()
        navs = build(full, max(args.sips), args.schemes)
        print(f"{args.schemes} schemes, {navs:,} daily NAVs {START} to {AS_OF}; "
              f"best of {args.repeat}; peak RSS is the largest of the runs")
        for sips in sorted(args.sips):
            home = root / f"h{sips}"
            home.mkdir()
            keep_first(full / "mftrack.db", home / "mftrack.db", sips)
            store = LocalStore(home / "mftrack.db", backup_dir=home / "backups")
            subset = store.list_sips()
            load, _ = best_of(lambda store=store, subset=subset: load_navs(store, subset, AS_OF),
                              args.repeat)
            navs_by_scheme = load_navs(store, subset, AS_OF)
            store.close()
            names = {code: f"Synthetic scheme {code}" for code in navs_by_scheme}
            value, _ = best_of(lambda subset=subset, navs_by_scheme=navs_by_scheme, names=names:
                               summarise(subset, navs_by_scheme, names, AS_OF), args.repeat)
            instalments = summarise(subset, navs_by_scheme, names, AS_OF).total.instalments
            run_env = {**env, "MFTRACK_HOME": str(home), "MFTRACK_TODAY": AS_OF.isoformat()}
            floor, floor_cpu, floor_rss = best(
                [sys.executable, str(FLOOR), str(home / "mftrack.db"), AS_OF.isoformat()],
                run_env, scratch, args.repeat)
            cli, cli_cpu, cli_rss = best([sys.executable, "-m", "mftrack", "summary", "--json"],
                                         run_env, scratch, args.repeat)
            print(f"-- {sips:,} SIPs, {instalments:,} instalments")
            print(line("  in-process: load NAV histories", load))
            print(line("  in-process: valuation", value)
                  + f"  {value / instalments * 1e6:5.2f} us/instalment")
            print(line("  floor process (bench/floor_summary.py)", floor)
                  + f"  cpu {floor_cpu * 1000:6.0f} ms  peak {floor_rss / 1024:6.1f} MiB")
            print(line("  mftrack summary --json (whole process)", cli, floor,
                       "goal <= 1.5x" if sips == 1000 else "")
                  + f"  cpu {cli_cpu * 1000:6.0f} ms ({cli_cpu / floor_cpu:4.2f}x)"
                  + f"  peak {cli_rss / 1024:6.1f} MiB  {cli / instalments * 1e6:5.2f} us/inst")
        print(f"load average while measuring: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
