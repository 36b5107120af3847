"""What the gains rules need to know about a scheme besides its lots."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from mftrack.domain.tax.classes import TaxClass, TaxClassChoice


@dataclass(frozen=True, slots=True)
class SchemeTax:
    scheme_code: int
    name: str
    isin: str | None
    tax: TaxClassChoice
    elss: bool = False
    # The NAV of 31-Jan-2018, the fair market value of an unlisted unit for grandfathering
    # (Explanation to s.55(2)(ac), Finance Act 2018: "the net asset value ... as on the 31st day
    # of January, 2018"). None when no source has it: then no grandfathering (never invented).
    fmv_nav_2018: Decimal | None = None
    fmv_source: str = ""  # where fmv_nav_2018 came from, shown with --detail

    @property
    def tax_class(self) -> TaxClass:
        return self.tax.tax_class
