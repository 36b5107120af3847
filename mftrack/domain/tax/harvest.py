"""Harvest planner: which equity units to redeem this financial year so the long-term gains
realised stay within the year's exemption.

- The exemption (₹1.25 lakh from FY 2024-25, ₹1 lakh before; `rules.equity_ltcg_exemption`)
  applies to the year's net equity LTCG (F6), so the room left is the exemption less what was
  already realised this year (a net loss realised adds room).
- FIFO (F6, F9): a redemption takes a scheme's oldest lots first, so the plan for a scheme is
  always a prefix of its open lots: it stops at the first lot that is short term or a locked
  ELSS allotment (F4), because no later lot can be sold before it.
- Only equity-oriented schemes: the exemption is for them alone. Schemes are taken in scheme
  code order; the last lot taken may be taken in part (units rounded down to 3 decimals, F5),
  and the planned LTCG never exceeds the room.
- Exit loads are not in AMFI's files (F9) and mftrack has no place where they are recorded,
  so the plan cannot account for them: it says so.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_DOWN, Decimal

from mftrack.domain.lots import Lot, consume_fifo
from mftrack.domain.money import ZERO, paisa, unit_quantum
from mftrack.domain.tax.classes import TaxClass
from mftrack.domain.tax.dates import fy_of, fy_start_year
from mftrack.domain.tax.gains import GainRow, gain_row
from mftrack.domain.tax.holdings import elss_free_from
from mftrack.domain.tax.rules import Term, equity_ltcg_exemption, sale_rule
from mftrack.domain.tax.schemes import SchemeTax

EXIT_LOAD_NOTE = (
    "exit loads are not in AMFI's files and mftrack does not record them: check each "
    "scheme's exit load before redeeming (F9)"
)


@dataclass(frozen=True, slots=True)
class HarvestPick:
    scheme_code: int
    nav: Decimal
    rows: tuple[GainRow, ...]  # the lots (or part of the last) to redeem, oldest first

    @property
    def units(self) -> Decimal:
        return sum((r.units for r in self.rows), ZERO)

    @property
    def proceeds(self) -> Decimal:
        return sum((r.proceeds for r in self.rows), ZERO)

    @property
    def ltcg(self) -> Decimal:
        return sum((r.taxable_gain for r in self.rows), ZERO)


@dataclass(slots=True)
class HarvestPlan:
    fy: str
    on: date
    exemption: Decimal
    realised_ltcg: Decimal  # net equity LTCG already realised this FY (taxable)
    picks: list[HarvestPick] = field(default_factory=list)
    stops: list[tuple[int, str]] = field(default_factory=list)  # (scheme, why it stops there)
    notes: list[str] = field(default_factory=lambda: [EXIT_LOAD_NOTE])

    @property
    def room(self) -> Decimal:
        return max(self.exemption - self.realised_ltcg, ZERO)

    @property
    def planned_ltcg(self) -> Decimal:
        return sum((p.ltcg for p in self.picks), ZERO)


def _sell(lots: Sequence[Lot], units: Decimal, on: date, nav: Decimal, scheme: SchemeTax):
    """The rows for selling `units` (FIFO) at `nav` on `on`."""
    _, matches = consume_fifo(list(lots), units, sold_on=on, proceeds=paisa(units * nav),
                              sale_id="harvest")  # fmt: skip
    return tuple(gain_row(m, scheme) for m in matches)


def _ltcg(rows: Sequence[GainRow]) -> Decimal:
    return sum((r.taxable_gain for r in rows), ZERO)


def _sellable_prefix(lots: Sequence[Lot], scheme: SchemeTax, on: date) -> tuple[int, str]:
    """How many of the oldest lots may be sold long term on `on`, and why the rest may not."""
    for k, lot in enumerate(lots):
        free = elss_free_from(lot.acquired)
        if scheme.elss and on < free:
            return k, f"ELSS units allotted {lot.acquired} are locked (free from {free})"
        if sale_rule(scheme.tax_class, lot.acquired, on).term is Term.SHORT:
            return k, f"units allotted {lot.acquired} are still short term"
    return len(lots), ""


def plan_harvest(
    open_lots: Mapping[int, Sequence[Lot]],
    schemes: Mapping[int, SchemeTax],
    navs: Mapping[int, Decimal],
    on: date,
    realised_ltcg: Decimal,
    *,
    unit_places: int = 3,
) -> HarvestPlan:
    """Plan redemptions on `on` (at `navs`) using up the exemption left this FY."""
    exemption = equity_ltcg_exemption(fy_start_year(on)) or ZERO
    plan = HarvestPlan(fy_of(on), on, exemption, realised_ltcg)
    quantum = unit_quantum(unit_places)
    used = ZERO
    for code in sorted(open_lots):
        scheme = schemes[code]
        lots = [lot for lot in open_lots[code] if lot.units > 0]
        if scheme.tax_class is not TaxClass.EQUITY or not lots:
            continue
        nav = navs.get(code)
        if nav is None:
            plan.stops.append((code, "no NAV to value it at"))
            continue
        count, why = _sellable_prefix(lots, scheme, on)
        if why:
            plan.stops.append((code, why))
        rows: tuple[GainRow, ...] = ()
        taken = ZERO
        for lot in lots[:count]:
            whole = _sell(lots, taken + lot.units, on, nav, scheme)
            if used + _ltcg(whole) <= plan.room:
                rows, taken = whole, taken + lot.units
                continue
            rows, taken = _partial(lots, taken, lot, on, nav, scheme, plan.room - used, quantum)
            used_up = True
            break
        else:
            used_up = False
        if rows:
            plan.picks.append(HarvestPick(code, nav, rows))
            used += _ltcg(rows)
        if used_up or used >= plan.room:
            # The partial lot took the room to the last unit (to `quantum`): the paise left
            # buy nothing elsewhere, so the plan says it once, here, and stops.
            plan.stops.append((code, "the exemption is used up"))
            break
    return plan


def _partial(lots, taken, lot, on, nav, scheme, room_left, quantum):
    """The most units of `lot` (after `taken`) whose gain keeps the total within room."""
    base = _sell(lots, taken, on, nav, scheme) if taken > 0 else ()
    base_gain = _ltcg(base)
    per_unit = _ltcg(_sell(lots, taken + lot.units, on, nav, scheme)) - base_gain
    extra = ZERO
    if per_unit > 0:
        extra = ((room_left - base_gain) * lot.units / per_unit).quantize(quantum, ROUND_DOWN)
        extra = min(max(extra, ZERO), lot.units)
    while extra > 0:  # rounding of cost shares to the paisa can add a little: step back
        rows = _sell(lots, taken + extra, on, nav, scheme)
        if _ltcg(rows) <= room_left:
            return rows, taken + extra
        extra -= quantum
    return base, taken
