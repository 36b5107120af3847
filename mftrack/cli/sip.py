"""SIP commands: add-sip, sips, edit-sip, pause-sip, resume-sip, stop-sip, rm-sip."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal
from typing import Any

import typer

from mftrack.cli.params import one_format, parse_date, require_date
from mftrack.cli.runtime import Runtime

# Commands of this module join the top level (`mftrack COMMAND`); `sip_group` is `mftrack sip`.
app = typer.Typer()
sip_group = typer.Typer(name="sip", help="One SIP: `mftrack sip show|paid|missed ID`.",
                        no_args_is_help=True)
app.add_typer(sip_group)

SIP_ID_HELP = "The SIP's id (the first 8 characters are enough; see `mftrack sips`)."


def _announce(runtime: Runtime, verb: str, sip: Any, json_out: bool) -> None:
    from mftrack.domain.sip_record import sip_to_record

    if json_out:
        runtime.write_data(json.dumps(sip_to_record(sip), indent=2))
    else:
        runtime.write_data(sip.id)
        runtime.info(f"{verb} SIP {sip.id[:8]} (scheme {sip.scheme_code}).")


def _announce_edit(runtime: Runtime, verb: str, edit: Any, json_out: bool = False) -> None:
    """The SIP's id (or JSON) on stdout; on stderr, what changed, old → new."""
    from mftrack.render.sip_text import describe_changes

    _announce(runtime, verb, edit.after, json_out)
    for line in describe_changes(edit.before, edit.after):
        runtime.info(f"  {line}")


