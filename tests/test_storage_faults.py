"""Storage faults made for real (tmpfs mounts, read-only bind mounts, immutable files, damaged
pages, umask 000): each gets its own true message and hint, and the storage exit code 7.

The tests run as root in CI, where chmod alone does not stop a write, so they use mounts and
`chattr +i`; when the mechanism is missing they fail in CI (CI=true) instead of skipping.
"""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import NAVALL, REPO, run_cli

NAVALL_DEC_11 = NAVALL / "NAVAll_2025-12-11.txt"
STORAGE = 7


def _unavailable(what: str, detail: str) -> None:
    message = f"{what} is needed for this test: {detail.strip()[:300]}"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def _run(*args: str) -> None:
    subprocess.run(args, check=True, capture_output=True, text=True)


@pytest.fixture
def mounts() -> Iterator[list[Path]]:
    """Mount points to unmount after the test (innermost first)."""
    made: list[Path] = []
    yield made
    for point in reversed(made):
        subprocess.run(["umount", "-l", str(point)], capture_output=True)


def tmpfs(point: Path, size: str, made: list[Path]) -> Path:
    point.mkdir(parents=True, exist_ok=True)
    try:
        _run("mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(point))
    except (OSError, subprocess.CalledProcessError) as exc:
        _unavailable("mounting a tmpfs", getattr(exc, "stderr", "") or str(exc))
    made.append(point)
    return point


def read_only_view(source: Path, point: Path, made: list[Path]) -> Path:
    point.mkdir(parents=True, exist_ok=True)
    try:
        _run("mount", "--bind", str(source), str(point))
        made.append(point)
        _run("mount", "-o", "remount,bind,ro", str(point))
    except (OSError, subprocess.CalledProcessError) as exc:
        _unavailable("a read-only bind mount", getattr(exc, "stderr", "") or str(exc))
    return point


def _counts(db: Path) -> tuple[int, int]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return (conn.execute("select count(*) from navs").fetchone()[0],
                conn.execute("select count(*) from sips").fetchone()[0])
    finally:
        conn.close()


def _fill(folder: Path) -> Path:
    """Write a file until the file system is full."""
    filler = folder / "filler"
    # Unbuffered: a buffered file that hit ENOSPC still holds the unwritten tail and raises it
    # again on close, depending on how the free space happens to divide (it did once schema
    # 0004 made a new database one page larger).
    with filler.open("wb", buffering=0) as out:
        try:
            while True:
                out.write(b"\0" * 65536)
                out.flush()
        except OSError:
            pass
    try:
        with filler.open("ab", buffering=0) as out:
            while True:
                out.write(b"\0" * 512)
                out.flush()
    except OSError:
        pass
    return filler


def _no_wrong_hints(stderr: str) -> None:
    assert "Traceback" not in stderr
    assert "sqlalche.me" not in stderr and "Background on this error" not in stderr
    assert "cannot rollback" not in stderr
    assert "another process may be busy" not in stderr


def test_a_full_disk_is_reported_as_such_and_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mounts: list[Path]
) -> None:
    home = tmpfs(tmp_path / "small", "16m", mounts) / "home"
    monkeypatch.setenv("MFTRACK_HOME", str(home))
    assert run_cli("sips").exit_code == 0  # creates the database while there is room
    db = home / "mftrack.db"
    before = _counts(db)
    filler = _fill(home.parent)
    result = run_cli("nav", "import", str(NAVALL_DEC_11))
    assert result.exit_code == STORAGE, result.stderr
    assert "is full; nothing was written" in result.stderr
    assert "free some space" in result.stderr
    assert "backups" not in result.stderr  # restoring a copy would lose newer data
    _no_wrong_hints(result.stderr)
    filler.unlink()
    assert _counts(db) == before
    assert run_cli("nav", "import", str(NAVALL_DEC_11)).exit_code == 0
    assert _counts(db)[0] > before[0]


def test_a_read_only_database_is_not_called_busy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mounts: list[Path]
) -> None:
    source = tmp_path / "home"
    monkeypatch.setenv("MFTRACK_HOME", str(source))
    assert run_cli("nav", "import", str(NAVALL_DEC_11)).exit_code == 0
    view = read_only_view(source, tmp_path / "ro", mounts)
    monkeypatch.setenv("MFTRACK_HOME", str(view))
    result = run_cli("add-sip", "120503", "--amount", "5000", "--start", "2021-04-05")
    assert result.exit_code == STORAGE, result.stderr
    assert "read-only file system" in result.stderr
    assert "backups" not in result.stderr
    _no_wrong_hints(result.stderr)
    assert _counts(source / "mftrack.db")[1] == 0


def test_an_immutable_database_file_is_read_only_too(
    tmp_path: Path, isolated_home: Path
) -> None:
    assert run_cli("nav", "import", str(NAVALL_DEC_11)).exit_code == 0
    db = isolated_home / "mftrack.db"
    try:
        _run("chattr", "+i", str(db))
    except (OSError, subprocess.CalledProcessError) as exc:
        _unavailable("chattr +i", getattr(exc, "stderr", "") or str(exc))
    try:
        result = run_cli("add-sip", "120503", "--amount", "5000", "--start", "2021-04-05")
    finally:
        subprocess.run(["chattr", "-i", str(db)], capture_output=True)
    assert result.exit_code == STORAGE, result.stderr
    assert "is read-only" in result.stderr
    _no_wrong_hints(result.stderr)
    assert _counts(db)[1] == 0


