"""Shared helpers for tests/test_sync_*.py (no tests of its own).

A `Device` is one installation of mftrack: its own data folder (SQLite database, token file,
locks), its own Supabase session of the user, and `sync()` = the real `sync_now` in-process.
Databases are copied from a migrated template (opening a new one runs Alembic: ~30 ms).
"""

from __future__ import annotations

import atexit
import functools
import json
import shutil
import tempfile
import time
import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from mftrack.adapters.sqlite.store import LocalStore
from mftrack.adapters.sqlite.sync_store import Mutation, SyncStore
from mftrack.adapters.supabase.tokens import FileTokenStore, StoredSession, session_file
from mftrack.config import Paths, Settings, load_settings
from mftrack.domain import txn_record
from mftrack.domain.sip_record import SYNCED_FIELDS
from mftrack.domain.transactions import Transaction, TxnKind
from mftrack.services import sips
from mftrack.services.sync import SyncReport, sync_now
from tests.standin import StandIn
from tests.standin.fixtures import unique_email

PASSWORD = "Correct-horse-42"
PUSH = "/rest/v1/rpc/sync_push"
PULL = "/rest/v1/rpc/sync_pull"
FETCH = "/rest/v1/rpc/sync_fetch"
REFRESH = "/auth/v1/token?grant_type=refresh_token"
SCHEMES = (120503, 118989, 122639, 125497, 120716)
TODAY = date(2025, 6, 15)


@functools.cache
def _template() -> Path:
    folder = Path(tempfile.mkdtemp(prefix="mftrack-sync-template-"))
    atexit.register(shutil.rmtree, folder, True)
    path = folder / "mftrack.db"
    LocalStore(path, backup_dir=folder / "backups").close()
    return path


def paths_under(root: Path) -> Paths:
    return Paths(root, root, root / "cache", root / "logs")


def device_settings(standin_url: str, anon_key: str, paths: Paths, **extra: str) -> Settings:
    env = {"MFTRACK_SUPABASE_URL": standin_url, "MFTRACK_SUPABASE_ANON_KEY": anon_key,
           "MFTRACK_TOKEN_STORE": "file", **extra}
    return load_settings(paths, environ=env)


def save_session(paths: Paths, url: str, session: dict[str, Any]) -> None:
    user = session.get("user") or {}
    FileTokenStore(session_file(paths, url), url).save(StoredSession(
        refresh_token=session["refresh_token"], access_token=session["access_token"],
        expires_at=int(session["expires_at"]), user_id=str(user.get("id", "")),
        email=str(user.get("email", "")), refreshed_at=time.time()))


@dataclass
class Device:
    name: str
    root: Path
    paths: Paths
    settings: Settings
    store: LocalStore
    user_id: str = ""
    page_size: int = 500
    reports: list[SyncReport] = field(default_factory=list)

    def sync(self, **kwargs: Any) -> SyncReport:
        kwargs.setdefault("page_size", self.page_size)
        report = sync_now(store=self.store, settings=self.settings, paths=self.paths, **kwargs)
        self.reports.append(report)
        return report

    # --- local edits through the services ------------------------------------------------

    def add(self, scheme_code: int = 120503, amount: str = "5000", *,
            label: str | None = None, start: date = date(2024, 1, 10)) -> str:
        sip = sips.add_sip(store=self.store, scheme_code=scheme_code, amount=Decimal(amount),
                           start=start, label=label)
        return sip.id

    def live_ids(self) -> list[str]:
        return sorted(s.id for s in self.store.list_sips())

    def record(self, scheme_code: int = 120503, kind: TxnKind = TxnKind.PURCHASE,
               on: date = date(2024, 3, 12), **fields: Any) -> str:
        """A transaction stored as the ledger commands store one (row and outbox entry)."""
        now = datetime.now(UTC)
        values: dict[str, Any] = {"amount": Decimal("50000")} if kind is not TxnKind.REDEMPTION \
            else {"units": Decimal("10.5")}
        values.update(fields)
        txn = Transaction(id=str(uuid.uuid4()), scheme_code=scheme_code, kind=kind,
                          trade_date=on, created_at=now, updated_at=now, **values)
        self.store.insert_transactions([txn])
        return txn.id

    def edit(self, txn_id: str, **changes: Any) -> None:
        """Change (or with deleted=True remove) a transaction as the ledger commands do."""
        before = self.store.get_transaction(txn_id, include_deleted=True)
        after = replace(before, updated_at=datetime.now(UTC), **changes)
        fields = txn_record.changed_fields(before, after)
        if set(fields) - {"updated_at"}:  # as the services: a change of nothing is not written
            self.store.update_transaction(txn_id, fields)

    def txns(self, *, include_deleted: bool = True) -> dict[str, dict[str, Any]]:
        """Every local transaction row, normalised for comparison, plus `server_version`."""
        cols = ("id", *txn_record.SYNCED_FIELDS, "server_version")
        with self.store.reading() as conn:
            found = conn.execute(f"select {', '.join(cols)} from transactions").fetchall()
        return {r[0]: normalise_txn(dict(zip(cols, r, strict=True))) for r in found
                if include_deleted or not r[cols.index("deleted")]}

    # --- reading the database directly -----------------------------------------------------

    def rows(self, *, include_deleted: bool = True) -> dict[str, dict[str, Any]]:
        """Every local SIP row, normalised for comparison, plus `server_version`."""
        cols = ("id", *SYNCED_FIELDS, "server_version")
        with self.store.reading() as conn:
            found = conn.execute(f"select {', '.join(cols)} from sips").fetchall()
        out = {}
        for row in found:
            record = dict(zip(cols, row, strict=True))
            record["pauses"] = json.loads(record["pauses"])
            record["amount_changes"] = json.loads(record["amount_changes"])
            if record["deleted"] and not include_deleted:
                continue
            out[record["id"]] = normalise(record)
        return out

    def outbox(self) -> list[Mutation]:
        return SyncStore(self.store).pending()

    def close(self) -> None:
        self.store.close()


