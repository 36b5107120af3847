"""`mftrack sync` through the real CLI: login, add-sip, sync on two data folders, `sips --json`
equal; exit codes for cron; `sync status` and `--dry-run`; and a real `kill -9` of a running
`python -m mftrack sync` followed by a normal sync."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from mftrack.adapters.sqlite.store import LocalStore
from mftrack.adapters.sqlite.sync_store import SyncStore
from mftrack.domain.transactions import Transaction, TxnKind
from tests.helpers import NAVALL, REPO, CliResult, run_cli
from tests.standin import StandIn
from tests.sync_support import PASSWORD, PULL, PUSH, new_user, server_rows

pytestmark = pytest.mark.postgres

NAVALL_FILE = NAVALL / "NAVAll_2025-12-11.txt"


class Homes:
    """Data folders of one person's devices, driven through the CLI in-process."""

    def __init__(self, standin: StandIn, root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.standin = standin
        self.root = root
        self.outputs: list[CliResult] = []
        monkeypatch.setenv("MFTRACK_SUPABASE_URL", standin.url)
        monkeypatch.setenv("MFTRACK_SUPABASE_ANON_KEY", standin.anon_key)
        monkeypatch.setenv("MFTRACK_TOKEN_STORE", "file")
        self.email, self.user_id = new_user(standin)

    def home(self, name: str) -> Path:
        return self.root / name

    def cli(self, name: str, *args: str, input: str | None = None) -> CliResult:
        result = run_cli(*args, input=input, env={"MFTRACK_HOME": str(self.home(name))})
        self.outputs.append(result)
        return result

    def ok(self, name: str, *args: str, input: str | None = None) -> CliResult:
        result = self.cli(name, *args, input=input)
        assert result.exit_code == 0, (args, result.stderr)
        return result

    def setup(self, name: str) -> None:
        self.ok(name, "nav", "import", str(NAVALL_FILE))
        self.ok(name, "login", "--email", self.email, "--password-stdin",
                input=PASSWORD + "\n")

    def sips(self, name: str) -> list[dict[str, object]]:
        return list(json.loads(self.ok(name, "sips", "--json", "--all").stdout))

    def secrets(self, name: str) -> list[str]:
        data = json.loads(next((self.home(name) / "auth").iterdir()).read_text())
        return [data["session"]["rt"], data["session"]["at"]]


@pytest.fixture
def homes(standin: StandIn, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Homes:
    return Homes(standin, tmp_path, monkeypatch)


def test_two_devices_end_to_end(homes: Homes) -> None:
    homes.setup("laptop")
    first = homes.ok("laptop", "add-sip", "120503", "--amount", "5000", "--start",
                     "2024-01-10", "--label", "Tax saver").stdout.strip()
    homes.ok("laptop", "add-sip", "118989", "--amount", "2500", "--start", "2023-05-01")
    synced = homes.ok("laptop", "sync")
    assert "Synced: pushed 2, pulled 2" in synced.stderr

    homes.setup("desktop")
    homes.ok("desktop", "add-sip", "122639", "--amount", "1000", "--start", "2022-03-05")
    report = json.loads(homes.ok("desktop", "sync", "--json").stdout)
    assert (report["pushed"], report["pulled"]) == (1, 3)
    homes.ok("desktop", "edit-sip", first[:8], "--label", "ELSS")
    homes.ok("desktop", "rm-sip", homes.sips("desktop")[1]["id"][:8], "--yes")  # type: ignore[index]
    assert homes.ok("desktop", "sync", "--quiet").stderr == ""
    homes.ok("laptop", "sync")

    laptop, desktop = homes.sips("laptop"), homes.sips("desktop")
    assert laptop == desktop and len(laptop) == 3
    assert {s["label"] for s in laptop} >= {"ELSS"}
    assert sum(1 for s in laptop if s["status"] == "removed") == 1
    assert len(server_rows(homes.standin, homes.user_id)) == 3

    status = json.loads(homes.ok("laptop", "sync", "status", "--json").stdout)
    assert status["pending"] == 0 and status["last_result"] == "ok"
    assert status["dead_letters"] == [] and status["server_version"] == 3
    text = homes.ok("laptop", "sync", "status").stdout
    assert "Pending changes:" in text and "Dead letters: none" in text
    secrets = homes.secrets("laptop") + homes.secrets("desktop")
    for output in homes.outputs:
        for secret in secrets:
            assert secret not in output.stdout and secret not in output.stderr


def test_dry_run_lists_pending_changes_without_the_network(homes: Homes) -> None:
    homes.ok("pc", "nav", "import", str(NAVALL_FILE))  # not logged in: no session at all
    sip_id = homes.ok("pc", "add-sip", "120503", "-a", "5000", "-s", "2024-01-10").stdout
    homes.ok("pc", "edit-sip", sip_id.strip()[:8], "--label", "Nifty")
    homes.standin.clear_request_log()
    listed = homes.ok("pc", "sync", "--dry-run")
    lines = listed.stdout.strip().splitlines()
    assert len(lines) == 2 and "create" in lines[0] and "change" in lines[1]
    assert "label" in lines[1] and "2 change(s) would be pushed" in listed.stderr
    data = json.loads(homes.ok("pc", "sync", "--dry-run", "--json").stdout)
    assert [d["id"] for d in data] == [sip_id.strip()] * 2
    assert homes.standin.request_log == []


def test_exit_codes_for_cron(homes: Homes, monkeypatch: pytest.MonkeyPatch) -> None:
    homes.ok("pc", "nav", "import", str(NAVALL_FILE))
    homes.ok("pc", "add-sip", "120503", "-a", "5000", "-s", "2024-01-10")
    not_logged_in = homes.cli("pc", "sync")
    assert not_logged_in.exit_code == 77 and "mftrack login" in not_logged_in.stderr
    homes.ok("pc", "login", "--email", homes.email, "--password-stdin", input=PASSWORD + "\n")
    homes.standin.fail_next(PUSH, 503)
    transient = homes.cli("pc", "sync", "--quiet")
    assert transient.exit_code == 75 and "Error:" in transient.stderr
    failed = json.loads(homes.ok("pc", "sync", "status", "--json").stdout)
    assert failed["pending"] == 1 and failed["last_result"] == "failed"
    assert "NetworkError" in failed["last_message"]

    from filelock import FileLock

    lock_dir = homes.home("pc") / "locks"
    with FileLock(str(lock_dir / "sync.lock")):
        busy = homes.cli("pc", "sync")
    assert busy.exit_code == 0 and "Another sync is running" in busy.stderr
    assert homes.ok("pc", "sync").exit_code == 0
    monkeypatch.delenv("MFTRACK_SUPABASE_URL")
    unconfigured = homes.cli("pc", "sync")
    assert unconfigured.exit_code == 6


def test_dead_letters_are_reported_and_listed(homes: Homes) -> None:
    homes.setup("pc")
    sip_id = homes.ok("pc", "add-sip", "120503", "-a", "5000", "-s", "2024-01-10").stdout.strip()
    homes.ok("pc", "sync")
    from mftrack.adapters.sqlite.store import LocalStore

    home = homes.home("pc")
    store = LocalStore(home / "mftrack.db", backup_dir=home / "backups")
    store.update_sip(sip_id, {"label": "L" * 501})  # the CLI caps labels; a bug might not
    store.close()
    result = homes.ok("pc", "sync")
    assert "refused 1 change" in result.stderr and "sync status" in result.stderr
    text = homes.ok("pc", "sync", "status").stdout
    assert "Dead letters (1)" in text and "23514" in text and sip_id[:8] in text
    assert homes.sips("pc")[0]["label"] is None  # the server's value


# --- kill -9 ---------------------------------------------------------------------------------


def spawn_sync(home: Path) -> subprocess.Popen[str]:
    env = dict(os.environ, MFTRACK_HOME=str(home))
    return subprocess.Popen([sys.executable, "-m", "mftrack", "sync"], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def waiting_on_locks(standin: StandIn) -> int:
    return int(standin.sql_value(
        "select count(*) from pg_stat_activity where datname = current_database() "
        "and wait_event_type = 'Lock'"))


@pytest.mark.parametrize("stage", ["push-held", "push-delayed", "pull-delayed"])
def test_kill_9_in_the_middle_of_a_sync_then_a_normal_sync(homes: Homes, stage: str) -> None:
    """push-held: the push waits for a lock at the server, the client is killed, then the
    push commits (the server did the work, the device never heard). *-delayed: the request
    waits before the server reads it, the client is killed, the server never processes it."""
    import psycopg

    homes.setup("pc")
    homes.setup("other")
    for amount in ("1000", "2000", "3000"):
        homes.ok("pc", "add-sip", "120503", "-a", amount, "-s", "2024-01-10")
    homes.ok("other", "add-sip", "118989", "-a", "700", "-s", "2024-02-01")
    homes.ok("other", "sync")
    standin = homes.standin
    with psycopg.connect(standin.database_url) as holder:
        if stage == "push-held":
            holder.execute("select 1 from public.sync_state where user_id = %s for update",
                           (homes.user_id,))
            waiting = lambda: waiting_on_locks(standin) >= 1  # noqa: E731
        else:
            rule = standin.delay_next(PUSH if stage == "push-delayed" else PULL, 3)
            waiting = lambda: rule not in standin.faults.pending()  # noqa: E731
        proc = spawn_sync(homes.home("pc"))
        deadline = time.monotonic() + 30
        while not waiting():  # until the request is waiting at the server
            assert time.monotonic() < deadline and proc.poll() is None, proc.communicate()
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(10) == -signal.SIGKILL
        holder.commit()  # push-held: the killed run's push now commits
    if stage == "push-held":
        deadline = time.monotonic() + 15
        while not standin.requests(PUSH, "POST")[1:]:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert len(server_rows(standin, homes.user_id)) == 4  # applied, never acknowledged
    after_kill = homes.ok("pc", "sync")  # the flock died with the process: not busy
    assert "Synced" in after_kill.stderr
    homes.ok("other", "sync")
    assert homes.sips("pc") == homes.sips("other")
    rows = server_rows(standin, homes.user_id)
    assert len(rows) == 4 and len({(r["amount"], r["scheme_code"]) for r in rows.values()}) == 4
    if stage == "push-held":
        assert {r["version"] for r in rows.values()} == {1, 2}  # the replay applied nothing
    assert json.loads(homes.ok("pc", "sync", "status", "--json").stdout)["pending"] == 0


# --- transactions ----------------------------------------------------------------------------


def ledger_store(homes: Homes, name: str) -> LocalStore:
    home = homes.home(name)
    return LocalStore(home / "mftrack.db", backup_dir=home / "backups")


def record_transactions(homes: Homes, name: str, count: int) -> list[str]:
    """`count` purchases in one data folder, stored as the ledger commands store them."""
    now = datetime.now(UTC)
    txns = [Transaction(id=str(uuid.uuid4()), scheme_code=120503, kind=TxnKind.PURCHASE,
                        trade_date=date(2024, 1, 1) + timedelta(days=i), amount=Decimal(1000 + i),
                        created_at=now, updated_at=now) for i in range(count)]
    store = ledger_store(homes, name)
    try:
        store.insert_transactions(txns)
    finally:
        store.close()
    return [t.id for t in txns]


def test_dry_run_and_status_count_transactions(homes: Homes) -> None:
    homes.ok("pc", "nav", "import", str(NAVALL_FILE))
    homes.ok("pc", "add-sip", "120503", "-a", "5000", "-s", "2024-01-10")
    ids = record_transactions(homes, "pc", 2)
    listed = homes.ok("pc", "sync", "--dry-run")
    lines = listed.stdout.strip().splitlines()
    assert len(lines) == 3 and " SIP " in lines[0]
    assert [ids[0][:8] in lines[1], ids[1][:8] in lines[2]] == [True, True]
    assert all("create  transaction " in line for line in lines[1:])
    assert "3 change(s) would be pushed (1 SIP, 2 transactions)" in listed.stderr
    data = json.loads(homes.ok("pc", "sync", "--dry-run", "--json").stdout)
    assert [d["table"] for d in data] == ["sips", "transactions", "transactions"]
    status = json.loads(homes.ok("pc", "sync", "status", "--json").stdout)
    assert status["pending"] == 3
    assert status["pending_by_table"] == {"sips": 1, "transactions": 2}
    text = homes.ok("pc", "sync", "status").stdout
    assert "3 (1 SIP, 2 transactions)" in text.splitlines()[0]


def test_kill_9_in_the_middle_of_pulling_transactions(homes: Homes) -> None:
    """Killed while the second page of 500 transactions is on its way: the first page is in
    the database with its cursor, nothing else; the next sync pulls the rest only."""
    homes.setup("other")
    record_transactions(homes, "other", 1200)
    homes.ok("other", "sync")
    homes.setup("pc")
    standin = homes.standin
    rule = standin.delay_next(PULL, 3, count=2)  # page 1 waits, then page 2 waits
    proc = spawn_sync(homes.home("pc"))
    deadline = time.monotonic() + 60
    while rule in standin.faults.pending():  # until the request for page 2 is at the server
        assert time.monotonic() < deadline and proc.poll() is None, proc.communicate()
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    assert proc.wait(10) == -signal.SIGKILL
    store = ledger_store(homes, "pc")
    try:
        with store.reading() as conn:
            held = conn.execute("select server_version, id from transactions "
                                "order by server_version, id").fetchall()
        cursor = SyncStore(store).cursor()
    finally:
        store.close()
    # six pushes of 200 gave versions 1-6; page 1 ends inside version 3, ordered by id
    assert len(held) == 500 and (cursor.version, cursor.row_id) == held[-1] == (3, held[-1][1])
    report = json.loads(homes.ok("pc", "sync", "--json").stdout)
    assert (report["pulled"], report["pages"]) == (700, 2)
    pc, other = ledger_store(homes, "pc"), ledger_store(homes, "other")
    try:
        assert pc.list_transactions() == other.list_transactions()
        assert len(pc.list_transactions()) == 1200
    finally:
        pc.close()
        other.close()


def test_ledger_commands_on_two_devices_converge(homes: Homes) -> None:
    """buy / redeem / txn edit / txn rm on two data folders, synced through the real CLI."""
    homes.setup("laptop")
    homes.setup("desktop")
    bought = json.loads(homes.ok("laptop", "buy", "120503", "-a", "50000", "--on", "2024-03-12",
                                 "--json").stdout)["id"]
    homes.ok("laptop", "buy", "118989", "-a", "20000", "--on", "2024-04-02", "--units",
             "1000.123", "--nav", "19.9955", "--folio", "F-1")
    assert "pushed 2" in homes.ok("laptop", "sync").stderr
    homes.ok("desktop", "sync")
    sold = json.loads(homes.ok("desktop", "redeem", "118989", "--units", "100", "--on",
                               "2025-01-02", "--json").stdout)["id"]
    homes.ok("desktop", "txn", "edit", bought[:8], "--note", "from the desktop")
    homes.ok("laptop", "txn", "edit", bought[:8], "--folio", "F-2")
    homes.ok("laptop", "sync")
    homes.ok("desktop", "sync")
    homes.ok("desktop", "txn", "rm", sold[:8], "--yes")
    homes.ok("desktop", "sync")
    homes.ok("laptop", "sync")

    def ledger(name: str) -> list[dict[str, object]]:
        return list(json.loads(homes.ok(name, "txns", "--removed", "--json").stdout))

    laptop, desktop = ledger("laptop"), ledger("desktop")
    assert laptop == desktop and len(laptop) == 3
    edited = next(t for t in laptop if t["id"] == bought)
    assert (edited["note"], edited["folio"]) == ("from the desktop", "F-2")
    assert [t["id"] for t in json.loads(homes.ok("laptop", "txns", "--json").stdout)] \
        == [bought, next(t["id"] for t in laptop if t["id"] not in (bought, sold))]
    status = json.loads(homes.ok("laptop", "sync", "status", "--json").stdout)
    assert status["pending"] == 0 and status["dead_letters"] == []
