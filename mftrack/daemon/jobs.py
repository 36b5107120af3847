"""The daemon's jobs: NAV pulls, SIP history backfill, sync and log retention.

SIP instalments are derived (the summary allots each due instalment at the first NAV on or after
its due date), so "executing" them means getting the NAVs in and recomputing: every job that
writes NAVs compares the summary's pending and allotted counts before and after, reports how many
instalments were allotted, and refreshes the precomputed valuation series.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from mftrack.adapters.logfiles import clean_logs
from mftrack.daemon.arrival import HeldScheme, is_late_publisher, judge_arrival
from mftrack.daemon.runner import JobResult
from mftrack.daemon.schedule import IST, NavProgress, Timetable, business_day, next_nav_poll
from mftrack.errors import BusyError, LoginRequiredError
from mftrack.services.history_gaps import suspect_schemes
from mftrack.services.nav_update import HistoryBook, allotted_message

if TYPE_CHECKING:
    import threading

    from mftrack.adapters.amfi.model import ParsedNavFile
    from mftrack.adapters.sqlite.store import LocalStore
    from mftrack.config import Paths, Settings
    from mftrack.domain.navs import NavSeries
    from mftrack.domain.portfolio import PortfolioSummary

    Computed = tuple[PortfolioSummary, Mapping[int, NavSeries]]

@dataclass
class JobContext:
    """What the jobs share: the store, settings, the schedule and how to reach AMFI."""

    store: LocalStore
    settings: Settings
    paths: Paths
    timetable: Timetable
    make_client: Callable[[], Any]  # an AmfiClient (a context manager)
    stop: threading.Event

    def summary(self, as_of: date) -> Computed:
        from mftrack.services.nav_update import portfolio_now

        return portfolio_now(self.store, as_of, self.settings)

    def checked_through(self, codes: set[int]) -> dict[int, date]:
        return HistoryBook(self.store).checked_through(codes)

    def after_navs_changed(
        self, before: Computed, as_of: date, *, changed: bool = True
    ) -> tuple[str, Computed]:
        """Recompute (unless nothing `changed`), store the valuation series, and describe what
        got allotted."""
        from mftrack.services.valuations import refresh_valuations

        after = self.summary(as_of) if changed else before
        refresh_valuations(store=self.store, as_of=as_of, computed=after)
        return allotted_message(before[0], after[0]), after


def _today(now: datetime) -> date:
    return now.astimezone(IST).date()


def held_schemes(store: LocalStore, parsed: ParsedNavFile, day: date) -> list[HeldScheme]:
    """The schemes of the user's SIPs started by `day`, with their NAV date in the file."""
    codes = {sip.scheme_code for sip in store.list_sips() if sip.start_date <= day}
    dates = {q.scheme_code: q.nav_date for q in parsed.quotes if q.scheme_code in codes}
    infos = {s.scheme_code: s for s in parsed.schemes if s.scheme_code in codes}
    held = []
    for code in sorted(codes):
        info = infos.get(code)
        late = info is not None and is_late_publisher(info.name, info.category)
        held.append(HeldScheme(code, dates.get(code), late))
    return held


class NavPullJob:
    """Download NAVAll.txt inside the F11 windows until the day's NAVs are in (schedule.py)."""

    name = "nav_pull"

    def __init__(self, ctx: JobContext) -> None:
        self.ctx = ctx
        self.plan = ctx.timetable.nav
        self.last_poll: datetime | None = None
        self.progress: NavProgress | None = None

    def first_run(self, now: datetime) -> datetime:
        return next_nav_poll(now, plan=self.plan)

    def next_run(self, now: datetime) -> datetime:
        return next_nav_poll(now, plan=self.plan, last_poll=self.last_poll, progress=self.progress)

    def retry_at(self, now: datetime, failures: int) -> datetime:
        earliest = now + self.ctx.timetable.retry_delay(failures, cap=self.plan.every)
        return next_nav_poll(earliest, plan=self.plan, progress=self.progress)

    def run(self, now: datetime) -> JobResult:
        from mftrack.services.navs import pull_navall

        self.last_poll = now
        ctx, today, day = self.ctx, _today(now), business_day(now, self.plan)
        before = ctx.summary(today)
        with ctx.make_client() as client:
            parsed, report = pull_navall(store=ctx.store, client=client)
        arrival = judge_arrival(
            day=day,
            now=now,
            held=held_schemes(ctx.store, parsed, day),
            date_counts=Counter(q.nav_date for q in parsed.quotes),
            plan=self.plan,
        )
        self.progress = arrival.progress
        parts = [
            f"NAVAll dated {arrival.modal}: {report.navs_written:,} new NAVs",
            arrival.describe(),
        ]
        run_next: tuple[str, ...] = ()
        if report.navs_written:
            allotted, after = ctx.after_navs_changed(before, today)
            parts.append(allotted)
            codes = {s.scheme_code for s in after[0].schemes}
            if suspect_schemes(after[0], ctx.checked_through(codes)):
                run_next = (SipHistoryJob.name,)
        return JobResult("ok", "; ".join(parts), run_next)


