"""Issue 15 item 2: every Postgres-backed test finds its server through one fixture and one
variable (`MFTRACK_TEST_PG_URL`), and in CI an unreachable server fails the run, never skips it.

Runs pytest on real test modules in a subprocess with the variable pointing at a port where
nothing listens."""

from __future__ import annotations

import os
import subprocess
import sys
from urllib.parse import urlsplit

import pytest

from tests.helpers import REPO
from tests.loopback import closed_port_url

MODULES = {
    "hosted SQL": "tests/test_hosted_sql.py::test_catalog_security_settings",
    "stand-in": "tests/test_sync_cli.py::test_exit_codes_for_cron",
}


def run_pytest(target: str, *, ci: bool) -> subprocess.CompletedProcess[str]:
    port = urlsplit(closed_port_url()).port
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "MFTRACK_TEST_PG")}
    env["MFTRACK_TEST_PG_URL"] = f"postgresql://postgres@127.0.0.1:{port}/postgres"
    env["MFTRACK_TEST_PG"] = "host=127.0.0.1 port=5432 user=postgres"  # the retired variable
    if ci:
        env["CI"] = "true"
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rs", target],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("target", MODULES.values(), ids=MODULES.keys())
def test_an_unreachable_postgres_fails_in_ci(target: str) -> None:
    result = run_pytest(target, ci=True)
    assert result.returncode == 1, result.stdout[-2000:]
    assert "PostgreSQL is not reachable at postgresql://postgres@127.0.0.1:" in result.stdout
    assert "skipped" not in result.stdout


def test_an_unreachable_postgres_skips_outside_ci() -> None:
    result = run_pytest(MODULES["hosted SQL"], ci=False)
    assert result.returncode == 0, result.stdout[-2000:]
    assert "1 skipped" in result.stdout and "PostgreSQL is not reachable" in result.stdout
