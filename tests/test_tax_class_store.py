"""Migration 0004 (`scheme_tax_class`) and the tax-class override reads and writes."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from mftrack.adapters.sqlite.migrate import HEAD_REVISION, migration_engine, upgrade
from mftrack.adapters.sqlite.store import LocalStore
from mftrack.adapters.sqlite.tax_classes import set_tax_class_override, tax_class_overrides
from mftrack.errors import StorageError


def open_store(tmp_path: Path) -> LocalStore:
    return LocalStore(tmp_path / "db" / "mftrack.db", backup_dir=tmp_path / "backups")


def test_an_0003_database_upgrades_to_0004_and_keeps_its_rows(tmp_path: Path) -> None:
    db = tmp_path / "db" / "mftrack.db"
    db.parent.mkdir(parents=True)
    engine = migration_engine(db)
    upgrade(engine, "0003")
    engine.dispose()
    with sqlite3.connect(db) as conn:
        conn.execute("insert into meta (key, value) values ('probe', 'kept')")
    conn.close()
    store = open_store(tmp_path)
    assert HEAD_REVISION == "0004"
    with store.reading() as conn:
        assert conn.execute("select version_num from alembic_version").fetchone() == ("0004",)
        assert conn.execute("select value from meta where key = 'probe'").fetchone() == ("kept",)


def test_overrides_are_set_replaced_and_removed(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    assert tax_class_overrides(store, [120716]) == {}
    set_tax_class_override(store, 120716, "equity")
    set_tax_class_override(store, 119551, "debt")
    set_tax_class_override(store, 120716, "hybrid")
    assert tax_class_overrides(store, [120716, 119551, 1]) == {120716: "hybrid", 119551: "debt"}
    set_tax_class_override(store, 120716, None)
    assert tax_class_overrides(store, [120716, 119551]) == {119551: "debt"}
    assert tax_class_overrides(store, []) == {}


def test_the_table_refuses_a_class_that_does_not_exist(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    with pytest.raises(StorageError, match="CHECK constraint"):
        set_tax_class_override(store, 120716, "gold")
    assert tax_class_overrides(store, [120716]) == {}
