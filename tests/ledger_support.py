"""A store holding the real NAV histories the ledger tests trade in."""

from __future__ import annotations

from pathlib import Path

from mftrack.adapters.amfi.mfapi import parse_mfapi
from mftrack.adapters.sqlite.store import LocalStore
from tests.helpers import mfapi_file

AXIS = 120503  # Axis ELSS Tax Saver Direct Growth
PPFAS = 122639  # Parag Parikh Flexi Cap Direct Growth


def store_with_navs(folder: Path, codes: tuple[int, ...] = (AXIS, PPFAS)) -> LocalStore:
    """A new database with the schemes' real mfapi.in histories (2013-2025)."""
    store = LocalStore(folder / "mftrack.db", backup_dir=folder / "backups")
    for code in codes:
        parsed = parse_mfapi(mfapi_file(code).read_text())
        store.save_navs(parsed.schemes, parsed.quotes, source="mfapi")
    return store


def outbox_rows(store: LocalStore) -> list[tuple]:
    with store.reading() as conn:
        return conn.execute(
            "select table_name, row_id, deleted from outbox order by mid"
        ).fetchall()
