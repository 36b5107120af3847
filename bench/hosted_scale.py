"""The hosted database at 10 k, 100 k and 1 M+ users: generate synthetic users through the real
migrations, then measure every RPC the client calls, straight on PostgreSQL (docs/scaling.md).

    python bench/hosted_scale.py [--sizes 10000,100000,1000000] [--calls 300]
                                 [--threads 8] [--pool 8] [--seconds 15] [--json OUT]
                                 [--max-db-gb 10] [--keep]

1. A new database `mftrack_bench_<random>` on MFTRACK_TEST_PG_URL (default: the local server)
   gets tests/standin/bootstrap.sql (Supabase's auth schema and roles) and every
   supabase/migrations/*.sql file, in name order: the real schema, indexes, RLS and RPCs.
2. Users are added in set-based SQL (generate_series, no round trip per row) up to each size
   in turn, so 100 k reuses the first 10 k: auth.users, a realistic SIP mix (20 % of users
   with none, 50 % with 1-3, 25 % with 4-10, 5 % with 11-40; 20 % with a yearly step-up,
   5 % with a pause, 30 % labelled, 10 % ended, 5 % tombstones, scheme codes taken from the
   real AMFI NAVAll file), their per-user version counters (sync_state) and 1-2 devices each
   (sync_clients) — exactly the state the version trigger leaves after each SIP was pushed in
   its own transaction (checked by tests/test_bench_hosted_scale.py).
3. At each size: every RPC (`sync_pull` full and incremental, `sync_push` of one edit,
   `sync_fetch` of 3 rows, `create_sip`, `sip_summary`) called as PostgREST calls it (one
   transaction; role `authenticated`; `request.jwt.claims`; read only for STABLE functions)
   for random users: p50/p99 single-threaded; then a daily-sync mix from `--threads` threads
   over a psycopg_pool pool of `--pool` connections (the pooler's transaction mode: one
   connection per transaction) for `--seconds`: calls/s and p50/p99 under load.
   `EXPLAIN (ANALYZE, BUFFERS)` of every statement inside each RPC (auto_explain with nested
   statements, plans delivered as notices): the scans used and the buffers touched.
   Table/index sizes, B-tree depth (pageinspect), `VACUUM (ANALYZE)` time of `sips`, and one
   `purge_tombstones` batch.
4. The database is dropped at the end (also on error or Ctrl-C) unless `--keep`.

Bounded: generation stops if the database would pass `--max-db-gb` (estimated from the
previous size), every timed phase has a call count or a duration.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import random
import re
import signal
import statistics
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import psycopg  # noqa: E402
from psycopg.types.json import Jsonb  # noqa: E402

from tests.standin import db as standin_db  # noqa: E402

NAVALL = REPO.parent / "shared" / "amfi-data" / "navall" / "NAVAll_2025-12-11.txt"
AS_OF = "2026-11-30"
BIG_TABLES = ("sips", "sync_state", "sync_clients", "users", "sync_outcomes")
READ_ONLY = {"sync_pull", "sync_fetch", "sip_summary"}


# --- the synthetic population -------------------------------------------------------------------

def user_id(i: int) -> str:
    return f"00000000-0000-4000-8000-{i:012x}"


def sip_id(i: int, k: int) -> str:
    return str(uuid.UUID(hashlib.md5(f"{i}:{k}".encode()).hexdigest()))


def _bucket(i: int) -> int:
    return (i * 2654435761) % 1000  # Knuth's multiplicative hash: a spread, repeatable draw


def sips_of(i: int) -> int:
    """How many SIPs user i has; the same formula as N_SIPS_SQL."""
    h = _bucket(i)
    if h < 200:
        return 0
    if h < 700:
        return 1 + i % 3
    if h < 950:
        return 4 + i % 7
    return 11 + i % 30


N_SIPS_SQL = """case when (i::bigint * 2654435761) % 1000 < 200 then 0
                     when (i::bigint * 2654435761) % 1000 < 700 then 1 + i % 3
                     when (i::bigint * 2654435761) % 1000 < 950 then 4 + i % 7
                     else 11 + i % 30 end"""
UID_SQL = "('00000000-0000-4000-8000-' || lpad(to_hex(i), 12, '0'))::uuid"


def scheme_codes(limit: int = 800) -> list[int]:
    """Real scheme codes from AMFI's NAVAll file (lines `code;ISIN;ISIN;name;NAV;date`)."""
    codes: list[int] = []
    for line in NAVALL.read_text(encoding="utf-8", errors="replace").splitlines():
        head = line.split(";", 1)[0].strip()
        if head.isdigit() and line.count(";") >= 5:
            codes.append(int(head))
            if len(codes) >= limit:
                break
    if not codes:
        raise SystemExit(f"no scheme codes found in {NAVALL}")
    return codes


