"""Where mftrack keeps its files, and its settings.

Paths come from platformdirs, or all live under one folder when `MFTRACK_HOME` is set.
Settings come from defaults, then `config.toml`, then `MFTRACK_*` variables (last wins);
they are validated once and a bad value raises `ConfigError` naming the file or variable.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mftrack.errors import ConfigError

APP_NAME = "mftrack"


@dataclass(frozen=True, slots=True)
class Paths:
    """Every location mftrack reads or writes."""

    data_dir: Path
    config_dir: Path
    cache_dir: Path
    log_dir: Path

    @property
    def database(self) -> Path:
        return self.data_dir / "mftrack.db"

    @property
    def config_file(self) -> Path:
        return self.config_dir / "config.toml"

    @property
    def backup_dir(self) -> Path:
        return self.data_dir / "backups"

    @property
    def lock_dir(self) -> Path:
        return self.data_dir / "locks"

    def as_dict(self) -> dict[str, str]:
        return {
            "data": str(self.data_dir),
            "database": str(self.database),
            "config": str(self.config_file),
            "cache": str(self.cache_dir),
            "logs": str(self.log_dir),
            "backups": str(self.backup_dir),
        }


def resolve_paths(environ: Mapping[str, str] | None = None) -> Paths:
    """Paths from `MFTRACK_HOME` if set, else the platform's user directories."""
    env = os.environ if environ is None else environ
    home = env.get("MFTRACK_HOME")
    if home:
        root = Path(home).expanduser()
        return Paths(root, root, root / "cache", root / "logs")
    import platformdirs

    return Paths(
        data_dir=platformdirs.user_data_path(APP_NAME),
        config_dir=platformdirs.user_config_path(APP_NAME),
        cache_dir=platformdirs.user_cache_path(APP_NAME),
        log_dir=platformdirs.user_log_path(APP_NAME),
    )


def _positive_int(value: Any) -> int:
    number = int(value)
    if number <= 0:
        raise ValueError("must be a positive whole number")
    return number


def _non_negative_int(value: Any) -> int:
    number = int(value)
    if number < 0:
        raise ValueError("must be zero or more")
    return number


def _positive_float(value: Any) -> float:
    number = float(value)
    if number <= 0:
        raise ValueError("must be a positive number")
    return number


def _url(value: Any) -> str:
    text = str(value).strip()
    if not text.startswith(("http://", "https://")):
        raise ValueError("must start with http:// or https://")
    return text.rstrip("/") if text.count("/") > 2 else text


def _optional_url(value: Any) -> str:
    return "" if str(value).strip() == "" else _url(value)


def _text(value: Any) -> str:
    return str(value).strip()


def _choice(*allowed: str) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        text = str(value).strip().lower()
        if text not in allowed:
            raise ValueError(f"must be one of {', '.join(allowed)}")
        return text

    return check


@dataclass(frozen=True, slots=True)
class SettingSpec:
    key: str  # "section.name" as written in config.toml
    default: Any
    parse: Callable[[Any], Any]
    help: str
    secret: bool = False

    @property
    def env(self) -> str:
        return "MFTRACK_" + self.key.replace(".", "_").upper()


SETTINGS: tuple[SettingSpec, ...] = (
    SettingSpec(
        "amfi.navall_url",
        "https://portal.amfiindia.com/spages/NAVAll.txt",
        _url,
        "AMFI's daily all-schemes NAV file",
    ),
    SettingSpec(
        "amfi.history_url",
        "https://portal.amfiindia.com/DownloadNAVHistoryReport_Po.aspx",
        _url,
        "AMFI's NAV history report",
    ),
    SettingSpec("mfapi.base_url", "https://api.mfapi.in", _url, "mfapi.in, the fallback source"),
    SettingSpec("network.timeout", 30.0, _positive_float, "seconds before a request times out"),
    SettingSpec("network.retries", 3, _non_negative_int, "retries on transient network errors"),
    SettingSpec("units.places", 3, _non_negative_int, "decimal places of allotted units"),
    SettingSpec(
        "units.rounding",
        "down",
        _choice("down", "half_up", "half_even"),
        "how estimated units are rounded (RTAs truncate)",
    ),
    SettingSpec(
        "nav.stale_after_days",
        7,
        _positive_int,
        "warn when the NAV used is older than this many days",
    ),
    SettingSpec("supabase.url", "", _optional_url, "your Supabase project URL"),
    SettingSpec("supabase.anon_key", "", _text, "your Supabase anon (publishable) key"),
    SettingSpec(
        "auth.token_store",
        "keyring",
        _choice("keyring", "file"),
        "where the session is kept: the OS keyring, or a 0600 file",
    ),
    SettingSpec("sync.batch_size", 200, _positive_int, "mutations pushed per request"),
    SettingSpec("daemon.sync_interval_minutes", 30, _positive_int, "minutes between syncs"),
    SettingSpec("logs.retention_days", 90, _positive_int, "days of log files kept"),
)

_SPECS = {spec.key: spec for spec in SETTINGS}
# Short aliases documented by the auth issue: MFTRACK_TOKEN_STORE.
_ENV_ALIASES = {"MFTRACK_TOKEN_STORE": "auth.token_store"}


@dataclass(frozen=True, slots=True)
class Settings:
    values: Mapping[str, Any]
    sources: Mapping[str, str]  # key -> "default" | config file path | env var name

    def __getitem__(self, key: str) -> Any:
        return self.values[key]

    def get(self, key: str) -> Any:
        return self.values[key]


def _flatten(table: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for name, value in table.items():
        key = f"{prefix}{name}"
        if isinstance(value, Mapping):
            flat.update(_flatten(value, key + "."))
        else:
            flat[key] = value
    return flat


def load_settings(paths: Paths, environ: Mapping[str, str] | None = None) -> Settings:
    """Defaults < config.toml < MFTRACK_* variables; raises ConfigError on a bad value."""
    env = os.environ if environ is None else environ
    values = {spec.key: spec.default for spec in SETTINGS}
    sources = {spec.key: "default" for spec in SETTINGS}

    config_file = paths.config_file
    if config_file.exists():
        try:
            raw = tomllib.loads(config_file.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(
                f"{config_file} is not valid TOML: {exc}", hint="fix or delete the file"
            ) from exc
        for key, value in _flatten(raw).items():
            spec = _SPECS.get(key)
            if spec is None:
                raise ConfigError(
                    f"unknown setting {key!r} in {config_file}",
                    hint="`mftrack config show` lists the settings",
                )
            values[key] = _parse(spec, value, str(config_file))
            sources[key] = str(config_file)

    for spec in SETTINGS:
        for var in (spec.env, *[a for a, k in _ENV_ALIASES.items() if k == spec.key]):
            if var in env:
                values[spec.key] = _parse(spec, env[var], var)
                sources[spec.key] = var
    return Settings(values=values, sources=sources)


def _parse(spec: SettingSpec, value: Any, origin: str) -> Any:
    try:
        return spec.parse(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(
            f"{spec.key} = {value!r} from {origin}: {exc}",
            hint=f"set a valid value in {origin}",
        ) from exc
