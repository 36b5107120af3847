"""The hosted schema (supabase/migrations/*.sql) against a real PostgreSQL 15.

A throwaway database gets tests/standin/bootstrap.sql (Supabase's roles, `auth` schema and
`auth.uid()`) and then every migration in file-name order. Each API call is made the way
PostgREST makes it: one transaction, `role` and `request.jwt.claims` set with
`set_config(..., true)`, read-only for STABLE functions, then the function call and COMMIT.

The contract under test is docs/hosted-schema.md.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg import errors as pg_errors
from psycopg.types.json import Jsonb

from mftrack.domain.money import stamp_duty
from mftrack.domain.sip_record import SYNCED_FIELDS, changed_fields, sip_from_record, sip_to_record
from mftrack.domain.sips import (
    AmountChange,
    Pause,
    Sip,
    StepUp,
    StepUpKind,
    scheduled_instalments,
)
from tests.standin import db
from tests.standin.db import database_name

pytestmark = pytest.mark.postgres

ROOT = Path(__file__).resolve().parents[1]
BOOTSTRAP = ROOT / "tests" / "standin" / "bootstrap.sql"
MIGRATIONS = sorted((ROOT / "supabase" / "migrations").glob("*.sql"))
# The server: the one fixture `pg_admin_url` (tests/standin/fixtures.py, MFTRACK_TEST_PG_URL),
# which skips when PostgreSQL is down, and fails instead in CI.
PG_URL = db.DEFAULT_ADMIN_URL
READ_ONLY_RPCS = {"sync_pull", "sync_fetch", "sip_summary"}  # STABLE: PostgREST runs them READ ONLY


# ------------------------------------------------------------------------------------------------
# Database fixture and the PostgREST-like request helper
# ------------------------------------------------------------------------------------------------


def _conninfo(dbname: str) -> str:
    return db.conninfo_with(PG_URL, dbname=dbname)


def _connect(dbname: str, **kwargs: Any) -> psycopg.Connection:
    return psycopg.connect(_conninfo(dbname), **kwargs)


@contextlib.contextmanager
def _throwaway_database() -> Iterator[str]:
    """A fresh database (and the name of its owner role, see `_apply_schema`); use it only from
    tests that requested `pg_admin_url`."""
    name = f"mftrack_sqltest_{uuid.uuid4().hex[:12]}"
    with _connect(database_name(PG_URL), autocommit=True, connect_timeout=5) as server:
        server.execute(f'create database "{name}"')
        try:
            yield name
        finally:
            server.execute(f'drop database if exists "{name}" with (force)')
            server.execute(f'drop role if exists "{_owner(name)}"')


def _owner(dbname: str) -> str:
    return f"{dbname}_owner"


# The hosted project's `postgres` role, which runs `supabase db push`: not a superuser; owns the
# database; may use the API roles; reads auth.users; and Supabase's default privileges grant
# everything it creates in `public` to anon, authenticated and service_role
# (supabase/postgres migrations/db/init-scripts/00000000000000-initial-schema.sql).
HOSTED_OWNER_SQL = """
create role {owner} login nosuperuser nocreatedb createrole bypassrls;
grant anon, authenticated, service_role to {owner};
alter database {db} owner to {owner};
grant usage on schema auth to {owner};
grant select, references on auth.users to {owner};
alter default privileges for role {owner} in schema public
  grant all on tables to anon, authenticated, service_role;
alter default privileges for role {owner} in schema public
  grant all on functions to anon, authenticated, service_role;
alter default privileges for role {owner} in schema public
  grant all on sequences to anon, authenticated, service_role;
