"""Where the Supabase session is kept: the OS keyring, a 0600 file, or the environment.

Only a small record is stored (`StoredSession`): the refresh token, the access token and its
expiry, the user's id and email, and when this device last refreshed — never the whole
Session JSON, which does not fit a Windows credential (2,560 bytes).

* `KeyringTokenStore` (default): keyring service `mftrack`, one entry per project, the
  project URL as the user name. When no backend works (`keyring.backends.fail.Keyring`,
  `NoKeyringError`, any `KeyringError`) it raises `CredentialsError` naming the fallbacks;
  it never falls back to a file on its own.
* `FileTokenStore` (`auth.token_store = "file"` / `MFTRACK_TOKEN_STORE=file`): one JSON file
  per project under `<data dir>/auth/`, mode 0600, replaced atomically (a temp file created
  with `os.open(..., 0o600)`, then `os.replace`).
* `EnvTokenStore` (`MFTRACK_REFRESH_TOKEN` set): read-only. The refreshed pair lives in memory
  for this process; every refresh presents the variable's token again, which GoTrue answers
  with the session's active token as long as that token is its child ("parent of the active
  token" rule), so the variable keeps working on later runs.

The `refresh_token` / `access_token` fields never appear in a repr, a message or a log.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol

from mftrack.config import Paths, Settings
from mftrack.errors import CredentialsError

SERVICE = "mftrack"
REFRESH_TOKEN_ENV = "MFTRACK_REFRESH_TOKEN"
#: Windows caps a credential blob at 2,560 bytes, stored as UTF-16: stay under 1,280 chars.
#: A larger entry is stored without the access token (the next command refreshes).
MAX_KEYRING_CHARS = 1200

FALLBACK_HINT = (
    "keep the session in a file only you can read: set MFTRACK_TOKEN_STORE=file (or "
    'auth.token_store = "file" in config.toml), or give a refresh token in '
    "MFTRACK_REFRESH_TOKEN; see docs/login.md"
)


@dataclass(frozen=True, slots=True)
class StoredSession:
    """One project's session on this device. `access_token` is "" and `expires_at` 0 when
    not known (a session from MFTRACK_REFRESH_TOKEN before its first refresh)."""

    refresh_token: str
    access_token: str
    expires_at: int
    user_id: str
    email: str
    refreshed_at: float  # unix time of this device's last login or refresh

    def __repr__(self) -> str:  # tokens never shown
        return (f"StoredSession(user_id={self.user_id!r}, email={self.email!r}, "
                f"expires_at={self.expires_at}, refreshed_at={self.refreshed_at})")

    def encode(self, *, with_access_token: bool = True) -> str:
        data: dict[str, Any] = {
            "v": 1, "rt": self.refresh_token,
            "at": self.access_token if with_access_token else "",
            "exp": self.expires_at if with_access_token else 0,
            "uid": self.user_id, "email": self.email, "ts": round(self.refreshed_at, 3),
        }
        return json.dumps(data, separators=(",", ":"))

    @classmethod
    def decode(cls, text: str | None) -> StoredSession | None:
        """None for a missing or unreadable entry (then the user logs in again)."""
        if not text:
            return None
        try:
            data = json.loads(text)
            if not isinstance(data, dict) or data.get("v") != 1 or not data.get("rt"):
                return None
            return cls(refresh_token=str(data["rt"]), access_token=str(data.get("at") or ""),
                       expires_at=int(data.get("exp") or 0), user_id=str(data.get("uid") or ""),
                       email=str(data.get("email") or ""), refreshed_at=float(data.get("ts") or 0))
        except (ValueError, TypeError, KeyError):
            return None


class TokenStore(Protocol):
    kind: str  # "keyring" | "file" | "env"
    persistent: bool  # False: a rotated refresh token cannot be written back

    def describe(self) -> str: ...

    def load(self) -> StoredSession | None: ...

    def save(self, session: StoredSession) -> None: ...

    def clear(self) -> bool: ...


def project_key(url: str) -> str:
    """A short, stable, file-name-safe key for a project URL."""
    return hashlib.sha256(url.encode("utf-8")).hexdigest()[:16]


# --- keyring ---------------------------------------------------------------------------------


class KeyringTokenStore:
    kind = "keyring"
    persistent = True

    def __init__(self, project_url: str) -> None:
        self.project_url = project_url
        self._backend: Any = None

    def _keyring(self) -> Any:
        """The backend: `PYTHON_KEYRING_BACKEND` if set (read on every call), else keyring's
        own choice. Unusable backends raise CredentialsError."""
        if self._backend is not None:
            return self._backend
        import keyring
        import keyring.core
        from keyring.backends import fail, null

        chosen = os.environ.get("PYTHON_KEYRING_BACKEND")
        try:
            backend = keyring.core.load_env() if chosen else keyring.get_keyring()
        except Exception as exc:  # import error, or a backend that says it is not viable
            raise CredentialsError(
                f"the keyring backend {chosen or '(auto)'} cannot be used: "
                f"{type(exc).__name__}: {exc}", hint=FALLBACK_HINT) from exc
        if isinstance(backend, fail.Keyring | null.Keyring):
            raise CredentialsError(
                f"no usable OS keyring to keep the Supabase session in (keyring chose "
                f"{_backend_name(backend)}, which cannot store secrets)", hint=FALLBACK_HINT)
        self._backend = backend
        return backend

    def describe(self) -> str:
        try:
            name = _backend_name(self._keyring())
        except CredentialsError:
            name = "unavailable"
        return f"OS keyring ({name}), service {SERVICE!r}"

    def _call(self, action: str, fn: Any, *args: Any) -> Any:
        from keyring.errors import KeyringError

        backend = self._keyring()
        try:
            return fn(*args)
        except (KeyringError, RuntimeError, OSError) as exc:
            # Reasons come from the backend (D-Bus, Credential Manager), never the secret.
            raise CredentialsError(
                f"the OS keyring ({_backend_name(backend)}) failed to {action} the session: "
                f"{type(exc).__name__}: {exc}", hint=FALLBACK_HINT) from exc

    def load(self) -> StoredSession | None:
        backend = self._keyring()
        text = self._call("read", backend.get_password, SERVICE, self.project_url)
        return StoredSession.decode(text)

    def save(self, session: StoredSession) -> None:
        backend = self._keyring()
        text = session.encode()
        if len(text) > MAX_KEYRING_CHARS:
            text = session.encode(with_access_token=False)
        self._call("save", backend.set_password, SERVICE, self.project_url, text)
        if self._call("read", backend.get_password, SERVICE, self.project_url) != text:
            raise CredentialsError(
                f"the OS keyring ({_backend_name(backend)}) did not keep the session",
                hint=FALLBACK_HINT)

    def clear(self) -> bool:
        from keyring.errors import PasswordDeleteError

        backend = self._keyring()
        if self._call("read", backend.get_password, SERVICE, self.project_url) is None:
            return False
        try:
            self._call("delete", backend.delete_password, SERVICE, self.project_url)
        except CredentialsError as exc:
            if isinstance(exc.__cause__, PasswordDeleteError):
                return False
            raise
        return True


def _backend_name(backend: Any) -> str:
    cls = type(backend)
    return f"{cls.__module__}.{cls.__qualname__}"


# --- file ------------------------------------------------------------------------------------


class FileTokenStore:
    """A 0600 JSON file per project: `<data dir>/auth/session-<key>.json`."""

    kind = "file"
    persistent = True

    def __init__(self, path: Path, project_url: str) -> None:
        self.path = path
        self.project_url = project_url

    def describe(self) -> str:
        return f"file {self.path} (mode 0600)"

    def load(self) -> StoredSession | None:
        try:
            info = self.path.stat()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise CredentialsError(f"cannot read {self.path}: {exc.strerror}") from exc
        if os.name == "posix" and info.st_mode & 0o077:
            raise CredentialsError(
                f"{self.path} holds your session but other users may read it "
                f"(mode {info.st_mode & 0o777:o})", hint=f"run: chmod 600 {self.path}")
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(data, dict) or data.get("project") != self.project_url:
            return None
        return StoredSession.decode(json.dumps(data.get("session")))

    def save(self, session: StoredSession) -> None:
        text = json.dumps({"project": self.project_url,
                           "session": json.loads(session.encode())}, indent=1)
        folder = self.path.parent
        tmp = folder / f".{self.path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
        try:
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
            fd = os.open(tmp, flags, 0o600)
            try:
                os.write(fd, text.encode("utf-8"))
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, self.path)
        except OSError as exc:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise CredentialsError(f"cannot write the session file {self.path}: "
                                   f"{exc.strerror or exc}") from exc

    def clear(self) -> bool:
        try:
            self.path.unlink()
        except FileNotFoundError:
            return False
        except OSError as exc:
            raise CredentialsError(f"cannot delete {self.path}: {exc.strerror}") from exc
        return True


# --- environment -----------------------------------------------------------------------------


class EnvTokenStore:
    """`MFTRACK_REFRESH_TOKEN`: read-only; the refreshed pair is kept in memory only."""

    kind = "env"
    persistent = False

    def __init__(self, refresh_token: str) -> None:
        self._root = refresh_token
        self._memory: StoredSession | None = None
        self._cleared = False

    def describe(self) -> str:
        return f"the {REFRESH_TOKEN_ENV} variable (refreshed tokens kept in memory only)"

    def load(self) -> StoredSession | None:
        if self._cleared:
            return None
        if self._memory is not None:
            return self._memory
        return StoredSession(refresh_token=self._root, access_token="", expires_at=0,
                             user_id="", email="", refreshed_at=0.0)

    def save(self, session: StoredSession) -> None:
        # Keep presenting the variable's token: it stays the parent of the active one.
        self._memory = replace(session, refresh_token=self._root)
        self._cleared = False

    def clear(self) -> bool:
        self._memory = None
        self._cleared = True
        return False  # the variable itself cannot be unset from here


# --- choosing --------------------------------------------------------------------------------


def session_file(paths: Paths, project_url: str) -> Path:
    return paths.data_dir / "auth" / f"session-{project_key(project_url)}.json"


def persistent_store(settings: Settings, paths: Paths, project_url: str) -> TokenStore:
    """The configured writable store (`auth.token_store`): keyring or file."""
    if settings.auth_token_store == "file":
        return FileTokenStore(session_file(paths, project_url), project_url)
    return KeyringTokenStore(project_url)


def open_store(settings: Settings, paths: Paths, project_url: str,
               environ: dict[str, str] | None = None) -> TokenStore:
    """`MFTRACK_REFRESH_TOKEN` when set, else the configured store."""
    env = os.environ if environ is None else environ
    token = (env.get(REFRESH_TOKEN_ENV) or "").strip()
    if token:
        return EnvTokenStore(token)
    return persistent_store(settings, paths, project_url)
