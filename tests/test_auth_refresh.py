"""Refreshing the session: expiry, reuse, concurrent processes, lost answers, network
failures and sessions the server ended — through the real CLI against the stand-in."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import jwt
import pytest

from mftrack.adapters.supabase.session import SessionManager
from mftrack.adapters.supabase.tokens import StoredSession
from mftrack.config import load_settings, resolve_paths
from mftrack.errors import CredentialsError, LoginRequiredError
from tests.auth_support import World, closed_port_url, make_world
from tests.helpers import REPO
from tests.standin import StandIn
from tests.standin.fixtures import standin, standin_server  # noqa: F401

pytestmark = pytest.mark.postgres

REFRESH = "/auth/v1/token?grant_type=refresh_token"


@pytest.fixture
def world(standin: StandIn, isolated_home: Path, tmp_path: Path,  # noqa: F811
          monkeypatch: pytest.MonkeyPatch) -> World:
    return make_world(standin, isolated_home, tmp_path, monkeypatch)


def logged_in(world: World) -> tuple[str, StoredSession]:
    email = world.new_user()
    world.login(email)
    stored = world.stored()
    assert stored is not None
    return email, stored


# --- expiry -----------------------------------------------------------------------------------


def test_an_expiring_access_token_is_refreshed_transparently(world: World) -> None:
    world.standin.set_jwt_expiry(30)  # less than the 60 s margin: every use refreshes
    email, before = logged_in(world)
    result = world.cli("whoami", "--json")
    assert result.exit_code == 0, result.stderr
    after = world.stored()
    assert after is not None
    assert after.refresh_token != before.refresh_token
    assert after.refreshed_at > before.refreshed_at  # (same-second JWTs can be identical)
    assert [r.status for r in world.standin.requests(REFRESH)] == [200]
    assert world.refresh_token_state(after.refresh_token) == (False, before.refresh_token)
    assert world.sessions_of(email) == 1


def test_a_token_the_server_sees_as_expired_is_refreshed_and_retried(world: World) -> None:
    _, before = logged_in(world)
    world.standin.clock.advance(7200)  # our clock says valid, the server's says expired
    result = world.cli("whoami")
    assert result.exit_code == 0, result.stderr
    statuses = [(r.path, r.status) for r in world.standin.request_log
                if r.path == "/auth/v1/user" or "grant_type=refresh_token" in r.query]
    assert statuses[-3:] == [("/auth/v1/user", 403), ("/auth/v1/token", 200),
                             ("/auth/v1/user", 200)]
    after = world.stored()
    assert after is not None and after.refresh_token != before.refresh_token


@pytest.mark.parametrize("postgrest_version, code", [(13, "PGRST303"), (12, "PGRST301")])
def test_call_with_refresh_retries_a_postgrest_jwt_rejection(
        world: World, postgrest_version: int, code: str) -> None:
    from postgrest.exceptions import APIError

    logged_in(world)
    world.standin.set_postgrest_version(postgrest_version)
    world.standin.clock.advance(7200)
    manager = SessionManager(load_settings(resolve_paths()), resolve_paths())
    rest_url = manager.project.rest_url
    tokens_used: list[str] = []
    errors: list[str] = []

    def summary(token: str) -> object:
        tokens_used.append(token)
        from postgrest import SyncPostgrestClient

        client = SyncPostgrestClient(rest_url, headers={"apikey": manager.project.anon_key})
        try:
            return client.auth(token).rpc("sip_summary", {}).execute().data
        except APIError as exc:
            errors.append(str(exc.code))
            raise

    data = manager.call_with_refresh(summary)
    assert isinstance(data, dict)
    assert errors == [code]
    assert len(tokens_used) == 2 and tokens_used[0] != tokens_used[1]
    assert world.stored().access_token == tokens_used[1]  # type: ignore[union-attr]


def test_a_refreshed_pair_that_cannot_be_stored_is_not_used(world: World) -> None:
    _, before = logged_in(world)
    world.expire_locally()

    class SaveFails:
        kind, persistent = "keyring", True

        def __init__(self, inner: object) -> None:
            self.inner = inner

        def describe(self) -> str:
            return "a store that cannot save"

        def load(self) -> StoredSession | None:
            return self.inner.load()  # type: ignore[attr-defined,no-any-return]

        def save(self, session: StoredSession) -> None:
            raise CredentialsError("disk full")

        def clear(self) -> bool:
            return self.inner.clear()  # type: ignore[attr-defined,no-any-return]

    paths = resolve_paths()
    manager = SessionManager(load_settings(paths), paths, store=SaveFails(world.store()))
    with pytest.raises(CredentialsError):
        manager.access_token()
    assert world.stored().refresh_token == before.refresh_token  # type: ignore[union-attr]
    # The spent token is the parent of the active one, so the next run recovers.
    assert world.cli("whoami").exit_code == 0
    assert world.stored().refresh_token != before.refresh_token  # type: ignore[union-attr]


# --- reuse ------------------------------------------------------------------------------------


def _rotate_twice(world: World) -> tuple[str, StoredSession]:
    _, first = logged_in(world)
    for _ in range(2):
        world.expire_locally()
        assert world.cli("whoami").exit_code == 0
    latest = world.stored()
    assert latest is not None and latest.refresh_token != first.refresh_token
    assert world.refresh_token_state(latest.refresh_token)[1] != first.refresh_token
    return first.refresh_token, latest


def test_an_old_refresh_token_inside_the_reuse_window_still_works(world: World) -> None:
    world.standin.clock.freeze()
    old, _ = _rotate_twice(world)
    world.put_refresh_token(old)  # e.g. a stale copy of the token store
    world.standin.clock.advance(5)  # within the 10 s window
    result = world.cli("whoami")
    assert result.exit_code == 0, result.stderr
    assert world.stored().refresh_token != old  # type: ignore[union-attr]


def test_an_old_refresh_token_outside_the_reuse_window_ends_the_session(world: World) -> None:
    world.standin.clock.freeze()
    old, latest = _rotate_twice(world)
    world.put_refresh_token(old)
    world.standin.clock.advance(11)
    result = world.cli("whoami")
    assert result.exit_code == 77
    assert "already been used" in result.stderr and "mftrack login" in result.stderr
    assert world.stored() is None
    # GoTrue revoked the whole family: the newest token is dead too.
    assert world.refresh_token_state(latest.refresh_token)[0] is True


# --- two processes ----------------------------------------------------------------------------


def _spawn_whoami(extra_env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    import os

    env = dict(os.environ)
    env.update(extra_env or {})
    return subprocess.Popen([sys.executable, "-m", "mftrack", "whoami", "--json"], cwd=REPO,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.parametrize("store", ["keyring-file", "file"])
def test_processes_refreshing_at_once_share_one_refresh(world: World, store: str) -> None:
    if store == "file":
        world.use(MFTRACK_TOKEN_STORE="file")
    world.standin.use_signing("ES256")
    email, before = logged_in(world)
    # Revoke the key that signed the stored token: each process's first /user call is
    # refused (bad_jwt), so each of them needs a refresh.
    world.standin.rotate_signing_key()
    world.standin.revoke_signing_key(jwt.get_unverified_header(before.access_token)["kid"])
    # The barrier holds those three calls until all three are in flight, so the processes
    # certainly overlap: all three hold the refused token at the same moment.
    barrier = world.standin.barrier_next("/auth/v1/user", 3, method="GET", timeout=60)
    procs = [_spawn_whoami() for _ in range(3)]
    results = [(p.wait(90), *p.communicate()) for p in procs]
    assert [code for code, _, _ in results] == [0, 0, 0], results
    assert barrier.met and barrier.arrived == 3
    users = [r.status for r in world.standin.requests("/auth/v1/user")]
    assert users[:3] == [403, 403, 403] and users[3:] == [200, 200, 200]
    refreshes = world.standin.requests(REFRESH)
    assert [r.status for r in refreshes] == [200]  # the others used the stored new pair
    after = world.stored()
    assert after is not None and after.refresh_token != before.refresh_token
    assert world.refresh_token_state(after.refresh_token)[0] is False
    assert world.sessions_of(email) == 1


def test_processes_refreshing_at_once_with_a_short_lived_token(world: World) -> None:
    world.standin.set_jwt_expiry(30)  # every process must refresh, one after the other
    email, _ = logged_in(world)
    procs = [_spawn_whoami() for _ in range(2)]
    results = [(p.wait(60), *p.communicate()) for p in procs]
    assert [code for code, _, _ in results] == [0, 0], results
    assert [r.status for r in world.standin.requests(REFRESH)] == [200, 200]
    after = world.stored()
    assert after is not None
    assert world.refresh_token_state(after.refresh_token)[0] is False
    assert world.sessions_of(email) == 1


# --- a lost answer, network failures ----------------------------------------------------------


def test_a_lost_refresh_answer_is_recovered_on_the_next_run(world: World) -> None:
    _, before = logged_in(world)
    world.expire_locally()
    world.standin.lose_next_response(REFRESH)
    lost = world.cli("whoami")
    assert lost.exit_code == 75, lost.stderr
    assert world.stored().refresh_token == before.refresh_token  # type: ignore[union-attr]
    # The server did rotate: the stored token is now the parent of the active one.
    assert world.refresh_token_state(before.refresh_token)[0] is True
    again = world.cli("whoami")
    assert again.exit_code == 0, again.stderr
    after = world.stored()
    assert after is not None
    assert world.refresh_token_state(after.refresh_token) == (False, before.refresh_token)


@pytest.mark.parametrize("fault", ["drop", "503", "502", "500", "429", "409"])
def test_network_trouble_exits_75_and_keeps_the_tokens(world: World, fault: str) -> None:
    _, before = logged_in(world)
    world.expire_locally()
    if fault == "drop":
        world.standin.drop_next(REFRESH)
    elif fault == "409":
        world.standin.fail_next(REFRESH, 409, body={
            "code": "conflict", "message": "Too many concurrent token refresh requests"},
            headers={"X-Supabase-Api-Version": "2024-01-01"})
    else:
        world.standin.fail_next(REFRESH, int(fault))
    result = world.cli("whoami")
    assert result.exit_code == 75, result.stderr
    assert "Hint:" in result.stderr
    kept = world.stored()
    assert kept is not None and kept.refresh_token == before.refresh_token
    assert world.cli("whoami").exit_code == 0


def test_server_unreachable_exits_75_and_keeps_the_tokens(world: World) -> None:
    _, before = logged_in(world)
    world.use(MFTRACK_SUPABASE_URL=closed_port_url())
    world.store().save(replace(before, expires_at=0))
    result = world.proc("whoami")
    assert result.exit_code == 75
    assert "cannot reach Supabase" in result.stderr
    assert world.stored() is not None
    assert world.stored().refresh_token == before.refresh_token  # type: ignore[union-attr]


def test_whoami_offline_needs_no_server(world: World) -> None:
    email, before = logged_in(world)
    world.use(MFTRACK_SUPABASE_URL=closed_port_url())
    world.store().save(before)
    result = world.cli("whoami", "--offline")
    assert result.exit_code == 0 and email in result.stdout


# --- sessions the server ended ----------------------------------------------------------------


def _revoke(world: World, email: str, stored: StoredSession) -> None:
    world.standin.revoke_sessions(world.standin.user_id(email))


def _expire(world: World, email: str, stored: StoredSession) -> None:
    world.standin.expire_session(access_token=stored.access_token)


def _ban(world: World, email: str, stored: StoredSession) -> None:
    world.standin.ban_user(world.standin.user_id(email))  # type: ignore[arg-type]


def _delete(world: World, email: str, stored: StoredSession) -> None:
    world.standin.delete_user(world.standin.user_id(email))  # type: ignore[arg-type]


@pytest.mark.parametrize("end, needs_refresh, message", [
    (_revoke, True, "no longer exists on the server"),       # refresh_token_not_found
    (_revoke, False, "no longer exists on the server"),      # /user: session_not_found
    (_expire, True, "has expired"),                          # session_expired
    (_ban, True, "banned"),                                  # user_banned
    (_delete, False, "no longer exists"),                    # /user: user_not_found
    (_delete, True, "no longer exists"),                     # refresh_token_not_found
])
def test_sessions_the_server_ended_exit_77_and_clear_the_tokens(
        world: World, end, needs_refresh: bool, message: str) -> None:  # type: ignore[no-untyped-def]
    email, stored = logged_in(world)
    if needs_refresh:
        world.expire_locally()
    end(world, email, stored)
    result = world.cli("whoami")
    assert result.exit_code == 77, result.stderr
    assert message in result.stderr
    assert "mftrack login" in result.stderr
    assert world.stored() is None
    again = world.cli("whoami")
    assert again.exit_code == 77 and "not logged in" in again.stderr


def test_a_forged_access_token_is_replaced_by_a_refresh(world: World) -> None:
    email, stored = logged_in(world)
    forged = world.standin.make_jwt(user_id=world.standin.user_id(email), secret="x" * 40)
    world.store().save(replace(stored, access_token=forged))
    result = world.cli("whoami")
    assert result.exit_code == 0, result.stderr
    assert world.stored().access_token != forged  # type: ignore[union-attr]


def test_not_logged_in_is_77_without_any_request(world: World) -> None:
    result = world.cli("whoami")
    assert result.exit_code == 77
    assert world.standin.requests("/auth") == []
    paths = resolve_paths()
    with pytest.raises(LoginRequiredError):
        SessionManager(load_settings(paths), paths).access_token()
