"""The valuation's warnings grouped by kind: one line per kind for the whole portfolio.

`PortfolioSummary.warnings` has one sentence per scheme and kind (shown with `--verbose`, and
in `--json`). Ten stale schemes made ten near-identical lines on every command; these groups
say the same once: "5 schemes' NAVs (…) are 359 days old: run `mftrack nav update`". The
kinds follow `portfolio._scheme_warnings`, read from the same `SchemeSummary` fields.
"""

from __future__ import annotations

from collections.abc import Sequence

from mftrack.domain.portfolio import LATE_ALLOTMENT_DAYS, PortfolioSummary, SchemeSummary

NAMED_SCHEMES = 3  # scheme codes named in a line; more are counted ("and 2 more")


def _plural(count: int, word: str, plural: str | None = None) -> str:
    return f"{count} {word if count == 1 else (plural or word + 's')}"


def _codes(schemes: Sequence[SchemeSummary]) -> str:
    codes = [str(s.scheme_code) for s in schemes[:NAMED_SCHEMES]]
    more = len(schemes) - len(codes)
    return f"({', '.join(codes)}{f' and {more} more' if more else ''})"


def _of_schemes(instalments: int, schemes: Sequence[SchemeSummary]) -> str:
    return (f"{_plural(instalments, 'instalment')} of "
            f"{_plural(len(schemes), 'scheme')} {_codes(schemes)}")


def _days(values: Sequence[int]) -> str:
    low, high = min(values), max(values)
    return f"{high} days" if low == high else f"{low} to {high} days"


def grouped_warnings(summary: PortfolioSummary, fix_command: str) -> list[str]:
    """One line per kind of trouble, each naming the command that fixes it."""
    due = [s for s in summary.schemes if s.instalments or s.pending or s.nav_gaps or s.units]
    fix = f"run `{fix_command}`"
    lines: list[str] = []
    valued = [s for s in due if not s.redeemed]  # all sold: no NAV values anything
    no_nav = [s for s in valued if s.nav_date is None]
    if no_nav:
        lines.append(f"{_plural(len(no_nav), 'scheme')} {_codes(no_nav)} "
                     f"{'has' if len(no_nav) == 1 else 'have'} no NAV on or before "
                     f"{summary.as_of}, so their instalments are pending: {fix}")
    stale = [s for s in valued if s.nav_date is not None and s.stale]
    if stale:
        days = _days([(summary.as_of - s.nav_date).days for s in stale if s.nav_date])
        owner = "scheme's NAV" if len(stale) == 1 else "schemes' NAVs"
        lines.append(f"{len(stale)} {owner} {_codes(stale)} {'is' if len(stale) == 1 else 'are'} "
                     f"{days} old, so values may be out of date: {fix}")
    pending = [s for s in due if s.pending and s.nav_date is not None]
    if pending:
        count = sum(s.pending for s in pending)
        lines.append(f"{_of_schemes(count, pending)} {'is' if count == 1 else 'are'} pending "
                     f"(no NAV on or after the due date yet): {fix}")
    late = [(s, len(s.lots.late_due_dates())) for s in due]
    late = [(s, n) for s, n in late if n]
    if late:
        count = sum(n for _, n in late)
        lines.append(f"{_of_schemes(count, [s for s, _ in late])} "
                     f"{'was' if count == 1 else 'were'} allotted at a NAV more than "
                     f"{LATE_ALLOTMENT_DAYS} days after the due date (a long closure, or NAVs "
                     f"missing locally): {fix}")
    gaps = [s for s in due if s.nav_gaps]
    if gaps:
        count = sum(s.nav_gaps for s in gaps)
        lines.append(f"{_of_schemes(count, gaps)} {'has' if count == 1 else 'have'} no NAV near "
                     f"the due date (a gap in the NAV history) and "
                     f"{'is' if count == 1 else 'are'} left out of the totals: {fix}")
    # A ledger that does not add up (a sale of more than is held, ...) is rare and needs the
    # user's eye on that very transaction: its sentence is shown as it is.
    lines.extend(w for s in summary.schemes if s.ledger is not None for w in s.ledger.warnings)
    return lines
