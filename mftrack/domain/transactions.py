"""Transactions: what the registrar actually did, one row per purchase, sale or payout.

The ledger is the truth of a holding (issue 11). A SIP is a plan that *expects* purchases; a
confirmed transaction for the same instalment replaces the estimate (`mftrack.domain.ledger`).

Sign and amount conventions (the same locally, on the server and in the CSV format):

- `amount` is always positive rupees, or None when not known yet:
  purchases, SIP instalments, switch-ins and IDCW reinvestments: the gross amount paid,
  stamp duty included (F1: the duty is part of the cost of acquisition);
  redemptions, switch-outs and IDCW payouts: the amount received.
- `units` are always positive, as the statement gives them (F5: never re-derived from
  amount / NAV). None on a purchase means "estimate them at that day's NAV with the rules an
  SIP instalment follows" (F1-F3, F5); a sale always carries its units.
- `stamp_duty` is the duty inside `amount` (None: computed from the date, F1);
  `stt` is the securities transaction tax withheld on an equity redemption (shown, never a
  deductible cost, F6).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum


class TxnKind(StrEnum):
    PURCHASE = "purchase"  # a lump sum (also an STP's in-leg when not recorded as a switch)
    SIP = "sip"  # one SIP instalment as allotted
    REDEMPTION = "redemption"  # also an SWP leg
    SWITCH_IN = "switch_in"  # the purchase leg of a switch or STP
    SWITCH_OUT = "switch_out"  # the sale leg of a switch or STP
    DIVIDEND_PAYOUT = "dividend_payout"  # IDCW paid out: cash, no units change
    DIVIDEND_REINVEST = "dividend_reinvest"  # IDCW reinvested: new units, a lot of its own
    SIP_FAILED = "sip_failed"  # a failed debit / reversal: the instalment was missed (F4)
    # A scheme merged into another (ledger-notes "Mergers"): not a transfer for tax; the lots
    # move to the new scheme with their original dates and costs.
    MERGER_OUT = "merger_out"
    MERGER_IN = "merger_in"


# Kinds that add units (a lot each) and kinds that take units away (FIFO).
BUYS = frozenset({TxnKind.PURCHASE, TxnKind.SIP, TxnKind.SWITCH_IN, TxnKind.DIVIDEND_REINVEST})
SELLS = frozenset({TxnKind.REDEMPTION, TxnKind.SWITCH_OUT})


class TxnSource(StrEnum):
    MANUAL = "manual"  # typed in with buy / redeem / switch / ...
    CAS = "cas"  # imported from a Consolidated Account Statement
    CSV = "csv"  # imported from mftrack's CSV format


@dataclass(frozen=True, slots=True)
class Transaction:
    """One transaction in one folio of one scheme. Removed rows stay as tombstones (synced)."""

    id: str  # UUID4 text, generated on the device that created it
    scheme_code: int
    kind: TxnKind
    trade_date: date  # the allotment / redemption (NAV) date
    amount: Decimal | None = None
    units: Decimal | None = None
    nav: Decimal | None = None
    stamp_duty: Decimal | None = None
    stt: Decimal | None = None
    folio: str | None = None
    sip_id: str | None = None  # the SIP this instalment (or failed debit) belongs to
    link_id: str | None = None  # the same on both legs of a switch or a merger
    source: TxnSource = TxnSource.MANUAL
    import_key: str | None = None  # what makes a re-import a no-op (imports only)
    note: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    deleted: bool = False

    @property
    def adds_units(self) -> bool:
        return self.kind in BUYS

    @property
    def removes_units(self) -> bool:
        return self.kind in SELLS
