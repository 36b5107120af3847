from __future__ import annotations

import sqlite3
import threading
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mftrack.adapters.sqlite.migrate import HEAD_REVISION, KNOWN_REVISIONS, MIGRATIONS_DIR
from mftrack.adapters.sqlite.store import LocalStore
from mftrack.domain.schemes import NavQuote, SchemeInfo
from mftrack.errors import StorageError


def open_store(tmp_path: Path) -> LocalStore:
    return LocalStore(tmp_path / "db" / "mftrack.db", backup_dir=tmp_path / "backups")


def test_known_revisions_match_alembic_scripts() -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    script = ScriptDirectory.from_config(config)
    assert script.get_current_head() == HEAD_REVISION
    chain = [rev.revision for rev in script.walk_revisions()]
    assert sorted(chain) == sorted(KNOWN_REVISIONS)


def test_new_database_is_wal_and_stamped(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    store.close()
    conn = sqlite3.connect(tmp_path / "db" / "mftrack.db")
    assert conn.execute("pragma journal_mode").fetchone()[0] == "wal"
    assert conn.execute("select version_num from alembic_version").fetchone()[0] == HEAD_REVISION


def test_database_from_a_newer_mftrack_is_refused_untouched(tmp_path: Path) -> None:
    open_store(tmp_path).close()
    db = tmp_path / "db" / "mftrack.db"
    conn = sqlite3.connect(db)
    conn.execute("update alembic_version set version_num = '9999'")
    conn.commit()
    conn.close()
    before = db.read_bytes()
    with pytest.raises(StorageError, match="newer mftrack"):
        open_store(tmp_path)
    assert db.read_bytes() == before


def test_corrupt_file_is_a_storage_error(tmp_path: Path) -> None:
    db = tmp_path / "db" / "mftrack.db"
    db.parent.mkdir(parents=True)
    db.write_bytes(b"this is not a database, just text" * 100)
    with pytest.raises(StorageError, match="is damaged"):
        open_store(tmp_path)


nav_values = st.decimals(
    min_value=Decimal("0.00000001"), max_value=Decimal("9999999"), places=8, allow_nan=False
)


@settings(max_examples=60, deadline=None)
@given(values=st.lists(nav_values, min_size=1, max_size=20))
def test_decimal_navs_round_trip_exactly(tmp_path_factory, values: list[Decimal]) -> None:
    store = open_store(tmp_path_factory.mktemp("rt"))
    quotes = [NavQuote(1, date(2020, 1, 1 + i), v) for i, v in enumerate(values)]
    store.save_navs([SchemeInfo(1, "A")], quotes, source="amfi")
    stored = store.nav_history(1)
    store.close()
    assert [v for _, v in stored] == values
    assert [str(v) for _, v in stored] == [str(v) for v in values]


def test_nav_columns_reads_a_window_plus_the_newest_nav_before_it(tmp_path: Path) -> None:
    """The summary's read: NAVs in [start, end] per scheme, led by the last one before start
    (the NAV a holding in a scheme closed before its SIP began is valued at)."""
    store = open_store(tmp_path)
    days = [date(2024, 1, 1), date(2024, 1, 2), date(2024, 1, 5), date(2024, 1, 9)]
    quotes = [NavQuote(1, d, Decimal(f"10.{i}")) for i, d in enumerate(days)]
    quotes.append(NavQuote(2, date(2024, 1, 4), Decimal("20.5")))
    store.save_navs([SchemeInfo(1, "A"), SchemeInfo(2, "B")], quotes, source="amfi")
    columns = store.nav_columns([2, 1, 3, 1], start=date(2024, 1, 3), end=date(2024, 1, 8))
    store.close()
    # Scheme 1: 2 Jan is the newest before 3 Jan (1 Jan is older), 5 Jan is inside, 9 Jan after.
    assert columns == {
        1: ([date(2024, 1, 2), date(2024, 1, 5)], [Decimal("10.1"), Decimal("10.2")]),
        2: ([date(2024, 1, 4)], [Decimal("20.5")]),
        3: ([], []),
    }
    assert [str(nav) for nav in columns[1][1]] == ["10.1", "10.2"]


def test_save_is_idempotent_and_amfi_beats_mfapi(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    quote = NavQuote(5, date(2025, 12, 10), Decimal("10.0087785"))
    first = store.save_navs([SchemeInfo(5, "S")], [quote], source="amfi")
    again = store.save_navs([SchemeInfo(5, "S")], [quote], source="amfi")
    rounded = store.save_navs(
        [SchemeInfo(5, "S")], [NavQuote(5, date(2025, 12, 10), Decimal("10.00878"))],
        source="mfapi", trust_scheme_details=False,
    )
    assert (first.navs_written, again.navs_written, rounded.navs_written) == (1, 0, 0)
    scheme = store.get_scheme(5)
    assert scheme is not None and scheme.latest_nav == Decimal("10.0087785")
    store.close()


def test_concurrent_writers_wait_instead_of_failing(tmp_path: Path) -> None:
    first = open_store(tmp_path)
    second = open_store(tmp_path)
    errors: list[BaseException] = []

    def write(store: LocalStore, code: int) -> None:
        try:
            for day in range(1, 29):
                store.save_navs(
                    [SchemeInfo(code, f"S{code}")],
                    [NavQuote(code, date(2024, 2, day), Decimal(day))],
                    source="amfi",
                )
        except BaseException as exc:  # pragma: no cover - the assertion reports it
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(s, c)) for s, c in ((first, 1), (second, 2))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert first.nav_count() == 56
    first.close()
    second.close()


def old_database(tmp_path: Path) -> Path:
    """A real database at schema 0001, written by the 0001 migration, holding one NAV."""
    from mftrack.adapters.sqlite.migrate import migration_engine, upgrade

    db = tmp_path / "db" / "mftrack.db"
    db.parent.mkdir(parents=True)
    engine = migration_engine(db)
    upgrade(engine, "0001")
    engine.dispose()
    with sqlite3.connect(db) as conn:
        conn.execute("insert into navs (scheme_code, nav_date, nav, source) "
                     "values (9, '2024-01-02', '12.3456', 'amfi')")
    conn.close()
    return db


def test_real_upgrade_from_revision_0001_keeps_data_and_leaves_a_backup(tmp_path: Path) -> None:
    old_database(tmp_path)
    store = open_store(tmp_path)
    assert store.nav_history(9) == [(date(2024, 1, 2), Decimal("12.3456"))]
    with store.reading() as conn:
        tables = {r[0] for r in conn.execute("select name from sqlite_master")}
    store.close()
    assert {"job_runs", "valuations", "dead_letters"} <= tables
    (backup,) = (tmp_path / "backups").glob("mftrack-rev0001-*.db")
    old = sqlite3.connect(backup)
    assert old.execute("select version_num from alembic_version").fetchone() == ("0001",)
    assert old.execute("select nav from navs").fetchone() == ("12.3456",)


def test_a_failed_migration_leaves_the_old_schema_and_data(tmp_path: Path) -> None:
    db = old_database(tmp_path)
    # A real obstacle for migration 0002: a table of that name already exists (made by hand),
    # so the third `create table` of the upgrade fails after two have succeeded.
    with sqlite3.connect(db) as conn:
        conn.execute("create table dead_letters (x)")
    conn.close()
    with pytest.raises(StorageError,
                       match=rf"from schema 0001 to {HEAD_REVISION} failed .*left as it was"):
        open_store(tmp_path)
    conn = sqlite3.connect(db)
    tables = {r[0] for r in conn.execute("select name from sqlite_master where type='table'")}
    assert conn.execute("select version_num from alembic_version").fetchone() == ("0001",)
    assert conn.execute("select * from navs").fetchall() == [(9, "2024-01-02", "12.3456", "amfi")]
    conn.close()
    assert "job_runs" not in tables and "valuations" not in tables


def test_an_empty_database_file_is_refused_not_treated_as_new(tmp_path: Path) -> None:
    db = tmp_path / "db" / "mftrack.db"
    db.parent.mkdir(parents=True)
    db.touch()
    with pytest.raises(StorageError, match="empty file") as info:
        open_store(tmp_path)
    assert "delete the empty file" in (info.value.hint or "")
    assert db.stat().st_size == 0
    assert sorted(p.name for p in db.parent.iterdir()) == ["mftrack.db"]


def test_a_new_database_appears_complete_and_stamped(tmp_path: Path) -> None:
    folder = tmp_path / "db"
    folder.mkdir()
    # What a build killed half-way leaves behind (a real half-made database and its journal).
    killed = folder / ".mftrack.db.new-4242"
    with sqlite3.connect(killed) as conn:
        conn.execute("create table schemes (scheme_code integer)")
    conn.close()
    (folder / ".mftrack.db.new-4242-journal").write_bytes(b"")
    open_store(tmp_path).close()
    assert sorted(p.name for p in folder.iterdir() if p.is_file()) == ["mftrack.db"]
    conn = sqlite3.connect(folder / "mftrack.db")
    assert conn.execute("select version_num from alembic_version").fetchone() == (HEAD_REVISION,)
    conn.close()


def _open_after_barrier(db: str, backups: str, barrier) -> None:  # a child process
    barrier.wait()
    LocalStore(Path(db), backup_dir=Path(backups)).close()


def test_eight_processes_upgrading_at_once_make_one_verified_true_backup(tmp_path: Path) -> None:
    import multiprocessing

    db = old_database(tmp_path)
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(8)
    children = [ctx.Process(target=_open_after_barrier,
                            args=(str(db), str(tmp_path / "backups"), barrier))
                for _ in range(8)]
    for child in children:
        child.start()
    for child in children:
        child.join(120)
    assert [child.exitcode for child in children] == [0] * 8
    backups = list((tmp_path / "backups").iterdir())
    assert len(backups) == 1 and backups[0].name.startswith("mftrack-rev0001-")
    copy = sqlite3.connect(backups[0])
    assert copy.execute("pragma integrity_check").fetchone() == ("ok",)
    assert copy.execute("select version_num from alembic_version").fetchone() == ("0001",)
    assert copy.execute("select nav from navs").fetchall() == [("12.3456",)]
    tables = {r[0] for r in copy.execute("select name from sqlite_master where type='table'")}
    assert "navs" in tables and "job_runs" not in tables  # the schema before the upgrade
    copy.close()
    with sqlite3.connect(db) as conn:
        assert conn.execute("select version_num from alembic_version").fetchone() == (
            HEAD_REVISION,)
    conn.close()
