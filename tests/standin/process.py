"""The stand-in in a child process (``python -m tests.standin``), for load benchmarks: an
in-process server shares the GIL with the client threads driving it, which caps throughput
and inflates latencies. Only the database-level knobs are available across the process
boundary (``sql``); use the in-process :class:`~tests.standin.server.StandIn` for fault
injection and the clock."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

from . import db

REPO_ROOT = db.REPO_ROOT


@dataclass
class StandInProcess:
    url: str
    anon_key: str
    service_key: str
    jwt_secret: str
    database_url: str
    process: subprocess.Popen = field(repr=False)

    @property
    def auth_url(self) -> str:
        return f"{self.url}/auth/v1"

    @property
    def rest_url(self) -> str:
        return f"{self.url}/rest/v1"

    def sql(self, query: Any, *params: Any) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.database_url, autocommit=True) as conn:
            cur = conn.execute(query, params or None)
            return cur.fetchall() if cur.description else []

    def stop(self, timeout: float = 30.0) -> int:
        """SIGTERM, wait; the child drops its temporary database on the way out."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode

    def __enter__(self) -> StandInProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def spawn(*extra_args: str, admin_url: str = db.DEFAULT_ADMIN_URL,
          timeout: float = 60.0) -> StandInProcess:
    """Start ``python -m tests.standin --temporary --port 0`` (plus ``extra_args``, e.g.
    ``"--no-autoconfirm"``) and wait until it serves."""
    ready = Path(tempfile.mkdtemp(prefix="standin-")) / "ready.json"
    log = ready.with_name("output.log")
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tests.standin", "--temporary", "--port", "0",
             "--database-url", admin_url, "--ready-file", str(ready), *extra_args],
            cwd=REPO_ROOT, stdout=out, stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    deadline = time.monotonic() + timeout
    while not ready.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            if proc.poll() is None:
                proc.kill()
            raise RuntimeError("the stand-in process did not start:\n"
                               + log.read_text(errors="replace"))
        time.sleep(0.05)
    info = json.loads(ready.read_text())
    return StandInProcess(url=info["url"], anon_key=info["anon_key"],
                          service_key=info["service_key"], jwt_secret=info["jwt_secret"],
                          database_url=info["database_url"], process=proc)
