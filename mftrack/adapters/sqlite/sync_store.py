"""Sync bookkeeping in the local database, on top of `LocalStore` (docs/sync.md).

The outbox is written by `LocalStore` with every change of a synced row (SIPs, transactions:
`synced_tables.TABLES`); this module reads it, acknowledges pushed entries, keeps dead letters,
applies pulled pages and keeps the sync state in `meta`.
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
Every table is handled alike; rows of a table this version does not know are skipped.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mftrack.adapters.sqlite.store import utc_now
from mftrack.adapters.sqlite.synced_tables import TABLES, SyncedTable

if TYPE_CHECKING:
    from mftrack.adapters.sqlite.store import LocalStore

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
SERVER_TABLES = "sync.server_tables"  # JSON list: synced tables besides sips the server has


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

    def server_tables(self) -> set[str]:
        """The synced tables besides `sips` the account's server was seen to have."""
        return set(json.loads(self.meta().get(SERVER_TABLES) or "[]"))

    def add_server_table(self, table: str) -> None:
        with self.store.transaction() as conn:
            known = set(json.loads(_get(conn, SERVER_TABLES) or "[]")) | {table}
            _set(conn, SERVER_TABLES, json.dumps(sorted(known)))

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

    def pending_by_table(self) -> dict[str, int]:
        """Outbox entries per synced table (every table listed, 0 when none)."""
        with self.store.reading() as conn:
            rows = conn.execute(
                "select table_name, count(*) from outbox group by table_name").fetchall()
        return {**dict.fromkeys(TABLES, 0), **{name: int(n) for name, n in rows}}

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
            for table in TABLES.values():
                ids = {str(r.get("id")) for r in rejected if r.get("table") == table.name}
                if not ids:
                    continue
                pending = _pending_by_row(conn, table, last_mutation_id, ids)
                got = _apply_rows(conn, table, _rows_of(table, fetched), pending)
                for row_id in ids - got:
                    if row_id not in pending:  # a refused create: the server has no such row
                        conn.execute(f"delete from {table.name} where id = ?", (row_id,))
        return written

    # --- pulling --------------------------------------------------------------------------

    def begin_reset(self, *, mode: str, epoch: str | None) -> None:
        """The server asked for a full re-pull: cursor to (0, none), the new epoch, and every
        local row marked unseen, in one transaction (an interrupted re-pull resumes)."""
        with self.store.transaction() as conn:
            if _get(conn, RESET) == "restore":
                mode = "restore"
            if mode == "restore":  # a restored server may predate a table's migration
                _delete(conn, SERVER_TABLES)
            _set(conn, RESET, mode)
            _set(conn, CURSOR_VERSION, "0")
            _delete(conn, CURSOR_ID)
            _delete(conn, CURSOR_HORIZON)
            _set_or_delete(conn, EPOCH, epoch)
            for table in TABLES.values():
                conn.execute(f"update {table.name} set server_version = ?", (UNSEEN,))

    def apply_page(self, page: Mapping[str, Any]) -> PageResult:
        """One `sync_pull` page and its cursor, in one transaction."""
        cursor = page["cursor"]
        applied = 0
        with self.store.transaction() as conn:
            for table in TABLES.values():
                rows = _rows_of(table, page["rows"])
                ids = {str(r.get("id")) for r in rows}
                pending = _pending_by_row(conn, table, int(page["last_mutation_id"]), ids)
                applied += len(_apply_rows(conn, table, rows, pending))
            _set(conn, CURSOR_VERSION, str(int(cursor["version"])))
            _set_or_delete(conn, CURSOR_ID, cursor.get("id"))
            _set_or_delete(conn, CURSOR_HORIZON, cursor.get("horizon"))
            _set_or_delete(conn, EPOCH, page.get("epoch"))
            _set(conn, SERVER_VERSION, str(int(page["server_version"])))
            requeued = dropped = 0
            if not page["has_more"]:
                requeued, dropped = _finish_pull(conn)
        return PageResult(applied=applied, requeued=requeued, dropped=dropped)


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


