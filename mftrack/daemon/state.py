"""The `job_runs` table: each job's last run, result, message and next run.

The daemon writes it as jobs start and finish; `mftrack daemon status` reads it from any shell.
Times are stored as ISO-8601 UTC text like every timestamp in the database; messages pass
through `redact()` first, since an error message may quote a URL or a server's answer.

(LocalStore has no job_runs API yet, so the few statements live here, each in its own short
transaction; they would move into `adapters/sqlite/store.py` if another caller appears.)
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from mftrack.adapters.logfiles import redact
from mftrack.adapters.sqlite.daemon_tables import job_run_rows, upsert_job_run

if TYPE_CHECKING:
    from mftrack.adapters.sqlite.store import LocalStore
    from mftrack.daemon.runner import JobResult

MESSAGE_LIMIT = 2000


def _utc(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="seconds")


def parse_utc(text: str | None) -> datetime | None:
    return None if not text else datetime.fromisoformat(text)


@dataclass(frozen=True, slots=True)
class JobRun:
    """One row of `job_runs`."""

    job: str
    last_started_at: datetime | None
    last_finished_at: datetime | None
    last_result: str | None
    last_message: str | None
    next_run_at: datetime | None
    consecutive_failures: int

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for key, value in data.items():
            if isinstance(value, datetime):
                data[key] = value.isoformat()
        return data


class JobRunStore:
    """`runner.JobState` over the local database."""

    def __init__(self, store: LocalStore) -> None:
        self.store = store

    def _upsert(self, job: str, values: dict[str, Any]) -> None:
        upsert_job_run(self.store, job, values)

    def failures(self) -> dict[str, int]:
        return {run.job: run.consecutive_failures for run in read_job_runs(self.store)}

    def scheduled(self, job: str, next_run: datetime) -> None:
        self._upsert(job, {"next_run_at": _utc(next_run)})

    def started(self, job: str, at: datetime) -> None:
        self._upsert(job, {"last_started_at": _utc(at)})

    def finished(
        self, job: str, *, at: datetime, result: JobResult, next_run: datetime, failures: int
    ) -> None:
        self._upsert(
            job,
            {
                "last_finished_at": _utc(at),
                "last_result": result.status,
                "last_message": redact(result.message)[:MESSAGE_LIMIT],
                "next_run_at": _utc(next_run),
                "consecutive_failures": failures,
            },
        )


def read_job_runs(store: LocalStore) -> list[JobRun]:
    """Every job's row, by job name."""
    rows = job_run_rows(store)
    return [
        JobRun(
            job=row[0],
            last_started_at=parse_utc(row[1]),
            last_finished_at=parse_utc(row[2]),
            last_result=row[3],
            last_message=row[4],
            next_run_at=parse_utc(row[5]),
            consecutive_failures=int(row[6] or 0),
        )
        for row in rows
    ]
