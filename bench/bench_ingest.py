"""Ingest: one real NAVAll.txt parsed and stored, against a plain split + executemany floor.

    python bench/bench_ingest.py [--repeat N] [--file NAVAll.txt]

Goals: in-process (issue 2) under 0.5 s and within 2x of the floor (plain `str.split` of the
same rows plus `sqlite3.executemany` into the same two tables of a freshly migrated database);
as whole processes (issue 10) `mftrack nav import FILE` within 2x of a process that runs the
same floor (Python start-up included on both sides). Run it from a regular, non-editable
install (`pip install .` into its own venv) with PYTHONDONTWRITEBYTECODE unset, so both
processes start from compiled bytecode as a user's would.
"""

from __future__ import annotations

import argparse
import inspect
import os
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

from _common import SHARED, best_of, line, measured

from mftrack.adapters.amfi.navall import parse_navall
from mftrack.adapters.sqlite.store import LocalStore
from mftrack.services.navs import store_parsed

DEFAULT = SHARED / "navall" / "NAVAll_2026-08-21_8col-plan-option.txt"


def floor_ingest(text: str, db: Path) -> int:
    """The least work that stores the same rows in the same tables: split on ';', then
    `sqlite3.executemany` plain INSERT OR REPLACEs in one transaction (no header lookup, no
    validation, no NAV parsing, no source precedence). The database is created beforehand by
    mftrack's migrations, so both sides write the same schema with the same indexes."""
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("pragma synchronous=normal")
    rows = [ln.split(";") for ln in text.splitlines() if ";" in ln][1:]
    conn.execute("begin")
    conn.executemany(
        "insert or replace into schemes (scheme_code, name, isin_growth, isin_reinvest, plan, "
        "option, category, scheme_type, fund_house, latest_nav, latest_nav_date, updated_at) "
        "values (?,?,?,?,?,?,?,?,?,?,?,'now')",
        [(int(r[0]), r[3], r[1], r[2], r[4], r[5], None, None, None, r[-2], r[-1]) for r in rows],
    )
    conn.executemany(
        "insert or replace into navs values (?,?,?,'amfi')",
        [(int(r[0]), r[-1], r[-2]) for r in rows],
    )
    conn.execute("commit")
    conn.close()
    return len(rows)


def whole_processes(path: Path, tmp: Path, repeat: int) -> dict[str, tuple[float, float]]:
    """Best (wall, CPU) seconds of the floor, `mftrack nav import` into a new database, and
    the same re-run into a full one, as processes, run in turns so that other work on the
    machine weighs on all three alike.

    The floor process runs `floor_ingest` (its source is passed with `-c`: no mftrack import).
    Both sides write into a database created and migrated beforehand, outside the timing. CPU
    time (user + system of the process) is the figure to judge on a shared machine."""
    entry = str(Path(sys.executable).with_name("mftrack"))
    env = {
        k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "PYTHONPATH")
    }
    env["NO_COLOR"] = "1"
    floor_src = (
        "import sqlite3, sys\nfrom pathlib import Path\n"
        + inspect.getsource(floor_ingest)
        + "floor_ingest(Path(sys.argv[1]).read_text(encoding='utf-8'), "
        "Path(sys.argv[2]))\n"
    )
    counter = iter(range(10_000))
    scratch = tmp / "cwd"  # outside the checkout: the installed package is imported
    scratch.mkdir(exist_ok=True)

    def fresh_home() -> Path:
        home = tmp / f"proc{next(counter)}"
        LocalStore(home / "mftrack.db", backup_dir=home / "backups").close()
        return home

    def floor() -> tuple[float, float]:
        home = fresh_home()
        return measured(
            [sys.executable, "-c", floor_src, str(path), str(home / "mftrack.db")], env, scratch
        )[:2]

    def ours(home: Path) -> tuple[float, float]:
        return measured(
            [entry, "-q", "nav", "import", str(path)], {**env, "MFTRACK_HOME": str(home)}, scratch
        )[:2]

    floor()  # warm the page cache and the bytecode caches of both sides
    warm = fresh_home()
    ours(warm)
    runs: dict[str, list[tuple[float, float]]] = {"floor": [], "new": [], "again": []}
    for _ in range(repeat):
        runs["floor"].append(floor())
        runs["new"].append(ours(fresh_home()))
        runs["again"].append(ours(warm))
    return {k: (min(r[0] for r in v), min(r[1] for r in v)) for k, v in runs.items()}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--file", type=Path, default=DEFAULT)
    args = parser.parse_args()
    text = args.file.read_text(encoding="utf-8")
    with tempfile.TemporaryDirectory() as tmp:
        counter = iter(range(10_000))

        def ours() -> float:
            folder = Path(tmp) / f"ours{next(counter)}"
            # Creating and migrating the empty database is not ingest: it happens once.
            store = LocalStore(folder / "mftrack.db", backup_dir=folder / "b")
            start = time.perf_counter()
            store_parsed(store, parse_navall(text), origin="bench")
            elapsed = time.perf_counter() - start
            store.close()
            return elapsed

        def parse_only() -> None:
            parse_navall(text)

        def fresh_db() -> Path:
            folder = Path(tmp) / f"floor{next(counter)}"
            LocalStore(folder / "mftrack.db", backup_dir=folder / "b").close()
            return folder / "mftrack.db"

        def floor() -> float:
            db = fresh_db()  # created and migrated outside the timed part, as for ours
            start = time.perf_counter()
            floor_ingest(text, db)
            return time.perf_counter() - start

        rows = floor_ingest(text, fresh_db())
        floor_t = min(floor() for _ in range(args.repeat))
        parse_t, _ = best_of(parse_only, args.repeat)
        ours_runs = sorted(ours() for _ in range(args.repeat))
        ours_t, ours_med = ours_runs[0], ours_runs[len(ours_runs) // 2]
        # The same with the database already created (a daily re-pull into an existing store).
        folder = Path(tmp) / "warm"
        store = LocalStore(folder / "mftrack.db", backup_dir=folder / "b")
        warm_t, _ = best_of(
            lambda: store_parsed(store, parse_navall(text), origin="bench"), args.repeat
        )
        store.close()
        procs = whole_processes(args.file, Path(tmp), args.repeat)
    print(f"ingest of {args.file.name}: {rows:,} rows, best of {args.repeat}")
    print(line("floor: split + sqlite3.executemany", floor_t))
    print(line("parse_navall only", parse_t, floor_t))
    print(
        line("parse + store into a new database", ours_t, floor_t, "goal < 500 ms, < 2x")
        + f"  [median {ours_med * 1000:.1f}]"
    )
    print(line("parse + store again (idempotent re-run)", warm_t, floor_t))
    print("whole processes (wall, then CPU: the goal is judged on CPU):")
    (floor_wall, floor_cpu) = procs["floor"]
    for key, name, goal in (
        ("floor", "floor process: split + executemany", ""),
        ("new", "mftrack nav import, new database", "goal <= 2x"),
        ("again", "mftrack nav import, again (re-run)", ""),
    ):
        wall, cpu = procs[key]
        print(
            line(name, wall, floor_wall)
            + f"  cpu {cpu * 1000:6.0f} ms ({cpu / floor_cpu:4.2f}x)  {goal}".rstrip()
        )
    print(f"load average while measuring: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
