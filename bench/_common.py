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
