"""What services.gains gathers for the tax rules, from a real store and real AMFI data:
31-Jan-2018 NAVs (local store first, then the bundled casparser-isin table, never invented),
tax-class overrides, and the STT recorded on sales."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

from mftrack.adapters.sqlite.store import LocalStore
from mftrack.adapters.sqlite.tax_classes import set_tax_class_override
from mftrack.domain.tax.classes import TaxClass
from mftrack.domain.transactions import Transaction, TxnKind
from mftrack.services.gains import LOCAL_NAV_SOURCE, sale_taxes, scheme_taxes
from mftrack.services.navs import import_files
from tests.helpers import NAVALL, mfapi_file

NOW = datetime(2025, 12, 10, 9, 0, tzinfo=UTC)


def store_with(tmp_path: Path, *paths: Path) -> LocalStore:
    store = LocalStore(tmp_path / "db" / "mftrack.db", backup_dir=tmp_path / "backups")
    _reports, failures = import_files(store=store, paths=list(paths))
    assert not failures
    return store


def test_the_2018_nav_comes_from_the_local_history_then_the_bundled_table(tmp_path) -> None:
    # 120503's history covers 31-Jan-2018; 118989 (HDFC Mid Cap) and 118550 (Franklin US FoF)
    # come only from a 2025 NAVAll.txt, with one recent NAV each.
    store = store_with(tmp_path, mfapi_file(120503), NAVALL / "NAVAll_2025-12-10.txt")
    taxes = scheme_taxes(store, [120503, 118989, 118550, 999999])
    elss, midcap, fof, unknown = (taxes[c] for c in (120503, 118989, 118550, 999999))
    assert (elss.fmv_nav_2018, elss.fmv_source) == (Decimal("44.89380"), LOCAL_NAV_SOURCE)
    assert (midcap.fmv_nav_2018, midcap.fmv_source) == (Decimal("61.1110"),
                                                         "casparser-isin 2026.6.9")  # fmt: skip
    assert fof.fmv_nav_2018 is None  # in neither source: no grandfathering, nothing invented
    assert elss.elss and elss.tax_class is TaxClass.EQUITY and elss.tax.settled
    assert fof.tax_class is TaxClass.OTHER  # "Other Scheme - FoF Overseas"
    assert unknown.name == "scheme 999999" and not unknown.tax.settled


def test_an_override_wins_over_the_category(tmp_path) -> None:
    store = store_with(tmp_path, NAVALL / "NAVAll_2025-12-10.txt")
    assert scheme_taxes(store, [120716])[120716].tax.source == "guess"  # an index fund
    set_tax_class_override(store, 120716, "equity")
    choice = scheme_taxes(store, [120716])[120716].tax
    assert (choice.tax_class, choice.source) == (TaxClass.EQUITY, "override")


def test_sale_taxes_carry_each_sales_units_and_recorded_stt(tmp_path) -> None:
    store = store_with(tmp_path, mfapi_file(120503))

    def txn(kind: TxnKind, day: date, **extra) -> Transaction:
        return Transaction(id=str(uuid.uuid4()), scheme_code=120503, kind=kind, trade_date=day,
                           created_at=NOW, updated_at=NOW, **extra)  # fmt: skip

    buy = txn(TxnKind.PURCHASE, date(2022, 5, 2), amount=Decimal("20000.00"))
    sale = txn(TxnKind.REDEMPTION, date(2024, 7, 23), amount=Decimal("9000.00"),
               units=Decimal("100.000"), stt=Decimal("0.09"))  # fmt: skip
    store.insert_transactions([buy, sale])
    assert sale_taxes(store) == {sale.id: sale_taxes(store)[sale.id]}
    recorded = sale_taxes(store)[sale.id]
    assert (recorded.units, recorded.stt) == (Decimal("100.000"), Decimal("0.09"))
