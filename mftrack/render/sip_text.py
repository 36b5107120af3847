"""Words for SIPs: amounts as the user typed them, what an edit changed, a SIP's schedule.

Amounts keep their paise when they have any (₹700.50, never ₹701): a confirmation must
repeat what was recorded, not a rounded neighbour of it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from decimal import Decimal

from mftrack.domain.sips import (
    AmountChange,
    Pause,
    ScheduledInstalment,
    Sip,
    StepUp,
    StepUpKind,
    amount_for,
)
from mftrack.render.formatting import rupees


def money(value: Decimal) -> str:
    """₹5,000 for whole rupees, ₹700.50 when there are paise (Indian grouping either way)."""
    return rupees(value, places=0 if value == value.to_integral_value() else 2)


def step_up_text(step: StepUp | None) -> str:
    if step is None:
        return "no step-up"
    if step.kind is StepUpKind.PERCENT:
        return f"+{format(step.value.normalize(), 'f')}% a year"
    return f"+{money(step.value)} a year"


def plan_text(sip: Sip) -> str:
    """'₹5,000 on day 5 from 2021-04-05, until 2030-03-31, +10% a year, label 'tax'."""
    details = [f"{money(sip.amount)} on day {sip.day} from {sip.start_date}"]
    if sip.end_date:
        details.append(f"until {sip.end_date}")
    if sip.step_up:
        details.append(step_up_text(sip.step_up))
    if sip.label:
        details.append(f"label {sip.label!r}")
    return ", ".join(details)


def amount_with_step_up(amount: Decimal, sip: Sip) -> str:
    """The `sips` table's amount cell: the amount due now, and the yearly step-up if any."""
    return money(amount) + (f" {step_up_text(sip.step_up)}" if sip.step_up else "")


def pause_text(pause: Pause) -> str:
    if pause.end is None:
        return f"from {pause.start} until resumed"
    return f"{pause.start} to {pause.end}"


def _end_text(end: date | None) -> str:
    return str(end) if end is not None else "none (runs until stopped)"


def _pause_changes(before: Sequence[Pause], after: Sequence[Pause]) -> list[str]:
    lines: list[str] = []
    new_by_start = {p.start: p for p in after}
    old_by_start = {p.start: p for p in before}
    for pause in before:
        now = new_by_start.get(pause.start)
        if now is None:
            lines.append(f"pause {pause_text(pause)} removed")
        elif now.end != pause.end and now.end is not None:
            lines.append(f"resumed from {now.end + timedelta(days=1)} "
                         f"(the pause is now {pause_text(now)})")
    lines.extend(f"paused {pause_text(p)}" for p in after if p.start not in old_by_start)
    return lines


def _amount_changes(before: Sip, after: Sip) -> list[str]:
    """Amount changes added, replaced or removed, each as 'amount ₹A → ₹B from DATE'."""
    lines: list[str] = []
    old = {c.effective: c for c in before.amount_changes}
    new = {c.effective: c for c in after.amount_changes}
    if before.amount != after.amount:  # a change effective on the start date replaces it
        lines.append(f"amount {money(before.amount)} → {money(after.amount)} "
                     f"from {after.start_date}")
    for when in sorted(set(old) | set(new)):
        was, now = old.get(when), new.get(when)
        if was == now:
            continue
        if now is None:
            lines.append(f"amount change {_change_text(was)} removed "
                         f"(from {when}: {money(amount_for(after, when))})")
        else:
            lines.append(f"amount {money(amount_for(before, when))} → "
                         f"{money(amount_for(after, when))} from {when}")
    return lines


def _change_text(change: AmountChange | None) -> str:
    assert change is not None
    return f"{money(change.amount)} from {change.effective}"


def _label_text(label: str | None) -> str:
    return repr(label) if label else "none"


def describe_changes(before: Sip, after: Sip) -> list[str]:
    """One line per thing the user would notice, old value → new value."""
    lines = _amount_changes(before, after)
    if before.day != after.day:
        lines.append(f"due day {before.day} → {after.day}")
    if before.end_date != after.end_date:
        lines.append(f"end {_end_text(before.end_date)} → {_end_text(after.end_date)}")
    if before.step_up != after.step_up:
        lines.append(f"step-up {step_up_text(before.step_up)} → {step_up_text(after.step_up)}")
    lines.extend(_pause_changes(before.pauses, after.pauses))
    if before.label != after.label:
        lines.append(f"label {_label_text(before.label)} → {_label_text(after.label)}")
    if before.deleted != after.deleted:
        lines.append("removed" if after.deleted else "restored")
    return lines


def schedule_lines(
    sip: Sip,
    scheme_name: str,
    status: str,
    upcoming: Sequence[ScheduledInstalment],
    counts: Mapping[str, int] | None = None,
) -> list[str]:
    """`mftrack sip show`: the SIP and everything that shapes its instalments."""
    lines = [
        f"SIP {sip.id}",
        f"  scheme        {sip.scheme_code} {scheme_name}".rstrip(),
        f"  status        {status}",
        f"  amount        {money(sip.amount)} from {sip.start_date}, due on day {sip.day}",
        f"  end           {_end_text(sip.end_date)}",
        f"  step-up       {step_up_text(sip.step_up)}",
    ]
    if sip.label:
        lines.append(f"  label         {sip.label}")
    lines.append("  amount changes" + ("" if sip.amount_changes else "  none"))
    lines.extend(f"    {money(c.amount)} from {c.effective}" for c in sip.amount_changes)
    lines.append("  pauses" + ("" if sip.pauses else "        none"))
    lines.extend(f"    {pause_text(p)}" for p in sip.pauses)
    if counts is not None:
        lines.append(f"  instalments   {instalments_text(counts)}")
    lines.append("  next instalments" + ("" if upcoming else "  none"))
    lines.extend(f"    {i.due_date}  {money(i.amount)}" for i in upcoming)
    return lines


def instalments_text(counts: Mapping[str, int]) -> str:
    """E.g. "3 confirmed, 52 estimated, 1 missed, 0 pending" (and NAV gaps, if any)."""
    text = ", ".join(f"{counts[k]} {k}" for k in ("confirmed", "estimated", "missed", "pending"))
    gaps = counts.get("nav_gaps", 0)
    return text + (f", {gaps} in a NAV gap" if gaps else "")
