"""Reads and writes of the daemon's tables: `job_runs` and the precomputed `valuations`.

Kept beside the store so SQL stays inside the adapter; callers pass plain values.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mftrack.adapters.sqlite.store import LocalStore

JOB_RUN_COLUMNS = (
    "job", "last_started_at", "last_finished_at", "last_result", "last_message", "next_run_at",
    "consecutive_failures",
)


def upsert_job_run(store: LocalStore, job: str, values: dict[str, Any]) -> None:
    """Set some columns of a job's row (created on first use)."""
    unknown = set(values) - set(JOB_RUN_COLUMNS)
    if unknown:
        raise ValueError(f"not job_runs columns: {sorted(unknown)}")
    cols = ", ".join(values)
    marks = ", ".join("?" * len(values))
    sets = ", ".join(f"{name} = excluded.{name}" for name in values)
    sql = (
        f"insert into job_runs (job, {cols}) values (?, {marks}) "
        f"on conflict (job) do update set {sets}"
    )
    with store.transaction() as conn:
        conn.execute(sql, (job, *values.values()))


def job_run_rows(store: LocalStore) -> list[tuple[Any, ...]]:
    """Every job's row (columns in JOB_RUN_COLUMNS order), by job name."""
    with store.reading() as conn:
        return [
            tuple(row)
            for row in conn.execute(
                f"select {', '.join(JOB_RUN_COLUMNS)} from job_runs order by job"
            ).fetchall()
        ]


ValuationTuple = tuple[date, int, Decimal, Decimal, Decimal]  # date, code, invested, units, value


def replace_valuations(store: LocalStore, rows: Sequence[ValuationTuple]) -> None:
    """Replace the whole series in one transaction (a history fetch can change past days)."""
    values = [
        (day.isoformat(), code, format(invested, "f"), format(units, "f"), format(value, "f"))
        for day, code, invested, units, value in rows
    ]
    with store.transaction() as conn:
        conn.execute("delete from valuations")
        if values:
            conn.executemany(
                "insert into valuations (valuation_date, scheme_code, invested, units, value) "
                "values (?, ?, ?, ?, ?)",
                values,
            )


def valuations_of(
    store: LocalStore, scheme_code: int, *, start: date | None = None, end: date | None = None
) -> list[ValuationTuple]:
    """The stored series of one scheme (0: the portfolio) in [start, end], oldest first."""
    low = (start or date.min).isoformat()
    high = (end or date.max).isoformat()
    with store.reading() as conn:
        found = conn.execute(
            "select valuation_date, scheme_code, invested, units, value from valuations "
            "where scheme_code = ? and valuation_date between ? and ? order by valuation_date",
            (scheme_code, low, high),
        ).fetchall()
    return [
        (date.fromisoformat(d), code, Decimal(i), Decimal(u), Decimal(v))
        for d, code, i, u, v in found
    ]
