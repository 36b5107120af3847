"""Where the session is kept (keyring, 0600 file, MFTRACK_REFRESH_TOKEN), what happens
without a keyring, and a scan proving no token or password leaks anywhere."""

from __future__ import annotations

import json
import os
import stat
from dataclasses import replace
from pathlib import Path

import pytest

from mftrack.adapters.supabase.tokens import (
    MAX_KEYRING_CHARS,
    SERVICE,
    KeyringTokenStore,
    StoredSession,
    session_file,
)
from mftrack.config import resolve_paths
from tests.auth_support import (
    FAIL_KEYRING,
    MEMORY_KEYRING,
    PASSWORD,
    World,
    closed_port_url,
    files_under,
    make_world,
)
from tests.keyring_memory import FileKeyring, MemoryKeyring
from tests.standin import StandIn
from tests.standin.fixtures import standin, standin_server, unique_email  # noqa: F401

pytestmark = pytest.mark.postgres


@pytest.fixture
def world(standin: StandIn, isolated_home: Path, tmp_path: Path,  # noqa: F811
          monkeypatch: pytest.MonkeyPatch) -> World:
    return make_world(standin, isolated_home, tmp_path, monkeypatch)


# --- keyring ----------------------------------------------------------------------------------


def test_the_keyring_backend_comes_from_python_keyring_backend(world: World) -> None:
    world.use(PYTHON_KEYRING_BACKEND=MEMORY_KEYRING)
    email = world.new_user()
    result = world.login(email)
    assert "tests.keyring_memory.MemoryKeyring" in result.stderr
    entries = MemoryKeyring.entries()
    assert list(entries) == [(SERVICE, world.url)]  # one entry per project, keyed by URL
    entry = entries[(SERVICE, world.url)]
    assert len(entry) < MAX_KEYRING_CHARS
    data = json.loads(entry)
    assert set(data) == {"v", "rt", "at", "exp", "uid", "email", "ts"}  # not a Session JSON
    assert data["email"] == email
    assert not files_under(world.home / "auth")
    assert world.cli("logout").exit_code == 0
    assert MemoryKeyring.entries() == {}


def test_an_oversized_entry_is_stored_without_the_access_token(world: World) -> None:
    store = KeyringTokenStore(world.url)
    big = StoredSession("abcdefghijkl", "eyJ" + "x" * 2000, 2_000_000_000, "u", "e@x.y", 1.0)
    store.save(big)
    raw = FileKeyring.read_all()[f"{SERVICE}|{world.url}"]
    assert len(raw) < MAX_KEYRING_CHARS
    loaded = store.load()
    assert loaded is not None
    assert (loaded.refresh_token, loaded.access_token, loaded.expires_at) == ("abcdefghijkl",
                                                                              "", 0)


def test_an_unreadable_entry_means_logged_out(world: World) -> None:
    FileKeyring().set_password(SERVICE, world.url, "not json")
    result = world.cli("whoami")
    assert result.exit_code == 77


@pytest.mark.parametrize("backend, says", [
    (FAIL_KEYRING, "no usable OS keyring"),
    ("tests.keyring_memory.BrokenKeyring", "the collection is locked"),
    ("tests.no_such_module.Keyring", "cannot be used"),
])
def test_without_a_working_keyring_login_fails_clearly_and_writes_nothing(
        world: World, backend: str, says: str) -> None:
    world.use(PYTHON_KEYRING_BACKEND=backend)
    email = world.new_user()
    result = world.proc("login", "--email", email, "--password-stdin", input=PASSWORD)
    assert result.exit_code == 8, result.stderr
    assert says in result.stderr
    assert "MFTRACK_TOKEN_STORE=file" in result.stderr
    assert "MFTRACK_REFRESH_TOKEN" in result.stderr
    assert world.standin.requests("/auth") == []  # refused before any password was sent
    assert world.sessions_of(email) == 0
    assert not world.keyring_file.exists()
    assert not (world.home / "auth").exists()
    for path in files_under(world.home):
        assert PASSWORD.encode() not in path.read_bytes(), path
    who = world.proc("whoami")
    assert who.exit_code == 8


# --- the 0600 file ----------------------------------------------------------------------------


def test_the_file_store_is_0600_and_created_atomically(world: World) -> None:
    world.use(MFTRACK_TOKEN_STORE="file", PYTHON_KEYRING_BACKEND=FAIL_KEYRING)
    email = world.new_user()
    old_umask = os.umask(0)  # even with a permissive umask
    try:
        result = world.login(email)
    finally:
        os.umask(old_umask)
    path = session_file(resolve_paths(), world.url)
    assert str(path) in result.stderr
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temp file left
    assert json.loads(path.read_text())["session"]["email"] == email
    world.expire_locally()
    assert world.cli("whoami").exit_code == 0  # refresh rewrites it...
    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # ...still 0600
    assert world.cli("logout").exit_code == 0
    assert not path.exists()


def test_the_file_store_can_be_chosen_in_config_toml(world: World) -> None:
    world.use(PYTHON_KEYRING_BACKEND=FAIL_KEYRING)
    world.home.mkdir(parents=True, exist_ok=True)
    (world.home / "config.toml").write_text('[auth]\ntoken_store = "file"\n')
    world.login(world.new_user())
    assert session_file(resolve_paths(), world.url).exists()