def make_device(standin: StandIn, user_id: str, root: Path, name: str = "device",
                **settings: str) -> Device:
    """A device of `user_id` logged in with its own session (no network used)."""
    root.mkdir(parents=True, exist_ok=True)
    paths = paths_under(root)
    shutil.copyfile(_template(), paths.database)
    conf = device_settings(standin.url, standin.anon_key, paths, **settings)
    save_session(paths, standin.url, standin.issue_session(user_id))
    store = LocalStore(paths.database, backup_dir=paths.backup_dir)
    return Device(name, root, paths, conf, store, user_id=user_id)


def new_user(standin: StandIn) -> tuple[str, str]:
    email = unique_email("sync")
    return email, standin.create_user(email, PASSWORD)


def purge_all_tombstones(standin: StandIn) -> int:
    """The operator's `purge_tombstones('0 seconds')`, repeated while it reports more; the
    number of rows purged."""
    purged = 0
    while True:
        result = standin.sql_value("select public.purge_tombstones('0 seconds', 100000)")
        purged += result["purged"]
        if not result["more"]:
            return purged


# --- comparison ------------------------------------------------------------------------------


def _dec(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value)).normalize()


def _stamp(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def normalise(record: dict[str, Any]) -> dict[str, Any]:
    """A SIP row (local or server) in one comparable form (`server_version` as `version`)."""
    return {
        "scheme_code": int(record["scheme_code"]),
        "amount": _dec(record["amount"]),
        "start_date": str(record["start_date"])[:10],
        "sip_day": int(record["sip_day"]),
        "end_date": str(record["end_date"])[:10] if record.get("end_date") else None,
        "step_up_kind": record.get("step_up_kind"),
        "step_up_value": _dec(record.get("step_up_value")),
        "pauses": [{"start": p["start"], "end": p.get("end")} for p in record["pauses"] or []],
        "amount_changes": [{"effective": c["effective"], "amount": _dec(c["amount"])}
                           for c in record["amount_changes"] or []],
        "label": record.get("label"),
        "created_at": _stamp(record.get("created_at")),
        "updated_at": _stamp(record.get("updated_at")),
        "deleted": bool(record["deleted"]),
        "version": record.get("version", record.get("server_version")),
    }


def server_rows(standin: Any, user_id: str) -> dict[str, dict[str, Any]]:
    rows = standin.sql(
        "select id::text, scheme_code, amount::text, start_date::text, sip_day, "
        "end_date::text, step_up_kind, step_up_value::text, pauses, amount_changes, label, "
        "created_at, updated_at, deleted, version from public.sips where user_id = %s", user_id)
    cols = ("id", "scheme_code", "amount", "start_date", "sip_day", "end_date", "step_up_kind",
            "step_up_value", "pauses", "amount_changes", "label", "created_at", "updated_at",
            "deleted", "version")
    return {r[0]: normalise(dict(zip(cols, r, strict=True))) for r in rows}


def normalise_txn(record: dict[str, Any]) -> dict[str, Any]:
    """A transaction row (local or server) in one comparable form."""
    out = {name: record.get(name) for name in txn_record.SYNCED_FIELDS}
    for name in txn_record.DECIMAL_FIELDS:
        out[name] = _dec(out[name])
    out["scheme_code"] = int(out["scheme_code"])
    out["trade_date"] = str(out["trade_date"])[:10]
    out["created_at"] = _stamp(out["created_at"])
    out["updated_at"] = _stamp(out["updated_at"])
    out["deleted"] = bool(out["deleted"])
    out["version"] = record.get("version", record.get("server_version"))
    return out


TXN_TABLE_COLUMNS = ("id", *txn_record.SYNCED_FIELDS, "version")


def server_txns(standin: Any, user_id: str) -> dict[str, dict[str, Any]]:
    cols = ", ".join(f"{c}::text" if c in ("id", "sip_id", "link_id") or
                     c in txn_record.DECIMAL_FIELDS else c for c in TXN_TABLE_COLUMNS)
    rows = standin.sql(f"select {cols} from public.transactions where user_id = %s", user_id)
    return {r[0]: normalise_txn(dict(zip(TXN_TABLE_COLUMNS, r, strict=True))) for r in rows}


def assert_converged(standin: Any, user_id: str, devices: list[Device]) -> dict[str, Any]:
    """Every device holds exactly the server's rows, SIPs and transactions (tombstones
    included, same versions), and has nothing left to push. Returns the server's SIPs."""
    server = server_rows(standin, user_id)
    ledger = server_txns(standin, user_id)
    for dev in devices:
        assert dev.outbox() == [], dev.name
        for local, remote in ((dev.rows(), server), (dev.txns(), ledger)):
            assert set(local) == set(remote), (dev.name, set(local) ^ set(remote))
            for rid, row in remote.items():
                assert local[rid] == row, (dev.name, rid, local[rid], row)
    return server
