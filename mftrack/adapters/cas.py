"""Consolidated Account Statements: a CAMS/KFintech detailed CAS as ledger transactions.

A statement comes in as casparser's output (codereverser/casparser, MIT): parsed here from the
PDF by casparser itself (the optional extra `mftrack[cas]`, imported only when a PDF is read),
or read from the JSON that `casparser FILE.pdf -o FILE.json` writes (no casparser needed). Both
become the same plain dict (casparser's `CASData` dumped as JSON: folios → schemes →
transactions, decimals as strings), which `statement_ledger` turns into `Transaction`s with
source `cas`, the closing balance of every folio and scheme, and the rows it did not import,
each with its reason.

casparser's rows are signed (a redemption's units and amount are negative); the ledger's are
positive with the kind saying the direction (`mftrack.domain.transactions`).
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from mftrack.domain.reconcile import StatementBalance, folio_key
from mftrack.domain.transactions import BUYS, SELLS, Transaction, TxnKind, TxnSource
from mftrack.errors import ConfigError, CredentialsError, InvalidInputError, NotFoundError

PASSWORD_HINT = (
    "a CAS PDF is locked with the password chosen when it was requested (CAMS and KFintech "
    "use it for every statement); give it at the prompt, with --password-stdin, or in "
    "MFTRACK_CAS_PASSWORD"
)

# casparser's TransactionType (casparser/enums.py, 1.4.1) → the ledger's kind.
KINDS: dict[str, TxnKind] = {
    "PURCHASE": TxnKind.PURCHASE,
    "PURCHASE_SIP": TxnKind.SIP,
    "REDEMPTION": TxnKind.REDEMPTION,
    "SWITCH_IN": TxnKind.SWITCH_IN,
    "SWITCH_OUT": TxnKind.SWITCH_OUT,
    "SWITCH_IN_MERGER": TxnKind.MERGER_IN,
    "SWITCH_OUT_MERGER": TxnKind.MERGER_OUT,
    "DIVIDEND_PAYOUT": TxnKind.DIVIDEND_PAYOUT,
    "DIVIDEND_REINVEST": TxnKind.DIVIDEND_REINVEST,
}
# Types the ledger does not take, and why (reported, never silently dropped).
NOT_IMPORTED: dict[str, str] = {
    "SEGREGATION": "units of a segregated portfolio (a credit event): not imported; the cost "
    "split between the two portfolios needs the NAVs before segregation "
    "(ledger-notes), add it by hand",
    "GIFT_IN": "units received as a gift: not imported (the ledger has no gift kind)",
    "GIFT_OUT": "units given as a gift: not imported (the ledger has no gift kind)",
    "MISC": "an informational row (no units or amount the ledger can use)",
    "UNKNOWN": "casparser could not classify this row",
}
# F4: a failed debit prints as "payment not received" (or a reversal). casparser classifies a
# reversal with negative units as REVERSAL; a row without units it leaves as MISC.
_FAILED_DEBIT = re.compile(
    r"payment\s+not\s+received|insufficient\s+(?:balance|funds)|dishonou?red|rejection", re.I
)
# A reversal finds the purchase it undoes within this many days (same folio and scheme).
REVERSAL_WINDOW_DAYS = 60


@dataclass(frozen=True, slots=True)
class NotImportedRow:
    """A statement row (or a whole scheme's rows) the import did not take, and why."""

    folio: str
    scheme: str  # the name the statement prints
    trade_date: date | None  # None: every row of the scheme
    description: str
    reason: str
    rows: int = 1


@dataclass(frozen=True, slots=True)
class SchemeMatch:
    """Which local scheme a statement's scheme is: a code, or the reason there is none."""

    scheme_code: int | None
    reason: str | None = None


# (AMFI code or None, ISIN or None, the name printed) → the local scheme
SchemeResolver = Callable[[str | None, str | None, str], SchemeMatch]


@dataclass(slots=True)
class CasLedger:
    """What one statement adds to the ledger, and what it says the folios hold."""

    start: date | None
    end: date
    transactions: list[Transaction] = field(default_factory=list)
    balances: list[StatementBalance] = field(default_factory=list)
    not_imported: list[NotImportedRow] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


# ---------------------------------------------------------------------------------- reading


def read_statement(path: Path, password: str | None) -> dict[str, Any]:
    """The statement in `path` as casparser's JSON shape: a `.json` file as it is, anything
    else as a PDF parsed by casparser with `password` (never stored, logged or echoed)."""
    if not path.is_file():
        raise NotFoundError(f"{path}: no such file", hint="check the path of the statement")
    if path.suffix.lower() == ".json":
        return _read_json(path)
    with path.open("rb") as head:
        is_pdf = head.read(5) == b"%PDF-"  # every PDF starts so (ISO 32000-1, 7.5.2)
    if not is_pdf:  # the true cause, before asking for casparser or a password
        raise InvalidInputError(
            f"{path.name} is not a CAMS/KFintech statement: it is neither a PDF nor "
            "casparser's JSON (a .json file)",
            hint="give the CAS PDF mailed by CAMS or KFintech, or casparser's JSON output",
        )
    return _read_pdf(path, password)


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"), parse_float=Decimal)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInputError(
            f"{path.name} is not JSON ({exc})",
            hint="give casparser's JSON output (`casparser STATEMENT.pdf -o STATEMENT.json`) "
            "or the PDF itself",
        ) from exc
    if not isinstance(data, dict):
        raise InvalidInputError(
            f"{path.name}: expected casparser's JSON object, found {type(data).__name__}"
        )
    return data


