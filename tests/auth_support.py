"""Shared helpers for the tests/test_auth_*.py modules (no tests of its own).

`world` is one device talking to the stand-in: MFTRACK_HOME (autouse), the Supabase settings
and a keyring backend in the environment, so `run_cli` (in-process) and `run_subprocess`
(real processes) see the same token store. The default store is the file-backed test keyring
(`tests.keyring_memory.FileKeyring`) kept outside the home folder.
"""

from __future__ import annotations

import os
import select
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest

from mftrack.adapters.supabase.tokens import (
    FileTokenStore,
    KeyringTokenStore,
    StoredSession,
    TokenStore,
    session_file,
)
from mftrack.config import resolve_paths
from tests.helpers import REPO, CliResult, run_cli, run_subprocess
from tests.keyring_memory import FILE_ENV, MemoryKeyring
from tests.standin import StandIn
from tests.standin.fixtures import unique_email

PASSWORD = "Correct-horse-42"
FILE_KEYRING = "tests.keyring_memory.FileKeyring"
MEMORY_KEYRING = "tests.keyring_memory.MemoryKeyring"
FAIL_KEYRING = "keyring.backends.fail.Keyring"


@dataclass
class World:
    standin: StandIn
    home: Path
    keyring_file: Path
    monkeypatch: pytest.MonkeyPatch
    outputs: list[CliResult] = field(default_factory=list)

    @property
    def url(self) -> str:
        return os.environ["MFTRACK_SUPABASE_URL"]

    def use(self, **env: str | None) -> None:
        """Set (or, with None, remove) variables for the rest of the test."""
        for name, value in env.items():
            if value is None:
                self.monkeypatch.delenv(name, raising=False)
            else:
                self.monkeypatch.setenv(name, value)

    def cli(self, *args: str, input: str | None = None, **env: str) -> CliResult:
        result = run_cli(*args, input=input, env=env or None)
        self.outputs.append(result)
        return result

    def proc(self, *args: str, input: str | None = None, **env: str) -> CliResult:
        result = run_subprocess(*args, input=input, env=env or None)
        self.outputs.append(result)
        return result

    # --- accounts --------------------------------------------------------------------------

    def new_user(self, password: str = PASSWORD) -> str:
        email = unique_email()
        self.standin.create_user(email, password)
        return email

    def login(self, email: str, password: str = PASSWORD) -> CliResult:
        result = self.cli("login", "--email", email, "--password-stdin", input=password + "\n")
        assert result.exit_code == 0, result.stderr
        return result

    # --- the token store, read and written with the production classes ---------------------

    def store(self) -> TokenStore:
        if os.environ.get("MFTRACK_TOKEN_STORE") == "file":
            return FileTokenStore(session_file(resolve_paths(), self.url), self.url)
        return KeyringTokenStore(self.url)

    def stored(self) -> StoredSession | None:
        return self.store().load()

    def expire_locally(self) -> StoredSession:
        """Make the stored access token look expired to the client (forces a refresh)."""
        session = self.stored()
        assert session is not None
        changed = replace(session, expires_at=int(time.time()) - 5)
        self.store().save(changed)
        return changed

    def put_refresh_token(self, refresh_token: str) -> None:
        session = self.stored()
        assert session is not None
        self.store().save(replace(session, refresh_token=refresh_token, expires_at=0))

    def refresh_token_state(self, token: str) -> tuple[bool, str | None]:
        rows = self.standin.sql(
            "select revoked, parent from auth.refresh_tokens where token = %s", token)
        assert rows, f"unknown refresh token {token[:3]}..."
        return bool(rows[0][0]), rows[0][1]

    def sessions_of(self, email: str) -> int:
        user_id = self.standin.user_id(email)
        return int(self.standin.sql_value(
            "select count(*) from auth.sessions where user_id = %s", user_id))


def make_world(standin: StandIn, isolated_home: Path, tmp_path: Path,
               monkeypatch: pytest.MonkeyPatch, backend: str = FILE_KEYRING) -> World:
    MemoryKeyring.reset()
    keyring_file = tmp_path / "test-keyring.json"  # outside MFTRACK_HOME on purpose
    monkeypatch.setenv("MFTRACK_SUPABASE_URL", standin.url)
    monkeypatch.setenv("MFTRACK_SUPABASE_ANON_KEY", standin.anon_key)
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", backend)
    monkeypatch.setenv(FILE_ENV, str(keyring_file))
    monkeypatch.delenv("MFTRACK_REFRESH_TOKEN", raising=False)
    return World(standin, isolated_home, keyring_file, monkeypatch)


def closed_port_url() -> str:
    """A loopback URL nothing listens on (connection refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def files_under(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def run_on_terminal(args: list[str], answers: list[tuple[str, str | Callable[[], str]]],
                    timeout: float = 60) -> tuple[int, str]:
    """Run `python -m mftrack ARGS` on a pseudo-terminal (its controlling tty), typing each
    answer (or what a callable returns at that moment) when its prompt appears; returns the
    exit code and everything the terminal showed. Give prompts with their trailing space:
    click prints "Password:" before getpass turns echo off (flushing typed-ahead input) and
    writes the " "."""
    import fcntl
    import pty
    import termios

    master, slave = pty.openpty()

    def make_controlling_tty() -> None:
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    proc = subprocess.Popen(
        [sys.executable, "-m", "mftrack", *args], stdin=slave, stdout=slave, stderr=slave,
        cwd=REPO, env=dict(os.environ), start_new_session=True,
        preexec_fn=make_controlling_tty, close_fds=True)
    os.close(slave)
    seen = b""
    answered = 0
    pending = list(answers)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.1)
            if ready:
                try:
                    chunk = os.read(master, 4096)
                except OSError:  # EIO: the child closed the terminal
                    break
                if not chunk:
                    break
                seen += chunk
                if pending and pending[0][0].encode() in seen[answered:]:
                    answered = len(seen)
                    time.sleep(0.05)
                    answer = pending.pop(0)[1]
                    text = answer() if callable(answer) else answer
                    os.write(master, (text + "\n").encode())
            elif proc.poll() is not None:
                break
        code = proc.wait(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)
    return code, seen.decode("utf-8", "replace")
