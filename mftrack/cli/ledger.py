"""Ledger commands: buy, redeem, switch, dividend, txns, and `mftrack txn edit|rm|restore`.

Thin: parse the options, call `mftrack.services.transactions`, say what was recorded. The
new transaction's id goes to stdout (its JSON with --json); the sentence to stderr.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import typer

from mftrack.cli.params import one_format, parse_date, require_date
from mftrack.cli.runtime import Runtime

if TYPE_CHECKING:
    from decimal import Decimal

    from mftrack.domain.transactions import Transaction
    from mftrack.services.transactions import SaleSize

# Commands of this module join the top level; `txn_group` is `mftrack txn`.
app = typer.Typer()
txn_group = typer.Typer(
    name="txn", help="Change one transaction: `mftrack txn edit|rm|restore ID`.",
    no_args_is_help=True,
)  # fmt: skip
app.add_typer(txn_group)

SCHEME_HELP = "Scheme code or ISIN (or words of its name that match one scheme)."
ON_HELP = "The transaction (NAV) date, YYYY-MM-DD."
FOLIO_HELP = "Folio number, as on the statement."
TXN_ID_HELP = "The transaction's id (the first 8 characters are enough; see `mftrack txns`)."


def _announce(runtime: Runtime, verb: str, txns: list[Transaction], json_out: bool) -> None:
    from mftrack.domain.txn_record import txn_to_record
    from mftrack.render.txn_text import txn_sentence

    if json_out:
        records = [txn_to_record(t) for t in txns]
        runtime.write_data(json.dumps(records[0] if len(records) == 1 else records, indent=2))
    else:
        runtime.write_data("\n".join(t.id for t in txns))
    names = _names(runtime, {t.scheme_code for t in txns})
    for txn in txns:
        runtime.info(f"{verb} {txn_sentence(txn, names.get(txn.scheme_code, ''))}.")


def _names(runtime: Runtime, codes: set[int]) -> dict[int, str]:
    return {c: s.display_name for c, s in runtime.store.get_schemes(codes).items()}


def _options(runtime: Runtime) -> Any:
    from mftrack.services.portfolio import valuation_options

    return valuation_options(runtime.settings)


def _scheme_code(runtime: Runtime, text: str) -> int:
    from mftrack.services.schemes import resolve_scheme

    return resolve_scheme(runtime.store, text).scheme_code


def _amount(text: str | None, option: str = "--amount") -> Decimal | None:
    from mftrack.services.sips import parse_amount

    if text is None:
        return None
    return parse_amount(text, what=option, hint=f"e.g. {option} 50000")


def _size(units: str | None, amount: str | None, all_: bool) -> SaleSize:
    from mftrack.services.transactions import SaleSize, parse_units

    return SaleSize(
        units=parse_units(units) if units is not None else None,
        amount=_amount(amount),
        everything=all_,
    )


@app.command("buy")
def buy(
    ctx: typer.Context,
    scheme: str = typer.Argument(..., help=SCHEME_HELP),
    amount: str = typer.Option(..., "--amount", "-a", help="Rupees paid, stamp duty included."),
    on: str = typer.Option(..., "--on", help=ON_HELP),
    folio: str | None = typer.Option(None, "--folio", help=FOLIO_HELP),
    units: str | None = typer.Option(None, "--units", help="Units allotted (from the statement)."),
    nav: str | None = typer.Option(None, "--nav", help="NAV applied (from the statement)."),
    note: str | None = typer.Option(None, "--note", help="Your own note."),
    json_out: bool = typer.Option(False, "--json", help="Print the transaction as JSON."),
) -> None:
    """Record a lump-sum purchase. Without --units and --nav the units are estimated at that
    day's NAV as a SIP instalment's are (business day, stamp duty, rounding); with them the
    statement's figures are stored as given."""
    from mftrack.services import transactions as ts

    runtime: Runtime = ctx.obj
    txn = ts.record_purchase(
        store=runtime.store, scheme_code=_scheme_code(runtime, scheme), amount=_amount(amount),
        on=require_date(on, option="--on"), today=runtime.today(), folio=folio,
        units=ts.parse_units(units) if units is not None else None,
        nav=ts.parse_nav(nav) if nav is not None else None, note=note,
    )  # fmt: skip
    _announce(runtime, "Recorded", [txn], json_out)
    warning = ts.statement_mismatch(txn)
    if warning:
        runtime.warn(warning)