def _read_pdf(path: Path, password: str | None) -> dict[str, Any]:
    try:
        from casparser import read_cas_pdf
        from casparser.exceptions import IncorrectPasswordError, ParserException
    except ImportError as exc:
        raise ConfigError(
            "reading a CAS PDF needs casparser, which is not installed",
            hint="pip install 'mftrack[cas]', or import casparser's JSON output instead",
        ) from exc
    try:
        data = read_cas_pdf(str(path), password or "", output="dict")
    except IncorrectPasswordError as exc:
        # casparser's message is fixed text ("Incorrect PDF password!"): no password in it.
        raise CredentialsError(
            f"{path.name}: wrong password" if password else f"{path.name} needs a password",
            hint=PASSWORD_HINT,
        ) from exc
    except ParserException as exc:
        raise InvalidInputError(
            f"{path.name} is not a CAMS/KFintech statement casparser can read: {exc}",
            hint="use the detailed CAS (with transactions) mailed by CAMS or KFintech",
        ) from exc
    return data.model_dump(mode="json", by_alias=True)


# ---------------------------------------------------------------------------------- parsing


def _parse_date(value: Any, what: str) -> date:
    text = str(value).strip()
    try:
        return date.fromisoformat(text)  # casparser's JSON: YYYY-MM-DD
    except ValueError:
        pass
    for fmt in ("%Y-%m-%d", "%d-%b-%Y", "%d-%m-%Y", "%d/%m/%Y"):
        try:
            return datetime.strptime(text, fmt).date()  # noqa: DTZ007 (a calendar date)
        except ValueError:
            continue
    raise InvalidInputError(f"{what}: {text!r} is not a date", hint="expected YYYY-MM-DD")


def _number(value: Any, what: str) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        # Decimal(str(...)): a JSON number written as 1234.5 stays exactly 1234.5 (F5).
        return Decimal(str(value).replace(",", ""))
    except InvalidOperation as exc:
        raise InvalidInputError(f"{what}: {value!r} is not a number") from exc


def _field(obj: Any, key: str, where: str) -> Any:
    if not isinstance(obj, dict) or key not in obj:
        raise InvalidInputError(
            f"{where}: no {key!r} in casparser's JSON",
            hint="the file must be casparser's output for a CAMS/KFintech detailed statement",
        )
    return obj[key]


def _plain(value: Decimal) -> str:
    """A canonical text for keys: 1.500 and 1.5 are the same units."""
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "") else text


@dataclass(slots=True)
class _Row:
    trade_date: date
    description: str
    type: str
    amount: Decimal | None
    units: Decimal | None
    nav: Decimal | None
    kind: TxnKind | None = None
    stamp_duty: Decimal | None = None
    stt: Decimal | None = None
    note: str | None = None
    reason: str | None = None  # set: not imported


def _rows(scheme: dict[str, Any], where: str) -> list[_Row]:
    rows = []
    for n, raw in enumerate(_field(scheme, "transactions", where), start=1):
        at = f"{where}, row {n}"
        rows.append(_Row(
            trade_date=_parse_date(_field(raw, "date", at), at),
            description=" ".join(str(raw.get("description") or "").split()),
            type=str(_field(raw, "type", at)),
            amount=_number(raw.get("amount"), at),
            units=_number(raw.get("units"), at),
            nav=_number(raw.get("nav"), at),
        ))  # fmt: skip
    return rows


def _classify(rows: list[_Row]) -> None:
    """Give each row its ledger kind, or the reason it is not imported."""
    for row in rows:
        if row.type in KINDS:
            row.kind = KINDS[row.type]
        elif row.type == "REVERSAL" or (
            row.units is None and _FAILED_DEBIT.search(row.description)
        ):
            row.kind = TxnKind.SIP_FAILED
        elif row.type in ("STAMP_DUTY_TAX", "STT_TAX", "TDS_TAX"):
            continue  # attached to their purchase / redemption below
        else:
            row.reason = NOT_IMPORTED.get(row.type, f"unknown row type {row.type!r}")