def _rows_of(table: SyncedTable, rows: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The server rows of one table (a row without "table" is a SIP: older servers)."""
    return [r for r in rows if r.get("table", "sips") == table.name]


def _pending_by_row(conn: sqlite3.Connection, table: SyncedTable, after_mid: int,
                    ids: Iterable[str]) -> dict[str, list[Mutation]]:
    """Outbox entries of `table` with `mid > after_mid` for these rows, grouped by row, in
    mid order."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    rows = conn.execute(
        "select mid, table_name, row_id, base_version, fields, deleted from outbox "
        "where mid > ? and table_name = ? and row_id in (select value from json_each(?)) "
        "order by mid", (after_mid, table.name, json.dumps(wanted))).fetchall()
    grouped: dict[str, list[Mutation]] = {}
    for row in rows:
        grouped.setdefault(row[2], []).append(_mutation(row))
    return grouped


def _apply_rows(conn: sqlite3.Connection, table: SyncedTable, rows: Iterable[Mapping[str, Any]],
                pending: Mapping[str, list[Mutation]]) -> set[str]:
    """Upsert server rows (with pending local changes on top); the ids written."""
    records = [(table.overlay(table.server_record(row), pending.get(str(row.get("id")), ())),
                int(row["version"])) for row in rows]
    if table.unique:
        # The server keeps the column unique per account (tombstones included), so another
        # local row holding a pulled row's value is not on the server: a tombstone purged
        # there, or a duplicate made here since the last push (e.g. the same statement
        # imported on two devices), whose queued create the server will refuse (23505).
        key = table.unique
        conn.executemany(f"delete from {table.name} where {key} = ? and id <> ?",
                         [(r[key], r["id"]) for r, _ in records if r[key] is not None])
    values = [(*(table.column_value(name, record[name]) for name in table.columns[:-1]),
               version) for record, version in records]
    if values:
        conn.executemany(table.upsert, values)
    return {v[0] for v in values}


def _finish_pull(conn: sqlite3.Connection) -> tuple[int, int]:
    """After the last page: settle local rows the server does not have (a reset's unseen
    rows, and rows never seen on the server without pending changes). Returns (queued again,
    deleted)."""
    mode = _get(conn, RESET)
    requeued = dropped = 0
    for table in TABLES.values():
        if mode:
            queued, gone = _settle(conn, table, UNSEEN, restore=mode == "restore")
            requeued, dropped = requeued + queued, dropped + gone
        # Never seen on the server and nothing left to push: a local tombstone of a row the
        # server never had (a delete after a refused create) goes; a live row is pushed again.
        queued, gone = _settle(conn, table, 0, restore=True)
        requeued, dropped = requeued + queued, dropped + gone
    if mode:
        _delete(conn, RESET)
    return requeued, dropped


def _settle(conn: sqlite3.Connection, table: SyncedTable, marker: int, *,
            restore: bool) -> tuple[int, int]:
    """Rows at `server_version = marker`, which the server did not return, are local-only.
    With pending changes they stay (the next push sends them). Otherwise, with `restore`
    (after a restore: epoch rotated or the server's version went back) a live row is queued to
    be created again, so a backup does not lose what devices still hold; after a tombstone
    purge, or for a local tombstone, the row is deleted here too."""
    unseen = conn.execute(
        f"select {', '.join(table.columns[:-1])} from {table.name} where server_version = ? "
        "and id not in (select row_id from outbox where table_name = ?)",
        (marker, table.name)).fetchall()
    if marker != 0:
        conn.execute(
            f"update {table.name} set server_version = 0 where server_version = ?", (marker,))
    requeued = dropped = 0
    now = utc_now()
    for row in unseen:
        record = table.decode(row)
        row_id = record.pop("id")
        if restore and not record["deleted"]:
            conn.execute(
                "insert into outbox (table_name, row_id, base_version, fields, deleted, "
                "created_at) values (?, ?, 0, ?, 0, ?)",
                (table.name, row_id, json.dumps(record, sort_keys=True), now))
            requeued += 1
        else:
            conn.execute(f"delete from {table.name} where id = ?", (row_id,))
            dropped += 1
    return requeued, dropped