GENERATE = [
    f"""insert into auth.users (id, aud, role, email, created_at, updated_at, email_confirmed_at,
                                raw_app_meta_data, raw_user_meta_data)
        select {UID_SQL}, 'authenticated', 'authenticated', 'bench-' || i || '@example.test',
               t, t, t, '{{"provider":"email","providers":["email"]}}', '{{}}'
          from generate_series(%(lo)s::int, %(hi)s::int) as i,
               lateral (select timestamptz '2024-01-01' + (i % 700) * interval '1 day') as d(t)""",
    f"""insert into public.sips (id, user_id, scheme_code, amount, start_date, sip_day, end_date,
                                 step_up_kind, step_up_value, pauses, amount_changes, label,
                                 created_at, updated_at, deleted, version)
        select md5(i || ':' || k)::uuid, {UID_SQL},
               (%(codes)s::int[])[1 + (i * 7 + k) %% cardinality(%(codes)s::int[])],
               500 * (1 + (i + k) %% 20), s.start, extract(day from s.start)::int,
               case when (i + k) %% 10 = 0 then s.start + 1095 end,
               case when (i + k) %% 5 = 1 then 'percent' end,
               case when (i + k) %% 5 = 1 then 10 end,
               case when (i + k) %% 20 = 3
                    then '[{{"start": "2024-04-01", "end": "2024-06-30"}}]'::jsonb
                    else '[]'::jsonb end,
               '[]'::jsonb,
               case when (i + k) %% 10 < 3 then 'Goal ' || k end,
               timestamptz '2024-01-01' + (i %% 700) * interval '1 day',
               timestamptz '2024-01-01' + (i %% 700 + k) * interval '1 day',
               (i + k) %% 20 = 7, k
          from generate_series(%(lo)s::int, %(hi)s::int) as i,
               lateral generate_series(1, {N_SIPS_SQL}) as k,
               lateral (select date '2018-01-01' + (i * 31 + k * 97) %% 2500) as s(start)""",
    f"""insert into public.sync_state (user_id, version)
        select {UID_SQL}, {N_SIPS_SQL}
          from generate_series(%(lo)s::int, %(hi)s::int) as i
         where {N_SIPS_SQL} > 0""",
    f"""insert into public.sync_clients (user_id, client_id, last_mutation_id, created_at,
                                         last_push_at)
        select {UID_SQL}, md5('device:' || i || ':' || d)::uuid, {N_SIPS_SQL},
               timestamptz '2024-01-01', timestamptz '2024-01-01'
          from generate_series(%(lo)s::int, %(hi)s::int) as i,
               lateral generate_series(1, 1 + (i %% 3 = 0)::int) as d
         where {N_SIPS_SQL} > 0""",
]


def generate(url: str, lo: int, hi: int, codes: list[int]) -> float:
    """Add users lo..hi (inclusive) in one transaction, triggers off (the rows already carry
    what the version trigger would stamp); then ANALYZE. Returns the seconds taken."""
    start = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as conn:
        with conn.transaction():
            conn.execute("set local session_replication_role = replica")
            conn.execute("set local synchronous_commit = off")
            for statement in GENERATE:
                # With parameters, a literal % (modulo) must be written %%.
                conn.execute(re.sub(r"%(?!\()", "%%", statement.replace("%%", "%")),
                             {"lo": lo, "hi": hi, "codes": codes})
        conn.execute("analyze auth.users, public.sips, public.sync_state, public.sync_clients")
    return time.perf_counter() - start


# --- calling the RPCs as PostgREST does --------------------------------------------------------

def rpc(conn: psycopg.Connection, fn: str, uid: str | None, args: dict[str, Any],
        role: str = "authenticated") -> Any:
    claims = {"role": role, **({"sub": uid} if uid else {})}
    named = ", ".join(f"{name} => %({name})s" for name in args)
    with conn.transaction():
        if fn in READ_ONLY:
            conn.execute("set transaction read only")
        conn.execute("select set_config('search_path', 'public', true),"
                     " set_config('role', %s, true),"
                     " set_config('request.jwt.claims', %s, true)", (role, json.dumps(claims)))
        return conn.execute(f"select public.{fn}({named})", args).fetchone()[0]


