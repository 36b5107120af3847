"""Transactions sync exactly as SIPs do (issue 11 part 5): `sync_now` against the stand-in on the
real PostgreSQL, two or three devices of one user. Edits merge per field, removals win and
stay tombstones, refused changes become dead letters, a failed page resumes, resets and
tombstone purges settle the ledger like the SIPs, and a server without the table stops the
sync before anything is spent."""

from __future__ import annotations

import os
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mftrack.adapters.sqlite.outbox import SYNCED_TABLES
from mftrack.adapters.sqlite.sync_store import SyncStore
from mftrack.adapters.sqlite.synced_tables import TABLES
from mftrack.domain.transactions import TxnKind, TxnSource
from mftrack.errors import ConfigError, NetworkError
from mftrack.services.sync import SyncProgress, sync_status
from tests.standin import StandIn
from tests.sync_support import (
    PULL,
    PUSH,
    Device,
    assert_converged,
    make_device,
    new_user,
    purge_all_tombstones,
    server_txns,
)

pytestmark = pytest.mark.postgres


@pytest.fixture
def user(standin: StandIn) -> str:
    return new_user(standin)[1]


@pytest.fixture
def pair(standin: StandIn, user: str, tmp_path: Path) -> tuple[Device, Device]:
    a = make_device(standin, user, tmp_path / "a", "a")
    b = make_device(standin, user, tmp_path / "b", "b")
    yield a, b
    a.close()
    b.close()


def live(dev: Device) -> list[str]:
    return sorted(t.id for t in dev.store.list_transactions())


def test_the_client_knows_every_table_the_outbox_queues() -> None:
    assert set(TABLES) == SYNCED_TABLES


def test_edits_and_removals_converge_per_field(
    standin: StandIn, pair: tuple[Device, Device]
) -> None:
    a, b = pair
    sip = a.add(label="monthly")
    bought = a.record(units=Decimal("412.371"), nav=Decimal("121.2500"), folio="1234567/89")
    sold = a.record(kind=TxnKind.REDEMPTION, units=Decimal("100.5"), amount=Decimal("13000"))
    keep = a.record(scheme_code=118989, amount=Decimal("2500.50"), sip_id=sip)
    report = a.sync()
    assert (report.pushed, report.pulled) == (4, 4)
    assert b.sync().pulled == 4
    assert live(b) == sorted([bought, sold, keep])

    # b adds a note, a corrects the units of the same purchase: both survive
    b.edit(bought, note="from the statement")
    a.edit(bought, units=Decimal("412.372"))
    a.edit(sold, deleted=True)  # a removes the sale ...
    b.edit(sold, note="b had not heard")  # ... while b edits it: the removal wins
    b.sync()
    report = a.sync()
    assert report.conflicts == 2  # both of a's changes had been overtaken by b's
    b.sync()
    assert_converged(standin, a.user_id, [a, b])
    for dev in (a, b):
        txn = dev.store.get_transaction(bought)
        assert (txn.units, txn.note, txn.folio) == (
            Decimal("412.372"),
            "from the statement",
            "1234567/89",
        )
        assert live(dev) == sorted([bought, keep])
        removed = dev.store.get_transaction(sold, include_deleted=True)
        assert removed.deleted and removed.note == "b had not heard"
    assert b.sync().requests == 1  # nothing to do: one pull


def test_the_same_statement_imported_on_two_devices_ends_as_one_copy(
    standin: StandIn, pair: tuple[Device, Device]
) -> None:
    """Import keys are unique per account (server) and per database (local): the second
    device's copies are refused (23505, dead letters), dropped, and the first device's rows
    pulled in their place."""
    a, b = pair
    keys = [f"cas:1234567/89:120503:2024-0{m}-12:sip:41.2:5000" for m in (1, 2, 3)]
    for dev in (a, b):
        for key in keys:
            dev.record(
                kind=TxnKind.SIP,
                source=TxnSource.CAS,
                import_key=key,
                units=Decimal("41.2"),
                amount=Decimal("5000"),
            )
    a.sync()
    report = b.sync()
    assert (report.pushed, report.rejected) == (3, 3)
    assert {d.code for d in sync_status(store=b.store).dead_letters} == {"23505"}
    a.sync()
    server = assert_converged(standin, a.user_id, [a, b])
    assert server == {}  # no SIPs
    assert sorted(t["import_key"] for t in server_txns(standin, a.user_id).values()) == keys
    assert live(a) == live(b) and len(live(b)) == 3


