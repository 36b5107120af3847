"""Tables into a pipe: printed as plain columns, exactly as Rich would print them, without Rich."""

from __future__ import annotations

import io
import os
import subprocess
import sys

from mftrack.render.tables import Col, fit_table
from tests.helpers import NAVALL, REPO, mfapi_file, run_cli


def _real_rows(count: int) -> list[tuple[str, str, str, str, str]]:
    """(code, scheme name, NAV, nothing, date) from AMFI's NAVAll file of 2019-06-21."""
    rows = []
    for line in (NAVALL / "NAVAll_2019-06-21.txt").read_text(encoding="utf-8").splitlines():
        fields = line.split(";")
        if len(fields) == 6 and fields[0].isdigit():
            rows.append((fields[0], fields[3], fields[4], "", fields[5]))
        if len(rows) == count:
            break
    return rows


def _rich_into_a_pipe(table: object) -> str:
    """What `Runtime.print_table` printed into a pipe before: Rich, wide, no colour."""
    from rich.console import Console

    buffer = io.StringIO()
    Console(file=buffer, width=100_000, highlight=False, color_system=None).print(table)
    return "\n".join(line.rstrip() for line in buffer.getvalue().splitlines())


def test_plain_text_is_what_rich_prints_into_a_pipe() -> None:
    rows = _real_rows(12)
    assert len(rows) == 12
    columns = [Col("code", "right"), Col("scheme", flexible=True), Col("NAV", "right", style="dim"),
               Col("empty", drop_order=1), Col("date", "center")]
    footer = ("", "Total", "12", "", "")
    for title, foot in ((None, None), ("NAVs of 2019-06-21", footer), ("A", footer)):
        table = fit_table(columns, rows, title=title, footer=foot, width=None)
        assert "empty" not in table.plain()  # a column empty in every row is left out
        assert table.plain() == _rich_into_a_pipe(table.to_rich())


def test_piped_sips_prints_its_table_without_importing_rich() -> None:
    """Rich's console and table cost ~20 ms of `mftrack sips` (docs/benchmarks.md)."""
    assert run_cli("-q", "nav", "import", str(mfapi_file(120503))).exit_code == 0
    assert run_cli("-q", "add-sip", "120503", "-a", "1000", "-s", "2024-01-05").exit_code == 0
    probe = (
        "import sys\nfrom mftrack.cli import app\n"
        "try:\n    app(['sips'])\nexcept SystemExit:\n    pass\n"
        "sys.stderr.write(' '.join(m for m in sys.modules if m.startswith('rich')))"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "TTY_COMPATIBLE")}
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         cwd=REPO, env=env, timeout=60)
    lines = out.stdout.splitlines()
    assert lines[0].split() == ["id", "code", "scheme", "amount", "day", "start", "status"]
    assert "Axis ELSS Tax Saver Fund - Direct Plan - Growth Option" in lines[1]
    assert out.stderr == "", out.stderr
