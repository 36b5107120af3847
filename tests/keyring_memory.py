"""keyring backends for tests, chosen with `PYTHON_KEYRING_BACKEND`:

* `tests.keyring_memory.MemoryKeyring`: a dict in this process (`MemoryKeyring.reset()`).
* `tests.keyring_memory.FileKeyring`: a JSON file at `$MFTRACK_TEST_KEYRING_FILE`, so that
  several real processes share one "keyring" (writes are atomic replaces).
* `tests.keyring_memory.BrokenKeyring`: every call raises `KeyringError` (a locked or
  unreachable Secret Service).

A child process can import these when it runs with cwd = the repository (`run_subprocess`).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from keyring.backend import KeyringBackend
from keyring.errors import KeyringError, PasswordDeleteError

FILE_ENV = "MFTRACK_TEST_KEYRING_FILE"


class MemoryKeyring(KeyringBackend):
    priority = 1  # type: ignore[assignment]
    _entries: dict[tuple[str, str], str] = {}  # noqa: RUF012 - shared by every instance

    @classmethod
    def reset(cls) -> None:
        cls._entries.clear()

    @classmethod
    def entries(cls) -> dict[tuple[str, str], str]:
        return dict(cls._entries)

    def get_password(self, service: str, username: str) -> str | None:
        return self._entries.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self._entries[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if self._entries.pop((service, username), None) is None:
            raise PasswordDeleteError("no such password")


class FileKeyring(KeyringBackend):
    priority = 1  # type: ignore[assignment]

    @staticmethod
    def path() -> Path:
        return Path(os.environ[FILE_ENV])

    @classmethod
    def read_all(cls) -> dict[str, str]:
        try:
            return dict(json.loads(cls.path().read_text(encoding="utf-8")))
        except FileNotFoundError:
            return {}

    @classmethod
    def _write_all(cls, data: dict[str, str]) -> None:
        path = cls.path()
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(data), encoding="utf-8")
        os.replace(tmp, path)

    def get_password(self, service: str, username: str) -> str | None:
        return self.read_all().get(f"{service}|{username}")

    def set_password(self, service: str, username: str, password: str) -> None:
        data = self.read_all()
        data[f"{service}|{username}"] = password
        self._write_all(data)

    def delete_password(self, service: str, username: str) -> None:
        data = self.read_all()
        if data.pop(f"{service}|{username}", None) is None:
            raise PasswordDeleteError("no such password")
        self._write_all(data)


class BrokenKeyring(KeyringBackend):
    priority = 1  # type: ignore[assignment]

    def get_password(self, service: str, username: str) -> str | None:
        raise KeyringError("the collection is locked")

    def set_password(self, service: str, username: str, password: str) -> None:
        raise KeyringError("the collection is locked")

    def delete_password(self, service: str, username: str) -> None:
        raise KeyringError("the collection is locked")
