"""Open lots seen through the tax rules: when each becomes long term or unlocks, and the gain
if it were sold on a date at a NAV.

- ELSS (F4): every allotment is locked in for 3 years from its own allotment date. mftrack
  treats a lot as free from the day after the third anniversary (conservative: some
  registrars allow the anniversary itself). Locked units are never offered for sale.
- The gain if sold follows the same rules as a realised sale (`gains`), with the proceeds
  estimated as units x NAV (before any exit load, which mftrack does not know: F9).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from mftrack.domain.calendar import anniversary
from mftrack.domain.lots import Lot, LotMatch
from mftrack.domain.money import paisa
from mftrack.domain.tax.gains import GainRow, gain_row
from mftrack.domain.tax.rules import long_term_from
from mftrack.domain.tax.schemes import SchemeTax

ELSS_LOCK_YEARS = 3


def elss_free_from(acquired: date) -> date:
    """The first day an ELSS lot may be redeemed: the day after its third anniversary (F4)."""
    return anniversary(acquired, ELSS_LOCK_YEARS) + timedelta(days=1)


@dataclass(frozen=True, slots=True)
class OpenLotView:
    lot: Lot
    long_term_from: date | None  # None: never long term (specified fund bought from Apr 2023)
    free_from: date | None  # ELSS: first day it may be redeemed; None: not ELSS
    if_sold: GainRow | None  # the lot sold whole on the date at the NAV; None: no NAV

    def locked(self, on: date) -> bool:
        return self.free_from is not None and on < self.free_from


def hypothetical_sale(lot: Lot, scheme: SchemeTax, on: date, nav: Decimal) -> GainRow:
    """The lot sold whole on `on` at `nav`, under the rules of that date."""
    match = LotMatch(lot, on, paisa(lot.units * nav), "if-sold")
    return gain_row(match, scheme)


def open_lot_view(lot: Lot, scheme: SchemeTax, on: date, nav: Decimal | None) -> OpenLotView:
    return OpenLotView(
        lot=lot,
        long_term_from=long_term_from(scheme.tax_class, lot.acquired, on),
        free_from=elss_free_from(lot.acquired) if scheme.elss else None,
        if_sold=None if nav is None else hypothetical_sale(lot, scheme, on, nav),
    )
