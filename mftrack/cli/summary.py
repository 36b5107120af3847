"""`mftrack summary`: per-scheme instalments, invested (cost held), units, value, gain, XIRR."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import typer

from mftrack.cli.params import VERBOSE_HELP, one_format, parse_as_of
from mftrack.cli.runtime import Runtime

# Commands of this module join the top level (`mftrack COMMAND`), see cli/__init__.py.
app = typer.Typer()

CSV_COLUMNS = (
    "scheme_code", "scheme_name", "instalments", "pending", "invested", "stamp_duty", "units",
    "average_cost", "nav", "nav_date", "value", "gain", "absolute_return", "xirr",
    "paid_in", "withdrawn", "realised_gain", "idcw", "confirmed", "estimated", "missed",
)


@app.command("summary")
def summary(
    ctx: typer.Context,
    as_of: str | None = typer.Option(
        None, "--as-of", help="Value the portfolio as of this date (YYYY-MM-DD). Default: today."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print exactly one JSON object."),
    csv_out: bool = typer.Option(False, "--csv", help="Print CSV for spreadsheets."),
    total_row: bool = typer.Option(
        False, "--total", help="With --csv: end with a TOTAL row (a spreadsheet's sum of a "
        "column would then count everything twice)."
    ),
    show_all: bool = typer.Option(
        False, "--all", help="Also list schemes you have fully redeemed (the total always "
        "counts them)."
    ),
    verbose: bool = typer.Option(False, "--verbose", "-v", help=VERBOSE_HELP),
) -> None:
    """Your holdings by scheme: instalments, invested, units, NAV, value, gain and XIRR.

    SIP instalments are estimated at the scheme's first NAV on or after the due date, net
    of 0.005% stamp duty from July 2020, unless a recorded or imported transaction confirms
    them. Instalments whose NAV is not known yet are pending. Invested is the cost of the
    units still held (oldest sold first); gain is value minus that cost. XIRR (over every
    purchase, sale and payout) is shown for holdings older than a year; younger ones show
    the absolute return.
    """
    from mftrack.services.portfolio import (
        portfolio_summary,
        summary_as_dict,
        valuation_options,
    )

    one_format(json_out, csv_out)
    if total_row and not csv_out:
        from mftrack.errors import InvalidInputError

        raise InvalidInputError("--total only applies to --csv",
                                hint="the table and --json always include the total")
    runtime: Runtime = ctx.obj
    runtime.verbose = runtime.verbose or verbose
    settings = runtime.settings
    day = parse_as_of(as_of, today=runtime.today())
    result, _ = portfolio_summary(
        store=runtime.store,
        as_of=day,
        options=valuation_options(settings),
    )
    data = summary_as_dict(result, redeemed=show_all)
    runtime.warn_valuation(result)
    if json_out:
        from mftrack.services.realised import realised_gains_by_fy

        data["realised_gains_by_fy"] = realised_gains_by_fy(runtime.store, result)
        runtime.write_data(json.dumps(data, indent=2))
        return
    if csv_out:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, extrasaction="ignore",
                                lineterminator="\n")
        writer.writeheader()
        writer.writerows(data["schemes"])
        if total_row:
            writer.writerow({"scheme_name": "TOTAL", **data["total"]})
        runtime.write_data(buffer.getvalue())
        return
    if not data["schemes"] and result.schemes:
        runtime.info("Every scheme you held is fully redeemed: `mftrack summary --all` "
                     "lists them with their realised gains.")
        return
    if not data["schemes"]:
        runtime.info(
            "No SIPs yet. Try `mftrack demo`, or add one: "
            "`mftrack add-sip SCHEME --amount 5000 --start YYYY-MM-DD`."
        )
        return
    runtime.print_table(render_summary(data, runtime.table_width))


def render_summary(data: dict[str, Any], width: int | None) -> Any:
    from decimal import Decimal

    from mftrack.render.formatting import percent, rupees
    from mftrack.render.tables import Col, fit_table

    def money(text: str | None) -> str:
        return rupees(Decimal(text)) if text is not None else "—"

    def optional(text: str | None) -> str:  # an empty column is left out of the table
        return money(text) if text is not None and Decimal(text) else ""

    rows = []
    for s in data["schemes"]:
        rows.append((
            str(s["scheme_code"]),
            s["scheme_name"],
            str(s["instalments"]),
            str(s["pending"]) if s["pending"] else "",
            str(s["missed"]) if s["missed"] else "",
            money(s["invested"]),
            s["units"],
            s["nav"] or "—",
            s["nav_date"] or "—",
            money(s["value"]),
            money(s["gain"]),
            optional(s["withdrawn"]),
            optional(s["realised_gain"]),
            percent(s["absolute_return"]),
            percent(s["xirr"]),
        ))
    t = data["total"]
    footer = ("", "Total", str(t["instalments"]), str(t["pending"]) if t["pending"] else "",
              str(t["missed"]) if t["missed"] else "",
              money(t["invested"]), "", "", "", money(t["value"]), money(t["gain"]),
              optional(t["withdrawn"]), optional(t["realised_gain"]),
              percent(t["absolute_return"]), percent(t["xirr"]))
    columns = [
        Col("code", "right", drop_order=3), Col("scheme", flexible=True),
        Col("inst", "right", drop_order=2), Col("pending", "right"),
        Col("missed", "right", drop_order=2),
        Col("invested", "right"), Col("units", "right", drop_order=5),
        Col("NAV", "right", drop_order=6), Col("NAV date", drop_order=4),
        Col("value", "right"), Col("gain", "right", drop_order=1),
        Col("withdrawn", "right", drop_order=7), Col("realised", "right", drop_order=7),
        Col("return", "right"), Col("XIRR", "right"),
    ]
    return fit_table(columns, rows, footer=footer, width=width,
                     title=f"Portfolio as of {data['as_of']}")