"""


def _connect_as_owner(dbname: str) -> psycopg.Connection:
    return psycopg.connect(db.conninfo_with(PG_URL, dbname=dbname, user=_owner(dbname)))


def _apply_schema(dbname: str) -> None:
    """bootstrap.sql as the superuser (it is the platform's part), then every migration as a
    non-superuser owner with Supabase's default privileges, one transaction per file like
    `supabase db push`."""
    db.apply_bootstrap(_conninfo(dbname))
    with _connect(dbname, autocommit=True) as conn:
        conn.execute(HOSTED_OWNER_SQL.format(owner=f'"{_owner(dbname)}"', db=f'"{dbname}"'))
    with _connect_as_owner(dbname) as conn:
        assert conn.execute("select rolsuper from pg_roles where rolname = current_user"
                            ).fetchone() == (False,)
        for path in MIGRATIONS:
            conn.execute(path.read_text())
            conn.commit()


@pytest.fixture(scope="module")
def dbname(pg_admin_url: str) -> Iterator[str]:
    with _throwaway_database() as name:
        _apply_schema(name)
        yield name


@pytest.fixture(scope="module")
def admin(dbname: str) -> Iterator[psycopg.Connection]:
    """A superuser connection (autocommit) for set-up and for looking behind RLS."""
    with _connect(dbname, autocommit=True) as conn:
        yield conn


class Gateway:
    """Calls the database the way PostgREST does, on its own connection."""

    def __init__(self, dbname: str) -> None:
        self.conn = _connect(dbname, autocommit=True)

    def close(self) -> None:
        self.conn.close()

    def request(
        self,
        sql: str,
        params: Any = None,
        *,
        user: uuid.UUID | None = None,
        role: str = "authenticated",
        read_only: bool = False,
    ) -> list[tuple[Any, ...]] | None:
        claims: dict[str, Any] = {"role": role}
        if user is not None:
            claims["sub"] = str(user)
        with self.conn.transaction():
            if read_only:
                self.conn.execute("set transaction read only")
            self.conn.execute(
                "select set_config('search_path', 'public', true),"
                " set_config('role', %s, true),"
                " set_config('request.jwt.claims', %s, true)",
                (role, json.dumps(claims)),
            )
            cur = self.conn.execute(sql, params)
            return cur.fetchall() if cur.description else None

    def rpc(
        self, fn: str, *, user: uuid.UUID | None, role: str = "authenticated", **args: Any
    ) -> Any:
        named = ", ".join(f"{name} => %({name})s" for name in args)
        rows = self.request(
            f"select public.{fn}({named})",
            args,
            user=user,
            role=role,
            read_only=fn in READ_ONLY_RPCS,
        )
        assert rows is not None
        return rows[0][0]


@pytest.fixture(scope="module")
def api(dbname: str) -> Iterator[Gateway]:
    gw = Gateway(dbname)
    yield gw
    gw.close()


@pytest.fixture
def new_user(admin: psycopg.Connection):
    def make() -> uuid.UUID:
        uid = uuid.uuid4()
        admin.execute(
            "insert into auth.users (id, aud, role, email, created_at)"
            " values (%s, 'authenticated', 'authenticated', %s, now())",
            (uid, f"{uid.hex[:10]}@example.com"),
        )
        return uid

    return make


class Device:
    """A minimal sync client: numbers its mutations and remembers what it has pulled."""

    def __init__(self, api: Gateway, user: uuid.UUID) -> None:
        self.api = api
        self.user = user
        self.client_id = uuid.uuid4()
        self.next_mid = 1
        self.cursor: tuple[int, str | None] = (0, None)
        self.horizon: int | None = None  # the purge horizon of a full pull under way
        self.epoch: str | None = None

    def mutation(
        self,
        row_id: uuid.UUID | str,
        fields: dict[str, Any] | None = None,
        *,
        base_version: int | None = 0,
        deleted: bool = False,
        table: str = "sips",
        **extra: Any,
    ) -> dict[str, Any]:
        m = {
            "mid": self.next_mid,
            "table": table,
            "id": str(row_id),
            "base_version": base_version,
            "fields": fields or {},
            "deleted": deleted,
            **extra,
        }
        self.next_mid += 1
        return m

    def push(self, mutations: list[dict[str, Any]]) -> dict[str, Any]:
        return self.api.rpc(
            "sync_push", user=self.user, p_client_id=self.client_id, p_mutations=Jsonb(mutations)
        )

    def pull_page(self, limit: int = 500) -> dict[str, Any]:
        return self.api.rpc(
            "sync_pull",
            user=self.user,
            p_since=self.cursor[0],
            p_after_id=self.cursor[1],
            p_limit=limit,
            p_epoch=self.epoch,
            p_client_id=self.client_id,
            p_horizon=self.horizon,
        )

    def take_cursor(self, page: dict[str, Any]) -> None:
        """Keep a page's cursor (version, id and horizon) and epoch for the next call."""
        self.cursor = (page["cursor"]["version"], page["cursor"]["id"])
        self.horizon = page["cursor"]["horizon"]
        self.epoch = page["epoch"]

    def pull_all(self, limit: int = 500) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        while True:
            page = self.pull_page(limit)
            if page["reset"]:
                rows.clear()
            rows.extend(page["rows"])
            self.take_cursor(page)
            if not page["has_more"]:
                return rows


def sip_fields(**overrides: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "scheme_code": 120503,
        "amount": "5000",
        "start_date": "2024-01-10",
        "sip_day": 10,
    }
    fields.update(overrides)
    return fields


def server_rows(admin: psycopg.Connection, user: uuid.UUID) -> dict[str, dict[str, Any]]:
    cur = admin.execute(
        "select id, to_jsonb(s) from public.sips s where user_id = %s order by id", (user,)
    )
    return {str(r[0]): r[1] for r in cur.fetchall()}


def sqlstate_of(excinfo: pytest.ExceptionInfo[psycopg.Error]) -> str | None:
    return excinfo.value.sqlstate


# ------------------------------------------------------------------------------------------------
# Deployment
# ------------------------------------------------------------------------------------------------


@pytest.mark.skipif(shutil.which("psql") is None and not os.environ.get("CI"),
                    reason="psql not installed")  # in CI a missing psql fails the test
def test_migrations_apply_with_psql_in_order(pg_admin_url: str) -> None:
    """The documented deployment path: `psql -1 -v ON_ERROR_STOP=1 -f` each file in order."""
    with _throwaway_database() as name:
        env = {**os.environ, "PGCONNECT_TIMEOUT": "5"}
        for path in [BOOTSTRAP, *MIGRATIONS]:
            subprocess.run(
                [
                    "psql",
                    _conninfo(name),
                    "-X",
                    "-q",
                    "-1",
                    "-v",
                    "ON_ERROR_STOP=1",
                    "-f",
                    str(path),
                ],
                check=True,
                capture_output=True,
                env=env,
                timeout=60,
            )
        with _connect(name) as conn:
            names = {
                r[0]
                for r in conn.execute(
                    "select p.proname from pg_proc p join pg_namespace n on n.oid = p.pronamespace"
                    " where n.nspname = 'public'"
                ).fetchall()
            }
    assert {
        "sync_push",
        "sync_pull",
        "sync_fetch",
        "create_sip",
        "sip_summary",
        "purge_tombstones",
        "rotate_sync_epoch",
    } <= names


def test_migration_file_names_follow_supabase_layout() -> None:
    assert MIGRATIONS, "no migrations found"
    for path in MIGRATIONS:
        stamp, _, rest = path.name.partition("_")
        assert len(stamp) == 14 and stamp.isdigit() and rest.endswith(".sql"), path.name


# Functions created by the migrations, not by extensions (bootstrap puts pgcrypto in public).
OURS = (
    "not exists (select 1 from pg_depend d where d.classid = 'pg_proc'::regclass"
    " and d.objid = p.oid and d.deptype = 'e')"
)


def test_catalog_security_settings(admin: psycopg.Connection) -> None:
    rls = dict(
        admin.execute(
            "select c.relname, c.relrowsecurity from pg_class c"
            " join pg_namespace n on n.oid = c.relnamespace"
            " where n.nspname in ('public', 'private') and c.relkind = 'r'"
        ).fetchall()
    )
    assert rls and all(rls.values()), rls
    # every function in public/private pins its search_path; the trigger is security definer
    rows = admin.execute(
        "select n.nspname || '.' || p.proname, p.prosecdef, p.proconfig from pg_proc p"
        " join pg_namespace n on n.oid = p.pronamespace where n.nspname in ('public', 'private')"
        f" and {OURS}"
    ).fetchall()
    for name, _, config in rows:
        assert config and 'search_path=""' in config, name
    definers = {name for name, secdef, _ in rows if secdef}
    assert definers == {
        "private.bump_version",
        "private.sync_begin",
        "private.sync_finish",
        "private.sync_replayed_outcomes",
        "private.sync_id_taken",
        "private.sips_limit_per_user",
        "private.transactions_limit_per_user",
    }
    # Neither PUBLIC nor anon may execute any of our functions.
    open_to_public = admin.execute(
        "select n.nspname || '.' || p.proname from pg_proc p"
        " join pg_namespace n on n.oid = p.pronamespace"
        " cross join lateral aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a"
        f" where n.nspname in ('public', 'private') and a.grantee = 0 and {OURS}"
    ).fetchall()
    assert open_to_public == []
    anon_can = admin.execute(
        "select n.nspname || '.' || p.proname from pg_proc p"
        " join pg_namespace n on n.oid = p.pronamespace"
        f" where n.nspname in ('public', 'private') and {OURS}"
        " and has_function_privilege('anon', p.oid, 'execute')"
    ).fetchall()
    assert anon_can == []
    service_only = admin.execute(
        "select p.proname, has_function_privilege('authenticated', p.oid, 'execute'),"
        " has_function_privilege('service_role', p.oid, 'execute') from pg_proc p"
        " where p.proname in ('purge_tombstones', 'rotate_sync_epoch') order by 1"
    ).fetchall()
    assert service_only == [("purge_tombstones", False, True), ("rotate_sync_epoch", False, True)]
    view_opts = admin.execute(
        "select reloptions from pg_class where oid = 'public.sip_summary'::regclass"
    ).fetchone()
    assert view_opts == (["security_invoker=true"],)


# Who may execute each function of schema `private`, besides its owner (docs/hosted-schema.md
# "Security"). PUBLIC and anon never; a function missing here may be executed by nobody else.
_FOR_INVOKER_RPCS = ("sync_begin", "sync_finish", "sync_replayed_outcomes", "sync_is_permanent",
                     "sync_row_json_sql", "sync_id_taken", "sync_apply", "years_between",
                     "stepped_amount", "sip_schedule", "sip_summary_rows")
_FOR_ANY_WRITER = ("sync_table_meta", "iso_date_or_null", "valid_pauses", "valid_money",
                   "valid_amount_changes")
PRIVATE_EXECUTE: dict[str, set[str]] = {
    **{name: {"authenticated"} for name in _FOR_INVOKER_RPCS},
    **{name: {"authenticated", "service_role"} for name in _FOR_ANY_WRITER},
}


def private_execute_grants(conn: psycopg.Connection) -> dict[str, set[str]]:
    """Every function in `private` -> the roles (or "PUBLIC") holding EXECUTE on it, other
    than its owner, from the catalog (an absent ACL means the default: PUBLIC may execute)."""
    rows = conn.execute(
        "select p.proname, coalesce(r.rolname, 'PUBLIC') from pg_proc p"
        " join pg_namespace n on n.oid = p.pronamespace"
        " cross join lateral aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a"
        " left join pg_roles r on r.oid = a.grantee"
        " where n.nspname = 'private' and a.privilege_type = 'EXECUTE'"
        " and a.grantee <> p.proowner"
    ).fetchall()
    names = conn.execute(
        "select p.proname from pg_proc p join pg_namespace n on n.oid = p.pronamespace"
        " where n.nspname = 'private'"
    ).fetchall()
    grants: dict[str, set[str]] = {name: set() for (name,) in names}
    for name, grantee in rows:
        grants[name].add(grantee)
    return grants


def assert_private_execute_as_listed(conn: psycopg.Connection,
                                     listed: dict[str, set[str]]) -> None:
    grants = private_execute_grants(conn)
    assert grants, "no functions in schema private"
    wrong = {name: roles for name, roles in grants.items() if roles != listed.get(name, set())}
    assert wrong == {}, wrong
    for role in ("anon", "authenticated"):  # also through role membership or PUBLIC
        can = {name for (name,) in conn.execute(
            "select p.proname from pg_proc p join pg_namespace n on n.oid = p.pronamespace"
            " where n.nspname = 'private' and has_function_privilege(%s, p.oid, 'execute')",
            (role,)).fetchall()}
        assert can == {name for name, roles in listed.items() if role in roles}, role


def test_private_functions_are_executable_only_as_listed(admin: psycopg.Connection) -> None:
    """Issue 9 item 18: per-function revokes; no default privilege protects `private`."""
    assert_private_execute_as_listed(admin, PRIVATE_EXECUTE)
    # `alter default privileges in schema private revoke ... from public` stores nothing: a
    # new function in `private` is executable by PUBLIC unless its migration revokes it.
    assert admin.execute(
        "select count(*) from pg_default_acl d join pg_namespace n"
        " on n.oid = d.defaclnamespace where n.nspname = 'private'"
    ).fetchone() == (0,)


# ------------------------------------------------------------------------------------------------
# Push / pull
# ------------------------------------------------------------------------------------------------


def test_push_pull_round_trip(api: Gateway, new_user) -> None:
    user = new_user()
    dev = Device(api, user)
    sip_id = uuid.uuid4()
    fields = sip_fields(
        amount="5000.50",
        end_date="2030-12-31",
        step_up_kind="percent",
        step_up_value="10",
        pauses=[{"start": "2024-06-01", "end": "2024-08-31"}, {"start": "2029-01-01", "end": None}],
        amount_changes=[{"effective": "2025-01-01", "amount": "6000"}],
        label="Nifty 50 index",
        created_at="2024-01-01T10:00:00+05:30",
    )
    result = dev.push([dev.mutation(sip_id, fields)])
    assert result == {
        "last_mutation_id": 1,
        "version": 1,
        "applied": 1,
        "skipped": 0,
        "conflicts": [],
        "rejected": [],
    }

    rows = dev.pull_all()
    assert len(rows) == 1
    row = rows[0]
    assert row == {
        "table": "sips",
        "id": str(sip_id),
        "scheme_code": 120503,
        "amount": "5000.50",
        "start_date": "2024-01-10",
        "sip_day": 10,
        "end_date": "2030-12-31",
        "step_up_kind": "percent",
        "step_up_value": "10",
        "pauses": fields["pauses"],
        "amount_changes": fields["amount_changes"],
        "label": "Nifty 50 index",
        "created_at": "2024-01-01T04:30:00.000000Z",
        "updated_at": row["updated_at"],
        "deleted": False,
        "version": 1,
    }
    assert row["updated_at"].endswith("Z")
    assert dev.cursor == (1, None)

    # Nothing new: same cursor, no rows.
    page = dev.pull_page()
    assert page["rows"] == [] and page["has_more"] is False and page["reset"] is False
    assert page["cursor"] == {"version": 1, "id": None, "horizon": None}
    assert page["server_version"] == 1
    assert page["last_mutation_id"] == 1  # this device's applied mutations, same snapshot
    anonymous_cursor = api.rpc("sync_pull", user=user, p_since=1)
    assert anonymous_cursor["last_mutation_id"] is None  # no p_client_id given


def test_one_version_per_transaction_and_partial_update(api: Gateway, admin, new_user) -> None:
    user = new_user()
    dev = Device(api, user)
    a, b = uuid.uuid4(), uuid.uuid4()
    r1 = dev.push([dev.mutation(a, sip_fields()), dev.mutation(b, sip_fields(label="b"))])
    assert r1["version"] == 1
    assert {r["version"] for r in server_rows(admin, user).values()} == {1}

    # A second push touching only `label` of a: the other fields stay, b is untouched.
    r2 = dev.push([dev.mutation(a, {"label": "renamed"}, base_version=1)])
    assert r2["version"] == 2 and r2["conflicts"] == []
    rows = server_rows(admin, user)
    assert rows[str(a)]["label"] == "renamed" and rows[str(a)]["amount"] == 5000
    assert rows[str(a)]["version"] == 2 and rows[str(b)]["version"] == 1

    # An empty fields object with no delete change is a no-op: no version bump.
    r3 = dev.push([dev.mutation(a, {}, base_version=2)])
    assert r3["applied"] == 1 and r3["version"] == 2


def test_idempotent_replay(api: Gateway, admin, new_user) -> None:
    user = new_user()
    dev = Device(api, user)
    ids = [uuid.uuid4() for _ in range(3)]
    batch = [dev.mutation(i, sip_fields(label=str(n))) for n, i in enumerate(ids)]
    first = dev.push(batch)
    before = server_rows(admin, user)

    again = dev.push(batch)  # the response was lost; the client resends
    assert again["last_mutation_id"] == first["last_mutation_id"] == 3
    assert again["version"] == first["version"]
    assert (again["applied"], again["skipped"]) == (0, 3)
    assert again["conflicts"] == first["conflicts"] and again["rejected"] == first["rejected"]
    assert server_rows(admin, user) == before

    # Resent batch plus new mutations: only the new ones apply.
    extra = dev.mutation(ids[0], {"label": "new"}, base_version=1)
    third = dev.push([*batch, extra])
    assert (third["applied"], third["skipped"], third["last_mutation_id"]) == (1, 3, 4)


def test_replay_repeats_rejections_and_conflicts(api: Gateway, new_user) -> None:
    user = new_user()
    a_dev, b_dev = Device(api, user), Device(api, user)
    sip = uuid.uuid4()
    a_dev.push([a_dev.mutation(sip, sip_fields())])
    a_dev.push([a_dev.mutation(sip, {"label": "A"}, base_version=1)])

    batch = [
        b_dev.mutation(sip, {"amount": "-1"}, base_version=1),
        b_dev.mutation(sip, {"label": "B"}, base_version=1),
    ]
    first = b_dev.push(batch)
    assert [r["mid"] for r in first["rejected"]] == [1]
    assert first["rejected"][0]["code"] == "23514"
    assert first["conflicts"] == [
        {"mid": 2, "table": "sips", "id": str(sip), "base_version": 1, "server_version": 2}
    ]
    again = b_dev.push(batch)
    assert again["rejected"] == first["rejected"] and again["conflicts"] == first["conflicts"]
    assert again["applied"] == 0 and again["skipped"] == 2

    # Once the device pushes a batch starting after those mids, their outcomes are forgotten.
    later = b_dev.push([b_dev.mutation(sip, {"label": "C"}, base_version=3)])
    assert later["rejected"] == [] and later["conflicts"] == []
    assert b_dev.push(batch)["rejected"] == []


def test_per_field_last_writer_wins(api: Gateway, admin, new_user) -> None:
    user = new_user()
    a_dev, b_dev = Device(api, user), Device(api, user)
    sip = uuid.uuid4()
    a_dev.push([a_dev.mutation(sip, sip_fields(label="original"))])
    assert b_dev.pull_all()[0]["version"] == 1

    # Both devices edit from base version 1: A the amount, B the label.
    ra = a_dev.push([a_dev.mutation(sip, {"amount": "7500"}, base_version=1)])
    rb = b_dev.push([b_dev.mutation(sip, {"label": "renamed on B"}, base_version=1)])
    assert ra["conflicts"] == []
    assert rb["conflicts"] == [
        {"mid": 1, "table": "sips", "id": str(sip), "base_version": 1, "server_version": 2}
    ]
    row = server_rows(admin, user)[str(sip)]
    assert (row["amount"], row["label"], row["version"]) == (7500, "renamed on B", 3)

    # Same field from both: the later commit wins, whatever the devices' clocks say.
    a_dev.push([a_dev.mutation(sip, {"amount": "1000"}, base_version=3)])
    b_dev.push([b_dev.mutation(sip, {"amount": "2000"}, base_version=3)])
    assert server_rows(admin, user)[str(sip)]["amount"] == 2000

    pulled = {r["id"]: r for r in a_dev.pull_all()}
    assert pulled[str(sip)]["amount"] == "2000.00"
    assert pulled[str(sip)]["label"] == "renamed on B"


def test_no_self_conflict_within_one_batch(api: Gateway, new_user) -> None:
    user = new_user()
    dev = Device(api, user)
    sip = uuid.uuid4()
    dev.push([dev.mutation(sip, sip_fields())])
    # Two edits queued from the same base before the first was acknowledged.
    result = dev.push(
        [
            dev.mutation(sip, {"label": "x"}, base_version=1),
            dev.mutation(sip, {"label": "y"}, base_version=1),
        ]
    )
    assert result["conflicts"] == [] and result["applied"] == 2


def test_tombstones_are_sticky(api: Gateway, admin, new_user) -> None:
    user = new_user()
    a_dev, b_dev = Device(api, user), Device(api, user)
    sip = uuid.uuid4()
    a_dev.push([a_dev.mutation(sip, sip_fields())])
    b_dev.pull_all()

    a_dev.push([a_dev.mutation(sip, base_version=1, deleted=True)])
    # B, unaware, edits the row: the edit lands but the row stays deleted.
    rb = b_dev.push([b_dev.mutation(sip, {"label": "edited"}, base_version=1, deleted=False)])
    assert rb["conflicts"][0]["server_version"] == 2
    row = server_rows(admin, user)[str(sip)]
    assert row["deleted"] is True and row["label"] == "edited"

    pulled = b_dev.pull_all()
    assert [(r["id"], r["deleted"]) for r in pulled] == [(str(sip), True)]  # tombstones included

    # An explicit undelete clears it.
    b_dev.push([b_dev.mutation(sip, base_version=3, undelete=True)])
    assert server_rows(admin, user)[str(sip)]["deleted"] is False
    assert b_dev.pull_all()[0]["deleted"] is False


def test_delete_of_unknown_row_is_a_noop_and_create_deleted_is_a_tombstone(
    api: Gateway, admin, new_user
) -> None:
    user = new_user()
    dev = Device(api, user)
    ghost, born_dead = uuid.uuid4(), uuid.uuid4()
    result = dev.push(
        [dev.mutation(ghost, deleted=True), dev.mutation(born_dead, sip_fields(), deleted=True)]
    )
    assert result["applied"] == 2 and result["rejected"] == []
    rows = server_rows(admin, user)
    assert str(ghost) not in rows
    assert rows[str(born_dead)]["deleted"] is True


def test_paging_many_rows_sharing_one_version(api: Gateway, admin, new_user) -> None:
    user = new_user()
    dev = Device(api, user)
    ids = [uuid.uuid4() for _ in range(1200)]
    result = dev.push([dev.mutation(i, sip_fields(label=f"sip {n}")) for n, i in enumerate(ids)])
    assert result["applied"] == 1200 and result["version"] == 1
    assert {r["version"] for r in server_rows(admin, user).values()} == {1}

    reader = Device(api, user)
    pages = []
    while True:
        page = reader.pull_page(limit=500)
        pages.append(page)
        reader.cursor = (page["cursor"]["version"], page["cursor"]["id"])
        if not page["has_more"]:
            break
    assert [len(p["rows"]) for p in pages] == [500, 500, 200]
    assert pages[0]["cursor"]["version"] == 1 and pages[0]["cursor"]["id"] is not None
    got = [r["id"] for p in pages for r in p["rows"]]
    assert len(got) == len(set(got)) == 1200
    assert set(got) == {str(i) for i in ids}
    assert got == sorted(got)  # (version, id) order within the one version

    # Limits are capped to 1..1000.
    assert len(Device(api, user).pull_page(limit=5000)["rows"]) == 1000
    assert len(Device(api, user).pull_page(limit=0)["rows"]) == 1


def test_pull_sees_direct_table_writes(api: Gateway, new_user) -> None:
    """Rows written through /rest/v1/sips (not sync_push) are versioned and pulled too."""
    user = new_user()
    sip = uuid.uuid4()
    api.request(
        "insert into public.sips (id, scheme_code, amount, start_date, sip_day, version)"
        " values (%s, 1, 100, '2024-01-01', 1, 999)",
        (sip,),
        user=user,
    )
    api.request("update public.sips set label = 'x', version = 5 where id = %s", (sip,), user=user)
    rows = Device(api, user).pull_all()
    assert [(r["id"], r["version"], r["label"]) for r in rows] == [(str(sip), 2, "x")]


def test_deleting_the_account_removes_everything(api: Gateway, admin, new_user) -> None:
    user = new_user()
    dev = Device(api, user)
    dev.push([dev.mutation(uuid.uuid4(), sip_fields())])
    rejected = dev.push([dev.mutation(uuid.uuid4(), {"amount": "1"})])  # kept as an outcome
    assert len(rejected["rejected"]) == 1
    admin.execute("delete from auth.users where id = %s", (user,))
    for table in (
        "public.sips",
        "public.sync_state",
        "public.sync_clients",
        "private.sync_outcomes",
    ):
        count = admin.execute(f"select count(*) from {table} where user_id = %s", (user,))
        assert count.fetchone() == (0,), table


def _recipe_from_docs() -> str:
    text = (ROOT / "docs" / "hosted-schema.md").read_text(encoding="utf-8")
    block = text.split("<!-- recipe: another synced table -->", 1)[1]
    return block.split("```sql", 1)[1].split("```", 1)[0]


ANOTHER_SYNCED_TABLE = _recipe_from_docs()

def test_another_synced_table_is_one_migration(pg_admin_url: str) -> None:
    """The template of docs/hosted-schema.md: a second table shares the user's version."""
    with _throwaway_database() as name:
        _apply_schema(name)
        with _connect_as_owner(name) as conn:
            conn.execute(ANOTHER_SYNCED_TABLE)
            conn.commit()
            # the recipe's helper is as locked down as the migrations' own
            assert_private_execute_as_listed(
                conn, {**PRIVATE_EXECUTE, "valid_goal_name": {"authenticated", "service_role"}})
        with _connect(name, autocommit=True) as conn:
            user = uuid.uuid4()
            conn.execute("insert into auth.users (id) values (%s)", (user,))
        gw = Gateway(name)
        try:
            dev = Device(gw, user)
            sip, goal = uuid.uuid4(), uuid.uuid4()
            result = dev.push(
                [
                    dev.mutation(sip, sip_fields()),
                    dev.mutation(goal, {"name": "house", "target": "2500000"}, table="goals"),
                    dev.mutation(uuid.uuid4(), {"target": "1.234"}, table="goals"),
                ]
            )
            assert result["version"] == 1 and result["applied"] == 2
            assert [r["code"] for r in result["rejected"]] == ["22023"]
            dev.push([dev.mutation(goal, {"target": "3000000.5"}, base_version=1, table="goals")])
            rows = dev.pull_all(limit=1)
            assert [(r["table"], r["id"], r["version"]) for r in rows] == [
                ("sips", str(sip), 1),
                ("goals", str(goal), 2),
            ]
            assert rows[1]["target"] == "3000000.50" and rows[1]["name"] == "house"
        finally:
            gw.close()


# ------------------------------------------------------------------------------------------------
# The out-of-order-commit race (sync-protocol.md D.2)
# ------------------------------------------------------------------------------------------------


def _wait_until_blocked(admin: psycopg.Connection, pid: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        row = admin.execute(
            "select wait_event_type from pg_stat_activity where pid = %s", (pid,)
        ).fetchone()
        if row and row[0] == "Lock":
            return
        time.sleep(0.02)
    raise AssertionError("the second writer never blocked on the first one's lock")


@pytest.mark.parametrize("second_writer", ["sync_push", "direct_insert"])
def test_pull_never_passes_an_uncommitted_write(
    dbname: str, api: Gateway, admin, new_user, second_writer: str
) -> None:
    user = new_user()
    base = Device(api, user)
    base.push([base.mutation(uuid.uuid4(), sip_fields())])
    v0 = 1

    slow_row, fast_row = uuid.uuid4(), uuid.uuid4()
    slow_conn = _connect(dbname, autocommit=True)
    fast_gw = Gateway(dbname)
    pushed, release = threading.Event(), threading.Event()
    results: dict[str, Any] = {}
    errors: list[BaseException] = []
    slow_dev = Device(api, user)

    def slow_writer() -> None:
        # Holds its push transaction open (a slow network, a long batch) until released.
        try:
            with slow_conn.transaction():
                slow_conn.execute(
                    "select set_config('role', 'authenticated', true),"
                    " set_config('request.jwt.claims', %s, true)",
                    (json.dumps({"sub": str(user), "role": "authenticated"}),),
                )
                cur = slow_conn.execute(
                    "select public.sync_push(%s, %s)",
                    (slow_dev.client_id, Jsonb([slow_dev.mutation(slow_row, sip_fields())])),
                )
                results["slow"] = cur.fetchone()[0]
                pushed.set()
                assert release.wait(30)
            results["slow_committed_at"] = time.monotonic()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
            pushed.set()

    def fast_writer() -> None:
        # Starts while the slow one is open and would commit first without the per-user lock.
        try:
            if second_writer == "sync_push":
                dev = Device(fast_gw, user)
                results["fast"] = dev.push([dev.mutation(fast_row, sip_fields())])
            else:
                fast_gw.request(
                    "insert into public.sips (id, scheme_code, amount, start_date, sip_day)"
                    " values (%s, 1, 100, '2024-01-01', 1)",
                    (fast_row,),
                    user=user,
                )
            results["fast_committed_at"] = time.monotonic()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    fast_pid = fast_gw.conn.info.backend_pid
    t_slow = threading.Thread(target=slow_writer)
    t_fast = threading.Thread(target=fast_writer)
    try:
        t_slow.start()
        assert pushed.wait(30) and not errors, errors
        assert results["slow"]["version"] == v0 + 1  # assigned, not yet committed
        t_fast.start()
        _wait_until_blocked(admin, fast_pid)

        reader = Device(api, user)
        during = reader.pull_all()
        assert reader.cursor == (v0, None)  # the cursor did not move past the open write
        assert [r["version"] for r in during] == [v0]

        release.set()
        t_slow.join(30)
        t_fast.join(30)
        assert not errors, errors
        assert results["fast_committed_at"] >= results["slow_committed_at"]

        after = reader.pull_all()
        versions = {r["id"]: r["version"] for r in after}
        assert versions == {str(slow_row): v0 + 1, str(fast_row): v0 + 2}
        assert reader.cursor == (v0 + 2, None)
    finally:
        release.set()
        for t in (t_slow, t_fast):
            if t.ident is not None:
                t.join(30)
        slow_conn.close()
        fast_gw.close()


# ------------------------------------------------------------------------------------------------
# RLS and grants
# ------------------------------------------------------------------------------------------------


def test_rls_isolates_users(api: Gateway, admin, new_user) -> None:
    alice, bob = new_user(), new_user()
    a_dev, b_dev = Device(api, alice), Device(api, bob)
    sip = uuid.uuid4()
    a_dev.push([a_dev.mutation(sip, sip_fields(label="alice's"))])
    before = server_rows(admin, alice)

    # Bob sees nothing of Alice's, through the RPC or the table.
    assert b_dev.pull_all() == []
    assert api.request("select count(*) from public.sips", user=bob) == [(0,)]
    assert api.request("select count(*) from public.sync_state", user=bob) == [(0,)]
    assert api.request(
        "select count(*) from public.sync_clients where user_id <> %s", (bob,), user=bob
    ) == [(0,)]
    # A plain UPDATE of an invisible row changes nothing.
    api.request("update public.sips set label = 'bob was here' where id = %s", (sip,), user=bob)

    # Upserting onto Alice's id through the table is an RLS error, not a silent skip.
    with pytest.raises(psycopg.Error) as exc:
        api.request(
            "insert into public.sips (id, scheme_code, amount, start_date, sip_day)"
            " values (%s, 1, 1, '2024-01-01', 1) on conflict (id) do update set label = 'x'",
            (sip,),
            user=bob,
        )
    assert sqlstate_of(exc) == "42501"
    # Writing a row for Alice is refused too.
    with pytest.raises(psycopg.Error) as exc:
        api.request(
            "insert into public.sips (id, user_id, scheme_code, amount, start_date, sip_day)"
            " values (%s, %s, 1, 1, '2024-01-01', 1)",
            (uuid.uuid4(), alice),
            user=bob,
        )
    assert sqlstate_of(exc) == "42501"

    # Through sync_push: rejected with 42501, for an edit, a "create" and a delete of her id.
    result = b_dev.push(
        [
            b_dev.mutation(sip, {"label": "bob"}, base_version=1),
            b_dev.mutation(sip, sip_fields(), base_version=0),
            b_dev.mutation(sip, deleted=True),
        ]
    )
    assert [(r["mid"], r["code"]) for r in result["rejected"]] == [
        (1, "42501"),
        (2, "42501"),
        (3, "42501"),
    ]
    assert "belongs to another user" in result["rejected"][0]["message"]
    assert result["last_mutation_id"] == 3
    assert server_rows(admin, alice) == before
    assert server_rows(admin, bob) == {}


def test_anon_and_missing_user(api: Gateway, new_user) -> None:
    user = new_user()
    for sql in (
        "select count(*) from public.sips",
        "select count(*) from public.sync_state",
        "select count(*) from public.sync_clients",
        "select count(*) from public.sip_summary",
    ):
        with pytest.raises(pg_errors.InsufficientPrivilege):
            api.request(sql, role="anon")
    for fn, args in (
        ("sync_push", {"p_client_id": uuid.uuid4(), "p_mutations": Jsonb([])}),
        ("sync_pull", {}),
        ("sip_summary", {}),
        ("sync_fetch", {"p_table": "sips", "p_ids": [uuid.uuid4()]}),
        ("create_sip", {"p_scheme_code": 1, "p_amount": 1, "p_start_date": "2024-01-01"}),
    ):
        with pytest.raises(pg_errors.InsufficientPrivilege, match="permission denied for function"):
            api.rpc(fn, user=None, role="anon", **args)
        # authenticated role but no `sub` claim
        with pytest.raises(pg_errors.InsufficientPrivilege, match="signed-in user"):
            api.rpc(fn, user=None, **args)
    # The user's own sync_state is readable, but not writable, and sips rows cannot be deleted.
    Device(api, user).push([])
    assert api.request("select count(*) from public.sync_state", user=user) == [(1,)]
    for sql in (
        "update public.sync_state set version = 0",
        "insert into public.sync_clients (user_id, client_id)"
        " values (auth.uid(), gen_random_uuid())",
        "delete from public.sips",
        "select private.bump_version()",
    ):
        with pytest.raises(pg_errors.InsufficientPrivilege):
            api.request(sql, user=user)
    for fn, args in (("purge_tombstones", {"p_older_than": "0 days"}), ("rotate_sync_epoch", {})):
        with pytest.raises(pg_errors.InsufficientPrivilege):
            api.rpc(fn, user=user, **args)


def test_version_and_ownership_cannot_be_forged(api: Gateway, admin, new_user) -> None:
    alice, bob = new_user(), new_user()
    sip = uuid.uuid4()
    api.request(
        "insert into public.sips (id, scheme_code, amount, start_date, sip_day)"
        " values (%s, 1, 100, '2024-01-01', 1)",
        (sip,),
        user=alice,
    )
    with pytest.raises(pg_errors.InsufficientPrivilege):
        api.request("update public.sips set user_id = %s where id = %s", (bob, sip), user=alice)
    dev = Device(api, alice)
    result = dev.push(
        [
            dev.mutation(sip, {"version": 99}),
            dev.mutation(sip, {"user_id": str(bob)}),
            dev.mutation(sip, {"updated_at": "2000-01-01T00:00:00Z"}),  # ignored, not rejected
        ]
    )
    assert [(r["mid"], r["code"]) for r in result["rejected"]] == [(1, "22023"), (2, "22023")]
    row = server_rows(admin, alice)[str(sip)]
    assert row["version"] == 1 and not row["updated_at"].startswith("2000")


# ------------------------------------------------------------------------------------------------
# Rejections (per mutation) and whole-call errors
# ------------------------------------------------------------------------------------------------

EXISTING = "existing"
BAD_MUTATIONS = [
    # (id, fields, extra envelope keys, expected SQLSTATE)
    ("new", {"scheme_code": 1}, {}, "23502"),  # required fields missing
    ("new", sip_fields(amount="-5"), {}, "23514"),
    ("new", sip_fields(amount="0"), {}, "23514"),
    ("new", sip_fields(amount="abc"), {}, "22023"),
    ("new", sip_fields(amount="NaN"), {}, "22023"),
    ("new", sip_fields(amount="1.005"), {}, "22023"),  # would be rounded silently
    ("new", sip_fields(amount="12345678901234"), {}, "22003"),  # numeric(14,2) overflow
    ("new", sip_fields(sip_day=32), {}, "23514"),
    ("new", sip_fields(sip_day=0), {}, "23514"),
    ("new", sip_fields(sip_day=5.5), {}, "22P02"),
    ("new", sip_fields(sip_day="ten"), {}, "22023"),
    ("new", sip_fields(scheme_code=-1), {}, "23514"),
    ("new", sip_fields(start_date="2024-02-30"), {}, "22008"),
    ("new", sip_fields(start_date="10/01/2024"), {}, "22007"),
    ("new", sip_fields(end_date="2023-01-01"), {}, "23514"),
    ("new", sip_fields(step_up_kind="yearly", step_up_value="5"), {}, "23514"),
    ("new", sip_fields(step_up_kind="percent"), {}, "23514"),  # value missing
    ("new", sip_fields(step_up_kind="percent", step_up_value="150"), {}, "23514"),
    ("new", sip_fields(pauses=[{"start": "2024-05-01", "end": "2024-04-01"}]), {}, "23514"),
    ("new", sip_fields(pauses=[{"end": "2024-04-01"}]), {}, "23514"),
    ("new", sip_fields(pauses={"start": "2024-05-01"}), {}, "23514"),
    ("new", sip_fields(amount_changes=[{"effective": "2024-05-01", "amount": "-1"}]), {}, "23514"),
    ("new", sip_fields(amount_changes=[{"effective": "2024-5-1", "amount": "1"}]), {}, "23514"),
    ("new", sip_fields(label=123), {}, "22023"),
    ("new", sip_fields(label="x" * 501), {}, "23514"),
    ("new", sip_fields(colour="red"), {}, "22023"),  # unknown field
    ("new", sip_fields(deleted="yes"), {}, "22023"),
    ("new", sip_fields(version=7), {}, "22023"),  # server-assigned
    ("not-a-uuid", sip_fields(), {}, "22P02"),
    ("new", sip_fields(), {"table": "goals"}, "22023"),  # unknown table
    ("new", sip_fields(), {"fields": ["amount"]}, "22023"),
    ("new", sip_fields(), {"deleted": "yes"}, "22023"),
    ("new", sip_fields(), {"base_version": "1"}, "22023"),
    ("new", sip_fields(), {"deleted": True, "undelete": True}, "22023"),
    (EXISTING, {"amount": None}, {}, "23502"),
    (EXISTING, {"pauses": None}, {}, "23502"),
    (EXISTING, {"step_up_value": "5"}, {}, "23514"),  # kind is null on the row
]


@pytest.mark.parametrize(("which", "fields", "extra", "code"), BAD_MUTATIONS)
def test_bad_mutation_is_rejected_and_the_rest_applies(
    api: Gateway,
    admin,
    new_user,
    which: str,
    fields: dict[str, Any],
    extra: dict[str, Any],
    code: str,
) -> None:
    user = new_user()
    dev = Device(api, user)
    existing = uuid.uuid4()
    dev.push([dev.mutation(existing, sip_fields())])
    target = {"new": uuid.uuid4(), EXISTING: existing}.get(which, which)
    bad = dev.mutation(target, fields, base_version=1 if which == EXISTING else 0)
    bad.update(extra)
    good = dev.mutation(existing, {"label": "after the bad one"}, base_version=1)

    result = dev.push([bad, good])
    assert result["last_mutation_id"] == good["mid"]
    assert result["applied"] == 1
    assert len(result["rejected"]) == 1
    rejected = result["rejected"][0]
    assert (rejected["mid"], rejected["code"]) == (bad["mid"], code), rejected["message"]
    assert rejected["message"]
    rows = server_rows(admin, user)
    assert rows[str(existing)]["label"] == "after the bad one"
    assert rows[str(existing)]["amount"] == 5000 and rows[str(existing)]["pauses"] == []
    assert len(rows) == 1


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("not an array", "must be a JSON array"),
        ("no mid", 'positive integer "mid"'),
        ("mid 0", 'positive integer "mid"'),
        ("mid as string", 'positive integer "mid"'),
        ("repeated mid", "strictly increasing"),
        ("decreasing mids", "strictly increasing"),
        ("too many", "too many mutations"),
    ],
)
def test_malformed_batch_fails_the_whole_call(
    api: Gateway, admin, new_user, case: str, message: str
) -> None:
    user = new_user()
    dev = Device(api, user)
    valid = dev.mutation(uuid.uuid4(), sip_fields())  # mid 1: rolled back with the rest
    batches: dict[str, Any] = {
        "not an array": valid,
        "no mid": [valid, {"table": "sips", "id": str(uuid.uuid4())}],
        "mid 0": [{**valid, "mid": 0}],
        "mid as string": [valid, {**valid, "mid": "2"}],
        "repeated mid": [valid, {**valid, "id": str(uuid.uuid4())}],
        "decreasing mids": [{**valid, "mid": 3}, {**valid, "mid": 2}],
        "too many": [{**valid, "mid": n, "id": str(uuid.uuid4())} for n in range(1, 2002)],
    }
    with pytest.raises(pg_errors.InvalidParameterValue, match=message):
        dev.push(batches[case])
    assert server_rows(admin, user) == {}
    assert admin.execute(
        "select count(*) from public.sync_clients where user_id = %s", (user,)
    ).fetchone() == (0,)


