"""Shared fixtures: every test gets its own MFTRACK_HOME, plain output and no stray settings."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.helpers import SHARED_DATA

pytest_plugins = ["tests.loopback", "tests.standin.fixtures"]


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in list(os.environ):
        if name.startswith("MFTRACK_"):
            monkeypatch.delenv(name)
    home = tmp_path / "mftrack-home"
    monkeypatch.setenv("MFTRACK_HOME", str(home))
    # add-sip would fetch NAV history from the internet; tests that want it point the URLs at
    # a loopback server and set it back to "on".
    monkeypatch.setenv("MFTRACK_NAV_FETCH_ON_ADD", "off")
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "160")
    monkeypatch.setenv("TERM", "dumb")
    return home


@pytest.fixture(scope="session")
def amfi_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.fail(f"the real AMFI data is missing: {SHARED_DATA} (../shared beside the repo)")
    return SHARED_DATA
