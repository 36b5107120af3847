"""The demo portfolio: bundled real NAV histories and a few sample SIPs in a home of its own."""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from mftrack.domain.sips import StepUp, StepUpKind
from mftrack.services.navs import store_parsed
from mftrack.services.sips import add_sip

if TYPE_CHECKING:
    from mftrack.adapters.sqlite.store import LocalStore


@dataclass(frozen=True, slots=True)
class DemoSip:
    scheme_code: int
    amount: Decimal
    start: date
    label: str
    step_up: StepUp | None = None


# A household's SIPs: an old ELSS, a flexi-cap, an index fund with a yearly 10% step-up, a
# mid-cap started in 2021, and a small-cap younger than a year on the data's last date (so
# the summary shows an absolute return instead of an XIRR for it).
DEMO_SIPS: tuple[DemoSip, ...] = (
    DemoSip(120503, Decimal("5000"), date(2016, 1, 5), "tax saver"),
    DemoSip(122639, Decimal("10000"), date(2018, 6, 10), "core"),
    DemoSip(120716, Decimal("5000"), date(2019, 4, 1), "index",
            StepUp(StepUpKind.PERCENT, Decimal("10"))),
    DemoSip(118989, Decimal("3000"), date(2021, 1, 15), "mid cap"),
    DemoSip(125497, Decimal("2500"), date(2025, 3, 7), "small cap"),
)


def demo_files() -> list[tuple[str, bytes]]:
    folder = resources.files("mftrack") / "data" / "demo"
    return sorted(
        (entry.name, entry.read_bytes())
        for entry in folder.iterdir()
        if entry.name.endswith(".json.gz")
    )


def load_demo(store: LocalStore) -> date:
    """Fill an empty store with the demo data; returns the last date every scheme has a NAV."""
    from mftrack.adapters.amfi.mfapi import parse_mfapi

    last_dates = []
    for name, blob in demo_files():
        parsed = parse_mfapi(gzip.decompress(blob).decode("utf-8"))
        store_parsed(store, parsed, origin=f"demo:{name}")
        last_dates.append(max(q.nav_date for q in parsed.quotes))
    for sip in DEMO_SIPS:
        add_sip(store=store, scheme_code=sip.scheme_code, amount=sip.amount, start=sip.start,
                step_up=sip.step_up, label=sip.label)
    return min(last_dates)


def demo_home(data_dir: Path) -> Path:
    return data_dir / "demo"
