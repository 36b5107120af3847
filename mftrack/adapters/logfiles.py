"""mftrack's own log files: one per local day, readable lines, secrets masked, old days removed.

A line is `YYYY-MM-DD HH:MM:SS+0530 LEVEL component message` in local time; the lines of a
traceback follow, indented by two spaces, so a reader can tell where a record ends. Files are
`<log dir>/mftrack-YYYY-MM-DD.log`; retention deletes only files with exactly that name, so
anything else a user keeps in the folder is never touched.

Secrets are masked by `redact()` before anything reaches a file or stderr: `RedactingFilter` sits
on every handler (a logger-level filter would miss records from child loggers), and the daemon
passes job messages through it before storing them in `job_runs`.
"""

from __future__ import annotations

import logging
import re
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from pathlib import Path
from typing import TextIO

LOGGER = "mftrack"
NAME_PATTERN = re.compile(r"^mftrack-(\d{4}-\d{2}-\d{2})\.log$")
LEVELS = {"DEBUG": 10, "INFO": 20, "WARNING": 30, "WARN": 30, "ERROR": 40, "CRITICAL": 50}
_HEAD = re.compile(r"^(\d{4}-\d{2}-\d{2}) \d{2}:\d{2}:\d{2}[+-]\d{4} ([A-Z]+) ")

# --- redaction ------------------------------------------------------------------------------

_MASK = "***"
_SECRET_KEYS = (
    r"api[_-]?key|access[_-]?token|refresh[_-]?token|id[_-]?token|provider[_-]?token"
    r"|provider[_-]?refresh[_-]?token|token|password|passwd|pwd|secret|client[_-]?secret"
    r"|anon[_-]?key|service[_-]?role(?:[_-]?key)?|session"
)
_REDACTIONS: tuple[tuple[re.Pattern[str], str], ...] = (
    # Authorization headers ("Authorization: Basic x", "Authorization: x") and "Bearer x".
    (
        re.compile(
            r"""(?i)\b(authorization["']?\s*[:=]\s*["']?)((?:basic|bearer|token)\s+)?[^"'\s,;]+"""
        ),
        r"\1\2" + _MASK,
    ),
    (re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9._~+/=-]+"), r"\1" + _MASK),
    # JWTs (Supabase access tokens and keys): base64url JSON header, always starts "eyJ".
    (re.compile(r"eyJ[A-Za-z0-9_-]{8,}(?:\.[A-Za-z0-9_-]*){0,2}"), "eyJ" + _MASK),
    # Supabase's new-style secret keys.
    (re.compile(r"\bsb_secret_[A-Za-z0-9_-]+"), "sb_secret_" + _MASK),
    # key=value, key: value, "key": "value", 'key': 'value' (JSON, reprs, query strings, forms).
    (
        re.compile(rf"""(?i)(["']?\b(?:{_SECRET_KEYS})\b["']?\s*[:=]\s*["']?)[^"'\s&,;}})]+"""),
        r"\1" + _MASK,
    ),
    # Passwords in URLs: scheme://user:password@host.
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^:/?#\s@]+:)[^@/?#\s]+(@)"), r"\1" + _MASK + r"\2"),
)


def redact(text: str) -> str:
    """Mask JWTs, API keys, bearer tokens, refresh tokens and passwords in `text`."""
    for pattern, replacement in _REDACTIONS:
        text = pattern.sub(replacement, text)
    return text


class RedactingFilter(logging.Filter):
    """Masks secrets in a record's message, arguments and traceback (see `redact`)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = redact(record.getMessage()), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


# --- writing --------------------------------------------------------------------------------


def log_file_name(day: date) -> str:
    return f"mftrack-{day:%Y-%m-%d}.log"


def local_time(timestamp: float, tz: tzinfo | None = None) -> datetime:
    """The timestamp in `tz`, or in the machine's local zone when `tz` is None."""
    return datetime.fromtimestamp(timestamp, tz=UTC).astimezone(tz)


def format_line(when: datetime, level: str, component: str, message: str, detail: str = "") -> str:
    """One record as text: the head line, then `detail` lines indented by two spaces."""
    text = f"{when:%Y-%m-%d %H:%M:%S%z} {level} {component} {message}".rstrip()
    extra = [line for line in detail.splitlines() if line.strip()]
    lines = text.splitlines() + extra
    return "\n  ".join(lines)


