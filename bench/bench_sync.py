"""Sync benchmarks against the Supabase stand-in (its own process) on the real PostgreSQL.

    python bench/bench_sync.py [--sips 5000] [--transactions 2500] [--users 200] [--devices 3]
                               [--rounds 3] [--clients 2] [--threads 16] [--skip-load]

Prints, each with a floor measured in the same run:

1. a bare `/rest/v1/rpc` round trip (the floor for one request);
2. the first sync of a device holding 5,000 SIPs (requests, wall time) against the same RPCs
   sent raw with httpx (the server's share), and a fresh second device pulling them;
2b. the same for a device holding `--transactions` ledger rows (2,500: a 10-year statement of
   20 schemes), one import's worth, against the same RPCs sent raw;
3. a sync with nothing to do: in-process, and `mftrack sync` as a process against
   `mftrack --version` (start-up floor);
4. a load run: N users x 3 devices editing and syncing concurrently (client processes with
   thread pools): syncs/s, p50/p99 per sync, and zero missed or duplicated rows (every device
   of every user holds exactly the server's rows; server rows = SIPs created).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from _common import REPO, best_of, line, run_process

PASSWORD = "Bench-password-42"


# --- helpers shared by the parent and the load workers ---------------------------------------


def signup(url: str, anon: str, email: str) -> dict[str, Any]:
    import httpx

    answer = httpx.post(f"{url}/auth/v1/signup", headers={"apikey": anon},
                        json={"email": email, "password": PASSWORD}, timeout=60)
    answer.raise_for_status()
    return dict(answer.json())


def login(url: str, anon: str, email: str) -> dict[str, Any]:
    import httpx

    answer = httpx.post(f"{url}/auth/v1/token?grant_type=password", headers={"apikey": anon},
                        json={"email": email, "password": PASSWORD}, timeout=60)
    answer.raise_for_status()
    return dict(answer.json())


def new_device(url: str, anon: str, root: Path, session: dict[str, Any]) -> Any:
    from mftrack.adapters.sqlite.store import LocalStore
    from tests.sync_support import (
        Device,
        _template,
        device_settings,
        paths_under,
        save_session,
    )

    root.mkdir(parents=True, exist_ok=True)
    paths = paths_under(root)
    shutil.copyfile(_template(), paths.database)
    save_session(paths, url, session)
    settings = device_settings(url, anon, paths)
    store = LocalStore(paths.database, backup_dir=paths.backup_dir)
    return Device(root.name, root, paths, settings, store,
                  user_id=str(session["user"]["id"]))


def add_sips(device: Any, count: int, rng: random.Random) -> None:
    from mftrack.services import sips
    from tests.sync_support import SCHEMES

    for i in range(count):
        sips.add_sip(store=device.store, scheme_code=rng.choice(SCHEMES),
                     amount=Decimal(rng.randrange(500, 50000, 500)),
                     start=date(2020 + i % 5, 1 + i % 12, 1 + i % 28),
                     label=f"SIP {i}")


def add_transactions(device: Any, count: int, rng: random.Random) -> None:
    """One statement's worth of SIP instalments across 20 folios, stored as an import is."""
    import uuid
    from datetime import UTC, datetime, timedelta

    from mftrack.domain.transactions import Transaction, TxnKind, TxnSource
    from tests.sync_support import SCHEMES

    now = datetime.now(UTC)
    device.store.insert_transactions([
        Transaction(id=str(uuid.uuid4()), scheme_code=SCHEMES[i % len(SCHEMES)], kind=TxnKind.SIP,
                    trade_date=date(2015, 1, 10) + timedelta(days=i % 3650),
                    amount=Decimal(rng.randrange(500, 50000, 500)),
                    units=Decimal(rng.randrange(1000, 999999)) / 1000,
                    nav=Decimal(rng.randrange(100000, 9999999)) / 10000, folio=f"F{i % 20}",
                    source=TxnSource.CAS, import_key=f"cas:F{i % 20}:{i}", note="SIP Purchase",
                    created_at=now, updated_at=now)
        for i in range(count)])


def ledger_device(standin: Any, root: Path, count: int) -> None:
    email = f"bench-ledger-{os.getpid()}@example.test"
    session = signup(standin.url, standin.anon_key, email)
    big = new_device(standin.url, standin.anon_key, root / "ledger", session)
    started = time.perf_counter()
    add_transactions(big, count, random.Random(2))
    print(line(f"setup: {count} transactions stored locally (one import)",
               time.perf_counter() - started))
    raw = raw_floor(standin, big, "raw-ledger")
    print(line(f"floor: the same {raw[1]} RPCs sent raw (another user)", raw[0]))
    started = time.perf_counter()
    report = big.sync()
    first = time.perf_counter() - started
    print(line(f"first sync, {count} transactions: {report.requests} requests", first, raw[0]))
    fresh = new_device(standin.url, standin.anon_key, root / "ledger-fresh",
                       login(standin.url, standin.anon_key, email))
    started = time.perf_counter()
    pulled = fresh.sync()
    print(line(f"fresh device pulls {pulled.pulled} transactions: {pulled.requests} requests",
               time.perf_counter() - started, raw[2]))
    assert pulled.pulled == count and fresh.txns() == big.txns()
    big.close()
    fresh.close()


