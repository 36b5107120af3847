"""The stand-in's PostgREST endpoints, driven by the real supabase-py 2.34.1 postgrest client
(and raw httpx where the HTTP status or headers matter: postgrest-py's APIError has no
status)."""

from __future__ import annotations

import threading
import uuid

import httpx
import pytest
from postgrest.exceptions import APIError

from tests.standin import StandIn
from tests.standin.fixtures import standin, standin_server, unique_email  # noqa: F401

pytestmark = pytest.mark.postgres

SCHEMA_SQL = """
create table if not exists public.standin_notes (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null default auth.uid() references auth.users (id) on delete cascade,
  body text not null,
  n int not null default 0 check (n >= 0),
  created_at timestamptz not null default clock_timestamp()
);
create index if not exists standin_notes_user_id_idx on public.standin_notes (user_id);
alter table public.standin_notes enable row level security;
drop policy if exists standin_notes_select on public.standin_notes;
drop policy if exists standin_notes_insert on public.standin_notes;
drop policy if exists standin_notes_update on public.standin_notes;
create policy standin_notes_select on public.standin_notes for select to authenticated
  using ((select auth.uid()) = user_id);
create policy standin_notes_insert on public.standin_notes for insert to authenticated
  with check ((select auth.uid()) = user_id);
create policy standin_notes_update on public.standin_notes for update to authenticated
  using ((select auth.uid()) = user_id) with check ((select auth.uid()) = user_id);
revoke all on public.standin_notes from anon;

create or replace function public.standin_my_notes() returns setof public.standin_notes
  language sql stable security invoker
  as $$ select * from public.standin_notes order by created_at, id $$;
revoke execute on function public.standin_my_notes() from public, anon;
grant execute on function public.standin_my_notes() to authenticated;

create or replace function public.standin_add_note(p_body text, p_user_id uuid default null,
                                                   p_n int default 0)
  returns public.standin_notes language sql volatile security invoker
  as $$ insert into public.standin_notes (user_id, body, n)
        values (coalesce(p_user_id, auth.uid()), p_body, p_n) returning * $$;

create or replace function public.standin_whoami() returns jsonb language sql stable
  as $$ select jsonb_build_object(
    'uid', auth.uid(), 'role', current_user, 'claims_role', auth.jwt() ->> 'role',
    'method', current_setting('request.method', true),
    'path', current_setting('request.path', true),
    'apikey_header', current_setting('request.headers', true)::jsonb ? 'apikey',
    'timeout', current_setting('statement_timeout'),
    'read_only', current_setting('transaction_read_only'),
    'search_path', current_setting('search_path')) $$;

create or replace function public.standin_volatile_whoami() returns jsonb language sql volatile
  as $$ select public.standin_whoami() $$;

create or replace function public.standin_touch() returns void language sql volatile
  as $$ select 1 $$;

create or replace function public.standin_stable_write(p_body text) returns int
  language sql stable
  as $$ select (public.standin_add_note(p_body)).n $$;

create or replace function public.standin_raise(p_code text, p_message text) returns void
  language plpgsql
  as $$ begin
    raise exception using errcode = p_code, message = p_message, detail = 'some detail',
                          hint = 'a hint';
  end $$;

create or replace function public.standin_custom_error() returns void language plpgsql
  as $$ begin
    raise sqlstate 'PGRST' using
      message = '{"code":"MF001","message":"custom failure","details":"d","hint":"h"}',
      detail = '{"status":418,"headers":{"X-Why":"teapot"}}';
  end $$;

create or replace function public.standin_types(p_id uuid, p_n bigint, p_tags text[],
                                                p_doc jsonb, p_day date, p_amount numeric)
  returns jsonb language sql immutable
  as $$ select jsonb_build_object('id', p_id, 'n', p_n + 1, 'tags', array_length(p_tags, 1),
        'doc', p_doc, 'day', p_day + 1, 'amount', p_amount * 2,
        'types', jsonb_build_array(pg_typeof(p_n)::text, pg_typeof(p_amount)::text)) $$;

create or replace function public.standin_body(jsonb) returns jsonb language sql immutable
  as $$ select jsonb_build_object('got', $1) $$;

create or replace function public.standin_series(p_n int) returns setof int
  language sql immutable as $$ select generate_series(1, p_n) $$;
"""


