"""Sync bookkeeping in the local database, on top of `LocalStore` (docs/sync.md).

The outbox is written by `LocalStore` with every SIP change; this module reads it, acknowledges
pushed entries, keeps dead letters, applies pulled pages and keeps the sync state in `meta`.
Every method that changes more than one thing does it in **one** SQLite transaction, so a
crash leaves either the old or the new state (sync-protocol.md D.6):

* `acknowledge`: dead letters + outbox deletion + the rejected rows reloaded from the server;
* `apply_page`: the page's rows + the cursor/epoch (+ the end of a reset re-pull);
* `begin_reset`: cursor back to 0 + every row marked unseen (`server_version = -1`).

The cursor is `(version, id, horizon)`: `horizon` is the tombstone-purge horizon a full pull
(one that started at version 0) began from, passed back to `sync_pull` on its later pages so
the server can tell it from a device whose cursor is behind a purge (docs/hosted-schema.md).

Pulled rows replace local ones, then the outbox entries the server has not applied yet
(`mid > page.last_mutation_id`) are laid over them field by field. Tombstones are kept as
`deleted` rows, as the server keeps them, so every device holds exactly the server's rows.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from mftrack.adapters.sqlite.store import utc_now
from mftrack.domain.sip_record import SYNCED_FIELDS
from mftrack.errors import RemoteDataError

if TYPE_CHECKING:
    from mftrack.adapters.sqlite.store import LocalStore

SYNCED_TABLE = "sips"
UNSEEN = -1  # server_version of a row not (yet) returned by a reset's full re-pull

# meta keys
CLIENT_ID = "sync.client_id"
CLIENT_FILE = "sync.client_file"  # inode of the database file the client id was made for
CURSOR_VERSION = "sync.cursor_version"
CURSOR_ID = "sync.cursor_id"
CURSOR_HORIZON = "sync.cursor_horizon"  # the purge horizon a full pull in progress started from
EPOCH = "sync.epoch"
SERVER_VERSION = "sync.server_version"
RESET = "sync.reset"  # "restore" | "purge" while a reset's full re-pull is under way
ACCOUNT = "sync.account"  # JSON {"url", "user_id"}: the account this database syncs with
LAST_RUN_AT = "sync.last_run_at"
LAST_RESULT = "sync.last_result"  # "ok" | "failed"
LAST_MESSAGE = "sync.last_message"
LAST_OK_AT = "sync.last_ok_at"

_COLUMNS = ("id", *SYNCED_FIELDS, "server_version")
_UPSERT = (
    f"insert into sips ({', '.join(_COLUMNS)}) values ({', '.join('?' * len(_COLUMNS))}) "
    "on conflict (id) do update set "
    + ", ".join(f"{c} = excluded.{c}" for c in _COLUMNS[1:])
)
_JSON_FIELDS = ("pauses", "amount_changes")
_DECIMAL_FIELDS = ("amount", "step_up_value")
_TIME_FIELDS = ("created_at", "updated_at")


@dataclass(frozen=True, slots=True)
class Mutation:
    """One outbox entry."""

    mid: int
    table: str
    row_id: str
    base_version: int
    fields: dict[str, Any]
    deleted: bool
    created_at: str = ""

    def wire(self) -> dict[str, Any]:
        """The `sync_push` shape. A negative base (a row marked unseen by a reset) is sent
        as 0: base versions only make conflicts reportable."""
        return {"mid": self.mid, "table": self.table, "id": self.row_id,
                "base_version": max(self.base_version, 0), "fields": self.fields,
                "deleted": self.deleted}


@dataclass(frozen=True, slots=True)
class DeadLetter:
    mid: int
    table: str
    row_id: str
    fields: dict[str, Any]
    deleted: bool
    code: str | None
    message: str | None
    failed_at: str

    def as_dict(self) -> dict[str, Any]:
        return {"mid": self.mid, "table": self.table, "id": self.row_id, "fields": self.fields,
                "deleted": self.deleted, "code": self.code, "message": self.message,
                "failed_at": self.failed_at}


@dataclass(frozen=True, slots=True)
class Cursor:
    version: int
    row_id: str | None
    epoch: str | None
    reset: str | None  # a reset re-pull under way: "restore" | "purge"
    horizon: int | None = None  # set while a full pull (from version 0) is under way


@dataclass(frozen=True, slots=True)
class PageResult:
    applied: int  # rows written (tombstones included)
    requeued: int  # rows the restored server lacked, queued to be created again
    dropped: int  # local rows the server no longer has (purged), deleted here


def server_record(row: Mapping[str, Any]) -> dict[str, Any]:
    """A `sync_pull`/`sync_fetch` row as a local SIP record (`id` + SYNCED_FIELDS), in the
    text forms `LocalStore` writes (decimals without exponent, ISO-8601 UTC timestamps)."""
    try:
        record: dict[str, Any] = {"id": str(uuid.UUID(str(row["id"])))}
        for name in SYNCED_FIELDS:
            record[name] = row.get(name)
        for name in _DECIMAL_FIELDS:
            if record[name] is not None:
                record[name] = format(Decimal(str(record[name])), "f")
        for name in _TIME_FIELDS:
            if record[name]:
                stamp = datetime.fromisoformat(str(record[name]).replace("Z", "+00:00"))
                record[name] = stamp.isoformat()
        for name in _JSON_FIELDS:
            if not isinstance(record[name], list):
                record[name] = []
        record["scheme_code"] = int(record["scheme_code"])
        record["sip_day"] = int(record["sip_day"])
        record["deleted"] = bool(record["deleted"])
    except (KeyError, TypeError, ValueError, InvalidOperation) as exc:
        raise RemoteDataError(f"the server sent a SIP row mftrack cannot read ({exc})") from exc
    return record


def overlay(record: dict[str, Any], pending: Iterable[Mutation]) -> dict[str, Any]:
    """Lay local changes the server has not applied yet over a server record, in mid order
    (per field; deletes are sticky)."""
    for m in pending:
        for name, value in m.fields.items():
            if name == "deleted":
                record["deleted"] = bool(record["deleted"]) or bool(value)
            elif name in SYNCED_FIELDS:
                record[name] = value
        if m.deleted:
            record["deleted"] = True
    return record


class SyncStore:
    """The sync side of one local database."""

    def __init__(self, store: LocalStore) -> None:
        self.store = store

    # --- identity and state -----------------------------------------------------------------

    def client_id(self) -> tuple[str, bool]:
        """This database's device id for `sync_push` (a uuid4 made once, kept in meta), and
        whether it was just renewed.

        The server skips mutation ids it has seen from a device, so two databases must never
        share a device id: a copy of the file (a new laptop set up by copying `mftrack.db`,
        a restored backup) would reuse the original's mids and lose its own changes. The id
        is therefore tied to the file's inode; a different inode gets a new id (its pending
        changes are then pushed as a new device's; the cursor stays valid)."""
        inode = str(self.store.path.stat().st_ino)
        with self.store.transaction() as conn:
            found = _get(conn, CLIENT_ID)
            made_for = _get(conn, CLIENT_FILE)
            if found and made_for in (None, inode):
                if made_for is None:
                    _set(conn, CLIENT_FILE, inode)
                return found, False
            made = str(uuid.uuid4())
            _set(conn, CLIENT_ID, made)
            _set(conn, CLIENT_FILE, inode)
            return made, found is not None

    def meta(self) -> dict[str, str]:
        with self.store.reading() as conn:
            rows = conn.execute(
                "select key, value from meta where key like 'sync.%'").fetchall()
        return {key: value for key, value in rows}

    def cursor(self) -> Cursor:
        meta = self.meta()
        horizon = meta.get(CURSOR_HORIZON)
        return Cursor(version=int(meta.get(CURSOR_VERSION, "0")),
                      row_id=meta.get(CURSOR_ID) or None,
                      epoch=meta.get(EPOCH) or None, reset=meta.get(RESET) or None,
                      horizon=int(horizon) if horizon else None)

    def account(self) -> dict[str, str] | None:
        text = self.meta().get(ACCOUNT)
        return json.loads(text) if text else None

    def bind_account(self, url: str, user_id: str) -> None:
        with self.store.transaction() as conn:
            _set(conn, ACCOUNT, json.dumps({"url": url, "user_id": user_id}))

    def record_run(self, *, ok: bool, message: str) -> None:
        """The last run's time and outcome, for `mftrack sync status` (never a secret)."""
        now = utc_now()
        with self.store.transaction() as conn:
            _set(conn, LAST_RUN_AT, now)
            _set(conn, LAST_RESULT, "ok" if ok else "failed")
            _set(conn, LAST_MESSAGE, message[:1000])
            if ok:
                _set(conn, LAST_OK_AT, now)

    # --- the outbox ----------------------------------------------------------------------

    def pending(self, limit: int | None = None) -> list[Mutation]:
        """Outbox entries, oldest first."""
        sql = ("select mid, table_name, row_id, base_version, fields, deleted, created_at "
               "from outbox order by mid")
        params: tuple[Any, ...] = ()
        if limit is not None:
            sql += " limit ?"
            params = (limit,)
        with self.store.reading() as conn:
            return [_mutation(row) for row in conn.execute(sql, params).fetchall()]

    def pending_count(self) -> int:
        with self.store.reading() as conn:
            return int(conn.execute("select count(*) from outbox").fetchone()[0])

    def dead_letters(self) -> list[DeadLetter]:
        with self.store.reading() as conn:
            rows = conn.execute(
                "select mid, table_name, row_id, fields, deleted, code, message, failed_at "
                "from dead_letters order by mid").fetchall()
        return [DeadLetter(mid=r[0], table=r[1], row_id=r[2], fields=_fields(r[3]),
                           deleted=bool(r[4]), code=r[5], message=r[6], failed_at=r[7])
                for r in rows]

    def acknowledge(self, *, last_mutation_id: int, rejected: Sequence[Mapping[str, Any]],
                    fetched: Sequence[Mapping[str, Any]]) -> int:
        """After a `sync_push` answer, in one transaction: move `rejected` entries to the dead
        letters, delete every outbox entry with `mid <= last_mutation_id`, and reset the
        rejected rows to the server's copies in `fetched` (with later local changes laid on
        top; a rejected create the server does not have is deleted). Returns the number of
        dead letters written."""
        now = utc_now()
        ids = {str(r.get("id")) for r in rejected if r.get("table") == SYNCED_TABLE}
        with self.store.transaction() as conn:
            written = 0
            for item in rejected:
                cursor = conn.execute(
                    "insert or replace into dead_letters (mid, table_name, row_id, "
                    "base_version, fields, deleted, code, message, failed_at) "
                    "select mid, table_name, row_id, base_version, fields, deleted, ?, ?, ? "
                    "from outbox where mid = ?",
                    (str(item.get("code") or "")[:16] or None,
                     str(item.get("message") or "")[:2000], now, int(item["mid"])))
                written += max(cursor.rowcount, 0)
            conn.execute("delete from outbox where mid <= ?", (last_mutation_id,))
            if ids:
                pending = _pending_by_row(conn, last_mutation_id, ids)
                got = _apply_rows(conn, fetched, pending)
                for row_id in ids - got:
                    if row_id not in pending:
                        conn.execute("delete from sips where id = ?", (row_id,))
        return written

    # --- pulling --------------------------------------------------------------------------

    def begin_reset(self, *, mode: str, epoch: str | None) -> None:
        """The server asked for a full re-pull: cursor to (0, none), the new epoch, and every
        local row marked unseen, in one transaction (an interrupted re-pull resumes)."""
        with self.store.transaction() as conn:
            if _get(conn, RESET) == "restore":
                mode = "restore"
            _set(conn, RESET, mode)
            _set(conn, CURSOR_VERSION, "0")
            _delete(conn, CURSOR_ID)
            _delete(conn, CURSOR_HORIZON)
            _set_or_delete(conn, EPOCH, epoch)
            conn.execute("update sips set server_version = ?", (UNSEEN,))

    def apply_page(self, page: Mapping[str, Any]) -> PageResult:
        """One `sync_pull` page and its cursor, in one transaction."""
        rows = [r for r in page["rows"] if r.get("table", SYNCED_TABLE) == SYNCED_TABLE]
        cursor = page["cursor"]
        with self.store.transaction() as conn:
            ids = {str(r.get("id")) for r in rows}
            pending = _pending_by_row(conn, int(page["last_mutation_id"]), ids)
            _apply_rows(conn, rows, pending)
            _set(conn, CURSOR_VERSION, str(int(cursor["version"])))
            _set_or_delete(conn, CURSOR_ID, cursor.get("id"))
            _set_or_delete(conn, CURSOR_HORIZON, cursor.get("horizon"))
            _set_or_delete(conn, EPOCH, page.get("epoch"))
            _set(conn, SERVER_VERSION, str(int(page["server_version"])))
            requeued = dropped = 0
            if not page["has_more"]:
                requeued, dropped = _finish_pull(conn)
        return PageResult(applied=len(rows), requeued=requeued, dropped=dropped)