def test_sync_fetch_restores_a_rejected_row(api: Gateway, new_user) -> None:
    user, other = new_user(), new_user()
    dev = Device(api, user)
    mine, gone = uuid.uuid4(), uuid.uuid4()
    dev.push([dev.mutation(mine, sip_fields()), dev.mutation(gone, sip_fields(), deleted=True)])
    result = dev.push([dev.mutation(mine, {"amount": "-1"}, base_version=1)])
    assert [r["id"] for r in result["rejected"]] == [str(mine)]

    fetched = api.rpc("sync_fetch", user=user, p_table="sips", p_ids=[mine, gone, uuid.uuid4()])
    pulled = {r["id"]: r for r in Device(api, user).pull_all()}
    assert fetched["rows"] == sorted(pulled.values(), key=lambda r: r["id"])
    assert {r["id"]: r["deleted"] for r in fetched["rows"]} == {str(mine): False, str(gone): True}
    assert api.rpc("sync_fetch", user=other, p_table="sips", p_ids=[mine]) == {"rows": []}
    with pytest.raises(pg_errors.InvalidParameterValue):
        api.rpc("sync_fetch", user=user, p_table="sync_state", p_ids=[mine])


def test_transient_error_fails_the_whole_call(dbname: str, api: Gateway, admin, new_user) -> None:
    """A lock time-out is not the mutation's fault: the call fails and nothing is acknowledged."""
    user = new_user()
    dev = Device(api, user)
    sip = uuid.uuid4()
    dev.push([dev.mutation(sip, sip_fields())])
    impatient = Gateway(dbname)
    impatient.conn.execute("set lock_timeout = '200ms'")
    dev.api = impatient
    try:
        with _connect(dbname) as locker:
            locker.execute("select 1 from public.sips where id = %s for update", (sip,))
            with pytest.raises(pg_errors.LockNotAvailable):
                dev.push([dev.mutation(sip, {"label": "x"}, base_version=1)])
            locker.rollback()
    finally:
        impatient.close()
    state = admin.execute(
        "select last_mutation_id from public.sync_clients where client_id = %s", (dev.client_id,)
    ).fetchone()
    assert state == (1,)
    assert server_rows(admin, user)[str(sip)]["label"] is None


