"""Shared helpers for the benchmarks: timing, temp homes, the real data set."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "amfi-data"
sys.path.insert(0, str(REPO))


def best_of(fn: Callable[[], object], repeat: int = 5) -> tuple[float, float]:
    """(best, median) wall seconds of `repeat` calls."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times), statistics.median(times)


def run_process(args: list[str], env: dict[str, str] | None = None) -> None:
    full = dict(os.environ)
    if env:
        full.update(env)
    proc = subprocess.run(args, capture_output=True, env=full, cwd=REPO)
    if proc.returncode != 0:
        raise SystemExit(f"{args} failed: {proc.stderr.decode()[-500:]}")


def line(name: str, seconds: float, floor: float | None = None, goal: str = "") -> str:
    ratio = f"  ({seconds / floor:5.1f}x floor)" if floor else ""
    return f"{name:<48} {seconds * 1000:9.1f} ms{ratio}  {goal}".rstrip()


# Forks the measured command from a small process and reports its wall time and max RSS:
# a child forked from this (large) benchmark process would inherit its RSS high-water mark.
_TIMER = """
import os, sys, time
start = time.perf_counter()
pid = os.fork()
if pid == 0:
    os.execv(sys.argv[1], sys.argv[1:])
_, status, usage = os.wait4(pid, 0)
print(time.perf_counter() - start, usage.ru_utime + usage.ru_stime, usage.ru_maxrss,
      os.waitstatus_to_exitcode(status), file=sys.stderr)
"""


def measured(args: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float, int]:
    """(wall seconds, CPU seconds, peak RSS in KiB) of one process."""
    proc = subprocess.run(
        [sys.executable, "-c", _TIMER, *args],
        env=env,
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    *messages, last = proc.stderr.strip().splitlines()
    elapsed, cpu, rss, code = last.split()
    if code != "0":
        raise SystemExit(f"{args} failed: {chr(10).join(messages)[-500:]}")
    return float(elapsed), float(cpu), int(rss)
