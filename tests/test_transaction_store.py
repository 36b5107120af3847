"""The `transactions` table (migration 0003) and its LocalStore methods, on real files."""

from __future__ import annotations

import json
import sqlite3
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from mftrack.adapters.sqlite.migrate import HEAD_REVISION, migration_engine, upgrade
from mftrack.adapters.sqlite.store import LocalStore
from mftrack.domain.sips import Pause, Sip, StepUp, StepUpKind
from mftrack.domain.transactions import Transaction, TxnKind, TxnSource
from mftrack.errors import NotFoundError, StorageError
from tests.helpers import mfapi_file

NOW = datetime(2026, 12, 5, 10, 0, tzinfo=UTC)


def open_store(tmp_path: Path) -> LocalStore:
    return LocalStore(tmp_path / "db" / "mftrack.db", backup_dir=tmp_path / "backups")


def txn(kind: TxnKind = TxnKind.PURCHASE, day: date = date(2024, 3, 12), **extra) -> Transaction:
    values = {
        "id": str(uuid.uuid4()),
        "scheme_code": 120503,
        "kind": kind,
        "trade_date": day,
        "amount": Decimal("50000.00"),
        "created_at": NOW,
        "updated_at": NOW,
    } | extra
    return Transaction(**values)


def outbox(store: LocalStore) -> list[tuple]:
    with store.reading() as conn:
        return conn.execute(
            "select table_name, row_id, base_version, fields, deleted from outbox order by mid"
        ).fetchall()


def test_insert_lists_by_trade_date_then_creation_and_round_trips_exactly(
    tmp_path: Path,
) -> None:
    store = open_store(tmp_path)
    later = txn(
        day=date(2024, 5, 2),
        units=Decimal("123.4560"),
        nav=Decimal("81.00321"),
        stamp_duty=Decimal("2.50"),
        folio="1234567/89",
        note="from the statement",
        source=TxnSource.CSV,
        import_key="csv:abc",
    )
    first = txn(day=date(2024, 1, 2), created_at=datetime(2026, 12, 5, 11, tzinfo=UTC))
    same_day = txn(day=date(2024, 1, 2), kind=TxnKind.REDEMPTION, units=Decimal("1.5"))
    assert store.insert_transactions([later, first, same_day]) == 3
    listed = store.list_transactions()
    assert [t.id for t in listed] == [same_day.id, first.id, later.id]
    assert listed[2] == later  # every field, Decimal text and scale included
    assert str(listed[2].units) == "123.4560"
    assert store.get_transaction(later.id[:6]) == later


