"""The pure core: domain types and rules (stdlib only, no I/O, no clock).

Money, NAVs and units are `Decimal` everywhere here; `today`/`as_of` are always passed in.
"""
