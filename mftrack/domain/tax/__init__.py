"""Capital-gains tax on mutual-fund units (issue 12): classes, holding periods, rates, gains.

Every rule is keyed on DATES (of purchase and of sale), never on statute section numbers: the
Income-tax Act 2025 replaces the 1961 Act from 1-Apr-2026 and renumbers the sections while
keeping the rates (domain-rules F8). Section numbers appear only in comments, as the source
of a rule as it stood when enacted. docs/gains.md explains each rule with a worked example.

mftrack is not tax advice.
"""
