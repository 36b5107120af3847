"""SIP commands: add-sip, sips, edit-sip, pause-sip, resume-sip, stop-sip, rm-sip."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from decimal import Decimal
from typing import Any

import typer

from mftrack.cli.params import one_format, parse_date, require_date
from mftrack.cli.runtime import Runtime

# Commands of this module join the top level (`mftrack COMMAND`), see cli/__init__.py.
app = typer.Typer()

SIP_ID_HELP = "The SIP's id (the first 8 characters are enough; see `mftrack sips`)."


def _status(sip: Any, today: date) -> str:
    if sip.deleted:
        return "removed"
    if sip.end_date is not None and sip.end_date < today:
        return "ended"
    if sip.start_date > today:
        return "upcoming"
    for pause in sip.pauses:
        if pause.start <= today and (pause.end is None or today <= pause.end):
            return "paused"
    return "active"


def _announce(runtime: Runtime, verb: str, sip: Any, json_out: bool) -> None:
    from mftrack.domain.sip_record import sip_to_record

    if json_out:
        runtime.write_data(json.dumps(sip_to_record(sip), indent=2))
    else:
        runtime.write_data(sip.id)
        runtime.info(f"{verb} SIP {sip.id[:8]} (scheme {sip.scheme_code}).")


@app.command("add-sip")
def add_sip(
    ctx: typer.Context,
    scheme: str = typer.Argument(..., help="Scheme code, ISIN, or a name phrase that is unique."),
    amount: str = typer.Option(..., "--amount", "-a", help="Rupees per instalment, e.g. 5000."),
    start: str = typer.Option(..., "--start", "-s", help="Start date, YYYY-MM-DD."),
    day: int | None = typer.Option(
        None, "--day", "-d", help="Day of month it is due (1-31). Default: the start date's day."
    ),
    end: str | None = typer.Option(None, "--end", help="Last date (inclusive), YYYY-MM-DD."),
    step_up: str | None = typer.Option(
        None, "--step-up", help="Yearly step-up: '10%' or a rupee amount such as '500'."
    ),
    label: str | None = typer.Option(None, "--label", help="Your own name for this SIP."),
    json_out: bool = typer.Option(False, "--json", help="Print the new SIP as JSON."),
) -> None:
    """Record a SIP: a fixed amount every month into one scheme from a start date.

    The scheme can be an AMFI code (120503), an ISIN (INF846K01EW2) or words of its name;
    words that match more than one scheme list the candidates and change nothing.
    """
    from mftrack.services import sips
    from mftrack.services.schemes import resolve_scheme

    runtime: Runtime = ctx.obj
    store = runtime.store
    value = sips.parse_amount(amount)
    start_date = require_date(start, option="--start")
    end_date = parse_date(end, option="--end")
    found = resolve_scheme(store, scheme)
    sip = sips.add_sip(
        store=store,
        scheme_code=found.scheme_code,
        amount=value,
        start=start_date,
        day=day,
        end=end_date,
        step_up=sips.parse_step_up(step_up),
        label=label,
    )
    from mftrack.render.formatting import rupees

    details = [f"{rupees(value, places=0)} on day {sip.day} from {sip.start_date}"]
    if sip.end_date:
        details.append(f"until {sip.end_date}")
    if sip.step_up:
        step = sip.step_up
        details.append(f"+{step.value}% a year" if step.kind == "percent"
                       else f"+{rupees(step.value, places=0)} a year")
    if sip.label:
        details.append(f"label {sip.label!r}")
    _announce(runtime, "Added", sip, json_out)
    runtime.info(f"  {found.display_name}: {', '.join(details)}.")


@app.command("sips")
def list_sips(
    ctx: typer.Context,
    all_: bool = typer.Option(False, "--all", help="Include removed SIPs."),
    json_out: bool = typer.Option(False, "--json", help="Print a JSON list."),
    csv_out: bool = typer.Option(False, "--csv", help="Print CSV."),
) -> None:
    """List your SIPs with their status today."""
    from mftrack.domain.sip_record import sip_to_record
    from mftrack.domain.sips import amount_for

    one_format(json_out, csv_out)
    runtime: Runtime = ctx.obj
    store = runtime.store
    today = runtime.today()
    items = store.list_sips(include_deleted=all_)
    schemes = store.get_schemes(s.scheme_code for s in items)
    rows = []
    for sip in items:
        record = sip_to_record(sip)
        scheme = schemes.get(sip.scheme_code)
        record["scheme_name"] = scheme.display_name if scheme else None
        record["status"] = _status(sip, today)
        # The amount due today, or the last one for an ended SIP (never one after its end).
        on = max(today, sip.start_date)
        if sip.end_date is not None:
            on = min(on, sip.end_date)
        record["current_amount"] = format(amount_for(sip, on).quantize(Decimal("0.01")), "f")
        rows.append(record)
    if json_out:
        runtime.write_data(json.dumps(rows, indent=2))
        return
    if csv_out:
        columns = ["id", "scheme_code", "scheme_name", "status", "amount", "current_amount",
                   "sip_day", "start_date", "end_date", "step_up_kind", "step_up_value", "label"]
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore",
                                lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        runtime.write_data(buffer.getvalue())
        return
    if not rows:
        runtime.info("No SIPs yet. Add one with `mftrack add-sip SCHEME --amount 5000 --start "
                     "YYYY-MM-DD`.")
        return

    from mftrack.render.formatting import rupees
    from mftrack.render.tables import Col, fit_table

    cells = []
    for row in rows:
        step = ""
        if row["step_up_kind"] == "percent":
            step = f" +{row['step_up_value']}%/yr"
        elif row["step_up_kind"] == "amount":
            step = f" +₹{row['step_up_value']}/yr"
        cells.append((
            row["id"][:8],
            str(row["scheme_code"]),
            row["scheme_name"] or "(unknown scheme)",
            rupees(Decimal(row["current_amount"]), places=0) + step,
            str(row["sip_day"]),
            row["start_date"],
            row["end_date"] or "",
            row["status"],
            row["label"] or "",
        ))
    table = fit_table(
        [Col("id", keep_if_empty=True), Col("code", "right", drop_order=2),
         Col("scheme", flexible=True), Col("amount", "right"), Col("day", "right", drop_order=1),
         Col("start"), Col("end", drop_order=4), Col("status"), Col("label", drop_order=3)],
        cells,
        width=runtime.out.width,
    )
    runtime.out.print(table)


@app.command("edit-sip")
def edit_sip(
    ctx: typer.Context,
    sip_id: str = typer.Argument(..., help=SIP_ID_HELP),
    amount: str | None = typer.Option(None, "--amount", "-a", help="New amount in rupees."),
    effective: str | None = typer.Option(
        None, "--from", help="With --amount: first due date at the new amount. Default: today."
    ),
    day: int | None = typer.Option(None, "--day", "-d", help="New due day of month (1-31)."),
    end: str | None = typer.Option(None, "--end", help="New end date, YYYY-MM-DD."),
    no_end: bool = typer.Option(False, "--no-end", help="Remove the end date."),
    step_up: str | None = typer.Option(None, "--step-up", help="'10%' or a rupee amount."),
    no_step_up: bool = typer.Option(False, "--no-step-up", help="Remove the step-up."),
    label: str | None = typer.Option(None, "--label", help="New label ('' removes it)."),
    json_out: bool = typer.Option(False, "--json", help="Print the SIP as JSON."),
) -> None:
    """Change a SIP. A new amount applies from --from onwards; past instalments keep theirs.

    --day, --step-up and --no-step-up describe the whole SIP, so they change past instalments
    too; to change only future ones, stop this SIP and add a new one from the date.
    """
    from mftrack.services import sips

    runtime: Runtime = ctx.obj
    today = runtime.today()
    sip = sips.edit_sip(
        store=runtime.store,
        sip_id=sip_id,
        today=today,
        amount=sips.parse_amount(amount) if amount is not None else None,
        effective=parse_date(effective, option="--from"),
        day=day,
        end=parse_date(end, option="--end"),
        clear_end=no_end,
        step_up=sips.parse_step_up(step_up),
        clear_step_up=no_step_up,
        label=label,
    )
    _announce(runtime, "Updated", sip, json_out)
    if (day is not None or step_up is not None or no_step_up) and sip.start_date <= today:
        runtime.warn(
            "--day and --step-up apply to the whole SIP, past instalments included; to change "
            "only future ones, `mftrack stop-sip` it and add a new SIP from that date"
        )


@app.command("pause-sip")
def pause_sip(
    ctx: typer.Context,
    sip_id: str = typer.Argument(..., help=SIP_ID_HELP),
    start: str | None = typer.Option(None, "--from", help="First skipped date. Default: today."),
    end: str | None = typer.Option(None, "--to", help="Last skipped date. Default: until resumed."),
) -> None:
    """Pause a SIP: instalments due in the paused range are skipped."""
    from mftrack.services import sips

    runtime: Runtime = ctx.obj
    first = parse_date(start, option="--from") or runtime.today()
    sip = sips.pause_sip(
        store=runtime.store, sip_id=sip_id, start=first, end=parse_date(end, option="--to")
    )
    _announce(runtime, "Paused", sip, False)


@app.command("resume-sip")
def resume_sip(
    ctx: typer.Context,
    sip_id: str = typer.Argument(..., help=SIP_ID_HELP),
    on: str | None = typer.Option(None, "--from", help="First date paid again. Default: today."),
) -> None:
    """Resume a paused SIP from a date."""
    from mftrack.services import sips

    runtime: Runtime = ctx.obj
    when = parse_date(on, option="--from") or runtime.today()
    sip = sips.resume_sip(store=runtime.store, sip_id=sip_id, on=when)
    _announce(runtime, "Resumed", sip, False)


@app.command("stop-sip")
def stop_sip(
    ctx: typer.Context,
    sip_id: str = typer.Argument(..., help=SIP_ID_HELP),
    on: str | None = typer.Option(None, "--on", help="Last date of the SIP. Default: today."),
) -> None:
    """Stop a SIP: no instalments after the given date (its history stays)."""
    from mftrack.services import sips

    runtime: Runtime = ctx.obj
    when = parse_date(on, option="--on") or runtime.today()
    sip = sips.stop_sip(store=runtime.store, sip_id=sip_id, on=when)
    _announce(runtime, "Stopped", sip, False)


@app.command("rm-sip")
def rm_sip(
    ctx: typer.Context,
    sip_id: str = typer.Argument(..., help=SIP_ID_HELP),
) -> None:
    """Remove a SIP entirely (it leaves summaries; synced devices remove it too)."""
    from mftrack.services import sips

    runtime: Runtime = ctx.obj
    sip = sips.remove_sip(store=runtime.store, sip_id=sip_id)
    _announce(runtime, "Removed", sip, False)
