"""`mftrack import cas` and `import csv` end to end: the real CLI, a real store, the built
statements (tests/fixtures/cas) and a password-protected PDF parsed by the real casparser."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from tests.cas_support import FIXTURES, family_statement, plain_pdf, statement_pdf
from tests.helpers import mfapi_file, run_cli

FAMILY = FIXTURES / "family_2019-2024.json"
OPENING = FIXTURES / "opening_balance_2024.json"
PASSWORD = "ABCPV1234F"


@pytest.fixture
def schemes(isolated_home: Path) -> Path:
    files = [str(mfapi_file(code)) for code in (120503, 120465, 118989, 119551, 122639)]
    assert run_cli("nav", "import", *files).exit_code == 0
    return isolated_home


def _db(home: Path) -> sqlite3.Connection:
    from mftrack.config import resolve_paths

    return sqlite3.connect(resolve_paths().database)


def rows(home: Path) -> list[tuple]:
    db = _db(home)
    try:
        return db.execute(
            "select scheme_code, kind, trade_date, amount, units, stamp_duty, stt, import_key "
            "from transactions order by trade_date, created_at"
        ).fetchall()
    finally:
        db.close()


def outbox(home: Path) -> int:
    db = _db(home)
    try:
        return db.execute(
            "select count(*) from outbox where table_name = 'transactions'"
        ).fetchone()[0]
    finally:
        db.close()


def test_a_statement_imports_once_and_reconciles(schemes: Path) -> None:
    first = run_cli("import", "cas", str(FAMILY), "--json")
    assert first.exit_code == 0, first.stderr
    report = json.loads(first.stdout)
    assert report["added"] == 115 and report["already_present"] == 0
    assert report["rejected"] == [] and report["statement"] == {
        "from": "2019-01-01",
        "to": "2024-12-31",
    }
    assert all(line["matches"] for line in report["reconciliation"])
    assert len(report["reconciliation"]) == 4
    assert "the ledger holds exactly the closing units" in first.stderr
    stored = rows(schemes)
    assert len(stored) == 115 and outbox(schemes) == 115
    assert tuple(
        str(v) for v in stored[next(i for i, r in enumerate(stored) if r[0] == 120503)][:6]
    ) == ("120503", "sip", "2021-01-05", "5000.00", "75.312", "0.25")
    again = run_cli("import", "cas", str(FAMILY), "--json")
    assert again.exit_code == 0
    assert json.loads(again.stdout)["added"] == 0
    assert json.loads(again.stdout)["already_present"] == 115
    assert rows(schemes) == stored and outbox(schemes) == 115


def test_a_dry_run_reports_and_writes_nothing(schemes: Path) -> None:
    result = run_cli("import", "cas", str(FAMILY), "--dry-run")
    assert result.exit_code == 0, result.stderr
    assert "Dry run, nothing written" in result.stderr and "would add 115" in result.stderr
    assert rows(schemes) == [] and outbox(schemes) == 0


def test_an_opening_balance_is_reported_as_the_mismatch_cause(schemes: Path) -> None:
    result = run_cli("import", "cas", str(OPENING))
    assert result.exit_code == 0
    assert "the statement says 1,015.456" not in result.stderr  # units printed as given
    assert "difference +812.345" in result.stderr
    assert "opening balance of 812.345 units" in result.stderr


def test_the_pdf_imports_the_same_rows_as_its_json(schemes: Path, tmp_path: Path) -> None:
    pdf = statement_pdf(family_statement(), tmp_path / "cas.pdf", PASSWORD)
    result = run_cli("import", "cas", str(pdf), "--password-stdin", input=PASSWORD + "\n")
    assert result.exit_code == 0, result.stderr
    assert "added 115" in result.stderr
    again = run_cli("import", "cas", str(FAMILY))
    assert "added 0, 115 already present" in again.stderr


def test_the_password_can_come_from_the_environment(schemes: Path, tmp_path: Path) -> None:
    pdf = statement_pdf(family_statement(), tmp_path / "cas.pdf", PASSWORD)
    result = run_cli("import", "cas", str(pdf), "--dry-run", env={"MFTRACK_CAS_PASSWORD": PASSWORD})
    assert result.exit_code == 0, result.stderr
    assert "would add 115" in result.stderr


def _everything_written(home: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(home.rglob("*")) if p.is_file())


def test_a_wrong_password_is_one_clear_line_and_the_password_is_never_kept(
    schemes: Path, tmp_path: Path
) -> None:
    pdf = statement_pdf(family_statement(), tmp_path / "cas.pdf", PASSWORD)
    wrong = "Wr0ngSecret!77"
    result = run_cli("import", "cas", str(pdf), "--password-stdin", input=wrong + "\n")
    assert result.exit_code == 8
    assert result.stderr.startswith("Error: cas.pdf: wrong password\n")
    assert "Traceback" not in result.stderr and rows(schemes) == []
    debug = run_cli("--debug", "import", "cas", str(pdf), env={"MFTRACK_CAS_PASSWORD": wrong})
    assert debug.exit_code == 8
    ok = run_cli("import", "cas", str(pdf), "--password-stdin", input=PASSWORD + "\n")
    assert ok.exit_code == 0
    written = _everything_written(schemes)  # the database (and -wal), logs, backups
    assert b"SQLite format 3" in written
    for secret in (wrong, PASSWORD):
        for result_ in (result, debug, ok):
            assert secret not in result_.stdout and secret not in result_.stderr
        assert secret.encode() not in written


def test_a_locked_pdf_without_a_password_and_no_terminal_says_how_to_give_one(
    schemes: Path, tmp_path: Path
) -> None:
    pdf = statement_pdf(family_statement(), tmp_path / "cas.pdf", PASSWORD)
    result = run_cli("import", "cas", str(pdf))
    assert result.exit_code == 8
    assert "cas.pdf needs a password" in result.stderr and "--password-stdin" in result.stderr


def test_a_pdf_that_is_not_a_statement_is_refused(schemes: Path, tmp_path: Path) -> None:
    pdf = plain_pdf(tmp_path / "invoice.pdf", "Invoice 42: one bicycle")
    result = run_cli("import", "cas", str(pdf))
    assert result.exit_code == 2
    assert "invoice.pdf is not a CAMS/KFintech statement" in result.stderr
    assert rows(schemes) == []
    missing = run_cli("import", "cas", str(tmp_path / "nope.pdf"))
    assert missing.exit_code == 3


def test_rows_of_an_unknown_scheme_are_rejected_with_the_reason(
    isolated_home: Path, tmp_path: Path
) -> None:
    assert run_cli("nav", "import", str(mfapi_file(120503)), str(mfapi_file(120465))).exit_code == 0
    result = run_cli("import", "cas", str(FAMILY), "--json")
    assert result.exit_code == 0
    report = json.loads(result.stdout)
    reasons = [r["reason"] for r in report["rejected"]]
    assert any(
        "AMFI code 118989 / ISIN INF179K01XQ0 is not in the local scheme list" in r for r in reasons
    )
    assert {line["scheme_code"] for line in report["reconciliation"]} == {120503, 120465}


def test_an_exported_ledger_imports_back_unchanged(schemes: Path, tmp_path: Path) -> None:
    assert run_cli("import", "cas", str(FAMILY)).exit_code == 0
    exported = run_cli("txns", "--csv")
    assert exported.exit_code == 0
    ledger = tmp_path / "ledger.csv"
    ledger.write_text(exported.stdout, encoding="utf-8")
    again = run_cli("import", "csv", str(ledger), "--json")
    assert again.exit_code == 0, again.stderr
    assert json.loads(again.stdout)["added"] == 0
    assert json.loads(again.stdout)["already_present"] == 115


def _echoing(fd: int) -> bool:
    import termios

    return bool(termios.tcgetattr(fd)[3] & termios.ECHO)


def test_on_a_terminal_the_password_is_prompted_for_and_not_echoed(
    schemes: Path, tmp_path: Path
) -> None:
    """stdin a real terminal (a pty as the controlling terminal): a hidden prompt."""
    import os
    import pty
    import select
    import signal
    import sys
    import time

    from tests.helpers import REPO

    pdf = statement_pdf(family_statement(), tmp_path / "cas.pdf", PASSWORD)
    pid, fd = pty.fork()
    if pid == 0:  # the child: mftrack on the terminal
        os.chdir(REPO)
        os.execv(sys.executable, [sys.executable, "-m", "mftrack", "import", "cas", str(pdf),
                                  "--dry-run"])  # fmt: skip
    seen = b""
    sent = False
    deadline = time.monotonic() + 240  # a loaded CI machine starts Python slowly
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if not ready:
            if not sent and b"Password of the statement" in seen and not _echoing(fd):
                os.write(fd, PASSWORD.encode() + b"\n")
                sent = True
            continue
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        seen += chunk
        # Typed once the prompt has turned echo off (getpass flushes what came before).
        if not sent and b"Password of the statement" in seen and not _echoing(fd):
            os.write(fd, PASSWORD.encode() + b"\n")
            sent = True
    for _ in range(100):
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        time.sleep(0.1)
    else:  # still waiting at the prompt: never hang the suite
        os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
    os.close(fd)
    text = seen.decode(errors="replace")
    assert sent, text
    assert os.waitstatus_to_exitcode(status) == 0, text
    assert "would add 115" in text
    assert PASSWORD not in text  # hidden input: not echoed


def test_importing_casparser_json_loads_no_pdf_or_heavy_stack(schemes: Path) -> None:
    """casparser (pydantic, pypdfium2) is loaded only to read a PDF; the JSON path and the
    import itself need none of the heavy libraries (tests/test_architecture.py's list)."""
    from tests.test_architecture import HEAVY, _cli_modules

    loaded = _cli_modules(schemes, "import", "cas", str(FAMILY), "--dry-run")
    assert "mftrack.adapters.cas" in loaded
    assert not [m for m in ("casparser", "pypdfium2", "pydantic", *HEAVY) if m in loaded]
    assert not [m for m in loaded if m.split(".")[0] in ("sqlalchemy", "alembic")]
