"""Alembic environment: always called from `migrate.py` with an open connection.

The migration chain is the one definition of the schema (docs/architecture.md); there is no
SQLAlchemy table metadata to compare against.
"""

from __future__ import annotations

from alembic import context

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    render_as_batch=True,  # SQLite lacks most ALTER TABLE forms
)
with context.begin_transaction():
    context.run_migrations()
