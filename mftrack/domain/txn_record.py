"""The transaction record: a flat, JSON-safe dict of a `Transaction`, the same shape locally
(the `transactions` table) and on the server (`public.transactions`).

Decimals travel as canonical strings (never an exponent), dates as ISO `YYYY-MM-DD`,
timestamps as ISO-8601 UTC.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from mftrack.domain.transactions import Transaction, TxnKind, TxnSource

# Fields a device may change and sync, in a stable order.
SYNCED_FIELDS: tuple[str, ...] = (
    "scheme_code",
    "kind",
    "trade_date",
    "amount",
    "units",
    "nav",
    "stamp_duty",
    "stt",
    "folio",
    "sip_id",
    "link_id",
    "source",
    "import_key",
    "note",
    "created_at",
    "updated_at",
    "deleted",
)
DECIMAL_FIELDS = ("amount", "units", "nav", "stamp_duty", "stt")


def _text(value: Decimal | None) -> str | None:
    return None if value is None else format(value, "f")


def _decimal(value: Any) -> Decimal | None:
    return None if value is None or value == "" else Decimal(str(value))


def _timestamp(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def txn_to_record(txn: Transaction) -> dict[str, Any]:
    """Every synced field of `txn` as JSON-safe values (plus `id`)."""
    return {
        "id": txn.id,
        "scheme_code": txn.scheme_code,
        "kind": txn.kind.value,
        "trade_date": txn.trade_date.isoformat(),
        **{name: _text(getattr(txn, name)) for name in DECIMAL_FIELDS},
        "folio": txn.folio,
        "sip_id": txn.sip_id,
        "link_id": txn.link_id,
        "source": txn.source.value,
        "import_key": txn.import_key,
        "note": txn.note,
        "created_at": txn.created_at.isoformat() if txn.created_at else None,
        "updated_at": txn.updated_at.isoformat() if txn.updated_at else None,
        "deleted": bool(txn.deleted),
    }


def txn_from_record(record: dict[str, Any]) -> Transaction:
    """Rebuild a `Transaction` from a record (a local row decoded, or a server row)."""
    trade = record["trade_date"]
    return Transaction(
        id=str(record["id"]),
        scheme_code=int(record["scheme_code"]),
        kind=TxnKind(record["kind"]),
        trade_date=trade if isinstance(trade, date) else date.fromisoformat(str(trade)[:10]),
        **{name: _decimal(record.get(name)) for name in DECIMAL_FIELDS},
        folio=record.get("folio"),
        sip_id=record.get("sip_id"),
        link_id=record.get("link_id"),
        source=TxnSource(record.get("source") or TxnSource.MANUAL),
        import_key=record.get("import_key"),
        note=record.get("note"),
        created_at=_timestamp(record.get("created_at")),
        updated_at=_timestamp(record.get("updated_at")),
        deleted=bool(record.get("deleted")),
    )


def changed_fields(before: Transaction, after: Transaction) -> dict[str, Any]:
    """The synced fields whose record values differ between two versions of a transaction."""
    old, new = txn_to_record(before), txn_to_record(after)
    return {name: new[name] for name in SYNCED_FIELDS if old[name] != new[name]}
