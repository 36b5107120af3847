"""CAS statements → ledger transactions (adapters/cas.py), schemes matched in a real store,
and reconciliation (domain/reconcile.py), on the built fixtures (tests/fixtures/cas/README.md)."""

from __future__ import annotations

import copy
import json
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from mftrack.adapters.cas import read_statement, statement_ledger
from mftrack.domain.reconcile import StatementBalance, reconcile
from mftrack.domain.transactions import Transaction, TxnKind, TxnSource
from mftrack.errors import CredentialsError, InvalidInputError
from tests.cas_support import FIXTURES, family_statement, plain_pdf, statement_pdf
from tests.helpers import mfapi_file, run_cli

FAMILY = FIXTURES / "family_2019-2024.json"
OPENING = FIXTURES / "opening_balance_2024.json"


@pytest.fixture
def store():
    """A real local store whose scheme list has the fixture's schemes (from mfapi files)."""
    files = [str(mfapi_file(code)) for code in (120503, 120465, 118989, 119551, 122639)]
    assert run_cli("nav", "import", *files).exit_code == 0
    from mftrack.adapters.sqlite.store import LocalStore
    from mftrack.config import resolve_paths

    paths = resolve_paths()
    store = LocalStore(paths.database, backup_dir=paths.backup_dir)
    yield store
    store.close()


def ledger_of(store, data):
    from mftrack.services.statements import scheme_resolver

    return statement_ledger(data, scheme_resolver(store))


def test_the_committed_fixtures_are_what_the_builder_makes_and_casparser_accepts() -> None:
    from casparser.types import CASData

    for path, built in ((FAMILY, family_statement()),):
        on_disk = json.loads(path.read_text(encoding="utf-8"))
        assert on_disk == json.loads(json.dumps(built))
        CASData.model_validate(on_disk)  # casparser's own model of its JSON output


def test_rows_become_ledger_transactions_with_taxes_attached(store) -> None:
    ledger = ledger_of(store, read_statement(FAMILY, None))
    assert ledger.not_imported == []
    assert ledger.start == date(2019, 1, 1) and ledger.end == date(2024, 12, 31)
    txns = ledger.transactions
    assert all(t.source is TxnSource.CAS and t.import_key for t in txns)
    assert len({t.import_key for t in txns}) == len(txns)
    elss = [t for t in txns if t.scheme_code == 120503]
    first = elss[0]
    # F1: the ₹5,000 instalment invested ₹4,999.75 and paid ₹0.25 stamp duty: gross 5,000.
    assert (first.kind, first.trade_date, first.amount, first.stamp_duty, first.units) == (
        TxnKind.SIP,
        date(2021, 1, 5),
        Decimal("5000.00"),
        Decimal("0.25"),
        Decimal("75.312"),
    )
    assert first.folio == "91045678 / 12" and first.nav == Decimal("66.38710")
    # F4: instalment 14 was allotted and reversed: one sip_failed row, no units.
    failed = [t for t in elss if t.kind is TxnKind.SIP_FAILED]
    assert len(failed) == 1 and failed[0].units is None
    assert failed[0].trade_date == date(2022, 2, 7) and "Payment not received" in failed[0].note
    assert sum(1 for t in elss if t.kind is TxnKind.SIP) == 47
    # A switch: both legs linked, the out leg without STT, the in leg with stamp duty.
    legs = [t for t in txns if t.kind in (TxnKind.SWITCH_OUT, TxnKind.SWITCH_IN)]
    assert {t.scheme_code for t in legs} == {120465, 120503}
    assert legs[0].link_id and legs[0].link_id == legs[1].link_id
    switch_in = next(t for t in legs if t.kind is TxnKind.SWITCH_IN)
    assert switch_in.stamp_duty == Decimal("1.14") and switch_in.amount == Decimal("22855.00")
    # F6: STT withheld on the redemption (0.001 % of 150 units x 211.877) is kept apart.
    sale = next(t for t in txns if t.kind is TxnKind.REDEMPTION)
    assert (sale.scheme_code, sale.units, sale.stt) == (118989, Decimal("150.000"), Decimal("0.32"))
    assert sale.amount == Decimal("31781.55") and sale.stamp_duty is None
    payouts = [t for t in txns if t.kind is TxnKind.DIVIDEND_PAYOUT]
    assert [(p.amount, p.units) for p in payouts] == [
        (Decimal("1332.65"), None),
        (Decimal("1421.50"), None),
    ]


