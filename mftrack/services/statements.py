"""Importing a Consolidated Account Statement: read it, match its schemes, add its transactions
through the one import path (`services.ledger_import.import_transactions`: idempotent, dry-run),
then reconcile every folio and scheme with the statement's closing balance."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mftrack.adapters.cas import NotImportedRow, SchemeMatch, read_statement, statement_ledger
from mftrack.domain.reconcile import Reconciliation, reconcile
from mftrack.errors import InvalidInputError, NotFoundError

if TYPE_CHECKING:
    from mftrack.adapters.sqlite.store import LocalStore


def scheme_resolver(store: LocalStore) -> Callable[[str | None, str | None, str], SchemeMatch]:
    """A statement's scheme → the local scheme, by AMFI code, else by ISIN; never by name.

    An unknown scheme is rejected with the reason, not guessed (issue 11, part 3)."""
    hint = "run `mftrack nav pull` (or `mftrack nav import`) so the scheme list knows it"

    def resolve(amfi: str | None, isin: str | None, name: str) -> SchemeMatch:
        by_code = store.get_scheme(int(amfi)) if amfi and amfi.isdigit() else None
        by_isin = store.schemes_by_isin(isin) if isin else []
        if by_code is not None:
            isins = {by_code.info.isin_growth, by_code.info.isin_reinvest} - {None}
            if isin and isins and isin not in isins and by_isin:
                others = ", ".join(str(s.scheme_code) for s in by_isin)
                return SchemeMatch(
                    None,
                    f"AMFI code {amfi} is {by_code.display_name}, but ISIN "
                    f"{isin} is scheme {others}: not guessed",
                )
            return SchemeMatch(by_code.scheme_code)
        if len(by_isin) == 1:
            return SchemeMatch(by_isin[0].scheme_code)
        if by_isin:
            codes = ", ".join(str(s.scheme_code) for s in by_isin)
            return SchemeMatch(
                None,
                f"ISIN {isin} belongs to several schemes ({codes}) and the "
                "statement gives no AMFI code: not guessed",
            )
        ids = (
            " / ".join(
                x
                for x in (f"AMFI code {amfi}" if amfi else "", f"ISIN {isin}" if isin else "")
                if x
            )
            or "no code or ISIN"
        )
        return SchemeMatch(None, f"{ids} is not in the local scheme list; {hint}")

    return resolve


def _where(row: NotImportedRow) -> str:
    on = f"{row.trade_date.isoformat()} " if row.trade_date else ""
    return f"folio {row.folio}, {row.scheme}: {on}{row.description}"


@dataclass
class CasImportReport:
    file: str
    start: date | None
    end: date
    imported: Any  # services.ledger_import.ImportReport (rejected rows included)
    reconciliation: list[Reconciliation] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def mismatches(self) -> list[Reconciliation]:
        return [line for line in self.reconciliation if not line.matches]


def import_cas(
    store: LocalStore,
    path: Path,
    password: str | None,
    *,
    dry_run: bool,
    today: date | None = None,
) -> CasImportReport:
    """Import one statement (PDF or casparser JSON); with `dry_run` nothing is written."""
    from mftrack.domain.imports import RejectedRow
    from mftrack.services.ledger_import import import_transactions

    ledger = statement_ledger(read_statement(path, password), scheme_resolver(store))
    not_imported = [RejectedRow(_where(row), row.reason) for row in ledger.not_imported]
    imported = import_transactions(store, ledger.transactions, dry_run=dry_run, today=today,
                                   rejected=not_imported)  # fmt: skip
    codes = {balance.scheme_code for balance in ledger.balances}
    held = store.list_transactions(scheme_codes=codes, end=ledger.end) if codes else []
    if dry_run:  # reconcile as if the import had been written
        replaced = {r.before.id: r.after for r in imported.replaced_estimates}
        held = [replaced.get(t.id, t) for t in held] + list(imported.added)
    return CasImportReport(
        file=path.name, start=ledger.start, end=ledger.end, imported=imported,
        reconciliation=reconcile(ledger.balances, held), notes=ledger.notes,
    )  # fmt: skip


@dataclass
class FileImportReport:
    file: str
    imported: Any  # services.ledger_import.ImportReport


def import_csv(
    store: LocalStore, path: Path, *, dry_run: bool, today: date | None = None
) -> FileImportReport:
    """Import a CSV file in mftrack's format through the same path as a statement."""
    from mftrack.adapters.ledger_csv import read_ledger_csv
    from mftrack.services.ledger_import import import_transactions

    if not path.is_file():
        raise NotFoundError(f"{path}: no such file", hint="check the path of the CSV file")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInputError(
            f"{path.name} is not UTF-8 text", hint="save it as CSV (UTF-8)"
        ) from exc
    read = read_ledger_csv(
        text, isin_codes=lambda isin: [s.scheme_code for s in store.schemes_by_isin(isin)]
    )
    imported = import_transactions(store, read.transactions, dry_run=dry_run, today=today,
                                   rejected=read.rejected)  # fmt: skip
    return FileImportReport(file=path.name, imported=imported)
