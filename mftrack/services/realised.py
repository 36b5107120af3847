"""Realised gains per financial year for `summary --json` and GET /sips/summary (issue 12).

Kept apart from services.gains so a summary without sales never imports the tax rules
(~50 ms cold; `summary --json` is benchmarked against its floor, docs/benchmarks.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mftrack.adapters.sqlite.store import LocalStore
    from mftrack.domain.portfolio import PortfolioSummary


def realised_gains_by_fy(store: LocalStore, summary: PortfolioSummary) -> dict[str, Any]:
    """{FY: short_term_gain, long_term_gain, long_term_taxable} over the summary's sales;
    {} when no scheme has a sale (the rules of docs/gains.md, as `mftrack gains` applies)."""
    if not any(s.ledger is not None and s.ledger.realised for s in summary.schemes):
        return {}
    from mftrack.services.gains import realised_gains_by_fy as by_fy

    return by_fy(store, summary)
