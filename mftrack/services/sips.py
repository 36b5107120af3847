"""Recording and changing SIPs. Every change is one transaction that also queues it for sync."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING

from mftrack.domain.sip_record import changed_fields
from mftrack.domain.sips import AmountChange, Pause, Sip, StepUp, StepUpKind
from mftrack.errors import InvalidInputError

if TYPE_CHECKING:
    from mftrack.adapters.sqlite.store import LocalStore

MAX_AMOUNT = Decimal("100000000")  # ₹10 crore a month: anything above is a typo
MAX_LABEL = 500  # the hosted schema's limit (docs/hosted-schema.md), so sync never rejects it


def clean_label(label: str | None) -> str | None:
    if label is None:
        return None
    text = " ".join(label.split())
    if len(text) > MAX_LABEL:
        raise InvalidInputError(f"--label is {len(text)} characters; at most {MAX_LABEL}")
    return text or None


def parse_amount(text: str | Decimal, *, what: str = "amount") -> Decimal:
    """Rupees with at most two decimals, positive (commas and a leading ₹ are allowed)."""
    raw = str(text).strip().replace(",", "").removeprefix("₹").strip()
    try:
        amount = Decimal(raw)
    except InvalidOperation as exc:
        raise InvalidInputError(
            f"{what} {text!r} is not a number", hint="e.g. --amount 5000"
        ) from exc
    if not amount.is_finite() or amount <= 0:
        raise InvalidInputError(f"{what} must be more than zero, got {text!r}")
    if amount != amount.quantize(Decimal("0.01")):
        raise InvalidInputError(f"{what} {text!r} has fractions of a paisa")
    if amount > MAX_AMOUNT:
        raise InvalidInputError(f"{what} {text!r} is implausibly large")
    return amount.quantize(Decimal("0.01"))


def parse_step_up(text: str | None) -> StepUp | None:
    """`10%` (percent a year) or `500` (rupees a year); None or empty for no step-up."""
    if text is None or not text.strip():
        return None
    raw = text.strip()
    if raw.endswith("%"):
        try:
            value = Decimal(raw[:-1])
        except InvalidOperation as exc:
            raise InvalidInputError(f"step-up {text!r} is not a percentage") from exc
        if not value.is_finite() or value <= 0 or value > 100:
            raise InvalidInputError(f"step-up {text!r} must be between 0% and 100%")
        return StepUp(StepUpKind.PERCENT, value)
    return StepUp(StepUpKind.AMOUNT, parse_amount(raw, what="step-up"))


def _check_day(day: int) -> int:
    if not 1 <= day <= 31:
        raise InvalidInputError(f"--day must be from 1 to 31, got {day}")
    return day


def _now() -> datetime:
    return datetime.now(UTC)


def add_sip(
    *,
    store: LocalStore,
    scheme_code: int,
    amount: Decimal,
    start: date,
    day: int | None = None,
    end: date | None = None,
    step_up: StepUp | None = None,
    label: str | None = None,
) -> Sip:
    if end is not None and end < start:
        raise InvalidInputError(f"--end {end} is before --start {start}")
    now = _now()
    sip = Sip(
        id=str(uuid.uuid4()),
        scheme_code=scheme_code,
        amount=amount.quantize(Decimal("0.01")),
        start_date=start,
        day=_check_day(day if day is not None else start.day),
        end_date=end,
        step_up=step_up,
        label=clean_label(label),
        created_at=now,
        updated_at=now,
    )
    store.insert_sip(sip)
    return sip


def _save(store: LocalStore, before: Sip, after: Sip) -> Sip:
    after = replace(after, updated_at=_now())
    fields = changed_fields(before, after)
    if set(fields) - {"updated_at"}:
        store.update_sip(before.id, fields)
        return after
    return before


def edit_sip(
    *,
    store: LocalStore,
    sip_id: str,
    today: date,
    amount: Decimal | None = None,
    effective: date | None = None,
    day: int | None = None,
    end: date | None = None,
    clear_end: bool = False,
    step_up: StepUp | None = None,
    clear_step_up: bool = False,
    label: str | None = None,
) -> Sip:
    """Change a SIP. A new amount applies from `effective` (default: today) onwards, so past
    instalments keep the amount that was really invested."""
    if end is not None and clear_end:
        raise InvalidInputError("--end and --no-end contradict each other")
    if step_up is not None and clear_step_up:
        raise InvalidInputError("--step-up and --no-step-up contradict each other")
    sip = store.get_sip(sip_id)
    updated = sip
    if amount is not None:
        when = effective or today
        if when < sip.start_date:
            when = sip.start_date
        changes = [c for c in sip.amount_changes if c.effective != when]
        changes.append(AmountChange(effective=when, amount=amount))
        changes.sort(key=lambda c: c.effective)
        if when == sip.start_date:
            updated = replace(updated, amount=amount)
            changes = [c for c in changes if c.effective != when]
        updated = replace(updated, amount_changes=tuple(changes))
    elif effective is not None:
        raise InvalidInputError("--from goes with --amount")
    if day is not None:
        updated = replace(updated, day=_check_day(day))
    if clear_end:
        updated = replace(updated, end_date=None)
    elif end is not None:
        if end < sip.start_date:
            raise InvalidInputError(f"--end {end} is before the SIP's start {sip.start_date}")
        updated = replace(updated, end_date=end)
    if clear_step_up:
        updated = replace(updated, step_up=None)
    elif step_up is not None:
        updated = replace(updated, step_up=step_up)
    if label is not None:
        updated = replace(updated, label=clean_label(label))
    if updated == sip:
        raise InvalidInputError("nothing to change", hint="see `mftrack edit-sip --help`")
    return _save(store, sip, updated)


def pause_sip(*, store: LocalStore, sip_id: str, start: date, end: date | None = None) -> Sip:
    """Skip instalments due from `start` (to `end`, inclusive, or until resumed)."""
    sip = store.get_sip(sip_id)
    if end is not None and end < start:
        raise InvalidInputError(f"--to {end} is before --from {start}")
    for pause in sip.pauses:
        pause_end = pause.end or date.max
        if start <= pause_end and (end or date.max) >= pause.start:
            raise InvalidInputError(
                f"the SIP is already paused from {pause.start}"
                + (f" to {pause.end}" if pause.end else " (open-ended)"),
                hint="`mftrack resume-sip` ends an open pause",
            )
    pauses = tuple(sorted((*sip.pauses, Pause(start, end)), key=lambda p: p.start))
    return _save(store, sip, replace(sip, pauses=pauses))


def resume_sip(*, store: LocalStore, sip_id: str, on: date) -> Sip:
    """End the open pause so that instalments due from `on` are made again."""
    sip = store.get_sip(sip_id)
    open_pauses = [p for p in sip.pauses if p.end is None or p.end >= on]
    if not open_pauses:
        raise InvalidInputError("the SIP is not paused on that date")
    pause = open_pauses[-1]
    if on <= pause.start:
        pauses = tuple(p for p in sip.pauses if p != pause)  # resumed before it began: drop it
    else:
        pauses = tuple(
            Pause(p.start, on - timedelta(days=1)) if p == pause else p for p in sip.pauses
        )
    return _save(store, sip, replace(sip, pauses=pauses))


def stop_sip(*, store: LocalStore, sip_id: str, on: date) -> Sip:
    """No instalments after `on` (the SIP's end date becomes `on`)."""
    sip = store.get_sip(sip_id)
    if on < sip.start_date:
        raise InvalidInputError(
            f"{on} is before the SIP's start {sip.start_date}", hint="use `mftrack rm-sip` instead"
        )
    return _save(store, sip, replace(sip, end_date=on))


def remove_sip(*, store: LocalStore, sip_id: str) -> Sip:
    """Soft-delete: the SIP disappears from lists and sums but stays as a tombstone for sync."""
    sip = store.get_sip(sip_id)
    return _save(store, sip, replace(sip, deleted=True))
