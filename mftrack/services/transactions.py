"""Recording, changing and removing ledger transactions by hand (issue 11).

Every function validates first and writes once: a refused input changes nothing. Each write
is one SQLite transaction that also queues the change for sync (`LocalStore`), so both legs
of a switch land together or not at all. Conventions (amounts positive, units positive, a
purchase without units estimated at valuation time) are those of `mftrack.domain.transactions`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from mftrack.domain.money import allot_units, paisa, split_stamp_duty, unit_quantum
from mftrack.domain.transactions import BUYS, SELLS, Transaction, TxnKind
from mftrack.domain.txn_record import changed_fields
from mftrack.errors import InvalidInputError, NotFoundError
from mftrack.services.holdings import (
    UnitChange,
    check_enough_units,
    estimated_units,
    held_units,
    unit_changes,
)
from mftrack.services.ledger_import import ImportReport, RejectedRow, import_transactions
from mftrack.services.limits import check_room_for_transactions

if TYPE_CHECKING:
    from mftrack.adapters.sqlite.store import LocalStore
    from mftrack.domain.options import ValuationOptions

MAX_UNITS = Decimal("1000000000")  # a billion units: anything above is a typo
MAX_NAV = Decimal("10000000")
MAX_UNIT_PLACES = 8  # statements give 3 or 4 (F5); AMFI NAVs up to 8 (amfi-formats.md §3)
MAX_NOTE = 500  # as a SIP label: the hosted schema's text limit
NAV_UPDATE_HINT = "get that day's NAV first: `mftrack nav update` (or `mftrack nav history CODE`)"
# The import path has its own module; the ledger contract names it here.
__all__ = ["ImportReport", "RejectedRow", "import_transactions"]

EDITABLE = ("trade_date", "amount", "units", "nav", "stamp_duty", "stt", "folio", "note")


def _now() -> datetime:
    return datetime.now(UTC)


def parse_decimal(text: str | Decimal, *, what: str, most: Decimal, places: int) -> Decimal:
    """A positive number with at most `places` decimals (commas and a leading ₹ allowed)."""
    raw = str(text).strip().replace(",", "").removeprefix("₹").strip()
    try:
        value = Decimal(raw)
    except InvalidOperation as exc:
        raise InvalidInputError(f"{what} {text!r} is not a number") from exc
    if not value.is_finite() or value <= 0:
        raise InvalidInputError(f"{what} must be more than zero, got {text!r}")
    if value != value.quantize(unit_quantum(places)):
        raise InvalidInputError(f"{what} {text!r} has more than {places} decimals")
    if value > most:
        raise InvalidInputError(f"{what} {text!r} is implausibly large")
    return value


def parse_units(text: str | Decimal) -> Decimal:
    return parse_decimal(text, what="units", most=MAX_UNITS, places=MAX_UNIT_PLACES)


def parse_nav(text: str | Decimal) -> Decimal:
    return parse_decimal(text, what="NAV", most=MAX_NAV, places=MAX_UNIT_PLACES)


def clean_text(value: str | None, *, what: str) -> str | None:
    if value is None:
        return None
    text = " ".join(value.split())
    if len(text) > MAX_NOTE:
        raise InvalidInputError(f"{what} is {len(text)} characters; at most {MAX_NOTE}")
    return text or None


def check_trade_date(on: date, today: date) -> date:
    if on > today:
        raise InvalidInputError(
            f"the date {on} is in the future (today is {today})",
            hint="record a transaction once it has happened",
        )
    return on


def scheme_label(store: LocalStore, scheme_code: int) -> str:
    scheme = store.get_scheme(scheme_code)
    return f"{scheme_code} ({scheme.display_name})" if scheme else str(scheme_code)


def _require_scheme(store: LocalStore, scheme_code: int) -> None:
    if store.get_scheme(scheme_code) is None:
        raise NotFoundError(
            f"no scheme {scheme_code} in the scheme list",
            hint="check the code with `mftrack scheme search`, or load NAVs: `mftrack nav pull`",
        )


def nav_on(store: LocalStore, scheme_code: int, on: date) -> Decimal | None:
    """The scheme's NAV of exactly that day (a sale is priced at its own day's NAV, F2)."""
    rows = store.nav_history(scheme_code, start=on, end=on)
    return rows[0][1] if rows else None


def _require_nav(store: LocalStore, scheme_code: int, on: date, why: str) -> Decimal:
    nav = nav_on(store, scheme_code, on)
    if nav is None:
        raise NotFoundError(
            f"no NAV of scheme {scheme_code} for {on} in the store, needed {why}",
            hint=f"{NAV_UPDATE_HINT}; on a holiday, use the next business day",
        )
    return nav


def _new(scheme_code: int, kind: TxnKind, on: date, **fields: Any) -> Transaction:
    now = _now()
    return Transaction(
        id=str(uuid.uuid4()), scheme_code=scheme_code, kind=kind, trade_date=on,
        created_at=now, updated_at=now, **fields,
    )  # fmt: skip


def _insert(store: LocalStore, txns: list[Transaction]) -> None:
    """Store new transactions, within the account's limit of live ones (services.limits)."""
    check_room_for_transactions(store, len(txns))
    store.insert_transactions(txns)


