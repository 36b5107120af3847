"""The settings that change a valuation, as one frozen value passed to the valuation core.

`mftrack.services.portfolio.valuation_options` builds it from the user's settings (the one
place that reads them); summary, charts, the report and the daemon all pass it on unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

from mftrack.domain.money import DEFAULT_UNIT_PLACES, DEFAULT_UNIT_ROUNDING

# The longest run of MF non-business days in the bundled AMFI histories is 6 days
# (1-7 Oct 2014: Dussehra, Bakri Id and a weekend); 10 leaves room for rarer closures.
DEFAULT_MAX_ROLL_DAYS = 10
# A NAV older than a week on the valuation date is more than a long weekend: flag it (F11).
DEFAULT_STALE_AFTER_DAYS = 7


@dataclass(frozen=True, slots=True)
class ValuationOptions:
    """How units are estimated and when a NAV is too old or too far from a due date.

    `unit_rounding` is a `decimal` rounding mode (ROUND_DOWN, ROUND_HALF_UP, ...), F5.
    """

    unit_places: int = DEFAULT_UNIT_PLACES
    unit_rounding: str = DEFAULT_UNIT_ROUNDING
    stale_after_days: int = DEFAULT_STALE_AFTER_DAYS
    max_roll_days: int = DEFAULT_MAX_ROLL_DAYS


DEFAULT_OPTIONS = ValuationOptions()
