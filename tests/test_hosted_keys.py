"""The client against Supabase as it is set up today (issue 14): both kinds of API key
(legacy JWT anon key, `sb_publishable_...`) x both kinds of signing key (legacy HS256 secret,
ES256 published as a JWKS), a signing-key rotation in the middle of a session, the headless
`MFTRACK_REFRESH_TOKEN` mode across it, and the keys mftrack must refuse."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import jwt
import pytest

from tests.auth_support import World, make_world
from tests.helpers import NAVALL
from tests.standin import StandIn
from tests.standin.fixtures import standin, standin_server  # noqa: F401

pytestmark = pytest.mark.postgres

NAVALL_FILE = NAVALL / "NAVAll_2025-12-11.txt"
COMBOS = [("anon", "HS256"), ("anon", "ES256"), ("publishable", "HS256"),
          ("publishable", "ES256")]


@pytest.fixture
def world(standin: StandIn, isolated_home: Path, tmp_path: Path,  # noqa: F811
          monkeypatch: pytest.MonkeyPatch) -> World:
    return make_world(standin, isolated_home, tmp_path, monkeypatch)


def use_key(world: World, kind: str) -> str:
    key = world.standin.anon_key if kind == "anon" else world.standin.publishable_key
    world.use(MFTRACK_SUPABASE_ANON_KEY=key)
    return kind if kind == "publishable" else "legacy"


def ok(world: World, *args: str, input: str | None = None) -> str:
    result = world.cli(*args, input=input)
    assert result.exit_code == 0, (args, result.stderr)
    return result.stdout


def add_sip(world: World, amount: str = "5000") -> str:
    ok(world, "nav", "import", str(NAVALL_FILE))
    return ok(world, "add-sip", "120503", "-a", amount, "-s", "2024-01-10").strip()


def server_sips(world: World, email: str) -> int:
    return int(world.standin.sql_value(
        "select count(*) from public.sips where user_id = %s", world.standin.user_id(email)))


def published_key_for(server: StandIn, token: str) -> dict[str, object]:
    """The JWKS entry the token's kid names, fetched over HTTP like any verifier would."""
    answer = httpx.get(f"{server.auth_url}/.well-known/jwks.json",
                       headers={"apikey": server.publishable_key})
    assert answer.status_code == 200
    kid = jwt.get_unverified_header(token)["kid"]
    return next(k for k in answer.json()["keys"] if k["kid"] == kid)


def logged_in_on_es256(world: World) -> tuple[StandIn, str]:
    """A project on ES256 signing keys, a publishable key, a user logged in: (server, email)."""
    server = world.standin
    server.use_signing("ES256")
    use_key(world, "publishable")
    email = world.new_user()
    world.login(email)
    return server, email


def assert_credentials_sent(server: StandIn, key_kind: str) -> None:
    """Every request carried the configured key in `apikey`; `Authorization` was either
    absent or a JWT (a user's token), never an API key."""
    log = [e for e in server.request_log if not e.path.endswith("/jwks.json")]  # the test's
    assert log
    assert {entry.apikey for entry in log} == {key_kind}
    assert {entry.bearer for entry in log} <= {None, "jwt"}
    assert all(entry.bearer == "jwt" for entry in server.requests("/rest/v1/"))


@pytest.mark.parametrize(("key", "alg"), COMBOS)
def test_login_whoami_sync_logout_with_each_key_and_signing_kind(
        world: World, key: str, alg: str) -> None:
    server = world.standin
    server.use_signing(alg)
    key_kind = use_key(world, key)
    email = world.new_user()
    server.clear_request_log()

    world.login(email)
    token = world.stored().access_token
    header = jwt.get_unverified_header(token)
    assert header["alg"] == alg
    if alg == "ES256":  # verifiable with the published public key alone
        public = jwt.PyJWK(published_key_for(server, token))
        claims = jwt.decode(token, public.key, algorithms=["ES256"], audience="authenticated")
        assert claims["email"] == email
    else:
        assert "kid" not in header

    info = json.loads(ok(world, "whoami", "--json"))
    assert info["email"] == email
    add_sip(world)
    ok(world, "sync")
    assert server_sips(world, email) == 1
    ok(world, "logout")
    assert world.stored() is None and world.sessions_of(email) == 0
    assert_credentials_sent(server, key_kind)


