"""Table definitions (SQLAlchemy Core). Persistence shape only; domain types live in domain/.

Decimals are stored as TEXT so they round-trip exactly; dates as ISO-8601 TEXT; timestamps as
ISO-8601 UTC TEXT. Alembic migrations in `migrations/versions` must produce exactly this.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Index, Integer, MetaData, String, Table, Text

metadata = MetaData()

schemes = Table(
    "schemes",
    metadata,
    Column("scheme_code", Integer, primary_key=True, autoincrement=False),
    Column("name", Text, nullable=False),
    Column("isin_growth", String(12)),
    Column("isin_reinvest", String(12)),
    Column("plan", Text),
    Column("option", Text),
    Column("category", Text),
    Column("scheme_type", Text),
    Column("fund_house", Text),
    Column("latest_nav", Text),  # Decimal as text
    Column("latest_nav_date", String(10)),  # ISO date
    Column("updated_at", String(32), nullable=False),
)
Index("ix_schemes_isin_growth", schemes.c.isin_growth)
Index("ix_schemes_isin_reinvest", schemes.c.isin_reinvest)

navs = Table(
    "navs",
    metadata,
    Column("scheme_code", Integer, primary_key=True, autoincrement=False),
    Column("nav_date", String(10), primary_key=True),
    Column("nav", Text, nullable=False),
    Column("source", String(16), nullable=False),
    sqlite_with_rowid=False,
)

sips = Table(
    "sips",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("scheme_code", Integer, nullable=False, index=True),
    Column("amount", Text, nullable=False),
    Column("start_date", String(10), nullable=False),
    Column("sip_day", Integer, nullable=False),
    Column("end_date", String(10)),
    Column("step_up_kind", String(8)),
    Column("step_up_value", Text),
    Column("pauses", Text, nullable=False, server_default="[]"),  # JSON
    Column("amount_changes", Text, nullable=False, server_default="[]"),  # JSON
    Column("label", Text),
    Column("created_at", String(32), nullable=False),
    Column("updated_at", String(32), nullable=False),
    Column("deleted", Boolean, nullable=False, server_default="0"),
    # Sync bookkeeping: the last server version this device saw for the row.
    Column("server_version", Integer, nullable=False, server_default="0"),
)

# Every local change to a synced row is queued here in the same transaction as the change
# (sync-protocol.md D.4). `mid` is the client's mutation id, pushed in order.
outbox = Table(
    "outbox",
    metadata,
    Column("mid", Integer, primary_key=True, autoincrement=True),
    Column("table_name", String(32), nullable=False),
    Column("row_id", String(36), nullable=False),
    Column("base_version", Integer, nullable=False),
    Column("fields", Text, nullable=False),  # JSON object of changed fields
    Column("deleted", Boolean, nullable=False, server_default="0"),
    Column("created_at", String(32), nullable=False),
    sqlite_autoincrement=True,
)

meta = Table(
    "meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

# The daemon's jobs: last run, result and next run, so `mftrack daemon status` works from
# another shell.
job_runs = Table(
    "job_runs",
    metadata,
    Column("job", String(32), primary_key=True),
    Column("last_started_at", String(32)),
    Column("last_finished_at", String(32)),
    Column("last_result", String(16)),  # ok | error | skipped
    Column("last_message", Text),
    Column("next_run_at", String(32)),
    Column("consecutive_failures", Integer, nullable=False, server_default="0"),
)

# Daily portfolio valuation precomputed by the daemon after each NAV update; scheme_code 0 is
# the whole portfolio. Charts and the report read it instead of recomputing.
valuations = Table(
    "valuations",
    metadata,
    Column("valuation_date", String(10), primary_key=True),
    Column("scheme_code", Integer, primary_key=True, autoincrement=False),
    Column("invested", Text, nullable=False),
    Column("units", Text, nullable=False),
    Column("value", Text, nullable=False),
    sqlite_with_rowid=False,
)

# Outbox entries the server rejected for good (constraint, RLS, bad data): kept for the user
# to see in `mftrack sync status`, out of the queue so it never jams.
dead_letters = Table(
    "dead_letters",
    metadata,
    Column("mid", Integer, primary_key=True, autoincrement=False),
    Column("table_name", String(32), nullable=False),
    Column("row_id", String(36), nullable=False),
    Column("base_version", Integer, nullable=False),
    Column("fields", Text, nullable=False),
    Column("deleted", Boolean, nullable=False, server_default="0"),
    Column("code", String(16)),
    Column("message", Text),
    Column("failed_at", String(32), nullable=False),
)
