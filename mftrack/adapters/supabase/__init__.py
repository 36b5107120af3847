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


KEY_HINT = ("use the project's publishable key (sb_publishable_...) or its legacy anon key "
            "(Project Settings > API Keys); if a secret key was shared, revoke it there")


def api_key_kind(key: str) -> str:
    """`publishable`, `secret`, `anon` / `service_role` (legacy JWT keys, by their `role`
    claim, read without verifying: only the server can verify), or `unknown`.
    https://supabase.com/docs/guides/api/api-keys"""
    import base64
    import binascii
    import json

    if key.startswith("sb_publishable_"):
        return "publishable"
    if key.startswith("sb_secret_"):
        return "secret"
    parts = key.split(".")
    if len(parts) != 3:
        return "unknown"
    try:
        payload = base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4))
        role = json.loads(payload).get("role")
    except (binascii.Error, ValueError, AttributeError):
        return "unknown"
    return role if role in ("anon", "service_role") else "unknown"


def project_from_settings(settings: Settings) -> Project:
    """The configured project, or `ConfigError` saying what is missing and how to set it, or
    that the key is a secret/service_role key: those bypass Row Level Security and must never
    be on a user's machine, so mftrack refuses to send them anywhere."""
    url = str(settings.supabase_url or "").strip().rstrip("/")
    key = str(settings.supabase_anon_key or "").strip()
    missing = [name for name, value in (("supabase.url", url), ("supabase.anon_key", key))
               if not value]
    if missing:
        raise ConfigError(
            f"Supabase is not configured: {' and '.join(missing)} "
            f"{'is' if len(missing) == 1 else 'are'} not set",
            hint=CONFIG_HINT,
        )
    kind = api_key_kind(key)
    if kind in ("secret", "service_role"):
        what = "a secret key (sb_secret_...)" if kind == "secret" else "the service_role key"
        raise ConfigError(f"supabase.anon_key holds {what}, which bypasses Row Level Security "
                          "and must never be configured on a user's machine", hint=KEY_HINT)
    return Project(url=url, anon_key=key)
