"""The precomputed daily valuation series (services/valuations.py) on real mfapi.in histories."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from mftrack.adapters.sqlite.store import LocalStore
from mftrack.services.navs import import_files
from mftrack.services.portfolio import portfolio_summary, summary_as_dict
from mftrack.services.sips import add_sip, remove_sip
from mftrack.services.valuations import TOTAL, read_valuations, refresh_valuations
from tests.helpers import mfapi_file

ELSS, LIQUID = 120503, 119800
AS_OF = date(2025, 12, 11)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[LocalStore]:
    store = LocalStore(tmp_path / "mftrack.db", backup_dir=tmp_path / "backups")
    import_files(store=store, paths=[mfapi_file(ELSS), mfapi_file(LIQUID)])
    add_sip(store=store, scheme_code=ELSS, amount=Decimal(5000), start=date(2023, 4, 1), day=1)
    add_sip(store=store, scheme_code=LIQUID, amount=Decimal(2000), start=date(2024, 1, 6), day=6)
    yield store
    store.close()


def test_the_last_day_equals_the_summary(store: LocalStore) -> None:
    report = refresh_valuations(store=store, as_of=AS_OF)
    summary, _ = portfolio_summary(store=store, as_of=AS_OF)
    data = summary_as_dict(summary)
    total = read_valuations(store)
    assert report.first_date == total[0].valuation_date == summary.total.first_allotment
    last = total[-1]
    assert last.valuation_date == AS_OF
    assert (format(last.invested, "f"), format(last.value, "f")) == (
        data["total"]["invested"],
        data["total"]["value"],
    )
    for scheme in data["schemes"]:
        rows = read_valuations(store, scheme_code=scheme["scheme_code"])
        assert rows[-1].valuation_date == AS_OF
        assert format(rows[-1].units, "f") == scheme["units"]
        assert format(rows[-1].value, "f") == scheme["value"]
        assert format(rows[-1].invested, "f") == scheme["invested"]


def test_one_row_per_calendar_day_and_weekends_carry_fridays_value(store: LocalStore) -> None:
    refresh_valuations(store=store, as_of=AS_OF)
    total = read_valuations(store)
    days = [row.valuation_date for row in total]
    assert days == [days[0] + timedelta(days=n) for n in range(len(days))]
    elss = {row.valuation_date: row for row in read_valuations(store, scheme_code=ELSS)}
    friday, saturday, sunday = date(2025, 12, 5), date(2025, 12, 6), date(2025, 12, 7)
    assert elss[saturday].value == elss[sunday].value == elss[friday].value
    assert elss[friday].units > 0
    assert all(row.units == 0 for row in total)  # units of different schemes do not add up
    assert {row.scheme_code for row in read_valuations(store, scheme_code=TOTAL)} == {TOTAL}


def test_a_refresh_replaces_the_series(store: LocalStore) -> None:
    refresh_valuations(store=store, as_of=AS_OF)
    first = read_valuations(store)
    refresh_valuations(store=store, as_of=AS_OF)
    assert read_valuations(store) == first
    liquid = next(s for s in store.list_sips() if s.scheme_code == LIQUID)
    remove_sip(store=store, sip_id=liquid.id)
    refresh_valuations(store=store, as_of=AS_OF)
    assert read_valuations(store, scheme_code=LIQUID) == []
    assert read_valuations(store)[-1].value < first[-1].value


def test_no_allotments_leave_an_empty_table(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "empty.db", backup_dir=tmp_path / "backups")
    try:
        report = refresh_valuations(store=store, as_of=AS_OF)
        assert (report.rows, report.first_date) == (0, None)
        assert read_valuations(store) == []
    finally:
        store.close()
