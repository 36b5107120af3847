"""SIPs: a fixed monthly amount into one scheme from a start date (the user's plan).

The schedule rules (which instalments fall due, and for how much) live here; which NAV each
one gets is `mftrack.domain.portfolio`'s job.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from functools import lru_cache

from mftrack.domain.calendar import add_months, anniversary, instalment_dates, years_between
from mftrack.domain.money import whole_rupees


class StepUpKind(StrEnum):
    AMOUNT = "amount"  # add a fixed number of rupees every year
    PERCENT = "percent"  # raise by a percentage every year


@dataclass(frozen=True, slots=True)
class StepUp:
    """Yearly step-up: applied on each anniversary of the SIP start (or of an amount change)."""

    kind: StepUpKind
    value: Decimal


@dataclass(frozen=True, slots=True)
class Pause:
    """Instalments due from `start` to `end` (inclusive) are skipped; `end=None` is open-ended."""

    start: date
    end: date | None = None


@dataclass(frozen=True, slots=True)
class AmountChange:
    """From instalments due on or after `effective`, the SIP amount is `amount`."""

    effective: date
    amount: Decimal


@dataclass(frozen=True, slots=True)
class Sip:
    """A systematic investment plan as the user recorded it.

    `day` is the day of month the instalment is due (1-31; 29-31 fall on the last day of shorter
    months). `end_date` is inclusive. A removed SIP stays as a tombstone (`deleted=True`) so the
    removal can be synced.
    """

    id: str  # UUID4 text, generated on the device that created it
    scheme_code: int
    amount: Decimal
    start_date: date
    day: int
    end_date: date | None = None
    step_up: StepUp | None = None
    pauses: tuple[Pause, ...] = ()
    amount_changes: tuple[AmountChange, ...] = ()
    label: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    deleted: bool = False


@dataclass(frozen=True, slots=True)
class ScheduledInstalment:
    """One instalment of a SIP that falls due on `due_date` for `amount` (gross rupees)."""

    sip_id: str
    scheme_code: int
    due_date: date
    amount: Decimal


_HUNDRED = Decimal(100)


def stepped_amount(base: Decimal, step_up: StepUp, years: int) -> Decimal:
    """Return `base` after `years` yearly step-ups.

    AMOUNT: base + value x years (exact). PERCENT: compounded year by year, each year's amount
    rounded to the whole rupee (half up) before the next step, because a platform raises the
    mandate to a whole-rupee instalment each year and the next raise applies to that
    instalment (mfuindia.com SIP step-up FAQ, F4). The mandate cap of F4 is not modelled.
    """
    if years <= 0:
        return base
    if step_up.kind is StepUpKind.AMOUNT:
        return base + step_up.value * years
    return _compound(base, step_up.value, years)


@lru_cache(maxsize=4096)
def _compound(base: Decimal, percent: Decimal, years: int) -> Decimal:
    factor = 1 + percent / _HUNDRED
    amount = base
    for _ in range(years):
        amount = whole_rupees(amount * factor)
    return amount


def governing_amount(sip: Sip, due_date: date) -> tuple[Decimal, date]:
    """Return `(amount, since)`: the amount in force on `due_date` before any step-up.

    That is the latest amount change effective on or before `due_date` (the later one in the
    tuple wins a tie), else the SIP's own amount since its start date.
    """
    chosen: AmountChange | None = None
    for change in sip.amount_changes:
        if change.effective <= due_date and (
            chosen is None or change.effective >= chosen.effective
        ):
            chosen = change
    if chosen is None:
        return sip.amount, sip.start_date
    # A change recorded as effective before the start only replaces the amount; step-up
    # anniversaries still count from the start.
    return chosen.amount, max(chosen.effective, sip.start_date)


def amount_for(sip: Sip, due_date: date) -> Decimal:
    """Return the gross amount of the instalment due on `due_date`.

    The amount in force (the latest amount change effective on or before the due date, else
    the SIP amount), stepped up once per full year since the SIP start or since that change.
    """
    return _amount_until(sip, due_date)[0]


def _amount_until(sip: Sip, due_date: date) -> tuple[Decimal, date]:
    """Return the amount due on `due_date` and the first later date it may change on."""
    amount, since = governing_amount(sip, due_date)
    changes_on = date.max
    if sip.step_up is not None:
        years = years_between(since, due_date)
        amount = stepped_amount(amount, sip.step_up, years)
        changes_on = anniversary(since, years + 1)
    for change in sip.amount_changes:
        if due_date < change.effective < changes_on:
            changes_on = change.effective
    return amount, changes_on


def is_paused(sip: Sip, d: date) -> bool:
    """Tell whether an instalment due on `d` is skipped by one of the SIP's pauses."""
    return pause_covering(sip, d) is not None