@pytest.mark.parametrize("key", ["anon", "publishable"])
def test_a_signing_key_rotation_in_the_middle_of_a_session(world: World, key: str) -> None:
    server = world.standin  # starts on the legacy HS256 secret
    key_kind = use_key(world, key)
    email = world.new_user()
    world.login(email)
    before = world.stored()
    add_sip(world)
    ok(world, "sync")

    kid = server.rotate_signing_key("ES256")
    # The HS256 token is still accepted: it is the previous key's, and not expired.
    server.clear_request_log()
    ok(world, "add-sip", "120503", "-a", "700", "-s", "2024-02-10")
    ok(world, "sync")
    assert server.requests("/auth/v1/token") == []
    assert world.stored().access_token == before.access_token
    assert server_sips(world, email) == 2

    # The next refresh hands out an ES256 token under the new key.
    world.expire_locally()
    assert json.loads(ok(world, "whoami", "--json"))["email"] == email
    after = world.stored().access_token
    assert jwt.get_unverified_header(after) == {"alg": "ES256", "kid": kid, "typ": "JWT"}
    ok(world, "sync")

    if key == "publishable":  # revoking the legacy secret would also end legacy API keys
        server.revoke_signing_key(None)
        refused = server.rest_client(before.access_token, api_key=server.publishable_key)
        with pytest.raises(Exception, match="No suitable key"):
            refused.rpc("sync_pull", {"p_since": 0}).execute()
    ok(world, "add-sip", "120503", "-a", "900", "-s", "2024-03-10")
    ok(world, "sync")
    assert server_sips(world, email) == 3
    ok(world, "logout")
    assert world.sessions_of(email) == 0
    assert_credentials_sent(server, key_kind)


def test_a_token_signed_with_a_revoked_key_is_refreshed_and_the_call_retried(
        world: World) -> None:
    server, email = logged_in_on_es256(world)
    old = world.stored()
    old_kid = jwt.get_unverified_header(old.access_token)["kid"]
    new_kid = server.rotate_signing_key()
    server.revoke_signing_key(old_kid)  # the stored token is now refused, though unexpired
    server.clear_request_log()

    add_sip(world)
    ok(world, "sync")
    statuses = [e.status for e in server.requests("/rest/v1/rpc/sync_push")]
    assert statuses == [401, 200]
    assert len(server.requests("/auth/v1/token?grant_type=refresh_token")) == 1
    assert jwt.get_unverified_header(world.stored().access_token)["kid"] == new_kid
    assert server_sips(world, email) == 1


def test_headless_refresh_token_keeps_working_across_a_rotation(world: World,
                                                                  tmp_path: Path) -> None:
    server, email = logged_in_on_es256(world)
    refresh_token = world.stored().refresh_token
    world.store().clear()  # forget it locally without logging out (docs/login.md)
    world.use(MFTRACK_REFRESH_TOKEN=refresh_token)

    add_sip(world)
    ok(world, "sync")
    kid = server.rotate_signing_key()
    server.clear_request_log()
    for _ in range(2):  # two separate runs, each presenting the variable's token
        ok(world, "sync")
        assert json.loads(ok(world, "whoami", "--json"))["email"] == email
    refreshes = server.requests("/auth/v1/token?grant_type=refresh_token")
    assert refreshes and all(r.status == 200 for r in refreshes)
    tokens = server.sql("select token from auth.refresh_tokens rt join auth.sessions s "
                         "on s.id = rt.session_id where s.user_id = %s and not rt.revoked",
                         server.user_id(email))
    assert len(tokens) == 1  # one live token: the variable's parent rule, no new family
    assert server_sips(world, email) == 1
    stored_nowhere = world.stored()
    assert stored_nowhere is None
    assert kid  # the rotation happened before both runs


@pytest.mark.parametrize("which", ["secret", "service_role"])
@pytest.mark.parametrize("command", [["whoami"], ["sync"], ["login", "--email",
                                                              "a@example.test",
                                                              "--password-stdin"]])
def test_secret_and_service_role_keys_are_refused_before_any_request(
        world: World, which: str, command: list[str]) -> None:
    server = world.standin
    key = server.secret_key if which == "secret" else server.service_key
    world.use(MFTRACK_SUPABASE_ANON_KEY=key)
    server.clear_request_log()
    result = world.cli(*command, input="x\n")
    assert result.exit_code == 6, result.stderr
    first = result.stderr.splitlines()[0]
    assert first.startswith("Error: supabase.anon_key holds")
    assert ("sb_secret_" in first) == (which == "secret")
    assert "Row Level Security" in first and "Hint:" in result.stderr
    assert key not in result.stderr + result.stdout
    assert server.request_log == []
