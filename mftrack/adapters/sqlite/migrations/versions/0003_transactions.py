"""The transaction ledger: what the registrar actually did (issue 11).

One row per purchase, sale or payout; removed rows stay as tombstones (`deleted`) so the
removal syncs, exactly as SIPs do. Decimals are canonical text (never floats), dates ISO text.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "transactions",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("scheme_code", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("trade_date", sa.String(10), nullable=False),
        sa.Column("amount", sa.Text),
        sa.Column("units", sa.Text),
        sa.Column("nav", sa.Text),
        sa.Column("stamp_duty", sa.Text),
        sa.Column("stt", sa.Text),
        sa.Column("folio", sa.Text),
        sa.Column("sip_id", sa.String(36)),
        sa.Column("link_id", sa.String(36)),
        sa.Column("source", sa.String(16), nullable=False, server_default="manual"),
        sa.Column("import_key", sa.Text),
        sa.Column("note", sa.Text),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("updated_at", sa.String(32), nullable=False),
        sa.Column("deleted", sa.Boolean, nullable=False, server_default="0"),
        sa.Column("server_version", sa.Integer, nullable=False, server_default="0"),
    )
    op.create_index("ix_transactions_scheme_date", "transactions", ["scheme_code", "trade_date"])
    # A re-import finds what it already added by this key (imports only; typed rows have none).
    op.create_index(
        "ux_transactions_import_key",
        "transactions",
        ["import_key"],
        unique=True,
        sqlite_where=sa.text("import_key is not null"),
    )


def downgrade() -> None:
    op.drop_index("ux_transactions_import_key", table_name="transactions")
    op.drop_index("ix_transactions_scheme_date", table_name="transactions")
    op.drop_table("transactions")
