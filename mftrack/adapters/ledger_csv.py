"""mftrack's ledger CSV format: read by header name, written by `mftrack txns --csv`.

The format (docs/ledger.md has the full description):

- UTF-8 (a BOM is tolerated), comma-separated, one header row; column names are matched
  case-insensitively and in any order; unknown columns are ignored and named in the result.
- Required: `date` (YYYY-MM-DD), `type`, and `scheme_code` or `isin`. Optional: `amount`,
  `units`, `nav`, `stamp_duty`, `stt`, `folio`, `sip_id`, `link_id`, `id`, `import_key`,
  `note`; `scheme_name` is written for people and ignored on reading.
- `type` is one of `TxnKind`'s values: purchase, sip, redemption, switch_in, switch_out,
  dividend_payout, dividend_reinvest (and sip_failed, merger_in, merger_out).
- Figures are plain positive decimals (`50000`, `50000.00`, `123.456`), never signed; an
  empty cell is "not known" (a purchase without units is estimated, F5).

Identity, so a re-import adds nothing: a row with an `id` is that transaction (an export read
back finds its own rows); a row without one gets an `import_key` derived from its content
(date, scheme, type and figures), with `#2`, `#3`... for identical rows in the same file.
"""

from __future__ import annotations

import csv
import hashlib
import io
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal, InvalidOperation

from mftrack.domain.imports import RejectedRow
from mftrack.domain.transactions import Transaction, TxnKind, TxnSource
from mftrack.domain.txn_record import txn_to_record
from mftrack.errors import InvalidInputError

# The columns `txns --csv` writes, in this order.
COLUMNS: tuple[str, ...] = (
    "id", "date", "scheme_code", "scheme_name", "type", "amount", "units", "nav",
    "stamp_duty", "stt", "folio", "sip_id", "link_id", "import_key", "note",
)  # fmt: skip
READ = frozenset(COLUMNS) | {"isin"}
DECIMALS = ("amount", "units", "nav", "stamp_duty", "stt")
KEYED = ("date", "scheme_code", "type", *DECIMALS, "folio", "sip_id")  # what a row's key hashes
KEY_PREFIX = "csv:"


@dataclass
class LedgerFile:
    """A CSV file read: its transactions, the rows rejected with why, the ignored columns."""

    transactions: list[Transaction] = field(default_factory=list)
    rejected: list[RejectedRow] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    rows: int = 0


class RowError(ValueError):
    """One cell of one row is unusable (the row is rejected, the others still read)."""


def _decimal(name: str, text: str) -> Decimal | None:
    raw = text.strip().replace(",", "").removeprefix("₹").strip()
    if not raw:
        return None
    try:
        value = Decimal(raw)
    except InvalidOperation as exc:
        raise RowError(f"{name} {text!r} is not a number") from exc
    if not value.is_finite() or value < 0:
        raise RowError(f"{name} {text!r} must be a positive number (no signs: the type says "
                       "which way units move)")  # fmt: skip
    return value


def _date(text: str) -> date:
    raw = text.strip()
    try:
        if len(raw) == 10 and raw[4] == "-" and raw[7] == "-":
            return date.fromisoformat(raw)
    except ValueError:
        pass
    raise RowError(f"date {text!r} is not a YYYY-MM-DD date")


def _kind(text: str) -> TxnKind:
    try:
        return TxnKind(text.strip().lower())
    except ValueError:
        names = ", ".join(k.value for k in TxnKind)
        raise RowError(f"type {text!r} is not one of {names}") from None


def _uuid(text: str) -> str | None:
    raw = text.strip().lower()
    if not raw:
        return None
    try:
        return str(uuid.UUID(raw))
    except ValueError:
        raise RowError(f"id {text!r} is not a UUID (leave it empty for a new row)") from None


def _canonical(value: Decimal | None) -> str:
    """A figure's text whatever its scale: `50000`, `50000.00` and `5E+4` key alike."""
    if value is None:
        return ""
    return format(value.normalize(), "f") if value else "0"


