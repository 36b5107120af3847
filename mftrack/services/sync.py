"""Sync with the user's Supabase project: push the outbox, pull the other devices' changes.

`sync_now` is the one code path for `mftrack sync` and the daemon's sync job. One run, under a
non-blocking file lock (`SyncBusy` when another sync holds it):

1. **Push** the outbox (SIP and transaction changes alike) oldest first in batches of
   `sync.batch_size` (`sync_push`). For each
   answer, rejected mutations' rows are fetched from the server (`sync_fetch`) and then, in one
   SQLite transaction, the rejected entries become dead letters, everything up to the answer's
   `last_mutation_id` leaves the outbox, and the rejected rows take the server's state.
2. **Pull** pages from the cursor kept in `meta` (`sync_pull` with this device's client id),
   each page applied with its cursor in one transaction. `reset` starts a full re-pull; after
   a restore, rows the server lost are queued again and pushed in the same run.

Transient trouble (network, 429, 5xx) raises `NetworkError` at once: the outbox and cursor are
as the last committed step left them, and the next run carries on (every step is idempotent
on the server). Protocol details: docs/sync.md and docs/hosted-schema.md.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from mftrack.errors import BusyError, ConfigError, MftrackError, RemoteDataError, StorageError

if TYPE_CHECKING:
    from mftrack.adapters.sqlite.store import LocalStore
    from mftrack.adapters.sqlite.sync_store import DeadLetter, Mutation, SyncStore
    from mftrack.adapters.supabase.rest import SupabaseRest
    from mftrack.adapters.supabase.session import SessionManager
    from mftrack.config import Paths, Settings

PAGE_SIZE = 500  # rows per sync_pull page (the server allows up to 1000)
MAX_ROUNDS = 3  # push+pull rounds per run (a restore re-queues rows: one more round)


class SyncBusy(BusyError):
    """Another sync of this database is running (an overlapping cron run): not an error for
    `mftrack sync`, which exits 0."""


@dataclass
class SyncReport:
    """What one run did."""

    pushed: int = 0  # outbox entries the server acknowledged (rejected ones included)
    rejected: int = 0  # of those, refused by the server and kept as dead letters
    conflicts: int = 0  # acknowledged entries whose row another device had changed
    pulled: int = 0  # rows received and applied (tombstones included)
    pages: int = 0
    requests: int = 0  # RPC requests (a refresh is not counted)
    reset: str | None = None  # "restore" | "purge" when the server asked for a full re-pull
    requeued: int = 0  # rows a restored server lacked, pushed again
    dropped: int = 0  # local rows the server no longer has (purged tombstones), deleted
    server_version: int = 0
    pending: int = 0  # outbox entries left (changes made while syncing)
    new_device_id: bool = False  # the database file was copied/restored: a new device id
    seconds: float = 0.0

    def summary(self) -> str:
        parts = [f"pushed {self.pushed}", f"pulled {self.pulled}"]
        if self.rejected:
            parts.append(f"{self.rejected} rejected (see `mftrack sync status`)")
        if self.conflicts:
            parts.append(f"{self.conflicts} conflicting (merged per field)")
        if self.reset:
            parts.append(f"full re-pull after a {self.reset}")
        if self.requeued:
            parts.append(f"{self.requeued} restored on the server")
        if self.dropped:
            parts.append(f"{self.dropped} purged")
        if self.new_device_id:
            parts.append("new device id (the database was copied or restored)")
        return ", ".join(parts)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class SyncProgress:
    stage: str  # "push" | "pull"
    report: SyncReport


@dataclass(frozen=True, slots=True)
class SyncStatus:
    client_id: str | None
    pending: int
    pending_by_table: dict[str, int]  # {"sips": n, "transactions": m}
    dead_letters: list[DeadLetter]
    last_run_at: str | None
    last_result: str | None
    last_message: str | None
    last_ok_at: str | None
    server_version: int | None
    cursor_version: int
    cursor_id: str | None
    cursor_horizon: int | None  # set while a full pull is under way (docs/hosted-schema.md)
    epoch: str | None
    reset_in_progress: str | None
    account: dict[str, str] | None

    def as_dict(self) -> dict[str, Any]:
        data = {name: getattr(self, name) for name in self.__slots__}
        data["dead_letters"] = [d.as_dict() for d in self.dead_letters]
        return data


def sync_now(
    *,
    store: LocalStore,
    settings: Settings,
    paths: Paths,
    session: SessionManager | None = None,
    page_size: int = PAGE_SIZE,
    progress: Callable[[SyncProgress], None] | None = None,
    warn: Callable[[str], None] | None = None,
) -> SyncReport:
    """Push this database's outbox and pull the other devices' changes (see module docs).

    Raises `SyncBusy` (another sync runs), `ConfigError` (Supabase not configured, or this
    database syncs with another account), `LoginRequiredError`, `NetworkError` (retry later),
    `RemoteDataError`, `CredentialsError`; the outcome is recorded for `sync_status`.
    """
    from mftrack.adapters.sqlite.sync_store import SyncStore

    sync = SyncStore(store)
    with _sync_lock(paths):
        started = time.monotonic()
        try:
            report = _run(sync, settings=settings, paths=paths, session=session,
                          page_size=page_size, progress=progress, warn=warn)
        except MftrackError as exc:
            _record_failure(sync, f"{type(exc).__name__}: {exc.message}")
            raise
        except Exception as exc:
            _record_failure(sync, f"unexpected {type(exc).__name__}")
            raise
        report.seconds = round(time.monotonic() - started, 3)
        report.pending = sync.pending_count()
        sync.record_run(ok=True, message=report.summary())
    return report


def _record_failure(sync: SyncStore, message: str) -> None:
    """Best effort: a database too busy to record the failure must not hide the failure."""
    with contextlib.suppress(StorageError):
        sync.record_run(ok=False, message=message)


@contextmanager
def _sync_lock(paths: Paths) -> Iterator[None]:
    from filelock import FileLock, Timeout

    path = paths.lock_dir / "sync.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(path), blocking=False)
    try:
        lock.acquire()
    except Timeout as exc:
        raise SyncBusy("another sync is running", hint=f"lock: {path}") from exc
    try:
        yield
    finally:
        lock.release()


sync_lock = _sync_lock  # also held by `restore-sip`, so no push races an undone removal


def _run(sync: SyncStore, *, settings: Settings, paths: Paths,
         session: SessionManager | None, page_size: int,
         progress: Callable[[SyncProgress], None] | None,
         warn: Callable[[str], None] | None) -> SyncReport:
    from mftrack.adapters.supabase.rest import SupabaseRest
    from mftrack.adapters.supabase.session import SessionManager

    manager = session or SessionManager(settings, paths, warn=warn)
    _check_account(sync, manager)
    client_id, renewed = sync.client_id()
    report = SyncReport(new_device_id=renewed)
    if renewed and warn is not None:
        warn("this database was copied or restored from a backup: it syncs as a new device "
             "from now on (its queued changes are pushed again)")

    def tell(stage: str) -> None:
        if progress is not None:
            progress(SyncProgress(stage, report))

    with SupabaseRest(manager, timeout=float(settings.network_timeout)) as rest:
        try:
            for _ in range(MAX_ROUNDS):
                _push(sync, rest, client_id, int(settings.sync_batch_size), report, tell)
                if not _pull(sync, rest, client_id, page_size, report, tell):
                    break
        finally:
            report.requests = rest.requests
    return report


def _check_account(sync: SyncStore, manager: SessionManager) -> None:
    """A database syncs with one account of one project: refuse to mix two."""
    user_id = manager.user_id
    url = manager.project.url
    bound = sync.account()
    if bound is None:
        sync.bind_account(url, user_id)
        return
    if bound.get("url") != url or bound.get("user_id") != user_id:
        raise ConfigError(
            f"this database syncs with account {bound.get('user_id')} at {bound.get('url')}, "
            f"but you are logged in as {manager.email or user_id} at {url}",
            hint="log in to that account again (`mftrack login`), or use another data folder "
                 "(MFTRACK_HOME) for the other account")


def _push(sync: SyncStore, rest: SupabaseRest, client_id: str, batch_size: int,
          report: SyncReport, tell: Callable[[str], None]) -> None:
    acked = 0
    while True:
        batch = sync.pending(limit=batch_size)
        if not batch:
            return
        _check_server_tables(sync, rest, {m.table for m in batch})
        if batch[0].mid <= acked:
            raise RemoteDataError("the server acknowledged a push without taking it "
                                  f"(mid {batch[0].mid} is still queued)")
        answer = rest.push(client_id, [m.wire() for m in batch])
        acked = int(answer["last_mutation_id"])
        if acked < batch[-1].mid:
            raise RemoteDataError(f"the server acknowledged mutations up to {acked} only, "
                                  f"after a push up to {batch[-1].mid}")
        rejected = _rejected(answer["rejected"], batch)
        fetched = _fetch_rejected(rest, rejected)
        report.rejected += sync.acknowledge(last_mutation_id=acked, rejected=rejected,
                                            fetched=fetched)
        report.pushed += len(batch)
        report.conflicts += len(answer["conflicts"])
        tell("push")


def _check_server_tables(sync: SyncStore, rest: SupabaseRest, tables: set[str]) -> None:
    """Before the first push of a table other than `sips` to this account, make sure the
    server has it (one `sync_fetch` with no ids, once per database). A server without the
    table would refuse every change of it, and since a refused change's mid is spent, the
    change could never be pushed again: `ConfigError` (exit 6) instead, nothing sent."""
    for table in sorted(tables - {"sips"} - sync.server_tables()):
        rest.fetch(table, [])  # 22023 "unknown table" -> ConfigError (rest.translate)
        sync.add_server_table(table)


def _rejected(items: list[Any], batch: list[Mutation]) -> list[dict[str, Any]]:
    mids = {m.mid for m in batch}
    return [item for item in items
            if isinstance(item, dict) and isinstance(item.get("mid"), int)
            and item["mid"] in mids]


def _fetch_rejected(rest: SupabaseRest, rejected: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The server's copies of the refused rows, table by table (each row names its table)."""
    from mftrack.adapters.sqlite.synced_tables import TABLES

    fetched: list[dict[str, Any]] = []
    for table in TABLES:
        ids = sorted({str(r["id"]) for r in rejected if r.get("table") == table
                      and _is_uuid(r.get("id"))})
        if ids:
            fetched.extend(rest.fetch(table, ids))
    return fetched


