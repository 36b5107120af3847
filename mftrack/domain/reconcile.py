"""Reconciliation: does the ledger hold the units a statement says the folio holds?

After an import (issue 11, part 3), per folio and scheme, the units the ledger adds up to on the
statement's closing date are compared with the statement's closing unit balance. The registrar's
figure wins (domain-rules F5), so a difference is a gap in the ledger, reported with its size
and the likeliest cause:

- the statement opened with units already held (`open` > 0: bought before the statement's
  period, ledger-notes "What a CAS carries"): the purchases before that date are missing;
- otherwise the statement has more units than the ledger (a transaction missing, or a row that
  was rejected), or fewer (a redemption missing, or a purchase recorded twice).

Pure: no I/O. Units are compared exactly as `Decimal`s (statements carry 3 or 4 decimals).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from mftrack.domain.transactions import BUYS, SELLS, Transaction, TxnKind

ZERO = Decimal(0)

# Units a merger moves (ledger-notes "Mergers"): they leave the old scheme and arrive in the new
# one, so they count like a sale and a purchase here, though they are neither for tax.
_ADDS = BUYS | {TxnKind.MERGER_IN}
_REMOVES = SELLS | {TxnKind.MERGER_OUT}


def folio_key(folio: str | None) -> str:
    """A folio number as compared: statements print `12345678 / 90` or `12345678/90`."""
    return "".join((folio or "").split())


@dataclass(frozen=True, slots=True)
class StatementBalance:
    """What a statement says one folio holds in one scheme."""

    folio: str
    scheme_code: int
    scheme_name: str
    open_units: Decimal  # held before the statement's period began
    close_units: Decimal  # held at its end
    as_of: date  # the statement's last day
    rejected_rows: int = 0  # rows of this scheme the import could not take


@dataclass(frozen=True, slots=True)
class Reconciliation:
    folio: str
    scheme_code: int
    scheme_name: str
    as_of: date
    statement_units: Decimal
    ledger_units: Decimal
    unpriced_buys: int  # ledger purchases without units yet (estimated at valuation time)
    cause: str | None  # None: the two agree

    @property
    def difference(self) -> Decimal:
        """Statement minus ledger: positive when the ledger is short of units."""
        return self.statement_units - self.ledger_units

    @property
    def matches(self) -> bool:
        return self.cause is None


def _likely_cause(balance: StatementBalance, ledger: Decimal, unpriced: int) -> str | None:
    short = balance.close_units - ledger
    if short == ZERO and not unpriced:
        return None
    if unpriced:
        return (
            f"{unpriced} purchase(s) in the ledger have no units yet (estimated at "
            "valuation time); record the statement's units for them"
        )
    if balance.rejected_rows:
        return (
            f"{balance.rejected_rows} row(s) of this scheme were not imported (see the "
            "rejected rows)"
        )
    if balance.open_units > ZERO and short == balance.open_units:
        return (
            f"an opening balance of {balance.open_units} units from before the statement's "
            "period: add the purchases made before it (a statement from the first "
            "purchase on, or `mftrack buy` with the registrar's units)"
        )
    if short > ZERO:
        return f"the ledger is {short} units short: a transaction is missing" + (
            f" (the statement opened with {balance.open_units} units)"
            if balance.open_units > ZERO
            else ""
        )
    return (
        f"the ledger holds {-short} units more than the statement: a redemption is missing, "
        "or a purchase was recorded twice or in another folio"
    )


def reconcile(
    balances: Iterable[StatementBalance], transactions: Iterable[Transaction]
) -> list[Reconciliation]:
    """One line per statement balance, comparing it with the ledger's units on `as_of`.

    Only live transactions of the same folio (compared as `folio_key`) and scheme, dated on or
    before the statement's last day, count."""
    by_key: dict[tuple[str, int], list[Transaction]] = {}
    for txn in transactions:
        if not txn.deleted:
            by_key.setdefault((folio_key(txn.folio), txn.scheme_code), []).append(txn)
    out = []
    for balance in balances:
        ledger = ZERO
        unpriced = 0
        for txn in by_key.get((folio_key(balance.folio), balance.scheme_code), ()):
            if txn.trade_date > balance.as_of:
                continue
            if txn.units is None:
                unpriced += txn.kind in _ADDS
                continue
            if txn.kind in _ADDS:
                ledger += txn.units
            elif txn.kind in _REMOVES:
                ledger -= txn.units
        out.append(Reconciliation(
            folio=balance.folio, scheme_code=balance.scheme_code,
            scheme_name=balance.scheme_name, as_of=balance.as_of,
            statement_units=balance.close_units, ledger_units=ledger, unpriced_buys=unpriced,
            cause=_likely_cause(balance, ledger, unpriced),
        ))  # fmt: skip
    return out
