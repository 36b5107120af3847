"""bench/hosted_scale.py works end to end at 10 k users (the 1 M run is a benchmark, recorded
in docs/scaling.md): the generator writes the population its formula says, in the state the
real version trigger would have left, every measurement runs, the RPCs are served by indexes,
and the database is dropped afterwards. No timing is asserted."""

from __future__ import annotations

import importlib.util
import sys
import uuid
from pathlib import Path

import psycopg
import pytest
from psycopg.types.json import Jsonb

from tests.standin import db as standin_db
from tests.standin.fixtures import pg_admin_url  # noqa: F401

pytestmark = pytest.mark.postgres

USERS = 10_000


def load_bench():
    path = Path(__file__).resolve().parents[1] / "bench" / "hosted_scale.py"
    spec = importlib.util.spec_from_file_location("hosted_scale", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["hosted_scale"] = module
    spec.loader.exec_module(module)
    return module


def test_generator_and_measurements_at_10k_users(pg_admin_url: str) -> None:  # noqa: F811
    bench = load_bench()
    admin = pg_admin_url
    codes = bench.scheme_codes()
    # The mix, counted here from the rule in the docstring, not from the module's formula.
    buckets = [(i * 2654435761) % 1000 for i in range(1, USERS + 1)]
    expected_sips = sum(0 if h < 200 else 1 + i % 3 if h < 700 else 4 + i % 7 if h < 950
                        else 11 + i % 30 for i, h in zip(range(1, USERS + 1), buckets,
                                                         strict=True))
    with_sips = sum(h >= 200 for h in buckets)
    devices = sum(1 + (i % 3 == 0) for i, h in zip(range(1, USERS + 1), buckets, strict=True)
                  if h >= 200)

    with bench.bench_database(admin) as url:
        name = standin_db.database_name(url)
        bench.generate(url, 1, USERS // 2, codes)  # in two steps, as the sizes grow
        bench.generate(url, USERS // 2 + 1, USERS, codes)
        with psycopg.connect(url, autocommit=True) as conn:
            count = conn.execute("select count(*), count(*) filter (where deleted),"
                                 " count(distinct scheme_code) from public.sips").fetchone()
            assert count[0] == expected_sips
            assert 0 < count[1] < count[0] // 10 and count[2] > 100
            assert conn.execute("select count(*) from public.sync_state").fetchone()[0] \
                == with_sips
            assert conn.execute("select count(*) from public.sync_clients").fetchone()[0] \
                == devices
            assert conn.execute("select count(*) from auth.users").fetchone()[0] == USERS
            assert set(codes) >= {r[0] for r in conn.execute(
                "select distinct scheme_code from public.sips")}

            # The state is the trigger's: a full pull gives versions 1..n, and a real push
            # continues the user's counter at n + 1.
            i = next(i for i in range(1, USERS) if bench.sips_of(i) >= 5)
            n = bench.sips_of(i)
            uid = bench.user_id(i)
            page = bench.rpc(conn, "sync_pull", uid, {"p_since": 0, "p_limit": 500})
            assert page["server_version"] == n and not page["has_more"]
            assert sorted(r["version"] for r in page["rows"]) == list(range(1, n + 1))
            assert {r["id"] for r in page["rows"]} == {bench.sip_id(i, k)
                                                       for k in range(1, n + 1)}
            pushed = bench.rpc(conn, "sync_push", uid, {
                "p_client_id": str(uuid.uuid4()), "p_mutations": Jsonb([{
                    "mid": 1, "table": "sips", "id": bench.sip_id(i, 1), "base_version": 1,
                    "fields": {"label": "changed"}, "deleted": False}])})
            assert pushed["version"] == n + 1 and pushed["rejected"] == []

        single = bench.single_threaded(url, USERS, codes, calls=5)
        assert set(single) == set(bench.OPS)
        assert all(v["calls"] == 5 and 0 < v["p50_ms"] <= v["p99_ms"] for v in single.values())
        plans = bench.plans(url, USERS, codes)
        for op, plan in plans.items():
            assert plan["seq_scans_on_big_tables"] == [], (op, plan["scans"])
            assert plan["statements"] > 0
        assert "Index Scan sips_user_version_id_idx on sips" in plans["sync_pull_full"]["scans"]
        assert "Index Scan sync_state_pkey on sync_state" in plans["sync_pull_delta"]["scans"]
        # sync_fetch: the planner picks the primary key or the (user_id, ...) index by size
        assert any(s.startswith("Index Scan") and s.endswith(" on sips")
                   for s in plans["sync_fetch"]["scans"])
        # a push that applies an edit updates the row through its primary key
        assert "Index Scan sips_pkey on sips" in plans["sync_push"]["scans"]
        load = bench.pooled(url, USERS, codes, threads=2, pool_size=2, seconds=1)
        assert load["calls"] > 0 and load["error_count"] == 0
        sizes = bench.sizes(url)
        assert sizes["tables"]["sips"]["total_bytes"] > 0
        assert sizes["indexes"]["sips_user_version_id_idx"]["btree_levels"] >= 2
        upkeep = bench.maintenance(url)
        assert upkeep["purge_batch"]["users"] > 0

    with psycopg.connect(admin, autocommit=True) as conn:
        assert conn.execute("select count(*) from pg_database where datname = %s",
                            (name,)).fetchone()[0] == 0