# ------------------------------------------------------------------------------------------------
# Epoch reset and tombstone purge
# ------------------------------------------------------------------------------------------------


def test_epoch_reset(api: Gateway, admin, new_user) -> None:
    user = new_user()
    dev = Device(api, user)
    dev.push([dev.mutation(uuid.uuid4(), sip_fields())])
    dev.pull_all()
    epoch = dev.epoch
    assert epoch is not None

    assert dev.pull_page()["reset"] is False
    wrong = Device(api, user)
    wrong.epoch = str(uuid.uuid4())
    page = wrong.pull_page()
    assert page["reset"] is True and page["rows"] == [] and page["has_more"] is True
    assert page["cursor"] == {"version": 0, "id": None, "horizon": None}
    assert page["epoch"] == epoch

    # The server "went back in time" (restored backup): a cursor beyond its version resets.
    ahead = Device(api, user)
    ahead.cursor = (50, None)
    assert ahead.pull_page()["reset"] is True

    # The operator rotates the epoch after a restore: every client resets once, then goes on.
    assert api.rpc("rotate_sync_epoch", user=None, role="service_role", p_user_id=user) == 1
    page = dev.pull_page()
    assert page["reset"] is True and page["epoch"] != epoch
    rows = dev.pull_all()
    assert len(rows) == 1 and dev.pull_page()["reset"] is False


