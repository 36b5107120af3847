"""Daemon job status, precomputed daily valuations, and sync dead letters.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "job_runs",
        sa.Column("job", sa.String(32), primary_key=True),
        sa.Column("last_started_at", sa.String(32)),
        sa.Column("last_finished_at", sa.String(32)),
        sa.Column("last_result", sa.String(16)),
        sa.Column("last_message", sa.Text),
        sa.Column("next_run_at", sa.String(32)),
        sa.Column("consecutive_failures", sa.Integer, nullable=False, server_default="0"),
    )
    op.create_table(
        "valuations",
        sa.Column("valuation_date", sa.String(10), primary_key=True),
        sa.Column("scheme_code", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("invested", sa.Text, nullable=False),
        sa.Column("units", sa.Text, nullable=False),
        sa.Column("value", sa.Text, nullable=False),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "dead_letters",
        sa.Column("mid", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("table_name", sa.String(32), nullable=False),
        sa.Column("row_id", sa.String(36), nullable=False),
        sa.Column("base_version", sa.Integer, nullable=False),
        sa.Column("fields", sa.Text, nullable=False),
        sa.Column("deleted", sa.Boolean, nullable=False, server_default="0"),
        sa.Column("code", sa.String(16)),
        sa.Column("message", sa.Text),
        sa.Column("failed_at", sa.String(32), nullable=False),
    )


def downgrade() -> None:
    for name in ("dead_letters", "valuations", "job_runs"):
        op.drop_table(name)
