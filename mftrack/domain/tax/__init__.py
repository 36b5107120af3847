"""Capital-gains tax on mutual-fund units (issue 12): classes, holding periods, rates, gains.

Every rule is keyed on DATES (of purchase and of sale), never on statute section numbers: the
Income-tax Act 2025 replaces the 1961 Act from 1-Apr-2026 and renumbers the sections while
keeping the rates (domain-rules F8). Section numbers appear only in comments, as the source
of a rule as it stood when enacted. docs/gains.md explains each rule with a worked example.

mftrack is not tax advice.
"""

# Said wherever a tax figure is shown: `gains`, `harvest` and the report (issue 12).
NOT_ADVICE = "mftrack is not tax advice: check the figures (docs/gains.md gives each rule)."
