"""Transactions in words and in a table (what `buy`, `redeem`, `txns`... print)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from mftrack.domain.transactions import BUYS, Transaction, TxnKind
from mftrack.domain.txn_record import changed_fields, txn_to_record
from mftrack.render.formatting import rupees
from mftrack.render.tables import Col, FittedTable, fit_table

KIND_WORDS = {
    TxnKind.PURCHASE: "purchase",
    TxnKind.SIP: "SIP instalment",
    TxnKind.REDEMPTION: "redemption",
    TxnKind.SWITCH_IN: "switch in",
    TxnKind.SWITCH_OUT: "switch out",
    TxnKind.DIVIDEND_PAYOUT: "IDCW payout",
    TxnKind.DIVIDEND_REINVEST: "IDCW reinvestment",
    TxnKind.SIP_FAILED: "failed SIP debit",
    TxnKind.MERGER_OUT: "merger out",
    TxnKind.MERGER_IN: "merger in",
}


def units_text(txn: Transaction) -> str:
    if txn.units is not None:
        return format(txn.units, "f")
    return "estimated" if txn.kind in BUYS else ""


def txn_sentence(txn: Transaction, name: str) -> str:
    """`purchase of ₹50,000.00 in 120503 Axis ELSS ... on 2024-03-12, units estimated ...`."""
    parts = [f"{KIND_WORDS[txn.kind]} {txn.id[:8]}"]
    if txn.amount is not None:
        parts.append(f"of {rupees(txn.amount)}")
    parts.append(f"in {txn.scheme_code} {name} on {txn.trade_date}")
    text = " ".join(parts)
    if txn.units is not None:
        text += f": {format(txn.units, 'f')} units"
        if txn.nav is not None:
            text += f" at NAV {format(txn.nav, 'f')}"
    elif txn.kind in BUYS:
        text += ": units estimated at that day's NAV (stamp duty, business day) when valued"
    if txn.folio:
        text += f", folio {txn.folio}"
    return text


def describe_changes(before: Transaction, after: Transaction) -> list[str]:
    """One `field old → new` line per changed field (timestamps left out)."""
    old = txn_to_record(before)
    lines = []
    for name, value in changed_fields(before, after).items():
        if name in ("updated_at", "created_at"):
            continue
        lines.append(f"{name} {old[name] or '—'} → {value if value is not None else '—'}")
    return lines


def txn_table(
    txns: Sequence[Transaction], names: Mapping[int, str], *, width: int | None
) -> FittedTable:
    """The `mftrack txns` table: one row per transaction, in ledger order."""
    rows = []
    for t in txns:
        rows.append((
            t.id[:8],
            t.trade_date.isoformat(),
            str(t.scheme_code),
            names.get(t.scheme_code, "(unknown scheme)"),
            t.kind.value + (" (removed)" if t.deleted else ""),
            rupees(t.amount) if t.amount is not None else "",
            units_text(t),
            format(t.nav, "f") if t.nav is not None else "",
            t.folio or "",
            t.source.value,
            t.note or "",
        ))  # fmt: skip
    columns = [
        Col("id", keep_if_empty=True), Col("date"), Col("code", "right", drop_order=3),
        Col("scheme", flexible=True), Col("type"), Col("amount", "right"),
        Col("units", "right"), Col("nav", "right", drop_order=2), Col("folio", drop_order=4),
        Col("source", drop_order=5), Col("note", drop_order=6),
    ]  # fmt: skip
    return fit_table(columns, rows, width=width)
