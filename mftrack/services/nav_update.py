"""Bring every held scheme's NAVs up to date: the latest NAVs, then the history gaps of due
instalments. One logic for `mftrack nav update` (by hand, cron) and the daemon's jobs.

Which schemes need history is decided by `history_gaps.suspect_schemes`. What was learnt is kept
in the database's meta table, per scheme:

* `daemon.history_checked.<code>`: the history is known to be complete up to this date. It only
  ever moves to the latest NAV a fetch actually obtained, never to "today", so a fetch that got
  nothing (mfapi.in's 404, an empty report) leaves the gap to be asked for again.
* `daemon.history_retry.<code>`: `<failures> <ISO time of the next attempt>` after a fetch that
  failed, came back empty or did not reach the suspect instalment. The next attempt waits
  `base * 2**(failures-1)`, at most `cap` (the daemon honours it; a run by hand does not).

A fetch that could not even connect (`UnreachableError`: no network, name not resolved,
refused) ends the pass: the other schemes would be asked of the same dead network. It is not
held against the scheme (no retry record); the caller reports it once (`nav update` exits 75,
the daemon's job fails and backs off as a whole).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from mftrack.domain.portfolio import FIX_COMMAND  # named by every warning about missing NAVs
from mftrack.errors import MftrackError, NetworkError, NotFoundError, UnreachableError
from mftrack.services.history_gaps import suspect_schemes

if TYPE_CHECKING:
    from mftrack.adapters.sqlite.store import LocalStore
    from mftrack.domain.navs import NavSeries
    from mftrack.domain.portfolio import PortfolioSummary
    from mftrack.services.navs import ImportReport

    Computed = tuple[PortfolioSummary, dict[int, NavSeries]]

__all__ = ["FIX_COMMAND", "fill_history_gaps", "update_navs"]

CHECKED_KEY = "daemon.history_checked.{code}"
RETRY_KEY = "daemon.history_retry.{code}"


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Backoff between attempts at one scheme's history: base, 2x, 4x ... at most `cap`."""

    base: timedelta = timedelta(minutes=15)
    cap: timedelta = timedelta(days=1)

    def delay(self, failures: int) -> timedelta:
        return min(self.cap, self.base * 2 ** min(max(failures, 1) - 1, 30))


@dataclass(frozen=True, slots=True)
class Retry:
    failures: int
    next_at: datetime


class HistoryBook:
    """The per-scheme records described in the module docstring, over the store's meta."""

    def __init__(self, store: LocalStore) -> None:
        self.store = store

    def checked_through(self, codes: set[int]) -> dict[int, date]:
        found = {}
        for code in codes:
            value = self.store.get_meta(CHECKED_KEY.format(code=code))
            if value:
                found[code] = date.fromisoformat(value)
        return found

    def retry(self, code: int) -> Retry | None:
        value = self.store.get_meta(RETRY_KEY.format(code=code))
        if not value:
            return None
        failures, at = value.split(" ", 1)
        return Retry(int(failures), datetime.fromisoformat(at))

    def obtained(self, code: int, through: date) -> None:
        """A fetch brought NAVs up to `through`: the history is complete up to there."""
        key = CHECKED_KEY.format(code=code)
        old = self.store.get_meta(key)
        if not old or date.fromisoformat(old) < through:
            self.store.set_meta(key, through.isoformat())

    def succeeded(self, code: int) -> None:
        if self.store.get_meta(RETRY_KEY.format(code=code)):
            self.store.set_meta(RETRY_KEY.format(code=code), "")

    def failed(self, code: int, now: datetime, policy: RetryPolicy) -> Retry:
        before = self.retry(code)
        failures = (before.failures if before else 0) + 1
        retry = Retry(failures, now + policy.delay(failures))
        self.store.set_meta(RETRY_KEY.format(code=code), f"{failures} {retry.next_at.isoformat()}")
        return retry


@dataclass
class GapFill:
    """What one pass over the history gaps did."""

    suspects: dict[int, date] = field(default_factory=dict)  # code -> earliest suspect due date
    fetched: list[str] = field(default_factory=list)  # "code: N NAVs from DATE"
    unfilled: list[str] = field(default_factory=list)  # empty, 404, or short of the gap
    failed: list[str] = field(default_factory=list)  # network or data errors
    waiting: dict[int, datetime] = field(default_factory=dict)  # backing off until then
    navs_written: int = 0
    unreachable: UnreachableError | None = None  # the pass stopped: the network is down

    def describe(self) -> str:
        tried = len(self.suspects) - len(self.waiting)
        parts = [f"history fetched for {len(self.fetched)} of {tried} schemes"]
        parts += self.fetched + self.unfilled + self.failed
        if self.waiting:
            waits = (f"{code} until {at:%Y-%m-%d %H:%M}" for code, at in self.waiting.items())
            parts.append("backing off: " + ", ".join(waits))
        return "; ".join(parts)

    def next_retry(self) -> datetime | None:
        return min(self.waiting.values(), default=None)


def portfolio_now(store: LocalStore, as_of: date, settings: Any = None) -> Computed:
    from mftrack.domain.options import DEFAULT_OPTIONS
    from mftrack.services.portfolio import portfolio_summary, valuation_options

    options = valuation_options(settings) if settings is not None else DEFAULT_OPTIONS
    return portfolio_summary(store=store, as_of=as_of, options=options)


