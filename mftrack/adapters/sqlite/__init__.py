"""The local SQLite store: engine (WAL, busy timeout), migrate-on-open, tables and queries.

Only this package knows SQLAlchemy. It imports SQLAlchemy Core (never the ORM) and Alembic
only when a migration has to run, so opening an up-to-date database stays cheap.
"""
