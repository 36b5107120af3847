"""A scheme's tax class: which capital-gains rules its units follow.

The statute sorts mutual-fund units by what the fund holds, not by its name (F6, F7):

- EQUITY: an equity-oriented fund, at least 65 % in equity shares of domestic listed
  companies (the Explanation to the 1961 Act's s.112A, as amended by the Finance Act 2018).
- DEBT: more than 65 % in debt and money-market instruments (or a FoF with 65 % or more in
  such funds). A "specified mutual fund" under both the 2023 and the 2025 definitions.
- OTHER: at most 35 % in domestic equity, yet not more than 65 % in debt: gold and silver
  funds, international FoFs. Specified under the 2023 definition (Finance Act 2023: "not more
  than thirty five per cent ... in the equity shares of domestic companies"), no longer from
  FY 2025-26 (the definition the Finance (No. 2) Act 2024 substituted).
- HYBRID: more than 35 % and less than 65 % in domestic equity (balanced hybrids, many
  multi-asset funds): specified under neither definition.

AMFI's category (the section heading of NAVAll.txt, `SchemeInfo.category`) settles the class
for most schemes; for index funds, ETFs, domestic FoFs, solution-oriented and dynamic asset
allocation schemes it does not, so the class is a guess the user is told about and can set
with `mftrack scheme set-tax-class` (the override always wins).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum


class TaxClass(StrEnum):
    EQUITY = "equity"
    DEBT = "debt"
    OTHER = "other"
    HYBRID = "hybrid"


@dataclass(frozen=True, slots=True)
class TaxClassChoice:
    tax_class: TaxClass
    source: str  # "override", "category" (settled by it) or "guess" (category does not settle it)
    reason: str  # what decided it, for the user

    @property
    def settled(self) -> bool:
        return self.source != "guess"


# Categories whose text settles the class. AMFI's headings since 2018 ("Equity Scheme -",
# "Debt Scheme -", "Hybrid Scheme - ...") and the 2026 wording ("Equity Schemes - ...",
# "Income/Debt Oriented Schemes - ..."), plus the pre-2018 ones ("Growth", "ELSS", "Income",
# "Gilt", "Liquid", "Money Market", "Floating Rate", "GOLD ETFs"). Searched in order.
_SETTLED: tuple[tuple[re.Pattern[str], TaxClass], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), cls)
    for pattern, cls in (
        (r"conservative hybrid", TaxClass.DEBT),  # 75-90 % debt (SEBI categorisation 2017)
        (r"aggressive hybrid|arbitrage|equity savings", TaxClass.EQUITY),  # >= 65 % equity
        (r"balanced hybrid", TaxClass.HYBRID),  # 40-60 % equity
        (r"^equity scheme|^elss$|^growth$|equity etf|index funds - equity", TaxClass.EQUITY),
        (r"^debt scheme|^income/debt|^income$|^gilt$|^liquid$|^money market$", TaxClass.DEBT),
        (r"^floating rate$|debt etf|index funds - debt|fixed term plan", TaxClass.DEBT),
        (r"gold|silver|overseas", TaxClass.OTHER),  # no domestic equity, not debt
    )
)


def _guess(category: str, name: str) -> tuple[TaxClass, str]:
    """A class for a category that does not settle it, from the scheme's name."""
    text = f"{category} {name}".lower()
    if re.search(r"gold|silver|overseas|internation|global|nasdaq|s&p 500|\bus\b|hang seng", text):
        return TaxClass.OTHER, "its name suggests gold, silver or foreign holdings"
    if re.search(r"gilt|g-sec|gsec|sdl|bond|debt|liquid|money market|treasury|crisil|t-bill", text):
        return TaxClass.DEBT, "its name suggests a debt index or debt holdings"
    if re.search(r"hybrid|multi asset|balanced advantage|dynamic asset|asset allocat", text):
        return TaxClass.HYBRID, "a hybrid whose equity share varies"
    if re.search(r"nifty|sensex|\bbse\b|equity|midcap|smallcap|largecap|retirement|children", text):
        return TaxClass.EQUITY, "its name suggests a domestic equity index or equity holdings"
    return TaxClass.OTHER, "nothing in its category or name settles it"


def tax_class_of(
    category: str | None, name: str = "", override: TaxClass | None = None
) -> TaxClassChoice:
    """The class a scheme's units are taxed as: the user's override, else from its category."""
    if override is not None:
        return TaxClassChoice(override, "override", "set with `mftrack scheme set-tax-class`")
    text = (category or "").strip()
    for pattern, cls in _SETTLED:
        if pattern.search(text):
            return TaxClassChoice(cls, "category", f"AMFI category {text!r}")
    cls, why = _guess(text, name)
    shown = f"AMFI category {text!r}" if text else "no AMFI category"
    return TaxClassChoice(cls, "guess", f"{shown} does not settle it; {why}")


def is_elss(category: str | None, name: str = "") -> bool:
    """An ELSS (tax-saver) scheme: every allotment is locked in for 3 years (F4)."""
    text = f"{category or ''} {name}".lower()
    return "elss" in text or "tax saver" in text or "taxsaver" in text
