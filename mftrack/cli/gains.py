"""`mftrack gains`, `lots` and `harvest`: capital gains over the ledger (issue 12).

mftrack is not tax advice: docs/gains.md gives each rule with its source.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from pathlib import Path

import typer

from mftrack.cli.params import one_format, parse_as_of
from mftrack.cli.runtime import Runtime
from mftrack.domain.tax import NOT_ADVICE

# Commands of this module join the top level (`mftrack COMMAND`), see cli/__init__.py.
app = typer.Typer()

DETAIL_COLUMNS = (
    "fy",
    "scheme_code",
    "scheme_name",
    "tax_class",
    "sale_id",
    "acquired",
    "sold",
    "units",
    "cost",
    "grandfathered_cost",
    "fmv_nav_31jan2018",
    "indexed_cost",
    "proceeds",
    "gain",
    "taxable_gain",
    "holding_days",
    "term",
    "rule",
    "rate_percent",
    "stt",
    "stt_estimated",
)
SUMMARY_COLUMNS = (
    "fy",
    "scheme_code",
    "scheme_name",
    "tax_class",
    "proceeds",
    "cost",
    "short_term_gain",
    "long_term_gain",
    "long_term_taxable",
    "stt",
    "lots_matched",
)


def _csv(columns: tuple[str, ...], rows: list[dict]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore",
                            lineterminator="\n")  # fmt: skip
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


@app.command("gains")
def gains(
    ctx: typer.Context,
    fy: str | None = typer.Option(
        None, "--fy", help="One financial year, e.g. 2024-25. Default: every year with a sale."
    ),
    as_of: str | None = typer.Option(
        None, "--as-of", help="Ledger up to this date (YYYY-MM-DD). Default: today."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print exactly one JSON object."),
    csv_out: bool = typer.Option(
        False, "--csv", help="Print CSV (one line per lot with --detail, else per scheme and year)."
    ),
    detail: bool = typer.Option(
        False,
        "--detail",
        help="One line per lot matched to a sale: "
        "acquired, sold, units, cost, tax cost, proceeds, days, rule.",
    ),
    schedule_112a: Path | None = typer.Option(
        None,
        "--schedule-112a",
        metavar="FILE.csv",
        help="Write the FY's equity long-term gains in the layout of the return's Schedule "
        "112A CSV (needs --fy).",
    ),
) -> None:
    """Realised capital gains per financial year: short and long term, lot by lot (FIFO).

    Equity-oriented schemes: long term after 12 months, grandfathered cost for units bought
    by 31-Jan-2018, STT shown (never deducted). Debt and other schemes: the 1-Apr-2023 rule,
    36 months with indexation before 23-Jul-2024, 24 months without after. A scheme's tax
    class comes from its AMFI category or `mftrack scheme set-tax-class`.
    """
    from mftrack.domain.tax.dates import fy_label, parse_fy
    from mftrack.services.gains import fy_as_dict, gains_report, row_as_dict
    from mftrack.services.portfolio import valuation_options

    one_format(json_out, csv_out)
    runtime: Runtime = ctx.obj
    day = parse_as_of(as_of, today=runtime.today())
    start = parse_fy(fy) if fy is not None else None
    if schedule_112a is not None and start is None:
        from mftrack.errors import InvalidInputError

        raise InvalidInputError(
            "--schedule-112a needs --fy",
            hint="e.g. mftrack gains --fy 2024-25 --schedule-112a 112a.csv",
        )
    report = gains_report(runtime.store, day, valuation_options(runtime.settings))
    years = report.years
    if start is not None:
        label = fy_label(start)
        years = {label: years[label]} if label in years else {}
    for warning in report.warnings:
        runtime.warn(warning)
    data = [fy_as_dict(y, report.schemes, detail=detail or csv_out) for y in years.values()]
    if schedule_112a is not None:
        _write_112a(runtime, schedule_112a, start, years, report.schemes)
    if json_out:
        runtime.write_data(json.dumps({"as_of": day.isoformat(), "years": data,
                                       "warnings": report.warnings,
                                       "note": NOT_ADVICE}, indent=2))  # fmt: skip
        return
    if csv_out:
        if detail:
            rows = [{"fy": y["fy"], **lot} for y in data for lot in y["lots"]]
            runtime.write_data(_csv(DETAIL_COLUMNS, rows))
        else:
            rows = [{"fy": y["fy"], **s} for y in data for s in y["schemes"]]
            runtime.write_data(_csv(SUMMARY_COLUMNS, rows))
        return
    if not data:
        which = f"in FY {fy_label(start)}" if start is not None else "in the ledger"
        runtime.info(
            f"No sales {which} up to {day}: nothing realised. Sales come from the ledger "
            "(`mftrack redeem`, `mftrack switch`); `mftrack lots` shows what is open."
        )
        return
    from mftrack.render.gains_text import detail_table, exemption_line, fy_table

    for y, fy_gains in zip(data, years.values(), strict=True):
        runtime.print_table(fy_table(y, runtime.table_width))
        if detail:
            runtime.print_table(detail_table(fy_gains.rows, report.schemes, runtime.table_width))
        runtime.write_data(exemption_line(y))
    _ = row_as_dict  # the --json shape of a lot is services.gains.row_as_dict
    runtime.info(NOT_ADVICE)


def _write_112a(runtime: Runtime, path: Path, start: int | None, years, schemes) -> None:
    from mftrack.domain.tax.dates import fy_label
    from mftrack.domain.tax.schedule_112a import headers, rows_112a
    from mftrack.errors import InvalidInputError

    assert start is not None
    fy = years.get(fy_label(start))
    rows = rows_112a(fy.rows if fy else [], schemes)
    with_transfer = start >= 2024
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(headers(start))
    writer.writerows(r.cells(with_transfer) for r in rows)
    target = path.expanduser()
    try:
        target.write_text(buffer.getvalue(), encoding="utf-8")
    except OSError as exc:
        raise InvalidInputError(f"cannot write {target}: {exc.strerror or exc}") from exc
    missing = sorted({r.name for r in rows if not r.isin})
    if missing:
        runtime.warn(f"no ISIN known for {', '.join(missing)}: column (2) is empty")
    runtime.info(f"Wrote {target}: {len(rows)} Schedule 112A row(s) for FY {fy_label(start)}")


@app.command("lots")
def lots(
    ctx: typer.Context,
    scheme: str | None = typer.Argument(None, help="Only this scheme: code, ISIN or name."),
    as_of: str | None = typer.Option(
        None, "--as-of", help="Lots and NAVs as of this date (YYYY-MM-DD). Default: today."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print exactly one JSON object."),
) -> None:
    """Open lots: units left, cost, when each turns long term, ELSS lock-in, gain if sold.

    The gain if sold is at the latest NAV on or before the date, under the rules of that
    date, before any exit load (mftrack does not know exit loads). ELSS units are locked for
    3 years from each allotment.
    """
    from mftrack.services.gains import lots_report
    from mftrack.services.portfolio import valuation_options

    runtime: Runtime = ctx.obj
    day = parse_as_of(as_of, today=runtime.today())
    codes = None
    if scheme is not None:
        from mftrack.services.schemes import resolve_scheme

        codes = {resolve_scheme(runtime.store, scheme).scheme_code}
    report = lots_report(runtime.store, day, valuation_options(runtime.settings), codes)
    if json_out:
        runtime.write_data(json.dumps(_lots_dict(report, day), indent=2))
        return
    if not report.lots:
        runtime.info(f"No open lots as of {day}.")
        return
    from mftrack.render.gains_text import lots_table

    runtime.print_table(lots_table(report.lots, report.schemes, day, runtime.table_width))
    from decimal import Decimal

    from mftrack.render.formatting import rupees

    t = {k: rupees(Decimal(v)) for k, v in _lots_dict(report, day)["total"].items()}
    runtime.write_data(f"If all were sold on {day}: short-term gain {t['short_term_gain']}, "
                       f"long-term gain {t['long_term_gain']} (taxable "
                       f"{t['long_term_taxable']}).")  # fmt: skip


def _lots_dict(report, day: date) -> dict:
    from mftrack.domain.money import ZERO
    from mftrack.domain.tax.rules import Term

    schemes, short, long_, taxable = [], ZERO, ZERO, ZERO
    for code, views in report.lots.items():
        s = report.schemes[code]
        nav = report.navs.get(code)
        entries = []
        for v in views:
            sold = v.if_sold
            if sold is not None:
                if sold.term is Term.SHORT:
                    short += sold.gain
                else:
                    long_ += sold.gain
                    taxable += sold.taxable_gain
            entries.append({
                "acquired": v.lot.acquired.isoformat(), "units": str(v.lot.units),
                "cost": str(v.lot.cost), "estimated": v.lot.estimated, "origin": v.lot.origin,
                "long_term_from": v.long_term_from and v.long_term_from.isoformat(),
                "elss_free_from": v.free_from and v.free_from.isoformat(),
                "locked": v.locked(day),
                "value": sold and str(sold.proceeds), "gain": sold and str(sold.gain),
                "taxable_gain": sold and str(sold.taxable_gain),
                "term": sold and str(sold.term), "rule": sold and sold.rule.rule,
            })  # fmt: skip
        schemes.append({
            "scheme_code": code, "scheme_name": s.name, "tax_class": str(s.tax_class),
            "tax_class_source": s.tax.source, "elss": s.elss,
            "nav": nav and str(nav[1]), "nav_date": nav and nav[0].isoformat(), "lots": entries,
        })  # fmt: skip
    return {"as_of": day.isoformat(), "schemes": schemes,
            "total": {"short_term_gain": str(short), "long_term_gain": str(long_),
                      "long_term_taxable": str(taxable)}}  # fmt: skip


@app.command("harvest")
def harvest(
    ctx: typer.Context,
    fy: str | None = typer.Option(
        None,
        "--fy",
        help="The financial year to plan for "
        "(default: the current one); a past year is planned on its "
        "last day.",
    ),
    as_of: str | None = typer.Option(
        None, "--as-of", help="Plan as of this date (YYYY-MM-DD). Default: today."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print exactly one JSON object."),
) -> None:
    """Which equity units to redeem this year so long-term gains stay within the exemption.

    The room is the year's exemption (₹1.25 lakh from FY 2024-25) less the equity LTCG already
    realised this year. Lots are taken oldest first (FIFO), stopping at a short-term lot or a
    locked ELSS allotment. Exit loads are not known to mftrack: check them before redeeming.
    """
    from mftrack.domain.tax.dates import fy_bounds, fy_start_year, parse_fy
    from mftrack.services.gains import harvest_as_dict, harvest_report
    from mftrack.services.portfolio import valuation_options

    runtime: Runtime = ctx.obj
    day = parse_as_of(as_of, today=runtime.today())
    if fy is not None:
        start = parse_fy(fy)
        first, last = fy_bounds(start)
        if first > day:
            from mftrack.errors import InvalidInputError

            raise InvalidInputError(
                f"FY {fy} has not begun on {day}",
                hint="plan for the current year or an earlier one",
            )
        if start != fy_start_year(day):
            day = last
    report = harvest_report(runtime.store, day, valuation_options(runtime.settings))
    plan = report.plan
    data = harvest_as_dict(report)
    for warning in report.warnings:
        runtime.warn(warning)
    if json_out:
        runtime.write_data(json.dumps(data, indent=2))
        return
    from mftrack.render.formatting import rupees

    runtime.write_data(
        f"FY {plan.fy}: exemption {rupees(plan.exemption)}, equity LTCG already realised "
        f"{rupees(plan.realised_ltcg)}, room {rupees(plan.room)}."
    )
    if plan.picks:
        from mftrack.render.gains_text import harvest_table

        runtime.print_table(harvest_table(plan, report.schemes, runtime.table_width))
    else:
        runtime.write_data("Nothing to redeem: no long-term equity units fit in the room.")
    for code, why in plan.stops:
        runtime.info(f"{report.schemes[code].name} ({code}): {why}")
    for note in plan.notes:
        runtime.warn(note)
    runtime.info(NOT_ADVICE)
