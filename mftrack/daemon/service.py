"""`mftrack daemon run` put together: lock, logging, store, jobs and the runner.

Foreground only (a service manager supervises it; it never forks). SIGTERM and SIGINT set the
stop event: a sleep ends at once, the job in hand gets `STOP_GRACE` seconds to finish and is
otherwise abandoned (its writes are transactions, so nothing is left half-written).
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from mftrack.config import Paths, Settings
from mftrack.daemon.schedule import IST, Timetable
from mftrack.errors import ConfigError

log = logging.getLogger("mftrack.daemon")
STOP_GRACE = 1.0  # seconds: SIGTERM -> exit within ~1.2 s, well inside the 2 s promised
# Bench-only: run every periodic job every N seconds with the NAV window open all day.
COMPRESS_ENV = "MFTRACK_DAEMON_COMPRESS_SECONDS"


def ist_now() -> datetime:
    return datetime.now(IST)


def timetable_for(settings: Settings, environ: Mapping[str, str] | None = None) -> Timetable:
    env = os.environ if environ is None else environ
    raw = env.get(COMPRESS_ENV, "").strip()
    if raw:
        try:
            seconds = float(raw)
            if seconds <= 0:
                raise ValueError
        except ValueError:
            raise ConfigError(f"{COMPRESS_ENV}={raw!r} must be a positive number") from None
        return Timetable.compressed_to(seconds)
    return Timetable.standard(sync_interval_minutes=settings.daemon_sync_interval_minutes)


JITTER_KEY = "daemon.jitter_fraction"  # meta: this installation's spot in [0, 1)


def jitter_for(store: Any, settings: Settings) -> timedelta:
    """`daemon.jitter_minutes` times this installation's fraction, drawn once at random and
    kept in the database, so a restart keeps its spot and installations spread evenly."""
    import random

    fraction_text = store.get_meta(JITTER_KEY)
    if not fraction_text:
        fraction_text = repr(random.random())
        store.set_meta(JITTER_KEY, fraction_text)
    seconds = settings.daemon_jitter_minutes * 60 * float(fraction_text)
    return timedelta(seconds=round(seconds))


def stop_on_signals(stop: threading.Event) -> Callable[[], int | None]:
    """Make SIGTERM and SIGINT set `stop`; returns a function telling which signal came."""
    received: list[int] = []

    def handler(signum: int, _frame: Any) -> None:
        received.append(signum)
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
    return lambda: received[0] if received else None


def amfi_client_factory(settings: Settings, stop: threading.Event) -> Callable[[], Any]:
    """AmfiClients configured like `mftrack nav` (cli/nav.py make_client), but whose retry
    pauses end as soon as the daemon is asked to stop."""

    def make() -> Any:
        from mftrack.adapters.amfi.client import AmfiClient

        return AmfiClient(
            settings.amfi_navall_url,
            settings.amfi_history_url,
            settings.mfapi_base_url,
            timeout=settings.network_timeout,
            retries=settings.network_retries,
            deadline=settings.network_deadline,
            sleep=stop.wait,
            on_retry=logging.getLogger("mftrack.daemon.network").info,
        )

    return make


def run_daemon(
    *,
    paths: Paths,
    settings: Settings,
    stop: threading.Event,
    timetable: Timetable,
    verbose: bool = False,
    clock: Callable[[], datetime] = ist_now,
    sleep: Callable[[float], object] | None = None,
) -> None:
    """Run until `stop` is set. Raises BusyError if a daemon already runs for `paths`.

    `clock` is the daemon's only source of time: the job windows, the retries and the log
    lines (and so the midnight switch to the next day's file) follow it. `sleep` waits between
    jobs (default `stop.wait`); tests pass a clock and a sleep that advances it."""
    from mftrack.adapters.logfiles import configure_logging, remove_handlers
    from mftrack.adapters.sqlite.store import LocalStore
    from mftrack.daemon.jobs import JobContext, build_jobs
    from mftrack.daemon.lock import DaemonLock
    from mftrack.daemon.runner import JobAbandoned, Runner, run_in_worker
    from mftrack.daemon.state import JobRunStore

    with DaemonLock(paths):
        level = logging.DEBUG if verbose else logging.INFO
        handlers = configure_logging(paths.log_dir, level=level, clock=clock)
        store = LocalStore(paths.database, backup_dir=paths.backup_dir)
        try:
            timetable = timetable.jittered(jitter_for(store, settings))
            ctx = JobContext(
                store=store,
                settings=settings,
                paths=paths,
                timetable=timetable,
                make_client=amfi_client_factory(settings, stop),
                stop=stop,
            )
            runner = Runner(
                build_jobs(ctx),
                state=JobRunStore(store),
                clock=clock,
                sleep=stop.wait if sleep is None else sleep,
                stop=stop,
                execute=run_in_worker(stop, grace=STOP_GRACE),
            )
            mode = f", compressed to {timetable.compressed}" if timetable.compressed else ""
            if timetable.sync_offset:
                mode += f", jitter {timetable.sync_offset}"
            log.info("daemon started (pid %d, data %s%s)", os.getpid(), paths.data_dir, mode)
            with contextlib.suppress(JobAbandoned):  # logged by the runner; exit all the same
                runner.run()
            log.info("daemon stopped")
        finally:
            store.close()
            remove_handlers(handlers)
