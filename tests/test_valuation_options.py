"""One frozen ValuationOptions, built from the settings in one place, reaches every valuation."""

from __future__ import annotations

import json
from dataclasses import FrozenInstanceError
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest

from mftrack.adapters.sqlite.store import LocalStore
from mftrack.config import load_settings, resolve_paths
from mftrack.domain.options import ValuationOptions
from mftrack.services.navs import import_files
from mftrack.services.pictures import load_portfolio
from mftrack.services.portfolio import valuation_options
from mftrack.services.sips import add_sip
from mftrack.services.valuations import read_valuations, refresh_valuations
from tests.helpers import mfapi_file, run_cli

ELSS = 120503
# mfapi_120503: 05-04-2021 -> 66.11320 (the NAV of the first instalment, due Monday 5 Apr 2021).
NAV_5_APR_2021 = Decimal("66.11320")
NET_5000 = Decimal("4999.75")  # F1: 5000 - 0.25 stamp duty
ENV = {
    "MFTRACK_UNITS_PLACES": "4",
    "MFTRACK_UNITS_ROUNDING": "half_up",
    "MFTRACK_NAV_STALE_AFTER_DAYS": "30",
}
# 4999.75 / 66.11320 = 75.624081... -> 75.6241 (4 places, half up; the default gives 75.624)
UNITS_4_HALF_UP = (NET_5000 / NAV_5_APR_2021).quantize(Decimal("0.0001"), ROUND_HALF_UP)


def test_settings_become_one_frozen_options_object(tmp_path: Path) -> None:
    settings = load_settings(resolve_paths({"MFTRACK_HOME": str(tmp_path)}), ENV)
    options = valuation_options(settings)
    assert options == ValuationOptions(
        unit_places=4, unit_rounding=ROUND_HALF_UP, stale_after_days=30, max_roll_days=10
    )
    with pytest.raises(FrozenInstanceError):
        options.unit_places = 3  # type: ignore[misc]
    defaults = valuation_options(load_settings(resolve_paths({"MFTRACK_HOME": str(tmp_path)}), {}))
    assert defaults == ValuationOptions()


def test_summary_pictures_and_daemon_series_value_with_the_same_options(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "mftrack.db", backup_dir=tmp_path / "backups")
    import_files(store=store, paths=[mfapi_file(ELSS)])
    add_sip(store=store, scheme_code=ELSS, amount=Decimal(5000), start=date(2021, 4, 5), day=5)
    options = valuation_options(load_settings(resolve_paths({"MFTRACK_HOME": str(tmp_path)}), ENV))
    as_of = date(2021, 4, 30)
    view = load_portfolio(store=store, as_of=as_of, options=options)
    assert view.summary.schemes[0].units == UNITS_4_HALF_UP
    refresh_valuations(store=store, as_of=as_of, options=options)
    assert read_valuations(store, scheme_code=ELSS)[-1].units == UNITS_4_HALF_UP
    store.close()


def test_summary_reads_the_settings_through_the_options(monkeypatch) -> None:
    assert run_cli("nav", "import", str(mfapi_file(ELSS))).exit_code == 0
    run_cli("add-sip", "120503", "--amount", "5000", "--start", "2021-04-05")
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    result = run_cli("summary", "--json", "--as-of", "2021-04-30")
    assert result.exit_code == 0, result.stderr
    (scheme,) = json.loads(result.stdout)["schemes"]
    assert scheme["units"] == format(UNITS_4_HALF_UP, "f")
