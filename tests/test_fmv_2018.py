"""The bundled NAVs of 31-Jan-2018 (casparser-isin 2026.6.9, MIT) used for grandfathering."""

from __future__ import annotations

import hashlib
from decimal import Decimal
from importlib import resources

from mftrack.adapters.fmv_2018 import bundled_fmv_2018
from tests.amfi_data import data_file


def test_the_bundled_table_is_byte_for_byte_the_shared_copy() -> None:
    shared = data_file("casparser-isin/casparser-isin-2026.6.9_nav20180131.csv").read_bytes()
    bundled = (resources.files("mftrack") / "data" / "casparser_isin" / "nav20180131.csv")
    assert hashlib.sha256(bundled.read_bytes()).digest() == hashlib.sha256(shared).digest()


def test_lookups_by_isin_give_the_real_navs_and_nothing_invented() -> None:
    # Axis ELSS Direct Growth and HDFC Mid Cap Direct Growth: the same values as mfapi.in's
    # histories for 31-01-2018 (44.89380, 61.11100).
    assert bundled_fmv_2018(["inf846k01ew2", "INF179K01XQ0", "INF090I01JP4", ""]) == {
        "INF846K01EW2": Decimal("44.8938"),
        "INF179K01XQ0": Decimal("61.1110"),
    }  # the Franklin US FoF ISIN has no row: it is left out, not guessed
    assert bundled_fmv_2018([]) == {}