def test_purge_tombstones(api: Gateway, admin, new_user) -> None:
    user = new_user()
    dev = Device(api, user)
    keep, gone, fresh = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    dev.push([dev.mutation(keep, sip_fields()), dev.mutation(gone, sip_fields())])  # v1
    late = Device(api, user)
    late.pull_all()  # cursor v1
    dev.push([dev.mutation(gone, base_version=1, deleted=True)])  # v2
    dev.push([dev.mutation(fresh, sip_fields())])  # v3
    up_to_date = Device(api, user)
    up_to_date.pull_all()  # cursor v3
    with admin.transaction():  # age the tombstone; replica mode skips the version trigger
        admin.execute("set local session_replication_role = replica")
        admin.execute(
            "update public.sips set updated_at = now() - interval '100 days' where id = %s", (gone,)
        )

    result = api.rpc("purge_tombstones", user=None, role="service_role", p_older_than="90 days")
    assert result == {"purged": 1, "users": 1, "more": False}
    assert str(gone) not in server_rows(admin, user)
    min_version = admin.execute(
        "select min_version from public.sync_state where user_id = %s", (user,)
    ).fetchone()[0]
    assert min_version == 2

    assert late.pull_page()["reset"] is True  # might have missed the purged tombstone
    assert up_to_date.pull_page()["reset"] is False  # saw it already
    assert {r["id"] for r in Device(api, user).pull_all()} == {str(keep), str(fresh)}


