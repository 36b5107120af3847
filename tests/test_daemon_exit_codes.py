"""`mftrack daemon run` exit codes and the systemd unit documented in docs/daemon.md: the unit
must not restart forever on a failure a restart cannot fix (issue 9 item 12)."""

from __future__ import annotations

import re
import sqlite3

from mftrack.adapters.sqlite.store import LocalStore
from mftrack.config import resolve_paths
from tests.helpers import REPO, run_subprocess

DOCS = REPO / "docs"


def unit_prevents() -> set[int]:
    text = (DOCS / "daemon.md").read_text(encoding="utf-8")
    (line,) = re.findall(r"^RestartPreventExitStatus=(.*)$", text, flags=re.MULTILINE)
    return {int(code) for code in line.split()}


def not_helped_by_restart() -> set[int]:
    """The codes of exit-codes.md's `daemon run` table whose last column starts with "no"."""
    text = (DOCS / "exit-codes.md").read_text(encoding="utf-8")
    table = text.split("## `mftrack daemon run`", 1)[1]
    rows = re.findall(r"^\| (\d+) \| [^|]+ \| (no\b[^|]*)\|$", table, flags=re.MULTILINE)
    return {int(code) for code, _ in rows}


def test_the_unit_stops_on_every_code_a_restart_cannot_fix() -> None:
    assert not_helped_by_restart() == {2, 6, 7, 8, 9}
    assert unit_prevents() == not_helped_by_restart()


def test_a_database_from_a_newer_mftrack_stops_the_daemon_with_the_storage_code() -> None:
    paths = resolve_paths()
    LocalStore(paths.database, backup_dir=paths.backup_dir).close()
    with sqlite3.connect(paths.database) as conn:
        conn.execute("update alembic_version set version_num = '9999'")
    result = run_subprocess("daemon", "run", timeout=60)
    assert result.exit_code == 7, result.stderr
    assert "written by a newer mftrack" in result.stderr
    assert 7 in unit_prevents()


def test_a_bad_setting_stops_the_daemon_with_the_config_code() -> None:
    result = run_subprocess("daemon", "run", env={"MFTRACK_NETWORK_DEADLINE": "soon"})
    assert result.exit_code == 6, result.stderr
    assert "network.deadline" in result.stderr
    assert 6 in unit_prevents()