# --- 1-3: one big device, the no-op sync --------------------------------------------------------


def rpc_floor(url: str, anon: str, token: str, repeat: int = 50) -> tuple[float, float]:
    import httpx

    client = httpx.Client(headers={"apikey": anon, "Authorization": f"Bearer {token}"})
    state = client.post(f"{url}/rest/v1/rpc/sync_pull", json={"p_since": 0, "p_limit": 1})
    since = state.json()["server_version"]

    def call() -> None:
        answer = client.post(f"{url}/rest/v1/rpc/sync_pull", json={"p_since": since})
        answer.raise_for_status()

    result = best_of(call, repeat)
    client.close()
    return result


def raw_floor(standin: Any, device: Any, tag: str = "raw") -> tuple[float, int, float]:
    """The device's outbox (new ids, another user) pushed in batches of 200 and pulled back in
    pages of 500 with bare httpx calls: the server's share of a first sync."""
    import uuid

    import httpx

    from mftrack.adapters.sqlite.sync_store import SyncStore

    session = signup(standin.url, standin.anon_key, f"bench-{tag}-{os.getpid()}@example.test")
    mutations = []
    for m in SyncStore(device.store).pending():
        wire = m.wire()
        wire["id"] = str(uuid.uuid4())
        mutations.append(wire)
    client = httpx.Client(headers={"apikey": standin.anon_key,
                                   "Authorization": f"Bearer {session['access_token']}"},
                          timeout=120)
    rpc = f"{standin.url}/rest/v1/rpc"
    started = time.perf_counter()
    requests = 0
    for i in range(0, len(mutations), 200):
        client.post(f"{rpc}/sync_push", json={"p_client_id": str(uuid.uuid4()),
                                              "p_mutations": mutations[i:i + 200]})
        requests += 1
    pulling = time.perf_counter()
    since, after, more = 0, None, True
    while more:
        page = client.post(f"{rpc}/sync_pull", json={"p_since": since, "p_after_id": after,
                                                     "p_limit": 500}).json()
        since, after, more = page["cursor"]["version"], page["cursor"]["id"], page["has_more"]
        requests += 1
    seconds = time.perf_counter() - started
    client.close()
    return seconds, requests, time.perf_counter() - pulling


