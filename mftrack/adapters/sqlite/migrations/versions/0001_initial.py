"""Initial schema: schemes, NAVs, SIPs, the sync outbox, key/value meta.

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "schemes",
        sa.Column("scheme_code", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("isin_growth", sa.String(12)),
        sa.Column("isin_reinvest", sa.String(12)),
        sa.Column("plan", sa.Text),
        sa.Column("option", sa.Text),
        sa.Column("category", sa.Text),
        sa.Column("scheme_type", sa.Text),
        sa.Column("fund_house", sa.Text),
        sa.Column("latest_nav", sa.Text),
        sa.Column("latest_nav_date", sa.String(10)),
        sa.Column("updated_at", sa.String(32), nullable=False),
    )
    op.create_index("ix_schemes_isin_growth", "schemes", ["isin_growth"])
    op.create_index("ix_schemes_isin_reinvest", "schemes", ["isin_reinvest"])
    op.create_table(
        "navs",
        sa.Column("scheme_code", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("nav_date", sa.String(10), primary_key=True),
        sa.Column("nav", sa.Text, nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "sips",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("scheme_code", sa.Integer, nullable=False),
        sa.Column("amount", sa.Text, nullable=False),
        sa.Column("start_date", sa.String(10), nullable=False),
        sa.Column("sip_day", sa.Integer, nullable=False),
        sa.Column("end_date", sa.String(10)),
        sa.Column("step_up_kind", sa.String(8)),
        sa.Column("step_up_value", sa.Text),
        sa.Column("pauses", sa.Text, nullable=False, server_default="[]"),
        sa.Column("amount_changes", sa.Text, nullable=False, server_default="[]"),
        sa.Column("label", sa.Text),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("updated_at", sa.String(32), nullable=False),
        sa.Column("deleted", sa.Boolean, nullable=False, server_default="0"),
        sa.Column("server_version", sa.Integer, nullable=False, server_default="0"),
    )
    op.create_index("ix_sips_scheme_code", "sips", ["scheme_code"])
    op.create_table(
        "outbox",
        sa.Column("mid", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("table_name", sa.String(32), nullable=False),
        sa.Column("row_id", sa.String(36), nullable=False),
        sa.Column("base_version", sa.Integer, nullable=False),
        sa.Column("fields", sa.Text, nullable=False),
        sa.Column("deleted", sa.Boolean, nullable=False, server_default="0"),
        sa.Column("created_at", sa.String(32), nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "meta",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )


def downgrade() -> None:
    for name in ("meta", "outbox", "sips", "navs", "schemes"):
        op.drop_table(name)
