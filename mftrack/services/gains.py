"""Capital gains, open lots and the harvest plan over the whole ledger (issue 12).

Lots come from `services.portfolio.portfolio_lots` (SIP estimates plus confirmed transactions,
FIFO); the rules are the pure `mftrack.domain.tax`. This module only gathers what the rules
need from the store: each scheme's category and ISIN, the user's tax-class override, the NAV
of 31-Jan-2018 (local NAV store first, then casparser-isin's table bundled with mftrack),
the STT recorded on each sale, and the NAV to value open lots at.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from mftrack.domain.lots import SchemeLots
from mftrack.domain.money import PAISA, ZERO
from mftrack.domain.options import DEFAULT_OPTIONS, ValuationOptions
from mftrack.domain.tax import NOT_ADVICE
from mftrack.domain.tax.classes import TaxClass, is_elss, tax_class_of
from mftrack.domain.tax.dates import GRANDFATHER_DATE, fy_bounds, fy_label, fy_start_year
from mftrack.domain.tax.gains import (
    FyGains,
    GainRow,
    GainTotals,
    SaleTax,
    by_fy,
    realised_rows,
    totals,
)
from mftrack.domain.tax.harvest import HarvestPlan, plan_harvest
from mftrack.domain.tax.holdings import OpenLotView, open_lot_view
from mftrack.domain.tax.rules import equity_ltcg_exemption
from mftrack.domain.tax.schemes import SchemeTax
from mftrack.domain.transactions import SELLS

if TYPE_CHECKING:
    from mftrack.adapters.sqlite.store import LocalStore

LOCAL_NAV_SOURCE = "local NAV store"


def scheme_taxes(store: LocalStore, codes: Iterable[int]) -> dict[int, SchemeTax]:
    """What the tax rules need about each scheme (unknown schemes get a named placeholder)."""
    from mftrack.adapters.sqlite.tax_classes import tax_class_overrides

    codes = sorted(set(codes))
    stored = store.get_schemes(codes)
    overrides = tax_class_overrides(store, codes)
    fmv = _fmv_2018(store, codes, stored)
    out: dict[int, SchemeTax] = {}
    for code in codes:
        found = stored.get(code)
        name = found.display_name if found else f"scheme {code}"
        category = found.info.category if found else None
        isin = (found.info.isin_growth or found.info.isin_reinvest) if found else None
        override = TaxClass(overrides[code]) if code in overrides else None
        nav, source = fmv.get(code, (None, ""))
        out[code] = SchemeTax(code, name, isin, tax_class_of(category, name, override),
                              elss=is_elss(category, name), fmv_nav_2018=nav,
                              fmv_source=source)  # fmt: skip
    return out


def _fmv_2018(store: LocalStore, codes: list[int], stored: Mapping[int, Any]):
    """{code: (NAV of 31-Jan-2018, source)}: the local store's NAV of that very day, else the
    bundled table by ISIN. A NAV of another day is never used (the rule names the day)."""
    out: dict[int, tuple[Decimal, str]] = {}
    columns = store.nav_columns(codes, start=GRANDFATHER_DATE, end=GRANDFATHER_DATE)
    for code, (dates, navs) in columns.items():
        if dates and dates[-1] == GRANDFATHER_DATE:
            out[code] = (navs[-1], LOCAL_NAV_SOURCE)
    missing = [code for code in codes if code not in out and code in stored]
    if missing:
        from mftrack.adapters.fmv_2018 import SOURCE, bundled_fmv_2018

        table = bundled_fmv_2018(
            isin for code in missing
            for isin in (stored[code].info.isin_growth, stored[code].info.isin_reinvest)
            if isin
        )  # fmt: skip
        for code in missing:
            info = stored[code].info
            for isin in (info.isin_growth, info.isin_reinvest):
                if isin and isin.upper() in table:
                    out[code] = (table[isin.upper()], SOURCE)
                    break
    return out


def sale_taxes(store: LocalStore) -> dict[str, SaleTax]:
    """{sale transaction id: units and recorded STT} for every live sale in the ledger."""
    read = getattr(store, "list_transactions", None)  # LocalStore gains it with migration 0003
    if read is None:
        return {}
    return {
        t.id: SaleTax(units=t.units or ZERO, stt=t.stt)
        for t in read()
        if t.kind in SELLS and not t.deleted
    }


def ledger_lots(
    store: LocalStore, as_of: date, options: ValuationOptions = DEFAULT_OPTIONS
) -> dict[int, SchemeLots]:
    from mftrack.services.portfolio import portfolio_lots

    return portfolio_lots(store, as_of, options)


@dataclass(slots=True)
class GainsReport:
    as_of: date
    schemes: dict[int, SchemeTax]
    years: dict[str, FyGains]  # by FY label, oldest first
    warnings: list[str] = field(default_factory=list)
    lots: dict[int, SchemeLots] = field(default_factory=dict)  # what the years came from


def gains_report(
    store: LocalStore, as_of: date, options: ValuationOptions = DEFAULT_OPTIONS
) -> GainsReport:
    """Every realised gain in the ledger up to `as_of`, by financial year."""
    lots = ledger_lots(store, as_of, options)
    schemes = scheme_taxes(store, lots)
    rows = realised_rows(lots, schemes, sale_taxes(store))
    return GainsReport(as_of, schemes, by_fy(rows), _class_warnings(schemes, rows), lots)


def _class_warnings(schemes: Mapping[int, SchemeTax], rows: Iterable[GainRow]) -> list[str]:
    used = {r.scheme_code for r in rows}
    return [
        f"{s.name} ({code}) is taxed as {s.tax_class}: {s.tax.reason}; set it with "
        f"`mftrack scheme set-tax-class {code} equity|debt|other|hybrid`"
        for code, s in sorted(schemes.items())
        if code in used and not s.tax.settled
    ]


def latest_navs(
    store: LocalStore, codes: Iterable[int], on: date
) -> dict[int, tuple[date, Decimal]]:
    """Each scheme's latest NAV on or before `on` (schemes without one are left out)."""
    out: dict[int, tuple[date, Decimal]] = {}
    for code, (dates, navs) in store.nav_columns(codes, start=on, end=on).items():
        if dates:
            out[code] = (dates[-1], navs[-1])
    return out


