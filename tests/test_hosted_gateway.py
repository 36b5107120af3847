"""The gateway in front of Supabase (Kong, Cloudflare) as the client meets it (issue 14):
HTML 502/504 and Cloudflare 520-526 pages, 429 with Retry-After. Each is transient (exit 75),
nothing is lost, and a Retry-After the client can honour is honoured. Also the stand-in's
model of the API keys: the answers a missing, wrong, disabled or misplaced key gets."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from tests.auth_support import World, make_world
from tests.helpers import NAVALL
from tests.standin import StandIn
from tests.standin.fixtures import standin, standin_server  # noqa: F401

pytestmark = pytest.mark.postgres

NAVALL_FILE = NAVALL / "NAVAll_2025-12-11.txt"
PUSH = "/rest/v1/rpc/sync_push"
TOKEN = "/auth/v1/token"


@pytest.fixture
def world(standin: StandIn, isolated_home: Path, tmp_path: Path,  # noqa: F811
          monkeypatch: pytest.MonkeyPatch) -> World:
    made = make_world(standin, isolated_home, tmp_path, monkeypatch)
    made.use(MFTRACK_SUPABASE_ANON_KEY=standin.publishable_key)
    return made


def ready(world: World) -> str:
    email = world.new_user()
    world.login(email)
    assert world.cli("nav", "import", str(NAVALL_FILE)).exit_code == 0
    assert world.cli("add-sip", "120503", "-a", "5000", "-s", "2024-01-10").exit_code == 0
    return email


def pending(world: World) -> int:
    result = world.cli("sync", "status", "--json")
    assert result.exit_code == 0, result.stderr
    return int(json.loads(result.stdout)["pending"])


def server_sips(world: World, email: str) -> int:
    return int(world.standin.sql_value(
        "select count(*) from public.sips where user_id = %s", world.standin.user_id(email)))


@pytest.mark.parametrize(("status", "html"), [(502, True), (503, True), (504, True),
                                              (520, True), (522, True), (524, True),
                                              (526, True), (429, True), (429, False)])
def test_gateway_failures_on_a_push_are_transient_and_lose_nothing(
        world: World, status: int, html: bool) -> None:
    email = ready(world)
    world.standin.fail_next(PUSH, status, html=html)
    failed = world.cli("sync")
    assert failed.exit_code == 75, failed.stderr
    assert failed.stderr.startswith("Error: ") and "Traceback" not in failed.stderr
    assert "<html" not in failed.stderr.lower()
    assert pending(world) == 1 and server_sips(world, email) == 0
    entry = world.standin.requests(PUSH)[-1]
    assert (entry.status, entry.fault) == (status, "fail")
    assert world.cli("sync").exit_code == 0
    assert pending(world) == 0 and server_sips(world, email) == 1


@pytest.mark.parametrize("status", [502, 504, 520, 525, 429])
def test_gateway_html_on_login_and_refresh_is_transient_and_keeps_the_tokens(
        world: World, status: int) -> None:
    email = world.new_user()
    world.standin.fail_next(TOKEN, status, html=True)
    failed = world.cli("login", "--email", email, "--password-stdin", input="Correct-horse-42\n")
    assert failed.exit_code == 75, failed.stderr
    assert "Traceback" not in failed.stderr and "<html" not in failed.stderr.lower()
    world.login(email)
    stored = world.expire_locally()
    world.standin.fail_next(f"{TOKEN}?grant_type=refresh_token", status, html=True)
    refresh = world.cli("whoami")
    assert refresh.exit_code == 75, refresh.stderr
    assert world.stored() == stored  # the tokens are kept for the next run
    assert world.cli("whoami").exit_code == 0


def test_429_with_a_short_retry_after_is_waited_out_and_retried(world: World) -> None:
    email = ready(world)
    world.standin.fail_next(PUSH, 429, headers={"Retry-After": "1"})
    result = world.cli("sync")
    assert result.exit_code == 0, result.stderr
    first, second = world.standin.requests(PUSH)
    assert (first.status, second.status) == (429, 200)
    # The retry was sent no earlier than the server asked (a lower bound, not a timing goal).
    assert second.started - first.started >= 1.0
    assert server_sips(world, email) == 1 and pending(world) == 0


def test_a_refresh_answered_429_with_retry_after_is_retried(world: World) -> None:
    email = world.new_user()
    world.login(email)
    world.expire_locally()
    world.standin.fail_next(f"{TOKEN}?grant_type=refresh_token", 429,
                            headers={"Retry-After": "1"}, html=True)
    assert world.cli("whoami").exit_code == 0
    statuses = [r.status for r in world.standin.requests(f"{TOKEN}?grant_type=refresh_token")]
    assert statuses == [429, 200]


def test_retries_stop_at_network_retries_and_exit_75(world: World) -> None:
    email = ready(world)
    world.use(MFTRACK_NETWORK_RETRIES="1")
    world.standin.fail_next(PUSH, 503, count=2, html=True, headers={"Retry-After": "1"})
    result = world.cli("sync")
    assert result.exit_code == 75, result.stderr
    assert "retry after 1 s" in result.stderr
    assert [r.status for r in world.standin.requests(PUSH)] == [503, 503]
    assert pending(world) == 1 and server_sips(world, email) == 0


def test_a_long_retry_after_is_not_waited_for(world: World) -> None:
    ready(world)
    world.standin.fail_next(PUSH, 429, headers={"Retry-After": "3600"})
    result = world.cli("sync")
    assert result.exit_code == 75
    assert "retry after 3600 s" in result.stderr
    assert len(world.standin.requests(PUSH)) == 1 and pending(world) == 1


# --- the stand-in's gateway: API keys as Supabase's gateway treats them ---------------------


def rpc(server: StandIn, headers: dict[str, str]) -> httpx.Response:
    return httpx.post(f"{server.rest_url}/rpc/sync_pull", json={"p_since": 0},
                      headers=headers)


def test_missing_wrong_and_disabled_keys_get_the_gateways_answers(standin: StandIn) -> None:  # noqa: F811
    missing = rpc(standin, {})
    assert (missing.status_code, missing.json()["message"]) == (401,
                                                                "No API key found in request")
    wrong = rpc(standin, {"apikey": "sb_publishable_not-this-project"})
    assert (wrong.status_code, wrong.json()["message"]) == (401, "Invalid API key")
    standin.set_legacy_api_keys(False)
    legacy = rpc(standin, {"apikey": standin.anon_key})
    assert (legacy.status_code, legacy.json()["message"]) == (401,
                                                              "Legacy API keys are disabled")
    reached = rpc(standin, {"apikey": standin.publishable_key})  # PostgREST answers, as anon
    assert reached.json()["code"] == "42501"


def test_the_client_says_which_key_the_server_refused(world: World) -> None:
    email = world.new_user()
    world.standin.set_legacy_api_keys(False)
    world.use(MFTRACK_SUPABASE_ANON_KEY=world.standin.anon_key)
    refused = world.cli("login", "--email", email, "--password-stdin",
                        input="Correct-horse-42\n")
    assert refused.exit_code == 6, refused.stderr
    assert "refused the API key: Legacy API keys are disabled" in refused.stderr
    assert "supabase.anon_key" in refused.stderr


def test_a_publishable_key_as_bearer_is_refused_as_a_jwt(standin: StandIn) -> None:  # noqa: F811
    # What supabase-py issue 1230 reports: PostgREST reads the Bearer value as a JWT.
    answer = rpc(standin, {"apikey": standin.publishable_key,
                           "Authorization": f"Bearer {standin.publishable_key}"})
    assert answer.status_code == 401
    assert answer.json()["code"] == "PGRST301"
    assert answer.json()["message"] == "Expected 3 parts in JWT; got 1"
    user = httpx.get(f"{standin.auth_url}/user", headers={
        "apikey": standin.publishable_key, "Authorization": f"Bearer {standin.publishable_key}"})
    assert user.status_code == 403 and user.json()["error_code"] == "bad_jwt"


def test_a_new_key_without_authorization_runs_as_its_role(standin: StandIn) -> None:  # noqa: F811
    # The gateway swaps the opaque key for a short-lived JWT with role anon (sync_pull is
    # not granted to anon: PostgREST answers 42501 as 401 for anon).
    anon = rpc(standin, {"apikey": standin.publishable_key})
    assert anon.status_code == 401 and anon.json()["code"] == "42501"
    entry = standin.requests("/rest/v1/rpc/sync_pull")[0]
    assert (entry.apikey, entry.bearer) == ("publishable", None)


def test_jwks_publishes_only_the_asymmetric_keys_that_are_not_revoked(
        standin: StandIn) -> None:  # noqa: F811
    def kids() -> list[str]:
        answer = httpx.get(f"{standin.auth_url}/.well-known/jwks.json",
                           headers={"apikey": standin.anon_key})
        assert answer.status_code == 200
        keys = answer.json()["keys"]
        assert all(k["kty"] == "EC" and k["alg"] == "ES256" and "d" not in k for k in keys)
        return [k["kid"] for k in keys]

    assert kids() == []  # HS256 (the legacy secret) is never published
    first = standin.rotate_signing_key()
    second = standin.rotate_signing_key()
    assert kids() == [first, second]
    standin.revoke_signing_key(first)
    assert kids() == [second]
