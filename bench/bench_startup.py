"""Start-up: `mftrack --help`, `sips` and `summary` (20 SIPs, 10 years) against floors.

    python bench/bench_startup.py [--repeat N]

Run it with the Python of a regular, non-editable install (`python -m venv /tmp/v &&
/tmp/v/bin/pip install . && /tmp/v/bin/python bench/bench_startup.py`) and with
PYTHONDONTWRITEBYTECODE unset, so the floors and mftrack both load cached bytecode.

Goals (issue 10), each a ratio of CPU time (user + system, `getrusage`) to a floor measured in
the same run (wall time on a shared machine mostly measures waiting; both are printed):
- `mftrack --help` <= 1.2x `python -c 'import typer'`;
- `mftrack sips` and `mftrack summary` <= 1.5x a floor process that starts Python, imports
  the CLI library (typer), reads the same rows with `sqlite3` and does the same Decimal
  valuation with mftrack's pure core (`mftrack.domain`), printing the totals.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import REPO, SHARED

LONG_HISTORIES = (120503, 118989, 122639, 120716, 125497, 120465, 119551, 118550, 119800, 118395)
AS_OF = "2025-12-10"

# The floors import from the installed package only what the work itself needs.
_READ_SIPS = """
import json, sqlite3, sys, typer
from mftrack.domain.sip_record import SYNCED_FIELDS, sip_from_record
db = sqlite3.connect(sys.argv[1])
cols = ("id", *SYNCED_FIELDS, "server_version")
sips = []
for row in db.execute(f"select {', '.join(cols)} from sips where deleted = 0"):
    rec = dict(zip(cols, row))
    rec["pauses"] = json.loads(rec["pauses"] or "[]")
    rec["amount_changes"] = json.loads(rec["amount_changes"] or "[]")
    sips.append(sip_from_record(rec))
codes = sorted({s.scheme_code for s in sips})
marks = ",".join("?" * len(codes))
names = dict(db.execute(f"select scheme_code, name from schemes where scheme_code in ({marks})",
                        codes).fetchall())
"""

FLOOR_SIPS = _READ_SIPS + """
from datetime import date
from mftrack.domain.sips import amount_for
today = date.fromisoformat(sys.argv[2])
for s in sips:
    print(s.id[:8], s.scheme_code, names[s.scheme_code], amount_for(s, max(today, s.start_date)))
"""

FLOOR_SUMMARY = _READ_SIPS + """
from datetime import date
from decimal import Decimal
from mftrack.domain.navs import NavSeries
from mftrack.domain.options import ValuationOptions
from mftrack.domain.portfolio import summarise
as_of = date.fromisoformat(sys.argv[2])
first = min(s.start_date for s in sips).isoformat()
histories = {c: [] for c in codes}
for code, day, nav in db.execute(
        f"select scheme_code, nav_date, nav from navs where scheme_code in ({marks}) "
        "and nav_date between ? and ? order by scheme_code, nav_date",
        (*codes, first, as_of.isoformat())):
    histories[code].append((date.fromisoformat(day), Decimal(nav)))
navs = {c: NavSeries(points) for c, points in histories.items()}
result = summarise(sips, navs, names, as_of, ValuationOptions())
for s in result.schemes:
    print(s.scheme_code, s.scheme_name, s.invested, s.units, s.value, s.xirr)