def _is_uuid(value: Any) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


def _pull(sync: SyncStore, rest: SupabaseRest, client_id: str, page_size: int,
          report: SyncReport, tell: Callable[[str], None]) -> int:
    """Pull until the server has nothing more; the number of rows queued again (restore)."""
    resets = requeued = 0
    while True:
        cursor = sync.cursor()
        page = rest.pull(since=cursor.version, after_id=cursor.row_id, limit=page_size,
                         epoch=cursor.epoch, client_id=client_id, horizon=cursor.horizon)
        if page["reset"]:
            resets += 1
            if resets > 2:
                raise RemoteDataError("the server keeps asking for a full re-pull")
            restored = (cursor.epoch is not None and page["epoch"] != cursor.epoch) \
                or cursor.version > page["server_version"]
            mode = "restore" if restored or cursor.reset == "restore" else "purge"
            sync.begin_reset(mode=mode, epoch=page["epoch"])
            report.reset = mode
            continue
        result = sync.apply_page(page)
        report.pulled += result.applied
        report.pages += 1
        report.requeued += result.requeued
        report.dropped += result.dropped
        report.server_version = page["server_version"]
        requeued += result.requeued
        tell("pull")
        if not page["has_more"]:
            return requeued
        if not page["rows"]:
            raise RemoteDataError("the server announced more rows but sent none")