# --- purchases -----------------------------------------------------------------------------


def _check_units_and_nav(units: Decimal | None, nav: Decimal | None) -> None:
    if (units is None) != (nav is None):
        raise InvalidInputError(
            "--units and --nav go together (both as the statement shows them)",
            hint="give both, or neither to have the units estimated at that day's NAV",
        )


def record_purchase(
    *,
    store: LocalStore,
    scheme_code: int,
    amount: Decimal,
    on: date,
    today: date,
    folio: str | None = None,
    units: Decimal | None = None,
    nav: Decimal | None = None,
    kind: TxnKind = TxnKind.PURCHASE,
    note: str | None = None,
) -> Transaction:
    """A lump sum (or another buy). Without `units` they are estimated at valuation time with
    the SIP instalment rules (F1-F3, F5); with them, the statement's figures are stored as given
    (F5: never re-derived from amount / NAV)."""
    if kind not in BUYS:
        raise ValueError(f"{kind} is not a purchase")
    _check_units_and_nav(units, nav)
    _require_scheme(store, scheme_code)
    txn = _new(scheme_code, kind, check_trade_date(on, today), amount=amount, units=units,
               nav=nav, folio=clean_text(folio, what="--folio"),
               note=clean_text(note, what="--note"))  # fmt: skip
    _insert(store, [txn])
    return txn


def record_instalment(
    *,
    store: LocalStore,
    sip_id: str,
    on: date,
    today: date,
    units: Decimal | None = None,
    nav: Decimal | None = None,
    amount: Decimal | None = None,
    failed: bool = False,
    folio: str | None = None,
    note: str | None = None,
) -> Transaction:
    """One instalment of a SIP as the registrar allotted it (a `sip` row naming the SIP), or
    its failed debit (`sip_failed`: the instalment is missed, F4). It replaces the estimate
    of the instalment due nearest `on` within the valuation's match window
    (`mftrack.domain.ledger`); a date near no instalment is refused, since it would confirm
    nothing. The amount defaults to that instalment's."""
    from mftrack.domain.ledger import SIP_MATCH_AFTER, SIP_MATCH_BEFORE, instalment_due_near
    from mftrack.domain.sips import instalment_schedule

    sip = store.get_sip(sip_id)
    on = check_trade_date(on, today)
    dues, amounts = instalment_schedule(sip, on + SIP_MATCH_BEFORE)
    due = instalment_due_near(dues, amounts, on)
    if due is None:
        raise InvalidInputError(
            f"no instalment of SIP {sip.id[:8]} falls due near {on}",
            hint=f"an allotment dated up to {SIP_MATCH_AFTER.days} days after (or "
            f"{SIP_MATCH_BEFORE.days} before) an instalment's due date confirms it; "
            f"`mftrack sip show {sip.id[:8]}` shows the schedule",
        )
    if failed:
        if units is not None or nav is not None:
            raise InvalidInputError(
                "a failed debit allots no units: --units and --nav do not go with --failed"
            )
        kind = TxnKind.SIP_FAILED
    else:
        _check_units_and_nav(units, nav)
        kind = TxnKind.SIP
    txn = _new(sip.scheme_code, kind, on, amount=amount or due[1], units=units, nav=nav,
               sip_id=sip.id, folio=clean_text(folio, what="--folio"),
               note=clean_text(note, what="--note"))  # fmt: skip
    _insert(store, [txn])
    return txn