class LineFormatter(logging.Formatter):
    """`YYYY-MM-DD HH:MM:SS+0530 LEVEL component message`; component = logger name after
    `mftrack.` (`mftrack.daemon.nav_pull` -> `daemon.nav_pull`)."""

    def __init__(self, tz: tzinfo | None = None) -> None:
        super().__init__()
        self.tz = tz

    def format(self, record: logging.LogRecord) -> str:
        component = record.name.removeprefix(LOGGER + ".") if record.name != LOGGER else "main"
        detail = ""
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            detail = record.exc_text
        if record.stack_info:
            detail += "\n" + record.stack_info
        when = local_time(record.created, self.tz)
        return format_line(when, record.levelname, component, record.getMessage(), detail)


class DailyFileHandler(logging.Handler):
    """Appends each record to the file of its local day, switching files at midnight."""

    def __init__(self, log_dir: Path, tz: tzinfo | None = None) -> None:
        super().__init__()
        self.log_dir = log_dir
        self.tz = tz
        self._day: date | None = None
        self._stream: TextIO | None = None
        self.setFormatter(LineFormatter(tz))
        self.addFilter(RedactingFilter())

    @property
    def current_path(self) -> Path | None:
        return None if self._day is None else self.log_dir / log_file_name(self._day)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            day = local_time(record.created, self.tz).date()
            if day != self._day or self._stream is None:
                self._switch(day)
            assert self._stream is not None
            self._stream.write(self.format(record) + "\n")
            self._stream.flush()
        except Exception:
            self.handleError(record)

    def _switch(self, day: date) -> None:
        if self._stream is not None:
            self._stream.close()
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self._stream = (self.log_dir / log_file_name(day)).open("a", encoding="utf-8")
        self._day = day

    def close(self) -> None:
        with self.lock:  # type: ignore[union-attr]
            if self._stream is not None:
                self._stream.close()
                self._stream = None
        super().close()


class ClockFilter(logging.Filter):
    """Stamps each record with `clock()` instead of the system time: the daemon's injected
    clock decides the time on each line and so which day's file a line goes to."""

    def __init__(self, clock: Callable[[], datetime]) -> None:
        super().__init__()
        self.clock = clock

    def filter(self, record: logging.LogRecord) -> bool:
        record.created = self.clock().timestamp()
        return True


def configure_logging(
    log_dir: Path,
    *,
    level: int = logging.INFO,
    stderr: bool = True,
    tz: tzinfo | None = None,
    clock: Callable[[], datetime] | None = None,
) -> list[logging.Handler]:
    """Send the `mftrack` loggers to the daily files (and stderr); returns the handlers added,
    which the caller removes with `remove_handlers` when done."""
    logger = logging.getLogger(LOGGER)
    handlers: list[logging.Handler] = [DailyFileHandler(log_dir, tz)]
    if stderr:
        console = logging.StreamHandler(sys.stderr)
        console.setFormatter(LineFormatter(tz))
        console.addFilter(RedactingFilter())
        handlers.append(console)
    for handler in handlers:
        if clock is not None:
            handler.filters.insert(0, ClockFilter(clock))
        handler.setLevel(level)
        logger.addHandler(handler)
    logger.setLevel(min(level, logger.level or level))
    logger.propagate = False
    return handlers


def remove_handlers(handlers: list[logging.Handler]) -> None:
    """Undo `configure_logging`: records propagate to the root logger again."""
    logger = logging.getLogger(LOGGER)
    for handler in handlers:
        logger.removeHandler(handler)
        handler.close()
    if not logger.handlers:
        logger.propagate = True
        logger.setLevel(logging.NOTSET)


def log_crash(log_dir: Path, traceback_text: str, *, component: str = "cli") -> Path:
    """Append an unexpected error and its (redacted) traceback to today's file."""
    now = datetime.now(UTC).astimezone()
    log_dir.mkdir(parents=True, exist_ok=True)
    target = log_dir / log_file_name(now.date())
    line = format_line(now, "ERROR", component, "unexpected error", redact(traceback_text))
    with target.open("a", encoding="utf-8") as handle:
        handle.write(line + "\n")
    return target


def log_failure(log_dir: Path, message: str, *, component: str = "cli") -> Path:
    """Append one WARNING line for a command that failed with a known error (cron reads these
    back with `mftrack logs --level WARNING`)."""
    now = datetime.now(UTC).astimezone()
    log_dir.mkdir(parents=True, exist_ok=True)
    target = log_dir / log_file_name(now.date())
    with target.open("a", encoding="utf-8") as handle:
        handle.write(format_line(now, "WARNING", component, redact(message)) + "\n")
    return target