def content_key(txn: Transaction, occurrence: int = 1) -> str:
    """The import key of a row without an id: a hash of what the row says (not its note)."""
    record = txn_to_record(txn)
    parts = [txn.trade_date.isoformat(), str(txn.scheme_code), txn.kind.value,
             *(_canonical(getattr(txn, name)) for name in DECIMALS),
             record["folio"] or "", record["sip_id"] or ""]  # fmt: skip
    digest = hashlib.sha256("|".join(parts).encode()).hexdigest()[:32]
    return KEY_PREFIX + digest + (f"#{occurrence}" if occurrence > 1 else "")


def _scheme(cells: Mapping[str, str], isin_codes: Callable[[str], list[int]]) -> int:
    code_text = cells.get("scheme_code", "").strip()
    isin = cells.get("isin", "").strip().upper()
    if code_text:
        if not code_text.isdigit():
            raise RowError(f"scheme_code {code_text!r} is not an AMFI scheme code")
        return int(code_text)
    if not isin:
        raise RowError("neither scheme_code nor isin is given")
    codes = isin_codes(isin)
    if not codes:
        raise RowError(f"no scheme with ISIN {isin} in the scheme list (load NAVs: "
                       "`mftrack nav pull`)")  # fmt: skip
    if len(codes) > 1:
        raise RowError(f"ISIN {isin} names schemes {codes}: give scheme_code instead")
    return codes[0]


def _row(cells: Mapping[str, str], isin_codes: Callable[[str], list[int]],
         source: TxnSource) -> Transaction:  # fmt: skip
    def text(name: str) -> str | None:
        value = " ".join(cells.get(name, "").split())
        return value or None

    figures = {name: _decimal(name, cells.get(name, "")) for name in DECIMALS}
    return Transaction(
        id=_uuid(cells.get("id", "")) or str(uuid.uuid4()),
        scheme_code=_scheme(cells, isin_codes),
        kind=_kind(cells.get("type", "")),
        trade_date=_date(cells.get("date", "")),
        folio=text("folio"),
        sip_id=text("sip_id"),
        link_id=text("link_id"),
        source=source,
        import_key=text("import_key"),
        note=text("note"),
        **figures,
    )


def read_ledger_csv(
    text: str,
    *,
    isin_codes: Callable[[str], list[int]],
    source: TxnSource = TxnSource.CSV,
) -> LedgerFile:
    """Parse the CSV text; `isin_codes(isin)` gives the scheme codes an ISIN belongs to.

    A file without the required columns raises InvalidInputError; a bad row is rejected with
    its line number and reason, and the others are read.
    """
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff")))
    header = next(reader, None)
    if header is None:
        raise InvalidInputError("the CSV file is empty", hint="its first line names the columns")
    names = [h.strip().lower() for h in header]
    missing = [c for c in ("date", "type") if c not in names]
    if "scheme_code" not in names and "isin" not in names:
        missing.append("scheme_code or isin")
    if missing:
        raise InvalidInputError(
            f"the CSV header has no {', '.join(missing)} column",
            hint="see docs/ledger.md for the columns (`mftrack txns --csv` writes an example)",
        )
    result = LedgerFile(ignored_columns=[h for h in names if h and h not in READ])
    seen: Counter[str] = Counter()
    for row in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        result.rows += 1
        if len(row) > len(names):
            result.rejected.append(RejectedRow(f"line {line}", f"{len(row)} cells for "
                                               f"{len(names)} columns"))  # fmt: skip
            continue
        cells = dict(zip(names, row, strict=False))
        try:
            txn = _row(cells, isin_codes, source)
        except RowError as exc:
            result.rejected.append(RejectedRow(f"line {line}", str(exc)))
            continue
        if not cells.get("id", "").strip() and txn.import_key is None:
            key = content_key(txn)
            seen[key] += 1
            txn = replace(txn, import_key=content_key(txn, seen[key]))
        result.transactions.append(txn)
    return result


def write_ledger_csv(txns: Iterable[Transaction], names: Mapping[int, str]) -> str:
    """The CSV text of `txns` in the format `read_ledger_csv` reads (COLUMNS, in order)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    for txn in txns:
        record = txn_to_record(txn)
        record["date"] = record["trade_date"]
        record["type"] = record["kind"]
        record["scheme_name"] = names.get(txn.scheme_code, "")
        writer.writerow(["" if record[c] is None else record[c] for c in COLUMNS])
    return buffer.getvalue()
