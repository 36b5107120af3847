"""Daily log files: line format, redaction, retention, reading, and the `mftrack logs` commands."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from mftrack.adapters.logfiles import (
    DailyFileHandler,
    LogReader,
    clean_logs,
    configure_logging,
    follow_lines,
    log_files,
    read_lines,
    redact,
    remove_handlers,
)
from mftrack.config import resolve_paths
from tests.helpers import run_cli

IST = timezone(timedelta(hours=5, minutes=30))
JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiI2ZjFjIiwicm9sZSI6ImF1dGhlbnRpY2F0ZWQifQ"
    ".dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
)


# --- redaction ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        (f"GET /rest/v1/sips Authorization: Bearer {JWT}", JWT),
        (f"token expired: {JWT}", JWT),
        ("https://x.supabase.co/rest/v1/rpc/push?apikey=sb_publishable_abc123&x=1", "abc123"),
        ("headers={'apikey': 'anon-key-value-123', 'accept': 'json'}", "anon-key-value-123"),
        (
            '{"access_token":"opaque-at-999","refresh_token":"v1.MnsXQ8kJ2Pq","user":{}}',
            "v1.MnsXQ8kJ2Pq",
        ),
        ("refresh_token=ZdF3-g1Ta9&grant_type=refresh_token", "ZdF3-g1Ta9"),
        ('{"email": "a@b.in", "password": "hunter2!"}', "hunter2!"),
        ("postgresql://postgres:s3cr3t-pw@127.0.0.1:5432/postgres", "s3cr3t-pw"),
        ("https://user:pa55word@mirror.example/NAVAll.txt", "pa55word"),
        ("authorization: Basic dXNlcjpwYXNzd29yZA==", "dXNlcjpwYXNzd29yZA=="),
        ("key sb_secret_Abc123_xyz leaked", "sb_secret_Abc123_xyz"),
    ],
)
def test_secrets_are_masked(text: str, secret: str) -> None:
    masked = redact(text)
    assert secret not in masked
    assert "***" in masked


@pytest.mark.parametrize(
    "text",
    [
        "nav_pull ok: NAVAll of 2025-12-11: 8,335 new NAVs; 1 instalment allotted",
        "auth.token_store = keyring",
        "basic information about scheme 119551",
        "https://portal.amfiindia.com/spages/NAVAll.txt",
    ],
)
def test_ordinary_text_is_left_alone(text: str) -> None:
    assert redact(text) == text


@pytest.fixture
def logger(tmp_path: Path) -> Iterator[logging.Logger]:
    handlers = configure_logging(tmp_path / "logs", stderr=False)
    yield logging.getLogger("mftrack.daemon.sync")  # a child: handler filters must still apply
    remove_handlers(handlers)


def test_the_handlers_redact_messages_arguments_and_tracebacks(
    logger: logging.Logger, tmp_path: Path
) -> None:
    logger.info("login as %s with password=%s", "me@example.in", "hunter2")
    try:
        raise RuntimeError(f"server said: Bearer {JWT}")
    except RuntimeError:
        logger.exception("sync crashed")
    text = "".join(p.read_text(encoding="utf-8") for _, p in log_files(tmp_path / "logs"))
    assert "hunter2" not in text
    assert JWT not in text and JWT[:40] not in text
    assert "password=***" in text
    assert "RuntimeError: server said: Bearer ***" in text


# --- writing --------------------------------------------------------------------------------


def record(name: str, level: int, msg: str, when: datetime) -> logging.LogRecord:
    rec = logging.LogRecord(name, level, __file__, 1, msg, None, None)
    rec.created = when.timestamp()
    return rec


def test_lines_are_readable_and_go_to_the_file_of_their_local_day(tmp_path: Path) -> None:
    handler = DailyFileHandler(tmp_path, tz=IST)
    try:
        handler.handle(
            record(
                "mftrack.daemon.nav_pull",
                logging.INFO,
                "pulled",
                datetime(2025, 12, 11, 23, 59, 30, tzinfo=IST),
            )
        )
        handler.handle(
            record(
                "mftrack.daemon",
                logging.WARNING,
                "two\nlines",
                datetime(2025, 12, 11, 18, 31, tzinfo=UTC),
            )
        )  # 00:01 IST
    finally:
        handler.close()
    assert (tmp_path / "mftrack-2025-12-11.log").read_text(encoding="utf-8") == (
        "2025-12-11 23:59:30+0530 INFO daemon.nav_pull pulled\n"
    )
    assert (tmp_path / "mftrack-2025-12-12.log").read_text(encoding="utf-8") == (
        "2025-12-12 00:01:00+0530 WARNING daemon two\n  lines\n"
    )


def test_a_crash_in_the_cli_is_logged_the_same_way_and_redacted(tmp_path: Path) -> None:
    from mftrack.cli.errors import _log_crash

    class Runtime:
        paths = resolve_paths()

    try:
        raise ValueError(f"bad token {JWT}")
    except ValueError:
        where = _log_crash(Runtime())
    assert where is not None
    text = Path(where).read_text(encoding="utf-8")
    head, *rest = text.splitlines()
    assert head.endswith(" ERROR cli unexpected error")
    assert any("ValueError: bad token eyJ***" in line for line in rest)
    assert all(line.startswith("  ") for line in rest)
    assert JWT not in text


# --- retention ------------------------------------------------------------------------------

TODAY = date(2025, 12, 11)


def make_logs(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for age in (0, 1, 88, 89, 90, 91, 400):
        (folder / f"mftrack-{TODAY - timedelta(days=age):%Y-%m-%d}.log").write_text("x\n")
    for foreign in (
        "notes.txt",
        "mftrack-2020-01-01.log.gz",
        "mftrack-2020-01-01.log.1",
        "mftrack-2020-02-30.log",
        "MFTRACK-2020-01-01.log",
        "other-2020-01-01.log",
        "mftrack-2020-1-1.log",
    ):
        (folder / foreign).write_text("keep me\n")
    (folder / "mftrack-2020-01-02.log").mkdir()  # a folder with our name is not our file
    if hasattr(os, "symlink"):
        (folder / "mftrack-2020-01-03.log").symlink_to(folder / "notes.txt")


def test_retention_removes_only_our_files_older_than_the_limit(tmp_path: Path) -> None:
    folder = tmp_path / "logs"
    make_logs(folder)
    before = sorted(p.name for p in folder.iterdir())
    report = clean_logs(folder, retention_days=90, today=TODAY)
    removed = sorted(p.name for p in report.removed)
    assert removed == [
        f"mftrack-{TODAY - timedelta(days=age):%Y-%m-%d}.log" for age in (400, 91, 90)
    ]
    assert report.cutoff == TODAY - timedelta(days=89)
    assert sorted(p.name for p in folder.iterdir()) == sorted(set(before) - set(removed))
    assert (folder / "notes.txt").read_text() == "keep me\n"
    assert (folder / "mftrack-2020-01-02.log").is_dir()


def test_a_dry_run_deletes_nothing(tmp_path: Path) -> None:
    folder = tmp_path / "logs"
    make_logs(folder)
    before = sorted(p.name for p in folder.iterdir())
    report = clean_logs(folder, retention_days=1, today=TODAY, dry_run=True)
    assert len(report.removed) == 6  # all but today's
    assert sorted(p.name for p in folder.iterdir()) == before


# --- reading --------------------------------------------------------------------------------


def write(folder: Path, day: str, *lines: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / f"mftrack-{day}.log").open("a", encoding="utf-8") as handle:
        handle.writelines(line + "\n" for line in lines)


def test_reading_filters_by_date_and_level_and_keeps_tracebacks_together(tmp_path: Path) -> None:
    write(tmp_path, "2025-12-10", "2025-12-10 21:30:00+0530 INFO daemon started")
    write(
        tmp_path,
        "2025-12-11",
        "2025-12-11 21:30:00+0530 WARNING daemon.nav_pull failed (1 in a row): HTTP 500",
        "2025-12-11 21:31:00+0530 ERROR daemon.sync crashed",
        "  Traceback (most recent call last):",
        "  ZeroDivisionError: boom",
        "2025-12-11 21:32:00+0530 INFO daemon.sync ok",
        "  (a continuation of an INFO line)",
    )
    assert len(read_lines(tmp_path)) == 7
    assert read_lines(tmp_path, since=date(2025, 12, 11), level="error") == [
        "2025-12-11 21:31:00+0530 ERROR daemon.sync crashed",
        "  Traceback (most recent call last):",
        "  ZeroDivisionError: boom",
    ]
    assert read_lines(tmp_path, level="WARNING")[0].endswith("HTTP 500")
    assert read_lines(tmp_path, since=date(2025, 12, 12)) == []


def test_following_picks_up_new_lines_and_the_next_days_file(tmp_path: Path) -> None:
    write(tmp_path, "2025-12-11", "2025-12-11 23:59:00+0530 INFO daemon one")
    reader = LogReader(tmp_path)
    assert reader.poll() == ["2025-12-11 23:59:00+0530 INFO daemon one"]
    assert reader.poll() == []
    with (tmp_path / "mftrack-2025-12-11.log").open("a", encoding="utf-8") as handle:
        handle.write("2025-12-11 23:59:59+0530 INFO daemon tw")  # half a line so far
    assert reader.poll() == []
    with (tmp_path / "mftrack-2025-12-11.log").open("a", encoding="utf-8") as handle:
        handle.write("o\n")
    write(tmp_path, "2025-12-12", "2025-12-12 00:00:01+0530 INFO daemon three")
    assert reader.poll() == [
        "2025-12-11 23:59:59+0530 INFO daemon two",
        "2025-12-12 00:00:01+0530 INFO daemon three",
    ]


def test_follow_lines_stops_when_asked(tmp_path: Path) -> None:
    write(tmp_path, "2025-12-11", "2025-12-11 23:59:00+0530 INFO daemon one")
    stop = threading.Event()
    lines = follow_lines(tmp_path, stop=stop, interval=0)
    assert next(lines).endswith("one")
    stop.set()
    assert list(lines) == []


# --- the commands ---------------------------------------------------------------------------


def test_logs_command_prints_matching_lines_on_stdout() -> None:
    folder = resolve_paths().log_dir
    write(
        folder,
        "2025-12-11",
        "2025-12-11 21:30:00+0530 INFO daemon started",
        "2025-12-11 21:31:00+0530 ERROR daemon.nav_pull failed",
    )
    result = run_cli("logs", "--level", "error")
    assert result.exit_code == 0
    assert result.stdout == "2025-12-11 21:31:00+0530 ERROR daemon.nav_pull failed\n"
    assert run_cli("logs", "--since", "2025-12-11").stdout.count("\n") == 2
    bad = run_cli("logs", "--level", "loud")
    assert bad.exit_code == 2
    assert "--level 'loud' is not a log level" in bad.stderr


def test_logs_clean_honours_dry_run_and_the_retention_setting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    folder = resolve_paths().log_dir
    today = datetime.now(UTC).astimezone().date()
    old = f"mftrack-{today - timedelta(days=10):%Y-%m-%d}.log"
    recent = f"mftrack-{today - timedelta(days=2):%Y-%m-%d}.log"
    write(folder, old[8:18], "x")
    write(folder, recent[8:18], "x")
    (folder / "notes.txt").write_text("mine")
    monkeypatch.setenv("MFTRACK_LOGS_RETENTION_DAYS", "7")
    dry = run_cli("logs", "clean", "--dry-run")
    assert dry.exit_code == 0
    assert dry.stdout.strip() == str(folder / old)
    assert "Would remove 1 log file(s)" in dry.stderr
    assert (folder / old).exists()
    done = run_cli("logs", "clean")
    assert done.exit_code == 0
    assert sorted(p.name for p in folder.iterdir()) == sorted([recent, "notes.txt"])


def test_logs_piped_into_head_stops_quietly() -> None:
    import subprocess
    import sys

    from tests.helpers import REPO

    folder = resolve_paths().log_dir
    write(
        folder,
        "2025-12-11",
        *(f"2025-12-11 21:30:00+0530 INFO daemon line {n}" for n in range(50_000)),
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "mftrack", "logs"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.readline().endswith(b"line 0\n")
    proc.stdout.close()  # like `| head -1`
    assert proc.wait(timeout=30) == 0
    assert proc.stderr.read() == b""
    proc.stderr.close()