@pytest.fixture(scope="module")
def schema(standin_server: StandIn) -> StandIn:  # noqa: F811
    standin_server.sql(SCHEMA_SQL)
    return standin_server


@pytest.fixture
def db(schema: StandIn, standin: StandIn) -> StandIn:  # noqa: F811
    return standin


def user(standin: StandIn) -> tuple[str, str]:  # noqa: F811
    """(user id, access token) of a new user."""
    user_id = standin.create_user(unique_email(), "password-1")
    return user_id, standin.issue_session(user_id)["access_token"]


def post(standin: StandIn, path: str, token: str | None = None, **kwargs) -> httpx.Response:  # noqa: F811
    headers = {"apikey": standin.anon_key, **kwargs.pop("headers", {})}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return httpx.post(standin.url + path, headers=headers, **kwargs)


def get(standin: StandIn, path: str, token: str | None = None, **kwargs) -> httpx.Response:  # noqa: F811
    headers = {"apikey": standin.anon_key, **kwargs.pop("headers", {})}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return httpx.get(standin.url + path, headers=headers, **kwargs)


# ------------------------------------------------------------------------------------- RPC


def test_rpc_runs_as_the_caller_with_rls(db: StandIn) -> None:
    a_id, a_token = user(db)
    b_id, b_token = user(db)
    rest_a, rest_b = db.rest_client(a_token), db.rest_client(b_token)
    rest_a.rpc("standin_add_note", {"p_body": "a1"}).execute()
    rest_a.rpc("standin_add_note", {"p_body": "a2", "p_n": 5}).execute()
    added = rest_b.rpc("standin_add_note", {"p_body": "b1"}).execute().data
    assert added["user_id"] == b_id and added["body"] == "b1"  # composite -> object

    mine = rest_a.rpc("standin_my_notes", {}).execute().data
    assert [(r["body"], r["n"], r["user_id"]) for r in mine] == [("a1", 0, a_id),
                                                                  ("a2", 5, a_id)]
    assert [r["body"] for r in rest_b.rpc("standin_my_notes", {}).execute().data] == ["b1"]


def test_rpc_anon_denied_is_401_and_foreign_write_is_403(db: StandIn) -> None:
    a_id, _a_token = user(db)
    _b_id, b_token = user(db)
    with pytest.raises(APIError) as info:
        db.rest_client().rpc("standin_my_notes", {}).execute()
    assert info.value.code == "42501"
    assert db.requests("/rest/v1/rpc/standin_my_notes")[-1].status == 401

    with pytest.raises(APIError) as info:
        db.rest_client(b_token).rpc("standin_add_note",
                                    {"p_body": "forged", "p_user_id": a_id}).execute()
    assert info.value.code == "42501"
    assert "row-level security" in info.value.message
    assert db.requests("/rest/v1/rpc/standin_add_note")[-1].status == 403
    assert db.sql_value("select count(*) from public.standin_notes where body = 'forged'") == 0

    raw = post(db, "/rest/v1/rpc/standin_my_notes", json={})
    assert raw.status_code == 401
    assert raw.headers["WWW-Authenticate"] == "Bearer"
    assert set(raw.json()) == {"code", "message", "details", "hint"}


def test_rpc_transaction_preamble(db: StandIn) -> None:
    a_id, a_token = user(db)
    who = db.rest_client(a_token).rpc("standin_whoami", {}).execute().data
    assert who == {"uid": a_id, "role": "authenticated", "claims_role": "authenticated",
                   "method": "POST", "path": "/rpc/standin_whoami", "apikey_header": True,
                   "timeout": "8s", "read_only": "on", "search_path": "public"}
    anon = db.rest_client().rpc("standin_volatile_whoami", {}).execute().data
    assert anon["uid"] is None
    assert (anon["role"], anon["timeout"], anon["read_only"]) == ("anon", "3s", "off")
    service = httpx.post(f"{db.url}/rest/v1/rpc/standin_whoami", json={},
                         headers={"apikey": db.service_key}).json()
    assert service["role"] == "service_role"