def test_a_refused_change_is_a_dead_letter_and_the_row_takes_the_server_s_values(
    standin: StandIn, pair: tuple[Device, Device]
) -> None:
    a, _ = pair
    txn = a.record(note="ok")
    a.sync()
    a.edit(txn, note="n" * 1001)  # the CLI caps notes at 500; a bug might not
    a.edit(txn, folio="F-9")  # a later change of another field goes through
    report = a.sync()
    assert report.rejected == 1
    (dead,) = sync_status(store=a.store).dead_letters
    assert (dead.table, dead.row_id, dead.code) == ("transactions", txn, "23514")
    stored = a.store.get_transaction(txn)
    assert (stored.note, stored.folio) == ("ok", "F-9")
    assert_converged(standin, a.user_id, [a])


def test_a_refused_new_transaction_is_removed_locally(
    standin: StandIn, pair: tuple[Device, Device]
) -> None:
    a, _ = pair
    bad = a.record(note="x" * 1001)
    good = a.record()
    assert a.sync().rejected == 1
    assert live(a) == [good] and bad not in a.txns()
    assert_converged(standin, a.user_id, [a])


def test_a_failed_page_resumes_from_the_last_applied_page(
    standin: StandIn, pair: tuple[Device, Device]
) -> None:
    a, b = pair
    for i in range(7):
        a.record(amount=Decimal(1000 + i))
    a.sync()

    def fail_second_page(event: SyncProgress) -> None:
        if event.stage == "pull" and event.report.pages == 1:
            standin.fail_next(PULL, 500)

    with pytest.raises(NetworkError):
        b.sync(page_size=3, progress=fail_second_page)
    assert len(b.txns()) == 3  # page 1 and its cursor were committed together
    cursor = SyncStore(b.store).cursor()
    assert (cursor.version, cursor.row_id) == (1, max(b.txns()))
    assert b.sync(page_size=3).pulled == 4  # the rest only
    assert_converged(standin, a.user_id, [a, b])


def test_after_a_restore_transactions_the_server_lost_are_pushed_again(
    standin: StandIn, pair: tuple[Device, Device]
) -> None:
    a, b = pair
    ids = [a.record(amount=Decimal(100 * (i + 1))) for i in range(3)]
    a.sync()
    b.sync()
    standin.sql("delete from public.transactions where id = %s", ids[2])
    standin.sql("select public.rotate_sync_epoch(%s)", a.user_id)
    report = a.sync()
    assert report.reset == "restore" and report.requeued == 1
    assert ids[2] in server_txns(standin, a.user_id)
    assert b.sync().reset == "restore"
    assert_converged(standin, a.user_id, [a, b])


def test_purged_tombstones_and_a_re_import_of_their_key(
    standin: StandIn, pair: tuple[Device, Device], tmp_path: Path
) -> None:
    """A device keeps a tombstone it pulled after the server purged it; when a third device
    later imports the same statement row, the pulled row takes the key from that tombstone."""
    a, b = pair
    key = "cas:1234567/89:120503:2024-03-12:purchase:-:50000"
    keep = a.record()
    gone = a.record(import_key=key, source=TxnSource.CAS)
    a.sync()
    b.sync()
    a.edit(gone, deleted=True)
    a.sync()
    b.sync()  # b holds the tombstone
    time.sleep(0.01)
    assert purge_all_tombstones(standin) >= 1  # (other tests' users share the database)
    assert gone not in server_txns(standin, a.user_id)
    c = make_device(standin, a.user_id, tmp_path / "c", "c")
    again = c.record(import_key=key, source=TxnSource.CAS)
    c.sync()
    report = b.sync()
    assert report.pulled == 1 and report.reset is None
    assert set(b.txns()) == {keep, again}  # the tombstone gave way
    assert b.store.existing_import_keys([key]) == {key}
    a.sync()
    assert set(a.txns()) == {keep, again}
    assert_converged(standin, a.user_id, [a, b, c])
    c.close()


