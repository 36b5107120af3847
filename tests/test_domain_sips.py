"""SIP schedules: amounts, amount changes, step-ups, pauses, end dates (mftrack.domain.sips)."""

from __future__ import annotations

from calendar import monthrange
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from itertools import pairwise

from hypothesis import given
from hypothesis import strategies as st

from mftrack.domain.sips import (
    AmountChange,
    Pause,
    ScheduledInstalment,
    Sip,
    StepUp,
    StepUpKind,
    amount_for,
    instalment_schedule,
    is_paused,
    scheduled_instalments,
    stepped_amount,
)


def make_sip(**kw: object) -> Sip:
    fields: dict[str, object] = {
        "id": "sip-1",
        "scheme_code": 120503,
        "amount": Decimal(5000),
        "start_date": date(2021, 4, 5),
        "day": 5,
    }
    fields.update(kw)
    return Sip(**fields)  # type: ignore[arg-type]


def test_plain_sip_schedule() -> None:
    sip = make_sip()
    assert scheduled_instalments(sip, date(2021, 6, 5)) == [
        ScheduledInstalment("sip-1", 120503, date(2021, 4, 5), Decimal(5000)),
        ScheduledInstalment("sip-1", 120503, date(2021, 5, 5), Decimal(5000)),
        ScheduledInstalment("sip-1", 120503, date(2021, 6, 5), Decimal(5000)),
    ]
    assert scheduled_instalments(sip, date(2021, 4, 4)) == []


def test_end_date_is_inclusive_and_deleted_sips_have_no_instalments() -> None:
    sip = make_sip(end_date=date(2021, 8, 5))
    assert [s.due_date for s in scheduled_instalments(sip, date(2030, 1, 1))][-1] == date(
        2021, 8, 5
    )
    assert len(scheduled_instalments(sip, date(2030, 1, 1))) == 5
    assert len(scheduled_instalments(make_sip(end_date=date(2021, 8, 4)), date(2030, 1, 1))) == 4
    assert scheduled_instalments(make_sip(deleted=True), date(2030, 1, 1)) == []


def test_pauses_skip_instalments_due_inside_them() -> None:
    sip = make_sip(
        pauses=(
            Pause(date(2021, 5, 5), date(2021, 6, 5)),  # inclusive at both ends
            Pause(date(2022, 1, 1)),  # open-ended
        )
    )
    assert is_paused(sip, date(2021, 5, 5))
    assert is_paused(sip, date(2021, 6, 5))
    assert not is_paused(sip, date(2021, 6, 6))
    assert is_paused(sip, date(2099, 1, 1))
    dues = [s.due_date for s in scheduled_instalments(sip, date(2023, 1, 1))]
    assert dues == [date(2021, m, 5) for m in (4, 7, 8, 9, 10, 11, 12)]


def test_amount_changes_apply_from_their_effective_date() -> None:
    sip = make_sip(
        amount_changes=(
            AmountChange(date(2021, 7, 1), Decimal(7000)),
            AmountChange(date(2021, 6, 5), Decimal(6000)),  # order in the tuple does not matter
        )
    )
    assert amount_for(sip, date(2021, 5, 5)) == 5000
    assert amount_for(sip, date(2021, 6, 5)) == 6000  # effective on the due date
    assert amount_for(sip, date(2021, 7, 5)) == 7000
    # same effective date twice: the later one in the tuple wins
    tie = make_sip(
        amount_changes=(
            AmountChange(date(2021, 6, 1), Decimal(6000)),
            AmountChange(date(2021, 6, 1), Decimal(6500)),
        )
    )
    assert amount_for(tie, date(2021, 6, 5)) == 6500


def test_amount_step_up_adds_the_value_on_each_anniversary_of_the_start() -> None:
    sip = make_sip(step_up=StepUp(StepUpKind.AMOUNT, Decimal(500)))
    assert amount_for(sip, date(2022, 3, 5)) == 5000
    assert amount_for(sip, date(2022, 4, 5)) == 5500  # first anniversary
    assert amount_for(sip, date(2024, 4, 5)) == 6500


def test_percent_step_up_compounds_on_whole_rupees() -> None:
    sip = make_sip(step_up=StepUp(StepUpKind.PERCENT, Decimal(10)))
    # 5000 -> 5500 -> 6050 -> 6655 -> 7320.5 = 7321 (half up) -> 8053.1 = 8053
    expected = [5000, 5500, 6050, 6655, 7321, 8053]
    got = [amount_for(sip, date(2021 + n, 4, 5)) for n in range(6)]
    assert got == [Decimal(x) for x in expected]
    assert stepped_amount(Decimal(5000), StepUp(StepUpKind.PERCENT, Decimal(10)), 0) == 5000


def test_step_up_counts_from_the_governing_amount_change() -> None:
    sip = make_sip(
        step_up=StepUp(StepUpKind.AMOUNT, Decimal(1000)),
        amount_changes=(AmountChange(date(2022, 10, 1), Decimal(8000)),),
    )
    assert amount_for(sip, date(2022, 9, 5)) == 6000  # start + 1 year
    assert amount_for(sip, date(2022, 10, 5)) == 8000  # the change resets the base
    assert amount_for(sip, date(2023, 9, 5)) == 8000
    assert amount_for(sip, date(2023, 10, 5)) == 9000  # a year after the change


