"""The local store: every read and write of mftrack's SQLite database goes through here.

Writes to synced rows (SIPs here, transactions in `transaction_rows`) also queue an outbox
entry in the same transaction, so a crash can never leave a change that sync does not know
about (sync-protocol.md D.4, D.6).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from operator import itemgetter
from pathlib import Path
from typing import Any

from mftrack.adapters.sqlite import connection
from mftrack.adapters.sqlite.migrate import prepare_database
from mftrack.adapters.sqlite.outbox import queue_change
from mftrack.adapters.sqlite.transaction_rows import TransactionRows
from mftrack.domain.schemes import NavQuote, SchemeInfo
from mftrack.domain.sip_record import SYNCED_FIELDS, sip_from_record, sip_to_record
from mftrack.domain.sips import Sip
from mftrack.errors import NotFoundError

# Sources a NAV row can come from. AMFI's own files carry up to 8 decimals; mfapi.in rounds to
# 5 (amfi-formats.md §3), so an mfapi value never overwrites an AMFI value for the same date.
AMFI_SOURCES = ("amfi", "amfi-history")


@dataclass(frozen=True, slots=True)
class StoredScheme:
    info: SchemeInfo
    latest_nav: Decimal | None
    latest_nav_date: date | None
    updated_at: str

    @property
    def scheme_code(self) -> int:
        return self.info.scheme_code

    @property
    def display_name(self) -> str:
        """The name with plan/option, which AMFI's 2026 layout moved to their own columns."""
        parts = [self.info.name]
        for extra in (self.info.plan, self.info.option):
            if extra and extra.lower() not in self.info.name.lower():
                parts.append(extra)
        return " - ".join(parts)


@dataclass(frozen=True, slots=True)
class SaveCounts:
    schemes: int  # scheme rows inserted or updated
    navs_written: int  # NAV rows inserted or changed (0 on an idempotent re-run)


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def _json_list(text: str | None) -> list[Any]:
    """A stored JSON list; most SIPs have no pauses or amount changes ("[]": no parse)."""
    return json.loads(text) if text and text != "[]" else []