@app.command("add-sip")
def add_sip(
    ctx: typer.Context,
    scheme: str = typer.Argument(..., help="Scheme code, ISIN, or a name phrase that is unique."),
    amount: str = typer.Option(
        ..., "--amount", "-a", help="Rupees per instalment: 5000, 10,000 or ₹5000."
    ),
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
    from mftrack.render.sip_text import plan_text

    _announce(runtime, "Added", sip, json_out)
    runtime.info(f"  {found.display_name}: {plan_text(sip)}.")
    warning = sips.purchase_warning(store, found)
    if warning:
        runtime.warn(warning)
    # issue 10 flow 1 (b-daemon): value the new SIP at once; kept to this one call.
    from mftrack.cli.nav import fetch_history_for_new_sip

    fetch_history_for_new_sip(runtime, sip)


@app.command("sips")
def list_sips(
    ctx: typer.Context,
    all_: bool = typer.Option(False, "--all", help="Include removed SIPs."),
    json_out: bool = typer.Option(False, "--json", help="Print a JSON list."),
    csv_out: bool = typer.Option(False, "--csv", help="Print CSV."),
) -> None:
    """List your SIPs with their status today."""
    from mftrack.services.sips import sip_records

    one_format(json_out, csv_out)
    runtime: Runtime = ctx.obj
    pairs = sip_records(store=runtime.store, today=runtime.today(), include_deleted=all_)
    rows = [record for _, record in pairs]
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

    from mftrack.render.sip_text import amount_with_step_up
    from mftrack.render.tables import Col, fit_table

    cells = []
    for sip, row in pairs:
        cells.append((
            row["id"][:8],
            str(row["scheme_code"]),
            row["scheme_name"] or "(unknown scheme)",
            amount_with_step_up(Decimal(row["current_amount"]), sip),
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
        width=runtime.table_width,
    )
    runtime.print_table(table)


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
    remove_pause: str | None = typer.Option(
        None, "--remove-pause", help="Delete the pause that starts on this date (YYYY-MM-DD)."
    ),
    remove_change: str | None = typer.Option(
        None, "--remove-change", help="Delete the amount change effective on this date."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print the SIP as JSON."),
) -> None:
    """Change a SIP and say what changed. A new amount applies from --from onwards; past
    instalments keep theirs, and a second --amount with the same --from replaces the first.

    --day, --step-up and --no-step-up describe the whole SIP, so they change past instalments
    too; to change only future ones, stop this SIP and add a new one from the date.

    Examples:
      mftrack edit-sip 1a2b3c4d --amount 7500 --from 2025-01-05
      mftrack edit-sip 1a2b3c4d --remove-pause 2024-01-01
    """
    from mftrack.services import sips

    runtime: Runtime = ctx.obj
    today = runtime.today()
    edit = sips.edit_sip(
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
        remove_pause=parse_date(remove_pause, option="--remove-pause"),
        remove_change=parse_date(remove_change, option="--remove-change"),
    )
    _announce_edit(runtime, "Updated", edit, json_out)
    if (day is not None or step_up is not None or no_step_up) and edit.after.start_date <= today:
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
    """Pause a SIP: instalments due in the paused range are skipped.

    A SIP that has ended cannot be paused after its end (there is nothing to skip); a past
    range inside its life can still be recorded.
    """
    from mftrack.services import sips

    runtime: Runtime = ctx.obj
    first = parse_date(start, option="--from") or runtime.today()
    edit = sips.pause_sip(
        store=runtime.store, sip_id=sip_id, start=first, end=parse_date(end, option="--to"),
        today=runtime.today(),
    )
    _announce_edit(runtime, "Paused", edit)


@app.command("resume-sip")
def resume_sip(
    ctx: typer.Context,
    sip_id: str = typer.Argument(..., help=SIP_ID_HELP),
    on: str | None = typer.Option(None, "--from", help="First date paid again. Default: today."),
) -> None:
    """End the pause that covers a date: instalments due from then on are paid again.

    Only a pause covering the date is changed (resuming on its first day removes it); a date
    outside every pause is refused. `edit-sip --remove-pause START` deletes any pause.
    """
    from mftrack.services import sips

    runtime: Runtime = ctx.obj
    when = parse_date(on, option="--from") or runtime.today()
    edit = sips.resume_sip(store=runtime.store, sip_id=sip_id, on=when)
    _announce_edit(runtime, "Resumed", edit)


@app.command("stop-sip")
def stop_sip(
    ctx: typer.Context,
    sip_id: str = typer.Argument(..., help=SIP_ID_HELP),
    on: str | None = typer.Option(None, "--on", help="Last date of the SIP. Default: today."),
) -> None:
    """Stop a running SIP: no instalments after the given date (its history stays).

    Stopping only brings the end earlier; a SIP that has ended is refused. To move an end
    date later on purpose, use `mftrack edit-sip ID --end DATE`.
    """
    from mftrack.services import sips

    runtime: Runtime = ctx.obj
    when = parse_date(on, option="--on") or runtime.today()
    edit = sips.stop_sip(store=runtime.store, sip_id=sip_id, on=when, today=runtime.today())
    _announce_edit(runtime, "Stopped", edit)


@app.command("rm-sip")
def rm_sip(
    ctx: typer.Context,
    sip_id: str = typer.Argument(..., help=SIP_ID_HELP),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
) -> None:
    """Remove a SIP entirely (it leaves summaries; synced devices remove it too).

    On a terminal it asks first; scripts (stdin not a terminal) must pass --yes. Until the
    next `mftrack sync`, `mftrack restore-sip ID` brings it back.
    """
    from mftrack.errors import InvalidInputError
    from mftrack.services import sips

    runtime: Runtime = ctx.obj
    sip = runtime.store.get_sip(sip_id)
    if not yes:
        if not runtime.interactive:
            raise InvalidInputError(
                f"rm-sip asks before removing SIP {sip.id[:8]}, and stdin is not a terminal",
                hint=f"pass --yes: `mftrack rm-sip {sip.id[:8]} --yes`",
            )
        from mftrack.render.sip_text import money

        scheme = runtime.store.get_scheme(sip.scheme_code)
        name = scheme.display_name if scheme else f"scheme {sip.scheme_code}"
        question = (f"Remove SIP {sip.id[:8]}: {name}, {money(sip.amount)} a month "
                    f"from {sip.start_date}?")
        if not typer.confirm(question, default=False, err=True):
            runtime.info("Nothing removed.")
            return
    edit = sips.remove_sip(store=runtime.store, sip_id=sip.id)
    _announce(runtime, "Removed", edit.after, False)
    runtime.info(f"  `mftrack restore-sip {sip.id[:8]}` brings it back until the next sync.")


@app.command("restore-sip")
def restore_sip(
    ctx: typer.Context,
    sip_id: str = typer.Argument(..., help=SIP_ID_HELP),
) -> None:
    """Bring back a removed SIP whose removal has not been synced yet.

    A removal that `mftrack sync` has already pushed is final on every device; then this
    says so and prints the `add-sip` command that records the SIP again.
    """
    from mftrack.errors import BusyError
    from mftrack.services import sips
    from mftrack.services.sync import SyncBusy, sync_lock

    runtime: Runtime = ctx.obj
    try:
        with sync_lock(runtime.paths):  # a running sync may be pushing this very removal
            sip = sips.restore_sip(store=runtime.store, sip_id=sip_id)
    except SyncBusy as exc:
        raise BusyError("a sync is running and may be pushing this removal",
                        hint="run restore-sip again when it has finished") from exc
    _announce(runtime, "Restored", sip, False)


@sip_group.command("show")
def show_sip(
    ctx: typer.Context,
    sip_id: str = typer.Argument(..., help=SIP_ID_HELP),
    count: int = typer.Option(3, "--next", min=0, max=120, help="How many coming instalments."),
    json_out: bool = typer.Option(False, "--json", help="Print the SIP and its schedule as JSON."),
) -> None:
    """Show a SIP: its schedule, how its instalments went so far, the next ones.

    Instalments due so far are counted as confirmed (a transaction replaced the estimate),
    estimated, missed (a failed debit) and pending.

    Example:
      mftrack sip show 1a2b3c4d --next 6
    """
    from mftrack.domain.sip_record import sip_to_record
    from mftrack.domain.sips import sip_status, upcoming_instalments
    from mftrack.render.sip_text import schedule_lines
    from mftrack.services.portfolio import instalment_counts, valuation_options

    runtime: Runtime = ctx.obj
    today = runtime.today()
    sip = runtime.store.get_sip(sip_id, include_deleted=True)
    status = str(sip_status(sip, today))
    upcoming = upcoming_instalments(sip, today, count)
    counts = instalment_counts(runtime.store, sip, today, valuation_options(runtime.settings))
    if json_out:
        record = sip_to_record(sip)
        record["status"] = status
        record["instalments"] = counts
        record["next_instalments"] = [
            {"due_date": str(i.due_date), "amount": format(i.amount, "f")} for i in upcoming
        ]
        runtime.write_data(json.dumps(record, indent=2))
        return
    scheme = runtime.store.get_scheme(sip.scheme_code)
    name = scheme.display_name if scheme else "(unknown scheme)"
    runtime.write_data("\n".join(schedule_lines(sip, name, status, upcoming, counts)))



def _announce_instalment(runtime: Runtime, txn: Any, json_out: bool) -> None:
    from mftrack.domain.txn_record import txn_to_record
    from mftrack.render.txn_text import txn_sentence

    if json_out:
        runtime.write_data(json.dumps(txn_to_record(txn), indent=2))
        return
    runtime.write_data(txn.id)
    scheme = runtime.store.get_scheme(txn.scheme_code)
    runtime.info(f"Recorded {txn_sentence(txn, scheme.display_name if scheme else '')}.")


@sip_group.command("paid")
def sip_paid(
    ctx: typer.Context,
    sip_id: str = typer.Argument(..., help=SIP_ID_HELP),
    on: str = typer.Option(..., "--on", help="The allotment (NAV) date, YYYY-MM-DD."),
    units: str | None = typer.Option(None, "--units", help="Units allotted (from the statement)."),
    nav: str | None = typer.Option(None, "--nav", help="NAV applied (from the statement)."),
    amount: str | None = typer.Option(
        None, "--amount", "-a", help="Rupees debited, stamp duty included. Default: the "
        "instalment's amount."
    ),
    folio: str | None = typer.Option(None, "--folio", help="Folio number, as on the statement."),
    json_out: bool = typer.Option(False, "--json", help="Print the transaction as JSON."),
) -> None:
    """Record one instalment as the registrar allotted it: its date, NAV and units replace the
    estimate of the instalment due nearest that date (F4, F5). Without --units and --nav
    the instalment stays estimated, dated as given."""
    from mftrack.services import transactions as ts
    from mftrack.services.sips import parse_amount

    runtime: Runtime = ctx.obj
    txn = ts.record_instalment(
        store=runtime.store, sip_id=sip_id, on=require_date(on, option="--on"),
        today=runtime.today(), units=ts.parse_units(units) if units is not None else None,
        nav=ts.parse_nav(nav) if nav is not None else None,
        amount=parse_amount(amount, what="--amount") if amount is not None else None,
        folio=folio,
    )  # fmt: skip
    _announce_instalment(runtime, txn, json_out)


@sip_group.command("missed")
def sip_missed(
    ctx: typer.Context,
    sip_id: str = typer.Argument(..., help=SIP_ID_HELP),
    on: str = typer.Option(..., "--on", help="The date of the failed debit, YYYY-MM-DD."),
    json_out: bool = typer.Option(False, "--json", help="Print the transaction as JSON."),
) -> None:
    """Record a failed debit: the instalment due nearest that date is missed, not estimated
    (F4: a missed instalment is not retried)."""
    from mftrack.services import transactions as ts

    runtime: Runtime = ctx.obj
    txn = ts.record_instalment(store=runtime.store, sip_id=sip_id,
                               on=require_date(on, option="--on"), today=runtime.today(),
                               failed=True)  # fmt: skip
    _announce_instalment(runtime, txn, json_out)
