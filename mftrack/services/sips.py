"""Recording and changing SIPs. Every change is one transaction that also queues it for sync."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from mftrack.domain.purchases import purchase_concerns
from mftrack.domain.sip_record import changed_fields
from mftrack.domain.sips import (
    AmountChange,
    Pause,
    Sip,
    StepUp,
    StepUpKind,
    has_ended,
    pause_covering,
)
from mftrack.errors import InvalidInputError
from mftrack.services.limits import check_room_for_sip, check_sip_size

if TYPE_CHECKING:
    from mftrack.adapters.sqlite.store import LocalStore, StoredScheme

MAX_AMOUNT = Decimal("100000000")  # ₹10 crore a month: anything above is a typo
MAX_LABEL = 500  # the hosted schema's limit (docs/hosted-schema.md), so sync never rejects it


def clean_label(label: str | None) -> str | None:
    if label is None:
        return None
    text = " ".join(label.split())
    if len(text) > MAX_LABEL:
        raise InvalidInputError(f"--label is {len(text)} characters; at most {MAX_LABEL}")
    return text or None


def parse_amount(
    text: str | Decimal, *, what: str = "amount", hint: str = "e.g. --amount 5000"
) -> Decimal:
    """Rupees with at most two decimals, at least ₹1 (commas and a leading ₹ are allowed)."""
    raw = str(text).strip().replace(",", "").removeprefix("₹").strip()
    try:
        amount = Decimal(raw)
    except InvalidOperation as exc:
        raise InvalidInputError(f"{what} {text!r} is not a number", hint=hint) from exc
    if not amount.is_finite() or amount <= 0:
        raise InvalidInputError(f"{what} must be more than zero, got {text!r}", hint=hint)
    if amount < 1:
        # No fund takes a SIP instalment (or a step-up) below one rupee; paise-sized
        # amounts are a slip (0.5 for 500?), not a plan.
        raise InvalidInputError(f"{what} {text!r} is less than ₹1", hint=hint)
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
    step_hint = "a yearly step-up is a percentage or rupees: --step-up 10% or --step-up 500"
    return StepUp(StepUpKind.AMOUNT, parse_amount(raw, what="step-up", hint=step_hint))


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
    check_room_for_sip(store)
    store.insert_sip(sip)
    return sip


@dataclass(frozen=True, slots=True)
class Edit:
    """A change to one SIP: the SIP as it was and as it is now (the CLI says what changed)."""

    before: Sip
    after: Sip


def _save(store: LocalStore, before: Sip, after: Sip) -> Edit:
    after = replace(after, updated_at=_now())
    check_sip_size(before, after)
    fields = changed_fields(before, after)
    if set(fields) - {"updated_at"}:
        store.update_sip(before.id, fields)
        return Edit(before, after)
    return Edit(before, before)


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
    remove_pause: date | None = None,
    remove_change: date | None = None,
) -> Edit:
    """Change a SIP. A new amount applies from `effective` (default: today) onwards, so past
    instalments keep the amount that was really invested; a second amount from the same date
    replaces the first. `remove_pause`/`remove_change` delete the pause starting on, or the
    amount change effective on, that date."""
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
    if remove_pause is not None:
        updated = replace(updated, pauses=_without_pause(sip, remove_pause))
    if remove_change is not None:
        if amount is not None:
            raise InvalidInputError(
                "--amount and --remove-change contradict each other",
                hint="a new --amount with the same --from replaces that change by itself",
            )
        updated = replace(updated, amount_changes=_without_change(sip, remove_change))
    if updated == sip:
        raise InvalidInputError("nothing to change", hint="see `mftrack edit-sip --help`")
    return _save(store, sip, updated)


def _ends_text(sip: Sip, today: date | None) -> str:
    assert sip.end_date is not None
    ended = today is not None and has_ended(sip, today)
    return f"SIP {sip.id[:8]} {'ended' if ended else 'ends'} on {sip.end_date}"


def _extend_hint(sip: Sip) -> str:
    return f"to extend it on purpose, `mftrack edit-sip {sip.id[:8]} --end YYYY-MM-DD`"


def _without_pause(sip: Sip, start: date) -> tuple[Pause, ...]:
    kept = tuple(p for p in sip.pauses if p.start != start)
    if len(kept) == len(sip.pauses):
        raise InvalidInputError(
            f"SIP {sip.id[:8]} has no pause starting on {start}" + _pauses_text(sip),
            hint="give the first day of the pause to remove",
        )
    return kept


def _without_change(sip: Sip, effective: date) -> tuple[AmountChange, ...]:
    kept = tuple(c for c in sip.amount_changes if c.effective != effective)
    if len(kept) == len(sip.amount_changes):
        listed = "; ".join(f"{c.amount} from {c.effective}" for c in sip.amount_changes)
        raise InvalidInputError(
            f"SIP {sip.id[:8]} has no amount change from {effective}"
            + (f" (its changes: {listed})" if listed else " (it has none)"),
            hint="the amount from the start date is changed with --amount --from START",
        )
    return kept


def pause_sip(
    *, store: LocalStore, sip_id: str, start: date, end: date | None = None,
    today: date | None = None,
) -> Edit:
    """Skip instalments due from `start` (to `end`, inclusive, or until resumed).

    A pause that begins after the SIP's end date would skip nothing: refused, as is a pause of
    nothing at all (`start` after the end), so an ended SIP is never silently "paused".
    """
    sip = store.get_sip(sip_id)
    if end is not None and end < start:
        raise InvalidInputError(f"--to {end} is before --from {start}")
    if sip.end_date is not None and start > sip.end_date:
        raise InvalidInputError(
            f"{_ends_text(sip, today)}: there is nothing to pause from {start}",
            hint=_extend_hint(sip),
        )
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


def resume_sip(*, store: LocalStore, sip_id: str, on: date) -> Edit:
    """End the pause that covers `on`, so that instalments due from `on` are made again.

    Only a pause covering `on` is touched: resuming before a pause began (or after it ended)
    would erase or rewrite a pause the user recorded, so it is refused and nothing changes.
    Resuming on a pause's first day removes that pause.
    """
    sip = store.get_sip(sip_id)
    pause = pause_covering(sip, on)
    if pause is None:
        raise InvalidInputError(
            f"SIP {sip.id[:8]} is not paused on {on}" + _pauses_text(sip),
            hint=(f"`mftrack edit-sip {sip.id[:8]} --remove-pause START` removes a pause"
                  if sip.pauses else "`mftrack sip show ID` shows the SIP's schedule"),
        )
    if on == pause.start:
        pauses = tuple(p for p in sip.pauses if p != pause)
    else:
        pauses = tuple(
            Pause(p.start, on - timedelta(days=1)) if p == pause else p for p in sip.pauses
        )
    return _save(store, sip, replace(sip, pauses=pauses))


def _pauses_text(sip: Sip) -> str:
    if not sip.pauses:
        return " (it has no pauses)"
    spans = [f"{p.start} to {p.end}" if p.end else f"from {p.start} until resumed"
             for p in sip.pauses]
    return f" (its pauses: {'; '.join(spans)})"


def stop_sip(*, store: LocalStore, sip_id: str, on: date, today: date) -> Edit:
    """No instalments after `on` (the SIP's end date becomes `on`).

    Stopping only ever brings the end earlier, and only for a SIP that has not ended yet: on
    an ended SIP, or with a date after its end, it would add instalments that were never made.
    """
    sip = store.get_sip(sip_id)
    if sip.end_date is not None and has_ended(sip, today):
        raise InvalidInputError(
            f"SIP {sip.id[:8]} already ended on {sip.end_date}: stop-sip only stops a running SIP",
            hint=_extend_hint(sip),
        )
    if sip.end_date is not None and on >= sip.end_date:
        raise InvalidInputError(
            f"SIP {sip.id[:8]} already ends on {sip.end_date}"
            + ("" if on == sip.end_date else f", before {on}")
            + ": stop-sip only brings the end earlier",
            hint=_extend_hint(sip),
        )
    if on < sip.start_date:
        raise InvalidInputError(
            f"{on} is before the SIP's start {sip.start_date}", hint="use `mftrack rm-sip` instead"
        )
    return _save(store, sip, replace(sip, end_date=on))


def remove_sip(*, store: LocalStore, sip_id: str) -> Edit:
    """Soft-delete: the SIP disappears from lists and sums but stays as a tombstone for sync."""
    sip = store.get_sip(sip_id)
    return _save(store, sip, replace(sip, deleted=True))


def restore_sip(*, store: LocalStore, sip_id: str) -> Sip:
    """Bring back a removed SIP whose removal has not been synced yet.

    Removals are final across devices (a synced tombstone wins over every later edit,
    docs/sync.md), so only a removal still waiting in the outbox can be taken back: the
    outbox entry is dropped and the SIP is live again, in one transaction. Callers hold the
    sync lock, so a sync cannot be pushing that very entry meanwhile.
    """
    sip = store.get_sip(sip_id, include_deleted=True)
    if not sip.deleted:
        raise InvalidInputError(f"SIP {sip.id[:8]} is not removed",
                                hint="`mftrack sips --all` shows removed SIPs")
    if not store.cancel_pending_removal(sip.id):
        raise InvalidInputError(
            f"the removal of SIP {sip.id[:8]} has already been synced, and a synced removal "
            "is final on every device",
            hint=f"record it again: `{add_sip_command(sip)}`",
        )
    return replace(sip, deleted=False)


def add_sip_command(sip: Sip) -> str:
    """The `mftrack add-sip` command line that records `sip` again (pauses and amount
    changes are not part of it)."""
    parts = ["mftrack add-sip", str(sip.scheme_code), "--amount", format(sip.amount, "f"),
             "--start", str(sip.start_date), "--day", str(sip.day)]
    if sip.end_date:
        parts += ["--end", str(sip.end_date)]
    if sip.step_up:
        value = format(sip.step_up.value.normalize(), "f")
        parts += ["--step-up", f"{value}%" if sip.step_up.kind is StepUpKind.PERCENT else value]
    return " ".join(parts)


def purchase_warning(store: LocalStore, scheme: StoredScheme) -> str | None:
    """Why a SIP into `scheme` may never be bought (segregated, close-ended, stopped), or
    None. `add-sip` records the SIP anyway: the user may hold what mftrack cannot see."""
    reasons = purchase_concerns(scheme.info, scheme.latest_nav_date, store.newest_nav_date())
    if not reasons:
        return None
    return (f"a SIP into {scheme.scheme_code} ({scheme.display_name}) may never be bought: "
            + "; ".join(reasons) + ". It is recorded as given")


def sip_records(
    *, store: LocalStore, today: date, include_deleted: bool = False
) -> list[tuple[Sip, dict[str, Any]]]:
    """Each SIP with its record (the sync format) plus the scheme's name, the status today
    and the amount due today: what `mftrack sips --json` prints and `GET /sips` answers."""
    from mftrack.domain.sip_record import sip_to_record
    from mftrack.domain.sips import amount_for, sip_status

    items = store.list_sips(include_deleted=include_deleted)
    schemes = store.get_schemes(s.scheme_code for s in items)
    rows = []
    for sip in items:
        record = sip_to_record(sip)
        scheme = schemes.get(sip.scheme_code)
        record["scheme_name"] = scheme.display_name if scheme else None
        record["status"] = str(sip_status(sip, today))
        # The amount due today, or the last one for an ended SIP (never one after its end).
        on = max(today, sip.start_date)
        if sip.end_date is not None:
            on = min(on, sip.end_date)
        record["current_amount"] = format(amount_for(sip, on).quantize(Decimal("0.01")), "f")
        rows.append((sip, record))
    return rows
