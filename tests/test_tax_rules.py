"""Tax classes, holding periods and rates, keyed on dates (domain-rules F6, F7; docs/gains.md).

Each example is worked by hand from the primary text cited in mftrack/domain/tax/rules.py.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from mftrack.domain.tax.cii import cii_for, indexed_cost
from mftrack.domain.tax.classes import TaxClass, is_elss, tax_class_of
from mftrack.domain.tax.dates import fy_of, parse_fy
from mftrack.domain.tax.rules import (
    Term,
    equity_ltcg_exemption,
    held_more_than,
    long_term_from,
    sale_rule,
)
from mftrack.errors import InvalidInputError
from tests.amfi_data import read_text

D = Decimal
EQ, DEBT, OTHER, HYBRID = TaxClass.EQUITY, TaxClass.DEBT, TaxClass.OTHER, TaxClass.HYBRID


def test_equity_is_long_term_only_after_more_than_twelve_months() -> None:
    # s.2(42A) proviso: "not more than twelve months" is short term.
    assert sale_rule(EQ, date(2023, 7, 10), date(2024, 7, 10)).term is Term.SHORT
    assert sale_rule(EQ, date(2023, 7, 10), date(2024, 7, 11)).term is Term.LONG
    # 31 Jan + 12 months is 31 Jan; a 29-Feb purchase is a year old on 28 Feb.
    assert held_more_than(date(2020, 2, 29), date(2021, 3, 1), 12)
    assert not held_more_than(date(2020, 2, 29), date(2021, 2, 28), 12)


def test_a_sale_on_either_side_of_23_jul_2024_changes_the_equity_rates() -> None:
    # Finance (No. 2) Act 2024 ss.29, 31: 15 % -> 20 % STCG, 10 % -> 12.5 % LTCG for transfers
    # on or after 23-Jul-2024.
    long_before = sale_rule(EQ, date(2023, 1, 10), date(2024, 7, 22))
    long_after = sale_rule(EQ, date(2023, 1, 10), date(2024, 7, 23))
    assert (long_before.term, long_before.rate, long_before.rule) == (
        Term.LONG, D(10), "equity-lt-2018")  # fmt: skip
    assert (long_after.term, long_after.rate, long_after.rule) == (
        Term.LONG, D("12.5"), "equity-lt-2024")  # fmt: skip
    assert sale_rule(EQ, date(2024, 1, 10), date(2024, 7, 22)).rate == D(15)
    assert sale_rule(EQ, date(2024, 1, 10), date(2024, 7, 23)).rate == D(20)
    # Before 1-Apr-2018 equity LTCG was exempt (s.10(38)).
    assert sale_rule(EQ, date(2016, 1, 1), date(2018, 3, 31)).exempt


def test_the_yearly_equity_exemption_by_financial_year() -> None:
    assert equity_ltcg_exemption(2017) is None
    assert equity_ltcg_exemption(2018) == D(100000)
    assert equity_ltcg_exemption(2023) == D(100000)
    # ₹1.25 L for the whole of FY 2024-25, on the aggregate of both sides of 23-Jul-2024.
    assert equity_ltcg_exemption(2024) == D(125000)
    assert equity_ltcg_exemption(2026) == D(125000)


def test_a_debt_lot_bought_31_mar_2023_is_long_term_and_one_bought_1_apr_2023_never_is() -> None:
    # Finance Act 2023: specified-fund units acquired on or after 1-Apr-2023 are short term
    # whatever the holding period; earlier ones: more than 24 months for a transfer on or
    # after 23-Jul-2024 (Finance (No. 2) Act 2024), 12.5 % without indexation.
    sold = date(2025, 6, 1)
    before = sale_rule(DEBT, date(2023, 3, 31), sold)
    after = sale_rule(DEBT, date(2023, 4, 1), sold)
    assert (before.term, before.rate, before.indexed) == (Term.LONG, D("12.5"), False)
    assert (after.term, after.rate, after.rule) == (Term.SHORT, None, "specified-fund-2023")
    assert sale_rule(DEBT, date(2023, 4, 1), date(2040, 1, 1)).term is Term.SHORT
    assert long_term_from(DEBT, date(2023, 4, 1), sold) is None
    assert long_term_from(DEBT, date(2023, 3, 31), sold) == date(2025, 4, 1)


def test_debt_sold_before_23_jul_2024_is_long_term_after_36_months_with_indexation() -> None:
    assert sale_rule(DEBT, date(2021, 7, 1), date(2024, 7, 1)).term is Term.SHORT  # 36 months
    rule = sale_rule(DEBT, date(2020, 5, 1), date(2024, 6, 1))
    assert (rule.term, rule.rate, rule.indexed) == (Term.LONG, D(20), True)
    # CII 2024-25 = 363 (Notification 44/2024), 2020-21 = 301: 1,00,000 x 363 / 301.
    assert indexed_cost(D("100000.00"), date(2020, 5, 1), date(2024, 6, 1)) == D("120598.01")
    assert cii_for(date(1999, 1, 1)) == 100  # base year 2001-02
    assert cii_for(date(2026, 3, 31)) == 376  # Notification 70/2025


def test_fy_2025_26_new_definition_takes_gold_and_foreign_funds_out_of_the_specified_rule() -> None:
    bought = date(2023, 6, 1)
    # A gold fund / international FoF (OTHER): <= 35 % domestic equity, so specified under the
    # Finance Act 2023 definition: short term at slab in FY 2024-25 ...
    assert sale_rule(OTHER, bought, date(2025, 3, 31)).rule == "specified-fund-2023"
    # ... but not "more than 65 % in debt", so not specified from FY 2025-26: 24 months rule.
    assert sale_rule(OTHER, bought, date(2025, 4, 1)).rule == "non-equity-st-24m"
    lt = sale_rule(OTHER, bought, date(2025, 7, 1))
    assert (lt.term, lt.rate) == (Term.LONG, D("12.5"))
    # A conservative hybrid (75-90 % debt: DEBT) stays specified.
    assert sale_rule(DEBT, bought, date(2025, 7, 1)).rule == "specified-fund-2023"
    # A balanced hybrid (40-60 % equity: HYBRID) was specified under neither definition.
    assert sale_rule(HYBRID, bought, date(2024, 6, 1)).rule == "non-equity-st-36m"
    assert sale_rule(HYBRID, bought, date(2025, 7, 1)).term is Term.LONG


@pytest.mark.parametrize(
    ("category", "expected"),
    [
        ("Equity Scheme - ELSS", EQ),
        ("Equity Schemes - ELSS- Tax Saver Fund", EQ),
        ("Hybrid Scheme - Arbitrage Fund", EQ),
        ("Hybrid Scheme - Aggressive Hybrid Fund", EQ),
        ("Debt Scheme - Liquid Fund", DEBT),
        ("Income/Debt Oriented Schemes - Gilt Fund", DEBT),
        ("Hybrid Scheme - Conservative Hybrid Fund", DEBT),
        ("Hybrid Scheme - Balanced Hybrid Fund", HYBRID),
        ("Other Scheme - Gold ETF", OTHER),
        ("Other Scheme - FoF Overseas", OTHER),
        ("Growth", EQ),
        ("Income", DEBT),
    ],
)
def test_categories_that_settle_the_class(category: str, expected: TaxClass) -> None:
    # Every category here is a real heading of a bundled NAVAll.txt.
    choice = tax_class_of(category)
    assert (choice.tax_class, choice.settled) == (expected, True)


def test_the_categories_in_the_tests_are_real_navall_headings() -> None:
    text = (
        read_text("navall/NAVAll_2026-08-21_8col-plan-option.txt")
        + read_text("navall/NAVAll_2017-04-13_legacy-8col-repurchase-sale.txt")
        + read_text("navall/NAVAll_2025-12-11.txt")
    )
    for category in (
        "Hybrid Scheme - Conservative Hybrid Fund",
        "Equity Schemes - ELSS- Tax Saver Fund",
        "Other Scheme - FoF Overseas",
        "Growth",
        "Income",
    ):
        assert f"({category})" in text  # fmt: skip


def test_index_funds_are_a_guess_the_user_is_told_about_and_the_override_wins() -> None:
    choice = tax_class_of("Other Scheme - Index Funds", "UTI Nifty 50 Index Fund - Direct")
    assert (choice.tax_class, choice.settled) == (EQ, False)
    assert "does not settle" in choice.reason
    gilt = tax_class_of("Other Scheme - Index Funds", "Bharat Bond ETF FoF - April 2030")
    assert gilt.tax_class is DEBT
    forced = tax_class_of("Equity Scheme - ELSS", override=DEBT)
    assert (forced.tax_class, forced.source) == (DEBT, "override")
    assert is_elss("Equity Scheme - ELSS") and not is_elss("Equity Scheme - Large Cap Fund")


def test_financial_years() -> None:
    assert fy_of(date(2024, 3, 31)) == "2023-24"
    assert fy_of(date(2024, 4, 1)) == "2024-25"
    assert fy_of(date(1999, 4, 1)) == "1999-00"
    assert parse_fy("2024-25") == parse_fy("FY2024-2025") == 2024
    for bad in ("2024", "2024-26", "24-25", "abcd-ef"):
        with pytest.raises(InvalidInputError, match="not a financial year"):
            parse_fy(bad)