print(result.total.invested, result.total.value, result.total.xirr)
"""


def run_process(args: list[str], env: dict[str, str] | None = None) -> None:
    """Run outside the repository, so `python -c` finds the installed mftrack, not ./mftrack."""
    proc = subprocess.run(args, capture_output=True, env={**os.environ, **(env or {})}, cwd="/")
    if proc.returncode != 0:
        raise SystemExit(f"{args[:3]} failed: {proc.stderr.decode()[-500:]}")


def build_portfolio(home: Path) -> None:
    """20 SIPs over the ten long real histories, each started in Dec 2015 (10 years of data)."""
    env = {"MFTRACK_HOME": str(home), "MFTRACK_NAV_FETCH_ON_ADD": "off"}  # offline: files
    files = [str(next((SHARED / "mfapi").glob(f"mfapi_{code}_*.json"))) for code in LONG_HISTORIES]
    run_process([sys.executable, "-m", "mftrack", "-q", "nav", "import", *files], env)
    for i in range(20):
        code = LONG_HISTORIES[i % len(LONG_HISTORIES)]
        run_process([sys.executable, "-m", "mftrack", "-q", "add-sip", str(code),
                     "--amount", str(1000 * (1 + i % 5)), "--start", f"2015-12-{1 + i:02d}"], env)


def heavy_modules_after_help() -> list[str]:
    code = (
        "import contextlib, io, sys\n"
        "from mftrack.cli import app\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    try:\n        app(['--help'])\n    except SystemExit:\n        pass\n"
        "print(' '.join(m for m in ('pandas','matplotlib','sqlalchemy.orm','httpx','plotext',"
        "'supabase','pydantic') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd="/")
    return out.stdout.split()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()
    if "PYTHONDONTWRITEBYTECODE" in os.environ:
        raise SystemExit("unset PYTHONDONTWRITEBYTECODE: the figures assume cached bytecode")
    where = subprocess.run([sys.executable, "-c", "import mftrack; print(mftrack.__file__)"],
                           capture_output=True, text=True, cwd="/").stdout.strip()
    editable = Path(where).resolve().is_relative_to(REPO)
    entry = str(Path(sys.executable).with_name("mftrack"))
    n = args.repeat
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        build_portfolio(home)
        env = {"MFTRACK_HOME": str(home), "MFTRACK_TODAY": AS_OF, "NO_COLOR": "1"}
        db = str(home / "mftrack.db")

        def run(argv: list[str]) -> tuple[float, float, float]:
            """(best wall, median wall, best CPU) seconds; CPU = the child's user + system
            time, which the other processes on a loaded machine move far less than wall."""
            walls, cpus = [], []
            for _ in range(n):
                before = resource.getrusage(resource.RUSAGE_CHILDREN)
                start = time.perf_counter()
                run_process(argv, env)
                walls.append(time.perf_counter() - start)
                after = resource.getrusage(resource.RUSAGE_CHILDREN)
                cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
            return min(walls), statistics.median(walls), min(cpus)

        py = [sys.executable]
        rows = [
            ("python -c pass", run([*py, "-c", "pass"]), None, ""),
            ("python -c 'import typer' (floor A)", run([*py, "-c", "import typer"]), None, ""),
            ("mftrack --help", run([entry, "--help"]), "A", "<= 1.2x A"),
            ("floor B: start + typer + sqlite reads + amounts",
             run([*py, "-c", FLOOR_SIPS, db, AS_OF]), None, ""),
            ("mftrack sips", run([entry, "sips"]), "B", "<= 1.5x B"),
            ("floor C: start + typer + sqlite reads + valuation",
             run([*py, "-c", FLOOR_SUMMARY, db, AS_OF]), None, ""),
            ("mftrack summary (20 SIPs x 10 years)", run([entry, "summary"]), "C", "<= 1.5x C"),
            ("mftrack summary --json", run([entry, "summary", "--json"]), "C", ""),
        ]
    # The goals are judged on CPU time: on a shared machine wall time mostly measures waiting.
    floors = {"A": rows[1][1][2], "B": rows[3][1][2], "C": rows[5][1][2]}
    install = "EDITABLE install: floors not comparable" if editable else "regular install"
    print(f"start-up, best of {n}; wall: best [median]; CPU: best, ratio to its floor; "
          f"{install}; {sys.version.split()[0]}; load average {os.getloadavg()[0]:.1f}")
    for name, (best, median, cpu), floor, goal in rows:
        base = floors.get(floor or "")
        ratio = f"{cpu / base:4.2f}x {floor}" if base else ""
        print(f"{name:<52} {best * 1000:7.1f} ms [{median * 1000:7.1f}]  CPU {cpu * 1000:6.1f} ms"
              f"  {ratio:>8}  {goal}")
    heavy = heavy_modules_after_help()
    print(f"heavy modules imported by --help: {heavy or 'none'}")


if __name__ == "__main__":
    main()
