"""Where mftrack keeps its files, and its settings.

Paths come from platformdirs, or all live under one folder when `MFTRACK_HOME` is set.
Settings come from defaults, then `config.toml`, then `MFTRACK_*` variables (last wins);
they are validated once and a bad value raises `ConfigError` naming the file or variable.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
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


def _whole_number(value: Any) -> int:
    """An int from a TOML integer or a variable's text; booleans and fractions are refused."""
    if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
        raise ValueError("must be a whole number")
    try:
        return int(str(value).strip()) if not isinstance(value, float) else int(value)
    except ValueError:
        raise ValueError("must be a whole number") from None


def _bounded_int(low: int, high: int) -> Callable[[Any], int]:
    def check(value: Any) -> int:
        number = _whole_number(value)
        if not low <= number <= high:
            raise ValueError(f"must be a whole number from {low} to {high:,}")
        return number

    return check


def _bounded_float(low: float, high: float) -> Callable[[Any], float]:
    def check(value: Any) -> float:
        if isinstance(value, bool):
            raise ValueError("must be a number")
        try:
            number = float(str(value).strip())
        except ValueError:
            raise ValueError("must be a number") from None
        if not low < number <= high:  # also refuses nan
            raise ValueError(f"must be a number above {low:g} and at most {high:g}")
        return number

    return check


def _url(value: Any) -> str:
    text = str(value).strip()
    if not text.startswith(("http://", "https://")):
        raise ValueError("must start with http:// or https://")
    return text.rstrip("/") if text.count("/") > 2 else text


def _optional_url(value: Any) -> str:
    return "" if str(value).strip() == "" else _url(value)


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("must be text")
    return value.strip()


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

    @property
    def attribute(self) -> str:
        """The typed attribute of `Settings` holding it: `units.places` -> `units_places`."""
        return self.key.replace(".", "_")


def _setting(key: str, default: Any, parse: Callable[[Any], Any], help: str) -> Any:
    """A `Settings` field: its default plus how it is read, checked and documented."""
    return field(default=default, metadata={"spec": SettingSpec(key, default, parse, help)})


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    """Every setting, typed and validated once by `load_settings` (bounds keep a huge value
    from overflowing a date or a timer later). Adding a setting is adding a field here."""

    amfi_navall_url: str = _setting(
        "amfi.navall_url", "https://portal.amfiindia.com/spages/NAVAll.txt", _url,
        "AMFI's daily all-schemes NAV file")
    amfi_history_url: str = _setting(
        "amfi.history_url", "https://portal.amfiindia.com/DownloadNAVHistoryReport_Po.aspx",
        _url, "AMFI's NAV history report")
    mfapi_base_url: str = _setting(
        "mfapi.base_url", "https://api.mfapi.in", _url, "mfapi.in, the fallback source")
    network_timeout: float = _setting(
        "network.timeout", 30.0, _bounded_float(0, 3600), "seconds before a request times out")
    network_retries: int = _setting(
        "network.retries", 3, _bounded_int(0, 20), "retries on transient network errors")
    network_deadline: float = _setting(
        "network.deadline", 120.0, _bounded_float(0, 86_400),
        "seconds one download may take in all, retries and their waits included")
    units_places: int = _setting(
        "units.places", 3, _bounded_int(0, 8), "decimal places of allotted units")
    units_rounding: str = _setting(
        "units.rounding", "down", _choice("down", "half_up", "half_even"),
        "how estimated units are rounded (RTAs truncate)")
    nav_fetch_on_add: str = _setting(
        "nav.fetch_on_add", "on", _choice("on", "off"),
        "add-sip fetches the scheme's NAV history from the start date (off: never online)")
    nav_stale_after_days: int = _setting(
        "nav.stale_after_days", 7, _bounded_int(1, 36_500),
        "warn when the NAV used is older than this many days")
    supabase_url: str = _setting(
        "supabase.url", "", _optional_url, "your Supabase project URL")
    supabase_anon_key: str = _setting(
        "supabase.anon_key", "", _text, "your Supabase anon (publishable) key")
    auth_token_store: str = _setting(
        "auth.token_store", "keyring", _choice("keyring", "file"),
        "where the session is kept: the OS keyring, or a 0600 file")
    sync_batch_size: int = _setting(
        "sync.batch_size", 200, _bounded_int(1, 1000), "mutations pushed per request")
    daemon_sync_interval_minutes: int = _setting(
        "daemon.sync_interval_minutes", 30, _bounded_int(1, 10_080), "minutes between syncs")
    daemon_jitter_minutes: int = _setting(
        "daemon.jitter_minutes", 10, _bounded_int(0, 720),
        "spread: this installation polls AMFI and syncs up to this many minutes late")
    logs_retention_days: int = _setting(
        "logs.retention_days", 90, _bounded_int(1, 36_500), "days of log files kept")
    # key -> "default" | config file path | env var name
    sources: Mapping[str, str] = field(default_factory=dict, compare=False)

    def value_of(self, key: str) -> Any:
        """A setting by its `section.name` key (for `config show`, which lists them all)."""
        return getattr(self, _SPECS[key].attribute)


SETTINGS: tuple[SettingSpec, ...] = tuple(
    f.metadata["spec"] for f in fields(Settings) if "spec" in f.metadata
)
_SPECS = {spec.key: spec for spec in SETTINGS}
# Short aliases documented by the auth issue: MFTRACK_TOKEN_STORE.
_ENV_ALIASES = {"MFTRACK_TOKEN_STORE": "auth.token_store"}


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
        import tomllib  # here: most runs have no config file (~2 ms of start-up, issue 10)

        try:
            raw = tomllib.loads(config_file.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(
                f"{config_file} is not valid TOML: {exc}", hint="fix or delete the file"
            ) from exc
        except OSError as exc:
            raise ConfigError(
                f"cannot read the config file {config_file}: {exc.strerror}",
                hint="make it a readable file, or delete it to use the defaults",
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
    return Settings(**{_SPECS[key].attribute: value for key, value in values.items()},
                    sources=sources)


def _parse(spec: SettingSpec, value: Any, origin: str) -> Any:
    try:
        return spec.parse(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(
            f"setting {spec.key} = {value!r} (from {origin}) {exc}",
            hint=f"set a valid value in {origin}",
        ) from exc