def test_filters_by_scheme_and_inclusive_dates(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    rows = [txn(day=date(2024, m, 1)) for m in (1, 2, 3)] + [txn(scheme_code=122639)]
    store.insert_transactions(rows)
    got = store.list_transactions(
        scheme_codes={120503}, start=date(2024, 2, 1), end=date(2024, 3, 1)
    )
    assert [t.trade_date for t in got] == [date(2024, 2, 1), date(2024, 3, 1)]
    assert store.list_transactions(scheme_codes=[]) == []
    assert len(store.list_transactions(scheme_codes=[122639])) == 1


def test_every_write_is_queued_for_sync_as_a_transactions_row(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    row = txn()
    store.insert_transactions([row])
    store.update_transaction(row.id, {"note": "lump sum", "updated_at": NOW.isoformat()})
    store.update_transaction(row.id, {"deleted": True})
    queued = outbox(store)
    assert [q[0] for q in queued] == ["transactions"] * 3
    assert {q[1] for q in queued} == {row.id}
    created = json.loads(queued[0][3])
    assert created["amount"] == "50000.00" and created["kind"] == "purchase"
    assert created["trade_date"] == "2024-03-12" and created["deleted"] is False
    assert json.loads(queued[1][3]) == {"note": "lump sum", "updated_at": NOW.isoformat()}
    assert queued[2][4] == 1
    assert store.list_transactions() == []
    assert store.list_transactions(include_deleted=True)[0].deleted is True
    with pytest.raises(NotFoundError, match="no transaction"):
        store.get_transaction(row.id)
    assert store.get_transaction(row.id, include_deleted=True).note == "lump sum"


def test_a_failed_write_changes_nothing_and_queues_nothing(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    store.insert_transactions([txn(import_key="k1")])
    with pytest.raises(StorageError, match=r"UNIQUE constraint failed: transactions\.import_key"):
        store.insert_transactions([txn(import_key="k2"), txn(import_key="k1")])
    assert [t.import_key for t in store.list_transactions()] == ["k1"]
    assert len(outbox(store)) == 1
    with pytest.raises(ValueError, match="not transaction fields"):
        store.update_transaction(store.list_transactions()[0].id, {"colour": "red"})
    with pytest.raises(NotFoundError):
        store.update_transaction(str(uuid.uuid4()), {"note": "x"})
    assert len(outbox(store)) == 1


def test_import_keys_are_found_removed_rows_included(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    gone = txn(import_key="cas:gone")
    store.insert_transactions([txn(import_key="cas:a"), gone, txn()])
    store.update_transaction(gone.id, {"deleted": True})
    keys = [f"cas:{n}" for n in range(1200)] + ["cas:a", "cas:gone", "cas:new"]
    assert store.existing_import_keys(keys) == {"cas:a", "cas:gone"}
    assert store.existing_import_keys([]) == set()


def test_id_prefixes_must_be_long_enough_and_unique(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    store.insert_transactions(
        [
            txn(id="abcd0000-0000-4000-8000-000000000001"),
            txn(id="abcd0000-0000-4000-8000-000000000002"),
        ]
    )
    with pytest.raises(NotFoundError, match="too short"):
        store.get_transaction("abc")
    with pytest.raises(NotFoundError, match="matches 2"):
        store.get_transaction("abcd0000")
    assert store.get_transaction("ABCD0000-0000-4000-8000-000000000002").id.endswith("2")


def test_save_transactions_inserts_and_updates_in_one_transaction(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    estimated = txn()
    store.insert_transactions([estimated])
    with pytest.raises(NotFoundError):
        store.save_transactions(
            insert=[txn(import_key="new")], update={str(uuid.uuid4()): {"units": "1"}}
        )
    assert len(store.list_transactions()) == 1 and len(outbox(store)) == 1
    store.save_transactions(
        insert=[txn(import_key="new")], update={estimated.id: {"units": "600.123"}}
    )
    assert store.get_transaction(estimated.id).units == Decimal("600.123")
    assert len(store.list_transactions()) == 2 and len(outbox(store)) == 3


# --- upgrade from schema 0002 --------------------------------------------------------------


def database_at_0002(tmp_path: Path) -> tuple[Path, list[Sip]]:
    """A real database at schema 0002 (the 0002 migrations), filled through today's write code
    (`save_navs`, `insert_sip`, `update_sip`, which 0003 does not change) with real NAVs."""
    from mftrack.adapters.amfi.mfapi import parse_mfapi

    db = tmp_path / "db" / "mftrack.db"
    db.parent.mkdir(parents=True)
    engine = migration_engine(db)
    upgrade(engine, "0002")
    engine.dispose()
    writer = object.__new__(LocalStore)  # the store's methods without its open-time upgrade
    writer.path = db
    for code in (120503, 122639):
        parsed = parse_mfapi(mfapi_file(code).read_text())
        writer.save_navs(parsed.schemes, parsed.quotes, source="mfapi")
    sips = [
        Sip(
            id=str(uuid.uuid4()),
            scheme_code=120503,
            amount=Decimal("5000.00"),
            start_date=date(2021, 4, 5),
            day=5,
            step_up=StepUp(StepUpKind.PERCENT, Decimal(10)),
            pauses=(Pause(date(2022, 1, 1), date(2022, 3, 31)),),
            label="tax saver",
            created_at=NOW,
            updated_at=NOW,
        ),
        Sip(
            id=str(uuid.uuid4()),
            scheme_code=122639,
            amount=Decimal("2500.50"),
            start_date=date(2019, 1, 31),
            day=31,
            end_date=date(2024, 12, 31),
            created_at=NOW,
            updated_at=NOW,
        ),
    ]
    for sip in sips:
        writer.insert_sip(sip)
    writer.update_sip(sips[1].id, {"deleted": True})
    with sqlite3.connect(db) as conn:
        assert conn.execute("select version_num from alembic_version").fetchone() == ("0002",)
    conn.close()
    return db, sips


def test_upgrade_from_0002_keeps_every_sip_nav_and_queued_change(tmp_path: Path) -> None:
    db, sips = database_at_0002(tmp_path)
    with sqlite3.connect(db) as conn:
        navs_before = conn.execute("select * from navs order by 1, 2").fetchall()
        outbox_before = conn.execute("select * from outbox order by mid").fetchall()
        sips_before = conn.execute("select * from sips order by id").fetchall()
    conn.close()
    assert len(navs_before) > 5000  # two real histories, 2013-2025

    store = open_store(tmp_path)
    with store.reading() as conn:
        assert conn.execute("select version_num from alembic_version").fetchone() == (
            HEAD_REVISION,
        )
        assert conn.execute("select * from navs order by 1, 2").fetchall() == navs_before
        assert conn.execute("select * from outbox order by mid").fetchall() == outbox_before
        assert conn.execute("select * from sips order by id").fetchall() == sips_before
        indexes = {
            r[0]
            for r in conn.execute(
                "select name from sqlite_master where type = 'index' and tbl_name = 'transactions'"
            )
        }
    by_id = {s.id: s for s in store.list_sips(include_deleted=True)}
    assert by_id[sips[0].id] == sips[0]
    assert by_id[sips[1].id].deleted is True
    assert store.nav_history(120503)[0] == (date(2013, 1, 2), Decimal("15.02530"))
    assert {"ix_transactions_scheme_date", "ux_transactions_import_key"} <= indexes
    assert store.list_transactions() == []
    (backup,) = (tmp_path / "backups").glob("mftrack-rev0002-*.db")
    old = sqlite3.connect(backup)
    assert old.execute("select count(*) from navs").fetchone() == (len(navs_before),)
    old.close()
    # The new table takes rows at once, and they queue beside the SIPs' entries.
    store.insert_transactions([txn()])
    assert [q[0] for q in outbox(store)][-1] == "transactions"
