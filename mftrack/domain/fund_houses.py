"""AMFI's numeric fund-house ids, the `mf=` parameter of its NAV history report.

Without `mf` the report covers every fund house (tens of MB for a quarter), so mftrack asks
for one fund house at a time. Ids as used by AMFI's own site and public scripts (Axis 53,
SBI 22, Mirae 45 are cited in ../shared/docs/amfi-formats.md §2.1); names as NAVAll.txt spells
the fund-house lines. Renamed houses keep their id (IDFC -> Bandhan, L&T -> HSBC is a merger).
"""

from __future__ import annotations

AMFI_FUND_HOUSE_IDS: dict[str, int] = {
    "360 ONE Mutual Fund": 62,
    "Abakkus Mutual Fund": 85,
    "Aditya Birla Sun Life Mutual Fund": 3,
    "Angel One Mutual Fund": 80,
    "Axis Mutual Fund": 53,
    "Bajaj Finserv Mutual Fund": 75,
    "Bandhan Mutual Fund": 48,
    "Bank of India Mutual Fund": 46,
    "Baroda BNP Paribas Mutual Fund": 4,
    "Canara Robeco Mutual Fund": 32,
    "Capitalmind Mutual Fund": 81,
    "Choice Mutual Fund": 84,
    "DSP Mutual Fund": 6,
    "Edelweiss Mutual Fund": 47,
    "Franklin Templeton Mutual Fund": 27,
    "Groww Mutual Fund": 63,
    "HDFC Mutual Fund": 9,
    "Helios Mutual Fund": 76,
    "HSBC Mutual Fund": 37,
    "ICICI Prudential Mutual Fund": 20,
    "IL&FS Mutual Fund (IDF)": 65,
    "Invesco Mutual Fund": 42,
    "ITI Mutual Fund": 70,
    "Jio BlackRock Mutual Fund": 82,
    "JM Financial Mutual Fund": 16,
    "Kotak Mahindra Mutual Fund": 17,
    "LIC Mutual Fund": 18,
    "Mahindra Manulife Mutual Fund": 69,
    "Mirae Asset Mutual Fund": 45,
    "Motilal Oswal Mutual Fund": 55,
    "Navi Mutual Fund": 54,
    "Nippon India Mutual Fund": 21,
    "NJ Mutual Fund": 73,
    "Old Bridge Mutual Fund": 78,
    "PGIM India Mutual Fund": 58,
    "PPFAS Mutual Fund": 64,
    "quant Mutual Fund": 13,
    "Quantum Mutual Fund": 41,
    "Samco Mutual Fund": 74,
    "SBI Mutual Fund": 22,
    "Shriram Mutual Fund": 67,
    "Sundaram Mutual Fund": 33,
    "Tata Mutual Fund": 25,
    "Taurus Mutual Fund": 26,
    "Trust Mutual Fund": 72,
    "Unifi Mutual Fund": 79,
    "Union Mutual Fund": 61,
    "UTI Mutual Fund": 28,
    "The Wealth Company Mutual Fund": 83,
    "WhiteOak Capital Mutual Fund": 71,
    "Zerodha Mutual Fund": 77,
}

_BY_KEY = {" ".join(name.lower().split()): mf for name, mf in AMFI_FUND_HOUSE_IDS.items()}


def fund_house_id(name: str | None) -> int | None:
    """AMFI's id for a fund-house name (case and spacing ignored), or None if unknown."""
    if not name:
        return None
    return _BY_KEY.get(" ".join(name.lower().split()))