@dataclass(slots=True)
class LotsReport:
    as_of: date
    schemes: dict[int, SchemeTax]
    navs: dict[int, tuple[date, Decimal]]
    lots: dict[int, list[OpenLotView]]


def lots_report(
    store: LocalStore,
    as_of: date,
    options: ValuationOptions = DEFAULT_OPTIONS,
    scheme_codes: set[int] | None = None,
) -> LotsReport:
    lots = ledger_lots(store, as_of, options)
    if scheme_codes is not None:
        lots = {code: v for code, v in lots.items() if code in scheme_codes}
    lots = {code: v for code, v in lots.items() if v.open}
    schemes = scheme_taxes(store, lots)
    navs = latest_navs(store, lots, as_of)
    views = {
        code: [open_lot_view(lot, schemes[code], as_of, navs.get(code, (None, None))[1])
               for lot in scheme_lots.open]
        for code, scheme_lots in sorted(lots.items())
    }  # fmt: skip
    return LotsReport(as_of, schemes, navs, views)


@dataclass(slots=True)
class HarvestReport:
    plan: HarvestPlan
    schemes: dict[int, SchemeTax]
    navs: dict[int, tuple[date, Decimal]]
    warnings: list[str] = field(default_factory=list)


def stale_price_warning(
    navs: Mapping[int, tuple[date, Decimal]], codes: Iterable[int], on: date, stale_days: int
) -> str | None:
    """One line when the plan prices schemes at NAVs older than `stale_days` (the summary's
    own test, `nav.stale_after_days`): its amounts are then not what a redemption would get."""
    old = sorted(code for code in codes if code in navs and (on - navs[code][0]).days > stale_days)
    if not old:
        return None
    oldest = min(navs[code][0] for code in old)
    names = ", ".join(map(str, old[:3])) + (f" and {len(old) - 3} more" if len(old) > 3 else "")
    return (
        f"the plan prices {len(old)} scheme{'s' if len(old) > 1 else ''} ({names}) at NAVs up to "
        f"{(on - oldest).days} days old (from {oldest}): run `mftrack nav update` first"
    )


def harvest_report(
    store: LocalStore,
    on: date,
    options: ValuationOptions = DEFAULT_OPTIONS,
    *,
    gains: GainsReport | None = None,
) -> HarvestReport:
    """The plan for redeeming on `on` within what is left of that FY's exemption.

    `gains` is the ledger's `gains_report` as of `on` when the caller has it already (the
    PNG report shows both), so the ledger is not valued twice.
    """
    if gains is None or gains.as_of != on:
        gains = gains_report(store, on, options)
    lots, schemes = gains.lots, gains.schemes
    fy = gains.years.get(fy_label(fy_start_year(on)))
    realised = fy.equity_ltcg if fy else ZERO
    navs = latest_navs(store, lots, on)
    plan = plan_harvest({c: v.open for c, v in lots.items()}, schemes,
                        {c: nav for c, (_, nav) in navs.items()}, on, realised)  # fmt: skip
    warning = stale_price_warning(
        navs, (p.scheme_code for p in plan.picks), on, options.stale_after_days
    )
    return HarvestReport(plan, schemes, navs, [warning] if warning else [])


# --- serialisation (--json), the one shape ------------------------------------------------


def _money(value: Decimal | None) -> str | None:
    """Rupees as text with paisa ("0.00", not "0"); the sums are exact, so nothing rounds."""
    return None if value is None else str(value.quantize(PAISA))