def single_device(standin: Any, root: Path, sips: int) -> None:
    print(f"\n== stand-in at {standin.url} (own process), PostgreSQL 15 ==")
    email = f"bench-big-{os.getpid()}@example.test"
    session = signup(standin.url, standin.anon_key, email)
    big = new_device(standin.url, standin.anon_key, root / "big", session)
    rng = random.Random(1)
    import postgrest  # noqa: F401  (import costs are measured by the process figures below)
    import supabase_auth  # noqa: F401

    started = time.perf_counter()
    add_sips(big, sips, rng)
    print(line(f"setup: {sips} SIPs added locally (outbox)", time.perf_counter() - started))

    floor, floor_med = rpc_floor(standin.url, standin.anon_key, session["access_token"])
    print(line("floor: bare POST /rest/v1/rpc/sync_pull (best)", floor))
    print(line("floor: bare POST /rest/v1/rpc/sync_pull (median)", floor_med))

    raw = raw_floor(standin, big)
    print(line(f"floor: the same {raw[1]} RPCs sent raw (another user)", raw[0]))
    print(line("floor:   of which the raw pulls", raw[2]))
    started = time.perf_counter()
    report = big.sync()
    first = time.perf_counter() - started
    batches = -(-sips // 200)
    print(line(f"first sync, {sips} SIPs: {report.requests} requests "
               f"({batches} pushes + {report.pages} pulls)", first, raw[0]))
    fresh = new_device(standin.url, standin.anon_key, root / "fresh",
                       login(standin.url, standin.anon_key, email))
    started = time.perf_counter()
    pulled = fresh.sync()
    second = time.perf_counter() - started
    print(line(f"fresh device pulls {pulled.pulled} rows: {pulled.requests} requests",
               second, raw[2]))
    assert pulled.pulled == sips and fresh.rows() == big.rows()

    _noop_best, noop_med = best_of(big.sync, 20)
    print(line(f"nothing to do, in-process sync_now: {big.reports[-1].requests} request",
               noop_med, floor_med))

    env = {"MFTRACK_HOME": str(big.root), "MFTRACK_SUPABASE_URL": standin.url,
           "MFTRACK_SUPABASE_ANON_KEY": standin.anon_key, "MFTRACK_TOKEN_STORE": "file"}
    entry = str(Path(sys.executable).with_name("mftrack"))
    version, _ = best_of(lambda: run_process([entry, "--version"], env), 5)
    status, _ = best_of(lambda: run_process([entry, "sync", "status"], env), 5)
    cli_sync, _cli_med = best_of(lambda: run_process([entry, "--quiet", "sync"], env), 5)
    print(line("floor: `mftrack --version` process", version))
    print(line("floor: `mftrack sync status` (opens the database)", status, version))
    print(line("nothing to do, `mftrack sync` process (best)", cli_sync, version))
    print(line("  beyond `--version`", cli_sync - version))
    print(line("  beyond `sync status` (imports + 1 request)", cli_sync - status))
    big.close()
    fresh.close()


# --- 4: load ------------------------------------------------------------------------------


@dataclass
class Job:
    url: str
    anon: str
    database_url: str
    emails: list[str]
    devices: int
    rounds: int
    threads: int
    root: str
    seed: int


def load_worker(job: Job) -> dict[str, Any]:
    sys.path.insert(0, str(REPO))
    from mftrack.errors import MftrackError
    from mftrack.services import sips
    from tests.sync_support import TODAY, server_rows

    class Db:  # server_rows() wants an object with .sql()
        def __init__(self, url: str) -> None:
            import psycopg

            self.conn = psycopg.connect(url, autocommit=True)

        def sql(self, query: str, *params: Any) -> list[tuple[Any, ...]]:
            cur = self.conn.execute(query, params or None)
            return cur.fetchall() if cur.description else []

    rng = random.Random(job.seed)
    root = Path(job.root)
    users: list[tuple[str, list[Any]]] = []
    creates: dict[str, int] = {}
    for u, email in enumerate(job.emails):
        devices = [new_device(job.url, job.anon, root / f"u{u}-d{d}",
                              login(job.url, job.anon, email)) for d in range(job.devices)]
        for device in devices:
            add_sips(device, 3, rng)  # every device already has SIPs: the first sync merges
        users.append((devices[0].user_id, devices))
        creates[devices[0].user_id] = 3 * job.devices
    everyone = [d for _, ds in users for d in ds]
    latencies: list[float] = []
    counts: list[int] = []
    failures: list[str] = []

    def timed_sync(device: Any) -> None:
        started = time.perf_counter()
        try:
            device.sync()
        except MftrackError as exc:
            failures.append(f"{type(exc).__name__}: {exc.message}")
            return
        latencies.append(time.perf_counter() - started)
        counts.append(device.reports[-1].requests)

    def edit(device: Any) -> None:
        live = device.live_ids()
        roll = rng.random()
        if roll < 0.2 or not live:
            add_sips(device, 1, rng)
            creates[device.user_id] += 1
        elif roll < 0.3:
            sips.remove_sip(store=device.store, sip_id=rng.choice(live))
        else:
            with contextlib.suppress(MftrackError):
                sips.edit_sip(store=device.store, sip_id=rng.choice(live), today=TODAY,
                              label=f"edit {rng.randrange(1000)}", day=rng.randrange(1, 29))

    started = time.perf_counter()
    with ThreadPoolExecutor(job.threads) as pool:
        for _ in range(job.rounds):
            for device in everyone:
                for _ in range(rng.randrange(1, 3)):
                    edit(device)
            order = everyone[:]
            rng.shuffle(order)
            list(pool.map(timed_sync, order))
    load_seconds = time.perf_counter() - started
    syncs = len(latencies)

    # settle: everyone pushes what is left, then everyone pulls (retrying transient errors)
    for _ in range(2):
        for device in everyone:
            for attempt in range(10):
                try:
                    device.sync()
                    break
                except MftrackError:
                    time.sleep(0.2 * (attempt + 1))
    db = Db(job.database_url)
    mismatched = missing = duplicated = rows = 0
    for user_id, devices in users:
        server = server_rows(db, user_id)
        rows += len(server)
        missing += max(0, creates[user_id] - len(server))
        duplicated += max(0, len(server) - creates[user_id])
        for device in devices:
            if device.rows() != server or device.outbox():
                mismatched += 1
    for device in everyone:
        device.close()
    return {"latencies": latencies, "failures": failures, "load_seconds": load_seconds,
            "requests": sum(counts),
            "syncs": syncs, "devices": len(everyone), "rows": rows, "mismatched": mismatched,
            "missing": missing, "duplicated": duplicated}


def raw_worker(job: tuple[str, str, str, int, int]) -> tuple[list[float], float]:
    """`threads` threads each sending `calls` bare no-op sync_pull requests."""
    import httpx

    url, anon, token, threads, calls = job
    latencies: list[float] = []

    def loop(_: int) -> None:
        with httpx.Client(headers={"apikey": anon, "Authorization": f"Bearer {token}"}) as c:
            for _ in range(calls):
                started = time.perf_counter()
                c.post(f"{url}/rest/v1/rpc/sync_pull", json={"p_since": 0}).raise_for_status()
                latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(loop, range(threads)))
    return latencies, time.perf_counter() - started


