"""Portfolios for the chart and report tests (helpers only; no tests here).

- the demo: `mftrack demo --home DIR` (five real schemes, valued on 2025-12-10);
- one scheme: 120503 from January 2023, with 122639's NAVs in the store but no SIP in it;
- wide: ten real long histories, one SIP each from 2024, to exercise many-scheme layouts.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

from tests.helpers import CliResult, mfapi_file, run_cli

AS_OF = "2025-12-10"
AS_OF_DATE = date(2025, 12, 10)
WIDE_CODES = (118395, 118550, 118989, 119551, 119800, 120465, 120503, 120716, 122639, 125497)


def cli(home: Path, *args: str) -> CliResult:
    """Run the CLI with `home` as MFTRACK_HOME (overrides the autouse fixture's home)."""
    return run_cli(*args, env={"MFTRACK_HOME": str(home)})


def build_demo(root: Path) -> Path:
    home = root / "demo"
    result = run_cli("demo", "--home", str(home), env={"MFTRACK_HOME": str(root / "own")})
    assert result.exit_code == 0, result.stderr
    return home


def build_store(home: Path, codes: tuple[int, ...], sips: list[tuple[int, str, date]]) -> Path:
    from mftrack.adapters.sqlite.store import LocalStore
    from mftrack.services.navs import import_files
    from mftrack.services.sips import add_sip

    home.mkdir(parents=True, exist_ok=True)
    store = LocalStore(home / "mftrack.db", backup_dir=home / "backups")
    try:
        import_files(store=store, paths=[mfapi_file(code) for code in codes])
        for code, amount, start in sips:
            add_sip(store=store, scheme_code=code, amount=Decimal(amount), start=start)
    finally:
        store.close()
    return home


def build_one_scheme(root: Path) -> Path:
    return build_store(root / "one", (120503, 122639), [(120503, "5000", date(2023, 1, 5))])


def build_wide(root: Path) -> Path:
    sips = [(code, str(1000 + 500 * i), date(2024, 1, 3 + i)) for i, code in enumerate(WIDE_CODES)]
    return build_store(root / "wide", WIDE_CODES, sips)


def summary_json(home: Path, as_of: str = AS_OF) -> dict:
    result = cli(home, "summary", "--json", "--as-of", as_of)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def open_store(home: Path):  # type: ignore[no-untyped-def]
    from mftrack.adapters.sqlite.store import LocalStore

    return LocalStore(home / "mftrack.db", backup_dir=home / "backups")


def mfapi_points(code: int) -> list[tuple[date, Decimal]]:
    """The raw (date, NAV) pairs of a shared mfapi.in file, read without mftrack's parser."""
    raw = json.loads(mfapi_file(code).read_text(encoding="utf-8"))
    points = []
    for row in raw["data"]:
        day, month, year = (int(part) for part in row["date"].split("-"))
        points.append((date(year, month, day), Decimal(row["nav"])))
    return points