class Calls:
    """Arguments for each RPC, for a random user who has SIPs."""

    def __init__(self, users: int, codes: list[int], seed: int) -> None:
        self.users = users
        self.codes = codes
        self.rng = random.Random(seed)
        self.lock = threading.Lock()

    def user(self) -> int:
        with self.lock:
            while True:
                i = self.rng.randint(1, self.users)
                if sips_of(i):
                    return i

    def make(self, op: str) -> tuple[str, str, dict[str, Any]]:
        i = self.user()
        n = sips_of(i)
        uid = user_id(i)
        if op == "sync_pull_full":
            return "sync_pull", uid, {"p_since": 0, "p_limit": 500}
        if op == "sync_pull_delta":  # a daily sync: everything up to the counter was seen
            return "sync_pull", uid, {"p_since": n, "p_limit": 500}
        if op == "sync_push":
            mutation = {"mid": 1, "table": "sips", "id": sip_id(i, 1), "base_version": 1,
                        "fields": {"label": f"edited {time.time_ns()}"}, "deleted": False}
            return "sync_push", uid, {"p_client_id": str(uuid.uuid4()),
                                      "p_mutations": Jsonb([mutation])}
        if op == "sync_fetch":
            return "sync_fetch", uid, {"p_table": "sips",
                                       "p_ids": [sip_id(i, k) for k in range(1, min(n, 3) + 1)]}
        if op == "create_sip":
            with self.lock:
                code = self.rng.choice(self.codes)
            return "create_sip", uid, {"p_scheme_code": code, "p_amount": 1000,
                                       "p_start_date": "2025-01-05"}
        if op == "sip_summary":
            return "sip_summary", uid, {"p_as_of": AS_OF}
        raise ValueError(op)


OPS = ["sync_pull_full", "sync_pull_delta", "sync_push", "sync_fetch", "create_sip",
       "sip_summary"]
