"""`sip_status` and `upcoming_instalments` (what `mftrack sips` and `mftrack sip show` print),
with expectations written out from the calendar by hand."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from mftrack.domain.sips import Pause, Sip, StepUp, StepUpKind, sip_status, upcoming_instalments

TODAY = date(2025, 12, 11)


def sip(**changes: object) -> Sip:
    base: dict[str, object] = {"id": "s1", "scheme_code": 120503, "amount": Decimal("5000"),
                               "start_date": date(2021, 4, 5), "day": 5}
    base.update(changes)
    return Sip(**base)  # type: ignore[arg-type]


def due(s: Sip, count: int) -> list[tuple[date, Decimal]]:
    return [(i.due_date, i.amount) for i in upcoming_instalments(s, TODAY, count)]


def test_status_on_today() -> None:
    assert sip_status(sip(), TODAY) == "active"
    assert sip_status(sip(deleted=True), TODAY) == "removed"
    assert sip_status(sip(end_date=date(2025, 12, 10)), TODAY) == "ended"
    assert sip_status(sip(end_date=TODAY), TODAY) == "active"  # the end date is inclusive
    assert sip_status(sip(start_date=date(2026, 1, 1)), TODAY) == "upcoming"
    assert sip_status(sip(pauses=(Pause(date(2025, 12, 1)),)), TODAY) == "paused"
    assert sip_status(sip(pauses=(Pause(date(2025, 1, 1), date(2025, 12, 10)),)),
                      TODAY) == "active"


def test_next_instalments_skip_a_long_pause_and_clamp_day_31() -> None:
    # Paused all of 2026 and 2027: the next one due is 31 Jan 2028, then 29 Feb (a leap year).
    s = sip(day=31, pauses=(Pause(date(2025, 12, 12), date(2027, 12, 31)),))
    assert due(s, 3) == [(date(2028, 1, 31), Decimal("5000")),
                         (date(2028, 2, 29), Decimal("5000")),
                         (date(2028, 3, 31), Decimal("5000"))]


def test_nothing_is_due_after_an_end_or_inside_an_open_pause() -> None:
    assert due(sip(end_date=date(2026, 2, 10)), 5) == [(date(2026, 1, 5), Decimal("5000")),
                                                      (date(2026, 2, 5), Decimal("5000"))]
    assert due(sip(pauses=(Pause(date(2026, 3, 1)),)), 5) == [
        (date(2026, 1, 5), Decimal("5000")), (date(2026, 2, 5), Decimal("5000"))]
    assert due(sip(deleted=True), 3) == []


def test_a_rupee_step_up_counts_whole_years_from_the_start() -> None:
    # Start 2021-04-05: 4 full years by Jan-Mar 2026 (+4 x 500), 5 from 2026-04-05.
    s = sip(step_up=StepUp(StepUpKind.AMOUNT, Decimal("500")))
    assert due(s, 4) == [(date(2026, 1, 5), Decimal("7000")), (date(2026, 2, 5), Decimal("7000")),
                         (date(2026, 3, 5), Decimal("7000")), (date(2026, 4, 5), Decimal("7500"))]
