"""Recording, editing, removing and restoring transactions (services.transactions) on real NAVs.

Scheme 120503 is Axis ELSS Tax Saver Direct Growth and 122639 Parag Parikh Flexi Cap Direct
Growth, with their real mfapi.in histories; the NAVs quoted below are read from those files
(120503 on 2024-06-03: 97.57200; 2024-06-04: 93.85290; 2024-07-01: 103.19440).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from mftrack.adapters.sqlite.store import LocalStore
from mftrack.domain.options import DEFAULT_OPTIONS
from mftrack.domain.transactions import TxnKind
from mftrack.errors import InvalidInputError, NotFoundError
from mftrack.services import transactions as ts
from mftrack.services.holdings import held_units
from mftrack.services.portfolio import portfolio_summary
from mftrack.services.sips import add_sip
from tests.ledger_support import AXIS, PPFAS, outbox_rows, store_with_navs

TODAY = date(2025, 12, 11)


@pytest.fixture
def store(tmp_path: Path) -> LocalStore:
    return store_with_navs(tmp_path)


outbox = outbox_rows


def buy(store: LocalStore, day: date, units: str | None = "206.852", nav: str | None = "96.6825",
        amount: str = "20000", code: int = AXIS):  # fmt: skip
    return ts.record_purchase(
        store=store, scheme_code=code, amount=Decimal(amount), on=day, today=TODAY,
        units=Decimal(units) if units else None, nav=Decimal(nav) if nav else None,
    )  # fmt: skip


def redeem(store: LocalStore, day: date, **size):
    return ts.record_redemption(store=store, scheme_code=AXIS, size=ts.SaleSize(**size), on=day,
                                today=TODAY, options=DEFAULT_OPTIONS)  # fmt: skip


def held(store: LocalStore, day: date, code: int = AXIS) -> Decimal:
    return held_units(store, code, day, DEFAULT_OPTIONS)


def test_a_purchase_keeps_the_statements_figures_or_leaves_units_to_the_valuation(
    store: LocalStore,
) -> None:
    given = buy(store, date(2024, 5, 2), units="206.8520", nav="96.68250")
    estimated = buy(store, date(2024, 3, 12), units=None, nav=None, amount="50000")
    stored = {t.id: t for t in store.list_transactions()}
    assert str(stored[given.id].units) == "206.8520" and str(stored[given.id].nav) == "96.68250"
    assert stored[estimated.id].units is None and stored[estimated.id].amount == Decimal(50000)
    assert [r[0] for r in outbox(store)] == ["transactions", "transactions"]


@pytest.mark.parametrize(
    ("extra", "error", "needle"),
    [
        ({"units": Decimal(1)}, InvalidInputError, "go together"),
        ({"on": date(2026, 1, 1)}, InvalidInputError, "in the future"),
        ({"scheme_code": 999999}, NotFoundError, "no scheme 999999"),
    ],
)
def test_a_refused_purchase_writes_nothing(store: LocalStore, extra, error, needle) -> None:
    args = {"store": store, "scheme_code": AXIS, "amount": Decimal(5000), "on": date(2024, 1, 2),
            "today": TODAY} | extra  # fmt: skip
    with pytest.raises(error, match=needle):
        ts.record_purchase(**args)
    assert store.list_transactions() == [] and outbox(store) == []


def test_redeeming_more_than_held_or_before_the_first_purchase_is_refused(
    store: LocalStore,
) -> None:
    buy(store, date(2024, 5, 2))
    queued = len(outbox(store))
    with pytest.raises(InvalidInputError, match=r"only 206\.852 are held"):
        redeem(store, date(2024, 6, 3), units=Decimal("206.853"))
    with pytest.raises(InvalidInputError, match=r"no units of 120503 .* are held on 2024-05-01"):
        redeem(store, date(2024, 5, 1), units=Decimal(1))
    assert len(store.list_transactions()) == 1 and len(outbox(store)) == queued
    sale = redeem(store, date(2024, 6, 3), units=Decimal("206.852"))
    assert sale.amount is None and sale.nav == Decimal("97.57200")  # that day's real NAV
    assert held(store, date(2024, 6, 3)) == 0


def test_redeem_by_amount_uses_that_days_nav_and_all_takes_everything(store: LocalStore) -> None:
    buy(store, date(2024, 5, 2))
    by_amount = redeem(store, date(2024, 6, 4), amount=Decimal("5000.00"))
    # F5: 5000 / 93.85290 = 53.2749... units, to 3 decimals rounded down.
    assert by_amount.units == Decimal("53.274") and by_amount.amount == Decimal("5000.00")
    with pytest.raises(NotFoundError, match="no NAV of scheme 120503 for 2024-06-02") as info:
        redeem(store, date(2024, 6, 2), amount=Decimal(100))  # a Sunday
    assert "mftrack nav update" in (info.value.hint or "")
    everything = redeem(store, date(2024, 6, 5), everything=True)
    assert everything.units == Decimal("206.852") - Decimal("53.274")
    with pytest.raises(InvalidInputError, match="no units"):
        redeem(store, date(2024, 6, 6), everything=True)
    with pytest.raises(InvalidInputError, match="exactly one of"):
        ts.SaleSize(units=Decimal(1), everything=True)


def test_a_sale_dated_before_a_later_one_may_not_leave_it_short(store: LocalStore) -> None:
    buy(store, date(2024, 5, 2))
    redeem(store, date(2024, 6, 10), units=Decimal(150))
    with pytest.raises(
        InvalidInputError, match=r"leaves the sale .* on 2024-06-10 short by 43\.148"
    ):
        redeem(store, date(2024, 6, 3), units=Decimal(100))
    assert len(store.list_transactions()) == 2
    redeem(store, date(2024, 6, 3), units=Decimal("56.852"))


def test_sip_instalments_count_as_held_units(store: LocalStore) -> None:
    add_sip(store=store, scheme_code=AXIS, amount=Decimal(5000), start=date(2024, 1, 5))
    summary, _ = portfolio_summary(store=store, as_of=date(2024, 6, 3), scheme_codes={AXIS})
    sip_units = summary.schemes[0].units
    assert sip_units > 0
    sale = redeem(store, date(2024, 6, 3), everything=True)
    assert sale.units == sip_units


def test_a_switch_is_two_linked_legs_written_together(store: LocalStore) -> None:
    buy(store, date(2024, 5, 2))
    out, into = ts.record_switch(
        store=store, from_code=AXIS, to_code=PPFAS, size=ts.SaleSize(units=Decimal(100)),
        on=date(2024, 7, 1), today=TODAY, options=DEFAULT_OPTIONS,
    )  # fmt: skip
    assert (out.kind, into.kind) == (TxnKind.SWITCH_OUT, TxnKind.SWITCH_IN)
    assert out.link_id == into.link_id is not None
    # The proceeds, 100 units at that day's NAV of 120503 (103.19440), buy into 122639.
    assert out.amount == into.amount == Decimal("10319.44")
    assert into.units is None and into.scheme_code == PPFAS
    assert [r[1] for r in outbox(store)][-2:] == [out.id, into.id]
    with pytest.raises(InvalidInputError, match="two different schemes"):
        ts.record_switch(store=store, from_code=AXIS, to_code=AXIS,
                         size=ts.SaleSize(units=Decimal(1)), on=date(2024, 7, 1), today=TODAY,
                         options=DEFAULT_OPTIONS)  # fmt: skip
    with pytest.raises(InvalidInputError, match="only"):
        ts.record_switch(store=store, from_code=AXIS, to_code=PPFAS,
                         size=ts.SaleSize(units=Decimal(107)), on=date(2024, 7, 1), today=TODAY,
                         options=DEFAULT_OPTIONS)  # fmt: skip
    assert len(store.list_transactions()) == 3


def test_idcw_needs_units_held_and_a_payout_adds_none(store: LocalStore) -> None:
    def dividend(day: date, reinvest: bool, **extra):
        return ts.record_dividend(store=store, scheme_code=AXIS, amount=Decimal(150), on=day,
                                  today=TODAY, options=DEFAULT_OPTIONS, reinvest=reinvest,
                                  **extra)  # fmt: skip

    with pytest.raises(InvalidInputError, match="no IDCW"):
        dividend(date(2024, 5, 2), False)
    buy(store, date(2024, 5, 2))
    payout = dividend(date(2024, 6, 3), False)
    assert payout.kind is TxnKind.DIVIDEND_PAYOUT and payout.units is None
    assert held(store, date(2024, 6, 3)) == Decimal("206.852")
    with pytest.raises(InvalidInputError, match="belong to --reinvest"):
        dividend(date(2024, 6, 3), False, units=Decimal(1), nav=Decimal(1))
    again = dividend(date(2024, 6, 3), True, units=Decimal("1.537"), nav=Decimal("97.572"))
    assert again.kind is TxnKind.DIVIDEND_REINVEST
    assert held(store, date(2024, 6, 3)) == Decimal("208.389")


def test_edit_says_what_changed_and_refuses_an_oversell(store: LocalStore) -> None:
    lot = buy(store, date(2024, 5, 2))
    sale = redeem(store, date(2024, 6, 10), units=Decimal(150))
    edit = ts.edit_transaction(
        store=store,
        txn_id=sale.id[:8],
        today=TODAY,
        options=DEFAULT_OPTIONS,
        changes={"note": "for the car"},
    )
    assert edit.after.note == "for the car" and store.get_transaction(sale.id).note == "for the car"
    with pytest.raises(InvalidInputError, match=r"only 206\.852"):
        ts.edit_transaction(store=store, txn_id=sale.id, today=TODAY, options=DEFAULT_OPTIONS,
                            changes={"units": Decimal(207)})  # fmt: skip
    with pytest.raises(InvalidInputError, match="short by"):
        ts.edit_transaction(store=store, txn_id=lot.id, today=TODAY, options=DEFAULT_OPTIONS,
                            changes={"units": Decimal(100)})  # fmt: skip
    with pytest.raises(InvalidInputError, match="no units"):  # the sale moved before the buy
        ts.edit_transaction(store=store, txn_id=sale.id, today=TODAY, options=DEFAULT_OPTIONS,
                            changes={"trade_date": date(2024, 5, 1)})  # fmt: skip
    assert store.get_transaction(sale.id).units == Decimal(150)
    moved = ts.edit_transaction(
        store=store,
        txn_id=sale.id,
        today=TODAY,
        options=DEFAULT_OPTIONS,
        changes={"trade_date": date(2024, 6, 3)},
    )
    assert moved.after.trade_date == date(2024, 6, 3)
    same = ts.edit_transaction(store=store, txn_id=sale.id, today=TODAY, options=DEFAULT_OPTIONS,
                               changes={"note": "for the car"})  # fmt: skip
    assert same.before == same.after


def test_remove_and_restore_keep_the_ledger_consistent(store: LocalStore) -> None:
    from mftrack.adapters.sqlite.sync_store import SyncStore

    lot = buy(store, date(2024, 5, 2))
    sale = redeem(store, date(2024, 6, 10), units=Decimal(150))
    with pytest.raises(InvalidInputError, match="short by 150"):
        ts.remove_transaction(store=store, txn_id=lot.id, options=DEFAULT_OPTIONS)
    (gone,) = ts.remove_transaction(store=store, txn_id=sale.id, options=DEFAULT_OPTIONS)
    assert gone.after.deleted and outbox(store)[-1] == ("transactions", sale.id, 1)
    restored = ts.restore_transaction(store=store, txn_id=sale.id, options=DEFAULT_OPTIONS)
    assert not restored.as_new and store.get_transaction(sale.id).deleted is False
    assert all(not r[2] for r in outbox(store))  # the queued removal was cancelled
    # Once a removal has been pushed (acknowledged by the server) it is final: a restore
    # records the transaction again under a new id.
    ts.remove_transaction(store=store, txn_id=sale.id, options=DEFAULT_OPTIONS)
    sync = SyncStore(store)
    sync.acknowledge(last_mutation_id=sync.pending()[-1].mid, rejected=[], fetched=[])
    again = ts.restore_transaction(store=store, txn_id=sale.id, options=DEFAULT_OPTIONS)
    assert again.as_new and again.txns[0].id != sale.id and again.txns[0].units == Decimal(150)
    assert store.get_transaction(sale.id, include_deleted=True).deleted is True
    with pytest.raises(InvalidInputError, match="is not removed"):
        ts.restore_transaction(store=store, txn_id=again.txns[0].id, options=DEFAULT_OPTIONS)


def test_removing_one_leg_of_a_switch_removes_both(store: LocalStore) -> None:
    buy(store, date(2024, 5, 2))
    out, into = ts.record_switch(
        store=store, from_code=AXIS, to_code=PPFAS, size=ts.SaleSize(everything=True),
        on=date(2024, 7, 1), today=TODAY, options=DEFAULT_OPTIONS,
    )  # fmt: skip
    edits = ts.remove_transaction(store=store, txn_id=into.id, options=DEFAULT_OPTIONS)
    assert {e.after.id for e in edits} == {out.id, into.id}
    assert [t.id for t in store.list_transactions()] != [] and all(
        t.link_id is None for t in store.list_transactions()
    )
    restored = ts.restore_transaction(store=store, txn_id=out.id, options=DEFAULT_OPTIONS)
    assert {t.id for t in restored.txns} == {out.id, into.id}
    assert held(store, date(2024, 7, 1)) == 0


def test_an_estimated_purchase_counts_and_cannot_be_removed_under_a_sale(store: LocalStore) -> None:
    typed = buy(store, date(2024, 3, 12), units=None, nav=None, amount="50000")
    # F1, F5: ₹50,000 less ₹2.50 stamp duty at 2024-03-12's NAV of 91.18820: 548.289 units.
    assert held(store, date(2024, 3, 12)) == Decimal("548.289")
    sale = redeem(store, date(2024, 6, 3), units=Decimal(100))
    with pytest.raises(InvalidInputError, match="short by 100"):
        ts.remove_transaction(store=store, txn_id=typed.id, options=DEFAULT_OPTIONS)
    with pytest.raises(InvalidInputError, match="short by"):
        ts.edit_transaction(store=store, txn_id=typed.id, today=TODAY, options=DEFAULT_OPTIONS,
                            changes={"amount": Decimal(5000)})  # fmt: skip
    ts.remove_transaction(store=store, txn_id=sale.id, options=DEFAULT_OPTIONS)
    ts.remove_transaction(store=store, txn_id=typed.id, options=DEFAULT_OPTIONS)
    assert store.list_transactions() == []


def test_the_accounts_limit_of_live_transactions_holds(
    store: LocalStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mftrack.services import limits

    monkeypatch.setattr(limits, "MAX_TRANSACTIONS", 2)
    buy(store, date(2024, 5, 2))
    with pytest.raises(InvalidInputError, match="at most 2"):
        ts.record_switch(store=store, from_code=AXIS, to_code=PPFAS,
                         size=ts.SaleSize(units=Decimal(1)), on=date(2024, 7, 1), today=TODAY,
                         options=DEFAULT_OPTIONS)  # fmt: skip
    assert len(store.list_transactions()) == 1


def test_a_sale_naming_a_folio_can_take_only_that_folios_units(store: LocalStore) -> None:
    """Registrars redeem per folio (ledger-notes "FIFO and units"): 206.852 units in each of
    two folios do not let one folio sell 300 (the whole-scheme count allowed it)."""
    for folio in ("A", "B"):
        ts.record_purchase(store=store, scheme_code=AXIS, amount=Decimal(20000),
                           on=date(2024, 5, 2), today=TODAY, units=Decimal("206.852"),
                           nav=Decimal("96.6825"), folio=folio)  # fmt: skip
    sale = ts.SaleSize(units=Decimal(300))
    with pytest.raises(InvalidInputError, match=r"in folio A on 2024-07-01: only 206\.852"):
        ts.record_redemption(store=store, scheme_code=AXIS, size=sale, on=date(2024, 7, 1),
                             today=TODAY, options=DEFAULT_OPTIONS, folio="A")  # fmt: skip
    assert [t.kind for t in store.list_transactions()] == [TxnKind.PURCHASE] * 2
    # Without a folio a sale takes from both, oldest lot first (A's, recorded first) ...
    ts.record_redemption(store=store, scheme_code=AXIS, size=sale, on=date(2024, 7, 1),
                         today=TODAY, options=DEFAULT_OPTIONS)  # fmt: skip
    # ... so --all in folio B then takes what B has left: 206.852 - (300 - 206.852).
    rest = ts.record_redemption(store=store, scheme_code=AXIS, size=ts.SaleSize(everything=True),
                                on=date(2024, 7, 2), today=TODAY, options=DEFAULT_OPTIONS,
                                folio="B")  # fmt: skip
    assert rest.units == Decimal("113.704")
    assert held(store, date(2024, 7, 2)) == 0
