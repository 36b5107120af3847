"""FIFO lots (domain-rules F4, F6/F9; ledger-notes "FIFO and units") and the transaction record."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mftrack.domain.lots import Lot, OversoldError, consume_fifo, held_units
from mftrack.domain.transactions import Transaction, TxnKind, TxnSource
from mftrack.domain.txn_record import changed_fields, txn_from_record, txn_to_record

D = Decimal
DAY0 = date(2018, 1, 1)


def _lot(day: int, units: str, cost: str, origin: str = "") -> Lot:
    return Lot(120716, DAY0 + timedelta(days=day), D(units), D(cost), origin=origin)


def test_a_sale_takes_the_oldest_lot_first_and_splits_the_next_by_units() -> None:
    lots = [_lot(0, "10.000", "1000.00", "a"), _lot(31, "5.000", "600.00", "b")]
    rest, matches = consume_fifo(
        lots, D("12.500"), sold_on=date(2024, 1, 1), proceeds=D("2000.00"), sale_id="s"
    )
    assert [(m.lot.origin, m.lot.units, m.lot.cost, m.proceeds) for m in matches] == [
        ("a", D("10.000"), D("1000.00"), D("1600.00")),
        ("b", D("2.500"), D("300.00"), D("400.00")),
    ]
    # The partly sold lot keeps its date and the rest of its cost.
    assert rest == [_lot(31, "2.500", "300.00", "b")]
    assert sum(m.gain for m in matches) == D("2000.00") - D("1300.00")


def test_overselling_is_refused_and_the_lots_are_untouched() -> None:
    lots = [_lot(0, "1.000", "10.00")]
    with pytest.raises(OversoldError, match=r"only 1\.000 are held"):
        consume_fifo(lots, D("1.001"), sold_on=DAY0, proceeds=D(1), sale_id="s")
    assert lots == [_lot(0, "1.000", "10.00")]


def test_a_sale_of_no_units_is_an_error() -> None:
    with pytest.raises(ValueError, match="positive"):
        consume_fifo([_lot(0, "1", "1")], D(0), sold_on=DAY0, proceeds=D(0), sale_id="s")


units = st.decimals(min_value=D("0.001"), max_value=D("5000"), places=3)
money = st.decimals(min_value=D("1.00"), max_value=D("500000"), places=2)


@given(
    lots=st.lists(st.tuples(units, money), min_size=1, max_size=12),
    fraction=st.fractions(min_value=0, max_value=1),
    proceeds=money,
)
def test_fifo_conserves_units_cost_and_proceeds_and_never_sells_a_later_lot_first(
    lots: list[tuple[Decimal, Decimal]], fraction: object, proceeds: Decimal
) -> None:
    book = [_lot(k, str(u), str(c), str(k)) for k, (u, c) in enumerate(lots)]
    held = held_units(book)
    sell = (held * D(fraction.numerator) / D(fraction.denominator)).quantize(D("0.001"))  # type: ignore[attr-defined]
    if sell <= 0:
        return
    sell = min(sell, held)
    rest, matches = consume_fifo(
        book, sell, sold_on=date(2030, 1, 1), proceeds=proceeds, sale_id="s"
    )
    assert sum(m.lot.units for m in matches) == sell
    assert held_units(rest) == held - sell
    assert all(lot.units > 0 for lot in rest)
    assert sum(m.proceeds for m in matches) == proceeds
    assert sum(m.lot.cost for m in matches) + sum(lot.cost for lot in rest) == sum(
        lot.cost for lot in book
    )
    # FIFO: every matched lot is older than (or the same as) every lot left open.
    if matches and rest:
        assert max(m.lot.acquired for m in matches) <= min(lot.acquired for lot in rest)
    assert [m.lot.acquired for m in matches] == sorted(m.lot.acquired for m in matches)


def test_a_transaction_survives_its_record_and_a_change_names_only_what_changed() -> None:
    txn = Transaction(
        id="0b7d8c1e-2f4a-4c55-9a61-6f7e2b9d1a10",
        scheme_code=120716,
        kind=TxnKind.REDEMPTION,
        trade_date=date(2025, 3, 3),
        amount=D("15234.50"),
        units=D("100.000"),
        nav=D("152.3450"),
        stt=D("0.15"),
        folio="1234567/89",
        source=TxnSource.CAS,
        import_key="k1",
    )
    record = txn_to_record(txn)
    assert record["amount"] == "15234.50" and record["kind"] == "redemption"
    assert txn_from_record(record) == txn
    edited = Transaction(**{**{f: getattr(txn, f) for f in txn.__slots__}, "units": D("99.5")})
    assert changed_fields(txn, edited) == {"units": "99.5"}


def test_decimals_in_records_never_carry_an_exponent() -> None:
    txn = Transaction("x", 1, TxnKind.PURCHASE, date(2024, 1, 1), amount=D("5E+3"))
    assert txn_to_record(txn)["amount"] == "5000"
