"""Supabase adapters: GoTrue auth (`auth`), session storage (`tokens`) and the session
manager that refreshes tokens under a cross-process lock (`session`).

Importing this package is cheap: supabase-py, httpx and keyring are imported inside the
functions that use them, so offline commands and `mftrack --help` never load them.
"""

from __future__ import annotations

from dataclasses import dataclass

from mftrack.config import Settings
from mftrack.errors import ConfigError

CONFIG_HINT = (
    "set supabase.url and supabase.anon_key in config.toml ([supabase] url = \"https://"
    "<ref>.supabase.co\", anon_key = \"...\") or the variables MFTRACK_SUPABASE_URL and "
    "MFTRACK_SUPABASE_ANON_KEY; see docs/login.md"
)


@dataclass(frozen=True, slots=True)
class Project:
    """The Supabase project mftrack talks to: its URL (no trailing slash) and anon key."""

    url: str
    anon_key: str

    @property
    def auth_url(self) -> str:
        return f"{self.url}/auth/v1"

    @property
    def rest_url(self) -> str:
        return f"{self.url}/rest/v1"


def project_from_settings(settings: Settings) -> Project:
    """The configured project, or `ConfigError` saying what is missing and how to set it."""
    url = str(settings["supabase.url"] or "").strip().rstrip("/")
    key = str(settings["supabase.anon_key"] or "").strip()
    missing = [name for name, value in (("supabase.url", url), ("supabase.anon_key", key))
               if not value]
    if missing:
        raise ConfigError(
            f"Supabase is not configured: {' and '.join(missing)} "
            f"{'is' if len(missing) == 1 else 'are'} not set",
            hint=CONFIG_HINT,
        )
    return Project(url=url, anon_key=key)
