"""Messages on stderr into a pipe or a file: written as Rich would print them, without Rich
when Rich would change nothing (a warning in a cron log costs no Rich import, issue 10)."""

from __future__ import annotations

import io
import os
import subprocess
import sys

import pytest

from mftrack.cli.runtime import Runtime
from tests.helpers import NAVALL, REPO

NAVALL_2026 = NAVALL / "NAVAll_2026-08-21_8col-plan-option.txt"  # 251 rows without a NAV

MESSAGES = [
    f"{NAVALL_2026}: 251 row(s) without a usable NAV (e.g. line 272: NAV '0.0000' is not "
    "positive; no NAV recorded)",
    "amount ₹5,000 → ₹7,500 from 2025-01-05",
    "5 schemes' NAVs are 359 days old: run `mftrack nav update`",
    "https://www.amfiindia.com/spages/NAVAll.txt answered 10:30:15 late",  # `:30:` looks up
    "the :warning: code and a [bold]tag[/bold]",  # emoji code and markup: Rich's way
    "a tab\there and a bell\x07",  # Rich expands the tab and strips the bell
    "",
]


def _rich(markup: str) -> str:
    """What the Runtime's stderr console prints into a pipe (no terminal, no colour)."""
    from rich.console import Console

    buffer = io.StringIO()
    Console(file=buffer, highlight=False).print(markup, soft_wrap=True)
    return buffer.getvalue()


@pytest.mark.parametrize("message", MESSAGES)
def test_warnings_and_info_into_a_pipe_are_what_rich_prints(
    message: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from rich.markup import escape

    monkeypatch.delenv("FORCE_COLOR", raising=False)
    monkeypatch.delenv("TTY_COMPATIBLE", raising=False)
    runtime = Runtime()
    try:
        runtime.warn(message)
        assert capsys.readouterr().err == _rich(f"[yellow]Warning:[/] {escape(message)}")
        runtime.info(message)
        assert capsys.readouterr().err == _rich(message)
    finally:
        runtime.close()


def test_nav_import_into_a_pipe_warns_without_importing_rich() -> None:
    probe = (
        "import sys\nfrom mftrack.cli import app\n"
        f"try:\n    app(['-q', 'nav', 'import', {str(NAVALL_2026)!r}])\n"
        "except SystemExit:\n    pass\n"
        "print(' '.join(m for m in sys.modules if m.startswith('rich')))"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "TTY_COMPATIBLE")}
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=REPO, env=env, timeout=60
    )
    assert out.stderr == f"Warning: {MESSAGES[0]}\n"
    assert out.stdout.strip() == ""  # no rich module loaded