def test_every_statement_balance_reconciles_with_its_own_rows(store) -> None:
    ledger = ledger_of(store, read_statement(FAMILY, None))
    lines = reconcile(ledger.balances, ledger.transactions)
    assert len(lines) == 4 and all(line.matches for line in lines), lines
    assert {line.statement_units for line in lines} >= {Decimal("3312.028")}


def test_an_opening_balance_is_named_as_the_cause_of_a_mismatch(store) -> None:
    ledger = ledger_of(store, read_statement(OPENING, None))
    [line] = reconcile(ledger.balances, ledger.transactions)
    assert line.difference == Decimal("812.345")
    assert "opening balance of 812.345 units" in line.cause


def test_a_missing_or_extra_transaction_is_reported_with_its_size() -> None:
    balance = StatementBalance(
        "1/2", 120503, "Axis ELSS", Decimal(0), Decimal("10.5"), date(2024, 12, 31)
    )
    buy = Transaction(
        id="a",
        scheme_code=120503,
        kind=TxnKind.SIP,
        trade_date=date(2024, 1, 5),
        units=Decimal("4.5"),
        folio="1 / 2",
    )
    [short] = reconcile([balance], [buy])
    assert short.difference == Decimal("6.0") and "6.0 units short" in short.cause
    late = Transaction(
        id="b",
        scheme_code=120503,
        kind=TxnKind.SIP,
        trade_date=date(2025, 1, 5),
        units=Decimal("100"),
        folio="1/2",
    )
    extra = Transaction(
        id="c",
        scheme_code=120503,
        kind=TxnKind.PURCHASE,
        trade_date=date(2024, 2, 5),
        units=Decimal("7"),
        folio="1/2",
    )
    [over] = reconcile([balance], [buy, late, extra])
    assert over.difference == Decimal("-1.0") and "1.0 units more" in over.cause
    sold = Transaction(
        id="d",
        scheme_code=120503,
        kind=TxnKind.REDEMPTION,
        trade_date=date(2024, 3, 5),
        units=Decimal("1.0"),
        folio="1/2",
    )
    [even] = reconcile([balance], [buy, extra, sold])
    assert even.matches and even.ledger_units == Decimal("10.5")


def test_unknown_schemes_and_untakeable_rows_are_reported_not_guessed(store) -> None:
    data = copy.deepcopy(json.loads(FAMILY.read_text(encoding="utf-8")))
    scheme = data["folios"][1]["schemes"][0]
    scheme["amfi"], scheme["isin"] = "125497", "INF200K01T51"  # SBI Small Cap: not in the store
    data["folios"][2]["schemes"][0]["close"] = "1786.869"
    debt = data["folios"][2]["schemes"][0]["transactions"]
    debt.append(
        {
            "date": "2024-06-03",
            "description": "Segregated portfolio units",
            "amount": None,
            "units": "10.000",
            "nav": None,
            "balance": "1786.869",
            "type": "SEGREGATION",
        }
    )
    debt.append(
        {
            "date": "2024-06-04",
            "description": "TDS deducted",
            "amount": "-15.00",
            "units": None,
            "nav": None,
            "balance": None,
            "type": "TDS_TAX",
        }
    )
    ledger = ledger_of(store, data)
    unknown, segregated = ledger.not_imported
    assert unknown.trade_date is None and unknown.rows == 116
    assert "AMFI code 125497 / ISIN INF200K01T51 is not in the local scheme list" in unknown.reason
    assert "segregated portfolio" in segregated.reason
    assert not [t for t in ledger.transactions if t.scheme_code in (125497, 118989)]
    assert any("TDS of ₹15.00" in note for note in ledger.notes)
    debt_line = next(
        line
        for line in reconcile(ledger.balances, ledger.transactions)
        if line.scheme_code == 119551
    )
    assert debt_line.difference == Decimal("10.000") and "1 row(s)" in debt_line.cause