@app.command("redeem")
def redeem(
    ctx: typer.Context,
    scheme: str = typer.Argument(..., help=SCHEME_HELP),
    units: str | None = typer.Option(None, "--units", help="Units redeemed."),
    amount: str | None = typer.Option(
        None, "--amount", "-a", help="Rupees redeemed: units = amount / that day's NAV."
    ),
    all_: bool = typer.Option(False, "--all", help="Every unit held on that date."),
    on: str = typer.Option(..., "--on", help=ON_HELP),
    folio: str | None = typer.Option(None, "--folio", help=FOLIO_HELP),
    note: str | None = typer.Option(None, "--note", help="Your own note."),
    json_out: bool = typer.Option(False, "--json", help="Print the transaction as JSON."),
) -> None:
    """Record a redemption (or an SWP leg): units leave the oldest lots first (FIFO).
    Redeeming more units than are held on that date is refused, nothing changed."""
    from mftrack.services import transactions as ts

    runtime: Runtime = ctx.obj
    code = _scheme_code(runtime, scheme)
    txn = ts.record_redemption(
        store=runtime.store, scheme_code=code, size=_size(units, amount, all_),
        on=require_date(on, option="--on"), today=runtime.today(), options=_options(runtime),
        folio=folio, note=note,
    )  # fmt: skip
    _announce(runtime, "Recorded", [txn], json_out)


@app.command("switch")
def switch(
    ctx: typer.Context,
    from_scheme: str = typer.Argument(..., help="The scheme switched out of. " + SCHEME_HELP),
    to_scheme: str = typer.Argument(..., help="The scheme switched into."),
    units: str | None = typer.Option(None, "--units", help="Units switched out."),
    amount: str | None = typer.Option(None, "--amount", "-a", help="Rupees switched."),
    all_: bool = typer.Option(False, "--all", help="Every unit held on that date."),
    on: str = typer.Option(..., "--on", help=ON_HELP),
    folio: str | None = typer.Option(None, "--folio", help=FOLIO_HELP),
    note: str | None = typer.Option(None, "--note", help="Your own note."),
    json_out: bool = typer.Option(False, "--json", help="Print both legs as JSON."),
) -> None:
    """Record a switch (or an STP leg): a switch-out and a switch-in linked as one, written
    together. The switch-in's units are estimated like a purchase's (stamp duty applies)."""
    from mftrack.services import transactions as ts

    runtime: Runtime = ctx.obj
    legs = ts.record_switch(
        store=runtime.store, from_code=_scheme_code(runtime, from_scheme),
        to_code=_scheme_code(runtime, to_scheme), size=_size(units, amount, all_),
        on=require_date(on, option="--on"), today=runtime.today(), options=_options(runtime),
        folio=folio, note=note,
    )  # fmt: skip
    _announce(runtime, "Recorded", list(legs), json_out)


@app.command("dividend")
def dividend(
    ctx: typer.Context,
    scheme: str = typer.Argument(..., help=SCHEME_HELP),
    amount: str = typer.Option(..., "--amount", "-a", help="The IDCW amount in rupees."),
    on: str = typer.Option(..., "--on", help="The record (NAV) date, YYYY-MM-DD."),
    payout: bool = typer.Option(False, "--payout", help="Paid out to the bank."),
    reinvest: bool = typer.Option(False, "--reinvest", help="Reinvested as new units."),
    units: str | None = typer.Option(None, "--units", help="With --reinvest: units allotted."),
    nav: str | None = typer.Option(None, "--nav", help="With --reinvest: NAV applied."),
    folio: str | None = typer.Option(None, "--folio", help=FOLIO_HELP),
    note: str | None = typer.Option(None, "--note", help="Your own note."),
    json_out: bool = typer.Option(False, "--json", help="Print the transaction as JSON."),
) -> None:
    """Record an IDCW (dividend), paid out or reinvested.

    --payout: cash to the bank, units unchanged. --reinvest: new units, a lot of their own,
    estimated like a purchase's unless --units and --nav give the statement's figures.
    Either needs units held on that date.
    """
    from mftrack.errors import InvalidInputError
    from mftrack.services import transactions as ts

    runtime: Runtime = ctx.obj
    if payout == reinvest:
        raise InvalidInputError("give one of --payout and --reinvest")
    txn = ts.record_dividend(
        store=runtime.store, scheme_code=_scheme_code(runtime, scheme), amount=_amount(amount),
        on=require_date(on, option="--on"), today=runtime.today(), options=_options(runtime),
        reinvest=reinvest, units=ts.parse_units(units) if units is not None else None,
        nav=ts.parse_nav(nav) if nav is not None else None, folio=folio, note=note,
    )  # fmt: skip
    _announce(runtime, "Recorded", [txn], json_out)


