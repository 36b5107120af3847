"""Schedule 112A of the income-tax return: long-term gains on equity-oriented units, row by row.

Columns, as in the CSV template the income-tax e-filing utility offers for upload (headers
quoted verbatim by a user of the utility on zerodha.com/z-connect, 27-Jul-2022, and by an
upload guide of 25-Jun-2023 on finansdirekt24.se; the list casparser writes, analysis/gains.py):
(1a) acquired before/after 31-Jan-2018 ("BE"/"AE"), (2) ISIN, (3) name, (4) units,
(5) sale price per unit, (6) full value of consideration = 4 x 5, (7) cost of acquisition
without indexation = higher of 8 and 9, (8) cost of acquisition, (9) if acquired before
01.02.2018: lower of 6 and 11, (10) FMV per unit on 31-Jan-2018, (11) total FMV = 4 x 10,
(12) expenditure on transfer, (13) total deductions = 7 + 12, (14) balance = 6 - 13.
From FY 2024-25 (AY 2025-26) the utility adds (1b) transferred before/after 23-Jul-2024
("BE"/"AE"), and a scheme sold on both sides of that date is two rows (casparser CHANGELOG
1.0.0; Finance (No. 2) Act 2024 taxes the two sides at different rates). The department's own
template file could not be read here; the column list is from those two reproductions.

- Units acquired on or before 31-Jan-2018 (grandfathered): one row per lot and sale.
- Units acquired after it: one row per ISIN (and per side of 23-Jul-2024), as the utility
  allows for rows with no FMV.
- (12) is 0: STT is not deductible (F6) and stamp duty is already in the cost (F1).
- (6) is the amount received, which can differ from (4) x (5) by rounding of (5).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from mftrack.domain.money import ZERO, paisa
from mftrack.domain.tax.classes import TaxClass
from mftrack.domain.tax.dates import GRANDFATHER_DATE, REGIME_2024
from mftrack.domain.tax.gains import GainRow
from mftrack.domain.tax.rules import Term
from mftrack.domain.tax.schemes import SchemeTax

PRICE_QUANTUM = Decimal("0.0001")
TRANSFER_COLUMN_FROM_FY = 2024  # FY 2024-25 (AY 2025-26) onwards

HEADERS = (
    "Share/Unit acquired(1a)",
    "Share/Unit Transferred(1b)",
    "ISIN Code(2)",
    "Name of the Share/Unit(3)",
    "No. of Shares/Units(4)",
    "Sale-price per Share/Unit(5)",
    "Full Value of Consideration(Total Sale Value)(6) = 4 * 5",
    "Cost of acquisition without indexation(7)",
    "Cost of acquisition(8)",
    "If the long term capital asset was acquired before 01.02.2018(9)",
    "Fair Market Value per share/unit as on 31st January 2018(10)",
    "Total Fair Market Value of capital asset as per section 55(2)(ac)(11) = 4 * 10",
    "Expenditure wholly and exclusively in connection with transfer(12)",
    "Total deductions(13) = 7 + 12",
    "Balance(14) = 6 - 13",
)


@dataclass(frozen=True, slots=True)
class Row112A:
    acquired: str  # BE / AE (31-Jan-2018)
    transferred: str  # BE / AE (23-Jul-2024)
    isin: str
    name: str
    units: Decimal
    full_value: Decimal  # (6)
    cost: Decimal  # (8)
    fmv_nav: Decimal | None  # (10), grandfathered rows only

    @property
    def sale_price(self) -> Decimal:  # (5)
        return (self.full_value / self.units).quantize(PRICE_QUANTUM, ROUND_HALF_UP)

    @property
    def total_fmv(self) -> Decimal:  # (11)
        return ZERO if self.fmv_nav is None else paisa(self.units * self.fmv_nav)

    @property
    def lower_of_value_and_fmv(self) -> Decimal:  # (9)
        return ZERO if self.fmv_nav is None else min(self.full_value, self.total_fmv)

    @property
    def cost_without_indexation(self) -> Decimal:  # (7)
        return max(self.cost, self.lower_of_value_and_fmv)

    @property
    def balance(self) -> Decimal:  # (14), expenditure (12) being 0
        return self.full_value - self.cost_without_indexation

    def cells(self, with_transfer: bool) -> list[str]:
        cells = [
            self.acquired, self.transferred, self.isin, self.name, str(self.units),
            str(self.sale_price), str(self.full_value), str(self.cost_without_indexation),
            str(self.cost), str(self.lower_of_value_and_fmv),
            "0" if self.fmv_nav is None else str(self.fmv_nav), str(self.total_fmv), "0.00",
            str(self.cost_without_indexation), str(self.balance),
        ]  # fmt: skip
        return cells if with_transfer else [cells[0], *cells[2:]]


def headers(fy_start: int) -> list[str]:
    if fy_start >= TRANSFER_COLUMN_FROM_FY:
        return list(HEADERS)
    return [HEADERS[0], *HEADERS[2:]]


def rows_112a(rows: Iterable[GainRow], schemes: Mapping[int, SchemeTax]) -> list[Row112A]:
    """Schedule 112A rows for the equity long-term gain rows given (one FY's)."""
    out: list[Row112A] = []
    merged: dict[tuple[int, str], Row112A] = {}
    for row in rows:
        if row.tax_class is not TaxClass.EQUITY or row.term is not Term.LONG:
            continue
        scheme = schemes[row.scheme_code]
        side = "BE" if row.sold < REGIME_2024 else "AE"
        if row.acquired <= GRANDFATHER_DATE:
            out.append(Row112A("BE", side, scheme.isin or "", scheme.name, row.units,
                               row.proceeds, row.cost, row.fmv_nav_2018))  # fmt: skip
            continue
        key = (row.scheme_code, side)
        prev = merged.get(key)
        merged[key] = Row112A(
            "AE", side, scheme.isin or "", scheme.name,
            row.units + (prev.units if prev else ZERO),
            row.proceeds + (prev.full_value if prev else ZERO),
            row.cost + (prev.cost if prev else ZERO),
            None,
        )  # fmt: skip
    out.extend(merged.values())
    out.sort(key=lambda r: (r.name, r.isin, r.transferred, r.acquired))
    return out