# --- helpers (all inside a caller's transaction) --------------------------------------------


def _get(conn: sqlite3.Connection, key: str) -> str | None:
    row = conn.execute("select value from meta where key = ?", (key,)).fetchone()
    return row[0] if row else None


def _set(conn: sqlite3.Connection, key: str, value: str) -> None:
    conn.execute(
        "insert into meta (key, value) values (?, ?) "
        "on conflict (key) do update set value = excluded.value", (key, value))


def _delete(conn: sqlite3.Connection, key: str) -> None:
    conn.execute("delete from meta where key = ?", (key,))


def _set_or_delete(conn: sqlite3.Connection, key: str, value: Any) -> None:
    if value is None or value == "":
        _delete(conn, key)
    else:
        _set(conn, key, str(value))


def _fields(text: str | None) -> dict[str, Any]:
    value = json.loads(text or "{}")
    return value if isinstance(value, dict) else {}


def _mutation(row: Sequence[Any]) -> Mutation:
    return Mutation(mid=int(row[0]), table=row[1], row_id=row[2], base_version=int(row[3]),
                    fields=_fields(row[4]), deleted=bool(row[5]),
                    created_at=row[6] if len(row) > 6 else "")


def _pending_by_row(conn: sqlite3.Connection, after_mid: int,
                    ids: Iterable[str]) -> dict[str, list[Mutation]]:
    """Outbox entries with `mid > after_mid` for these rows, grouped by row, in mid order."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    rows = conn.execute(
        "select mid, table_name, row_id, base_version, fields, deleted from outbox "
        "where mid > ? and table_name = ? and row_id in (select value from json_each(?)) "
        "order by mid", (after_mid, SYNCED_TABLE, json.dumps(wanted))).fetchall()
    grouped: dict[str, list[Mutation]] = {}
    for row in rows:
        grouped.setdefault(row[2], []).append(_mutation(row))
    return grouped


def _apply_rows(conn: sqlite3.Connection, rows: Iterable[Mapping[str, Any]],
                pending: Mapping[str, list[Mutation]]) -> set[str]:
    """Upsert server rows (with pending local changes on top); the ids written."""
    values = []
    for row in rows:
        record = overlay(server_record(row), pending.get(str(row.get("id")), ()))
        version = int(row["version"])
        values.append((*(_column_value(name, record[name]) for name in _COLUMNS[:-1]),
                       version))
    if values:
        conn.executemany(_UPSERT, values)
    return {v[0] for v in values}


def _column_value(name: str, value: Any) -> Any:
    if name in _JSON_FIELDS:
        return json.dumps(value if value is not None else [])
    if name == "deleted":
        return 1 if value else 0
    return value


def _finish_pull(conn: sqlite3.Connection) -> tuple[int, int]:
    """After the last page: settle local rows the server does not have (a reset's unseen
    rows, and rows never seen on the server without pending changes). Returns (queued again,
    deleted)."""
    mode = _get(conn, RESET)
    requeued = dropped = 0
    if mode:
        requeued, dropped = _settle(conn, UNSEEN, restore=mode == "restore")
        _delete(conn, RESET)
    # Never seen on the server and nothing left to push: a local tombstone of a row the server
    # never had (a delete after a refused create) goes; a live row is pushed again.
    more_requeued, more_dropped = _settle(conn, 0, restore=True)
    return requeued + more_requeued, dropped + more_dropped


def _settle(conn: sqlite3.Connection, marker: int, *, restore: bool) -> tuple[int, int]:
    """Rows at `server_version = marker`, which the server did not return, are local-only.
    With pending changes they stay (the next push sends them). Otherwise, with `restore`
    (after a restore: epoch rotated or the server's version went back) a live row is queued to
    be created again, so a backup does not lose what devices still hold; after a tombstone
    purge, or for a local tombstone, the row is deleted here too."""
    unseen = conn.execute(
        f"select {', '.join(_COLUMNS[:-1])} from sips where server_version = ? "
        "and id not in (select row_id from outbox where table_name = ?)",
        (marker, SYNCED_TABLE)).fetchall()
    if marker != 0:
        conn.execute(
            "update sips set server_version = 0 where server_version = ?", (marker,))
    requeued = dropped = 0
    now = utc_now()
    for row in unseen:
        record = dict(zip(_COLUMNS[:-1], row, strict=True))
        row_id = record.pop("id")
        if restore and not record["deleted"]:
            for name in _JSON_FIELDS:
                record[name] = json.loads(record[name] or "[]")
            record["deleted"] = False
            conn.execute(
                "insert into outbox (table_name, row_id, base_version, fields, deleted, "
                "created_at) values (?, ?, 0, ?, 0, ?)",
                (SYNCED_TABLE, row_id, json.dumps(record, sort_keys=True), now))
            requeued += 1
        else:
            conn.execute("delete from sips where id = ?", (row_id,))
            dropped += 1
    return requeued, dropped