@app.command("txns")
def list_txns(
    ctx: typer.Context,
    scheme: str | None = typer.Argument(None, help="Only this scheme. " + SCHEME_HELP),
    start: str | None = typer.Option(None, "--from", help="From this date (YYYY-MM-DD)."),
    end: str | None = typer.Option(None, "--to", help="Up to this date, inclusive."),
    removed: bool = typer.Option(False, "--removed", help="Include removed transactions."),
    json_out: bool = typer.Option(False, "--json", help="Print a JSON list."),
    csv_out: bool = typer.Option(False, "--csv", help="Print the ledger CSV (docs/ledger.md)."),
) -> None:
    """List recorded transactions by date. --csv writes the format `mftrack import csv` reads,
    so an export imports back unchanged."""
    from mftrack.errors import InvalidInputError

    one_format(json_out, csv_out)
    if csv_out and removed:
        raise InvalidInputError("--csv lists live transactions only (the format has no removed "
                                "rows); use --json --removed")  # fmt: skip
    runtime: Runtime = ctx.obj
    store = runtime.store
    codes = {_scheme_code(runtime, scheme)} if scheme is not None else None
    txns = store.list_transactions(
        scheme_codes=codes, start=parse_date(start, option="--from"),
        end=parse_date(end, option="--to"), include_deleted=removed,
    )  # fmt: skip
    names = _names(runtime, {t.scheme_code for t in txns})
    if json_out:
        from mftrack.domain.txn_record import txn_to_record

        rows = [txn_to_record(t) | {"scheme_name": names.get(t.scheme_code)} for t in txns]
        runtime.write_data(json.dumps(rows, indent=2))
        return
    if csv_out:
        from mftrack.adapters.ledger_csv import write_ledger_csv

        runtime.write_data(write_ledger_csv(txns, names))
        return
    if not txns:
        runtime.info("No transactions recorded. Record one with `mftrack buy SCHEME --amount "
                     "50000 --on YYYY-MM-DD`.")  # fmt: skip
        return
    from mftrack.render.txn_text import txn_table

    runtime.print_table(txn_table(txns, names, width=runtime.table_width))


