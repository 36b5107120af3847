"""Have the NAVs of business day T arrived for the user's schemes? Judged from the data (pure).

NAVAll.txt is a last-known-NAV table (amfi-formats.md): every scheme carries the date of its
latest NAV. Its *modal* date (the date most schemes carry) is the last day AMFI published. So:

* a held scheme has arrived for T when its NAV is dated T or later;
* a held scheme is *expected* for T only if it was current on the previous business day (the
  modal date among the dates before T); a matured, merged or weekly-priced scheme whose NAV is
  older does not keep the daemon polling;
* when AMFI's 23:00 deadline for T has passed (F11) and the modal date has not reached T, AMFI
  published nothing for T: a holiday or a weekend for all but the weekend-priced liquid and
  overnight funds. The evening's polling stops there; one poll in the next morning window
  confirms it (AMFI is occasionally later than its deadline). No holiday list is involved (F3).

Late publishers (F11: FoFs and >=80 % overseas schemes by 10:00 T+1, commodity-derivative schemes
by 09:00 T+1) are recognised from the scheme's category and name; a wrong guess only moves a
poll between the evening and the morning window, never a NAV date.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from mftrack.daemon.schedule import IST, NavPlan, NavProgress

_LATE = re.compile(
    r"\bfof\b|fund of funds?|fund-of-funds?|overseas|international|global|\bworld\b|nasdaq"
    r"|s&p 500|\bu\.?s\.?\b|feeder|gold|silver|commodit|multi asset",
    re.IGNORECASE,
)


def is_late_publisher(name: str, category: str | None) -> bool:
    """FoF, overseas or commodity scheme: its NAV may come on the morning of T+1 (F11)."""
    return bool(_LATE.search(f"{name} {category or ''}"))


@dataclass(frozen=True, slots=True)
class HeldScheme:
    """A scheme the user's SIPs invest in, with the date of its NAV in the latest file."""

    scheme_code: int
    nav_date: date | None  # None: not in the file at all
    late: bool = False


@dataclass(frozen=True, slots=True)
class Arrival:
    """The verdict of one poll for business day `day`."""

    day: date
    modal: date | None  # the date most schemes in the file carry
    waiting_on_time: tuple[int, ...]  # expected for `day`, not there yet, due by 23:00
    waiting_late: tuple[int, ...]  # expected for `day`, not there yet, due on the morning after
    arrived: tuple[int, ...]
    nothing_published: bool  # the deadline passed and AMFI published nothing for `day`
    confirmed: bool = False  # ... and still nothing in the morning window of the day after

    @property
    def published(self) -> bool:
        return self.modal is not None and self.modal >= self.day

    @property
    def progress(self) -> NavProgress:
        expecting = bool(self.arrived or self.waiting_on_time or self.waiting_late)
        on_time_in = not self.waiting_on_time and (expecting or self.published)
        return NavProgress(
            day=self.day,
            evening_done=self.nothing_published or on_time_in,
            morning_done=self.confirmed or (on_time_in and not self.waiting_late),
        )

    def describe(self) -> str:
        if self.confirmed:
            return f"AMFI published no NAVs for {self.day} (holiday or weekend)"
        if self.nothing_published:
            return f"no NAVs for {self.day} by AMFI's 23:00 deadline; one more look in the morning"
        parts = [f"{len(self.arrived)} of your schemes have {self.day}"]
        waiting = [*self.waiting_on_time, *self.waiting_late]
        if waiting:
            parts.append("waiting for " + ", ".join(str(code) for code in waiting))
        return "; ".join(parts)


def modal_date(dates: Mapping[date, int]) -> date | None:
    """The date most rows carry (the later one on a tie)."""
    return max(dates, key=lambda d: (dates[d], d), default=None)


def judge_arrival(
    *,
    day: date,
    now: datetime,
    held: Iterable[HeldScheme],
    date_counts: Mapping[date, int],
    plan: NavPlan,
) -> Arrival:
    """Judge the file whose NAV dates are counted in `date_counts` (one per scheme)."""
    modal = modal_date(date_counts)
    earlier = Counter({d: n for d, n in date_counts.items() if d < day})
    previous = modal_date(earlier)  # the last business day before `day`
    waiting_on_time: list[int] = []
    waiting_late: list[int] = []
    arrived: list[int] = []
    for scheme in sorted(held, key=lambda s: s.scheme_code):
        if scheme.nav_date is None:
            continue
        if scheme.nav_date >= day:
            arrived.append(scheme.scheme_code)
        elif previous is None or scheme.nav_date >= previous:
            (waiting_late if scheme.late else waiting_on_time).append(scheme.scheme_code)
    nothing = (modal is None or modal < day) and plan.deadline_passed(day, now)
    next_morning = datetime.combine(day + timedelta(days=1), plan.morning_start, IST)
    return Arrival(
        day=day,
        modal=modal,
        waiting_on_time=tuple(waiting_on_time),
        waiting_late=tuple(waiting_late),
        arrived=tuple(arrived),
        nothing_published=nothing,
        confirmed=nothing and now >= next_morning,
    )
