"""The `transactions` table (migration 0003): the ledger's reads and writes, part of `LocalStore`.

Rows hold the transaction record of `mftrack.domain.txn_record` (decimals as canonical text,
dates ISO). Every write also queues an outbox entry with `table_name = 'transactions'` in the
same SQLite transaction, exactly as SIP writes do, so sync never misses a change (D.4, D.6).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import date
from typing import Any

from mftrack.adapters.sqlite.outbox import queue_change
from mftrack.domain.transactions import Transaction
from mftrack.domain.txn_record import SYNCED_FIELDS, txn_from_record, txn_to_record
from mftrack.errors import NotFoundError

TABLE = "transactions"
_COLUMNS = ("id", *SYNCED_FIELDS)
_SELECT = f"select {', '.join(_COLUMNS)} from {TABLE}"
_INSERT = f"insert into {TABLE} ({', '.join(_COLUMNS)}) values ({', '.join('?' * len(_COLUMNS))})"
MIN_ID_PREFIX = 4
_KEY_BATCH = 500  # import keys looked up per query (SQLite's default variable limit is 32766)


def _row_values(record: Mapping[str, Any]) -> tuple[Any, ...]:
    return tuple((1 if record[c] else 0) if c == "deleted" else record[c] for c in _COLUMNS)


def _from_row(row: Sequence[Any]) -> Transaction:
    return txn_from_record(dict(zip(_COLUMNS, row, strict=True)))


class TransactionRows:
    """Ledger methods of `LocalStore` (which provides `transaction()` and `reading()`)."""

    def transaction(self) -> AbstractContextManager[sqlite3.Connection]:  # pragma: no cover
        raise NotImplementedError

    def reading(self) -> AbstractContextManager[sqlite3.Connection]:  # pragma: no cover
        raise NotImplementedError

    def insert_transactions(self, txns: Iterable[Transaction]) -> int:
        """Insert new transactions and queue each for sync, all in one SQLite transaction
        (both legs of a switch, a whole import: all or nothing). Returns how many."""
        with self.transaction() as conn:
            return insert_rows(conn, txns)

    def save_transactions(
        self,
        *,
        insert: Iterable[Transaction] = (),
        update: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> None:
        """New rows and changed fields of existing rows (`{id: fields}`), in one SQLite
        transaction, each queued for sync (an import that also confirms estimated rows)."""
        with self.transaction() as conn:
            insert_rows(conn, insert)
            for txn_id, fields in (update or {}).items():
                update_row(conn, txn_id, dict(fields))

    def list_transactions(
        self,
        *,
        scheme_codes: Iterable[int] | None = None,
        start: date | None = None,
        end: date | None = None,
        include_deleted: bool = False,
    ) -> list[Transaction]:
        """Transactions by trade date, then creation time (then id, so the order is total);
        `start`/`end` bound the trade date, both inclusive."""
        where: list[str] = []
        params: list[Any] = []
        if scheme_codes is not None:
            codes = sorted(set(scheme_codes))
            if not codes:
                return []
            where.append(f"scheme_code in ({','.join('?' * len(codes))})")
            params.extend(codes)
        if start is not None:
            where.append("trade_date >= ?")
            params.append(start.isoformat())
        if end is not None:
            where.append("trade_date <= ?")
            params.append(end.isoformat())
        if not include_deleted:
            where.append("deleted = 0")
        sql = _SELECT + (f" where {' and '.join(where)}" if where else "")
        sql += " order by trade_date, created_at, id"
        with self.reading() as conn:
            return [_from_row(row) for row in conn.execute(sql, tuple(params)).fetchall()]

    def get_transaction(self, txn_id: str, *, include_deleted: bool = False) -> Transaction:
        """A transaction by full id or unique id prefix (at least 4 characters), as for SIPs."""
        prefix = txn_id.strip().lower()
        if len(prefix) < MIN_ID_PREFIX:
            raise NotFoundError(
                f"transaction id {txn_id!r} is too short",
                hint=f"give at least {MIN_ID_PREFIX} characters of the id",
            )
        sql = _SELECT + " where id like ? || '%'"
        if not include_deleted:
            sql += " and deleted = 0"
        with self.reading() as conn:
            rows = conn.execute(sql, (prefix,)).fetchall()
        if not rows:
            removed = "" if include_deleted else " (removed ones: `mftrack txns --removed`)"
            raise NotFoundError(
                f"no transaction with id {txn_id!r}", hint=f"`mftrack txns` lists them{removed}"
            )
        if len(rows) > 1:
            raise NotFoundError(
                f"transaction id prefix {txn_id!r} matches {len(rows)} transactions",
                hint="give more of the id",
            )
        return _from_row(rows[0])

    def update_transaction(self, txn_id: str, fields: Mapping[str, Any]) -> None:
        """Apply changed record fields to a transaction and queue them for sync, atomically."""
        if not fields:
            return
        with self.transaction() as conn:
            update_row(conn, txn_id, dict(fields))

    def cancel_pending_txn_removal(self, txn_ids: Sequence[str]) -> bool:
        """Undo removals still in the outbox: drop their outbox entries and make the rows live
        again, all or nothing. False (nothing changed) when any removal has been pushed
        already: the server's tombstones are sticky (docs/hosted-schema.md), so a pushed
        removal is final and only a new row can bring the transaction back."""
        pending = "select 1 from outbox where table_name = ? and row_id = ? and deleted = 1"
        with self.transaction() as conn:
            if not all(conn.execute(pending, (TABLE, i)).fetchone() for i in txn_ids):
                return False
            for txn_id in txn_ids:
                conn.execute(
                    "delete from outbox where table_name = ? and row_id = ? and deleted = 1",
                    (TABLE, txn_id),
                )
                conn.execute(f"update {TABLE} set deleted = 0 where id = ?", (txn_id,))
        return True

    def live_transaction_count(self) -> int:
        """Transactions not removed (the account limit of mftrack.services.limits counts
        these)."""
        with self.reading() as conn:
            return int(
                conn.execute(f"select count(*) from {TABLE} where deleted = 0").fetchone()[0]
            )

    def existing_import_keys(self, keys: Iterable[str]) -> set[str]:
        """Which of `keys` some stored transaction (removed ones included) already carries."""
        wanted = sorted(set(keys))
        found: set[str] = set()
        with self.reading() as conn:
            for batch in _batches(wanted, _KEY_BATCH):
                found.update(
                    row[0]
                    for row in conn.execute(
                        f"select import_key from {TABLE} "
                        f"where import_key in ({','.join('?' * len(batch))})",
                        tuple(batch),
                    )
                )
        return found


def _batches(items: list[str], size: int) -> Iterator[list[str]]:
    for k in range(0, len(items), size):
        yield items[k : k + size]


def insert_rows(conn: sqlite3.Connection, txns: Iterable[Transaction]) -> int:
    count = 0
    for txn in txns:
        record = txn_to_record(txn)
        conn.execute(_INSERT, _row_values(record))
        queue_change(
            conn, TABLE, txn.id, {n: record[n] for n in SYNCED_FIELDS}, deleted=txn.deleted
        )
        count += 1
    return count


def update_row(conn: sqlite3.Connection, txn_id: str, fields: dict[str, Any]) -> None:
    unknown = set(fields) - set(SYNCED_FIELDS)
    if unknown:
        raise ValueError(f"not transaction fields: {sorted(unknown)}")
    values = dict(fields)
    if "deleted" in values:
        values["deleted"] = 1 if values["deleted"] else 0
    assignments = ", ".join(f"{name} = ?" for name in values)
    cursor = conn.execute(
        f"update {TABLE} set {assignments} where id = ?", (*values.values(), txn_id)
    )
    if cursor.rowcount != 1:
        raise NotFoundError(f"no transaction with id {txn_id!r}")
    queue_change(conn, TABLE, txn_id, fields, deleted=bool(fields.get("deleted")))
