"""The out-of-order-commit race (sync-protocol.md D.2): a slow writer holds the user's next
version open while two devices push concurrently and a third device keeps pulling. Whatever
the third device pulled meanwhile, one more sync leaves it with exactly the server's rows."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import psycopg
import pytest

from mftrack.errors import MftrackError
from tests.standin import StandIn
from tests.sync_support import (
    PUSH,
    Device,
    assert_converged,
    make_device,
    new_user,
    server_rows,
)

pytestmark = pytest.mark.postgres


def waiting_on_locks(standin: StandIn) -> int:
    return int(standin.sql_value(
        "select count(*) from pg_stat_activity where datname = current_database() "
        "and wait_event_type = 'Lock'"))


def wait_until(condition, timeout: float = 20) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


@pytest.mark.parametrize("delayed", ["a", "b"])
def test_a_pull_during_concurrent_pushes_misses_nothing(
        standin: StandIn, tmp_path: Path, delayed: str) -> None:
    _, user = new_user(standin)
    a, b, c = (make_device(standin, user, tmp_path / n, n) for n in "abc")
    seed = a.add(label="seed")
    a.sync()
    b.sync()
    c.sync()
    for i in range(3):
        a.add(label=f"a{i}")
        b.add(label=f"b{i}")
    errors: list[BaseException] = []

    def run(device: Device) -> None:
        try:
            device.sync()
        except MftrackError as exc:  # pragma: no cover - reported below
            errors.append(exc)

    # A slow writer takes the next version (the row lock on sync_state) and holds it.
    with psycopg.connect(standin.database_url) as slow:
        slow.execute("update public.sips set label = 'slow writer' where id = %s", (seed,))
        standin.delay_next(PUSH, 0.3)  # one of the two pushes arrives later
        pushers = [threading.Thread(target=run, args=(d,))
                   for d in ((a, b) if delayed == "a" else (b, a))]
        for thread in pushers:
            thread.start()
        wait_until(lambda: waiting_on_locks(standin) >= 2)  # both pushes wait for the lock
        seen_during = c.sync()  # the third device pulls while both are blocked
        assert seen_during.pulled == 0
        slow.commit()
    pulls_meanwhile = 0
    while any(t.is_alive() for t in pushers):
        c.sync()
        pulls_meanwhile += 1
    for thread in pushers:
        thread.join()
    assert errors == []
    c.sync()
    server = server_rows(standin, user)
    assert c.rows() == server  # nothing missed, nothing extra
    assert server[seed]["label"] == "slow writer" and len(server) == 7
    versions = sorted({row["version"] for row in server.values()})
    assert versions[-3:] == [versions[-3], versions[-3] + 1, versions[-3] + 2]
    for device in (a, b):
        device.sync()
    assert_converged(standin, user, [a, b, c])
    for device in (a, b, c):
        device.close()