def _pair_reversals(rows: list[_Row]) -> None:
    """F4: a failed debit shows as the purchase and, after it, a reversal of the same units.
    The pair becomes one `sip_failed` row on the purchase's date (net zero units); a reversal
    with no purchase before it in this statement is not imported."""
    for i, rev in enumerate(rows):
        if rev.kind is not TxnKind.SIP_FAILED or rev.type != "REVERSAL":
            continue
        undone = -(rev.units or Decimal(0))
        for buy in reversed(rows[:i]):
            if (
                buy.kind in (TxnKind.SIP, TxnKind.PURCHASE)
                and buy.units == undone
                and (rev.trade_date - buy.trade_date).days <= REVERSAL_WINDOW_DAYS
            ):
                buy.kind = TxnKind.SIP_FAILED
                buy.note = f"reversed on {rev.trade_date.isoformat()}: {rev.description}"
                rev.kind, rev.reason = None, ""  # folded into the purchase it undoes
                break
        else:
            rev.kind = None
            rev.reason = (
                "a reversal of a purchase that is not in this statement: remove that "
                "purchase from the ledger if it was recorded"
            )


def _attach_taxes(rows: list[_Row], notes: list[str], label: str) -> None:
    """Stamp duty and STT print as rows of their own next to the transaction they belong to
    (ledger-notes). Stamp duty is part of the cost of acquisition (F1): added into the
    purchase's gross amount and kept in `stamp_duty`; STT withheld on a redemption is kept in
    `stt` and never a cost (F6). TDS has no place in the ledger: reported."""
    for i, row in enumerate(rows):
        if row.type == "TDS_TAX":
            amount = abs(row.amount) if row.amount is not None else None
            notes.append(
                f"{label}: TDS of ₹{amount} withheld on {row.trade_date.isoformat()} "
                "is not in the ledger (no field for it; F8)"
            )
            row.reason = ""
            continue
        if row.type not in ("STAMP_DUTY_TAX", "STT_TAX"):
            continue
        stamp = row.type == "STAMP_DUTY_TAX"
        targets = (BUYS | {TxnKind.SIP_FAILED}) if stamp else SELLS
        slot = "stamp_duty" if stamp else "stt"
        # The nearest row of that day before the tax row, else after it.
        order = [*reversed(rows[:i]), *rows[i + 1 :]]
        owner = next(
            (
                r
                for r in order
                if r.trade_date == row.trade_date and r.kind in targets and getattr(r, slot) is None
            ),
            None,
        )
        if owner is None or row.amount is None:
            row.reason = (
                ("stamp duty" if stamp else "STT")
                + " with no "
                + ("purchase" if stamp else "redemption")
                + " on the same day to belong to"
            )
            continue
        tax = abs(row.amount)
        setattr(owner, slot, tax)
        if stamp and owner.amount is not None:
            owner.amount = abs(owner.amount) + tax  # the gross paid, F1
        row.reason = ""  # attached


def _key(folio: str, code: int, day: date, kind: TxnKind, units: Any, amount: Any) -> str:
    """What makes a re-import a no-op: folio, scheme, date, kind, units and amount."""
    units = _plain(units) if units is not None else "-"
    amount = _plain(amount) if amount is not None else "-"
    return f"cas:{folio_key(folio)}:{code}:{day.isoformat()}:{kind.value}:{units}:{amount}"


def _transaction(row: _Row, code: int, folio: str, seen: dict[str, int]) -> Transaction:
    """The ledger row of `row`. Its key is made unique within the statement: two equal rows
    the same day (two SIPs of the same amount) are the 1st and 2nd of their kind, the same
    on every re-import."""
    kind = row.kind
    assert kind is not None
    units = abs(row.units) if row.units is not None else None
    if kind in (TxnKind.DIVIDEND_PAYOUT, TxnKind.SIP_FAILED):
        units = None  # a payout moves no units; a failed debit allotted none that stay
    amount = abs(row.amount) if row.amount is not None else None
    key = _key(folio, code, row.trade_date, kind, units, amount)
    seen[key] = n = seen.get(key, 0) + 1
    return Transaction(
        id=str(uuid.uuid4()), scheme_code=code, kind=kind, trade_date=row.trade_date,
        amount=amount, units=units, nav=row.nav if units is not None else None,
        stamp_duty=row.stamp_duty, stt=row.stt, folio=folio, source=TxnSource.CAS,
        import_key=key if n == 1 else f"{key}#{n}", note=row.note or (row.description or None),
    )  # fmt: skip


