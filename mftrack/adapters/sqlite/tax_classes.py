"""Reads and writes of `scheme_tax_class`: the tax class the user set for a scheme.

Kept beside the store so SQL stays inside the adapter (like daemon_tables.py). Local only:
the override is a judgement about a scheme on this device and is not synced.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from mftrack.adapters.sqlite.store import utc_now

if TYPE_CHECKING:
    from mftrack.adapters.sqlite.store import LocalStore


def tax_class_overrides(store: LocalStore, scheme_codes: Iterable[int]) -> dict[int, str]:
    """{scheme_code: tax class text} for the codes that have one."""
    codes = sorted(set(scheme_codes))
    if not codes:
        return {}
    marks = ",".join("?" * len(codes))
    with store.reading() as conn:
        rows = conn.execute(
            f"select scheme_code, tax_class from scheme_tax_class where scheme_code in ({marks})",
            tuple(codes),
        ).fetchall()
    return {code: cls for code, cls in rows}


def set_tax_class_override(store: LocalStore, scheme_code: int, tax_class: str | None) -> None:
    """Set (or with None, remove) the override for one scheme."""
    with store.transaction() as conn:
        if tax_class is None:
            conn.execute("delete from scheme_tax_class where scheme_code = ?", (scheme_code,))
            return
        conn.execute(
            "insert into scheme_tax_class (scheme_code, tax_class, updated_at) values (?, ?, ?) "
            "on conflict (scheme_code) do update set tax_class = excluded.tax_class, "
            "updated_at = excluded.updated_at",
            (scheme_code, tax_class, utc_now()),
        )