def test_damage_found_after_opening_is_a_storage_error_with_the_backup_hint(
    isolated_home: Path,
) -> None:
    assert run_cli("nav", "import", str(NAVALL_DEC_11)).exit_code == 0
    assert run_cli("add-sip", "120503", "--amount", "5000", "--start", "2021-04-05").exit_code == 0
    db = isolated_home / "mftrack.db"
    conn = sqlite3.connect(db)
    page_size = conn.execute("pragma page_size").fetchone()[0]
    root = conn.execute("select rootpage from sqlite_master where name = 'navs'").fetchone()[0]
    conn.execute("pragma wal_checkpoint(truncate)")
    conn.close()
    # Overwrite the NAV table's root page: the schema stamp still reads, the NAVs do not.
    with db.open("r+b") as f:
        f.seek((root - 1) * page_size)
        f.write(b"\xa5" * page_size)
    result = run_cli("summary")
    assert result.exit_code == STORAGE, result.stderr
    assert "is damaged" in result.stderr
    assert "backups folder" in result.stderr
    _no_wrong_hints(result.stderr)


def test_an_unusable_home_is_a_storage_error_naming_the_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mounts: list[Path]
) -> None:
    # A file where the folder should be.
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    monkeypatch.setenv("MFTRACK_HOME", str(blocker / "home"))
    result = run_cli("sips")
    assert result.exit_code == STORAGE, result.stderr
    assert "in the way" in result.stderr and str(blocker) in result.stderr
    assert "unexpected" not in result.stderr
    # A folder on a read-only file system (root ignores permission bits, not a ro mount).
    empty = tmp_path / "empty"
    empty.mkdir()
    view = read_only_view(empty, tmp_path / "ro", mounts)
    monkeypatch.setenv("MFTRACK_HOME", str(view / "home"))
    result = run_cli("sips")
    assert result.exit_code == STORAGE, result.stderr
    assert "read-only file system" in result.stderr and "MFTRACK_HOME" in result.stderr
    assert "unexpected" not in result.stderr


def test_an_upgrade_on_a_read_only_mount_shows_no_sqlalchemy_text(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mounts: list[Path]
) -> None:
    from mftrack.adapters.sqlite.migrate import migration_engine, upgrade

    source = tmp_path / "home"
    source.mkdir()
    engine = migration_engine(source / "mftrack.db")
    upgrade(engine, "0001")  # a real database of the previous schema
    engine.dispose()
    view = read_only_view(source, tmp_path / "ro", mounts)
    monkeypatch.setenv("MFTRACK_HOME", str(view))
    result = run_cli("sips")
    assert result.exit_code == STORAGE, result.stderr
    assert "read-only" in result.stderr
    _no_wrong_hints(result.stderr)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_files_are_private_whatever_the_umask(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = {**os.environ, "MFTRACK_HOME": str(home), "NO_COLOR": "1"}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "mftrack", *args], env=env, cwd=REPO,
                              capture_output=True, text=True, umask=0)

    assert cli("nav", "import", str(NAVALL_DEC_11)).returncode == 0
    assert cli("edit-sip", "abcdef", "--amount", "100").returncode == 3  # a failure is logged
    # A real database of the previous schema, upgraded: the backup copy is private too.
    from mftrack.adapters.sqlite.migrate import migration_engine, upgrade

    (home / "mftrack.db").unlink()
    engine = migration_engine(home / "mftrack.db")
    upgrade(engine, "0001")
    engine.dispose()
    os.chmod(home / "mftrack.db", 0o600)  # made by this test, not by mftrack
    assert cli("sips").returncode == 0
    assert _mode(home) == 0o700
    folders = [p for p in home.rglob("*") if p.is_dir()]
    files = [p for p in home.rglob("*") if p.is_file()]
    names = {p.relative_to(home).as_posix() for p in files}
    assert "mftrack.db" in names and "locks/upgrade.lock" in names
    assert any(n.startswith("logs/") for n in names)
    assert any(n.startswith("backups/") for n in names)
    assert {p.name: _mode(p) for p in folders} == {p.name: 0o700 for p in folders}
    assert {n: _mode(home / n) for n in names} == {n: 0o600 for n in names}


def test_a_database_locked_past_the_busy_timeout_says_so(isolated_home: Path) -> None:
    assert run_cli("nav", "import", str(NAVALL_DEC_11)).exit_code == 0
    holder = sqlite3.connect(isolated_home / "mftrack.db", isolation_level=None)
    holder.execute("begin exclusive")  # another process's long write, held past 10 s
    try:
        result = run_cli("add-sip", "120503", "--amount", "5000", "--start", "2021-04-05")
    finally:
        holder.execute("rollback")
        holder.close()
    assert result.exit_code == STORAGE, result.stderr
    assert "is locked by another process" in result.stderr and "retry" in result.stderr
    assert "backups" not in result.stderr
    _no_wrong_hints(result.stderr)
    assert _counts(isolated_home / "mftrack.db")[1] == 0