def totals_as_dict(t: GainTotals) -> dict[str, Any]:
    return {
        "proceeds": _money(t.proceeds), "cost": _money(t.cost),
        "short_term_gain": _money(t.short_gain), "long_term_gain": _money(t.long_gain),
        "long_term_taxable": _money(t.long_taxable), "stt": _money(t.stt),
        "lots_matched": t.rows,
    }  # fmt: skip


def row_as_dict(row: GainRow, scheme: SchemeTax) -> dict[str, Any]:
    return {
        "scheme_code": row.scheme_code, "scheme_name": scheme.name, "sale_id": row.sale_id,
        "acquired": row.acquired.isoformat(), "sold": row.sold.isoformat(),
        "units": str(row.units), "cost": str(row.cost),
        "grandfathered_cost": _money(row.grandfathered_cost),
        "fmv_nav_31jan2018": None if row.fmv_nav_2018 is None else str(row.fmv_nav_2018),
        "indexed_cost": _money(row.indexed_cost), "proceeds": str(row.proceeds),
        "gain": str(row.gain), "taxable_gain": str(row.taxable_gain),
        "holding_days": row.holding_days, "term": str(row.term), "rule": row.rule.rule,
        "rate_percent": None if row.rule.rate is None else str(row.rule.rate),
        "tax_class": str(row.tax_class),
        "stt": str(row.stt), "stt_estimated": row.stt_estimated, "estimated": row.estimated,
        "notes": list(row.notes),
    }  # fmt: skip


def fy_as_dict(fy: FyGains, schemes: Mapping[int, SchemeTax], *, detail: bool) -> dict[str, Any]:
    start = int(fy.fy[:4])
    exemption = equity_ltcg_exemption(start)
    first, last = fy_bounds(start)
    out: dict[str, Any] = {
        "fy": fy.fy, "from": first.isoformat(), "to": last.isoformat(),
        "schemes": [
            {"scheme_code": code, "scheme_name": schemes[code].name,
             "tax_class": str(schemes[code].tax_class), **totals_as_dict(t)}
            for code, t in sorted(fy.by_scheme().items())
        ],
        "by_tax_class": {str(cls): totals_as_dict(t) for cls, t in fy.by_class().items()},
        "total": totals_as_dict(totals(fy.rows)),
        "equity_ltcg": _money(fy.equity_ltcg),
        "equity_ltcg_exemption": _money(exemption),
        "equity_ltcg_above_exemption": _money(
            None if exemption is None else max(fy.equity_ltcg - exemption, ZERO)),
    }  # fmt: skip
    if detail:
        out["lots"] = [row_as_dict(r, schemes[r.scheme_code]) for r in fy.rows]
    return out


def harvest_as_dict(report: HarvestReport) -> dict[str, Any]:
    """The plan as `harvest --json` prints it (and the report shows it)."""
    plan = report.plan
    return {
        "fy": plan.fy, "on": plan.on.isoformat(), "exemption": str(plan.exemption),
        "realised_ltcg": str(plan.realised_ltcg), "room": str(plan.room),
        "planned_ltcg": str(plan.planned_ltcg),
        "redeem": [
            {"scheme_code": p.scheme_code, "scheme_name": report.schemes[p.scheme_code].name,
             "units": str(p.units), "nav": str(p.nav),
             "nav_date": report.navs[p.scheme_code][0].isoformat(),
             "proceeds": str(p.proceeds), "ltcg": str(p.ltcg),
             "lots": [{"acquired": r.acquired.isoformat(), "units": str(r.units),
                       "cost": str(r.cost), "tax_cost": str(r.tax_cost),
                       "gain": str(r.taxable_gain)} for r in p.rows]}
            for p in plan.picks
        ],
        "stops": [{"scheme_code": c, "reason": why} for c, why in plan.stops],
        "notes": [*plan.notes, NOT_ADVICE],
    }  # fmt: skip


def realised_gains_by_fy(store: LocalStore, summary: Any) -> dict[str, dict[str, str | None]]:
    """Realised short and long term gains per FY for `summary --json`, from the lots the
    summary already built (no second valuation); {} when nothing was sold."""
    from mftrack.domain.portfolio import scheme_lots

    # Only schemes valued through the ledger can have sales; the SIP-only fast path has none,
    # and building its lots would cost ~0.1 s at 1,000 SIPs (bench_summary_scale.py).
    lots = {
        s.scheme_code: scheme_lots(s) for s in summary.schemes
        if s.ledger is not None and s.ledger.realised
    }  # fmt: skip
    if not lots:
        return {}
    rows = realised_rows(lots, scheme_taxes(store, lots), sale_taxes(store))
    return {
        label: {k: v for k, v in totals_as_dict(totals(fy.rows)).items()
                if k in ("short_term_gain", "long_term_gain", "long_term_taxable")}
        for label, fy in by_fy(rows).items()
    }  # fmt: skip
