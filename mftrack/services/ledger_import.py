"""Importing transactions from a statement or a CSV file: idempotent, all or nothing.

`import_transactions` is the one path for every import (`mftrack import csv`, `import cas`):

- A row whose `id` or `import_key` the store already has (removed rows included) is *already
  present*: re-importing a file adds nothing.
- A confirmed purchase (units given) that matches a purchase typed in without units (same
  scheme, kind of buy and amount, the same folio or none, dated within the window an
  instalment is matched in) *replaces that estimate*: the stored row takes the statement's
  date, units, NAV and stamp duty and keeps its id (F5: the units the registrar reports win).
- A confirmed SIP instalment (a `sip` row with units, or a purchase naming a SIP) dated in
  the window of one of a live SIP's instalments is added, and *replaces that instalment's
  estimate* in every valuation (`mftrack.domain.ledger`); the report counts those too.
- A row that cannot be stored (unknown scheme, a sale without units, a future date...) is
  *rejected* with its reason; the rest still import.

Everything is written in one SQLite transaction (nothing with `dry_run`).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from mftrack.domain.imports import RejectedRow
from mftrack.domain.ledger import SIP_MATCH_AFTER, SIP_MATCH_BEFORE
from mftrack.domain.transactions import BUYS, SELLS, Transaction, TxnKind
from mftrack.domain.txn_record import changed_fields

if TYPE_CHECKING:
    from mftrack.adapters.sqlite.store import LocalStore

# F2/F3: a statement dates a purchase on its NAV (allotment) day, which can be days of holidays
# after the day a user typed (the debit or order day), or a day or two before it: the window
# the valuation matches SIP instalments in (mftrack.domain.ledger), used for typed ones too.
MATCH_BEFORE = SIP_MATCH_BEFORE
MATCH_AFTER = SIP_MATCH_AFTER


@dataclass(frozen=True, slots=True)
class ReplacedEstimate:
    before: Transaction  # the purchase as typed, units estimated
    after: Transaction  # the same row with the statement's figures


@dataclass
class ImportReport:
    """What an import did (or, with `dry_run`, would do)."""

    dry_run: bool
    added: list[Transaction] = field(default_factory=list)
    already_present: list[Transaction] = field(default_factory=list)
    replaced_estimates: list[ReplacedEstimate] = field(default_factory=list)
    confirmed_instalments: list[tuple[str, date]] = field(default_factory=list)  # (SIP, due)
    rejected: list[RejectedRow] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # e.g. the CSV columns that were ignored

    @property
    def replaced(self) -> int:
        """Estimates replaced: typed purchases confirmed plus SIP instalments confirmed."""
        return len(self.replaced_estimates) + len(self.confirmed_instalments)

    def summary(self) -> str:
        verb = "would add" if self.dry_run else "added"
        parts = [f"{verb} {len(self.added)}", f"{len(self.already_present)} already present",
                 f"{self.replaced} estimates replaced",
                 f"{len(self.rejected)} rejected"]  # fmt: skip
        return ", ".join(parts)

    def as_dict(self) -> dict[str, Any]:
        from mftrack.domain.txn_record import txn_to_record

        return {
            "dry_run": self.dry_run,
            "added": len(self.added),
            "already_present": len(self.already_present),
            "replaced_estimates": self.replaced,
            "rejected": [r.as_dict() for r in self.rejected],
            "notes": self.notes,
            "added_ids": [t.id for t in self.added],
            "replaced": [
                {"id": r.before.id, "changed": changed_fields(r.before, r.after)}
                for r in self.replaced_estimates
            ],
            "confirmed_instalments": [
                {"sip_id": sip_id, "due_date": due.isoformat()}
                for sip_id, due in self.confirmed_instalments
            ],
            "transactions": [txn_to_record(t) for t in self.added],
        }


def describe(txn: Transaction) -> str:
    """A row in words, for a report: `2024-03-12 purchase of 120503 ₹50000.00 (folio F)`."""
    what = f"{txn.trade_date} {txn.kind.value} of {txn.scheme_code}"
    if txn.amount is not None:
        what += f" ₹{txn.amount}"
    if txn.units is not None:
        what += f" {txn.units} units"
    return what + (f" (folio {txn.folio})" if txn.folio else "")


# What the hosted table accepts (supabase/migrations/20261205150000_transactions.sql), so a row
# imported here is never refused by sync: figures below 1e12, money to the paisa, units and
# NAVs to 10 decimals, dates from 1900.
FIGURES = {"amount": 2, "units": 10, "nav": 10, "stamp_duty": 2, "stt": 2}
LARGEST = Decimal("1e12")
EARLIEST = date(1900, 1, 1)


def problem(txn: Transaction, known_schemes: set[int], today: date | None) -> str | None:
    """Why `txn` cannot be stored, or None. Conventions: domain.transactions."""
    if txn.scheme_code not in known_schemes:
        return (f"no scheme {txn.scheme_code} in the scheme list (load NAVs: `mftrack nav "
                "pull`, or check the code)")  # fmt: skip
    if today is not None and txn.trade_date > today:
        return f"dated {txn.trade_date}, after today ({today})"
    if txn.trade_date < EARLIEST:
        return f"dated {txn.trade_date}, before {EARLIEST}"
    for name, places in FIGURES.items():
        value = getattr(txn, name)
        if value is None:
            continue
        zero_ok = name in ("stamp_duty", "stt")
        if not value.is_finite() or value < 0 or (value == 0 and not zero_ok):
            return f"{name} {value} must be a positive number"
        exponent = value.normalize().as_tuple().exponent
        if value >= LARGEST or (isinstance(exponent, int) and -exponent > places):
            return f"{name} {value} is too large or has more than {places} decimals"
    for name, most in (("folio", 500), ("note", 1000), ("import_key", 500)):
        text = getattr(txn, name)
        if text is not None and len(text) > most:
            return f"{name} is {len(text)} characters; at most {most}"
    if txn.kind in SELLS and not txn.units:
        return "a sale must carry the units it sold"
    if txn.kind in BUYS and not txn.amount and not txn.units:
        return "a purchase needs its amount or its units"
    if txn.kind is TxnKind.DIVIDEND_PAYOUT and not txn.amount:
        return "an IDCW payout needs its amount"
    if (
        txn.units is not None
        and txn.kind not in BUYS | SELLS
        and txn.kind not in (TxnKind.MERGER_IN, TxnKind.MERGER_OUT)
    ):
        return f"a {txn.kind.value} row carries no units"
    return None


def _confirms(estimate: Transaction, txn: Transaction) -> bool:
    """Whether `txn` (from a statement) is the purchase `estimate` was typed in for."""
    return (
        estimate.scheme_code == txn.scheme_code
        and estimate.kind == txn.kind
        and estimate.amount == txn.amount
        and (estimate.folio is None or estimate.folio == txn.folio)
        and estimate.trade_date - MATCH_BEFORE <= txn.trade_date
        and txn.trade_date <= estimate.trade_date + MATCH_AFTER
    )


def _confirmed(estimate: Transaction, txn: Transaction) -> Transaction:
    return replace(
        estimate, trade_date=txn.trade_date, units=txn.units, nav=txn.nav,
        stamp_duty=txn.stamp_duty, stt=txn.stt, folio=estimate.folio or txn.folio,
        sip_id=estimate.sip_id or txn.sip_id, source=txn.source, import_key=txn.import_key,
    )  # fmt: skip


def import_transactions(
    store: LocalStore,
    txns: Sequence[Transaction],
    *,
    dry_run: bool,
    today: date | None = None,
    rejected: Iterable[RejectedRow] = (),
) -> ImportReport:
    """Import `txns` idempotently (see the module docstring) in one SQLite transaction.

    `rejected` carries rows the reader could not parse, so the report lists them too.
    Rows keep their order: their `created_at` is spaced a microsecond apart from now on,
    which orders rows of the same trade date as the file had them.
    """
    report = ImportReport(dry_run=dry_run, rejected=list(rejected))
    stored = store.list_transactions(include_deleted=True)
    ids = {t.id for t in stored}
    keys = {t.import_key for t in stored if t.import_key}
    estimates = [t for t in stored if not t.deleted and t.kind in BUYS and t.units is None]
    known = set(store.get_schemes({t.scheme_code for t in txns}))
    now = datetime.now(UTC)
    updates: dict[str, dict[str, Any]] = {}
    for n, txn in enumerate(txns):
        if txn.id in ids or (txn.import_key and txn.import_key in keys):
            report.already_present.append(txn)
            continue
        reason = problem(txn, known, today)
        if reason is not None:
            report.rejected.append(RejectedRow(describe(txn), reason))
            continue
        stamp = now + timedelta(microseconds=n)
        txn = replace(txn, created_at=stamp, updated_at=stamp)
        ids.add(txn.id)
        if txn.import_key:
            keys.add(txn.import_key)
        match = None
        if txn.units is not None and txn.kind in BUYS:
            match = next((e for e in estimates if _confirms(e, txn)), None)
        if match is not None:
            estimates.remove(match)
            after = replace(_confirmed(match, txn), updated_at=stamp)
            updates[match.id] = changed_fields(match, after)
            report.replaced_estimates.append(ReplacedEstimate(match, after))
            continue
        report.added.append(txn)
    report.confirmed_instalments = _confirmed_instalments(store, report.added)
    if not dry_run and (report.added or updates):
        from mftrack.services.limits import check_room_for_transactions

        check_room_for_transactions(store, len(report.added))
        store.save_transactions(insert=report.added, update=updates)
    return report


def import_csv_text(
    store: LocalStore, text: str, *, dry_run: bool, today: date | None = None
) -> ImportReport:
    """`mftrack import csv`: read the ledger CSV format (docs/ledger.md) and import it; rows
    the reader cannot use are in the report's `rejected` with their line numbers."""
    from mftrack.adapters.ledger_csv import read_ledger_csv

    def isin_codes(isin: str) -> list[int]:
        return [s.scheme_code for s in store.schemes_by_isin(isin)]

    parsed = read_ledger_csv(text, isin_codes=isin_codes)
    report = import_transactions(
        store, parsed.transactions, dry_run=dry_run, today=today, rejected=parsed.rejected
    )
    if parsed.ignored_columns:
        report.notes.append(f"ignored columns: {', '.join(parsed.ignored_columns)}")
    return report


