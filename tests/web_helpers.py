"""Helpers for the dashboard tests: the demo home, the ASGI app, and a real `mftrack serve`.

No test lives here. The demo home is built once per module by the real `mftrack demo` and
copied per test, so every test writes to its own real SQLite file. Test modules import the
fixtures `demo_template` and `home` and list them in `__all__` (which keeps ruff's F811 quiet).
"""

from __future__ import annotations

import os
import queue
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.charts_support import build_demo
from tests.helpers import REPO, CliResult, run_subprocess

AS_OF = "2025-12-10"  # the demo data's last NAV date
PORT = 8765  # the ASGI app's notional port (Host header and cookie name)
BASE = f"http://127.0.0.1:{PORT}"
TOKEN = "test-token-0123456789abcdef"


@pytest.fixture(scope="module")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_demo(tmp_path_factory.mktemp("web-demo"))


@pytest.fixture
def home(demo_template: Path, tmp_path: Path) -> Path:
    """A copy of the demo home for one test."""
    target = tmp_path / "home"
    shutil.copytree(demo_template, target)
    return target


def cli_in(home: Path, *args: str) -> CliResult:
    """The real CLI in a child process (another process than the server under test)."""
    return run_subprocess(*args, env={"MFTRACK_HOME": str(home), "MFTRACK_TODAY": AS_OF})


def make_app(home: Path):  # type: ignore[no-untyped-def]
    from datetime import date

    from mftrack.domain.options import ValuationOptions
    from mftrack.web.app import ServeOptions, create_app

    return create_app(ServeOptions(
        database=home / "mftrack.db", backup_dir=home / "backups",
        valuation=ValuationOptions(),
        today=lambda: date.fromisoformat(AS_OF), token=TOKEN, port=PORT,
    ))


@dataclass
class Server:
    """A running `mftrack serve --port 0` child process."""

    process: subprocess.Popen[str]
    url: str  # the printed URL, token included
    stderr_lines: queue.Queue[str]

    @property
    def base(self) -> str:
        return self.url.split("/?token=")[0]

    @property
    def token(self) -> str:
        return self.url.split("?token=")[1]


@contextmanager
def running_server(home: Path, *extra: str) -> Iterator[Server]:
    env = dict(os.environ, MFTRACK_HOME=str(home), MFTRACK_TODAY=AS_OF)
    process = subprocess.Popen(
        [sys.executable, "-m", "mftrack", "serve", "--port", "0", *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=REPO,
    )
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            lines.put(line)

    threading.Thread(target=pump, daemon=True).start()
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        assert url.startswith("http://"), f"no URL printed; stderr: {_drain(lines)}"
        yield Server(process, url, lines)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _drain(lines: queue.Queue[str]) -> str:
    out = []
    while not lines.empty():
        out.append(lines.get_nowait())
    return "".join(out)