def fill_history_gaps(
    *,
    store: LocalStore,
    client: Any,
    summary: PortfolioSummary,
    today: date,
    now: datetime,
    policy: RetryPolicy | None = None,
    honour_backoff: bool = True,
    should_stop: Callable[[], bool] = lambda: False,
    on_scheme: Callable[[int, date], None] | None = None,
) -> GapFill:
    """Fetch the NAV history of every scheme whose due instalments may lack their NAV."""
    from mftrack.services.navs import fetch_history

    book, policy = HistoryBook(store), policy or RetryPolicy()
    codes = {s.scheme_code for s in summary.schemes}
    fill = GapFill(suspects=suspect_schemes(summary, book.checked_through(codes)))
    for code, start in sorted(fill.suspects.items()):
        if should_stop():
            break
        retry = book.retry(code)
        if honour_backoff and retry is not None and retry.next_at > now:
            fill.waiting[code] = retry.next_at
            continue
        if on_scheme is not None:
            on_scheme(code, start)
        try:
            report = fetch_history(
                store=store, client=client, scheme_code=code, start=start, end=today
            )
        except UnreachableError as exc:  # its last source (mfapi.in) is dead: so for the rest
            fill.unreachable = exc
            break
        except NotFoundError as exc:  # no source knows it *yet*: ask again later
            fill.unfilled.append(f"{code}: no history ({exc.message})")
            fill.waiting[code] = book.failed(code, now, policy).next_at
            continue
        except MftrackError as exc:
            fill.failed.append(f"{code} failed: {exc.message}")
            fill.waiting[code] = book.failed(code, now, policy).next_at
            continue
        fill.navs_written += report.navs_written
        _record(book, fill, code, start, report, now, policy)
    return fill


def _record(
    book: HistoryBook,
    fill: GapFill,
    code: int,
    start: date,
    report: ImportReport,
    now: datetime,
    policy: RetryPolicy,
) -> None:
    last = report.last_nav_date
    if last is not None:
        book.obtained(code, last)
    if last is None or last < start:
        fill.unfilled.append(f"{code}: no NAVs from {start} yet")
        fill.waiting[code] = book.failed(code, now, policy).next_at
        return
    book.succeeded(code)
    fill.fetched.append(f"{code}: {report.quotes:,} NAVs from {start}")


def allotted_message(before: PortfolioSummary, after: PortfolioSummary) -> str:
    moved = max(0, after.total.instalments - before.total.instalments)
    noun = "instalment" if moved == 1 else "instalments"
    return f"{moved} {noun} allotted (pending {before.total.pending} -> {after.total.pending})"


@dataclass
class UpdateReport:
    """What `update_navs` did: the NAVAll pull, the gap fill, and the instalments it allotted."""

    pull: ImportReport | None
    pull_error: MftrackError | None
    gaps: GapFill
    allotted: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "pull": self.pull.as_dict() if self.pull else None,
            "pull_error": self.pull_error.message if self.pull_error else None,
            "history": {
                "suspects": {str(c): d.isoformat() for c, d in self.gaps.suspects.items()},
                "fetched": self.gaps.fetched,
                "unfilled": self.gaps.unfilled,
                "failed": self.gaps.failed,
                "navs_written": self.gaps.navs_written,
            },
            "allotted": self.allotted,
        }


def _offline(client: Any, exc: UnreachableError) -> UnreachableError:
    """One error for a run whose history pass stopped at a host it could not connect to: every
    such host and why (`AmfiClient.unreachable`), instead of one message per scheme."""
    dead: dict[str, str] = getattr(client, "unreachable", {})
    if not dead:
        return exc
    hosts = "; ".join(f"{host}: {why}" for host, why in dead.items())
    return UnreachableError(
        f"could not connect ({hosts}); no further NAV history was asked for",
        hint="check your connection (or amfi.navall_url, amfi.history_url, mfapi.base_url); "
        f"`{FIX_COMMAND}` fetches what is missing once online",
    )


def update_navs(
    *,
    store: LocalStore,
    client: Any,
    today: date,
    now: datetime,
    settings: Any = None,
    on_scheme: Callable[[int, date], None] | None = None,
) -> UpdateReport:
    """`mftrack nav update`: pull the latest NAVs, then fill every history gap of a due
    instalment (without waiting for backoffs: the user asked now). A failed pull does not stop
    the history fetch (mfapi.in may answer when AMFI does not); it is reported, and raised when
    nothing else could be done either. When the history pass stopped because its sources could
    not be reached at all, that error is raised (after what was stored is valued)."""
    from mftrack.services.navs import pull_latest

    before = portfolio_now(store, today, settings)
    pull: ImportReport | None = None
    pull_error: MftrackError | None = None
    try:
        pull = pull_latest(store=store, client=client)
    except NetworkError as exc:
        pull_error = exc
    middle = portfolio_now(store, today, settings) if pull and pull.navs_written else before
    gaps = fill_history_gaps(
        store=store, client=client, summary=middle[0], today=today, now=now,
        honour_backoff=False, on_scheme=on_scheme,
    )  # fmt: skip
    changed = bool(gaps.navs_written) or middle is not before
    after = portfolio_now(store, today, settings) if changed else middle
    if changed:  # the daemon's precomputed valuation series (the dashboard reads it)
        from mftrack.services.valuations import refresh_valuations

        refresh_valuations(store=store, as_of=today, computed=after)
    if gaps.unreachable is not None:
        raise _offline(client, gaps.unreachable)
    if pull_error is not None and not gaps.fetched:
        raise pull_error
    return UpdateReport(pull, pull_error, gaps, allotted_message(before[0], after[0]))
