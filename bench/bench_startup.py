"""Start-up: `mftrack --help` and `mftrack summary` (20 SIPs, 10 years) against `python -c pass`.

    python bench/bench_startup.py [--repeat N]

Goals (issue 2): --help under 0.15 s and summary under 0.4 s on the CI machine, and --help
imports neither pandas, matplotlib, SQLAlchemy's ORM nor httpx.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

from _common import REPO, SHARED, best_of, line, run_process

LONG_HISTORIES = (120503, 118989, 122639, 120716, 125497, 120465, 119551, 118550, 119800, 118395)


def build_portfolio(home: Path) -> None:
    """20 SIPs over the ten long real histories, each started in Dec 2015 (10 years of data)."""
    env = {"MFTRACK_HOME": str(home)}
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
        "'supabase') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    return out.stdout.split()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()
    entry = str(Path(sys.executable).with_name("mftrack"))
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        build_portfolio(home)
        env = {"MFTRACK_HOME": str(home), "MFTRACK_TODAY": "2025-12-10", "NO_COLOR": "1"}
        floor, _ = best_of(lambda: run_process([sys.executable, "-c", "pass"]), args.repeat)
        help_py, help_med = best_of(
            lambda: run_process([sys.executable, "-m", "mftrack", "--help"], env), args.repeat
        )
        help_entry, _ = best_of(lambda: run_process([entry, "--help"], env), args.repeat)
        summary, summary_med = best_of(
            lambda: run_process([entry, "summary"], env), args.repeat
        )
        summary_json, _ = best_of(lambda: run_process([entry, "summary", "--json"], env),
                                  args.repeat)
    print(f"start-up, best of {args.repeat} (median in brackets)")
    print(line("python -c pass (floor)", floor))
    print(line("mftrack --help (console script)", help_entry, floor, "goal < 150 ms"))
    print(line("python -m mftrack --help", help_py, floor) + f"  [median {help_med*1000:.1f}]")
    print(line("mftrack summary (20 SIPs x 10 years)", summary, floor, "goal < 400 ms")
          + f"  [median {summary_med*1000:.1f}]")
    print(line("mftrack summary --json", summary_json, floor))
    heavy = heavy_modules_after_help()
    print(f"heavy modules imported by --help: {heavy or 'none'}")


if __name__ == "__main__":
    main()