def statement_mismatch(txn: Transaction) -> str | None:
    """A warning when units x NAV is far from the amount less stamp duty (a typo?).

    Not refused: a distributor's transaction charge (up to ₹150, F1's "txn charges") and
    rounding make small differences normal.
    """
    if txn.units is None or txn.nav is None or txn.amount is None:
        return None
    _, net = split_stamp_duty(txn.amount, txn.trade_date)
    bought = paisa(txn.units * txn.nav)
    if abs(bought - net) <= max(Decimal(200), net / 100):
        return None
    return (
        f"{txn.units} units x NAV {txn.nav} = ₹{bought}, but ₹{txn.amount} less stamp duty is "
        f"₹{net}: check the figures (`mftrack txn edit {txn.id[:8]} ...` fixes them)"
    )


# --- sales ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SaleSize:
    """What the user asked to sell: exactly one of units, amount or everything."""

    units: Decimal | None = None
    amount: Decimal | None = None
    everything: bool = False

    def __post_init__(self) -> None:
        given = sum((self.units is not None, self.amount is not None, self.everything))
        if given != 1:
            raise InvalidInputError(
                "give exactly one of --units, --amount and --all",
                hint="e.g. --units 120.5, --amount 25000 or --all",
            )


def _sale(
    store: LocalStore,
    scheme_code: int,
    kind: TxnKind,
    on: date,
    size: SaleSize,
    options: ValuationOptions,
    folio: str | None,
    note: str | None,
) -> Transaction:
    """The sale transaction `size` describes, checked against the units held (not written)."""
    label = scheme_label(store, scheme_code)
    nav = nav_on(store, scheme_code, on)
    amount = size.amount
    if size.everything:
        # --all in a folio: what a sale naming it can take (its lots and the folio-less ones)
        units = held_units(store, scheme_code, on, options, clean_text(folio, what="--folio"))
        if units <= 0:
            raise InvalidInputError(
                f"no units of {label} are held on {on}",
                hint="`mftrack txns SCHEME` lists what is recorded",
            )
    elif size.amount is not None:
        nav = _require_nav(store, scheme_code, on, "to turn --amount into units")
        # F5: units to the RTA's decimals, with the rounding the valuation uses for estimates;
        # the statement's units win (`mftrack txn edit ID --units`).
        units = allot_units(size.amount, nav, options.unit_places, options.unit_rounding)
        if units <= 0:
            smallest = unit_quantum(options.unit_places)
            raise InvalidInputError(f"₹{size.amount} is less than {smallest} units at NAV {nav}")
    else:
        assert size.units is not None
        units = size.units
    txn = _new(
        scheme_code,
        kind,
        on,
        amount=amount,
        units=units,
        nav=nav,
        folio=clean_text(folio, what="--folio"),
        note=clean_text(note, what="--note"),
    )
    check_enough_units(
        store, scheme_code, [UnitChange(on, -units, txn.folio)], options, scheme_label=label
    )
    return txn


def record_redemption(
    *,
    store: LocalStore,
    scheme_code: int,
    size: SaleSize,
    on: date,
    today: date,
    options: ValuationOptions,
    folio: str | None = None,
    note: str | None = None,
) -> Transaction:
    """A redemption (or an SWP leg): refused, nothing written, when more units would leave
    than are held on that date. With --amount the units are amount / that day's NAV; the
    amount received is recorded only when given (the valuation prices units at the NAV)."""
    _require_scheme(store, scheme_code)
    txn = _sale(store, scheme_code, TxnKind.REDEMPTION, check_trade_date(on, today), size,
                options, folio, note)  # fmt: skip
    _insert(store, [txn])
    return txn