# --- offline views: status and dry run -------------------------------------------------------


def sync_status(*, store: LocalStore) -> SyncStatus:
    """The sync state of this database (no network)."""
    from mftrack.adapters.sqlite import sync_store as ss

    sync = ss.SyncStore(store)
    meta = sync.meta()
    server = meta.get(ss.SERVER_VERSION)
    return SyncStatus(
        client_id=meta.get(ss.CLIENT_ID),
        pending=sync.pending_count(),
        pending_by_table=sync.pending_by_table(),
        dead_letters=sync.dead_letters(),
        last_run_at=meta.get(ss.LAST_RUN_AT),
        last_result=meta.get(ss.LAST_RESULT),
        last_message=meta.get(ss.LAST_MESSAGE),
        last_ok_at=meta.get(ss.LAST_OK_AT),
        server_version=int(server) if server is not None else None,
        cursor_version=int(meta.get(ss.CURSOR_VERSION, "0")),
        cursor_id=meta.get(ss.CURSOR_ID),
        cursor_horizon=int(meta[ss.CURSOR_HORIZON]) if meta.get(ss.CURSOR_HORIZON) else None,
        epoch=meta.get(ss.EPOCH),
        reset_in_progress=meta.get(ss.RESET),
        account=sync.account(),
    )


def pending_changes(*, store: LocalStore) -> list[Mutation]:
    """What the next sync would push, oldest first (no network, no lock)."""
    from mftrack.adapters.sqlite.sync_store import SyncStore

    return SyncStore(store).pending()
