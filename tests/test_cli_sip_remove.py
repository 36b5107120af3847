"""rm-sip asks on a terminal and needs --yes elsewhere; restore-sip undoes a removal that has
not been synced. The terminal cases run the real `python -m mftrack` on a pseudo-terminal."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys

import pytest

from tests.helpers import NAVALL, run_at_terminal, run_cli
from tests.sync_support import server_rows
from tests.test_sync_cli import Homes, homes  # noqa: F401 (the fixture)

NAVALL_FILE = NAVALL / "NAVAll_2025-12-11.txt"


@pytest.fixture
def sip_id() -> str:
    assert run_cli("nav", "import", str(NAVALL_FILE)).exit_code == 0
    result = run_cli("add-sip", "120503", "-a", "5000", "-s", "2021-04-05")
    assert result.exit_code == 0, result.stderr
    return result.stdout.strip()


def live_ids() -> list[str]:
    return [s["id"] for s in json.loads(run_cli("sips", "--json").stdout)]


def outbox() -> list[tuple[str, int]]:
    from mftrack.config import resolve_paths

    with sqlite3.connect(resolve_paths().database) as conn:
        return conn.execute("select row_id, deleted from outbox order by mid").fetchall()


def test_rm_sip_asks_on_a_terminal_and_no_keeps_the_sip(sip_id: str) -> None:
    code, screen = run_at_terminal(["rm-sip", sip_id[:8]], "n")
    assert code == 0
    assert f"Remove SIP {sip_id[:8]}: Axis ELSS Tax Saver Fund" in screen
    assert "₹5,000 a month from 2021-04-05? [y/N]" in screen
    assert "Nothing removed." in screen
    assert live_ids() == [sip_id]


def test_rm_sip_removes_after_yes_run_at_terminal(sip_id: str) -> None:
    code, screen = run_at_terminal(["rm-sip", sip_id[:8]], "y")
    assert code == 0, screen
    assert f"Removed SIP {sip_id[:8]}" in screen and "restore-sip" in screen
    assert live_ids() == []


def test_rm_sip_without_a_terminal_needs_yes(sip_id: str) -> None:
    refused = run_cli("rm-sip", sip_id[:8])
    assert refused.exit_code == 2
    assert refused.stderr.startswith("Error:") and "stdin is not a terminal" in refused.stderr
    assert f"mftrack rm-sip {sip_id[:8]} --yes" in refused.stderr
    assert live_ids() == [sip_id]
    assert run_cli("rm-sip", sip_id[:8], "--yes").exit_code == 0
    assert live_ids() == []


def test_restore_brings_back_a_removal_that_was_not_synced(sip_id: str) -> None:
    assert run_cli("rm-sip", sip_id[:8], "--yes").exit_code == 0
    assert outbox() == [(sip_id, 0), (sip_id, 1)]  # the create, then the removal
    restored = run_cli("restore-sip", sip_id[:8])
    assert restored.exit_code == 0, restored.stderr
    assert restored.stdout.strip() == sip_id
    assert live_ids() == [sip_id]
    assert outbox() == [(sip_id, 0)]  # the removal will never be pushed
    summary = json.loads(run_cli("summary", "--json").stdout)
    assert summary["total"]["instalments"] > 0
    again = run_cli("restore-sip", sip_id[:8])
    assert again.exit_code == 2 and "is not removed" in again.stderr


def test_restore_of_an_unknown_sip_is_not_found(sip_id: str) -> None:
    assert run_cli("restore-sip", "ffffffff").exit_code == 3


@pytest.mark.postgres
def test_restore_after_the_removal_was_synced_says_so(homes: Homes) -> None:  # noqa: F811
    homes.setup("laptop")
    sip_id = homes.ok("laptop", "add-sip", "120503", "-a", "5000", "-s", "2021-04-05",
                      "--step-up", "10%").stdout.strip()
    homes.ok("laptop", "sync")
    homes.ok("laptop", "rm-sip", sip_id[:8], "--yes")
    homes.ok("laptop", "sync")
    late = homes.cli("laptop", "restore-sip", sip_id[:8])
    assert late.exit_code == 2
    assert "already been synced" in late.stderr
    assert ("mftrack add-sip 120503 --amount 5000.00 --start 2021-04-05 --day 5 "
            "--step-up 10%") in late.stderr
    assert [s["deleted"] for s in homes.sips("laptop")] == [True]


@pytest.mark.postgres
def test_a_restore_before_sync_never_reaches_the_server(homes: Homes) -> None:  # noqa: F811
    homes.setup("laptop")
    sip_id = homes.ok("laptop", "add-sip", "120503", "-a", "5000", "-s", "2021-04-05"
                      ).stdout.strip()
    homes.ok("laptop", "sync")
    homes.ok("laptop", "rm-sip", sip_id[:8], "--yes")
    homes.ok("laptop", "restore-sip", sip_id[:8])
    homes.ok("laptop", "sync")
    rows = server_rows(homes.standin, homes.user_id)
    assert list(rows) == [sip_id] and rows[sip_id]["deleted"] is False
    assert [s["deleted"] for s in homes.sips("laptop")] == [False]


def test_restore_waits_for_no_running_sync(sip_id: str) -> None:
    """A sync holding its lock may be pushing this very removal: restore refuses (busy)."""
    from mftrack.config import resolve_paths

    assert run_cli("rm-sip", sip_id[:8], "--yes").exit_code == 0
    lock_path = resolve_paths().lock_dir / "sync.lock"
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    code = ("import sys, time\nfrom filelock import FileLock\n"
            f"lock = FileLock({str(lock_path)!r}); lock.acquire()\n"
            "print('held', flush=True); sys.stdin.read()\n")
    holder = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        busy = run_cli("restore-sip", sip_id[:8])
        assert busy.exit_code == 9 and "a sync is running" in busy.stderr
        assert live_ids() == []
    finally:
        holder.communicate("", timeout=60)
    assert run_cli("restore-sip", sip_id[:8]).exit_code == 0  # the sync lock is free again