class LocalStore(TransactionRows):
    """The SQLite database at `path`, migrated to head on open.

    Reads and writes go through the stdlib `sqlite3` driver with SQL written here, in the
    adapter (docs/architecture.md, "Database access"); a connection lives for one call.
    """

    def __init__(self, path: Path, *, backup_dir: Path) -> None:
        self.path = path
        prepare_database(path, backup_dir=backup_dir)

    def close(self) -> None:
        """Nothing stays open between calls; kept so callers can close a store they opened."""

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (BEGIN IMMEDIATE, so writers queue on the busy timeout)."""
        with connection.transaction(self.path) as conn:
            yield conn

    @contextmanager
    def reading(self) -> Iterator[sqlite3.Connection]:
        """A read-only connection for the queries of one call."""
        with connection.reading(self.path) as conn:
            yield conn

    # --- schemes and NAVs -------------------------------------------------------------------

    def save_navs(
        self,
        schemes: Sequence[SchemeInfo],
        quotes: Sequence[NavQuote],
        *,
        source: str,
        trust_scheme_details: bool = True,
    ) -> SaveCounts:
        """Store scheme details and NAV quotes; idempotent (a re-run writes 0 NAV rows)."""
        now = utc_now()
        latest: dict[int, NavQuote] = {}
        for quote in quotes:
            seen = latest.get(quote.scheme_code)
            if seen is None or quote.nav_date >= seen.nav_date:
                latest[quote.scheme_code] = quote
        scheme_rows = []
        for info in schemes:
            quote = latest.get(info.scheme_code)
            scheme_rows.append(
                (
                    info.scheme_code,
                    info.name,
                    info.isin_growth,
                    info.isin_reinvest,
                    info.plan,
                    info.option,
                    info.category,
                    info.scheme_type,
                    info.fund_house,
                    str(quote.nav) if quote else None,
                    quote.nav_date.isoformat() if quote else None,
                    now,
                )
            )
        nav_rows = [
            (q.scheme_code, q.nav_date.isoformat(), str(q.nav), source) for q in quotes
        ]
        keep = "excluded.{0}" if trust_scheme_details else "coalesce(schemes.{0}, excluded.{0})"
        detail_cols = ("name", "isin_growth", "isin_reinvest", "plan", "option", "category",
                       "scheme_type", "fund_house")
        keep_name = "excluded.name" if trust_scheme_details else "schemes.name"
        sets = {c: keep.format(c) for c in detail_cols}
        sets["name"] = keep_name
        # The latest NAV follows the NAV table's precedence: a newer date always wins; on the
        # same date mfapi's 5-decimal value never replaces AMFI's (amfi-formats.md §3). The
        # source is one per call, so that test is a literal of the statement, not a parameter
        # bound again on every row.
        same_day_wins = "0" if source == "mfapi" else "1"
        newer = (
            "excluded.latest_nav_date > coalesce(schemes.latest_nav_date, '') or "
            f"(excluded.latest_nav_date = schemes.latest_nav_date and {same_day_wins})"
        )
        sets["latest_nav"] = (
            f"case when {newer} then excluded.latest_nav else schemes.latest_nav end"
        )
        sets["latest_nav_date"] = (
            f"case when {newer} then excluded.latest_nav_date else schemes.latest_nav_date end"
        )
        assignments = ", ".join(f"{col} = {expr}" for col, expr in sets.items())
        changed = " or ".join(f"schemes.{c} is not ({sets[c]})" for c in sets)
        scheme_sql = f"""
            insert into schemes (scheme_code, name, isin_growth, isin_reinvest, plan, option,
                category, scheme_type, fund_house, latest_nav, latest_nav_date, updated_at)
            values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            on conflict (scheme_code) do update set {assignments},
                updated_at = excluded.updated_at
            where {changed}
        """
        nav_sql = """
            insert into navs (scheme_code, nav_date, nav, source) values (?, ?, ?, ?)
            on conflict (scheme_code, nav_date) do update set
                nav = excluded.nav, source = excluded.source
            where navs.nav != excluded.nav
              and not (navs.source in ('amfi', 'amfi-history') and excluded.source = 'mfapi')
        """
        with self.transaction() as conn:
            written = 0
            if nav_rows:
                cursor = conn.executemany(nav_sql, nav_rows)
                written = max(cursor.rowcount, 0)
            if scheme_rows:
                conn.executemany(scheme_sql, scheme_rows)
        return SaveCounts(schemes=len(scheme_rows), navs_written=written)

    def _scheme_from_row(self, row: Sequence[Any]) -> StoredScheme:
        info = SchemeInfo(
            scheme_code=row[0],
            name=row[1],
            isin_growth=row[2],
            isin_reinvest=row[3],
            plan=row[4],
            option=row[5],
            category=row[6],
            scheme_type=row[7],
            fund_house=row[8],
        )
        return StoredScheme(
            info=info,
            latest_nav=Decimal(row[9]) if row[9] is not None else None,
            latest_nav_date=date.fromisoformat(row[10]) if row[10] else None,
            updated_at=row[11],
        )

    _SCHEME_COLUMNS = (
        "scheme_code, name, isin_growth, isin_reinvest, plan, option, category, scheme_type, "
        "fund_house, latest_nav, latest_nav_date, updated_at"
    )

    def get_scheme(self, scheme_code: int) -> StoredScheme | None:
        with self.reading() as conn:
            row = conn.execute(
                f"select {self._SCHEME_COLUMNS} from schemes where scheme_code = ?",
                (scheme_code,),
            ).fetchone()
        return self._scheme_from_row(row) if row else None

    def get_schemes(self, scheme_codes: Iterable[int]) -> dict[int, StoredScheme]:
        codes = sorted(set(scheme_codes))
        if not codes:
            return {}
        marks = ",".join("?" * len(codes))
        with self.reading() as conn:
            rows = conn.execute(
                f"select {self._SCHEME_COLUMNS} from schemes where scheme_code in ({marks})",
                tuple(codes),
            ).fetchall()
        return {row[0]: self._scheme_from_row(row) for row in rows}

    def schemes_by_isin(self, isin: str) -> list[StoredScheme]:
        with self.reading() as conn:
            rows = conn.execute(
                f"select {self._SCHEME_COLUMNS} from schemes "
                "where isin_growth = ? or isin_reinvest = ? order by scheme_code",
                (isin, isin),
            ).fetchall()
        return [self._scheme_from_row(row) for row in rows]

    def scheme_names(self) -> list[tuple[int, str, str | None, str | None]]:
        """(code, name, plan, option) of every known scheme, for fuzzy search."""
        with self.reading() as conn:
            return [
                tuple(row)  # type: ignore[misc]
                for row in conn.execute(
                    "select scheme_code, name, plan, option from schemes"
                ).fetchall()
            ]

    def scheme_count(self) -> int:
        with self.reading() as conn:
            return int(conn.execute("select count(*) from schemes").fetchone()[0])

    def newest_nav_date(self) -> date | None:
        """The newest NAV date of any scheme (how far the user's NAV files reach)."""
        with self.reading() as conn:
            value = conn.execute("select max(latest_nav_date) from schemes").fetchone()[0]
        return date.fromisoformat(value) if value else None

    def nav_history(
        self, scheme_code: int, *, start: date | None = None, end: date | None = None
    ) -> list[tuple[date, Decimal]]:
        """The scheme's NAVs in date order, optionally limited to [start, end]."""
        sql = "select nav_date, nav from navs where scheme_code = ?"
        params: list[Any] = [scheme_code]
        if start is not None:
            sql += " and nav_date >= ?"
            params.append(start.isoformat())
        if end is not None:
            sql += " and nav_date <= ?"
            params.append(end.isoformat())
        sql += " order by nav_date"
        fromiso = date.fromisoformat
        with self.reading() as conn:
            rows = conn.execute(sql, tuple(params)).fetchall()
        return [(fromiso(d), Decimal(v)) for d, v in rows]

    def nav_columns(
        self, scheme_codes: Iterable[int], *, start: date, end: date
    ) -> dict[int, tuple[list[date], list[Decimal]]]:
        """`{code: (dates, navs)}`: the NAVs of several schemes dated in [start, end], each
        scheme's newest NAV before `start` first, dates ascending (the summary's hot path).

        Two parallel lists per scheme, decoded with `map` (in C), no `(date, nav)` pair per
        NAV: at 1,000 SIPs over 15 years this reads ~200,000 rows (bench_summary_scale.py).
        A scheme without NAVs in the store gets two empty lists.
        """
        codes = sorted(set(scheme_codes))
        result: dict[int, tuple[list[date], list[Decimal]]] = {}
        low, high = start.isoformat(), end.isoformat()
        with self.reading() as conn:
            for code in codes:
                # SQLite takes the bare `nav` column from the row holding max(nav_date).
                before = conn.execute(
                    "select max(nav_date), nav from navs where scheme_code = ? and nav_date < ?",
                    (code, low),
                ).fetchone()
                rows = conn.execute(
                    "select nav_date, nav from navs where scheme_code = ? "
                    "and nav_date between ? and ? order by nav_date",
                    (code, low, high),
                ).fetchall()
                if before[0] is not None:
                    rows.insert(0, before)
                result[code] = (
                    list(map(date.fromisoformat, map(itemgetter(0), rows))),
                    list(map(Decimal, map(itemgetter(1), rows))),
                )
        return result

    def nav_count(self, scheme_code: int | None = None) -> int:
        with self.reading() as conn:
            if scheme_code is None:
                return int(conn.execute("select count(*) from navs").fetchone()[0])
            return int(
                conn.execute(
                    "select count(*) from navs where scheme_code = ?", (scheme_code,)
                ).fetchone()[0]
            )

    # --- SIPs ---------------------------------------------------------------------------------

    _SIP_COLUMNS = ("id", *SYNCED_FIELDS, "server_version")

    def _sip_from_row(self, row: Sequence[Any]) -> Sip:
        record = dict(zip(self._SIP_COLUMNS, row, strict=True))
        record["pauses"] = _json_list(record["pauses"])
        record["amount_changes"] = _json_list(record["amount_changes"])
        return sip_from_record(record)

    @staticmethod
    def _row_values(record: dict[str, Any]) -> dict[str, Any]:
        values = dict(record)
        values["pauses"] = json.dumps(values["pauses"])
        values["amount_changes"] = json.dumps(values["amount_changes"])
        values["deleted"] = 1 if values["deleted"] else 0
        return values

    def list_sips(self, *, include_deleted: bool = False) -> list[Sip]:
        sql = f"select {', '.join(self._SIP_COLUMNS)} from sips"
        if not include_deleted:
            sql += " where deleted = 0"
        sql += " order by created_at, id"
        with self.reading() as conn:
            return [self._sip_from_row(row) for row in conn.execute(sql).fetchall()]

    def live_sip_count(self) -> int:
        """SIPs not removed (the account limit of mftrack.services.limits counts these)."""
        with self.reading() as conn:
            return int(conn.execute("select count(*) from sips where deleted = 0").fetchone()[0])

    def get_sip(self, sip_id: str, *, include_deleted: bool = False) -> Sip:
        """A SIP by full id or unique id prefix (at least 4 characters)."""
        prefix = sip_id.strip().lower()
        if len(prefix) < 4:
            raise NotFoundError(
                f"SIP id {sip_id!r} is too short", hint="give at least 4 characters of the id"
            )
        sql = f"select {', '.join(self._SIP_COLUMNS)} from sips where id like ? || '%'"
        if not include_deleted:
            sql += " and deleted = 0"
        with self.reading() as conn:
            rows = conn.execute(sql, (prefix,)).fetchall()
        if not rows:
            raise NotFoundError(f"no SIP with id {sip_id!r}", hint="`mftrack sips` lists them")
        if len(rows) > 1:
            raise NotFoundError(
                f"SIP id prefix {sip_id!r} matches {len(rows)} SIPs", hint="give more of the id"
            )
        return self._sip_from_row(rows[0])

    def _queue(
        self,
        conn: sqlite3.Connection,
        sip_id: str,
        fields: dict[str, Any],
        *,
        deleted: bool = False,
    ) -> None:
        queue_change(conn, "sips", sip_id, fields, deleted=deleted)

    def insert_sip(self, sip: Sip) -> None:
        record = sip_to_record(sip)
        values = self._row_values(record)
        columns = ("id", *SYNCED_FIELDS)
        with self.transaction() as conn:
            conn.execute(
                f"insert into sips ({', '.join(columns)}) "
                f"values ({', '.join('?' * len(columns))})",
                tuple(values[c] for c in columns),
            )
            fields = {name: record[name] for name in SYNCED_FIELDS}
            self._queue(conn, sip.id, fields, deleted=sip.deleted)

    def update_sip(self, sip_id: str, fields: dict[str, Any]) -> None:
        """Apply changed record fields to a SIP and queue them for sync, atomically."""
        if not fields:
            return
        unknown = set(fields) - set(SYNCED_FIELDS)
        if unknown:
            raise ValueError(f"not SIP fields: {sorted(unknown)}")
        values = dict(fields)
        for name in ("pauses", "amount_changes"):
            if name in values:
                values[name] = json.dumps(values[name])
        if "deleted" in values:
            values["deleted"] = 1 if values["deleted"] else 0
        assignments = ", ".join(f"{name} = ?" for name in values)
        with self.transaction() as conn:
            cursor = conn.execute(
                f"update sips set {assignments} where id = ?", (*values.values(), sip_id)
            )
            if cursor.rowcount != 1:
                raise NotFoundError(f"no SIP with id {sip_id!r}")
            self._queue(conn, sip_id, fields, deleted=bool(fields.get("deleted")))

    def cancel_pending_removal(self, sip_id: str) -> bool:
        """Undo a removal that is still in the outbox: drop its outbox entries and make the
        SIP live again, atomically. False (and nothing changed) when no such entry is queued,
        i.e. the removal has already been pushed."""
        with self.transaction() as conn:
            cursor = conn.execute(
                "delete from outbox where table_name = 'sips' and row_id = ? and deleted = 1",
                (sip_id,))
            if cursor.rowcount < 1:
                return False
            conn.execute("update sips set deleted = 0 where id = ?", (sip_id,))
        return True

    # --- meta ---------------------------------------------------------------------------------

    def get_meta(self, key: str) -> str | None:
        with self.reading() as conn:
            row = conn.execute("select value from meta where key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        with self.transaction() as conn:
            conn.execute(
                "insert into meta (key, value) values (?, ?) "
                "on conflict (key) do update set value = excluded.value",
                (key, value),
            )
