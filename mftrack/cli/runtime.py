"""The execution context of one command: paths, settings, consoles, today, and lazy adapters.

Nothing here is built at import time; the store opens on first use, so `--help` and
`config paths` never touch the database.
"""

from __future__ import annotations

import os
import re
import sys
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from mftrack.config import Paths, Settings, load_settings, resolve_paths
from mftrack.errors import ConfigError

if TYPE_CHECKING:
    from rich.console import Console

    from mftrack.adapters.sqlite.store import LocalStore
    from mftrack.domain.portfolio import PortfolioSummary

INDIA = "Asia/Kolkata"
PRIVATE_UMASK = 0o077


def _surely_piped(*, stderr: bool = False) -> bool:
    """stdout (or stderr) is not a terminal, decided without importing Rich: not a tty, and
    none of the variables with which Rich's `Console.is_terminal` overrides that
    (TTY_COMPATIBLE, FORCE_COLOR) is set; when one is, Rich decides."""
    stream = sys.stderr if stderr else sys.stdout
    return (not stream.isatty() and "TTY_COMPATIBLE" not in os.environ
            and "FORCE_COLOR" not in os.environ)


_EMOJI_CODE = re.compile(r":\S*:")  # what Rich would look up as an emoji code (`:warning:`)


def _plain_to_stderr(text: str) -> bool:
    """Write `text` and a newline to stderr without Rich when Rich would print it unchanged:
    stderr is not a terminal (no colour), and the text is printable (no tab Rich expands, no
    control code it strips), has no `[` (markup) and no `:code:` (emoji). A warning into a
    pipe or a cron log then costs no Rich import (~30 ms of a `nav import`, issue 10)."""
    if not (text.isprintable() and "[" not in text and _EMOJI_CODE.search(text) is None
            and _surely_piped(stderr=True)):
        return False
    sys.stderr.write(text + "\n")
    sys.stderr.flush()
    return True


def india_today() -> date:
    """Today's date in India, the calendar AMFI publishes NAVs in.

    `MFTRACK_TODAY=YYYY-MM-DD` pins it (tests, reproducible reports).
    """
    pinned = os.environ.get("MFTRACK_TODAY")
    if pinned:
        try:
            return date.fromisoformat(pinned)
        except ValueError as exc:
            raise ConfigError(
                f"MFTRACK_TODAY={pinned!r} is not a YYYY-MM-DD date",
                hint="unset it, or write a date like 2025-12-10",
            ) from exc
    from zoneinfo import ZoneInfo

    return datetime.now(ZoneInfo(INDIA)).date()


class Runtime:
    def __init__(self, *, debug: bool = False, quiet: bool = False,
                 verbose: bool = False) -> None:
        # Amounts, labels, logs and tokens are private: every folder this process creates is
        # 0700 and every file 0600 (SQLite's -wal/-shm and lock files too), whatever umask
        # the user's shell, cron or systemd gave us. Restored in close().
        self._umask = os.umask(PRIVATE_UMASK)
        self.debug = debug
        self.quiet = quiet
        self.verbose = verbose
        self.command = "COMMAND"  # the subcommand being run, for hints that repeat it
        self.paths: Paths = resolve_paths()
        self._settings: Settings | None = None
        self._store: LocalStore | None = None
        self._out: Console | None = None
        self._err: Console | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings(self.paths)
        return self._settings

    @property
    def store(self) -> LocalStore:
        if self._store is None:
            from mftrack.adapters.sqlite.store import LocalStore

            self._store = LocalStore(self.paths.database, backup_dir=self.paths.backup_dir)
        return self._store

    def today(self) -> date:
        return india_today()

    @property
    def out(self) -> Console:
        if self._out is None:
            from rich.console import Console

            self._out = Console(highlight=False)
        return self._out

    @property
    def err(self) -> Console:
        if self._err is None:
            from rich.console import Console

            self._err = Console(stderr=True, highlight=False)
        return self._err

    @property
    def table_width(self) -> int | None:
        """The width tables must fit on a terminal; None into a pipe or a file, where every
        column and whole names are printed (`mftrack summary | less`, `> file`)."""
        if _surely_piped():
            return None
        return self.out.width if self.out.is_terminal else None

    def print_table(self, table: Any) -> None:
        """A table on stdout: fitted to the terminal, or whole and unpadded when piped.

        `table` is a `render.tables.FittedTable` or a Rich table; a fitted one goes into a
        pipe as plain text without loading Rich (start-up, issue 10)."""
        from mftrack.render.tables import FittedTable

        if isinstance(table, FittedTable):
            if _surely_piped():
                self.write_data(table.plain())
                return
            table = table.to_rich()
        if self.out.is_terminal:
            self.out.print(table)
            return
        import io

        from rich.console import Console

        buffer = io.StringIO()
        # Wide enough that no column is cut or folded; a table is only as wide as its cells.
        Console(file=buffer, width=100_000, highlight=False, color_system=None).print(table)
        self.write_data("\n".join(line.rstrip() for line in buffer.getvalue().splitlines()))

    def info(self, message: str) -> None:
        """A progress/status message on stderr (suppressed by --quiet)."""
        if not self.quiet and not _plain_to_stderr(message):
            self.err.print(message, soft_wrap=True)

    def warn(self, message: str) -> None:
        if _plain_to_stderr(f"Warning: {message}"):
            return
        from rich.markup import escape

        self.err.print(f"[yellow]Warning:[/] {escape(message)}", soft_wrap=True)

    def warn_valuation(self, summary: PortfolioSummary) -> None:
        """A valuation's warnings: one line per kind, or with --verbose one per scheme."""
        if self.verbose:
            for warning in summary.warnings:
                self.warn(warning)
            return
        from mftrack.domain.portfolio import FIX_COMMAND  # loaded by every valuation
        from mftrack.domain.warning_groups import grouped_warnings

        lines = grouped_warnings(summary, FIX_COMMAND)
        for line in lines:
            self.warn(line)
        if lines:
            self.info(f"  (each scheme's details: `mftrack --verbose {self.command} ...`)")

    def write_data(self, text: str) -> None:
        """Machine-readable output (JSON, CSV) straight to stdout, never wrapped or styled."""
        sys.stdout.write(text)
        if not text.endswith("\n"):
            sys.stdout.write("\n")
        sys.stdout.flush()

    @property
    def interactive(self) -> bool:
        return sys.stdin.isatty()

    def close(self, *_: Any) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None
        os.umask(self._umask)
