"""The stand-in's gateway and knobs: API keys, injected failures, dropped connections, lost
responses, the request log and the clock, seen through the real supabase-py clients."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import httpx
import pytest
from postgrest.exceptions import APIError
from supabase_auth.errors import AuthApiError, AuthRetryableError

from tests.standin import StandIn
from tests.standin.fixtures import standin, standin_server, unique_email  # noqa: F401

pytestmark = pytest.mark.postgres

PASSWORD = "password-1"
SCHEMA_SQL = """
create table if not exists public.standin_events (
  id bigserial primary key,
  user_id uuid not null default auth.uid(),
  label text not null
);
alter table public.standin_events enable row level security;
drop policy if exists standin_events_own on public.standin_events;
create policy standin_events_own on public.standin_events for all to authenticated
  using ((select auth.uid()) = user_id) with check ((select auth.uid()) = user_id);
create or replace function public.standin_log_event(p_label text) returns bigint
  language sql volatile security invoker
  as $$ insert into public.standin_events (label) values (p_label) returning id $$;
"""


@pytest.fixture
def db(standin: StandIn) -> StandIn:  # noqa: F811
    standin.sql(SCHEMA_SQL)
    return standin


def session_for(standin: StandIn):  # noqa: F811
    email = unique_email()
    standin.create_user(email, PASSWORD)
    client = standin.auth_client()
    return client, client.sign_in_with_password({"email": email, "password": PASSWORD}).session


def events(standin: StandIn, label: str) -> int:  # noqa: F811
    return standin.sql_value("select count(*) from public.standin_events where label = %s",
                             label)


# --------------------------------------------------------------------------------- gateway


def test_api_key_is_required_on_every_route(standin: StandIn) -> None:  # noqa: F811
    for path in ("/auth/v1/health", "/auth/v1/user", "/rest/v1/rpc/anything", "/nowhere"):
        missing = httpx.get(standin.url + path)
        assert missing.status_code == 401, path
        assert missing.json() == {
            "message": "No API key found in request",
            "hint": "No `apikey` request header or url param was found.",
        }
        wrong = httpx.get(standin.url + path, headers={"apikey": "nope"})
        assert wrong.status_code == 401
        assert wrong.json()["message"] == "Invalid API key"
    assert httpx.get(standin.url + "/auth/v1/health", headers={"APIKEY": standin.anon_key}) \
        .status_code == 200
    assert httpx.get(standin.url + "/auth/v1/health",
                     params={"apikey": standin.service_key}).status_code == 200
    assert httpx.get(standin.url + "/nowhere", headers={"apikey": standin.anon_key}) \
        .status_code == 404


def test_postgrest_client_without_apikey_is_rejected(standin: StandIn) -> None:  # noqa: F811
    """postgrest-py on its own does not add ``apikey`` (contract A.0)."""
    from postgrest import SyncPostgrestClient

    client = SyncPostgrestClient(standin.rest_url).auth(standin.anon_key)
    with pytest.raises(APIError) as info:
        client.rpc("standin_log_event", {"p_label": "x"}).execute()
    assert info.value.message == "No API key found in request"


# ---------------------------------------------------------------------------------- faults


def test_fail_next_on_auth(standin: StandIn) -> None:  # noqa: F811
    client, session = session_for(standin)
    standin.fail_next("/auth/v1/token?grant_type=refresh_token", status=429, count=2)
    for _ in range(2):
        with pytest.raises(AuthApiError) as info:
            client.refresh_session(session.refresh_token)
        assert (info.value.status, info.value.code) == (429, "over_request_rate_limit")
    # The password grant is not matched by the rule, and the rule is used up.
    client.sign_in_with_password({"email": session.user.email, "password": PASSWORD})
    assert client.refresh_session(session.refresh_token).session is not None
    faults = [(e.status, e.fault) for e in standin.requests("/auth/v1/token")]
    assert faults == [(200, None), (429, "fail"), (429, "fail"), (200, None), (200, None)]

    standin.fail_next("/auth/v1/token", status=500)
    with pytest.raises(AuthApiError) as info:
        client.sign_in_with_password({"email": session.user.email, "password": PASSWORD})
    assert (info.value.status, info.value.code) == (500, "unexpected_failure")
    standin.fail_next("/auth/v1/token", status=502)
    with pytest.raises(AuthRetryableError):
        client.sign_in_with_password({"email": session.user.email, "password": PASSWORD})


def test_fail_next_on_rpc(db: StandIn) -> None:
    _client, session = session_for(db)
    rest = db.rest_client(session.access_token)
    db.fail_next("/rest/v1/rpc/standin_log_event", status=500)
    with pytest.raises(APIError) as info:
        rest.rpc("standin_log_event", {"p_label": "f1"}).execute()
    assert info.value.code == "XX000"
    db.fail_next("/rest/v1/rpc/", status=503, method="POST")
    with pytest.raises(APIError) as info:
        rest.rpc("standin_log_event", {"p_label": "f1"}).execute()
    assert info.value.code == "PGRST001"
    assert events(db, "f1") == 0  # never reached the database
    db.fail_next("/rest/v1/rpc/", status=409, body={"code": "PT409", "message": "custom",
                                                     "details": None, "hint": None},
                 headers={"Retry-After": "1"})
    response = httpx.post(f"{db.rest_url}/rpc/standin_log_event", json={"p_label": "f1"},
                          headers={"apikey": db.anon_key,
                                   "Authorization": f"Bearer {session.access_token}"})
    assert (response.status_code, response.headers["Retry-After"]) == (409, "1")
    assert rest.rpc("standin_log_event", {"p_label": "f1"}).execute().data > 0
    assert events(db, "f1") == 1


def test_drop_next_closes_without_processing(db: StandIn) -> None:
    client, session = session_for(db)
    db.drop_next("/auth/v1/token")
    with pytest.raises(AuthRetryableError):
        client.refresh_session(session.refresh_token)
    assert db.requests("/auth/v1/token")[-1].fault == "drop"
    assert client.refresh_session(session.refresh_token).session  # token was never used

    rest = db.rest_client(session.access_token)
    db.drop_next("/rest/v1/rpc/standin_log_event")
    with pytest.raises(httpx.TransportError):  # postgrest-py surfaces raw httpx errors
        rest.rpc("standin_log_event", {"p_label": "d1"}).execute()
    assert events(db, "d1") == 0


def test_lost_refresh_response_is_recovered_by_the_parent_rule(
        standin: StandIn) -> None:  # noqa: F811
    client, session = session_for(standin)
    standin.lose_next_response("/auth/v1/token?grant_type=refresh_token")
    with pytest.raises(AuthRetryableError):
        client.refresh_session(session.refresh_token)
    entry = standin.requests("/auth/v1/token?grant_type=refresh_token")[-1]
    assert (entry.status, entry.delivered, entry.fault) == (200, False, "lose")
    issued = standin.sql_value("select token from auth.refresh_tokens where parent = %s",
                               session.refresh_token)
    assert issued is not None  # the rotation was committed
    standin.clock.advance(600)  # long after the reuse window
    retry = client.refresh_session(session.refresh_token).session
    assert retry.refresh_token == issued


def test_push_committed_but_response_lost(db: StandIn) -> None:
    _client, session = session_for(db)
    rest = db.rest_client(session.access_token)
    db.lose_next_response("/rest/v1/rpc/standin_log_event")
    with pytest.raises(httpx.TransportError):
        rest.rpc("standin_log_event", {"p_label": "lost"}).execute()
    assert events(db, "lost") == 1
    assert db.requests("/rest/v1/rpc/standin_log_event")[-1].delivered is False


def test_delay_next(standin: StandIn) -> None:  # noqa: F811
    standin.delay_next("/auth/v1/health", 0.3)
    started = time.monotonic()
    response = httpx.get(standin.url + "/auth/v1/health", headers={"apikey": standin.anon_key})
    assert response.status_code == 200
    assert time.monotonic() - started >= 0.3
    with pytest.raises(httpx.ReadTimeout):
        standin.delay_next("/auth/v1/health", 1.0)
        httpx.get(standin.url + "/auth/v1/health", headers={"apikey": standin.anon_key},
                  timeout=0.2)


def test_request_log_and_reset(standin: StandIn) -> None:  # noqa: F811
    session_for(standin)
    assert [(e.method, e.path, e.status) for e in standin.request_log] == [
        ("POST", "/auth/v1/token", 200)]
    standin.fail_next("/auth/v1/otp")
    assert standin.faults.pending()
    standin.reset()
    assert standin.request_log == []
    assert standin.faults.pending() == []


# ----------------------------------------------------------------------------------- clock


def test_clock_knobs(standin: StandIn) -> None:  # noqa: F811
    before = time.time()
    standin.clock.advance(100)
    assert standin.clock.now() - before >= 100
    standin.clock.set_now(datetime(2030, 1, 1, tzinfo=UTC))
    _client, session = session_for(standin)
    assert abs(session.expires_at - (datetime(2031, 1, 1, tzinfo=UTC).timestamp()
                                     - 365 * 86400 + 3600)) < 5
    standin.clock.freeze()
    frozen = standin.clock.now()
    time.sleep(0.05)
    assert standin.clock.now() == frozen
    standin.clock.advance(1)
    assert standin.clock.now() == frozen + 1
    standin.clock.reset()
    assert abs(standin.clock.now() - time.time()) < 1