def _link_legs(txns: list[Transaction]) -> list[Transaction]:
    """The two legs of a switch (or merger) share a link id: one out and one in, same folio
    and day. Anything less clear-cut stays unlinked rather than guessed."""
    pairs = ((TxnKind.SWITCH_OUT, TxnKind.SWITCH_IN), (TxnKind.MERGER_OUT, TxnKind.MERGER_IN))
    groups: dict[tuple[str, date, TxnKind], list[int]] = {}
    for i, txn in enumerate(txns):
        for out_kind, in_kind in pairs:
            if txn.kind in (out_kind, in_kind):
                groups.setdefault((folio_key(txn.folio), txn.trade_date, out_kind), []).append(i)
    result = list(txns)
    for members in groups.values():
        kinds = sorted(result[i].kind.value for i in members)
        if len(members) == 2 and kinds[0] != kinds[1]:
            link = str(uuid.uuid4())
            for i in members:
                result[i] = replace(result[i], link_id=link)
    return result


def statement_ledger(statement: dict[str, Any], resolve: SchemeResolver) -> CasLedger:
    """Every transaction of a detailed statement that the ledger can take, the closing
    balance of each folio and scheme, and what was not imported (with reasons)."""
    if "accounts" in statement:
        raise InvalidInputError(
            "this is a depository (NSDL/CDSL) statement: it lists holdings, not transactions",
            hint="import the CAMS/KFintech detailed CAS, which has every transaction",
        )
    if str(statement.get("cas_type", "DETAILED")).upper() == "SUMMARY":
        raise InvalidInputError(
            "this is a summary CAS: it has balances but no transactions",
            hint="request the detailed CAS (with transaction history) from CAMS or KFintech",
        )
    period = _field(statement, "statement_period", "statement")
    start_text = period.get("from") or period.get("from_") if isinstance(period, dict) else None
    end_text = period.get("to") if isinstance(period, dict) else None
    start = _parse_date(start_text, "statement period") if start_text else None
    folios = _field(statement, "folios", "statement")
    if end_text:
        end = _parse_date(end_text, "statement period")
    else:  # no period printed: the statement runs to its last row
        end = max((_parse_date(t.get("date"), "row") for f in folios
                   for s in f.get("schemes", []) for t in s.get("transactions", [])
                   if isinstance(t, dict) and t.get("date")), default=date.min)  # fmt: skip
    ledger = CasLedger(start=start, end=end)
    ledger.notes.extend(f"casparser: {w}" for w in statement.get("parse_warnings") or [])
    txns: list[Transaction] = []
    seen: dict[str, int] = {}
    for f_no, folio_obj in enumerate(folios, start=1):
        folio = str(_field(folio_obj, "folio", f"folio {f_no}")).strip()
        for s_no, scheme in enumerate(_field(folio_obj, "schemes", f"folio {folio}"), start=1):
            where = f"folio {folio}, scheme {s_no}"
            name = " ".join(str(_field(scheme, "scheme", where)).split())
            rows = _rows(scheme, where)
            match = resolve(
                str(scheme.get("amfi")).strip() if scheme.get("amfi") else None,
                str(scheme.get("isin")).strip() if scheme.get("isin") else None,
                name,
            )
            if match.scheme_code is None:
                ledger.not_imported.append(NotImportedRow(
                    folio=folio, scheme=name, trade_date=None,
                    description=f"all {len(rows)} row(s)", reason=match.reason or "unknown scheme",
                    rows=len(rows),
                ))  # fmt: skip
                continue
            label = f"folio {folio}, {name}"
            _classify(rows)
            _pair_reversals(rows)
            _attach_taxes(rows, ledger.notes, label)
            for row in rows:
                if row.kind is not None and row.reason is None:
                    txns.append(_transaction(row, match.scheme_code, folio, seen))
                elif row.reason:  # "" = folded into another row
                    ledger.not_imported.append(NotImportedRow(
                        folio=folio, scheme=name, trade_date=row.trade_date,
                        description=f"{row.type}: {row.description}", reason=row.reason,
                    ))  # fmt: skip
            rejected = sum(1 for r in rows if r.reason and r.units)
            ledger.balances.append(StatementBalance(
                folio=folio, scheme_code=match.scheme_code, scheme_name=name,
                open_units=_number(_field(scheme, "open", where), where) or Decimal(0),
                close_units=_number(_field(scheme, "close", where), where) or Decimal(0),
                as_of=end, rejected_rows=rejected,
            ))  # fmt: skip
    ledger.transactions = _link_legs(txns)
    return ledger