def raw_concurrent(standin: Any, args: argparse.Namespace) -> tuple[float, float]:
    """(requests/s, p50) of bare RPCs at the load run's concurrency: its floor."""
    email = f"bench-raw-load-{os.getpid()}@example.test"
    token = signup(standin.url, standin.anon_key, email)["access_token"]
    job = (standin.url, standin.anon_key, token, args.threads, 40)
    with multiprocessing.get_context("spawn").Pool(args.clients) as pool:
        results = pool.map(raw_worker, [job] * args.clients)
    latencies = sorted(x for r in results for x in r[0])
    return len(latencies) / max(r[1] for r in results), statistics.median(latencies)


def load_run(standin: Any, root: Path, args: argparse.Namespace) -> None:
    print(f"\n== load: {args.users} users x {args.devices} devices, {args.rounds} rounds, "
          f"{args.clients} client processes x {args.threads} threads ==")
    emails = [f"bench-load-{os.getpid()}-{i}@example.test" for i in range(args.users)]
    started = time.perf_counter()
    for email in emails:
        signup(standin.url, standin.anon_key, email)
    print(line(f"setup: {args.users} sign-ups", time.perf_counter() - started))
    jobs = [Job(standin.url, standin.anon_key, standin.database_url, emails[i::args.clients],
                args.devices, args.rounds, args.threads, str(root / f"client{i}"), seed=i)
            for i in range(args.clients)]
    started = time.perf_counter()
    with multiprocessing.get_context("spawn").Pool(args.clients) as pool:
        results = pool.map(load_worker, jobs)
    total = time.perf_counter() - started
    latencies = sorted(x for r in results for x in r["latencies"])
    syncs = sum(r["syncs"] for r in results)
    wall = max(r["load_seconds"] for r in results)
    failures = [f for r in results for f in r["failures"]]
    requests = sum(r["requests"] for r in results)
    p50 = statistics.median(latencies)
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    _floor, floor_med = rpc_floor_for(standin)
    raw_rate, raw_p50 = raw_concurrent(standin, args)
    print(line("floor: bare /rest/v1/rpc round trip (median, idle)", floor_med))
    print(f"{'floor: bare RPCs at the same concurrency':<48} {raw_rate:9.1f} requests/s")
    print(line("floor: their p50", raw_p50))
    print(f"{'syncs (load rounds)':<48} {syncs:9d}")
    print(f"{'throughput':<48} {syncs / wall:9.1f} syncs/s  (wall {wall:.1f} s)")
    print(f"{'requests per sync (mean)':<48} {requests / max(syncs, 1):9.2f}")
    print(line("p50 per sync", p50, raw_p50))
    print(line("p99 per sync", p99, raw_p50))
    print(f"{'transient failures (retried in settle)':<48} {len(failures):9d}"
          + (f"  e.g. {failures[0][:80]}" if failures else ""))
    devices = sum(r["devices"] for r in results)
    rows = sum(r["rows"] for r in results)
    bad = sum(r["mismatched"] for r in results)
    missing = sum(r["missing"] for r in results)
    duplicated = sum(r["duplicated"] for r in results)
    print(f"{'verified devices / server rows':<48} {devices:9d} / {rows}")
    print(f"{'devices differing from the server':<48} {bad:9d}")
    print(f"{'rows missing / duplicated':<48} {missing:9d} / {duplicated}")
    print(f"{'total load phase incl. setup and verification':<48} {total:9.1f} s")
    if bad or missing or duplicated:
        raise SystemExit("load run: devices did not converge")


def rpc_floor_for(standin: Any) -> tuple[float, float]:
    email = f"bench-floor-{os.getpid()}@example.test"
    session = signup(standin.url, standin.anon_key, email)
    return rpc_floor(standin.url, standin.anon_key, session["access_token"])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sips", type=int, default=5000)
    parser.add_argument("--transactions", type=int, default=2500)
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--devices", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--skip-load", action="store_true")
    args = parser.parse_args()
    os.chdir(REPO)
    from tests.standin.process import spawn

    root = Path(tempfile.mkdtemp(prefix="mftrack-bench-sync-"))
    try:
        with spawn() as standin:
            single_device(standin, root, args.sips)
            if args.transactions:
                ledger_device(standin, root, args.transactions)
            if not args.skip_load:
                load_run(standin, root, args)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(json.dumps({"done": True}))


if __name__ == "__main__":
    main()
