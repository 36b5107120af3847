"""Alembic environment: always called from `engine.py` with an open connection."""

from __future__ import annotations

from alembic import context

from mftrack.adapters.sqlite.tables import metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=True,  # SQLite lacks most ALTER TABLE forms
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
