"""Field-level parsing shared by the AMFI and mfapi.in parsers (stdlib only, no I/O).

Each function takes the raw field text and either returns a clean value or raises `ValueError`
with a message fit for a `ParseProblem`.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

# English month abbreviations, independent of the locale (`strptime("%b")` is not).
_MONTHS = {
    name: number
    for number, name in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"),
        start=1,
    )
}
MONTH_ABBR = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def norm_text(raw: str) -> str:
    """Strip and collapse runs of whitespace (spaces, TABs) to one space.

    amfi-formats.md 1.4: trailing and double spaces in names; TABs inside and at the end of
    Option values since Aug-2026 (`Monthly IDCW\\t Option`).
    """
    return " ".join(raw.split())


def opt_text(raw: str) -> str | None:
    """`norm_text`, with an empty result turned into None (empty Plan/Option fields)."""
    return " ".join(raw.split()) or None


def clean_isin(raw: str | None) -> str | None:
    """An `INF` + 9 alphanumerics ISIN, upper-cased, or None.

    amfi-formats.md 1.4: absent ISINs are `-` (NAVAll) or empty (history report); junk seen:
    `#N/A`, `---`, `NOTAPP`, `NA`, `Redeemed`, 11-character codes, `INF178L01BT0 ` with a
    trailing space (kept, stripped). The 2017 file has `INf200K01KQ1`: upper-casing it gives
    the real ISIN (its check digit is right), so case is normalised rather than rejected.
    """
    if raw is None:
        return None
    s = raw.strip().upper()
    if len(s) == 12 and s.startswith("INF") and s.isascii() and s.isalnum():
        return s
    return None


def parse_nav(raw: str) -> Decimal:
    """A positive NAV as an exact Decimal; `ValueError` for anything else.

    amfi-formats.md 1.4: 0-8 decimals; trailing-dot NAVs like `10.` (every file since 2019);
    leading-dot `.4157` (2021); `N.A.`, `#N/A`, `#DIV/0!`, `B.C.` and `0`/`0.0000` mean "no NAV".
    Only ASCII digits with at most one dot are accepted: `Decimal()` alone would also take
    `1_000`, `1e3`, `NaN` and non-ASCII digits.
    """
    s = raw.strip()
    digits = s.replace(".", "", 1)
    if not (digits and digits.isascii() and digits.isdigit()):
        raise ValueError(f"NAV {s!r} is not a number")
    nav = Decimal(s)
    if not nav:
        raise ValueError(f"NAV {s!r} is not positive")
    return nav


def parse_amfi_date(raw: str) -> date:
    """AMFI's `dd-Mon-yyyy` (`19-Aug-2026`), English month names in any case."""
    parts = raw.strip().split("-")
    if len(parts) == 3:
        day, mon, year = parts
        month = _MONTHS.get(mon.lower())
        if month and _is_digits(day) and _is_digits(year) and len(year) == 4:
            try:
                return date(int(year), month, int(day))
            except ValueError:
                pass
    raise ValueError(f"date {raw.strip()!r} is not dd-Mon-yyyy")


def parse_dmy(raw: str) -> date:
    """mfapi.in's `dd-mm-yyyy` (`07-04-2013`)."""
    parts = raw.strip().split("-")
    if len(parts) == 3 and all(_is_digits(p) for p in parts) and len(parts[2]) == 4:
        try:
            return date(int(parts[2]), int(parts[1]), int(parts[0]))
        except ValueError:
            pass
    raise ValueError(f"date {raw.strip()!r} is not dd-mm-yyyy")


def format_amfi_date(day: date) -> str:
    """`dd-Mon-yyyy` with English month names, as AMFI's history report URL wants."""
    return f"{day.day:02d}-{MONTH_ABBR[day.month - 1]}-{day.year:04d}"


def _is_digits(s: str) -> bool:
    return s.isascii() and s.isdigit()


def strip_preamble(text: str) -> str:
    """The text without a leading UTF-8 BOM and whitespace (for content sniffing)."""
    return text.lstrip("\ufeff \t\r\n")


def looks_like_html(text: str) -> bool:
    """True when the first non-blank character is `<` (`<html`, `<!DOCTYPE`, `<head>`...).

    amfi-formats.md 1.1: the old URL answered with an nginx 404 page and an "Object Moved"
    page that starts with `<head>`; AMFI text always starts with `Scheme Code;`.
    """
    return strip_preamble(text[:4096]).startswith("<")
