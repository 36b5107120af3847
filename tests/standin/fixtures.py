"""pytest fixtures for the Supabase stand-in.

Use them from a test module or conftest with either::

    pytest_plugins = ["tests.standin.fixtures"]          # in the root tests/conftest.py

or::

    from tests.standin.fixtures import standin, standin_server  # noqa: F401

* ``pg_admin_url`` (session scope): the maintenance URL of the test PostgreSQL, from the one
  variable ``MFTRACK_TEST_PG_URL`` (default ``postgresql://postgres@127.0.0.1:5432/postgres``),
  after checking that it answers. Skips the requesting tests when it does not; fails them
  instead when ``CI`` is set (CI starts the cluster: a skip would hide a broken set-up). Every
  Postgres-backed test gets its server through this fixture.
* ``standin_server`` (session scope): one stand-in per test run, on a throwaway
  ``mftrack_test_<random>`` database with bootstrap.sql and supabase/migrations applied;
  the database is dropped at the end.
* ``standin`` (function scope): the same object, with every knob reset (clock, faults,
  request log, OTP outbox, auth/REST settings) before and after the test.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterator

import pytest

from . import db
from .server import StandIn

# Test modules that import the fixtures each get their own copy of the session fixture, so
# the server itself is shared (reference-counted): one database and one server per run.
_lock = threading.Lock()
_shared: StandIn | None = None
_users = 0


def require_postgres() -> str:
    """``db.DEFAULT_ADMIN_URL`` (read from ``MFTRACK_TEST_PG_URL`` at import, before the
    per-test environment clean-up) if PostgreSQL answers there; otherwise skip, or fail in CI."""
    admin_url = db.DEFAULT_ADMIN_URL
    problem = db.check_server(admin_url)
    if problem is not None:
        message = f"PostgreSQL is not reachable at {admin_url}: {problem}"
        if os.environ.get("CI"):
            pytest.fail(message)  # CI starts the cluster: a skip would hide it
        pytest.skip(message)
    return admin_url


@pytest.fixture(scope="session")
def pg_admin_url() -> str:
    return require_postgres()


def _acquire(admin_url: str) -> StandIn:
    global _shared, _users
    with _lock:
        if _shared is None:
            db.drop_stale_databases(admin_url)
            server = StandIn.temporary(admin_url)
            server.start()
            _shared = server
        _users += 1
        return _shared


def _release() -> None:
    global _shared, _users
    with _lock:
        _users -= 1
        if _users <= 0 and _shared is not None:
            server, _shared, _users = _shared, None, 0
            server.close()


@pytest.fixture(scope="session")
def standin_server(pg_admin_url: str) -> Iterator[StandIn]:
    server = _acquire(pg_admin_url)
    try:
        yield server
    finally:
        _release()


@pytest.fixture
def standin(standin_server: StandIn) -> Iterator[StandIn]:
    standin_server.reset()
    yield standin_server
    standin_server.reset()


def unique_email(prefix: str = "user") -> str:
    """A fresh address, so tests sharing the session database never collide."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}@example.test"
