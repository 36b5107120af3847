"""Units held on a date, and the check that a change to the ledger never sells units not held.

Held units come from the valuation itself (`services.portfolio.portfolio_summary` for one
scheme as of the date): confirmed transactions plus the SIP instalments still estimated, the
same figure `summary` shows. A sale that would take more than that is refused before anything
is written (issue 11; FIFO per ledger-notes "FIFO and units").
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

from mftrack.domain.money import ZERO, allot_units, split_stamp_duty
from mftrack.domain.transactions import BUYS, SELLS, Transaction, TxnKind
from mftrack.errors import InvalidInputError

if TYPE_CHECKING:
    from mftrack.adapters.sqlite.store import LocalStore
    from mftrack.domain.options import ValuationOptions


def held_units(
    store: LocalStore,
    scheme_code: int,
    on: date,
    options: ValuationOptions,
    folio: str | None = None,
) -> Decimal:
    """Units of `scheme_code` held at the end of `on` (every transaction dated up to then).

    With a folio: only the units a sale naming that folio can take, its own lots and those
    without a folio (SIP estimates), as the valuation's FIFO does (`mftrack.domain.ledger`).
    """
    from mftrack.domain.portfolio import scheme_lots
    from mftrack.services.portfolio import portfolio_summary

    summary, _ = portfolio_summary(
        store=store, as_of=on, options=options, scheme_codes={scheme_code}
    )
    schemes = [s for s in summary.schemes if s.scheme_code == scheme_code]
    if folio is None:
        return sum((s.units for s in schemes), ZERO)
    return sum(
        (lot.units for s in schemes for lot in scheme_lots(s).open if lot.folio in (folio, None)),
        ZERO,
    )


def estimated_units(store: LocalStore, txn: Transaction, options: ValuationOptions) -> Decimal:
    """A purchase's units when it has none recorded: its net amount at the first NAV on or
    after its date, as an instalment is allotted (F1-F3, F5). Used only to check that
    removing or changing it leaves every later sale covered; the valuation allots it itself."""
    if txn.units is not None:
        return txn.units
    if txn.amount is None:
        return ZERO
    rows = store.nav_history(txn.scheme_code, start=txn.trade_date)[:1]
    if not rows:
        return ZERO
    nav_day, nav = rows[0]
    _, net = split_stamp_duty(txn.amount, nav_day)
    return allot_units(net, nav, options.unit_places, options.unit_rounding)


@dataclass(frozen=True, slots=True)
class UnitChange:
    """A change of a scheme's units from a date on (negative: units leave the holding)."""

    on: date
    units: Decimal
    folio: str | None = None  # the folio of the transaction that moves them


def unit_changes(txn: Transaction, units: Decimal | None = None) -> UnitChange | None:
    """How `txn` moves its scheme's units (None: it does not, e.g. an IDCW payout).

    `units` stands in for a purchase's units when they are estimated at valuation time.
    """
    amount = txn.units if txn.units is not None else units
    if amount is None:
        return None
    if txn.kind in SELLS or txn.kind is TxnKind.MERGER_OUT:
        return UnitChange(txn.trade_date, -amount, txn.folio)
    if txn.kind in BUYS or txn.kind is TxnKind.MERGER_IN:
        return UnitChange(txn.trade_date, amount, txn.folio)
    return None


def check_enough_units(
    store: LocalStore,
    scheme_code: int,
    changes: Iterable[UnitChange],
    options: ValuationOptions,
    *,
    scheme_label: str,
) -> None:
    """Refuse (InvalidInputError) a change of the ledger after which some day holds fewer
    than zero units of the scheme: on the day of a new sale, or on the day of any later sale
    that the change would leave short (a sale inserted before it, a purchase removed).

    Holdings only fall on a sale's day or a change's day, so checking just those days finds
    the lowest holding. Each check values the scheme as of that day with the ledger as stored
    and adds the change's effect up to then.
    """
    moves = [c for c in changes if c.units != 0]
    if not moves:
        return
    first = min(c.on for c in moves)
    later = [
        t
        for t in store.list_transactions(scheme_codes={scheme_code}, start=first)
        if t.kind in SELLS or t.kind is TxnKind.MERGER_OUT
    ]
    later_sales = {t.trade_date for t in later}
    days = sorted({c.on for c in moves if c.units < 0} | later_sales | {first})
    _check_pool(store, scheme_code, moves, days, options, scheme_label, None)
    # A sale naming a folio takes only that folio's lots and the folio-less ones (ledger-notes
    # "FIFO and units": registrars redeem per folio), so each folio a sale names is checked on
    # its own too. Moves without a folio are left to the whole-scheme check above: which
    # folio's lots a folio-less sale takes depends on the order FIFO finds them in.
    folios = {c.folio for c in moves if c.folio is not None and c.units < 0}
    folios |= {t.folio for t in later if t.folio is not None}
    for folio in sorted(folios):
        _check_pool(store, scheme_code, moves, days, options, scheme_label, folio)


def _check_pool(
    store: LocalStore,
    scheme_code: int,
    moves: list[UnitChange],
    days: list[date],
    options: ValuationOptions,
    scheme_label: str,
    folio: str | None,
) -> None:
    """Refuse the moves if on some day they take more units than the pool holds: the whole
    scheme (`folio` None), or what a sale naming `folio` can take."""
    if folio is not None:
        moves = [c for c in moves if c.folio == folio or (c.folio is None and c.units > 0)]
        label = f"{scheme_label} in folio {folio}"
    else:
        label = scheme_label
    for day in days:
        taken = -sum((c.units for c in moves if c.on <= day and c.units < 0), ZERO)
        given = sum((c.units for c in moves if c.on <= day and c.units > 0), ZERO)
        if given >= taken:
            continue
        held = held_units(store, scheme_code, day, options, folio)
        if held + given < taken:
            new_sale = any(c.on == day and c.units < 0 for c in moves)
            raise _short(label, day, held + given, taken, new_sale=new_sale)


def _short(
    label: str, day: date, available: Decimal, taken: Decimal, *, new_sale: bool
) -> Exception:
    if available <= 0 and new_sale:
        return InvalidInputError(
            f"no units of {label} are held on {day}",
            hint="a sale needs an earlier purchase: record it first (`mftrack buy`), or check "
            "the date (`mftrack txns SCHEME` lists what is recorded)",
        )
    if new_sale:
        return InvalidInputError(
            f"cannot take {taken} units of {label} on {day}: only {available} are held then",
            hint="give fewer units, or --all for everything held on that date",
        )
    return InvalidInputError(
        f"this change leaves the sale of {label} on {day} short by {taken - available} units",
        hint="change or remove that sale first (`mftrack txns SCHEME` lists it)",
    )