# --- retention ------------------------------------------------------------------------------


def log_files(log_dir: Path) -> list[tuple[date, Path]]:
    """mftrack's own daily files in `log_dir` (exact name, regular file, real date), oldest
    first. Symlinks, folders and every other name are not ours and are left out."""
    found: list[tuple[date, Path]] = []
    if not log_dir.is_dir():
        return found
    for path in log_dir.iterdir():
        match = NAME_PATTERN.match(path.name)
        if match is None or path.is_symlink() or not path.is_file():
            continue
        try:
            found.append((date.fromisoformat(match.group(1)), path))
        except ValueError:  # mftrack-2025-02-30.log: not a file mftrack wrote
            continue
    return sorted(found)


@dataclass
class CleanReport:
    """What `clean_logs` removed (or would remove, with dry_run) and kept."""

    cutoff: date  # files dated before this are removed
    removed: list[Path] = field(default_factory=list)
    kept: list[Path] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    dry_run: bool = False


def clean_logs(
    log_dir: Path, *, retention_days: int, today: date, dry_run: bool = False
) -> CleanReport:
    """Delete mftrack's daily log files older than `retention_days` days (today's file is day 1,
    so 90 keeps today and the 89 days before it)."""
    cutoff = today - timedelta(days=retention_days - 1)
    report = CleanReport(cutoff=cutoff, dry_run=dry_run)
    for day, path in log_files(log_dir):
        if day >= cutoff:
            report.kept.append(path)
            continue
        if not dry_run:
            try:
                path.unlink()
            except FileNotFoundError:
                continue  # another process cleaned it first
            except OSError as exc:
                report.problems.append(f"{path}: {exc.strerror}")
                continue
        report.removed.append(path)
    return report


# --- reading --------------------------------------------------------------------------------


class LogReader:
    """Reads records from the daily files in order, from `since` on, at or above `level`.

    `poll()` returns the lines completed since the last call, so the same object serves a
    one-off read and `--follow` (it moves on to the next day's file when one appears).
    Continuation lines (tracebacks) share the fate of the record they belong to.
    """

    def __init__(self, log_dir: Path, *, since: date | None = None, level: str | None = None):
        self.log_dir = log_dir
        self.since = since
        self.min_level = LEVELS[level.upper()] if level else 0
        self._path: Path | None = None
        self._offset = 0
        self._partial = ""
        self._keep = self.min_level == 0

    def _passes(self, line: str) -> bool:
        head = _HEAD.match(line)
        if head is None:
            return self._keep
        day, level = head.groups()
        self._keep = (self.since is None or day >= self.since.isoformat()) and (
            LEVELS.get(level, 0) >= self.min_level
        )
        return self._keep

    def _files(self) -> list[Path]:
        return [p for d, p in log_files(self.log_dir) if self.since is None or d >= self.since]

    def poll(self, *, final: bool = False) -> list[str]:
        out: list[str] = []
        while True:
            files = self._files()
            if self._path is None:
                if not files:
                    return out
                self._path, self._offset = files[0], 0
            out.extend(self._read_current(final=final))
            later = [p for p in files if p.name > self._path.name]
            if not later:
                return out
            out.extend(self._read_current(final=True))
            self._path, self._offset, self._partial = later[0], 0, ""

    def _read_current(self, *, final: bool) -> list[str]:
        assert self._path is not None
        try:
            with self._path.open("r", encoding="utf-8", errors="replace") as handle:
                handle.seek(self._offset)
                data = handle.read()
                self._offset = handle.tell()
        except FileNotFoundError:  # removed by retention while we read
            data = ""
        text = self._partial + data
        lines = text.split("\n")
        self._partial = "" if final else lines.pop()
        return [line for line in lines if line and self._passes(line)]


def read_lines(log_dir: Path, *, since: date | None = None, level: str | None = None) -> list[str]:
    """Every matching line of the daily files, oldest first."""
    return LogReader(log_dir, since=since, level=level).poll(final=True)


def follow_lines(
    log_dir: Path,
    *,
    since: date | None = None,
    level: str | None = None,
    stop: threading.Event,
    interval: float = 0.5,
) -> Iterator[str]:
    """Matching lines as they are written, until `stop` is set (like `tail -f`)."""
    reader = LogReader(log_dir, since=since, level=level)
    while True:
        yield from reader.poll()
        if stop.wait(interval):
            return