# The load mix (docs/scaling.md): mostly daily syncs with nothing new, some edits.
MIX = {"sync_pull_delta": 60, "sync_push": 12, "sync_pull_full": 5, "sync_fetch": 3,
       "create_sip": 5, "sip_summary": 15}


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def single_threaded(url: str, users: int, codes: list[int], calls: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    maker = Calls(users, codes, seed=users)
    with psycopg.connect(url, autocommit=True) as conn:
        for op in OPS:
            times = []
            for _ in range(5):  # warm the plan cache and prepared statements
                rpc(conn, *maker.make(op))
            for _ in range(calls):
                fn, uid, args = maker.make(op)
                start = time.perf_counter()
                rpc(conn, fn, uid, args)
                times.append((time.perf_counter() - start) * 1000)
            out[op] = {"calls": calls, "p50_ms": round(pct(times, 0.5), 3),
                       "p99_ms": round(pct(times, 0.99), 3),
                       "mean_ms": round(statistics.fmean(times), 3)}
    return out


def pooled(url: str, users: int, codes: list[int], threads: int, pool_size: int,
           seconds: float) -> dict[str, Any]:
    from psycopg_pool import ConnectionPool

    weights = [MIX[op] for op in OPS]
    stop = time.monotonic() + seconds
    results: dict[str, list[float]] = {op: [] for op in OPS}
    errors: list[str] = []
    lock = threading.Lock()

    def worker(seed: int) -> None:
        rng = random.Random(seed)
        maker = Calls(users, codes, seed=seed)
        mine: dict[str, list[float]] = {op: [] for op in OPS}
        while time.monotonic() < stop:
            op = rng.choices(OPS, weights)[0]
            fn, uid, args = maker.make(op)
            start = time.perf_counter()
            try:
                with pool.connection() as conn:
                    rpc(conn, fn, uid, args)
            except psycopg.Error as exc:
                with lock:
                    errors.append(f"{op}: {exc}")
                continue
            mine[op].append((time.perf_counter() - start) * 1000)
        with lock:
            for op, values in mine.items():
                results[op].extend(values)

    with ConnectionPool(url, min_size=pool_size, max_size=pool_size,
                        kwargs={"autocommit": True}, open=True) as pool:
        pool.wait()
        started = time.perf_counter()
        workers = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        elapsed = time.perf_counter() - started
    everything = [v for values in results.values() for v in values]
    return {
        "threads": threads, "pool": pool_size, "seconds": round(elapsed, 2),
        "calls": len(everything), "calls_per_s": round(len(everything) / elapsed, 1),
        "p50_ms": round(pct(everything, 0.5), 3) if everything else None,
        "p99_ms": round(pct(everything, 0.99), 3) if everything else None,
        "errors": errors[:5], "error_count": len(errors),
        "by_op": {op: {"calls": len(v), "p50_ms": round(pct(v, 0.5), 3),
                       "p99_ms": round(pct(v, 0.99), 3)} for op, v in results.items() if v},
    }


# --- plans --------------------------------------------------------------------------------------

SCAN = re.compile(r"(Seq Scan|Index Scan|Index Only Scan|Bitmap Heap Scan|Bitmap Index Scan)"
                  r"(?: Backward)?(?: using (\S+))? on (\S+)")
BUFFERS = re.compile(r"Buffers: shared(?: hit=(\d+))?(?: read=(\d+))?(?: dirtied=(\d+))?")


def plans(url: str, users: int, codes: list[int]) -> dict[str, Any]:
    """For one call of each RPC: every nested statement's plan (auto_explain, ANALYZE and
    BUFFERS), summarised as the scans used and the shared buffers touched."""
    out: dict[str, Any] = {}
    maker = Calls(users, codes, seed=7)
    with psycopg.connect(url, autocommit=True) as conn:
        notices: list[str] = []
        conn.add_notice_handler(lambda diag: notices.append(diag.message_primary or ""))
        for setting in ("load 'auto_explain'", "set auto_explain.log_min_duration = 0",
                        "set auto_explain.log_analyze = on", "set auto_explain.log_buffers = on",
                        "set auto_explain.log_nested_statements = on",
                        "set auto_explain.log_timing = off",
                        "set auto_explain.log_level = notice"):
            conn.execute(setting)
        for op in OPS:
            rpc(conn, *maker.make(op))  # warm the plan cache (another user)
            fn, uid, args = maker.make(op)  # fresh arguments: a replayed push does nothing
            notices.clear()
            rpc(conn, fn, uid, args)
            texts = [n for n in notices if "Query Text" in n or "Plan" in n or "Scan" in n]
            scans = sorted({f"{kind} {index + ' ' if index else ''}on {table}"
                            for text in texts for kind, index, table in SCAN.findall(text)})
            hit = read = 0
            for text in texts:
                # the first Buffers line of each plan is its top node's: the statement's total
                first = BUFFERS.search(text)
                if first:
                    hit += int(first.group(1) or 0)
                    read += int(first.group(2) or 0)
            seq_big = [s for s in scans if s.startswith("Seq Scan")
                       and s.split(" on ")[-1].split(".")[-1] in BIG_TABLES]
            out[op] = {"statements": len(texts), "scans": scans, "seq_scans_on_big_tables":
                       seq_big, "shared_hit": hit, "shared_read": read,
                       "sample": texts[:6]}
        conn.execute("set auto_explain.log_min_duration = -1")
    return out


# --- sizes, vacuum, purge -------------------------------------------------------------------------

def sizes(url: str) -> dict[str, Any]:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("create extension if not exists pageinspect")
        rel = conn.execute(
            "select c.relname, pg_relation_size(c.oid), pg_total_relation_size(c.oid),"
            "       c.reltuples::bigint"
            "  from pg_class c join pg_namespace n on n.oid = c.relnamespace"
            " where (n.nspname, c.relname) in (('public','sips'),('public','sync_state'),"
            "       ('public','sync_clients'),('auth','users'))").fetchall()
        idx = conn.execute(
            "select c.relname, pg_relation_size(c.oid), (bt_metap(c.relname::text)).level"
            "  from pg_class c join pg_index i on i.indexrelid = c.oid"
            "  join pg_class t on t.oid = i.indrelid join pg_namespace n on n.oid = t.relnamespace"
            " where n.nspname = 'public' and t.relname in ('sips','sync_state','sync_clients')"
            "   and c.relam = (select oid from pg_am where amname = 'btree')").fetchall()
        total = conn.execute("select pg_database_size(current_database())").fetchone()[0]
    return {"database_bytes": total,
            "tables": {name: {"heap_bytes": heap, "total_bytes": tot, "rows": rows}
                       for name, heap, tot, rows in rel},
            "indexes": {name: {"bytes": size, "btree_levels": level + 1}
                        for name, size, level in idx}}


def maintenance(url: str) -> dict[str, Any]:
    with psycopg.connect(url, autocommit=True) as conn:
        dead = dict(conn.execute("select relname, n_dead_tup from pg_stat_user_tables"
                                 " where relname in ('sips','sync_state','sync_clients')"
                                 ).fetchall())
        start = time.perf_counter()
        conn.execute("vacuum (analyze) public.sips")
        vacuum_s = time.perf_counter() - start
        start = time.perf_counter()
        purged = rpc(conn, "purge_tombstones", None,
                     {"p_older_than": "30 days", "p_max_users": 1000}, role="service_role")
        purge_s = time.perf_counter() - start
    return {"dead_tuples_after_load_run": dead, "vacuum_sips_s": round(vacuum_s, 2),
            "purge_batch": purged, "purge_batch_s": round(purge_s, 2)}


# --- driver ---------------------------------------------------------------------------------------

@contextlib.contextmanager
def bench_database(admin_url: str, keep: bool = False) -> Iterator[str]:
    url = standin_db.create_database(admin_url, prefix="mftrack_bench_")
    try:
        standin_db.apply_bootstrap(url)
        standin_db.apply_migrations(url)
        yield url
    finally:
        if not keep:
            standin_db.drop_database(url, admin_url)


def run(sizes_wanted: list[int], *, calls: int, threads: int, pool: int, seconds: float,
        max_db_gb: float, admin_url: str, keep: bool = False,
        progress: Callable[[str], None] = print) -> dict[str, Any]:
    codes = scheme_codes()
    report: dict[str, Any] = {"sizes": {}, "machine": machine(admin_url)}
    with bench_database(admin_url, keep) as url:
        have = 0
        for size in sizes_wanted:
            if have:
                db_bytes = report["sizes"][str(have)]["sizes"]["database_bytes"]
                if db_bytes / have * size > max_db_gb * 1e9:
                    progress(f"stop: {size} users would pass --max-db-gb {max_db_gb}")
                    break
            progress(f"generating users {have + 1}..{size}")
            gen_s = generate(url, have + 1, size, codes)
            have = size
            entry: dict[str, Any] = {"generate_s": round(gen_s, 1)}
            entry["sizes"] = sizes(url)
            progress(f"{size} users: single-threaded calls")
            entry["single"] = single_threaded(url, size, codes, calls)
            progress(f"{size} users: plans")
            entry["plans"] = plans(url, size, codes)
            progress(f"{size} users: pooled load for {seconds} s")
            entry["pooled"] = pooled(url, size, codes, threads, pool, seconds)
            entry["maintenance"] = maintenance(url)
            report["sizes"][str(size)] = entry
            progress(summary_line(size, entry))
    return report


def machine(admin_url: str) -> dict[str, Any]:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        settings = dict(conn.execute(
            "select name, setting || coalesce(unit, '') from pg_settings where name in"
            " ('shared_buffers','work_mem','max_connections','effective_cache_size')"
        ).fetchall())
        version = conn.execute("show server_version").fetchone()[0]
    return {"cpus": os.cpu_count(), "postgres": version, "settings": settings}


def summary_line(size: int, entry: dict[str, Any]) -> str:
    single = entry["single"]
    parts = [f"{op} {v['p50_ms']:.2f}/{v['p99_ms']:.2f}" for op, v in single.items()]
    return (f"{size:>9} users  gen {entry['generate_s']:>6.1f}s  db "
            f"{entry['sizes']['database_bytes'] / 1e6:,.0f} MB  p50/p99 ms: "
            + ", ".join(parts) + f"  pooled {entry['pooled']['calls_per_s']} calls/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--pool", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--max-db-gb", type=float, default=10)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    # A SIGTERM (timeout, kill) unwinds like Ctrl-C, so the database is still dropped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    admin = os.environ.get("MFTRACK_TEST_PG_URL", standin_db.DEFAULT_ADMIN_URL)
    report = run([int(s) for s in args.sizes.split(",")], calls=args.calls,
                 threads=args.threads, pool=args.pool, seconds=args.seconds,
                 max_db_gb=args.max_db_gb, admin_url=admin, keep=args.keep)
    if args.json:
        args.json.write_text(json.dumps(report, indent=1, default=str))


if __name__ == "__main__":
    main()