def _confirmed_instalments(
    store: LocalStore, added: Sequence[Transaction]
) -> list[tuple[str, date]]:
    """The live SIPs' instalments that the added confirmed rows replace (the valuation's rule:
    a `sip` row, or a purchase naming the SIP, dated from MATCH_BEFORE before to MATCH_AFTER
    after the due date; each instalment once)."""
    from mftrack.domain.sips import instalment_schedule

    confirmed = [t for t in added if t.units is not None and
                 (t.kind is TxnKind.SIP or (t.kind in BUYS and t.sip_id))]  # fmt: skip
    if not confirmed:
        return []
    codes = {t.scheme_code for t in confirmed}
    last = max(t.trade_date for t in confirmed) + MATCH_BEFORE
    due: dict[int, list[tuple[date, str]]] = {}
    for sip in store.list_sips():
        if sip.scheme_code in codes:
            due.setdefault(sip.scheme_code, []).extend(
                (d, sip.id) for d in instalment_schedule(sip, last)[0]
            )
    for rows in due.values():
        rows.sort()
    taken: set[tuple[str, date]] = set()
    for txn in confirmed:
        rows = due.get(txn.scheme_code, [])
        # Due dates with day - MATCH_BEFORE <= trade date <= day + MATCH_AFTER.
        k = bisect_left(rows, (txn.trade_date - MATCH_AFTER, ""))
        while k < len(rows) and rows[k][0] - MATCH_BEFORE <= txn.trade_date:
            day, sip_id = rows[k]
            k += 1
            if (sip_id, day) not in taken and txn.sip_id in (None, sip_id):
                taken.add((sip_id, day))
                break
    return sorted(taken, key=lambda item: (item[1], item[0]))