def record_switch(
    *,
    store: LocalStore,
    from_code: int,
    to_code: int,
    size: SaleSize,
    on: date,
    today: date,
    options: ValuationOptions,
    folio: str | None = None,
    note: str | None = None,
) -> tuple[Transaction, Transaction]:
    """A switch: a switch-out of `from_code` and a switch-in of `to_code` sharing one link id,
    written in one SQLite transaction. The switch-in buys with the switch-out's proceeds (units
    x that day's NAV of the old scheme) and its units are estimated at valuation time like a
    purchase (stamp duty applies to a switch-in, F1)."""
    if from_code == to_code:
        raise InvalidInputError("a switch needs two different schemes")
    _require_scheme(store, from_code)
    _require_scheme(store, to_code)
    on = check_trade_date(on, today)
    out = _sale(store, from_code, TxnKind.SWITCH_OUT, on, size, options, folio, note)
    proceeds = out.amount
    if proceeds is None:
        nav = out.nav or _require_nav(store, from_code, on, "to know what the switch moves")
        assert out.units is not None
        proceeds = paisa(out.units * nav)
    if proceeds < 1:
        raise InvalidInputError(f"the switch moves only ₹{proceeds}: less than ₹1")
    link = str(uuid.uuid4())
    out = replace(out, amount=proceeds, link_id=link)
    into = _new(to_code, TxnKind.SWITCH_IN, on, amount=proceeds, folio=out.folio, link_id=link,
                note=out.note)  # fmt: skip
    _insert(store, [out, into])
    return out, into


# --- IDCW ----------------------------------------------------------------------------------


def record_dividend(
    *,
    store: LocalStore,
    scheme_code: int,
    amount: Decimal,
    on: date,
    today: date,
    options: ValuationOptions,
    reinvest: bool,
    units: Decimal | None = None,
    nav: Decimal | None = None,
    folio: str | None = None,
    note: str | None = None,
) -> Transaction:
    """An IDCW payout (cash, no units change) or reinvestment (new units: a lot of its own,
    bought like a purchase, stamp duty included, F1). Either needs units held on that date."""
    _require_scheme(store, scheme_code)
    on = check_trade_date(on, today)
    if not reinvest and (units is not None or nav is not None):
        raise InvalidInputError("--units and --nav belong to --reinvest (a payout adds no units)")
    if held_units(store, scheme_code, on, options) <= 0:
        raise InvalidInputError(
            f"no units of {scheme_label(store, scheme_code)} are held on {on}, so no IDCW "
            "can be paid on them",
            hint="check the date and scheme (`mftrack txns`)",
        )
    if reinvest:
        return record_purchase(store=store, scheme_code=scheme_code, amount=amount, on=on,
                               today=today, folio=folio, units=units, nav=nav,
                               kind=TxnKind.DIVIDEND_REINVEST, note=note)  # fmt: skip
    txn = _new(
        scheme_code,
        TxnKind.DIVIDEND_PAYOUT,
        on,
        amount=amount,
        folio=clean_text(folio, what="--folio"),
        note=clean_text(note, what="--note"),
    )
    _insert(store, [txn])
    return txn


# --- edit, remove, restore ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TxnEdit:
    """One transaction as it was and as it is now (the CLI says what changed)."""

    before: Transaction
    after: Transaction


def _moves(
    store: LocalStore, txn: Transaction, options: ValuationOptions, sign: int
) -> list[UnitChange]:
    units = None
    if txn.units is None and txn.kind in BUYS:
        units = estimated_units(store, txn, options)
    change = unit_changes(txn, units)
    return [] if change is None else [UnitChange(change.on, change.units * sign, change.folio)]


