"""The SIP record: a flat, JSON-safe dict of a `Sip`, the same shape locally and on the server.

Field names match docs/architecture.md and the hosted `public.sips` table. Decimals travel as
strings, dates as ISO `YYYY-MM-DD`, timestamps as ISO-8601 UTC, lists as JSON lists.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from mftrack.domain.sips import AmountChange, Pause, Sip, StepUp, StepUpKind

# Fields a device may change and sync, in a stable order.
SYNCED_FIELDS: tuple[str, ...] = (
    "scheme_code",
    "amount",
    "start_date",
    "sip_day",
    "end_date",
    "step_up_kind",
    "step_up_value",
    "pauses",
    "amount_changes",
    "label",
    "created_at",
    "updated_at",
    "deleted",
)


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


def _date(value: Any) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def _timestamp(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def _decimal_text(value: Decimal) -> str:
    # Canonical text without exponent, so "5E+3" never reaches the database or the server.
    return format(value, "f")


def sip_to_record(sip: Sip) -> dict[str, Any]:
    """Every synced field of `sip` as JSON-safe values (plus `id`)."""
    return {
        "id": sip.id,
        "scheme_code": sip.scheme_code,
        "amount": _decimal_text(sip.amount),
        "start_date": sip.start_date.isoformat(),
        "sip_day": sip.day,
        "end_date": _iso(sip.end_date),
        "step_up_kind": sip.step_up.kind.value if sip.step_up else None,
        "step_up_value": _decimal_text(sip.step_up.value) if sip.step_up else None,
        "pauses": [{"start": p.start.isoformat(), "end": _iso(p.end)} for p in sip.pauses],
        "amount_changes": [
            {"effective": c.effective.isoformat(), "amount": _decimal_text(c.amount)}
            for c in sip.amount_changes
        ],
        "label": sip.label,
        "created_at": sip.created_at.isoformat() if sip.created_at else None,
        "updated_at": sip.updated_at.isoformat() if sip.updated_at else None,
        "deleted": bool(sip.deleted),
    }


def sip_from_record(record: dict[str, Any]) -> Sip:
    """Rebuild a `Sip` from a record (local row decoded, or a server row)."""
    kind = record.get("step_up_kind")
    step_up = (
        StepUp(StepUpKind(kind), Decimal(str(record["step_up_value"])))
        if kind and record.get("step_up_value") is not None
        else None
    )
    start = _date(record["start_date"])
    assert start is not None
    return Sip(
        id=str(record["id"]),
        scheme_code=int(record["scheme_code"]),
        amount=Decimal(str(record["amount"])),
        start_date=start,
        day=int(record["sip_day"]),
        end_date=_date(record.get("end_date")),
        step_up=step_up,
        pauses=tuple(
            Pause(start=_date(p["start"]) or start, end=_date(p.get("end")))
            for p in record.get("pauses") or []
        ),
        amount_changes=tuple(
            AmountChange(effective=_date(c["effective"]) or start, amount=Decimal(str(c["amount"])))
            for c in record.get("amount_changes") or []
        ),
        label=record.get("label"),
        created_at=_timestamp(record.get("created_at")),
        updated_at=_timestamp(record.get("updated_at")),
        deleted=bool(record.get("deleted")),
    )


def changed_fields(before: Sip, after: Sip) -> dict[str, Any]:
    """The synced fields whose record values differ between two versions of a SIP."""
    old, new = sip_to_record(before), sip_to_record(after)
    return {name: new[name] for name in SYNCED_FIELDS if old[name] != new[name]}
