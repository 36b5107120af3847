"""Queueing a change of a synced row in the outbox, inside the caller's write transaction.

The same statement for every synced table (SIPs, transactions): the entry carries the row's
`server_version` as its base, so the server can tell a conflicting edit (sync-protocol.md D.4).
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from typing import Any

# The tables whose rows sync; the name is also the outbox's `table_name` (docs/sync.md).
SYNCED_TABLES = frozenset({"sips", "transactions"})


def queue_change(
    conn: sqlite3.Connection,
    table: str,
    row_id: str,
    fields: dict[str, Any],
    *,
    deleted: bool = False,
) -> None:
    """Queue `fields` of row `row_id` of `table` for the next push (in `conn`'s transaction)."""
    if table not in SYNCED_TABLES:
        raise ValueError(f"{table!r} is not a synced table")
    # `table` is one of SYNCED_TABLES (checked above), never user text.
    row = conn.execute(f"select server_version from {table} where id = ?", (row_id,)).fetchone()
    conn.execute(
        "insert into outbox (table_name, row_id, base_version, fields, deleted, created_at) "
        "values (?, ?, ?, ?, ?, ?)",
        (
            table,
            row_id,
            row[0],
            json.dumps(fields, sort_keys=True),
            1 if deleted else 0,
            datetime.now(UTC).isoformat(timespec="microseconds"),
        ),
    )
