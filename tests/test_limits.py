"""Issue 9 item 19: limits on pauses and amount changes per SIP, SIPs and devices per account,
enforced by the client (through the real CLI: clear error, exit 2, nothing written) and by the
hosted schema (through the real client against the stand-in; the SQL itself is tested in
tests/test_hosted_sql.py)."""

from __future__ import annotations

import json
import sqlite3
import uuid
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import pytest

from mftrack.adapters.sqlite.store import LocalStore
from mftrack.config import resolve_paths
from mftrack.domain.sip_record import changed_fields
from mftrack.domain.sips import AmountChange, Pause
from mftrack.errors import ConfigError
from mftrack.services import limits
from tests.helpers import NAVALL, run_cli
from tests.standin import StandIn
from tests.sync_support import make_device, new_user, server_rows

NAVALL_FILE = NAVALL / "NAVAll_2025-12-11.txt"


@pytest.fixture
def sip_id() -> str:
    assert run_cli("nav", "import", str(NAVALL_FILE)).exit_code == 0
    added = run_cli("add-sip", "120503", "--amount", "5000", "--start", "2020-01-10")
    assert added.exit_code == 0, added.stderr
    return added.stdout.strip()


def open_store() -> LocalStore:
    paths = resolve_paths()
    return LocalStore(paths.database, backup_dir=paths.backup_dir)