def test_schedule_lists_are_parallel() -> None:
    dates, amounts = instalment_schedule(make_sip(), date(2021, 12, 31))
    assert len(dates) == len(amounts) == 9
    assert set(amounts) == {Decimal(5000)}


step_ups = st.one_of(
    st.none(),
    st.builds(
        StepUp,
        st.sampled_from(list(StepUpKind)),
        st.decimals(min_value=1, max_value=2000, places=0),
    ),
)
changes = st.lists(
    st.builds(
        AmountChange,
        st.dates(min_value=date(2018, 1, 1), max_value=date(2030, 1, 1)),
        st.decimals(min_value=100, max_value=100000, places=0),
    ),
    max_size=4,
).map(tuple)
pauses = st.lists(
    st.builds(
        Pause,
        st.dates(min_value=date(2019, 1, 1), max_value=date(2030, 1, 1)),
        st.one_of(st.none(), st.dates(min_value=date(2019, 1, 1), max_value=date(2031, 1, 1))),
    ),
    max_size=2,
).map(tuple)


def reference_schedule(sip: Sip, as_of: date) -> list[tuple[date, Decimal]]:
    """The rules of docs/returns-and-xirr.md section 1, written out plainly (no mftrack code).

    Month by month from the start's month: due on the SIP day (the month's last day when it is
    shorter), from the start date to the end date or as_of; skipped inside a pause (both ends
    included, no end = open); the amount is the latest amount change effective on or before
    the due date (the later one in the tuple wins a tie), else the SIP amount, stepped up once
    per full year since the start or since that change (29 Feb anniversaries fall on 1 Mar);
    a percent step-up compounds on whole rupees, half up.
    """
    last = as_of if sip.end_date is None else min(sip.end_date, as_of)
    year, month = sip.start_date.year, sip.start_date.month
    out: list[tuple[date, Decimal]] = []
    while True:
        due = date(year, month, min(sip.day, monthrange(year, month)[1]))
        if due > last:
            return out
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        if due < sip.start_date:
            continue
        if any(p.start <= due and (p.end is None or due <= p.end) for p in sip.pauses):
            continue
        base, since = sip.amount, sip.start_date
        chosen: AmountChange | None = None
        for change in sip.amount_changes:
            if change.effective <= due and (chosen is None or change.effective >= chosen.effective):
                chosen = change
        if chosen is not None:
            base, since = chosen.amount, max(chosen.effective, sip.start_date)
        years = due.year - since.year - ((due.month, due.day) < (since.month, since.day))
        amount = base
        if sip.step_up is not None and years > 0:
            if sip.step_up.kind is StepUpKind.AMOUNT:
                amount = base + sip.step_up.value * years
            else:
                for _ in range(years):
                    amount = (amount * (100 + sip.step_up.value) / 100).quantize(
                        Decimal(1), ROUND_HALF_UP
                    )
        out.append((due, amount))


def test_the_reference_gives_the_documented_examples() -> None:
    # docs section 1: at 10 %, 5,000 becomes 5,500, 6,050, 6,655, 7,321, 8,053; day 31 falls on
    # 28/29 Feb and returns to 31 in March.
    ten = make_sip(step_up=StepUp(StepUpKind.PERCENT, Decimal(10)))
    yearly = reference_schedule(ten, date(2026, 4, 5))[::12]
    assert [a for _, a in yearly] == [Decimal(x) for x in (5000, 5500, 6050, 6655, 7321, 8053)]
    day31 = reference_schedule(make_sip(start_date=date(2024, 1, 31), day=31), date(2024, 4, 30))
    assert [d for d, _ in day31] == [
        date(2024, 1, 31), date(2024, 2, 29), date(2024, 3, 31), date(2024, 4, 30)
    ]


@given(
    st.dates(min_value=date(2019, 1, 1), max_value=date(2024, 12, 31)),
    st.integers(min_value=1, max_value=31),
    step_ups,
    changes,
    pauses,
    st.one_of(st.none(), st.integers(min_value=0, max_value=3000)),
    st.dates(min_value=date(2019, 1, 1), max_value=date(2032, 1, 1)),
)
def test_schedule_agrees_with_an_independent_reference(
    start: date,
    day: int,
    step_up: StepUp | None,
    amount_changes: tuple[AmountChange, ...],
    sip_pauses: tuple[Pause, ...],
    end_days: int | None,
    as_of: date,
) -> None:
    end_date = None if end_days is None else start + timedelta(days=end_days)
    sip = make_sip(
        start_date=start,
        day=day,
        step_up=step_up,
        amount_changes=amount_changes,
        pauses=sip_pauses,
        end_date=end_date,
    )
    scheduled = scheduled_instalments(sip, as_of)
    assert [(s.due_date, s.amount) for s in scheduled] == reference_schedule(sip, as_of)
    assert instalment_schedule(sip, as_of) == (
        [s.due_date for s in scheduled], [s.amount for s in scheduled]
    )
    assert all(a.due_date < b.due_date for a, b in pairwise(scheduled))
