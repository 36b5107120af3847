"""Getting NAVs into the local store: AMFI's daily file, its history report, mfapi.in, files."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mftrack.domain.fund_houses import fund_house_id
from mftrack.errors import (
    InvalidInputError,
    MftrackError,
    NetworkError,
    NotFoundError,
    RemoteDataError,
)
from mftrack.services.gc_pause import no_cycle_collection

if TYPE_CHECKING:
    from mftrack.adapters.amfi.model import ParsedNavFile
    from mftrack.adapters.sqlite.store import LocalStore

# Which `navs.source` each kind of file is stored under (store.py gives AMFI precedence).
SOURCE_BY_KIND = {"navall": "amfi", "history": "amfi-history", "mfapi": "mfapi"}


@dataclass
class ImportReport:
    """What one file or download added to the store."""

    origin: str  # a path or a URL
    kind: str
    layout: str
    rows: int
    schemes: int
    quotes: int
    navs_written: int
    problems: list[Any] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    last_nav_date: date | None = None  # the latest NAV date among the NAVs kept
    first_nav_date: date | None = None  # the earliest one: what a user was given, not asked

    def as_dict(self) -> dict[str, Any]:
        return {
            "origin": self.origin,
            "kind": self.kind,
            "layout": self.layout,
            "rows": self.rows,
            "schemes": self.schemes,
            "navs": self.quotes,
            "navs_written": self.navs_written,
            "problems": len(self.problems),
            "problem_details": [
                {"line": p.line_no, "message": p.message, "text": p.text}
                for p in self.problems[:200]
            ],
            "notes": self.notes,
            "last_nav_date": self.last_nav_date.isoformat() if self.last_nav_date else None,
            "first_nav_date": self.first_nav_date.isoformat() if self.first_nav_date else None,
        }


def store_parsed(
    store: LocalStore,
    parsed: ParsedNavFile,
    *,
    origin: str,
    scheme_codes: set[int] | None = None,
    start: date | None = None,
    end: date | None = None,
) -> ImportReport:
    """Save a parsed file, optionally keeping only some schemes and a date range."""
    schemes = list(parsed.schemes)
    quotes = list(parsed.quotes)
    if scheme_codes is not None:
        schemes = [s for s in schemes if s.scheme_code in scheme_codes]
        quotes = [q for q in quotes if q.scheme_code in scheme_codes]
    if start is not None or end is not None:
        low, high = start or date.min, end or date.max
        quotes = [q for q in quotes if low <= q.nav_date <= high]
    # mfapi's meta is junk for many old schemes (amfi-formats.md §3): it may name a scheme we
    # do not know yet, but never overwrite details AMFI's own files gave us.
    trust = parsed.kind != "mfapi"
    counts = store.save_navs(
        schemes, quotes, source=SOURCE_BY_KIND[parsed.kind], trust_scheme_details=trust
    )
    return ImportReport(
        origin=origin,
        kind=parsed.kind,
        layout=parsed.layout,
        rows=parsed.rows,
        schemes=counts.schemes,
        quotes=len(quotes),
        navs_written=counts.navs_written,
        problems=list(parsed.problems),
        last_nav_date=max((q.nav_date for q in quotes), default=None),
        first_nav_date=min((q.nav_date for q in quotes), default=None),
    )


STDIN = Path("-")  # `nav import -`: the CLI passes what it read from standard input


def read_text_file(path: Path, stdin: bytes | None = None) -> str:
    try:
        raw = stdin if path == STDIN and stdin is not None else path.read_bytes()
    except FileNotFoundError as exc:
        raise NotFoundError(f"no such file: {path}") from exc
    except OSError as exc:
        raise InvalidInputError(f"cannot read {path}: {exc.strerror}") from exc
    try:
        # AMFI's files are UTF-8 (amfi-formats.md 1.3: ’ and – appear); a BOM is tolerated.
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise RemoteDataError(
            f"{path} is not UTF-8 text", hint="pass NAVAll.txt, a NAV history report or mfapi JSON"
        ) from exc


@dataclass
class FileFailure:
    path: Path
    error: MftrackError


def import_files(
    *, store: LocalStore, paths: Sequence[Path], stdin: bytes | None = None
) -> tuple[list[ImportReport], list[FileFailure]]:
    """Import local NAV files of any supported kind, detected from their content.

    Each file is its own transaction: a bad file is reported and the others still import.
    The path `-` stands for `stdin` (the bytes the CLI read from standard input).
    """
    from mftrack.adapters.amfi.detect import parse_any

    reports: list[ImportReport] = []
    failures: list[FileFailure] = []
    for path in paths:
        try:
            if path.is_dir():
                raise InvalidInputError(f"{path} is a folder, not a NAV file")
            origin = "standard input" if path == STDIN and stdin is not None else str(path)
            with no_cycle_collection():  # a row makes objects, never a cycle
                parsed = parse_any(read_text_file(path, stdin))
                reports.append(store_parsed(store, parsed, origin=origin))
        except (InvalidInputError, NotFoundError, RemoteDataError) as exc:
            failures.append(FileFailure(path, exc))
    return reports, failures


PULL_ROWS_KEY = "nav.pull_rows.{origin}"  # meta: scheme rows in the last good pull of a URL
SHRUNK_BELOW = 0.9  # a pull with fewer rows than 90 % of the previous one is refused


def pull_navall(*, store: LocalStore, client: Any) -> tuple[ParsedNavFile, ImportReport]:
    """Download AMFI's NAVAll.txt and store every scheme with its latest NAV.

    A file with far fewer scheme rows than the previous pull from the same address is refused
    before anything is stored: a download cut at a line boundary, with no Content-Length to
    show it, looks complete otherwise (AMFI's file changes by a handful of schemes a day:
    14,150 rows on 10 and 11 Dec 2025, 12,863-15,834 over 2017-2026).
    """
    from mftrack.adapters.amfi.navall import parse_navall

    text = client.fetch_navall()
    with no_cycle_collection():  # a row makes objects, never a cycle
        parsed = parse_navall(text)
    origin = client.navall_url
    key = PULL_ROWS_KEY.format(origin=origin)
    previous = int(store.get_meta(key) or 0)
    if parsed.rows < previous * SHRUNK_BELOW:
        raise NetworkError(
            f"NAVAll.txt from {origin} has {parsed.rows:,} scheme rows, far fewer than the "
            f"{previous:,} of the previous pull: it looks cut short; nothing was stored",
            hint="retry later (the next pull usually gets the whole file)",
        )
    report = store_parsed(store, parsed, origin=origin)
    store.set_meta(key, str(parsed.rows))
    return parsed, report


def pull_latest(*, store: LocalStore, client: Any) -> ImportReport:
    """`pull_navall`, for callers that only need the report."""
    return pull_navall(store=store, client=client)[1]


def default_history_start(store: LocalStore, scheme_code: int, today: date) -> date:
    """The earliest start of the user's SIPs in the scheme, else one year back."""
    starts = [s.start_date for s in store.list_sips() if s.scheme_code == scheme_code]
    if starts:
        return min(starts)
    return date(today.year - 1, today.month, min(today.day, 28))