def fill(sip_id: str, *, pauses: int = 0, changes: int = 0) -> None:
    """Give the SIP that many one-day pauses / monthly amount changes, stored as any edit is."""
    store = open_store()
    try:
        before = store.get_sip(sip_id)
        first = date(2020, 2, 1)
        after = replace(
            before,
            pauses=tuple(Pause(first + timedelta(days=2 * i), first + timedelta(days=2 * i))
                         for i in range(pauses)),
            amount_changes=tuple(AmountChange(date(2020 + i // 12, 1 + i % 12, 10),
                                              before.amount + i + 1) for i in range(changes)))
        store.update_sip(sip_id, changed_fields(before, after))
    finally:
        store.close()


def snapshot() -> tuple[list[dict[str, object]], int]:
    """Every SIP as `sips --json --all` shows it, and the number of queued sync entries."""
    listed = run_cli("sips", "--json", "--all")
    store = open_store()
    try:
        with store.reading() as conn:
            queued = int(conn.execute("select count(*) from outbox").fetchone()[0])
    finally:
        store.close()
    return json.loads(listed.stdout), queued


def test_a_501st_pause_is_refused_and_nothing_changes(sip_id: str) -> None:
    fill(sip_id, pauses=limits.MAX_PAUSES)
    before = snapshot()
    result = run_cli("pause-sip", sip_id, "--from", "2030-01-01", "--to", "2030-02-01")
    assert result.exit_code == 2
    assert result.stderr.startswith(
        f"Error: SIP {sip_id[:8]} would have 501 pauses; a SIP keeps at most 500")
    assert "Hint:" in result.stderr and "Traceback" not in result.stderr
    assert snapshot() == before


def test_a_501st_amount_change_is_refused_and_nothing_changes(sip_id: str) -> None:
    fill(sip_id, changes=limits.MAX_AMOUNT_CHANGES)
    before = snapshot()
    result = run_cli("edit-sip", sip_id, "--amount", "9000", "--from", "2070-01-10")
    assert result.exit_code == 2
    assert "would have 501 amount changes; a SIP keeps at most 500" in result.stderr
    assert snapshot() == before


def test_a_sip_already_over_the_limit_can_still_be_edited_and_removed(sip_id: str) -> None:
    """Pulled from a server that stored it before the limits existed."""
    fill(sip_id, pauses=limits.MAX_PAUSES + 1)
    assert run_cli("edit-sip", sip_id, "--label", "legacy").exit_code == 0
    assert run_cli("pause-sip", sip_id, "--from", "2030-01-01").exit_code == 2
    assert run_cli("rm-sip", sip_id, "--yes").exit_code == 0
    assert json.loads(run_cli("sips", "--json").stdout) == []


def test_the_500th_pause_is_still_accepted(sip_id: str) -> None:
    fill(sip_id, pauses=limits.MAX_PAUSES - 1)
    result = run_cli("pause-sip", sip_id, "--from", "2030-01-01", "--to", "2030-02-01")
    assert result.exit_code == 0, result.stderr
    assert len(json.loads(run_cli("sips", "--json").stdout)[0]["pauses"]) == 500


def clone_sips(count: int) -> None:
    """`count` more live SIPs, copies of the first with new ids, written straight into the
    real database file (5,000 `add-sip` runs would only make the test slow)."""
    with sqlite3.connect(resolve_paths().database) as conn:
        columns = [r[1] for r in conn.execute("pragma table_info(sips)") if r[1] != "id"]
        row = conn.execute(f"select {', '.join(columns)} from sips limit 1").fetchone()
        conn.executemany(
            f"insert into sips (id, {', '.join(columns)}) values (?{', ?' * len(columns)})",
            [(str(uuid.uuid4()), *row) for _ in range(count)])


def test_adding_a_sip_beyond_the_limit_is_refused(sip_id: str) -> None:
    clone_sips(limits.MAX_SIPS - 1)
    assert len(json.loads(run_cli("sips", "--json").stdout)) == 5000
    before = snapshot()
    result = run_cli("add-sip", "120503", "--amount", "5000", "--start", "2024-01-10")
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: you already have 5000 SIPs; mftrack keeps at most 5000")
    assert "mftrack rm-sip" in result.stderr
    assert snapshot() == before
    # removed SIPs do not count
    assert run_cli("rm-sip", sip_id, "--yes").exit_code == 0
    again = run_cli("add-sip", "120503", "--amount", "5000", "--start", "2024-01-10")
    assert again.exit_code == 0, again.stderr


@pytest.mark.postgres
def test_a_51st_device_is_refused_by_the_server(standin: StandIn, tmp_path: Path) -> None:
    user = new_user(standin)[1]
    first = make_device(standin, user, tmp_path / "first", "first")
    first.add(label="kept")
    first.sync()
    for _ in range(limits.MAX_DEVICES - 1):  # 49 more devices have synced at some time
        standin.sql("insert into public.sync_clients (user_id, client_id) values (%s, %s)",
                    user, str(uuid.uuid4()))
    late = make_device(standin, user, tmp_path / "late", "late")
    late.add(label="refused")
    with pytest.raises(ConfigError) as refused:
        late.sync()
    assert "too many devices: an account syncs at most 50" in refused.value.message
    assert "sync_clients" in (refused.value.hint or "")
    assert [r["label"] for r in server_rows(standin, user).values()] == ["kept"]
    assert len(late.outbox()) == 1  # kept for when a slot is free
    first.add(label="still syncs")
    assert first.sync().pushed == 1  # a known device is not affected
    standin.sql("delete from public.sync_clients where user_id = %s and client_id not in "
                "(select client_id from public.sync_clients where user_id = %s "
                "order by last_push_at desc limit 40)", user, user)
    assert late.sync().pushed == 1  # the operator freed slots
    first.close()
    late.close()


def test_room_for_transactions_counts_live_ones(tmp_path: Path) -> None:
    """MAX_TRANSACTIONS, the hosted schema's number (20261205150000_transactions.sql)."""
    from datetime import UTC, datetime
    from decimal import Decimal

    from mftrack.domain.transactions import Transaction, TxnKind
    from mftrack.errors import InvalidInputError

    store = LocalStore(tmp_path / "mftrack.db", backup_dir=tmp_path / "backups")
    try:
        now = datetime.now(UTC)
        first = Transaction(id=str(uuid.uuid4()), scheme_code=120503, kind=TxnKind.PURCHASE,
                            trade_date=date(2024, 1, 1), amount=Decimal("1000"),
                            created_at=now, updated_at=now)
        store.insert_transactions([first])
        with sqlite3.connect(store.path) as conn:  # 99,998 copies straight into the file
            columns = [r[1] for r in conn.execute("pragma table_info(transactions)")
                       if r[1] != "id"]
            row = conn.execute(f"select {', '.join(columns)} from transactions").fetchone()
            conn.executemany(
                f"insert into transactions (id, {', '.join(columns)}) "
                f"values (?{', ?' * len(columns)})",
                [(str(uuid.uuid4()), *row) for _ in range(limits.MAX_TRANSACTIONS - 2)])
        assert store.live_transaction_count() == 99_999
        limits.check_room_for_transactions(store, 1)
        with pytest.raises(InvalidInputError, match="you have 99999 transactions and would add "
                                                    "2; mftrack keeps at most 100000"):
            limits.check_room_for_transactions(store, 2)
        store.update_transaction(first.id, {"deleted": True})  # removed ones do not count
        limits.check_room_for_transactions(store, 2)
        limits.check_room_for_transactions(store, 0)
    finally:
        store.close()
