"""`mftrack serve`: GET /sips/summary cached and uncached, and time to the first drawn chart.

    python bench/bench_web.py [--requests 300] [--uncached 40] [--loads 5] [--no-browser]

A real `mftrack serve --port 0` child process per portfolio (20 SIPs on 10 schemes and 1,000
SIPs on 50 schemes, 15 years of synthetic daily NAVs, built as in bench_summary_scale.py),
requests over keep-alive HTTP on loopback with the bearer token. Every figure stands next to a
floor measured in the same run against the same server: GET of a static file
(/static/dashboard.css, through the same access checks) for the API, and the browser's load of
a static HTML file (/static/dashboard.html, no scripts) for the page.

Uncached means the database changed just before the request: a row is written to `meta` from
another connection, which moves SQLite's data_version, exactly as a CLI or daemon write would.
The page figure is Chromium (headless, Debian's package) from navigation start to the moment
the first Chart.js chart was drawn (`window.mftrackFirstChartAt`, set by dashboard.js).
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from _common import REPO
from bench_summary_scale import AS_OF, build


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return statistics.median(ordered), p99


@contextmanager
def server(home: Path) -> Iterator[tuple[str, str]]:
    env = dict(os.environ, MFTRACK_HOME=str(home), MFTRACK_TODAY=AS_OF.isoformat())
    proc = subprocess.Popen([sys.executable, "-m", "mftrack", "serve", "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            env=env, cwd=REPO)
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        base, token = url.split("/?token=")
        yield base, token
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def bump(db: Path, counter: list[int]) -> None:
    """A committed write from another connection: moves data_version like any CLI write."""
    counter[0] += 1
    with sqlite3.connect(db) as conn:
        conn.execute("insert or replace into meta (key, value) values ('bench_web', ?)",
                     (str(counter[0]),))


def timed(get: Callable[[], object], n: int, before: Callable[[], None] | None = None
          ) -> list[float]:
    samples = []
    for _ in range(n):
        if before:
            before()
        start = time.perf_counter()
        get()
        samples.append(time.perf_counter() - start)
    return samples


def fmt(name: str, samples: list[float], floor: float) -> str:
    p50, p99 = percentiles(samples)
    return (f"{name:<46} p50 {p50 * 1000:8.2f} ms ({p50 / floor:6.1f}x)  "
            f"p99 {p99 * 1000:8.2f} ms  n={len(samples)}")


def api(base: str, token: str, db: Path, requests: int, uncached: int) -> None:
    import httpx

    counter = [0]
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"},
                      timeout=120) as http:
        def summary() -> None:
            http.get("/sips/summary").raise_for_status()

        def static() -> None:
            http.get("/static/dashboard.css").raise_for_status()

        summary()
        static()
        floor_samples = timed(static, requests)
        floor = statistics.median(floor_samples)
        print(fmt("floor: GET /static/dashboard.css", floor_samples, floor))
        print(fmt("GET /sips/summary, cached", timed(summary, requests), floor))
        print(fmt("GET /sips/summary, uncached (db changed)",
                  timed(summary, uncached, before=lambda: bump(db, counter)), floor))
        print(fmt("reference: the same services in this process", timed(
            lambda: in_process_summary(db), uncached), floor))


def in_process_summary(db: Path) -> None:
    """What an uncached request computes, called directly: the server's overhead is the rest."""
    from mftrack.adapters.sqlite.store import LocalStore
    from mftrack.services.portfolio import portfolio_summary, summary_as_dict

    store = LocalStore(db, backup_dir=db.parent / "backups")
    try:
        summary_as_dict(portfolio_summary(store=store, as_of=AS_OF)[0])
    finally:
        store.close()


def browser_loads(base: str, token: str, db: Path, loads: int) -> None:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.support.ui import WebDriverWait

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                     "--window-size=1280,2200"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    counter = [1000]
    try:
        driver.get(f"{base}/?token={token}")  # sets the cookie; later loads need no redirect
        WebDriverWait(driver, 300).until(lambda d: d.execute_script(
            "return window.mftrackFirstChartAt"))

        def floor_load() -> float:
            driver.get(f"{base}/static/dashboard.html")
            return driver.execute_script(
                "return performance.getEntriesByType('navigation')[0].loadEventEnd") / 1000

        def page_load(change: bool) -> float:
            if change:
                bump(db, counter)
            driver.get(f"{base}/")
            return WebDriverWait(driver, 300).until(lambda d: d.execute_script(
                "return window.mftrackFirstChartAt")) / 1000

        floor_samples = [floor_load() for _ in range(loads)]
        floor = statistics.median(floor_samples)
        print(fmt("floor: load /static/dashboard.html (no script)", floor_samples, floor))
        print(fmt("page: navigation to first chart, cached", [page_load(False)
                                                              for _ in range(loads)], floor))
        print(fmt("page: navigation to first chart, db changed", [page_load(True)
                                                                  for _ in range(loads)], floor))
    finally:
        driver.quit()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--uncached", type=int, default=40)
    parser.add_argument("--loads", type=int, default=5)
    parser.add_argument("--no-browser", action="store_true")
    args = parser.parse_args()
    for sips, schemes in ((20, 10), (1000, 50)):
        with tempfile.TemporaryDirectory() as tmp:
            home = Path(tmp)
            navs = build(home, sips, schemes)
            print(f"\n{sips} SIPs on {schemes} schemes, {navs:,} daily NAVs, as of {AS_OF}")
            with server(home) as (base, token):
                api(base, token, home / "mftrack.db", args.requests,
                    args.uncached if sips <= 20 else max(10, args.uncached // 4))
                if not args.no_browser:
                    browser_loads(base, token, home / "mftrack.db", args.loads)


if __name__ == "__main__":
    main()
