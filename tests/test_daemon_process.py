"""The real daemon process: SIGTERM/Ctrl-C stop it (abandoning a job stuck on the network),
one daemon per data folder, and `daemon status` reads its state from another process.

No wall-clock thresholds here (how fast it stops is a goal for bench/): the bounds below are
generous and only there so that a daemon that never stops fails the test instead of hanging."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from mftrack.adapters.sqlite.store import LocalStore
from mftrack.config import resolve_paths
from mftrack.services.sips import add_sip
from tests.helpers import NAVALL, REPO, run_subprocess
from tests.loopback import LoopbackServer, Reply

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")


def point_at(loopback: LoopbackServer, monkeypatch: pytest.MonkeyPatch) -> None:
    loopback.route("/NAVAll.txt", Reply(body=(NAVALL / "NAVAll_2025-12-11.txt").read_bytes()))
    monkeypatch.setenv("MFTRACK_AMFI_NAVALL_URL", loopback.url("/NAVAll.txt"))
    monkeypatch.setenv("MFTRACK_AMFI_HISTORY_URL", loopback.url("/history"))
    monkeypatch.setenv("MFTRACK_MFAPI_BASE_URL", loopback.url("/"))
    monkeypatch.setenv("MFTRACK_NETWORK_RETRIES", "0")
    monkeypatch.setenv("MFTRACK_DAEMON_JITTER_MINUTES", "0")  # every job's first run at start


def wait_for(condition, timeout: float = 30, what: str = "") -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def log_text() -> str:
    log_dir = resolve_paths().log_dir
    return "".join(p.read_text(encoding="utf-8") for p in sorted(log_dir.glob("mftrack-*.log")))


@contextmanager
def daemon(tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`python -m mftrack daemon run` in the background, once it has logged "started"."""
    with (tmp_path / "daemon-stderr.txt").open("wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "mftrack", "daemon", "run"],
            cwd=REPO,
            env=dict(os.environ),
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
        try:
            wait_for(
                lambda: "daemon started" in log_text() or proc.poll() is not None,
                what="the daemon to start",
            )
            assert proc.poll() is None, (tmp_path / "daemon-stderr.txt").read_text()
            yield proc
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


STUCK_FOR = 120  # seconds a hanging server keeps the job waiting


def stop_with(proc: subprocess.Popen[bytes], signum: int) -> None:
    proc.send_signal(signum)
    try:
        proc.wait(timeout=STUCK_FOR / 2)  # generous; fails only a daemon that does not stop
    except subprocess.TimeoutExpired:
        raise AssertionError(f"the daemon did not stop; its log:\n{log_text()}") from None


def test_sigterm_stops_the_daemon(
    tmp_path: Path, loopback: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    point_at(loopback, monkeypatch)
    with daemon(tmp_path) as proc:
        stop_with(proc, signal.SIGTERM)
    assert proc.returncode == 0
    assert "daemon stopped" in log_text()


def test_sigterm_abandons_a_job_stuck_on_the_network(
    tmp_path: Path, loopback: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    point_at(loopback, monkeypatch)
    loopback.route("/mf/120503", Reply(body="{}", delay=STUCK_FOR))  # mfapi.in hangs
    paths = resolve_paths()
    store = LocalStore(paths.database, backup_dir=paths.backup_dir)
    add_sip(store=store, scheme_code=120503, amount=Decimal(1000), start=date(2025, 1, 5))
    store.close()
    with daemon(tmp_path) as proc:
        # the history backfill runs at start and is now waiting for mfapi.in
        wait_for(lambda: loopback.requests_to("/mf/120503"), what="the history request")
        stop_with(proc, signal.SIGTERM)  # long before the server would answer
    assert proc.returncode == 0
    text = log_text()
    assert "WARNING daemon.sip_history stopping: abandoned in mid-run" in text
    assert "sip_history ok" not in text and "sip_history: ok" not in text
    assert "daemon stopped" in text


def test_ctrl_c_stops_it_too_with_the_interrupted_code(
    tmp_path: Path, loopback: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    point_at(loopback, monkeypatch)
    with daemon(tmp_path) as proc:
        stop_with(proc, signal.SIGINT)
    assert proc.returncode == 130


def test_a_second_daemon_exits_busy_and_status_works_from_another_shell(
    tmp_path: Path, loopback: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    point_at(loopback, monkeypatch)
    with daemon(tmp_path) as proc:
        second = run_subprocess("daemon", "run", timeout=30)
        assert second.exit_code == 9
        assert "another mftrack daemon is already running" in second.stderr
        assert f"(pid {proc.pid})" in second.stderr

        def status() -> dict:  # type: ignore[type-arg]
            result = run_subprocess("daemon", "status", "--json")
            assert result.exit_code == 0, result.stderr
            return json.loads(result.stdout)  # type: ignore[no-any-return]

        wait_for(
            lambda: (
                {j["job"] for j in status()["jobs"] if j["last_result"]}
                >= {"log_retention", "sip_history", "sync"}
            ),
            what="the first runs",
        )
        data = status()
        assert (data["running"], data["pid"]) == (True, proc.pid)
        sync = next(j for j in data["jobs"] if j["job"] == "sync")
        # no sync module yet, or nobody logged in / Supabase not configured: skipped either way
        assert sync["last_result"] == "skipped", sync
        assert sync["next_run_at"]
        table = run_subprocess("daemon", "status")
        assert f"Daemon: running (pid {proc.pid})" in table.stdout
        assert f"sync: {sync['last_message']}" in table.stdout
        stop_with(proc, signal.SIGTERM)
    after = run_subprocess("daemon", "status", "--json")
    assert json.loads(after.stdout)["running"] is False
