"""The report's capital-gains section (issue 12 item 5): this FY's realised gains and the
harvest plan, the same figures as `mftrack gains --json` and `mftrack harvest --json`, on
real NAV histories (Axis ELSS Tax Saver 120503, Parag Parikh Flexi Cap 122639)."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest

from mftrack.adapters.sqlite.store import LocalStore
from mftrack.config import resolve_paths
from mftrack.render.formatting import rupees
from tests.helpers import mfapi_file, run_cli

D = Decimal
TODAY = "2025-12-10"  # FY 2025-26
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def money(text: str) -> str:
    return rupees(D(text), places=0)  # the page shows whole rupees


def report_of(day: date):  # type: ignore[no-untyped-def]
    """The data the renderer receives, built as `mftrack report` builds it."""
    from mftrack.services.pictures import load_portfolio, report_data

    paths = resolve_paths()
    store = LocalStore(paths.database, backup_dir=paths.backup_dir)
    try:
        return report_data(store=store, view=load_portfolio(store=store, as_of=day))
    finally:
        store.close()


@pytest.fixture
def sold(monkeypatch) -> None:
    """A redemption this FY (Axis ELSS: the 2017 lot whole, 10 units of the 2023 lot) and a
    long-term PPFAS holding the harvest plan can redeem."""
    monkeypatch.setenv("MFTRACK_TODAY", TODAY)
    for code in (120503, 122639):
        assert run_cli("nav", "import", str(mfapi_file(code))).exit_code == 0
    for args in (
        ("buy", "120503", "--amount", "10000", "--on", "2017-06-01"),
        ("buy", "120503", "--amount", "10000", "--on", "2023-06-01"),
        ("buy", "122639", "--amount", "50000", "--on", "2021-06-01"),
        ("add-sip", "122639", "--amount", "5000", "--start", "2022-04-05"),
    ):
        result = run_cli(*args)
        assert result.exit_code == 0, result.stderr
    lots = json.loads(run_cli("lots", "120503", "--json").stdout)["schemes"][0]["lots"]
    units = D(lots[0]["units"]) + 10
    result = run_cli("redeem", "120503", "--units", str(units), "--on", "2025-06-02")
    assert result.exit_code == 0, result.stderr


def test_the_section_shows_the_figures_of_gains_and_harvest(sold, tmp_path) -> None:
    from matplotlib.text import Text

    from mftrack.render.report_png import build_report, tax_lines

    (gains,) = json.loads(run_cli("gains", "--fy", "2025-26", "--json").stdout)["years"]
    harvest = json.loads(run_cli("harvest", "--json").stdout)
    data = report_of(date.fromisoformat(TODAY))
    assert data.tax.fy == "2025-26"
    assert data.tax.gains == gains and data.tax.harvest == harvest  # one computation
    assert D(gains["total"]["long_term_gain"]) > 0 and harvest["redeem"]  # both parts shown

    realised, harvestable, footer = tax_lines(data)
    total = gains["total"]
    for figure in (
        total["short_term_gain"],
        total["long_term_gain"],
        gains["equity_ltcg"],
        gains["equity_ltcg_exemption"],
    ):
        assert money(figure) in realised, (figure, realised)
    value = sum(D(p["proceeds"]) for p in harvest["redeem"])
    assert money(harvest["room"]) in harvestable
    assert money(str(value)) in harvestable and money(harvest["planned_ltcg"]) in harvestable
    assert D(harvest["room"]) == D(gains["equity_ltcg_exemption"]) - D(gains["equity_ltcg"])
    assert "Not tax advice" in footer and "--fy 2025-26" in footer

    texts = {t.get_text() for t in build_report(data).findobj(Text)}
    assert "Capital gains, FY 2025-26" in texts and footer in texts
    assert "\n".join([realised, harvestable]) in texts

    target = tmp_path / "report.png"
    result = run_cli("report", "--png", str(target))
    assert result.exit_code == 0, result.stderr
    assert target.read_bytes().startswith(PNG_SIGNATURE)


def test_nothing_sold_nothing_harvestable_is_one_line(monkeypatch) -> None:
    """A SIP of this FY only: no sale, every unit short term, so nothing to harvest."""
    from mftrack.render.report_png import tax_lines

    monkeypatch.setenv("MFTRACK_TODAY", TODAY)
    assert run_cli("nav", "import", str(mfapi_file(122639))).exit_code == 0
    assert run_cli("add-sip", "122639", "--amount", "5000", "--start", "2025-05-05").exit_code == 0
    harvest = json.loads(run_cli("harvest", "--json").stdout)
    assert harvest["redeem"] == [] and run_cli("gains", "--json").stdout.count('"fy"') == 0
    data = report_of(date.fromisoformat(TODAY))
    assert data.tax.gains is None and data.tax.harvest == harvest and data.tax.quiet
    line, footer = tax_lines(data)
    assert line == "Nothing sold in FY 2025-26 and nothing to harvest."
    assert "Not tax advice" in footer
