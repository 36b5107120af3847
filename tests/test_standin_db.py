"""The stand-in's database side: throwaway databases, bootstrap, migrations, pools, and the
``python -m tests.standin`` entry point."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import psycopg
import pytest

from tests.standin import StandIn, db
from tests.standin.fixtures import standin, standin_server  # noqa: F401

pytestmark = pytest.mark.postgres

REPO = Path(__file__).resolve().parents[1]


def database_exists(name: str) -> bool:
    with psycopg.connect(db.DEFAULT_ADMIN_URL, autocommit=True) as conn:
        return conn.execute("select 1 from pg_database where datname = %s",
                            [name]).fetchone() is not None


def test_the_fixture_uses_a_throwaway_database(standin: StandIn) -> None:  # noqa: F811
    name = db.database_name(standin.database_url)
    assert name.startswith("mftrack_test_")
    assert database_exists(name)
    assert standin.sql_value("select current_database()") == name


def test_bootstrap_is_idempotent_and_complete(standin: StandIn) -> None:  # noqa: F811
    db.apply_bootstrap(standin.database_url)
    db.apply_bootstrap(standin.database_url)
    roles = {r[0] for r in standin.sql(
        "select rolname from pg_roles where rolname in"
        " ('anon', 'authenticated', 'service_role', 'authenticator')")}
    assert roles == {"anon", "authenticated", "service_role", "authenticator"}
    for table in ("users", "sessions", "refresh_tokens", "identities", "mfa_amr_claims"):
        assert standin.sql_value("select to_regclass(%s) is not null", f"auth.{table}")
    assert standin.rest_login == "authenticator"


def test_every_migration_is_applied_in_order(standin: StandIn) -> None:  # noqa: F811
    files = db.migration_files()
    recorded = [r[0] for r in standin.sql(
        "select version from supabase_migrations.schema_migrations order by version")]
    assert recorded == [f.name.split("_", 1)[0] for f in files]
    # Applying again does nothing.
    assert db.apply_migrations(standin.database_url) == []


def test_empty_migrations_folder(tmp_path: Path) -> None:
    assert db.migration_files(tmp_path / "missing") == []
    assert db.apply_migrations("postgresql://unused", tmp_path) == []


def test_temporary_stand_in_drops_its_database(tmp_path: Path) -> None:
    (tmp_path / "20240101000000_demo.sql").write_text(
        "create table public.demo (id int primary key);"
        " insert into public.demo values (1);")
    server = StandIn.temporary(migrations_dir=tmp_path)
    name = db.database_name(server.database_url)
    with server:
        assert server.applied_migrations == ["20240101000000_demo.sql"]
        response = httpx.get(f"{server.rest_url}/demo", headers={"apikey": server.service_key})
        assert response.json() == [{"id": 1}]
    assert not database_exists(name)


def test_simple_pool_fallback(standin: StandIn) -> None:  # noqa: F811
    pool = db._SimplePool(standin.database_url, min_size=1, max_size=3, name="t")
    seen: list[int] = []

    def worker() -> None:
        with pool.connection(timeout=10) as conn:
            seen.append(conn.execute("select pg_backend_pid() from pg_sleep(0.05)")
                        .fetchone()[0])

    threads = [threading.Thread(target=worker) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(seen) == 12 and len(set(seen)) <= 3
    with pool.connection() as conn:
        conn.execute("begin")  # left open: the pool rolls it back
    with pool.connection() as conn:
        assert conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
    pool.close()


def test_python_dash_m_serves_until_terminated() -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.standin", "--temporary", "--port", "0"],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    try:
        deadline = time.monotonic() + 60
        url = key = database = None
        while time.monotonic() < deadline and not (url and key and database):
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if line.startswith("Supabase stand-in running at "):
                url = line.split(" at ", 1)[1].strip()
            elif line.strip().startswith("anon key:"):
                key = line.split(":", 1)[1].strip()
            elif line.strip().startswith("database:"):
                database = line.split(":", 1)[1].strip()
        assert url and key and database, "".join(lines)
        assert httpx.get(f"{url}/auth/v1/health", headers={"apikey": key}).status_code == 200
        signup = httpx.post(f"{url}/auth/v1/signup", headers={"apikey": key},
                            json={"email": "hand@example.test", "password": "password-1"})
        assert signup.status_code == 200 and signup.json()["access_token"]
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, "".join(lines)
    assert not database_exists(db.database_name(database))


def test_spawned_process_for_benchmarks() -> None:
    from tests.standin.process import spawn

    with spawn("--no-autoconfirm", "--max-rows", "0") as child:
        health = httpx.get(f"{child.auth_url}/settings", headers={"apikey": child.anon_key})
        assert health.json()["mailer_autoconfirm"] is False
        assert child.sql("select count(*) from auth.users") == [(0,)]
        name = db.database_name(child.database_url)
        assert database_exists(name)
    assert child.process.returncode == 0
    assert not database_exists(name)
