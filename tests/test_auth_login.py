"""signup, login (password and emailed code), whoami and logout through the real CLI,
against the Supabase stand-in."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.auth_support import (
    PASSWORD,
    World,
    closed_port_url,
    make_world,
    run_on_terminal,
)
from tests.helpers import run_cli
from tests.standin import StandIn
from tests.standin.fixtures import standin, standin_server, unique_email  # noqa: F401


@pytest.fixture
def world(standin: StandIn, isolated_home: Path, tmp_path: Path,  # noqa: F811
          monkeypatch: pytest.MonkeyPatch) -> World:
    return make_world(standin, isolated_home, tmp_path, monkeypatch)


def whoami_json(world: World) -> dict[str, object]:
    result = world.cli("whoami", "--json")
    assert result.exit_code == 0, result.stderr
    return dict(json.loads(result.stdout))


# --- configuration ----------------------------------------------------------------------------


@pytest.mark.parametrize("command", [
    ["login", "--email", "a@example.test", "--password-stdin"],
    ["signup", "--email", "a@example.test", "--password-stdin"],
    ["whoami"], ["logout"],
])
def test_account_commands_without_supabase_settings_exit_6(command: list[str]) -> None:
    result = run_cli(*command, input="pw\n")
    assert result.exit_code == 6
    assert "Supabase is not configured" in result.stderr
    assert "MFTRACK_SUPABASE_URL" in result.stderr and "supabase.anon_key" in result.stderr


def test_half_configured_names_the_missing_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MFTRACK_SUPABASE_URL", "https://example.supabase.co")
    result = run_cli("whoami")
    assert result.exit_code == 6
    assert "supabase.anon_key is not set" in result.stderr


def test_local_commands_work_without_supabase_settings() -> None:
    assert run_cli("config", "show").exit_code == 0
    assert run_cli("sips").exit_code == 0


# --- signup -----------------------------------------------------------------------------------


@pytest.mark.postgres
def test_signup_with_autoconfirm_logs_in(world: World) -> None:
    email = unique_email()
    result = world.cli("signup", "--email", email, "--password-stdin", input=PASSWORD + "\n")
    assert result.exit_code == 0, result.stderr
    assert "Account created" in result.stderr
    info = whoami_json(world)
    assert info["email"] == email
    assert info["user_id"] == world.standin.user_id(email)
    assert info["verified"] is True


@pytest.mark.postgres
def test_signup_with_confirmation_then_the_emailed_code_logs_in(world: World) -> None:
    world.standin.set_autoconfirm(False)
    email = unique_email()
    result = world.cli("signup", "--email", email, "--password-stdin", input=PASSWORD)
    assert result.exit_code == 0, result.stderr
    assert "Check your email" in result.stderr
    assert world.stored() is None
    assert world.cli("whoami").exit_code == 77
    # The password does not work before the address is confirmed...
    early = world.cli("login", "--email", email, "--password-stdin", input=PASSWORD)
    assert early.exit_code == 8 and "not confirmed" in early.stderr
    # ...the confirmation code does, and logs in.
    code = world.standin.last_otp(email)
    done = world.cli("login", "--otp", "--email", email, "--code", code)
    assert done.exit_code == 0, done.stderr
    assert whoami_json(world)["email"] == email


@pytest.mark.postgres
def test_signup_refusals_are_explained(world: World) -> None:
    email = world.new_user()
    again = world.cli("signup", "--email", email, "--password-stdin", input=PASSWORD)
    assert again.exit_code == 8
    assert "already exists" in again.stderr and "mftrack login" in again.stderr

    weak = world.cli("signup", "--email", unique_email(), "--password-stdin", input="abc")
    assert weak.exit_code == 2
    assert "too weak (length)" in weak.stderr and "at least 6 characters" in weak.stderr

    world.standin.set_signup_enabled(False)
    closed = world.cli("signup", "--email", unique_email(), "--password-stdin", input=PASSWORD)
    assert closed.exit_code == 8
    assert "does not allow sign-ups" in closed.stderr
    assert world.stored() is None


# --- login ------------------------------------------------------------------------------------


@pytest.mark.postgres
def test_password_login_and_whoami(world: World) -> None:
    email = world.new_user()
    result = world.login(email)
    assert email in result.stderr
    stored = world.stored()
    assert stored is not None and stored.email == email
    text = world.cli("whoami")
    assert text.exit_code == 0
    assert email in text.stdout and stored.user_id in text.stdout
    assert "last refreshed" in text.stdout
    offline = world.cli("whoami", "--offline", "--json")
    assert offline.exit_code == 0
    assert json.loads(offline.stdout)["verified"] is False


@pytest.mark.postgres
def test_wrong_password_is_a_credentials_error(world: World) -> None:
    email = world.new_user()
    result = world.cli("login", "--email", email, "--password-stdin", input="wrong-one")
    assert result.exit_code == 8
    assert "wrong email or password" in result.stderr
    assert world.stored() is None


@pytest.mark.postgres
def test_otp_login_sends_a_code_then_verifies_it(world: World) -> None:
    email = world.new_user()
    first = world.cli("login", "--otp", "--email", email)
    assert first.exit_code == 2  # no terminal to type the code into
    assert "code was sent" in first.stderr and "--code" in first.stderr
    [code] = world.standin.otp_outbox(email)
    sent = world.standin.requests("/auth/v1/otp")
    assert len(sent) == 1 and sent[0].status == 200

    wrong = world.cli("login", "--otp", "--email", email, "--code", "000000"
                      if code != "000000" else "111111")
    assert wrong.exit_code == 8 and "wrong or has expired" in wrong.stderr

    done = world.cli("login", "--otp", "--email", email, "--code", code)
    assert done.exit_code == 0, done.stderr
    assert len(world.standin.requests("/auth/v1/otp")) == 1  # --code sends no new email
    assert whoami_json(world)["email"] == email


@pytest.mark.postgres
def test_otp_login_does_not_create_accounts(world: World) -> None:
    result = world.cli("login", "--otp", "--email", unique_email())
    assert result.exit_code == 8
    assert "no account" in result.stderr and "mftrack signup" in result.stderr


@pytest.mark.postgres
@pytest.mark.parametrize("command", [
    ["login"], ["login", "--email", "a@example.test"],
    ["signup", "--email", "a@example.test"], ["signup"],
])
def test_without_a_terminal_nothing_prompts(world: World, command: list[str]) -> None:
    result = world.cli(*command)
    assert result.exit_code == 2
    assert "stdin is not a terminal" in result.stderr
    assert "--password-stdin" in result.stderr or "--email" in result.stderr
    assert world.standin.requests("/auth/v1") == []


@pytest.mark.postgres
def test_login_prompts_on_a_terminal_without_echoing_the_password(world: World) -> None:
    email = world.new_user()
    code, screen = run_on_terminal(["login"], [("Email: ", email), ("Password: ", PASSWORD)])
    assert code == 0, screen
    assert "Logged in" in screen
    assert PASSWORD not in screen
    assert world.stored() is not None


@pytest.mark.postgres
def test_otp_prompts_for_the_code_on_a_terminal(world: World) -> None:
    email = world.new_user()
    code, screen = run_on_terminal(
        ["login", "--otp", "--email", email],
        [("Code from the email: ", lambda: world.standin.last_otp(email))])
    assert code == 0, screen
    assert "code was sent" in screen and "Logged in" in screen
    assert world.stored() is not None


@pytest.mark.postgres
def test_login_replaces_and_ends_the_previous_session(world: World) -> None:
    email = world.new_user()
    world.login(email)
    first = world.stored()
    world.login(email)
    assert world.stored().refresh_token != first.refresh_token  # type: ignore[union-attr]
    assert world.sessions_of(email) == 1


# --- logout -----------------------------------------------------------------------------------


@pytest.mark.postgres
def test_logout_ends_only_this_devices_session(world: World, tmp_path: Path) -> None:
    email = world.new_user()
    world.login(email)
    other_home = tmp_path / "second-device"
    other = {"MFTRACK_HOME": str(other_home),
             "MFTRACK_TEST_KEYRING_FILE": str(tmp_path / "second-keyring.json")}
    assert world.proc("login", "--email", email, "--password-stdin", input=PASSWORD,
                      **other).exit_code == 0
    assert world.sessions_of(email) == 2

    result = world.cli("logout")
    assert result.exit_code == 0, result.stderr
    assert "Logged out" in result.stderr
    [call] = world.standin.requests("/auth/v1/logout")
    assert "scope=local" in call.query and call.status == 204
    assert world.stored() is None
    assert world.sessions_of(email) == 1
    assert world.cli("whoami").exit_code == 77
    assert world.proc("whoami", **other).exit_code == 0  # the second device is still in


@pytest.mark.postgres
def test_logout_when_not_logged_in(world: World) -> None:
    result = world.cli("logout")
    assert result.exit_code == 0
    assert "Not logged in" in result.stderr


@pytest.mark.postgres
def test_logout_deletes_the_tokens_even_if_the_server_cannot_be_reached(world: World) -> None:
    email = world.new_user()
    world.login(email)
    world.standin.drop_next("/auth/v1/logout")
    result = world.cli("logout")
    assert result.exit_code == 0, result.stderr
    assert "could not be ended on the server" in result.stderr
    assert world.stored() is None


@pytest.mark.postgres
def test_logout_with_the_server_down(world: World) -> None:
    email = world.new_user()
    world.login(email)
    session = world.stored()
    world.use(MFTRACK_SUPABASE_URL=closed_port_url())
    world.store().save(session)  # type: ignore[arg-type]
    result = world.cli("logout")
    assert result.exit_code == 0
    assert "cannot reach Supabase" in result.stderr
    assert world.stored() is None


@pytest.mark.postgres
def test_logout_after_the_server_ended_the_session(world: World) -> None:
    email = world.new_user()
    world.login(email)
    world.standin.revoke_sessions(world.standin.user_id(email))
    result = world.cli("logout")
    assert result.exit_code == 0
    assert "Logged out" in result.stderr
    assert world.stored() is None


@pytest.mark.postgres
def test_a_wrong_anon_key_or_url_is_a_config_error(world: World) -> None:
    email = world.new_user()
    world.use(MFTRACK_SUPABASE_ANON_KEY="not-the-key")
    bad_key = world.cli("login", "--email", email, "--password-stdin", input=PASSWORD)
    assert bad_key.exit_code == 6
    assert "refused the API key" in bad_key.stderr and "supabase.anon_key" in bad_key.stderr
    world.use(MFTRACK_SUPABASE_ANON_KEY=world.standin.anon_key,
              MFTRACK_SUPABASE_URL=world.standin.url + "/not-supabase")
    bad_url = world.cli("login", "--email", email, "--password-stdin", input=PASSWORD)
    assert bad_url.exit_code == 6
    assert "does not look like a Supabase project" in bad_url.stderr
