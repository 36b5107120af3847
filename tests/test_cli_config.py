"""Bad settings stop every command the same way, before any data is read or written."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from mftrack.config import SETTINGS, load_settings, resolve_paths
from mftrack.errors import ConfigError
from tests.helpers import NAVALL, run_cli

NAVALL_DEC_11 = NAVALL / "NAVAll_2025-12-11.txt"

COMMANDS = [
    ("sips",),
    ("add-sip", "120503", "--amount", "5000", "--start", "2021-04-05"),
    ("summary",),
    ("nav", "import", str(NAVALL_DEC_11)),
    ("scheme", "search", "axis"),
    ("chart", "value"),
    ("daemon", "status"),
    ("sync", "status"),
    ("logs",),
    ("logs", "clean", "--dry-run"),
    ("config", "show"),
]

BAD = [
    ("MFTRACK_UNITS_ROUNDING", "up", "units.rounding"),
    ("MFTRACK_NAV_STALE_AFTER_DAYS", "abc", "nav.stale_after_days"),
    ("MFTRACK_LOGS_RETENTION_DAYS", str(10**12), "logs.retention_days"),
]


def _snapshot(db: Path) -> list[tuple]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute("select id, amount from sips order by id").fetchall()
        rows += conn.execute("select count(*) from navs").fetchall()
    conn.close()
    return rows


@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: " ".join(a[:2]))
@pytest.mark.parametrize(("variable", "value", "key"), BAD, ids=lambda v: str(v)[:20])
def test_a_bad_setting_stops_every_command_before_it_touches_data(
    isolated_home: Path, monkeypatch: pytest.MonkeyPatch, args: tuple[str, ...],
    variable: str, value: str, key: str,
) -> None:
    assert run_cli("nav", "import", str(NAVALL_DEC_11)).exit_code == 0
    db = isolated_home / "mftrack.db"
    before = _snapshot(db)
    monkeypatch.setenv(variable, value)
    result = run_cli(*args)
    assert result.exit_code == 6, (result.stdout, result.stderr)
    assert result.stdout == ""
    assert key in result.stderr and variable in result.stderr
    assert "invalid literal" not in result.stderr and "Traceback" not in result.stderr
    assert _snapshot(db) == before


def test_a_broken_config_file_stops_sips_and_add_sip(isolated_home: Path) -> None:
    assert run_cli("nav", "import", str(NAVALL_DEC_11)).exit_code == 0
    (isolated_home / "config.toml").write_text("[units\nplaces = 3\n")
    for args in COMMANDS[:2]:
        result = run_cli(*args)
        assert result.exit_code == 6, result.stderr
        assert "config.toml is not valid TOML" in result.stderr
    with sqlite3.connect(isolated_home / "mftrack.db") as conn:
        assert conn.execute("select count(*) from sips").fetchone() == (0,)
    conn.close()


def test_config_paths_and_help_still_work_with_a_broken_config(isolated_home: Path) -> None:
    isolated_home.mkdir()
    (isolated_home / "config.toml").write_text("[units\n")
    result = run_cli("config", "paths")
    assert result.exit_code == 0
    assert str(isolated_home / "config.toml") in result.stdout
    result = run_cli("sips", "--help")
    assert result.exit_code == 0 and "Usage" in result.stdout


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("[units]\nplaces = true\n", "must be a whole number"),
        ("[units]\nplaces = 2.5\n", "must be a whole number"),
        ("[units]\nplaces = 99\n", "from 0 to 8"),
        ("[logs]\nretention_days = 0\n", "from 1 to 36,500"),
        ("[network]\ntimeout = nan\n", "at most 3600"),
        ("[supabase]\nanon_key = 12\n", "must be text"),
    ],
)
def test_config_file_values_are_checked_with_a_plain_message(
    tmp_path: Path, text: str, needle: str
) -> None:
    paths = resolve_paths({"MFTRACK_HOME": str(tmp_path)})
    paths.config_file.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_settings(paths, {})
    assert needle in info.value.message
    assert str(paths.config_file) in info.value.message


def test_typed_settings_carry_parsed_values(tmp_path: Path) -> None:
    paths = resolve_paths({"MFTRACK_HOME": str(tmp_path)})
    settings = load_settings(paths, {"MFTRACK_NETWORK_TIMEOUT": "2.5",
                                     "MFTRACK_SYNC_BATCH_SIZE": " 50 "})
    assert settings.network_timeout == 2.5
    assert settings.sync_batch_size == 50
    assert settings.units_places == 3 and settings.units_rounding == "down"
    assert {spec.key for spec in SETTINGS} == set(settings.sources)
    with pytest.raises(AttributeError):
        settings.units_places = 4  # type: ignore[misc]