class SipHistoryJob:
    """Fetch NAV history where instalments may lack their NAV, then recompute
    (`services.nav_update.fill_history_gaps`, which `mftrack nav update` runs too).

    Runs at start, daily at 11:00 IST (after F11's morning window), whenever a NAV pull finds a
    suspect instalment, and when a scheme's backoff after a failed or empty fetch ends. It
    always refreshes the valuation series, so the series also grows by a day when no NAV
    changed (weekends).
    """

    name = "sip_history"

    def __init__(self, ctx: JobContext) -> None:
        self.ctx = ctx
        self.next_retry: datetime | None = None  # the earliest scheme's backoff end

    def first_run(self, now: datetime) -> datetime:
        return now

    def next_run(self, now: datetime) -> datetime:
        daily = self.ctx.timetable.next_daily(now, self.ctx.timetable.history_at)
        return min(daily, self.next_retry) if self.next_retry else daily

    def retry_at(self, now: datetime, failures: int) -> datetime:
        if self.next_retry is not None:  # schemes failed: each backs off on its own
            return self.next_run(now)
        # the job itself failed (the database, say): retried like the other jobs
        return now + self.ctx.timetable.retry_delay(failures)

    def run(self, now: datetime) -> JobResult:
        from mftrack.services.nav_update import RetryPolicy, fill_history_gaps

        ctx, today = self.ctx, _today(now)
        self.next_retry = None
        before = ctx.summary(today)
        timetable = ctx.timetable
        policy = RetryPolicy(timetable.history_retry_base, timetable.history_retry_cap)
        with ctx.make_client() as client:
            fill = fill_history_gaps(
                store=ctx.store, client=client, summary=before[0], today=today, now=now,
                policy=policy, should_stop=ctx.stop.is_set,
            )  # fmt: skip
        self.next_retry = fill.next_retry()
        allotted, _ = ctx.after_navs_changed(before, today, changed=bool(fill.navs_written))
        if fill.unreachable is not None:  # no network: the job backs off as a whole
            self.next_retry = None
            raise fill.unreachable
        status = "error" if fill.failed else "ok"
        return JobResult(status, f"{fill.describe()}; {allotted}")


class SyncJob:
    """`mftrack.services.sync.sync_now` every `daemon.sync_interval_minutes`, if logged in."""

    name = "sync"

    def __init__(self, ctx: JobContext) -> None:
        self.ctx = ctx

    def first_run(self, now: datetime) -> datetime:
        timetable = self.ctx.timetable
        return now + min(timetable.sync_offset, timetable.sync_every)

    def next_run(self, now: datetime) -> datetime:
        return now + self.ctx.timetable.sync_every

    def retry_at(self, now: datetime, failures: int) -> datetime:
        timetable = self.ctx.timetable
        return now + timetable.retry_delay(failures, cap=timetable.sync_every)

    def run(self, now: datetime) -> JobResult:
        from mftrack.services.sync import sync_now

        ctx = self.ctx
        if not ctx.settings.supabase_url:
            return JobResult("skipped", "sync not configured (no supabase.url)", quiet=True)
        try:
            result = sync_now(store=ctx.store, settings=ctx.settings, paths=ctx.paths)
        except LoginRequiredError:
            return JobResult("skipped", "not logged in", quiet=True)
        except BusyError:  # services.sync.SyncBusy: an overlapping `mftrack sync`
            return JobResult("skipped", "another sync is running")
        # NetworkError, and ConfigError (e.g. the database syncs with another account), and
        # every other failure propagate: the runner logs them, backs off and retries.
        return JobResult("ok", describe_sync(result))


def describe_sync(result: Any) -> str:
    if result is None:
        return "synced"
    for name in ("summary", "describe"):
        method = getattr(result, name, None)
        if callable(method):
            return str(method())
    return str(result)[:300]


class LogRetentionJob:
    """Delete mftrack's own log files older than `logs.retention_days`, at start and daily."""

    name = "log_retention"

    def __init__(self, ctx: JobContext) -> None:
        self.ctx = ctx

    def first_run(self, now: datetime) -> datetime:
        return now

    def next_run(self, now: datetime) -> datetime:
        return self.ctx.timetable.next_daily(now, self.ctx.timetable.retention_at)

    def retry_at(self, now: datetime, failures: int) -> datetime:
        return now + self.ctx.timetable.retry_delay(failures)

    def run(self, now: datetime) -> JobResult:
        days = self.ctx.settings.logs_retention_days
        # Files are named by the machine's local day, so "today" is the local date here.
        today = now.astimezone().date()
        report = clean_logs(self.ctx.paths.log_dir, retention_days=days, today=today)
        message = (
            f"removed {len(report.removed)} log files dated before {report.cutoff}, "
            f"kept {len(report.kept)}"
        )
        if report.problems:
            return JobResult("error", message + "; " + "; ".join(report.problems))
        return JobResult("ok", message, quiet=not report.removed)


def build_jobs(ctx: JobContext) -> list[Any]:
    """The daemon's jobs, in the order they run when due together."""
    return [LogRetentionJob(ctx), NavPullJob(ctx), SipHistoryJob(ctx), SyncJob(ctx)]