def instalment_schedule(sip: Sip, as_of: date) -> tuple[list[date], list[Decimal]]:
    """Return the due dates up to `as_of` (inclusive) and the amount due on each.

    Two parallel lists with the same rules as `scheduled_instalments`, without building an
    object per instalment (the valuation's hot path). Deleted SIPs have none; instalments
    after `end_date` or inside a pause are skipped.
    """
    if sip.deleted:
        return [], []
    end = as_of if sip.end_date is None else min(sip.end_date, as_of)
    dates = instalment_dates(sip.start_date, sip.day, end)
    if sip.pauses:
        dates = [d for d in dates if not is_paused(sip, d)]
    if sip.step_up is None and not sip.amount_changes:
        return dates, [sip.amount] * len(dates)
    # The amount only moves on a step-up anniversary or an amount change: recompute it there.
    amounts: list[Decimal] = []
    amount, changes_on = sip.amount, date.min
    for d in dates:
        if d >= changes_on:
            amount, changes_on = _amount_until(sip, d)
        amounts.append(amount)
    return dates, amounts


def scheduled_instalments(sip: Sip, as_of: date) -> list[ScheduledInstalment]:
    """Return the instalments of `sip` due on or before `as_of`, oldest first."""
    dates, amounts = instalment_schedule(sip, as_of)
    return [
        ScheduledInstalment(sip.id, sip.scheme_code, due, amount)
        for due, amount in zip(dates, amounts, strict=True)
    ]


class SipStatus(StrEnum):
    REMOVED = "removed"
    ENDED = "ended"  # its end date is before today
    UPCOMING = "upcoming"  # it starts after today
    PAUSED = "paused"  # one of its pauses covers today
    ACTIVE = "active"


def sip_status(sip: Sip, today: date) -> SipStatus:
    """The SIP's state on `today` (the status column of `mftrack sips`)."""
    if sip.deleted:
        return SipStatus.REMOVED
    if has_ended(sip, today):
        return SipStatus.ENDED
    if sip.start_date > today:
        return SipStatus.UPCOMING
    if is_paused(sip, today):
        return SipStatus.PAUSED
    return SipStatus.ACTIVE


def has_ended(sip: Sip, today: date) -> bool:
    """True when the SIP's last day (its inclusive end date) is before `today`."""
    return sip.end_date is not None and sip.end_date < today


def pause_covering(sip: Sip, d: date) -> Pause | None:
    """The pause that skips an instalment due on `d`, if any (pauses never overlap)."""
    for pause in sip.pauses:
        if pause.start <= d and (pause.end is None or d <= pause.end):
            return pause
    return None


def upcoming_instalments(sip: Sip, after: date, count: int) -> list[ScheduledInstalment]:
    """The next `count` instalments due strictly after `after` (pauses and end respected)."""
    if sip.deleted:
        return []
    found: list[ScheduledInstalment] = []
    start = max(sip.start_date, after + timedelta(days=1))
    # Search a year at a time: a long pause may skip many months before the next one is due.
    while len(found) < count:
        horizon = add_months(start, 12)
        if sip.end_date is not None:
            horizon = min(horizon, sip.end_date)
        if horizon < start:
            break
        for d in instalment_dates(start, sip.day, horizon):
            if not is_paused(sip, d) and len(found) < count:
                found.append(ScheduledInstalment(sip.id, sip.scheme_code, d, amount_for(sip, d)))
        if sip.end_date is not None and horizon >= sip.end_date:
            break
        open_pause = pause_covering(sip, horizon)
        if open_pause is not None and open_pause.end is None:
            break  # paused until resumed: nothing more is due
        start = horizon + timedelta(days=1)
    return found
