"""The tax class a user set for a scheme (issue 12: `mftrack scheme set-tax-class`).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "scheme_tax_class",
        sa.Column("scheme_code", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("tax_class", sa.String(8), nullable=False),
        sa.Column("updated_at", sa.String(32), nullable=False),
        sa.CheckConstraint(
            "tax_class in ('equity', 'debt', 'other', 'hybrid')", name="ck_tax_class"
        ),
    )


def downgrade() -> None:
    op.drop_table("scheme_tax_class")