@txn_group.command("edit")
def edit_txn(
    ctx: typer.Context,
    txn_id: str = typer.Argument(..., help=TXN_ID_HELP),
    on: str | None = typer.Option(None, "--on", help="New date, YYYY-MM-DD."),
    amount: str | None = typer.Option(None, "--amount", "-a", help="New amount in rupees."),
    units: str | None = typer.Option(None, "--units", help="New units."),
    nav: str | None = typer.Option(None, "--nav", help="New NAV."),
    stamp_duty: str | None = typer.Option(None, "--stamp-duty", help="Stamp duty paid."),
    stt: str | None = typer.Option(None, "--stt", help="STT withheld on a sale."),
    folio: str | None = typer.Option(None, "--folio", help="New folio ('' removes it)."),
    note: str | None = typer.Option(None, "--note", help="New note ('' removes it)."),
    json_out: bool = typer.Option(False, "--json", help="Print the transaction as JSON."),
) -> None:
    """Change a transaction and say what changed. A change that would sell more units than
    are held (on its date or at a later sale) is refused, nothing changed."""
    from mftrack.services import transactions as ts

    runtime: Runtime = ctx.obj
    changes: dict[str, Any] = {}
    if on is not None:
        changes["trade_date"] = require_date(on, option="--on")
    if amount is not None:
        changes["amount"] = _amount(amount)
    if units is not None:
        changes["units"] = ts.parse_units(units)
    if nav is not None:
        changes["nav"] = ts.parse_nav(nav)
    for name, text in (("stamp_duty", stamp_duty), ("stt", stt)):
        if text is not None:
            changes[name] = ts.parse_decimal(text, what=f"--{name.replace('_', '-')}",
                                             most=ts.MAX_UNITS, places=2)  # fmt: skip
    for name, value in (("folio", folio), ("note", note)):
        if value is not None:
            changes[name] = value
    if not changes:
        from mftrack.errors import InvalidInputError

        raise InvalidInputError("nothing to change", hint="give --on, --amount, --units, ...")
    edit = ts.edit_transaction(store=runtime.store, txn_id=txn_id, today=runtime.today(),
                               options=_options(runtime), changes=changes)  # fmt: skip
    _announce_edits(runtime, "Updated", [edit], json_out)
    warning = ts.statement_mismatch(edit.after)
    if warning:
        runtime.warn(warning)


def _announce_edits(runtime: Runtime, verb: str, edits: list[Any], json_out: bool) -> None:
    from mftrack.render.txn_text import describe_changes

    _announce(runtime, verb, [e.after for e in edits], json_out)
    for edit in edits:
        lines = describe_changes(edit.before, edit.after)
        for line in lines:
            runtime.info(f"  {line}")
        if not lines:
            runtime.info("  nothing changed")


@txn_group.command("rm")
def rm_txn(
    ctx: typer.Context,
    txn_id: str = typer.Argument(..., help=TXN_ID_HELP),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
) -> None:
    """Remove a transaction (both legs of a switch); synced devices remove it too.

    On a terminal it asks first; scripts must pass --yes. A removal that later sales need
    the units of is refused. `mftrack txn restore ID` brings it back.
    """
    from mftrack.errors import InvalidInputError
    from mftrack.render.txn_text import txn_sentence
    from mftrack.services import transactions as ts

    runtime: Runtime = ctx.obj
    txn = runtime.store.get_transaction(txn_id)
    if not yes:
        if not runtime.interactive:
            raise InvalidInputError(
                f"txn rm asks before removing transaction {txn.id[:8]}, and stdin is not a "
                "terminal", hint=f"pass --yes: `mftrack txn rm {txn.id[:8]} --yes`",
            )  # fmt: skip
        name = _names(runtime, {txn.scheme_code}).get(txn.scheme_code, "")
        if not typer.confirm(f"Remove {txn_sentence(txn, name)}?", default=False, err=True):
            runtime.info("Nothing removed.")
            return
    edits = ts.remove_transaction(store=runtime.store, txn_id=txn.id, options=_options(runtime))
    _announce(runtime, "Removed", [e.after for e in edits], False)
    runtime.info(f"  `mftrack txn restore {txn.id[:8]}` brings it back.")


@txn_group.command("restore")
def restore_txn(
    ctx: typer.Context,
    txn_id: str = typer.Argument(..., help=TXN_ID_HELP),
) -> None:
    """Bring back a removed transaction (and its switch's other leg), checked like a new one.

    Before the next `mftrack sync` the removal is undone; after it (a pushed removal is
    final) the transaction is recorded again under a new id.
    """
    from mftrack.errors import BusyError
    from mftrack.services import transactions as ts
    from mftrack.services.sync import SyncBusy, sync_lock

    runtime: Runtime = ctx.obj
    try:
        with sync_lock(runtime.paths):  # a running sync may be pushing this very removal
            restored = ts.restore_transaction(
                store=runtime.store, txn_id=txn_id, options=_options(runtime)
            )
    except SyncBusy as exc:
        raise BusyError("a sync is running and may be pushing this removal",
                        hint="run txn restore again when it has finished") from exc  # fmt: skip
    _announce(runtime, "Restored", restored.txns, False)
    if restored.as_new:
        runtime.info("  (its removal had been synced, so it is recorded again under a new id)")