def _purged_user(
    api: Gateway, admin, new_user, rows: int = 1200
) -> tuple[uuid.UUID, list[str], Device]:
    """A user with `rows` SIPs pushed 200 per push (versions 1..6), an older device `behind`
    whose cursor predates the removal of the first one (version 7), and that tombstone purged:
    min_version 7 is above every live row. Returns (user, live ids in pull order, behind)."""
    user = new_user()
    dev = Device(api, user)
    ids = [uuid.uuid4() for _ in range(rows)]
    for start in range(0, rows, 200):
        dev.push([dev.mutation(i, sip_fields()) for i in ids[start:start + 200]])
    behind = Device(api, user)
    behind.pull_all()
    dev.push([dev.mutation(ids[0], base_version=1, deleted=True)])
    with admin.transaction():  # age the tombstone; replica mode skips the version trigger
        admin.execute("set local session_replication_role = replica")
        admin.execute(
            "update public.sips set updated_at = now() - interval '1 day' where id = %s", (ids[0],)
        )
    result = api.rpc("purge_tombstones", user=None, role="service_role", p_older_than="1 hour")
    assert result["purged"] == 1
    state = admin.execute(
        "select version, min_version from public.sync_state where user_id = %s", (user,)
    ).fetchone()
    assert state == (rows // 200 + 1, rows // 200 + 1)
    in_pull_order = sorted((n // 200, str(i)) for n, i in enumerate(ids) if n)  # ids[0] is gone
    return user, [i for _, i in in_pull_order], behind


def _pull_pages(dev: Device, limit: int = 500) -> list[dict[str, Any]]:
    pages = []
    while True:
        page = dev.pull_page(limit)
        pages.append(page)
        dev.take_cursor(page)
        if not page["has_more"]:
            return pages


def test_a_full_pull_pages_through_rows_below_the_purge_horizon(api, admin, new_user) -> None:
    """Issue 9 item 1: a first pull of 1,199 rows, all below min_version, is not reset at its
    page boundaries; its cursor carries the horizon it started from, then drops it."""
    user, live, _ = _purged_user(api, admin, new_user)
    fresh = Device(api, user)
    pages = _pull_pages(fresh)
    assert [p["reset"] for p in pages] == [False, False, False]
    assert [len(p["rows"]) for p in pages] == [500, 500, 199]
    assert [r["id"] for p in pages for r in p["rows"]] == live
    assert [p["cursor"]["horizon"] for p in pages] == [7, 7, None]
    assert fresh.cursor == (7, None) and fresh.pull_page()["reset"] is False

    # An old client that never sends p_horizon gets the old answer at its second page.
    old = Device(api, user)
    old.cursor = (pages[0]["cursor"]["version"], pages[0]["cursor"]["id"])
    assert old.pull_page()["reset"] is True


def test_a_device_behind_the_purge_resets_once_then_pages_through(api, admin, new_user) -> None:
    _, live, behind = _purged_user(api, admin, new_user)
    assert behind.cursor == (6, None)
    first = behind.pull_page()
    assert first["reset"] is True  # it may have missed the purged tombstone
    behind.take_cursor(first)
    pages = _pull_pages(behind)
    assert [p["reset"] for p in pages] == [False, False, False]
    assert [r["id"] for p in pages for r in p["rows"]] == live


def test_after_rotating_the_epoch_every_device_pages_through(api, admin, new_user) -> None:
    """The documented restore step after a purge: each device resets once, then finishes."""
    user, live, behind = _purged_user(api, admin, new_user)
    fresh = Device(api, user)
    _pull_pages(fresh)
    assert api.rpc("rotate_sync_epoch", user=None, role="service_role", p_user_id=user) == 1
    for dev in (fresh, behind):
        first = dev.pull_page()
        assert first["reset"] is True and first["epoch"] != dev.epoch
        dev.take_cursor(first)
        pages = _pull_pages(dev)
        assert [p["reset"] for p in pages] == [False, False, False]
        assert [r["id"] for p in pages for r in p["rows"]] == live


def test_a_purge_during_a_full_pull_resets_it(api, admin, new_user) -> None:
    """A row received on page 1, removed and purged before page 2: the full pull could never
    learn of it, so page 2 answers reset (min_version > greatest(cursor, horizon))."""
    user, _, _ = _purged_user(api, admin, new_user)
    dev = Device(api, user)
    page = dev.pull_page()
    dev.take_cursor(page)
    victim = page["rows"][0]["id"]
    writer = Device(api, user)
    writer.push([writer.mutation(victim, base_version=1, deleted=True)])  # version 8
    assert dev.pull_page()["reset"] is False  # the tombstone is still there: page 2 is fine
    api.rpc("purge_tombstones", user=None, role="service_role", p_older_than="0 seconds")
    assert str(victim) not in server_rows(admin, user)
    assert dev.pull_page()["reset"] is True

    # A horizon above min_version (the server went back in time) resets too.
    liar = Device(api, user)
    liar.take_cursor(Device(api, user).pull_page())
    liar.horizon = 1000
    assert liar.pull_page()["reset"] is True


# ------------------------------------------------------------------------------------------------
# Limits (issue 9 item 19; docs/hosted-schema.md "Limits")
# ------------------------------------------------------------------------------------------------


def _days(count: int) -> list[str]:
    first = date(2024, 1, 1)
    return [(first + timedelta(days=2 * i)).isoformat() for i in range(count)]


def test_pauses_and_amount_changes_per_sip_are_limited(api: Gateway, admin, new_user) -> None:
    user = new_user()
    dev = Device(api, user)
    pauses = [{"start": d, "end": d} for d in _days(501)]
    changes = [{"effective": d, "amount": "6000"} for d in _days(501)]
    ok, many_pauses, many_changes = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    result = dev.push([
        dev.mutation(ok, sip_fields(pauses=pauses[:500], amount_changes=changes[:500])),
        dev.mutation(many_pauses, sip_fields(pauses=pauses)),
        dev.mutation(many_changes, sip_fields(amount_changes=changes)),
    ])
    assert result["applied"] == 1
    assert [(r["id"], r["code"]) for r in result["rejected"]] == [
        (str(many_pauses), "23514"), (str(many_changes), "23514")]
    assert "sips_pauses_count_check" in result["rejected"][0]["message"]
    assert "sips_amount_changes_count_check" in result["rejected"][1]["message"]
    # one more pause on the SIP at the limit is refused too
    grown = dev.push([dev.mutation(ok, {"pauses": pauses}, base_version=1)])
    assert [r["code"] for r in grown["rejected"]] == ["23514"]
    summary = api.rpc("sip_summary", user=user, p_as_of="2026-01-01")
    assert summary is not None
    # a row stored before the limits (the CHECKs are NOT VALID) can still be removed
    with admin.transaction():  # store one as the migration found it: around the CHECK
        definition = admin.execute(
            "select pg_get_constraintdef(oid) from pg_constraint"
            " where conname = 'sips_pauses_count_check'").fetchone()[0]
        assert definition.endswith("NOT VALID")
        admin.execute("alter table public.sips drop constraint sips_pauses_count_check")
        admin.execute("set local session_replication_role = replica")
        admin.execute("update public.sips set pauses = %s where id = %s", (Jsonb(pauses), ok))
        admin.execute(
            f"alter table public.sips add constraint sips_pauses_count_check {definition}")
    removed = dev.push([dev.mutation(ok, base_version=1, deleted=True)])
    assert removed["applied"] == 1 and removed["rejected"] == []


def _insert_live_sips(admin: psycopg.Connection, user: uuid.UUID, count: int) -> None:
    with admin.transaction():  # straight into the table: 4,999 pushes would only be slow
        admin.execute("set local session_replication_role = replica")
        admin.execute(
            "insert into public.sips (id, user_id, scheme_code, amount, start_date, sip_day,"
            " version) select gen_random_uuid(), %s, 120503, 5000, '2024-01-10', 10, 1"
            " from generate_series(1, %s)", (user, count))
        admin.execute("insert into public.sync_state (user_id, version) values (%s, 1)", (user,))


def test_live_sips_per_user_are_limited(api: Gateway, admin, new_user) -> None:
    user = new_user()
    _insert_live_sips(admin, user, 4999)
    dev = Device(api, user)
    last, over = uuid.uuid4(), uuid.uuid4()
    result = dev.push([dev.mutation(last, sip_fields()), dev.mutation(over, sip_fields())])
    assert result["applied"] == 1
    assert [(r["id"], r["code"]) for r in result["rejected"]] == [(str(over), "23514")]
    assert "at most 5000" in result["rejected"][0]["message"]
    with pytest.raises(pg_errors.CheckViolation):  # create_sip too
        api.rpc("create_sip", user=user, p_scheme_code=119551, p_amount="2500",
                p_start_date="2024-03-15")
    # a tombstone frees its place; undeleting it needs one again
    freed = dev.push([dev.mutation(last, base_version=2, deleted=True),
                      dev.mutation(over, sip_fields())])
    assert freed["applied"] == 2 and freed["rejected"] == []
    back = dev.push([dev.mutation(last, base_version=3, undelete=True)])
    assert [r["code"] for r in back["rejected"]] == ["23514"]
    # edits of live SIPs at the limit are fine
    edited = dev.push([dev.mutation(over, {"label": "still editable"}, base_version=3)])
    assert edited["rejected"] == []
    other = new_user()  # the limit is per user
    assert Device(api, other).push([Device(api, other).mutation(uuid.uuid4(), sip_fields())])[
        "applied"] == 1


def test_devices_per_user_are_limited(api: Gateway, admin, new_user) -> None:
    user = new_user()
    known = Device(api, user)
    known.push([known.mutation(uuid.uuid4(), sip_fields())])
    for _ in range(49):
        admin.execute("insert into public.sync_clients (user_id, client_id) values (%s, %s)",
                      (user, uuid.uuid4()))
    with pytest.raises(psycopg.Error) as refused:
        fresh = Device(api, user)
        fresh.push([fresh.mutation(uuid.uuid4(), sip_fields())])
    assert refused.value.sqlstate == "54000"
    assert "at most 50" in str(refused.value)
    assert known.push([known.mutation(uuid.uuid4(), sip_fields())])["applied"] == 1
    assert admin.execute("select count(*) from public.sync_clients where user_id = %s",
                         (user,)).fetchone() == (50,)


# ------------------------------------------------------------------------------------------------
# create_sip and the summary
# ------------------------------------------------------------------------------------------------


def test_create_sip(api: Gateway, new_user) -> None:
    user = new_user()
    row = api.rpc(
        "create_sip",
        user=user,
        p_scheme_code=119551,
        p_amount="2500.5",
        p_start_date="2024-03-15",
        p_label="ELSS",
    )
    assert row["table"] == "sips" and row["sip_day"] == 15 and row["amount"] == "2500.50"
    assert row["version"] == 1 and row["deleted"] is False and row["pauses"] == []
    pulled = Device(api, user).pull_all()
    assert pulled == [row]
    with pytest.raises(pg_errors.InvalidParameterValue):
        api.rpc(
            "create_sip", user=user, p_scheme_code=1, p_amount="1.001", p_start_date="2024-01-01"
        )
    with pytest.raises(pg_errors.CheckViolation):
        api.rpc(
            "create_sip",
            user=user,
            p_scheme_code=1,
            p_amount="100",
            p_start_date="2024-01-01",
            p_sip_day=40,
        )


def test_sip_summary(api: Gateway, new_user) -> None:
    user, other = new_user(), new_user()
    dev = Device(api, user)
    dev.push(
        [
            # 31st -> Feb 29 (2024 leap year); Jan 31 .. Jun 30 2024 = 6 instalments of 1000
            dev.mutation(
                uuid.uuid4(),
                sip_fields(
                    scheme_code=1,
                    amount="1000",
                    start_date="2024-01-05",
                    sip_day=31,
                    end_date="2024-06-30",
                ),
            ),
            # paused Mar-Apr; amount change from May: Jan, Feb @500, May, Jun @700 (as of Jun 15)
            dev.mutation(
                uuid.uuid4(),
                sip_fields(
                    scheme_code=2,
                    amount="500",
                    start_date="2024-01-01",
                    sip_day=1,
                    pauses=[{"start": "2024-03-01", "end": "2024-04-30"}],
                    amount_changes=[{"effective": "2024-05-01", "amount": "700"}],
                ),
            ),
            # step-up +100/yr from start: 2023-06-10 .. 2024-06-10 = 13 instalments,
            # 12 x 2000 + 1 x 2100 (the 2024-06-10 anniversary)
            dev.mutation(
                uuid.uuid4(),
                sip_fields(
                    scheme_code=3,
                    amount="2000",
                    start_date="2023-06-10",
                    sip_day=10,
                    step_up_kind="amount",
                    step_up_value="100",
                ),
            ),
            # step-up 10%/yr: 2022-07-20 .. 2024-05-20 = 23 instalments:
            # 12 x 1000 + 11 x 1100
            dev.mutation(
                uuid.uuid4(),
                sip_fields(
                    scheme_code=3,
                    amount="1000",
                    start_date="2022-07-20",
                    sip_day=20,
                    step_up_kind="percent",
                    step_up_value="10",
                ),
            ),
            # deleted: ignored
            dev.mutation(uuid.uuid4(), sip_fields(scheme_code=4), deleted=True),
            # starts in the future: counted as a SIP, no instalments
            dev.mutation(uuid.uuid4(), sip_fields(scheme_code=5, start_date="2024-07-01")),
            # May-Aug 2020: stamp duty only on the Jul and Aug instalments (from 1 Jul 2020)
            dev.mutation(
                uuid.uuid4(),
                sip_fields(
                    scheme_code=6, start_date="2020-05-15", sip_day=15, end_date="2020-08-31"
                ),
            ),
        ]
    )
    other_dev = Device(api, other)
    other_dev.push([other_dev.mutation(uuid.uuid4(), sip_fields(scheme_code=1))])

    summary = api.rpc("sip_summary", user=user, p_as_of="2024-06-15")
    assert summary["as_of"] == "2024-06-15"
    by_code = {s["scheme_code"]: s for s in summary["schemes"]}
    assert sorted(by_code) == [1, 2, 3, 5, 6]

    def stamp(amount: str, n: int) -> Decimal:
        one = (Decimal(amount) * Decimal("0.005") / Decimal("100.005")).quantize(Decimal("0.01"))
        return one * n

    s1 = by_code[1]
    assert (s1["sips"], s1["active_sips"], s1["instalments"]) == (1, 1, 5)  # Jun 30 not yet due
    assert (s1["first_due"], s1["last_due"]) == ("2024-01-31", "2024-05-31")
    assert s1["invested"] == "5000.00" and Decimal(s1["stamp_duty"]) == stamp("1000", 5)

    s2 = by_code[2]
    assert (s2["instalments"], s2["invested"]) == (4, "2400.00")
    assert s2["active_sips"] == 1
    s3 = by_code[3]
    assert s3["sips"] == 2 and s3["instalments"] == 13 + 23
    invested3 = 12 * 2000 + 2100 + 12 * 1000 + 11 * 1100
    assert Decimal(s3["invested"]) == invested3
    expected_stamp = stamp("2000", 12) + stamp("2100", 1) + stamp("1000", 12) + stamp("1100", 11)
    assert Decimal(s3["stamp_duty"]) == expected_stamp
    assert Decimal(s3["net_invested"]) == invested3 - expected_stamp
    s5 = by_code[5]
    assert (s5["sips"], s5["active_sips"], s5["instalments"], s5["invested"]) == (1, 0, 0, "0.00")

    s6 = by_code[6]
    assert (s6["active_sips"], s6["instalments"], s6["invested"]) == (0, 4, "20000.00")
    assert s6["stamp_duty"] == "0.50" and s6["net_invested"] == "19999.50"
    old = api.rpc("sip_summary", user=user, p_as_of="2020-06-30")
    assert {s["scheme_code"]: s["stamp_duty"] for s in old["schemes"]}[6] == "0.00"

    # The view is the same computation as of today in India, and respects RLS.
    today = api.request("select (now() at time zone 'Asia/Kolkata')::date::text", user=user)[0][0]
    rpc_today = api.rpc("sip_summary", user=user)
    view = api.request(
        "select scheme_code, instalments, invested::text from public.sip_summary"
        " order by scheme_code",
        user=user,
    )
    assert rpc_today["as_of"] == today
    assert view == [
        (s["scheme_code"], s["instalments"], s["invested"]) for s in rpc_today["schemes"]
    ]
    other_view = api.request("select scheme_code from public.sip_summary", user=other)
    assert other_view == [(1,)]


def test_client_sip_records_round_trip(api: Gateway, admin, new_user) -> None:
    """What the CLI's outbox holds (mftrack.domain.sip_record) is accepted and comes back equal."""
    user = new_user()
    dev = Device(api, user)
    created = datetime(2024, 1, 1, 4, 30, 15, 123456, tzinfo=UTC)
    sip = Sip(
        id=str(uuid.uuid4()),
        scheme_code=120503,
        amount=Decimal("5000.50"),
        start_date=date(2024, 1, 31),
        day=31,
        end_date=date(2030, 1, 31),
        step_up=StepUp(StepUpKind.PERCENT, Decimal("7.5")),
        pauses=(Pause(date(2024, 6, 1), date(2024, 7, 31)), Pause(date(2029, 1, 1), None)),
        amount_changes=(AmountChange(date(2025, 1, 1), Decimal("6000")),),
        label="Index fund",
        created_at=created,
        updated_at=created,
    )
    record = sip_to_record(sip)
    result = dev.push([dev.mutation(sip.id, {n: record[n] for n in SYNCED_FIELDS})])
    assert result["rejected"] == []
    (row,) = dev.pull_all()
    back = sip_from_record(row)
    assert replace(back, updated_at=None) == replace(sip, updated_at=None)
    assert back.updated_at is not None and back.updated_at != sip.updated_at  # server-stamped

    # An edit as the store queues it: the changed fields, with updated_at and deleted among them.
    after = replace(sip, label="renamed", deleted=True, updated_at=datetime.now(UTC))
    fields = changed_fields(sip, after)
    assert {"label", "updated_at", "deleted"} <= set(fields)
    result = dev.push([dev.mutation(sip.id, fields, base_version=row["version"])])
    assert result["rejected"] == []
    stored = server_rows(admin, user)[sip.id]
    assert stored["deleted"] is True and stored["label"] == "renamed"
    # "deleted": false inside fields never undeletes
    dev.push([dev.mutation(sip.id, {"deleted": False, "label": "again"}, base_version=2)])
    assert server_rows(admin, user)[sip.id]["deleted"] is True


money = st.decimals(min_value=Decimal("1"), max_value=Decimal("200000"), places=2)
days = st.dates(min_value=date(2014, 1, 1), max_value=date(2026, 12, 31))


@st.composite
def planned_sips(draw: st.DrawFn) -> Sip:
    start = draw(days)
    end = draw(st.one_of(st.none(), st.dates(min_value=start, max_value=date(2032, 12, 31))))
    step_up = draw(
        st.one_of(
            st.none(),
            st.builds(StepUp, st.just(StepUpKind.AMOUNT), money),
            st.builds(
                StepUp,
                st.just(StepUpKind.PERCENT),
                st.sampled_from(["5", "7.5", "10", "12.25", "33.33", "100"]).map(Decimal),
            ),
        )
    )
    pauses = []
    for p_start, length in draw(st.lists(st.tuples(days, st.integers(-1, 400)), max_size=2)):
        p_end = None if length < 0 else date.fromordinal(p_start.toordinal() + length)
        pauses.append(Pause(p_start, p_end))
    changes = draw(st.lists(st.builds(AmountChange, days, money), max_size=3))
    return Sip(
        id=str(uuid.uuid4()),
        scheme_code=draw(st.integers(1, 3)),
        amount=draw(money),
        start_date=start,
        day=draw(st.integers(1, 31)),
        end_date=end,
        step_up=step_up,
        pauses=tuple(pauses),
        amount_changes=tuple(changes),
        created_at=datetime(2024, 1, 1, tzinfo=UTC),  # the store always sets it
        deleted=draw(st.integers(0, 9)) == 0,  # now and then a tombstone
    )


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(sips=st.lists(planned_sips(), min_size=1, max_size=4), as_of=days)
def test_server_schedule_matches_the_cli(
    api: Gateway, new_user, sips: list[Sip], as_of: date
) -> None:
    """private.sip_schedule and sip_summary follow mftrack.domain.sips to the paisa."""
    user = new_user()
    dev = Device(api, user)
    records = [sip_to_record(s) for s in sips]
    result = dev.push([dev.mutation(r["id"], {n: r[n] for n in SYNCED_FIELDS}) for r in records])
    assert result["rejected"] == []

    expected = sorted(
        (i.sip_id, i.due_date, i.amount) for s in sips for i in scheduled_instalments(s, as_of)
    )
    rows = api.request(
        "select sip_id::text, due_date, amount from private.sip_schedule(%s)", (as_of,), user=user
    )
    assert sorted(rows or []) == expected

    summary = api.rpc("sip_summary", user=user, p_as_of=as_of)
    by_code = {s["scheme_code"]: s for s in summary["schemes"]}
    live = [s for s in sips if not s.deleted]
    assert sorted(by_code) == sorted({s.scheme_code for s in live})
    for code, got in by_code.items():
        due = [i for s in live if s.scheme_code == code for i in scheduled_instalments(s, as_of)]
        invested = sum((i.amount for i in due), Decimal(0))
        stamp = sum((stamp_duty(i.amount, i.due_date) for i in due), Decimal(0))
        assert got["instalments"] == len(due)
        assert Decimal(got["invested"]) == invested
        assert Decimal(got["stamp_duty"]) == stamp
        assert Decimal(got["net_invested"]) == invested - stamp


# ------------------------------------------------------------------------------------------------
# Property: random pushes/pulls from several devices converge on the server's state
# ------------------------------------------------------------------------------------------------

FIELD_VALUES = {
    "amount": st.sampled_from(["100", "2500.50", "5000", "12000.75"]),
    "label": st.one_of(st.none(), st.sampled_from(["a", "b", "Nifty", "ELSS"])),
    "sip_day": st.integers(1, 31),
    "end_date": st.one_of(st.none(), st.sampled_from(["2030-01-31", "2031-12-31"])),
}

field_changes = st.sets(st.sampled_from(sorted(FIELD_VALUES)), min_size=1).flatmap(
    lambda keys: st.fixed_dictionaries({k: FIELD_VALUES[k] for k in sorted(keys)})
)

# (kind, device, row pick / page size / lose-the-response flag, changed fields)
OP_KINDS = ["sync", "create", "edit", "delete", "push", "pull", "edit", "sync", "rotate_epoch"]
op_strategy = st.tuples(
    st.sampled_from(OP_KINDS),
    st.integers(0, 2),
    st.integers(0, 50),
    field_changes,
)


class ModelDevice(Device):
    """Device plus a local store and an outbox, following sync-protocol.md D.4."""

    def __init__(self, api: Gateway, user: uuid.UUID) -> None:
        super().__init__(api, user)
        self.rows: dict[str, dict[str, Any]] = {}
        self.server_version: dict[str, int] = {}
        self.outbox: list[dict[str, Any]] = []

    def edit(self, row_id: str, fields: dict[str, Any], *, deleted: bool = False) -> None:
        if deleted:
            self.rows.pop(row_id, None)
        else:
            self.rows.setdefault(row_id, {}).update(fields)
        self.outbox.append(
            self.mutation(
                row_id, fields, deleted=deleted, base_version=self.server_version.get(row_id, 0)
            )
        )

    def sync_push(self, lose_response: bool = False) -> dict[str, Any] | None:
        if not self.outbox:
            return None
        result = self.push(self.outbox[:200])
        assert result["rejected"] == []
        if not lose_response:
            acked = result["last_mutation_id"]
            self.outbox = [m for m in self.outbox if m["mid"] > acked]
        return result

    def sync_pull(self, limit: int) -> None:
        seen: set[str] | None = None  # ids seen during a full re-pull after a reset
        while True:
            page = self.pull_page(limit)
            if page["reset"]:
                assert page["rows"] == [] and page["has_more"] is True
                seen = set()
            # Outbox entries the server has applied (response lost, not yet acknowledged) are
            # already in these rows; only the others are overlaid.
            unapplied = [m for m in self.outbox if m["mid"] > page["last_mutation_id"]]
            for row in page["rows"]:
                if seen is not None:
                    seen.add(row["id"])
                rid = row["id"]
                self.server_version[rid] = row["version"]
                pending = [m for m in unapplied if m["id"] == rid]
                if row["deleted"] or any(m["deleted"] for m in pending):
                    self.rows.pop(rid, None)
                    continue
                local = {
                    k: row[k]
                    for k in ("scheme_code", "amount", "start_date", "sip_day", "label", "end_date")
                }
                for m in pending:  # local edits the server has not seen yet win per field
                    local.update(m["fields"])
                self.rows[rid] = local
            self.take_cursor(page)
            if not page["has_more"]:
                break
        if seen is not None:  # after a full re-pull: drop what the server no longer has
            pending = {m["id"] for m in unapplied}
            for rid in set(self.rows) - seen - pending:
                del self.rows[rid]


def _norm(fields: dict[str, Any]) -> dict[str, Any]:
    out = dict(fields)
    if out.get("amount") is not None:
        out["amount"] = Decimal(str(out["amount"])).quantize(Decimal("0.01"))
    return out


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ops=st.lists(op_strategy, min_size=20, max_size=80), n_devices=st.integers(2, 3))
def test_random_multi_device_sync_converges(
    api: Gateway, admin, new_user, ops: list[tuple[Any, ...]], n_devices: int
) -> None:
    user = new_user()
    devices = [ModelDevice(api, user) for _ in range(n_devices)]
    model: dict[str, dict[str, Any]] = {}  # expected server state, in server commit order

    def apply_to_model(mutations: list[dict[str, Any]], already: int) -> None:
        for m in mutations:
            if m["mid"] <= already:
                continue
            row = model.get(m["id"])
            if row is None:
                if m["deleted"] and not m["fields"]:
                    continue
                row = model[m["id"]] = {"label": None, "end_date": None, "deleted": False}
            row.update(m["fields"])
            row["deleted"] = row["deleted"] or m["deleted"]

    acked_on_server = [0] * n_devices

    def push(dev_i: int, lose_response: bool = False) -> None:
        batch = devices[dev_i].outbox[:200]
        if devices[dev_i].sync_push(lose_response=lose_response) is not None:
            apply_to_model(batch, acked_on_server[dev_i])
            acked_on_server[dev_i] = max([acked_on_server[dev_i], *(m["mid"] for m in batch)])

    for kind, dev_i, pick, fields in ops:
        dev_i %= n_devices
        dev = devices[dev_i]
        if kind == "create":
            dev.edit(str(uuid.uuid4()), sip_fields(label=None, end_date=None))
        elif kind in ("edit", "delete") and dev.rows:
            row_id = sorted(dev.rows)[pick % len(dev.rows)]
            if kind == "edit":
                dev.edit(row_id, dict(fields))
            else:
                dev.edit(row_id, {}, deleted=True)
        elif kind == "push":
            push(dev_i, lose_response=pick % 2 == 1)
        elif kind == "pull":
            dev.sync_pull(limit=1 + pick % 4)
        elif kind == "sync":
            push(dev_i, lose_response=pick % 3 == 1)
            dev.sync_pull(limit=1 + pick % 4)
        elif kind == "rotate_epoch":
            api.rpc("rotate_sync_epoch", user=None, role="service_role", p_user_id=user)

    for i, dev in enumerate(devices):  # drain every outbox, then everyone pulls
        while dev.outbox:
            push(i)
    for dev in devices:
        dev.sync_pull(limit=3)

    server = server_rows(admin, user)
    assert set(server) == set(model)
    for rid, expected in model.items():
        got = server[rid]
        for key, value in expected.items():
            if key == "amount":
                assert Decimal(str(got[key])) == Decimal(value), (rid, key)
            else:
                assert got[key] == value, (rid, key)

    live = {rid: row for rid, row in server.items() if not row["deleted"]}
    expected_local = {
        rid: _norm(
            {
                k: row[k]
                for k in ("scheme_code", "amount", "start_date", "sip_day", "label", "end_date")
            }
        )
        for rid, row in live.items()
    }
    for dev in devices:
        assert {rid: _norm(r) for rid, r in dev.rows.items()} == expected_local
    # and a fresh device pulling everything gets the server's table, tombstones included
    fresh = Device(api, user)
    pulled = {r["id"]: (r["deleted"], r["version"]) for r in fresh.pull_all(limit=7)}
    assert pulled == {rid: (row["deleted"], row["version"]) for rid, row in server.items()}