def test_rpc_argument_types_and_shapes(db: StandIn) -> None:
    rest = db.rest_client(user(db)[1])
    some_id = str(uuid.uuid4())
    out = rest.rpc("standin_types", {
        "p_id": some_id, "p_n": 9007199254740993, "p_tags": ["a", "b,c"],
        "p_doc": {"k": [1, 2]}, "p_day": "2024-02-28", "p_amount": "1234.50",
    }).execute().data
    assert out == {"id": some_id, "n": 9007199254740994, "tags": 2, "doc": {"k": [1, 2]},
                   "day": "2024-02-29", "amount": 2469.00, "types": ["bigint", "numeric"]}
    # A single unnamed json/jsonb parameter receives the whole body.
    assert rest.rpc("standin_body", {"x": 1, "y": [2]}).execute().data == {
        "got": {"x": 1, "y": [2]}}
    assert rest.rpc("standin_series", {"p_n": 3}).execute().data == [1, 2, 3]
    # void -> 204, no body
    assert rest.rpc("standin_touch", {}).execute().data == []
    assert db.requests("/rest/v1/rpc/standin_touch")[-1].status == 204
    # invalid input -> 22P02 -> 400
    with pytest.raises(APIError) as info:
        rest.rpc("standin_types", {"p_id": "nope", "p_n": 1, "p_tags": [], "p_doc": None,
                                   "p_day": "2024-01-01", "p_amount": 1}).execute()
    assert info.value.code == "22P02"
    assert db.requests("/rest/v1/rpc/standin_types")[-1].status == 400


def test_rpc_unknown_function_or_arguments_is_pgrst202(db: StandIn) -> None:
    rest = db.rest_client(user(db)[1])
    with pytest.raises(APIError) as info:
        rest.rpc("standin_add_note", {"p_text": "x"}).execute()
    assert info.value.code == "PGRST202"
    assert info.value.message == ("Could not find the function public.standin_add_note(p_text)"
                                  " in the schema cache")
    assert info.value.hint == ("Perhaps you meant to call the function"
                               " public.standin_add_note(p_body, p_user_id, p_n)")
    assert db.requests("/rest/v1/rpc/standin_add_note")[-1].status == 404
    with pytest.raises(APIError) as info:
        rest.rpc("standin_no_such_function", {}).execute()
    assert info.value.code == "PGRST202"
    assert "without parameters" in info.value.message


def test_rpc_read_only_for_stable_functions(db: StandIn) -> None:
    rest = db.rest_client(user(db)[1])
    with pytest.raises(APIError) as info:
        rest.rpc("standin_stable_write", {"p_body": "x"}).execute()
    assert info.value.code == "25006"
    assert db.requests("/rest/v1/rpc/standin_stable_write")[-1].status == 405


@pytest.mark.parametrize(("code", "status"), [
    ("P0001", 400), ("PT409", 409), ("PT402", 402), ("23505", 409), ("23503", 409),
    ("23514", 400), ("22023", 400), ("42883", 404), ("40001", 500), ("57014", 500),
    ("XX000", 500), ("53300", 503), ("08006", 503), ("P0002", 500),
])
def test_sqlstate_to_http(db: StandIn, code: str, status: int) -> None:
    token = user(db)[1]
    with pytest.raises(APIError) as info:
        db.rest_client(token).rpc("standin_raise", {"p_code": code, "p_message": "boom"}).execute()
    assert (info.value.code, info.value.message) == (code, "boom")
    assert (info.value.details, info.value.hint) == ("some detail", "a hint")
    assert db.requests("/rest/v1/rpc/standin_raise")[-1].status == status


def test_custom_pgrst_error(db: StandIn) -> None:
    response = post(db, "/rest/v1/rpc/standin_custom_error", user(db)[1], json={})
    assert response.status_code == 418
    assert response.headers["X-Why"] == "teapot"
    assert response.json() == {"code": "MF001", "message": "custom failure", "details": "d",
                               "hint": "h"}


