"""Importing a 10-year CAS of 20 folio-schemes (~2,500 ledger transactions) against a floor.

    python bench/bench_cas_import.py [--repeat N]

The statement is built like the test fixtures (tests/cas_support.py: real ISINs, codes and
NAVs): 9 schemes with long histories in 3 folios (20 folio-schemes), a monthly SIP 2015-2024
with stamp duty rows from Jul 2020, and a redemption with its STT row every other year
2016-2022.

Measured in one process, each on a fresh copy of the same database (schemes loaded):
- `import cas FILE.json` as the service runs it (`services.statements.import_cas`: read the
  JSON, map rows, match schemes, import through `services.transactions.import_transactions`,
  reconcile), first import and an idempotent re-import;
- of that, reading the JSON and mapping its rows (`adapters.cas.statement_ledger`);
- the floor: `json.load` of the same file and one `executemany` of as many rows into the same
  `transactions` table, in one SQLite transaction: the least any importer of that file does.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sqlite3
import statistics
import tempfile
import time
import uuid
from datetime import date
from decimal import Decimal
from pathlib import Path

from _common import REPO  # noqa: F401  (puts the repo on sys.path)

# The nine shared mfapi histories that cover 2015-2024 without gaps, in three folios: 20
# folio-schemes.
SCHEMES = (120503, 118989, 122639, 120716, 125497, 120465, 119551, 118550, 119800)
FOLIOS = {"5566778899": SCHEMES, "6677889900": SCHEMES, "7788990011": SCHEMES[:2]}


def build_statement(path: Path) -> int:
    from tests.cas_support import SchemeBook, scheme_row, statement

    folios = []
    rows = 0
    for f, (folio, codes) in enumerate(FOLIOS.items()):
        books = []
        for i, code in enumerate(codes):
            book = SchemeBook(code)
            book.sip(date(2015, 1, 1 + (i * 2 + f) % 27), 120, Decimal(5000 + 1000 * i))
            for year in range(2016, 2023, 2):
                book.sell(date(year, 11, 20), Decimal("10.000"), stt=True)
            books.append(book)
            rows += len(book.rows)
        amc = scheme_row(SCHEMES[0])["name"].split()[0]
        folios.append((folio, f"{amc} and others Mutual Fund", books))
    data = statement(date(2015, 1, 1), date(2024, 12, 31), folios)
    path.write_text(json.dumps(data), encoding="utf-8")
    return rows


def cpu() -> float:
    return time.process_time()


def floor(db: Path, statement: Path) -> None:
    data = json.loads(statement.read_text(encoding="utf-8"))
    now = "2026-01-01T00:00:00+00:00"
    values = []
    for folio in data["folios"]:
        for scheme in folio["schemes"]:
            code = int(scheme["amfi"])
            for t in scheme["transactions"]:
                values.append(
                    (
                        str(uuid.uuid4()),
                        code,
                        t["type"],
                        t["date"],
                        t["amount"],
                        t["units"],
                        t["nav"],
                        folio["folio"],
                        f"k{len(values)}",
                        now,
                        now,
                    )
                )
    conn = sqlite3.connect(db)
    with conn:
        conn.executemany(
            "insert into transactions (id, scheme_code, kind, trade_date, amount, units, nav, "
            "folio, import_key, source, created_at, updated_at) "
            "values (?, ?, ?, ?, ?, ?, ?, ?, ?, 'cas', ?, ?)",
            values,
        )
    conn.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    import os

    from tests.helpers import mfapi_file

    work = Path(tempfile.mkdtemp(prefix="mftrack-bench-cas-"))
    os.environ["MFTRACK_HOME"] = str(work / "home")
    from mftrack.cli import app

    try:
        app(["-q", "nav", "import", *[str(mfapi_file(c)) for c in SCHEMES]])
    except SystemExit as exc:
        assert exc.code in (0, None), exc.code
    from mftrack.adapters.sqlite.store import LocalStore
    from mftrack.config import resolve_paths
    from mftrack.services.statements import import_cas

    paths = resolve_paths()
    statement = work / "cas-10y-20.json"
    rows = build_statement(statement)
    base = work / "base.sqlite3"
    shutil.copy(paths.database, base)

    def fresh() -> Path:
        shutil.copy(base, paths.database)
        return paths.database

    from mftrack.adapters.cas import read_statement, statement_ledger
    from mftrack.services.statements import scheme_resolver

    results: dict[str, list[tuple[float, float]]] = {
        "floor": [], "map": [], "import": [], "again": []
    }  # fmt: skip
    added = 0
    for _ in range(args.repeat):
        db = fresh()
        w, c = time.perf_counter(), cpu()
        floor(db, statement)
        results["floor"].append((time.perf_counter() - w, cpu() - c))
        fresh()
        store = LocalStore(paths.database, backup_dir=paths.backup_dir)
        w, c = time.perf_counter(), cpu()
        statement_ledger(read_statement(statement, None), scheme_resolver(store))
        results["map"].append((time.perf_counter() - w, cpu() - c))
        w, c = time.perf_counter(), cpu()
        report = import_cas(store, statement, None, dry_run=False)
        results["import"].append((time.perf_counter() - w, cpu() - c))
        added = len(report.imported.added)
        assert not report.mismatches, report.mismatches[:2]
        w, c = time.perf_counter(), cpu()
        again = import_cas(store, statement, None, dry_run=False)
        results["again"].append((time.perf_counter() - w, cpu() - c))
        assert not again.imported.added
        store.close()
    print(f"statement: {rows} rows in 20 folio-schemes, {added} ledger transactions added")
    best = {k: (min(v)[0], min(x[1] for x in v)) for k, v in results.items()}
    med = {k: statistics.median(x[0] for x in v) for k, v in results.items()}
    for name, label in (
        ("floor", "floor: json.load + executemany"),
        ("map", "read + map rows (adapter only)"),
        ("import", "import cas (first)"),
        ("again", "import cas (re-import, no-op)"),
    ):
        ratio = "" if name == "floor" else f"  {best[name][1] / best['floor'][1]:5.2f}x floor CPU"
        print(
            f"{label:<34} wall best {best[name][0] * 1000:7.1f} ms  median "
            f"{med[name] * 1000:7.1f} ms  CPU {best[name][1] * 1000:7.1f} ms{ratio}"
        )
    shutil.rmtree(work)


if __name__ == "__main__":
    main()
