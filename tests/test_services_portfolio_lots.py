"""`services.portfolio.portfolio_lots` and `sip show`'s instalment counts, on a real store.

The store is a real SQLite file filled by `mftrack nav import` from the shared AMFI data; the
expected lots are worked out from the raw mfapi.in JSON (F1, F3, F5), not from mftrack.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import ROUND_DOWN, Decimal

import pytest

from mftrack.adapters.sqlite.store import LocalStore
from mftrack.config import resolve_paths
from mftrack.domain.lots import Lot
from mftrack.services.portfolio import portfolio_lots
from tests.helpers import NAVALL, mfapi_file, run_cli
from tests.test_domain_portfolio import ELSS, scan_on_or_after

TODAY = "2025-12-11"


@pytest.fixture(autouse=True)
def axis_elss(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MFTRACK_TODAY", TODAY)
    result = run_cli("nav", "import", str(NAVALL / "NAVAll_2025-12-11.txt"),
                     str(mfapi_file(ELSS)))  # fmt: skip
    assert result.exit_code == 0, result.stderr


def add_sip(*args: str) -> str:
    result = run_cli("add-sip", str(ELSS), *args)
    assert result.exit_code == 0, result.stderr
    return result.stdout.strip()


def test_portfolio_lots_of_a_sip_are_its_instalments_oldest_first() -> None:
    sip_id = add_sip("-a", "5000", "-s", "2021-04-05", "--end", "2021-09-30")
    paths = resolve_paths()
    store = LocalStore(paths.database, backup_dir=paths.backup_dir)
    try:
        lots = portfolio_lots(store, date(2025, 12, 11))
    finally:
        store.close()
    (scheme,) = lots.values()
    assert scheme.scheme_code == ELSS and scheme.realised == ()
    expected = []
    for due in (date(2021, m, 5) for m in range(4, 10)):
        nav_date, nav = scan_on_or_after(ELSS, due)  # F3
        units = (Decimal("4999.75") / nav).quantize(Decimal("0.001"), ROUND_DOWN)  # F1, F5
        expected.append(Lot(ELSS, nav_date, units, Decimal(5000), None,
                            f"sip:{sip_id}:{due.isoformat()}", estimated=True))  # fmt: skip
    assert list(scheme.open) == expected


def test_sip_show_counts_the_instalments_so_far() -> None:
    sip_id = add_sip("-a", "5000", "-s", "2025-06-05")
    data = json.loads(run_cli("sip", "show", sip_id[:8], "--json").stdout)
    # Jun..Dec 2025 on day 5, all priced by 11 Dec 2025 (no statement rows: all estimated).
    assert data["instalments"] == {
        "confirmed": 0, "estimated": 7, "missed": 0, "pending": 0, "nav_gaps": 0,
    }  # fmt: skip
    text = run_cli("sip", "show", sip_id[:8]).stdout
    assert "instalments   0 confirmed, 7 estimated, 0 missed, 0 pending" in text
