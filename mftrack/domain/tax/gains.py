"""Realised gains: each part of a lot a sale consumed, with the rule it falls under.

- FIFO (F6, F9): the matches come from `SchemeLots.realised` (mftrack.domain.lots), so each
  sale has consumed the oldest lots first.
- Cost of acquisition is the lot's cost, stamp duty included (F1).
- Grandfathering (F6; s.55(2)(ac), Finance Act 2018): an equity-oriented unit acquired on or
  before 31-Jan-2018 and sold long term from 1-Apr-2018 costs
  max(actual cost, min(units x NAV of 31-Jan-2018, full value of consideration)). The cap
  means the 2018 NAV never creates a loss.
- Indexation (F7): a long-term non-equity sale before 23-Jul-2024 costs
  cost x CII(sale year) / CII(purchase year) (`cii`).
- STT (F6): 0.001 % of the sale value of equity-oriented units sold to the fund (Finance Act
  2013 amending s.98 of the Finance (No. 2) Act 2004, from 1-Jun-2013; taxguru). Shown, never
  deducted: no deduction is allowed for it in computing capital gains (s.48 proviso, s.50AA
  proviso). The STT the user recorded on the sale is shown; otherwise the estimate, marked.
- The sale amount as recorded is the full value of consideration (amounts are what the
  registrar paid, mftrack.domain.transactions).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from mftrack.domain.lots import LotMatch, SchemeLots
from mftrack.domain.money import ZERO, paisa
from mftrack.domain.tax.cii import indexed_cost
from mftrack.domain.tax.classes import TaxClass
from mftrack.domain.tax.dates import EQUITY_LTCG_TAXED_FROM, GRANDFATHER_DATE, fy_of
from mftrack.domain.tax.rules import SaleRule, Term, sale_rule
from mftrack.domain.tax.schemes import SchemeTax

STT_PERCENT = Decimal("0.001")
STT_REDUCED_FROM = date(2013, 6, 1)  # 0.25 % before (not estimated: record it)
_HUNDRED = Decimal(100)


@dataclass(frozen=True, slots=True)
class SaleTax:
    """What the ledger recorded on one sale transaction beyond its lots."""

    units: Decimal  # all the units the sale took
    stt: Decimal | None  # STT withheld, as recorded; None: not recorded


@dataclass(frozen=True, slots=True)
class GainRow:
    """One lot (or part of one) consumed by one sale, and how its gain is taxed."""

    scheme_code: int
    sale_id: str
    acquired: date
    sold: date
    units: Decimal
    cost: Decimal  # actual cost, stamp duty included (F1)
    proceeds: Decimal  # full value of consideration
    rule: SaleRule
    tax_class: TaxClass
    grandfathered_cost: Decimal | None = None  # equity bought <= 31-Jan-2018, sold LT
    fmv_nav_2018: Decimal | None = None
    indexed_cost: Decimal | None = None  # non-equity LT sold before 23-Jul-2024
    stt: Decimal = ZERO
    stt_estimated: bool = False
    estimated: bool = False  # the lot's units were estimated (SIP plan or amount only)
    notes: tuple[str, ...] = ()

    @property
    def term(self) -> Term:
        return self.rule.term

    @property
    def fy(self) -> str:
        return fy_of(self.sold)

    @property
    def holding_days(self) -> int:
        return (self.sold - self.acquired).days

    @property
    def gain(self) -> Decimal:
        """Proceeds less actual cost: what the investor made."""
        return self.proceeds - self.cost

    @property
    def tax_cost(self) -> Decimal:
        """The cost the rule deducts: grandfathered, indexed or actual."""
        if self.grandfathered_cost is not None:
            return self.grandfathered_cost
        if self.indexed_cost is not None:
            return self.indexed_cost
        return self.cost

    @property
    def taxable_gain(self) -> Decimal:
        """The gain as the rule computes it (zero for exempt pre-2018 equity LTCG)."""
        if self.rule.exempt:
            return ZERO
        return self.proceeds - self.tax_cost


def grandfathered_cost(
    cost: Decimal, units: Decimal, proceeds: Decimal, fmv_nav: Decimal
) -> Decimal:
    """max(actual cost, min(FMV of 31-Jan-2018, full value of consideration)) (F6)."""
    return max(cost, min(paisa(units * fmv_nav), proceeds))


def estimated_stt(proceeds: Decimal, sold: date) -> Decimal | None:
    """0.001 % of the sale value of equity-oriented units, from 1-Jun-2013; None before."""
    if sold < STT_REDUCED_FROM:
        return None
    return paisa(proceeds * STT_PERCENT / _HUNDRED)


def gain_row(
    match: LotMatch, scheme: SchemeTax, sale: SaleTax | None = None, scheme_code: int | None = None
) -> GainRow:
    """Apply the rules to one match. `scheme_code`: where it was sold (a merger keeps lots)."""
    lot = match.lot
    cls = scheme.tax_class
    rule = sale_rule(cls, lot.acquired, match.sold_on)
    notes: list[str] = []
    gf = idx = None
    if (
        cls is TaxClass.EQUITY
        and rule.term is Term.LONG
        and lot.acquired <= GRANDFATHER_DATE
        and match.sold_on >= EQUITY_LTCG_TAXED_FROM
    ):
        if scheme.fmv_nav_2018 is None:
            notes.append("no NAV of 31-Jan-2018 known for this scheme: actual cost used")
        else:
            gf = grandfathered_cost(lot.cost, lot.units, match.proceeds, scheme.fmv_nav_2018)
    if rule.indexed:
        idx = indexed_cost(lot.cost, lot.acquired, match.sold_on)
    stt, stt_estimated = _stt_share(match, cls, sale)
    if lot.estimated:
        notes.append("units estimated (not from a statement)")
    return GainRow(
        scheme_code=scheme.scheme_code if scheme_code is None else scheme_code,
        sale_id=match.sale_id,
        acquired=lot.acquired,
        sold=match.sold_on,
        units=lot.units,
        cost=lot.cost,
        proceeds=match.proceeds,
        rule=rule,
        tax_class=cls,
        grandfathered_cost=gf,
        fmv_nav_2018=scheme.fmv_nav_2018 if gf is not None else None,
        indexed_cost=idx,
        stt=stt,
        stt_estimated=stt_estimated,
        estimated=lot.estimated,
        notes=tuple(notes),
    )


def _stt_share(match: LotMatch, cls: TaxClass, sale: SaleTax | None) -> tuple[Decimal, bool]:
    if cls is not TaxClass.EQUITY:
        return ZERO, False  # STT is levied on equity-oriented units only
    if sale is not None and sale.stt is not None and sale.units > 0:
        return paisa(sale.stt * match.lot.units / sale.units), False
    estimate = estimated_stt(match.proceeds, match.sold_on)
    return (ZERO, False) if estimate is None else (estimate, True)


def realised_rows(
    lots: Mapping[int, SchemeLots],
    schemes: Mapping[int, SchemeTax],
    sales: Mapping[str, SaleTax] | None = None,
) -> list[GainRow]:
    """Every realised match of every scheme, by sale date then scheme."""
    sales = sales or {}
    rows = [
        gain_row(m, schemes[code], sales.get(m.sale_id), code)
        for code, scheme_lots in lots.items()
        for m in scheme_lots.realised
    ]
    rows.sort(key=lambda r: (r.sold, r.scheme_code, r.acquired))
    return rows


@dataclass(slots=True)
class GainTotals:
    """Sums over some rows: gains by term, the taxable amounts, STT."""

    proceeds: Decimal = ZERO
    cost: Decimal = ZERO
    short_gain: Decimal = ZERO
    long_gain: Decimal = ZERO
    long_taxable: Decimal = ZERO  # after grandfathering / indexation
    stt: Decimal = ZERO
    rows: int = 0

    def add(self, row: GainRow) -> None:
        self.proceeds += row.proceeds
        self.cost += row.cost
        self.stt += row.stt
        self.rows += 1
        if row.term is Term.SHORT:
            self.short_gain += row.gain
        else:
            self.long_gain += row.gain
            self.long_taxable += row.taxable_gain


def totals(rows: Iterable[GainRow]) -> GainTotals:
    out = GainTotals()
    for row in rows:
        out.add(row)
    return out


@dataclass(slots=True)
class FyGains:
    """One financial year's realised gains, per scheme and by class."""

    fy: str
    rows: list[GainRow] = field(default_factory=list)

    def by_scheme(self) -> dict[int, GainTotals]:
        out: dict[int, GainTotals] = {}
        for row in self.rows:
            out.setdefault(row.scheme_code, GainTotals()).add(row)
        return out

    def by_class(self) -> dict[TaxClass, GainTotals]:
        out: dict[TaxClass, GainTotals] = {}
        for row in self.rows:
            out.setdefault(row.tax_class, GainTotals()).add(row)
        return out

    @property
    def equity_ltcg(self) -> Decimal:
        """Net equity LTCG (taxable, losses netted) the yearly exemption applies to."""
        return sum(
            (r.taxable_gain for r in self.rows if r.tax_class is TaxClass.EQUITY
             and r.term is Term.LONG),
            ZERO,
        )  # fmt: skip


def by_fy(rows: Iterable[GainRow]) -> dict[str, FyGains]:
    out: dict[str, FyGains] = {}
    for row in rows:
        out.setdefault(row.fy, FyGains(row.fy)).rows.append(row)
    return dict(sorted(out.items()))