# ------------------------------------------------------------------------------------- JWT


def test_expired_jwt_is_pgrst303_after_the_30s_leeway(db: StandIn) -> None:
    token = user(db)[1]
    rest = db.rest_client(token)
    db.clock.advance(3600 + 25)  # expired, but inside PostgREST's 30 s skew
    assert rest.rpc("standin_whoami", {}).execute().data["role"] == "authenticated"
    db.clock.advance(10)
    with pytest.raises(APIError) as info:
        rest.rpc("standin_whoami", {}).execute()
    assert (info.value.code, info.value.message) == ("PGRST303", "JWT expired")
    response = post(db, "/rest/v1/rpc/standin_whoami", token, json={})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == \
        'Bearer error="invalid_token", error_description="JWT expired"'
    assert response.json() == {"code": "PGRST303", "details": None, "hint": None,
                               "message": "JWT expired"}

    db.set_postgrest_version(12)
    with pytest.raises(APIError) as info:
        rest.rpc("standin_whoami", {}).execute()
    assert (info.value.code, info.value.message) == ("PGRST301", "JWT expired")


def test_bad_jwts_are_pgrst301(db: StandIn) -> None:
    user_id, _token = user(db)
    forged = db.make_jwt(user_id=user_id, secret="y" * 40)
    for token, message in ((forged, "No suitable key or wrong key type"),
                           ("not-a-jwt", "Expected 3 parts in JWT; got 1"),
                           ("", "Empty JWT is sent in Authorization header")):
        response = post(db, "/rest/v1/rpc/standin_whoami", json={},
                        headers={"Authorization": f"Bearer {token}".strip()})
        assert response.status_code == 401, token
        assert response.json()["code"] == "PGRST301"
        assert response.json()["message"] == message
        assert response.headers["WWW-Authenticate"].startswith('Bearer error="invalid_token"')


def test_make_jwt_claims_drive_auth_uid(db: StandIn) -> None:
    user_id, _ = user(db)
    token = db.make_jwt(user_id=user_id)
    assert db.rest_client(token).rpc("standin_whoami", {}).execute().data["uid"] == user_id
    future = db.make_jwt(user_id=user_id, iat=int(db.clock.now()) + 120)
    with pytest.raises(APIError) as info:
        db.rest_client(future).rpc("standin_whoami", {}).execute()
    assert (info.value.code, info.value.message) == ("PGRST303", "JWT issued at future")


# ---------------------------------------------------------------------------------- tables


def test_table_select_filters_and_rls(db: StandIn) -> None:
    a_id, a_token = user(db)
    _b_id, b_token = user(db)
    rest_a = db.rest_client(a_token)
    rows = [{"body": f"note {i}", "n": i} for i in range(6)]
    inserted = rest_a.table("standin_notes").insert(rows).execute().data
    assert len(inserted) == 6 and all(r["user_id"] == a_id for r in inserted)

    table = rest_a.table("standin_notes")
    got = table.select("body,n").gt("n", 2).order("n", desc=True).limit(2).execute().data
    assert got == [{"body": "note 5", "n": 5}, {"body": "note 4", "n": 4}]
    got = rest_a.table("standin_notes").select("n").or_("n.eq.1,and(n.gte.4,n.lt.5)") \
        .order("n").execute().data
    assert got == [{"n": 1}, {"n": 4}]
    got = rest_a.table("standin_notes").select("n").in_("body", ["note 0", "note 3"]) \
        .order("n").execute().data
    assert got == [{"n": 0}, {"n": 3}]
    counted = rest_a.table("standin_notes").select("n", count="exact").limit(1).execute()
    assert counted.count == 6 and len(counted.data) == 1
    single = rest_a.table("standin_notes").select("body").eq("n", 2).single().execute()
    assert single.data == {"body": "note 2"}

    # User B sees none of A's rows; anon has no grant at all.
    assert db.rest_client(b_token).table("standin_notes").select("*").execute().data == []
    with pytest.raises(APIError) as info:
        db.rest_client().table("standin_notes").select("*").execute()
    assert info.value.code == "42501"
    assert db.requests("/rest/v1/standin_notes", method="GET")[-1].status == 401

    # The service key bypasses RLS.
    service = db.rest_client(db.service_key).table("standin_notes").select("user_id") \
        .eq("user_id", a_id).execute().data
    assert len(service) == 6