def test_a_server_without_the_table_stops_the_sync_before_pushing(
    standin: StandIn, pair: tuple[Device, Device]
) -> None:
    """An older hosted schema (20261205150000_transactions.sql not deployed): a pushed change
    of an unknown table would be refused and its mid spent, so it could never reach the
    server. The sync stops first (exit 6), with the outbox as it was."""
    a, _ = pair
    a.add()
    a.record()
    standin.sql("delete from private.sync_tables where table_name = 'transactions'")
    try:
        with pytest.raises(ConfigError, match="older than this mftrack"):
            a.sync()
        assert len(a.outbox()) == 2 and standin.requests("/rest/v1/rpc/sync_push") == []
    finally:
        standin.sql("insert into private.sync_tables (table_name) values ('transactions')")
    assert a.sync().pushed == 2
    assert SyncStore(a.store).server_tables() == {"transactions"}
    a.record()
    standin.clear_request_log()
    a.sync()  # checked once per database
    assert standin.requests("/rest/v1/rpc/sync_fetch") == []
    assert_converged(standin, a.user_id, [a])


# --- random scenarios -----------------------------------------------------------------------

txn_op = st.one_of(
    st.tuples(st.just("record"), st.integers(0, 2), st.integers(0, 50)),
    st.tuples(st.just("import"), st.integers(0, 2), st.integers(0, 3)),  # shared import keys
    st.tuples(st.just("edit"), st.integers(0, 2), st.integers(0, 50)),
    st.tuples(st.just("remove"), st.integers(0, 2), st.integers(0, 50)),
    st.tuples(
        st.just("sync"),
        st.integers(0, 2),
        st.sampled_from(("", "", "lose_push", "fail_pull2", "lose_pull", "rotate_epoch")),
    ),
)


def _sync(standin: StandIn, dev: Device, fault: object) -> None:
    progress = None
    if fault == "lose_push":
        standin.lose_next_response(PUSH)
    elif fault == "lose_pull":
        standin.lose_next_response(PULL)
    elif fault == "rotate_epoch":
        standin.sql("select public.rotate_sync_epoch(%s)", dev.user_id)
    elif fault == "fail_pull2":

        def progress(event: SyncProgress) -> None:
            if event.stage == "pull" and event.report.pages == 1:
                standin.fail_next(PULL, 500)

    try:
        dev.sync(progress=progress, page_size=2)
    except NetworkError:
        pass
    finally:
        standin.clear_faults()


@settings(
    max_examples=int(os.environ.get("SYNC_PROPERTY_EXAMPLES", 25)),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=st.lists(txn_op, min_size=5, max_size=30), n_devices=st.integers(2, 3))
def test_random_ledger_edits_on_devices_converge(
    standin: StandIn, tmp_path_factory: Any, ops: list[tuple[Any, ...]], n_devices: int
) -> None:
    """Devices record, import (the same statement rows on several devices), edit and remove
    transactions offline and sync in random orders through faults; then every device holds
    exactly the server's rows, and no transaction that was recorded and never removed is
    lost."""
    user = new_user(standin)[1]
    root = tmp_path_factory.mktemp("ledger")
    devices = [make_device(standin, user, root / str(i), str(i)) for i in range(n_devices)]
    kept: set[str] = set()
    removed: set[str] = set()
    try:
        for op, who, value in ops:
            dev = devices[who % n_devices]
            mine = sorted(dev.store.list_transactions(), key=lambda t: t.id)
            if op == "record":
                kept.add(dev.record(amount=Decimal(1000 + value), note=f"n{value}"))
            elif op == "import":
                key = f"cas:F1:120503:2024-01-{value + 10}:purchase:-:5000"
                if not dev.store.existing_import_keys([key]):
                    dev.record(source=TxnSource.CAS, import_key=key, amount=Decimal(5000))
            elif op == "edit" and mine:
                txn = mine[value % len(mine)]
                if value % 2:
                    dev.edit(txn.id, note=f"edited {value}")
                else:
                    dev.edit(txn.id, units=Decimal(value + 1) / 8, nav=Decimal("101.25"))
            elif op == "remove" and mine:
                txn = mine[value % len(mine)]
                dev.edit(txn.id, deleted=True)
                removed.add(txn.id)
            elif op == "sync":
                _sync(standin, dev, value)
        for dev in devices + devices:  # every device sees everything, twice round
            dev.sync()
        assert_converged(standin, user, devices)
        server = server_txns(standin, user)
        assert kept - removed <= {rid for rid, row in server.items() if not row["deleted"]}
        keys = [row["import_key"] for row in server.values() if row["import_key"]]
        assert len(keys) == len(set(keys))
    finally:
        for dev in devices:
            dev.close()