def test_a_scheme_whose_code_and_isin_disagree_is_rejected(store) -> None:
    data = json.loads(FAMILY.read_text(encoding="utf-8"))
    data["folios"][1]["schemes"][0]["isin"] = "INF846K01EW2"  # Axis ELSS's, with HDFC's code
    ledger = ledger_of(store, data)
    [row] = ledger.not_imported
    assert "AMFI code 118989" in row.reason and "ISIN INF846K01EW2 is scheme 120503" in row.reason


def test_a_summary_or_depository_statement_is_refused(store) -> None:
    with pytest.raises(InvalidInputError, match="summary CAS"):
        ledger_of(store, {**json.loads(OPENING.read_text()), "cas_type": "SUMMARY"})
    with pytest.raises(InvalidInputError, match="NSDL/CDSL"):
        ledger_of(store, {"accounts": [], "statement_period": {"from": "", "to": ""}})


def test_the_pdf_parses_to_the_same_transactions_as_the_json(store, tmp_path: Path) -> None:
    pdf = statement_pdf(family_statement(), tmp_path / "cas.pdf", "ABCPV1234F")
    from_pdf = ledger_of(store, read_statement(pdf, "ABCPV1234F"))
    from_json = ledger_of(store, read_statement(FAMILY, None))
    assert [t.import_key for t in from_pdf.transactions] == [
        t.import_key for t in from_json.transactions
    ]
    assert from_pdf.balances == from_json.balances


def test_a_wrong_password_and_a_pdf_that_is_no_statement_are_clear_errors(
    tmp_path: Path,
) -> None:
    pdf = statement_pdf(family_statement(), tmp_path / "cas.pdf", "ABCPV1234F")
    with pytest.raises(CredentialsError, match=r"cas\.pdf: wrong password"):
        read_statement(pdf, "WRONG1234X")
    with pytest.raises(CredentialsError, match=r"cas\.pdf needs a password"):
        read_statement(pdf, None)
    invoice = plain_pdf(tmp_path / "invoice.pdf", "Invoice 42: one bicycle")
    with pytest.raises(InvalidInputError, match=r"invoice\.pdf is not a CAMS/KFintech statement"):
        read_statement(invoice, None)
    junk = tmp_path / "junk.pdf"
    junk.write_text("not a pdf at all")
    with pytest.raises(InvalidInputError, match=r"junk\.pdf is not a CAMS/KFintech statement"):
        read_statement(junk, None)


def test_casparser_is_loaded_only_when_a_pdf_is_read() -> None:
    """casparser (pydantic, pypdfium2) is an optional extra: the adapter imports it inside the
    PDF reader, and no other module names it."""
    from tests.test_architecture import _imports, _modules_after

    loaded = _modules_after("import mftrack.adapters.cas, mftrack.domain.reconcile")
    assert not [m for m in ("casparser", "pypdfium2", "pydantic") if m in loaded]
    from tests.helpers import REPO

    users = [
        p.relative_to(REPO).as_posix()
        for p in (REPO / "mftrack").rglob("*.py")
        if any(n.split(".")[0] == "casparser" for n in _imports(p))
    ]
    assert users == ["mftrack/adapters/cas.py"]


def test_a_file_that_is_not_a_pdf_says_so_even_without_casparser(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not "needs casparser" (the cas extra missing) for a file casparser could never read."""
    junk = tmp_path / "notes.txt"
    junk.write_text("not a statement")
    monkeypatch.setitem(sys.modules, "casparser", None)  # as without the `cas` extra
    with pytest.raises(InvalidInputError, match=r"notes\.txt is not a CAMS/KFintech statement: "
                       r"it is neither a PDF"):  # fmt: skip
        read_statement(junk, None)
