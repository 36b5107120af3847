"""The one error tree of mftrack (stdlib only).

Each error is named after what the user must do about it, carries a one-line message and an
optional hint, and is shown without a traceback. Exit codes are assigned in `mftrack.cli.errors`.
Adapters translate third-party exceptions into these with `raise ... from exc`.
"""

from __future__ import annotations


class MftrackError(Exception):
    """A failure we expected and can explain; shown without a traceback."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class InvalidInputError(MftrackError):
    """A value the user gave is not acceptable (bad date, negative amount...)."""


class NotFoundError(MftrackError):
    """A scheme, SIP or file does not exist."""


class AmbiguousError(MftrackError):
    """A search phrase matched more than one thing; the user must pick one."""

    def __init__(self, message: str, *, candidates: list[str], hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.candidates = candidates


class NetworkError(MftrackError):
    """A remote service (AMFI, mfapi.in, Supabase) could not be reached; safe to retry later."""


class UnreachableError(NetworkError):
    """Not even a connection could be made (name not resolved, refused, no route): every other
    request to that host in this run would fail the same way, so callers stop asking it."""


class RemoteDataError(MftrackError):
    """A remote service or file answered with data we cannot understand (HTML, unknown header)."""


class ConfigError(MftrackError):
    """The config file or an MFTRACK_* variable is invalid or missing."""


class StorageError(MftrackError):
    """The local database is locked, corrupt, or was written by a newer mftrack."""


class LoginRequiredError(MftrackError):
    """There is no usable Supabase session; the user must run `mftrack login`."""


class CredentialsError(MftrackError):
    """A secret store is unavailable or a credential was rejected."""


class BusyError(MftrackError):
    """Another mftrack process holds a lock this command needs (daemon, sync)."""
