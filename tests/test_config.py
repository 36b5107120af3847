from __future__ import annotations

from pathlib import Path

import pytest

from mftrack.config import SETTINGS, load_settings, resolve_paths
from mftrack.errors import ConfigError


def test_mftrack_home_puts_every_path_under_one_folder(tmp_path: Path) -> None:
    paths = resolve_paths({"MFTRACK_HOME": str(tmp_path)})
    assert paths.database == tmp_path / "mftrack.db"
    assert paths.config_file == tmp_path / "config.toml"
    assert paths.log_dir == tmp_path / "logs"
    assert paths.cache_dir == tmp_path / "cache"


def test_without_home_platform_dirs_are_used(tmp_path: Path) -> None:
    paths = resolve_paths({})
    assert "mftrack" in str(paths.data_dir)
    assert paths.database.name == "mftrack.db"


def test_defaults_then_file_then_environment(tmp_path: Path) -> None:
    paths = resolve_paths({"MFTRACK_HOME": str(tmp_path)})
    assert load_settings(paths, {}).units_places == 3
    paths.config_file.write_text(
        '[units]\nplaces = 4\n[amfi]\nnavall_url = "http://127.0.0.1:9/NAVAll.txt"\n'
    )
    settings = load_settings(paths, {})
    assert settings.units_places == 4
    assert settings.sources["units.places"] == str(paths.config_file)
    settings = load_settings(paths, {"MFTRACK_UNITS_PLACES": "2"})
    assert settings.units_places == 2
    assert settings.sources["units.places"] == "MFTRACK_UNITS_PLACES"
    assert settings.amfi_navall_url == "http://127.0.0.1:9/NAVAll.txt"


def test_token_store_alias_variable(tmp_path: Path) -> None:
    paths = resolve_paths({"MFTRACK_HOME": str(tmp_path)})
    assert load_settings(paths, {"MFTRACK_TOKEN_STORE": "file"}).auth_token_store == "file"


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("MFTRACK_UNITS_PLACES", "-1"),
        ("MFTRACK_UNITS_PLACES", "three"),
        ("MFTRACK_AMFI_NAVALL_URL", "ftp://x"),
        ("MFTRACK_UNITS_ROUNDING", "sideways"),
        ("MFTRACK_NETWORK_TIMEOUT", "0"),
    ],
)
def test_bad_environment_values_name_the_variable(
    tmp_path: Path, variable: str, value: str
) -> None:
    paths = resolve_paths({"MFTRACK_HOME": str(tmp_path)})
    with pytest.raises(ConfigError) as info:
        load_settings(paths, {variable: value})
    assert variable in info.value.message


def test_unknown_key_and_bad_toml_are_refused(tmp_path: Path) -> None:
    paths = resolve_paths({"MFTRACK_HOME": str(tmp_path)})
    paths.config_file.write_text("[units]\nplacez = 4\n")
    with pytest.raises(ConfigError, match=r"unknown setting 'units\.placez'"):
        load_settings(paths, {})
    paths.config_file.write_text("[units\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(paths, {})


def test_every_setting_has_an_env_name_and_help() -> None:
    names = [spec.env for spec in SETTINGS]
    assert len(names) == len(set(names))
    assert all(spec.help for spec in SETTINGS)