def _write_changes(
    store: LocalStore, pairs: list[tuple[Transaction, Transaction]], options: ValuationOptions
) -> list[TxnEdit]:
    """Check the units the changes move (per scheme), then store them all in one SQLite
    transaction; a pair whose record did not change is not written."""
    edits: list[TxnEdit] = []
    updates: dict[str, dict[str, Any]] = {}
    moves: dict[int, list[UnitChange]] = {}
    for before, after in pairs:
        after = replace(after, updated_at=_now())
        fields = changed_fields(before, after)
        if not set(fields) - {"updated_at"}:
            edits.append(TxnEdit(before, before))
            continue
        if not before.deleted:
            moves.setdefault(before.scheme_code, []).extend(_moves(store, before, options, -1))
        if not after.deleted:
            moves.setdefault(after.scheme_code, []).extend(_moves(store, after, options, +1))
        updates[before.id] = fields
        edits.append(TxnEdit(before, after))
    for code, changes in moves.items():
        check_enough_units(store, code, changes, options, scheme_label=scheme_label(store, code))
    if updates:
        store.save_transactions(update=updates)
    return edits


def edit_transaction(
    *,
    store: LocalStore,
    txn_id: str,
    today: date,
    options: ValuationOptions,
    changes: dict[str, Any],
) -> TxnEdit:
    """Change fields of a live transaction (`changes` keys from EDITABLE; a value of None
    clears an optional field). A change that would oversell is refused, nothing written."""
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise InvalidInputError(f"cannot edit {', '.join(sorted(unknown))}")
    before = store.get_transaction(txn_id)
    values = dict(changes)
    if "trade_date" in values:
        values["trade_date"] = check_trade_date(values["trade_date"], today)
    for name in ("folio", "note"):
        if name in values:
            values[name] = clean_text(values[name], what=f"--{name}")
    after = replace(before, **values)
    if after.kind in SELLS and after.units is None:
        raise InvalidInputError("a sale always carries its units", hint="give --units")
    if after.kind in BUYS and after.amount is None and after.units is None:
        raise InvalidInputError("a purchase needs an amount or its units")
    (edit,) = _write_changes(store, [(before, after)], options)
    return edit


def remove_transaction(
    *, store: LocalStore, txn_id: str, options: ValuationOptions
) -> list[TxnEdit]:
    """Soft-delete a transaction (a tombstone that syncs); both legs of a switch go together,
    in one SQLite transaction. Refused when a later sale would lose the units it sells."""
    txn = store.get_transaction(txn_id)
    legs = _with_linked(store, txn)
    return _write_changes(store, [(t, replace(t, deleted=True)) for t in legs], options)


@dataclass(frozen=True, slots=True)
class Restored:
    """Transactions brought back; `as_new` when their removal had been synced already."""

    txns: list[Transaction]
    as_new: bool


def restore_transaction(*, store: LocalStore, txn_id: str, options: ValuationOptions) -> Restored:
    """Bring back a removed transaction (and its switch's other leg), checked like a new one.

    While the removal is still queued it is simply cancelled. Once pushed it is final on the
    server (tombstones are sticky, docs/hosted-schema.md), so the transaction comes back as a
    new row with a new id; the tombstone keeps its import key, so a re-import stays a no-op.
    """
    txn = store.get_transaction(txn_id, include_deleted=True)
    if not txn.deleted:
        raise InvalidInputError(f"transaction {txn.id[:8]} is not removed")
    legs = _with_linked(store, txn)
    moves: dict[int, list[UnitChange]] = {}
    for leg in legs:
        moves.setdefault(leg.scheme_code, []).extend(_moves(store, leg, options, +1))
    for code, changes in moves.items():
        check_enough_units(store, code, changes, options, scheme_label=scheme_label(store, code))
    if store.cancel_pending_txn_removal([t.id for t in legs]):
        return Restored([replace(t, deleted=False) for t in legs], as_new=False)
    link = str(uuid.uuid4()) if txn.link_id else None
    now = _now()
    copies = [
        replace(t, id=str(uuid.uuid4()), deleted=False, link_id=link, import_key=None,
                created_at=now, updated_at=now)
        for t in legs
    ]  # fmt: skip
    _insert(store, copies)
    return Restored(copies, as_new=True)


def _with_linked(store: LocalStore, txn: Transaction) -> list[Transaction]:
    """`txn` and the other legs of its switch or merger in the same state (live or removed)."""
    if txn.link_id is None:
        return [txn]
    return [t for t in store.list_transactions(scheme_codes=None, include_deleted=True)
            if t.link_id == txn.link_id and t.deleted == txn.deleted]  # fmt: skip
