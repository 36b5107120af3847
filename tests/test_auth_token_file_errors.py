"""The session file's error branches, each through the real CLI (issue 15): a folder that is
not a folder, a session path that is not a file. Root runs these tests too, so the faults are
made from the file system's structure, not from permissions root would ignore. (`clear`'s
error branch needs an unlink that root cannot do, e.g. an immutable file, so it has no test.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from mftrack.adapters.supabase.tokens import session_file
from mftrack.config import resolve_paths
from tests.auth_support import PASSWORD, World, make_world
from tests.standin import StandIn
from tests.standin.fixtures import standin, standin_server  # noqa: F401

pytestmark = pytest.mark.postgres

CREDENTIALS = 8  # docs/exit-codes.md


@pytest.fixture
def world(standin: StandIn, isolated_home: Path, tmp_path: Path,  # noqa: F811
          monkeypatch: pytest.MonkeyPatch) -> World:
    made = make_world(standin, isolated_home, tmp_path, monkeypatch)
    made.use(MFTRACK_TOKEN_STORE="file")
    return made


def test_a_session_that_cannot_be_written_is_a_credentials_error(world: World) -> None:
    path = session_file(resolve_paths(), world.url)
    (path / "in-the-way").mkdir(parents=True, mode=0o700)  # a folder where the file goes
    path.chmod(0o700)
    email = world.new_user()
    result = world.proc("login", "--email", email, "--password-stdin", input=PASSWORD + "\n")
    assert result.exit_code == CREDENTIALS
    assert f"cannot write the session file {path}" in result.stderr
    assert "Traceback" not in result.stderr
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary file left


def test_a_session_that_cannot_be_read_is_a_credentials_error(world: World) -> None:
    world.login(world.new_user())
    path = session_file(resolve_paths(), world.url)
    session = path.read_bytes()
    path.unlink()
    path.parent.rmdir()
    path.parent.write_bytes(session)  # where the folder was, a file: the path cannot be reached
    result = world.proc("whoami")
    assert result.exit_code == CREDENTIALS
    assert f"cannot read {path}" in result.stderr
