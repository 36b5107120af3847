"""FIFO lots: each purchase is a lot; a sale consumes the oldest open lots first.

Rules:
- F4: every instalment (and every purchase) is a lot of its own, with its own date and cost.
- F6/F9 and ledger-notes "FIFO and units": registrars redeem first-in-first-out per folio and
  scheme; a partly consumed lot keeps its date and a proportional share of its cost.
- F1: a lot's cost is the gross amount paid, stamp duty included.

Proportional shares are rounded to the paisa and the remainder stays with the lot (or, for the
sale's proceeds, goes to the last lot matched), so costs and proceeds always add up exactly.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal

from mftrack.domain.money import ZERO, paisa


class OversoldError(ValueError):
    """A sale of more units than the open lots hold (nothing was consumed)."""

    def __init__(self, wanted: Decimal, held: Decimal) -> None:
        super().__init__(f"cannot take {wanted} units: only {held} are held")
        self.wanted = wanted
        self.held = held


@dataclass(frozen=True, slots=True)
class Lot:
    """Units bought together, still open (or the part of them a sale took)."""

    scheme_code: int
    acquired: date  # allotment date; a merger keeps the original one
    units: Decimal
    cost: Decimal  # gross, stamp duty included (F1)
    folio: str | None = None
    origin: str = ""  # the transaction id, or "sip:<sip id>:<due date>" for an estimate
    estimated: bool = False  # units estimated from a SIP plan or an amount, not a statement


@dataclass(frozen=True, slots=True)
class LotMatch:
    """The part of one lot a sale consumed."""

    lot: Lot  # that part: its units and its share of the lot's cost
    sold_on: date
    proceeds: Decimal  # the part of the sale's amount these units fetched
    sale_id: str  # the redemption / switch-out transaction

    @property
    def gain(self) -> Decimal:
        return self.proceeds - self.lot.cost


def held_units(lots: Iterable[Lot]) -> Decimal:
    return sum((lot.units for lot in lots), ZERO)


def consume_fifo(
    lots: list[Lot],
    units: Decimal,
    *,
    sold_on: date,
    proceeds: Decimal,
    sale_id: str,
) -> tuple[list[Lot], list[LotMatch]]:
    """Take `units` from `lots` (oldest first, in list order) for a sale fetching `proceeds`.

    Returns the lots still open and one match per lot (or part of a lot) consumed. Raises
    `OversoldError` when the lots hold fewer units; `lots` is never changed.
    """
    if units <= 0:
        raise ValueError(f"a sale must take a positive number of units, not {units}")
    held = held_units(lots)
    if units > held:
        raise OversoldError(units, held)
    left = units
    matches: list[LotMatch] = []
    proceeds_left = proceeds
    k = 0
    while left > 0:
        lot = lots[k]
        k += 1
        if lot.units <= 0:
            continue
        take = min(lot.units, left)
        left -= take
        whole = take == lot.units
        cost = lot.cost if whole else paisa(lot.cost * take / lot.units)
        share = proceeds_left if left == 0 else paisa(proceeds * take / units)
        proceeds_left -= share
        # A whole lot is matched as it is (frozen: sharing it is safe, and a sale of many
        # whole lots does not copy each one).
        part = lot if whole else replace(lot, units=take, cost=cost)
        matches.append(LotMatch(part, sold_on, share, sale_id))
        if not whole:
            k -= 1
            lots = [*lots[:k], replace(lot, units=lot.units - take, cost=lot.cost - cost),
                    *lots[k + 1:]]  # fmt: skip
    return lots[k:], matches


@dataclass(frozen=True, slots=True)
class SchemeLots:
    """One scheme's lots after the whole ledger up to a date: what capital gains work from."""

    scheme_code: int
    open: tuple[Lot, ...]  # oldest first
    realised: tuple[LotMatch, ...]  # every sale's matches, in sale order
