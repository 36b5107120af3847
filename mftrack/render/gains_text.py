"""Tables for `mftrack gains`, `lots` and `harvest` (data from services.gains)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from mftrack.domain.tax.gains import GainRow
from mftrack.domain.tax.harvest import HarvestPlan
from mftrack.domain.tax.holdings import OpenLotView
from mftrack.domain.tax.schemes import SchemeTax
from mftrack.render.formatting import rupees
from mftrack.render.tables import Col, FittedTable, fit_table


def _money(text: str | Decimal | None) -> str:
    if text is None:
        return ""
    return rupees(Decimal(text))


def fy_table(fy: Mapping[str, Any], width: int | None) -> FittedTable:
    """One FY: per scheme, short and long term gains, the taxable long-term gain, STT."""
    rows = [
        (str(s["scheme_code"]), s["scheme_name"], s["tax_class"], _money(s["short_term_gain"]),
         _money(s["long_term_gain"]), _money(s["long_term_taxable"]), _money(s["stt"]))
        for s in fy["schemes"]
    ]  # fmt: skip
    t = fy["total"]
    footer = ("", "Total", "", _money(t["short_term_gain"]), _money(t["long_term_gain"]),
              _money(t["long_term_taxable"]), _money(t["stt"]))  # fmt: skip
    columns = [
        Col("code", "right", drop_order=3), Col("scheme", flexible=True),
        Col("class", drop_order=2), Col("short term", "right"), Col("long term", "right"),
        Col("LT taxable", "right"), Col("STT", "right", drop_order=1),
    ]  # fmt: skip
    title = f"Realised gains, FY {fy['fy']} ({fy['from']} to {fy['to']})"
    return fit_table(columns, rows, footer=footer, width=width, title=title)


def exemption_line(fy: Mapping[str, Any]) -> str:
    if fy["equity_ltcg_exemption"] is None:
        return f"FY {fy['fy']}: equity long-term gains were exempt (sales before 1-Apr-2018)."
    return (
        f"FY {fy['fy']}: equity LTCG {_money(fy['equity_ltcg'])}, yearly exemption "
        f"{_money(fy['equity_ltcg_exemption'])}, "
        f"above it {_money(fy['equity_ltcg_above_exemption'])}."
    )


def detail_table(rows: list[GainRow], schemes: Mapping[int, SchemeTax],
                 width: int | None) -> FittedTable:  # fmt: skip
    """--detail: one line per lot (or part of one) a sale consumed."""
    body = [
        (str(r.scheme_code), schemes[r.scheme_code].name, r.acquired.isoformat(),
         r.sold.isoformat(), str(r.units), _money(r.cost),
         _money(r.grandfathered_cost if r.grandfathered_cost is not None else r.indexed_cost),
         _money(r.proceeds), str(r.holding_days), str(r.term), r.rule.rule)
        for r in rows
    ]  # fmt: skip
    columns = [
        Col("code", "right", drop_order=4), Col("scheme", flexible=True), Col("acquired"),
        Col("sold"), Col("units", "right"), Col("cost", "right"),
        Col("tax cost", "right"), Col("proceeds", "right"), Col("days", "right", drop_order=2),
        Col("term"), Col("rule", drop_order=3),
    ]  # fmt: skip
    return fit_table(columns, body, width=width, title="Lots matched to sales (FIFO)")


def lots_table(
    views: Mapping[int, list[OpenLotView]], schemes: Mapping[int, SchemeTax], on: date,
    width: int | None,
) -> FittedTable:  # fmt: skip
    rows = []
    for code, lots in views.items():
        for v in lots:
            sold = v.if_sold
            rows.append((
                str(code), schemes[code].name, v.lot.acquired.isoformat(), str(v.lot.units),
                _money(v.lot.cost), "never" if v.long_term_from is None
                else v.long_term_from.isoformat(),
                "" if v.free_from is None else v.free_from.isoformat(),
                "" if sold is None else _money(sold.proceeds),
                "" if sold is None else _money(sold.gain),
                "" if sold is None else str(sold.term),
                "locked" if v.locked(on) else "",
            ))  # fmt: skip
    columns = [
        Col("code", "right", drop_order=4), Col("scheme", flexible=True), Col("acquired"),
        Col("units", "right"), Col("cost", "right"), Col("long term from", drop_order=2),
        Col("ELSS free from", drop_order=3), Col("value", "right"), Col("gain", "right"),
        Col("term"), Col("", drop_order=1),
    ]  # fmt: skip
    return fit_table(columns, rows, width=width, title=f"Open lots as of {on}")


def harvest_table(plan: HarvestPlan, schemes: Mapping[int, SchemeTax],
                  width: int | None) -> FittedTable:  # fmt: skip
    rows = [
        (str(p.scheme_code), schemes[p.scheme_code].name, str(p.units), str(p.nav),
         _money(p.proceeds), _money(p.ltcg), p.rows[-1].acquired.isoformat())
        for p in plan.picks
    ]  # fmt: skip
    footer = ("", "Total", "", "", _money(sum((p.proceeds for p in plan.picks), Decimal(0))),
              _money(plan.planned_ltcg), "")  # fmt: skip
    columns = [
        Col("code", "right", drop_order=3), Col("scheme", flexible=True), Col("units", "right"),
        Col("NAV", "right", drop_order=2), Col("redeem for", "right"), Col("LTCG", "right"),
        Col("last lot", drop_order=1),
    ]  # fmt: skip
    return fit_table(columns, rows, footer=footer, width=width,
                     title=f"Redeem on {plan.on} (FY {plan.fy}) within the exemption")  # fmt: skip
