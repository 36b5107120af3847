"""The ledger CSV format (adapters.ledger_csv) and idempotent imports (import_transactions)."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from mftrack.adapters.ledger_csv import content_key, read_ledger_csv, write_ledger_csv
from mftrack.adapters.sqlite.store import LocalStore
from mftrack.domain.options import DEFAULT_OPTIONS
from mftrack.domain.transactions import TxnKind, TxnSource
from mftrack.errors import InvalidInputError
from mftrack.services import transactions as ts
from mftrack.services.transactions import import_transactions
from tests.ledger_support import AXIS, PPFAS, store_with_navs

TODAY = date(2025, 12, 11)
AXIS_ISIN = "INF846K01EW2"  # 120503's growth ISIN in AMFI's files


@pytest.fixture
def store(tmp_path: Path) -> LocalStore:
    return store_with_navs(tmp_path / "a")


def read(store: LocalStore, text: str):
    return read_ledger_csv(
        text, isin_codes=lambda isin: [s.scheme_code for s in store.schemes_by_isin(isin)]
    )


def export(store: LocalStore) -> str:
    txns = store.list_transactions()
    names = {c: s.display_name for c, s in store.get_schemes({t.scheme_code for t in txns}).items()}
    return write_ledger_csv(txns, names)


def outbox_size(store: LocalStore) -> int:
    with store.reading() as conn:
        return conn.execute("select count(*) from outbox").fetchone()[0]


def fill(store: LocalStore) -> None:
    """A ledger of every kind the commands record, by the real services."""
    ts.record_purchase(store=store, scheme_code=AXIS, amount=Decimal("50000.00"),
                       on=date(2024, 3, 12), today=TODAY, folio="91012345/67",
                       note='lump sum, "bonus"')  # fmt: skip
    ts.record_purchase(
        store=store,
        scheme_code=AXIS,
        amount=Decimal(20000),
        on=date(2024, 5, 2),
        today=TODAY,
        units=Decimal("206.8520"),
        nav=Decimal("96.68250"),
    )
    ts.record_redemption(
        store=store,
        scheme_code=AXIS,
        size=ts.SaleSize(amount=Decimal(5000)),
        on=date(2024, 6, 4),
        today=TODAY,
        options=DEFAULT_OPTIONS,
    )
    ts.record_switch(store=store, from_code=AXIS, to_code=PPFAS,
                     size=ts.SaleSize(units=Decimal(100)), on=date(2024, 7, 1), today=TODAY,
                     options=DEFAULT_OPTIONS)  # fmt: skip
    ts.record_dividend(
        store=store,
        scheme_code=AXIS,
        amount=Decimal("125.50"),
        on=date(2024, 7, 1),
        today=TODAY,
        options=DEFAULT_OPTIONS,
        reinvest=False,
    )


def test_an_export_imports_back_unchanged_and_twice_adds_nothing(
    store: LocalStore, tmp_path: Path
) -> None:
    fill(store)
    first = export(store)
    other = store_with_navs(tmp_path / "b")
    parsed = read(other, first)
    assert parsed.rejected == [] and parsed.rows == 6
    report = import_transactions(other, parsed.transactions, dry_run=False, today=TODAY)
    assert (len(report.added), len(report.already_present)) == (6, 0)
    assert export(other) == first
    again = import_transactions(other, read(other, first).transactions, dry_run=False)
    assert (len(again.added), len(again.already_present)) == (0, 6)
    # Into the database it came from: every row is already there.
    home = import_transactions(store, read(store, first).transactions, dry_run=False)
    assert (len(home.added), len(home.already_present)) == (0, 6)
    assert [t.source for t in other.list_transactions()] == [TxnSource.CSV] * 6
    assert {t.link_id for t in other.list_transactions() if t.link_id} == {
        t.link_id for t in store.list_transactions() if t.link_id
    }


STATEMENT = """\
Type,Date,ISIN,Amount,Units,NAV,Folio,Scheme_Name,Scheme_Code
purchase,2024-03-13,INF846K01EW2,"50,000.00",559.633,89.3397,91012345/67,Axis ELSS,
sip,2024-04-05,,5000,51.745,96.6215,91012345/67,,120503
sip,2024-04-05,,5000,51.745,96.6215,91012345/67,,120503
redemption,2024-06-03,INF846K01EW2,,100.000,97.5720,91012345/67,,
"""


def test_rows_are_read_by_header_name_with_content_keys(store: LocalStore) -> None:
    parsed = read(store, STATEMENT)
    assert parsed.rejected == [] and parsed.ignored_columns == []
    first, sip1, sip2, sale = parsed.transactions
    assert first.scheme_code == AXIS and first.amount == Decimal("50000.00")
    assert first.kind is TxnKind.PURCHASE and first.units == Decimal("559.633")
    assert sale.units == Decimal("100.000") and sale.amount is None
    # Identical rows are two instalments: the second key says so, and both are stable.
    assert sip1.import_key == content_key(sip1) and sip2.import_key == content_key(sip1, 2)
    assert first.import_key.startswith("csv:")
    report = import_transactions(store, parsed.transactions, dry_run=False, today=TODAY)
    assert len(report.added) == 4
    again = import_transactions(store, read(store, STATEMENT).transactions, dry_run=False)
    assert (len(again.added), len(again.already_present)) == (0, 4)


def test_equal_figures_written_differently_key_alike(store: LocalStore) -> None:
    a = read(store, "date,scheme_code,type,amount\n2024-03-13,120503,purchase,50000\n")
    b = read(store, "DATE,Scheme_Code,TYPE,AMOUNT\n2024-03-13,120503,Purchase,50000.00\n")
    assert a.transactions[0].import_key == b.transactions[0].import_key


def test_bad_rows_are_rejected_with_line_and_reason_and_the_rest_import(
    store: LocalStore,
) -> None:
    text = (
        "date,scheme_code,isin,type,amount,units,colour\n"
        "2024-03-13,120503,,purchase,50000,,red\n"  # line 2: fine
        "13-03-2024,120503,,purchase,50000,,\n"  # line 3: date
        "2024-03-13,120503,,buy,50000,,\n"  # line 4: type
        "2024-03-13,120503,,purchase,-5,,\n"  # line 5: signed
        "2024-03-13,,INF000000000,purchase,5,,\n"  # line 6: unknown ISIN
        "2024-03-13,999999,,purchase,5,,\n"  # line 7: unknown code (the import rejects it)
        "2024-03-13,120503,,redemption,5000,,\n"  # line 8: a sale without units
        "2024-03-13,12x,,purchase,5,,\n"  # line 9: not a code
    )
    parsed = read(store, text)
    assert parsed.ignored_columns == ["colour"]
    reasons = {r.where: r.reason for r in parsed.rejected}
    assert set(reasons) == {"line 3", "line 4", "line 5", "line 6", "line 9"}
    assert "YYYY-MM-DD" in reasons["line 3"] and "purchase, sip" in reasons["line 4"]
    assert "positive" in reasons["line 5"] and "INF000000000" in reasons["line 6"]
    report = import_transactions(store, parsed.transactions, dry_run=False, today=TODAY,
                                 rejected=parsed.rejected)  # fmt: skip
    assert len(report.added) == 1
    assert len(report.rejected) == 7
    why = [r.reason for r in report.rejected[5:]]
    assert "no scheme 999999" in why[0] and "must carry the units" in why[1]


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("", "empty"),
        ("date,type,amount\n", "scheme_code or isin"),
        ("scheme_code,amount\n", "no date, type"),
    ],
)
def test_a_file_without_the_required_columns_is_refused(
    store: LocalStore, text: str, needle: str
) -> None:
    with pytest.raises(InvalidInputError, match=needle):
        read(store, text)


def test_dry_run_reports_and_writes_nothing(store: LocalStore) -> None:
    parsed = read(store, "date,scheme_code,type,amount\n2024-03-13,120503,purchase,50000\n")
    report = import_transactions(store, parsed.transactions, dry_run=True)
    assert len(report.added) == 1 and report.summary().startswith("would add 1")
    assert store.list_transactions() == [] and outbox_size(store) == 0


def test_a_statement_row_replaces_a_typed_estimate_and_keeps_its_id(store: LocalStore) -> None:
    typed = ts.record_purchase(store=store, scheme_code=AXIS, amount=Decimal(50000),
                               on=date(2024, 3, 11), today=TODAY)  # fmt: skip
    queued = outbox_size(store)
    parsed = read(store, STATEMENT)
    report = import_transactions(store, parsed.transactions[:1], dry_run=False, today=TODAY)
    assert report.added == [] and len(report.replaced_estimates) == 1
    stored = store.get_transaction(typed.id)
    assert stored.units == Decimal("559.633") and stored.nav == Decimal("89.3397")
    assert stored.trade_date == date(2024, 3, 13) and stored.folio == "91012345/67"
    assert stored.import_key == parsed.transactions[0].import_key
    assert outbox_size(store) == queued + 1
    again = import_transactions(store, read(store, STATEMENT).transactions[:1], dry_run=False)
    assert len(again.already_present) == 1 and again.replaced_estimates == []


def test_a_row_with_an_id_that_is_not_a_uuid_is_rejected(store: LocalStore) -> None:
    good = str(uuid.uuid4())
    parsed = read(store, f"id,date,scheme_code,type,amount\n{good},2024-03-13,120503,sip,5000\n"
                         "abc,2024-03-13,120503,sip,5000\n")  # fmt: skip
    assert [t.id for t in parsed.transactions] == [good]
    assert parsed.transactions[0].import_key is None
    assert "not a UUID" in parsed.rejected[0].reason


def test_confirmed_sip_instalments_are_counted_as_replaced_estimates(store: LocalStore) -> None:
    from mftrack.services.sips import add_sip

    sip = add_sip(store=store, scheme_code=AXIS, amount=Decimal(5000), start=date(2024, 1, 5))
    text = (
        "date,scheme_code,type,amount,units,nav\n"
        "2024-02-05,120503,sip,5000,56.868,87.9175\n"  # February's instalment
        "2024-02-06,120503,sip,5000,56.246,88.8898\n"  # February's again: no second estimate
        "2024-03-06,120503,sip,5000,55.219,90.5435\n"  # March's, allotted a day late (F3)
        "2024-04-05,120503,purchase,5000,51.745,96.6215\n"  # a lump sum, not the SIP's
    )
    report = import_transactions(store, read(store, text).transactions, dry_run=True)
    assert report.confirmed_instalments == [(sip.id, date(2024, 2, 5)), (sip.id, date(2024, 3, 5))]
    assert report.replaced == 2 and len(report.added) == 4
    assert report.as_dict()["replaced_estimates"] == 2


def test_import_csv_text_reads_imports_and_reports_in_one_call(store: LocalStore) -> None:
    from mftrack.services.ledger_import import import_csv_text

    text = STATEMENT.replace("Scheme_Code", "Scheme_Code,Colour") + "sip,2024-04-31,,5000,,,,,\n"
    report = import_csv_text(store, text, dry_run=False, today=TODAY)
    assert len(report.added) == 4 and report.notes == ["ignored columns: colour"]
    assert [r.where for r in report.rejected] == ["line 6"]
    assert report.summary() == "added 4, 0 already present, 0 estimates replaced, 1 rejected"
    again = import_csv_text(store, text, dry_run=False, today=TODAY)
    assert len(again.already_present) == 4 and again.added == []


def test_rows_the_server_would_refuse_are_rejected_here(store: LocalStore) -> None:
    """The hosted table's checks (supabase/migrations/20261205150000_transactions.sql)."""
    text = (
        "date,scheme_code,type,amount,units,nav,stt,note\n"
        "2024-03-13,120503,purchase,0,,,,\n"
        "2024-03-13,120503,purchase,100.005,,,,\n"
        "2024-03-13,120503,redemption,,1.12345678901,,,\n"
        "2024-03-13,120503,redemption,,1,,0.001,\n"
        "1899-12-31,120503,purchase,100,,,,\n"
        f"2024-03-13,120503,purchase,100,,,,{'x' * 1001}\n"
        "2024-03-13,120503,redemption,,1.1234567890,,0,ok\n"
    )
    report = import_transactions(store, read(store, text).transactions, dry_run=True)
    reasons = [r.reason for r in report.rejected]
    assert len(reasons) == 6 and len(report.added) == 1
    assert "amount 0 must be a positive" in reasons[0]
    assert "more than 2 decimals" in reasons[1] and "more than 10 decimals" in reasons[2]
    assert "stt 0.001" in reasons[3] and "before 1900-01-01" in reasons[4]
    assert "at most 1000" in reasons[5]
