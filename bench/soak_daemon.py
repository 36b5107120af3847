"""Soak: the real daemon writes the database while CLI commands read and write it too.

    python bench/soak_daemon.py                 # 120 s, 4 CLI workers, jobs every 2 s
    python bench/soak_daemon.py --duration 30 --workers 2 --interval 1

A loopback AMFI serves the real NAVAll files (10-Dec and 11-Dec 2025, alternating, so every
pull writes ~8,000 NAV rows) and mfapi.in histories. The daemon runs as a real subprocess with
its schedule compressed (MFTRACK_DAEMON_COMPRESS_SECONDS: NAV window open all day, every job
every --interval seconds). Meanwhile --workers threads run `mftrack add-sip`, `edit-sip` and
`summary --json` as subprocesses in a loop. At the end the daemon gets SIGTERM and the script
checks that every SIP added is present with its last edited amount.

Figures printed: operations by kind, failures, "database is locked" errors (must be 0), lost
writes (must be 0), daemon job runs and failures, and how long SIGTERM took. A first phase
(--baseline seconds) runs the same load without the daemon, for comparison.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from itertools import cycle
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.helpers import MFAPI, NAVALL  # noqa: E402
from tests.loopback import LoopbackServer, Reply  # noqa: E402

SCHEMES = (120503, 118989, 122639, 119551, 125497, 120716, 119800, 118550)
LOCKED = ("database is locked", "database is busy", "locked by another process")


@dataclass
class Tally:
    ops: Counter[str] = field(default_factory=Counter)
    failures: Counter[str] = field(default_factory=Counter)
    locked: int = 0
    seconds: dict[str, float] = field(default_factory=dict)
    slowest: dict[str, float] = field(default_factory=dict)
    expected: dict[str, str] = field(default_factory=dict)  # sip id -> last amount set
    examples: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, kind: str, proc: subprocess.CompletedProcess[str], took: float) -> None:
        with self.lock:
            self.ops[kind] += 1
            self.seconds[kind] = self.seconds.get(kind, 0.0) + took
            self.slowest[kind] = max(self.slowest.get(kind, 0.0), took)
            if any(text in proc.stderr for text in LOCKED):
                self.locked += 1
            if proc.returncode != 0:
                self.failures[kind] += 1
                if len(self.examples) < 5:
                    self.examples.append(f"{kind}: exit {proc.returncode}: {proc.stderr[-300:]}")


def mftrack(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mftrack", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=120,
    )


def worker(env: dict[str, str], tally: Tally, deadline: float, seed: int) -> None:
    rng = random.Random(seed)
    mine: list[str] = []
    for kind in cycle(("add-sip", "summary", "edit-sip", "summary")):
        if time.monotonic() >= deadline:
            return
        if kind == "edit-sip" and not mine:
            continue
        if kind == "add-sip":
            start = f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
            amount = str(rng.randrange(500, 20000, 500))
            args = ["add-sip", str(rng.choice(SCHEMES)), "--amount", amount, "--start", start]
        elif kind == "edit-sip":
            sip_id = rng.choice(mine)
            amount = str(int(tally.expected[sip_id]) + 500)  # always a change
            args = ["edit-sip", sip_id, "--amount", amount]
        else:
            args = ["summary", "--json"]
        began = time.monotonic()
        proc = mftrack(env, *args)
        tally.record(kind, proc, time.monotonic() - began)
        if proc.returncode != 0:
            continue
        if kind == "add-sip":
            sip_id = proc.stdout.strip()
            mine.append(sip_id)
            with tally.lock:
                tally.expected[sip_id] = amount
        elif kind == "edit-sip":
            with tally.lock:
                tally.expected[sip_id] = amount
        else:
            json.loads(proc.stdout)  # a complete, valid summary


def serve_amfi() -> LoopbackServer:
    server = LoopbackServer()
    files = [(NAVALL / f"NAVAll_2025-12-{d}.txt").read_bytes() for d in ("10", "11")]
    turn = cycle(files)
    server.route("/NAVAll.txt", lambda _request: Reply(body=next(turn)))
    for path in MFAPI.glob("mfapi_*.json"):
        code = path.name.split("_")[1]
        server.route(f"/mf/{code}", Reply(body=path.read_bytes(), content_type="application/json"))
    return server


def run_load(env: dict[str, str], workers: int, seconds: float) -> tuple[Tally, float]:
    tally = Tally()
    began = time.monotonic()
    threads = [
        threading.Thread(target=worker, args=(env, tally, began + seconds, n))
        for n in range(workers)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return tally, time.monotonic() - began


def print_ops(title: str, tally: Tally) -> None:
    print(title)
    print(f"  {'operation':<10} {'count':>7} {'failed':>7} {'mean ms':>9} {'max ms':>9}")
    for kind in ("add-sip", "edit-sip", "summary"):
        count = tally.ops[kind]
        mean = tally.seconds.get(kind, 0.0) / count * 1000 if count else 0.0
        slowest = tally.slowest.get(kind, 0.0) * 1000
        print(f"  {kind:<10} {count:>7} {tally.failures[kind]:>7} {mean:>9.0f} {slowest:>9.0f}")
    print(f"  {'total':<10} {sum(tally.ops.values()):>7} {sum(tally.failures.values()):>7}")


def daemon_figures(log_text: str) -> tuple[Counter[str], Counter[str]]:
    """Job runs that succeeded and that failed, from the daemon's log lines."""
    heads = [line.split(maxsplit=5) for line in log_text.splitlines() if line[:4].isdigit()]
    ok = Counter(h[3].removeprefix("daemon.") for h in heads if len(h) > 4 and h[4] == "ok:")
    failed = Counter(h[3].removeprefix("daemon.") for h in heads if len(h) > 5 and h[4] == "failed")
    return ok, failed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=120.0, help="seconds of load")
    parser.add_argument("--workers", type=int, default=4, help="concurrent CLI loops")
    parser.add_argument("--interval", type=float, default=2.0, help="daemon job period, seconds")
    parser.add_argument(
        "--baseline", type=float, default=15.0, help="seconds of the same load without daemon"
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary MFTRACK_HOME")
    opts = parser.parse_args()

    home = Path(tempfile.mkdtemp(prefix="mftrack-soak-"))
    server = serve_amfi()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MFTRACK_")}
    env.update(
        MFTRACK_HOME=str(home),
        MFTRACK_AMFI_NAVALL_URL=server.url("/NAVAll.txt"),
        MFTRACK_AMFI_HISTORY_URL=server.url("/history"),  # 404: the history comes from mfapi
        MFTRACK_MFAPI_BASE_URL=server.url("/"),
        MFTRACK_NAV_FETCH_ON_ADD="off",  # the daemon's history job fetches, as before
        NO_COLOR="1",
    )
    setup = mftrack(env, "nav", "import", str(NAVALL / "NAVAll_2025-12-11.txt"))
    assert setup.returncode == 0, setup.stderr
    baseline, _ = run_load(env, opts.workers, opts.baseline) if opts.baseline else (Tally(), 0)
    daemon_env = dict(env, MFTRACK_DAEMON_COMPRESS_SECONDS=str(opts.interval))
    with (home / "daemon-stderr.log").open("w") as daemon_err:
        daemon = subprocess.Popen(
            [sys.executable, "-m", "mftrack", "daemon", "run"],
            env=daemon_env,
            cwd=REPO,
            stdout=subprocess.DEVNULL,
            stderr=daemon_err,
        )
        tally, load_seconds = run_load(env, opts.workers, opts.duration)
        status = json.loads(mftrack(env, "daemon", "status", "--json").stdout)
        sent = time.monotonic()
        daemon.send_signal(signal.SIGTERM)
        code = daemon.wait(timeout=30)
        stop_seconds = time.monotonic() - sent
    pulls = len(server.requests_to("/NAVAll.txt"))
    server.close()

    present = {s["id"]: s for s in json.loads(mftrack(env, "sips", "--json").stdout)}
    expected = {**baseline.expected, **tally.expected}
    lost = [sid for sid in expected if sid not in present]
    wrong = [
        sid
        for sid, amount in expected.items()
        if sid in present and present[sid]["current_amount"] != f"{amount}.00"
    ]
    log_text = "".join(p.read_text() for p in sorted((home / "logs").glob("mftrack-*.log")))
    daemon_locked = sum(log_text.count(text) for text in LOCKED)
    runs, failed_runs = daemon_figures(log_text)
    failures = {j["job"]: j["consecutive_failures"] for j in status["jobs"]}

    print(f"soak: {opts.workers} CLI workers, {os.cpu_count()} CPUs (home {home})")
    if opts.baseline:
        print_ops(f"without the daemon ({opts.baseline:g} s):", baseline)
    print_ops(f"with the daemon, jobs every {opts.interval:g} s ({load_seconds:.0f} s):", tally)
    print(f"daemon job runs ok: {dict(runs)}; failed: {dict(failed_runs)}; NAVAll pulls {pulls}")
    print(f"daemon consecutive failures at the end: {failures}")
    print(
        f"'database is locked' errors: CLI {tally.locked + baseline.locked}, daemon log "
        f"{daemon_locked}"
    )
    print(f"SIPs added {len(expected)}, lost {len(lost)}, last edit missing {len(wrong)}")
    print(f"SIGTERM -> exit {code} in {stop_seconds:.2f} s")
    for example in baseline.examples + tally.examples:
        print("  e.g.", example)
    if not opts.keep:
        shutil.rmtree(home, ignore_errors=True)
    errors = tally.locked + baseline.locked + daemon_locked + len(lost) + len(wrong)
    errors += sum(tally.failures.values()) + sum(baseline.failures.values())
    return 0 if errors == 0 and code == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