def fetch_history(
    *,
    store: LocalStore,
    client: Any,
    scheme_code: int,
    start: date,
    end: date,
    source: str = "auto",
) -> ImportReport:
    """Fetch one scheme's NAV history: AMFI's history report, else mfapi.in.

    AMFI's report is asked for one fund house at a time (`mf=`), in windows of at most 90 days
    (amfi-formats.md §2.1). When the fund house is unknown or AMFI fails, mfapi.in's
    `/mf/{code}` answers with the scheme's whole history in one request.
    """
    if start > end:
        raise InvalidInputError(f"--from {start} is after --to {end}")
    scheme = store.get_scheme(scheme_code)
    notes: list[str] = []
    if source in ("auto", "amfi"):
        mf = fund_house_id(scheme.info.fund_house) if scheme else None
        if mf is None:
            notes.append("AMFI history skipped: fund house unknown (run `mftrack nav pull`)")
            if source == "amfi":
                raise NotFoundError(
                    f"AMFI's fund-house id for scheme {scheme_code} is not known",
                    hint="run `mftrack nav pull` first, or use --source mfapi",
                )
        else:
            try:
                report = _history_from_amfi(
                    store=store, client=client, scheme_code=scheme_code, start=start, end=end,
                    mf=mf,
                )
                if report.quotes or source == "amfi":
                    report.notes = notes + report.notes
                    return report
                notes.append("AMFI's history report had no NAVs for this scheme")
            except MftrackError as exc:
                if source == "amfi":
                    raise
                notes.append(f"AMFI history failed ({exc.message}); used mfapi.in")
    from mftrack.adapters.amfi.mfapi import parse_mfapi

    try:
        text = client.fetch_mfapi(scheme_code)
    except (NetworkError, RemoteDataError) as exc:
        if not notes:
            raise
        # Say what happened with AMFI first, not only the fallback's failure.
        tried = "; ".join(n.removesuffix("; used mfapi.in") for n in notes)
        raise type(exc)(f"{exc.message} (before that: {tried})", hint=exc.hint) from exc
    parsed = parse_mfapi(text)
    report = store_parsed(
        store, parsed, origin=f"mfapi:{scheme_code}", scheme_codes={scheme_code},
        start=start, end=end,
    )
    report.notes = notes + report.notes
    return report


def _history_from_amfi(
    *, store: LocalStore, client: Any, scheme_code: int, start: date, end: date, mf: int
) -> ImportReport:
    from mftrack.adapters.amfi.history import parse_history_report

    total: ImportReport | None = None
    for text in _as_iterable(client.fetch_history_windows(start, end, mf=mf)):
        parsed = parse_history_report(text)
        part = store_parsed(
            store, parsed, origin=f"amfi-history:{scheme_code}", scheme_codes={scheme_code},
            start=start, end=end,
        )
        if total is None:
            total = part
        else:
            total.rows += part.rows
            total.quotes += part.quotes
            total.navs_written += part.navs_written
            total.schemes = max(total.schemes, part.schemes)
            if part.last_nav_date and (total.last_nav_date or date.min) < part.last_nav_date:
                total.last_nav_date = part.last_nav_date
            total.problems.extend(part.problems)
    if total is None:
        raise RemoteDataError("AMFI's history report returned nothing")
    return total


def _as_iterable(value: Any) -> Iterable[str]:
    return [value] if isinstance(value, str) else value