def test_a_session_file_others_can_read_is_refused(world: World) -> None:
    world.use(MFTRACK_TOKEN_STORE="file")
    world.login(world.new_user())
    path = session_file(resolve_paths(), world.url)
    path.chmod(0o644)
    result = world.cli("whoami")
    assert result.exit_code == 8
    assert "chmod 600" in result.stderr


# --- MFTRACK_REFRESH_TOKEN --------------------------------------------------------------------


def test_a_refresh_token_from_the_environment(world: World) -> None:
    world.use(PYTHON_KEYRING_BACKEND=FAIL_KEYRING)  # no keyring, no file: env only
    email = unique_email()
    user_id = world.standin.create_user(email, PASSWORD)
    token = world.standin.issue_session(user_id)["refresh_token"]
    world.use(MFTRACK_REFRESH_TOKEN=token)
    for _ in range(3):  # the same variable keeps working run after run
        result = world.proc("whoami", "--json")
        assert result.exit_code == 0, result.stderr
        assert json.loads(result.stdout)["email"] == email
        assert "kept in memory" in result.stderr
    assert world.sessions_of(email) == 1
    assert files_under(world.home / "auth") == []
    assert not world.keyring_file.exists()

    login = world.cli("login", "--email", email, "--password-stdin", input=PASSWORD)
    assert login.exit_code == 6 and "unset MFTRACK_REFRESH_TOKEN" in login.stderr

    out = world.cli("logout")
    assert out.exit_code == 0
    assert "unset it" in out.stderr
    assert world.sessions_of(email) == 0
    assert world.cli("whoami").exit_code == 77


@pytest.mark.parametrize("token, says", [("abcdefghijkl", "no longer exists"),
                                         ("not-a-token", "not valid")])
def test_a_dead_refresh_token_from_the_environment_is_77(world: World, token: str,
                                                         says: str) -> None:
    world.use(MFTRACK_REFRESH_TOKEN=token)
    offline = world.cli("whoami", "--offline")
    assert offline.exit_code == 0 and "not known until the first refresh" in offline.stdout
    result = world.cli("whoami")
    assert result.exit_code == 77
    assert says in result.stderr and "mftrack login" in result.stderr


# --- nothing leaks ----------------------------------------------------------------------------


def test_no_token_or_password_appears_in_files_logs_or_output(world: World) -> None:
    email = unique_email()
    world.standin.set_jwt_expiry(30)  # every command refreshes: many tokens to look for
    seen: set[str] = set()

    issued: set[str] = set()

    def remember() -> None:
        stored = world.stored()
        if stored is not None:
            seen.update({stored.refresh_token, stored.access_token} - {""})
        issued.update(row[0] for row in world.standin.sql(
            "select token from auth.refresh_tokens where user_id ="
            " (select id::text from auth.users where email = %s)", email))

    steps = [
        ("signup", "--email", email, "--password-stdin"),
        ("whoami",), ("whoami", "--json"), ("whoami", "--offline"),
        ("login", "--email", email, "--password-stdin"),
        ("login", "--otp", "--email", email),
    ]
    for step, expected in zip(steps, [0, 0, 0, 0, 0, 2], strict=True):
        assert world.proc(*step, input=PASSWORD + "\n").exit_code == expected, step
        remember()
    code = world.standin.last_otp(email)
    assert world.proc("login", "--otp", "--email", email, "--code", code).exit_code == 0
    remember()
    assert world.proc("--debug", "whoami").exit_code == 0
    remember()
    # Failures, with --debug tracebacks (and their documented exit codes, which --debug keeps):
    # wrong password, network down, a dead session.
    assert world.proc("--debug", "login", "--email", email, "--password-stdin",
                      input="wrong-pw-9").exit_code == 8
    stored = world.stored()
    world.use(MFTRACK_SUPABASE_URL=closed_port_url())
    world.store().save(replace(stored, expires_at=0))  # type: ignore[arg-type]
    assert world.proc("--debug", "whoami").exit_code == 75
    assert world.proc("whoami").exit_code == 75
    world.use(MFTRACK_SUPABASE_URL=world.standin.url)
    remember()
    world.standin.revoke_sessions(world.standin.user_id(email))
    world.expire_locally()
    assert world.proc("--debug", "whoami").exit_code == 77
    world.login(email)
    remember()
    assert world.proc("logout").exit_code == 0

    assert len(issued) >= 6
    secrets = issued | seen | {PASSWORD, "wrong-pw-9"}
    assert len(seen) >= 8

    texts = [("stdout", r.stdout) for r in world.outputs] + \
            [("stderr", r.stderr) for r in world.outputs]
    assert any("Traceback" in text for _, text in texts)  # --debug did show tracebacks
    for path in files_under(world.home):
        texts.append((str(path), path.read_bytes().decode("latin-1")))
    leaks = [(where, secret[:4] + "…") for where, text in texts for secret in secrets
             if secret in text]
    assert leaks == []