def test_table_writes_are_checked_by_rls(db: StandIn) -> None:
    a_id, a_token = user(db)
    b_id, b_token = user(db)
    note = db.rest_client(a_token).table("standin_notes").insert({"body": "mine"}) \
        .execute().data[0]
    rest_b = db.rest_client(b_token)

    with pytest.raises(APIError) as info:  # a foreign user_id
        rest_b.table("standin_notes").insert({"body": "x", "user_id": a_id}).execute()
    assert info.value.code == "42501"
    assert db.requests("/rest/v1/standin_notes", method="POST")[-1].status == 403

    with pytest.raises(APIError) as info:  # upsert onto A's id
        rest_b.table("standin_notes").upsert(
            {"id": note["id"], "body": "stolen", "user_id": b_id}).execute()
    assert info.value.code == "42501"
    assert "row-level security" in info.value.message
    assert db.requests("/rest/v1/standin_notes", method="POST")[-1].status == 403

    # A plain UPDATE / DELETE of invisible rows affects nothing, silently.
    assert rest_b.table("standin_notes").update({"body": "x"}).eq("id", note["id"]) \
        .execute().data == []
    assert rest_b.table("standin_notes").delete().eq("id", note["id"]).execute().data == []
    assert db.sql_value("select body from public.standin_notes where id = %s",
                        note["id"]) == "mine"

    # The owner's own upsert merges.
    merged = db.rest_client(a_token).table("standin_notes").upsert(
        {"id": note["id"], "body": "edited", "user_id": a_id}, on_conflict="id").execute().data
    assert merged[0]["body"] == "edited"
    assert db.requests("/rest/v1/standin_notes?on_conflict=id", method="POST")[-1].status == 201

    # Constraint errors map as PostgREST maps them.
    with pytest.raises(APIError) as info:
        db.rest_client(a_token).table("standin_notes").insert(
            {"id": note["id"], "body": "dup"}).execute()
    assert info.value.code == "23505"
    assert db.requests("/rest/v1/standin_notes", method="POST")[-1].status == 409
    with pytest.raises(APIError) as info:
        db.rest_client(a_token).table("standin_notes").insert({"body": "neg", "n": -1}).execute()
    assert info.value.code == "23514"
    with pytest.raises(APIError) as info:
        db.rest_client(a_token).table("standin_notes").delete().execute()
    assert info.value.code == "21000"


def test_max_rows_truncates_silently(db: StandIn) -> None:
    rest = db.rest_client(user(db)[1])
    assert len(rest.rpc("standin_series", {"p_n": 1500}).execute().data) == 1000
    db.set_max_rows(10)
    assert len(rest.rpc("standin_series", {"p_n": 50}).execute().data) == 10
    db.set_max_rows(None)
    assert len(rest.rpc("standin_series", {"p_n": 1500}).execute().data) == 1500


def test_unknown_table_and_schema(db: StandIn) -> None:
    token = user(db)[1]
    with pytest.raises(APIError) as info:
        db.rest_client(token).table("standin_nothing").select("*").execute()
    assert info.value.code == "PGRST205"
    response = get(db, "/rest/v1/standin_notes", token, headers={"Accept-Profile": "private"})
    assert response.status_code == 406
    assert response.json()["code"] == "PGRST106"


def test_fifty_concurrent_requests(db: StandIn) -> None:
    tokens = [user(db)[1] for _ in range(10)]
    errors: list[Exception] = []
    results: list[str] = []

    def worker(i: int) -> None:
        try:
            rest = db.rest_client(tokens[i % len(tokens)])
            rest.rpc("standin_add_note", {"p_body": f"c{i}"}).execute()
            results.append(rest.rpc("standin_whoami", {}).execute().data["uid"])
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(results) == 50
