"""The synced tables as the local database holds them: one `SyncedTable` per table of
`supabase/migrations` that `sync_pull` returns (docs/hosted-schema.md "Adding another synced
table": the client half of that recipe is one entry in `TABLES`).

A row travels as its record (`mftrack.domain.sip_record`, `mftrack.domain.txn_record`): the
same field names locally and on the server. `server_record` turns a `sync_pull`/`sync_fetch`
row into the text forms the local columns hold, `overlay` lays queued local changes on it.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from mftrack.domain import sip_record, txn_record
from mftrack.errors import RemoteDataError

if TYPE_CHECKING:
    from mftrack.adapters.sqlite.sync_store import Mutation

_TIME_FIELDS = ("created_at", "updated_at")


@dataclass(frozen=True)
class SyncedTable:
    name: str  # the local and the server table, and the outbox's `table_name`
    label: str  # what one row is called in messages
    fields: tuple[str, ...]  # the record's SYNCED_FIELDS (the local columns besides id)
    decimals: tuple[str, ...]  # canonical decimal text, never an exponent
    integers: tuple[str, ...] = ("scheme_code",)
    json_lists: tuple[str, ...] = ()  # JSON text locally, JSON lists on the wire
    # A column unique locally when not null (tombstones included), and per account on the
    # server: a pulled row takes its value from any other local row holding it.
    unique: str | None = None
    columns: tuple[str, ...] = field(init=False)
    upsert: str = field(init=False)

    def __post_init__(self) -> None:
        columns = ("id", *self.fields, "server_version")
        object.__setattr__(self, "columns", columns)
        object.__setattr__(
            self,
            "upsert",
            (
                f"insert into {self.name} ({', '.join(columns)}) "
                f"values ({', '.join('?' * len(columns))}) on conflict (id) do update set "
                + ", ".join(f"{c} = excluded.{c}" for c in columns[1:])
            ),
        )

    def server_record(self, row: Mapping[str, Any]) -> dict[str, Any]:
        """A `sync_pull`/`sync_fetch` row as a local record (`id` + fields), in the text forms
        `LocalStore` writes (decimals without exponent, ISO-8601 UTC timestamps)."""
        try:
            record: dict[str, Any] = {"id": str(uuid.UUID(str(row["id"])))}
            for name in self.fields:
                record[name] = row.get(name)
            for name in self.decimals:
                if record[name] is not None:
                    record[name] = format(Decimal(str(record[name])), "f")
            for name in _TIME_FIELDS:
                if record[name]:
                    stamp = datetime.fromisoformat(str(record[name]).replace("Z", "+00:00"))
                    record[name] = stamp.isoformat()
            for name in self.json_lists:
                if not isinstance(record[name], list):
                    record[name] = []
            for name in self.integers:
                record[name] = int(record[name])
            record["deleted"] = bool(record["deleted"])
        except (KeyError, TypeError, ValueError, InvalidOperation) as exc:
            raise RemoteDataError(
                f"the server sent a {self.label} row mftrack cannot read ({exc})"
            ) from exc
        return record

    def overlay(self, record: dict[str, Any], pending: Iterable[Mutation]) -> dict[str, Any]:
        """Lay local changes the server has not applied yet over a server record, in mid
        order (per field; deletes are sticky)."""
        for m in pending:
            for name, value in m.fields.items():
                if name == "deleted":
                    record["deleted"] = bool(record["deleted"]) or bool(value)
                elif name in self.fields:
                    record[name] = value
            if m.deleted:
                record["deleted"] = True
        return record

    def column_value(self, name: str, value: Any) -> Any:
        """A record value as the local column stores it."""
        if name in self.json_lists:
            return json.dumps(value if value is not None else [])
        if name == "deleted":
            return 1 if value else 0
        return value

    def decode(self, row: Iterable[Any]) -> dict[str, Any]:
        """A local row (`columns[:-1]`) back into a record."""
        record = dict(zip(self.columns[:-1], row, strict=True))
        for name in self.json_lists:
            record[name] = json.loads(record[name] or "[]")
        record["deleted"] = bool(record["deleted"])
        return record


SIPS = SyncedTable(
    "sips",
    "SIP",
    sip_record.SYNCED_FIELDS,
    decimals=("amount", "step_up_value"),
    integers=("scheme_code", "sip_day"),
    json_lists=("pauses", "amount_changes"),
)
TRANSACTIONS = SyncedTable(
    "transactions",
    "transaction",
    txn_record.SYNCED_FIELDS,
    decimals=txn_record.DECIMAL_FIELDS,
    unique="import_key",
)
# In the order a reset or the end of a pull visits them (any order is correct).
TABLES: dict[str, SyncedTable] = {t.name: t for t in (SIPS, TRANSACTIONS)}
