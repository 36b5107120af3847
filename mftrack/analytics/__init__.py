"""Numeric routines over the domain's Decimals: XIRR and other return measures.

Floats are allowed only inside these functions (pyxirr is float-based); inputs are Decimal and
results come back as Decimal or as a float rate. Heavy imports happen inside the functions.
"""
