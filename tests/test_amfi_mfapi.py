"""parse_mfapi on all 15 real mfapi.in `/mf/{code}` responses, plus the documented odd answers."""

from __future__ import annotations

import itertools
import json
from collections import Counter
from datetime import date
from decimal import Decimal

import pytest

from mftrack.adapters.amfi.mfapi import SCHEME_TYPES, parse_mfapi
from mftrack.adapters.amfi.navall import parse_navall
from mftrack.errors import NotFoundError, RemoteDataError
from tests.amfi_data import mfapi_files, read_text

# code -> (points, "0.00000" points); SOURCES.md gives the points, zeros were counted.
EXPECTED = {
    102987: (35, 0), 118395: (1725, 0), 118454: (2504, 166), 118550: (3127, 0),
    118989: (3186, 0), 119551: (3125, 0), 119800: (4380, 0), 120465: (3190, 1),
    120503: (3191, 1), 120716: (3185, 0), 122639: (3084, 0), 125497: (2975, 0),
    128957: (339, 0), 145612: (828, 0), 147389: (645, 0),
}  # fmt: skip
JUNK_META = {145612, 128957}


def code_of(name: str) -> int:
    return int(name.split("_")[1])


def file_of(code: int) -> str:
    return next(name for name in mfapi_files() if code_of(name) == code)


def test_all_fifteen_files_are_covered() -> None:
    assert sorted(code_of(name) for name in mfapi_files()) == sorted(EXPECTED)


@pytest.mark.parametrize("name", mfapi_files())
def test_every_file(name: str) -> None:
    code = code_of(name)
    points, zeros = EXPECTED[code]
    text = read_text(name)
    raw = json.loads(text)
    result = parse_mfapi(text, expected_code=code)
    assert (result.kind, result.layout, result.rows) == ("mfapi", "mfapi", points)
    assert [s.scheme_code for s in result.schemes] == [code]
    assert len(result.quotes) == points - zeros
    # `data` is newest first; quotes come out oldest first, strictly increasing.
    dates = [q.nav_date for q in result.quotes]
    assert all(a < b for a, b in itertools.pairwise(dates))
    priced = [point for point in raw["data"] if point["nav"] != "0.00000"]
    newest, oldest = priced[0], priced[-1]
    assert result.quotes[-1].nav == Decimal(newest["nav"])
    assert result.quotes[-1].nav_date.strftime("%d-%m-%Y") == newest["date"]
    assert result.quotes[0].nav_date.strftime("%d-%m-%Y") == oldest["date"]
    nav_problems = [p for p in result.problems if p.line_no > 0]
    assert len(nav_problems) == zeros
    assert all("not positive" in p.message for p in nav_problems)
    assert all(q.nav > 0 for q in result.quotes)
    s = result.schemes[0]
    assert s.name == " ".join(raw["meta"]["scheme_name"].split())
    if code in JUNK_META:
        assert (s.scheme_type, s.category, s.fund_house) == (None, None, None)
        assert [p.line_no for p in result.problems if p.line_no == 0] == [0]
    else:
        assert s.scheme_type in SCHEME_TYPES
        assert s.category == raw["meta"]["scheme_category"]
        assert s.fund_house == raw["meta"]["fund_house"]
        assert s.isin_growth == raw["meta"]["isin_growth"]
        assert not [p for p in result.problems if p.line_no == 0]


def test_spurious_sunday_zero_is_dropped() -> None:
    """120503 has `"0.00000"` on Sunday 07-04-2013 (SOURCES.md)."""
    result = parse_mfapi(read_text(file_of(120503)))
    assert date(2013, 4, 7) not in {q.nav_date for q in result.quotes}
    (problem,) = result.problems
    assert problem.text == "07-04-2013 0.00000"
    assert json.loads(read_text(file_of(120503)))["data"][problem.line_no - 1]["nav"] == "0.00000"


def test_liquid_fund_weekend_navs_are_kept() -> None:
    result = parse_mfapi(read_text(file_of(119800)))
    assert sum(q.nav_date.weekday() >= 5 for q in result.quotes) == 1023
    assert result.quotes[-1].nav_date == date(2025, 12, 11)
    assert result.quotes[-1].nav == Decimal("4229.82420")


def test_double_space_name_and_two_isins() -> None:
    s = parse_mfapi(read_text(file_of(119551))).schemes[0]
    assert s.name == "Aditya Birla Sun Life Banking & PSU Debt Fund - DIRECT - IDCW"
    assert (s.isin_growth, s.isin_reinvest) == ("INF209KA12Z1", "INF209KA13Z9")


def test_closed_scheme_with_null_isins() -> None:
    s = parse_mfapi(read_text(file_of(102987))).schemes[0]
    assert (s.isin_growth, s.isin_reinvest) == (None, None)
    assert (s.scheme_type, s.category) == ("Close Ended Schemes", "Income")


@pytest.mark.parametrize(
    ("code", "junk_type"),
    [(145612, "IL&FS Mutual Fund"),
     (128957, "100062;-;INF209K01DQ7;Aditya Birla Sun Life Gilt Plus-Regular Plan")],
)  # fmt: skip
def test_junk_meta_keeps_code_and_name_only(code: int, junk_type: str) -> None:
    result = parse_mfapi(read_text(file_of(code)))
    s = result.schemes[0]
    assert s.scheme_code == code
    assert s.name and s.category is None and s.fund_house is None and s.scheme_type is None
    meta_problem = next(p for p in result.problems if p.line_no == 0)
    assert meta_problem.text == junk_type
    assert len(result.quotes) == EXPECTED[code][0]


def test_mfapi_agrees_with_navall_to_five_decimals() -> None:
    """amfi-formats.md 3/6.14: mfapi rounds AMFI's NAV to 5 decimals; same-day NAVs agree."""
    navall = {}
    for name in ("navall/NAVAll_2025-12-10.txt", "navall/NAVAll_2025-12-11.txt"):
        for q in parse_navall(read_text(name)).quotes:
            navall[(q.scheme_code, q.nav_date)] = q.nav
    compared = 0
    for name in mfapi_files():
        for q in parse_mfapi(read_text(name)).quotes:
            amfi = navall.get((q.scheme_code, q.nav_date))
            if amfi is not None:
                assert abs(amfi - q.nav) <= Decimal("0.000005"), (q, amfi)
                compared += 1
    assert compared >= 10


def test_unknown_code_answer_is_not_found() -> None:
    """mfapi.in answers an unknown code with HTTP 200, blank meta and empty data."""
    body = {
        "meta": {"fund_house": "", "scheme_type": "", "scheme_category": "", "scheme_code": 0,
                 "scheme_name": "", "isin_growth": None, "isin_div_reinvestment": None},
        "data": [], "status": "SUCCESS",
    }  # fmt: skip
    with pytest.raises(NotFoundError, match="999999"):
        parse_mfapi(json.dumps(body), expected_code=999999)
    with pytest.raises(NotFoundError):
        parse_mfapi(body)


def test_accepts_bytes_and_decoded_objects() -> None:
    text = read_text(file_of(147389))
    from_text = parse_mfapi(text)
    assert parse_mfapi(text.encode("utf-8")) == from_text
    assert parse_mfapi(json.loads(text)) == from_text


@pytest.mark.parametrize(
    ("body", "match"),
    [
        ('{"status": "ERROR", "error": "invalid scheme_code"}', "invalid scheme_code"),
        ('{"meta": {}, "data": [], "status": "FAILED"}', "FAILED"),
        ('{"meta": [], "data": {}, "status": "SUCCESS"}', "no 'meta'"),
        ("[1, 2]", "not an object"),
        ("not json", "not JSON"),
        ("<html><body>502 Bad Gateway</body></html>", "HTML"),
        (
            '{"meta": {"scheme_code": 1, "scheme_name": "x", "scheme_type": ""},'
            ' "data": [{"date": "01-01-2020", "nav": "1.0"}], "status": "SUCCESS"}',
            "scheme 1, not 2",
        ),
    ],
)
def test_bad_answers_are_remote_data_errors(body: str, match: str) -> None:
    with pytest.raises(RemoteDataError, match=match):
        parse_mfapi(body, expected_code=2)


def test_out_of_order_duplicates_and_bad_points() -> None:
    body = {
        "meta": {"scheme_code": 120503, "scheme_name": "X", "scheme_type": "Open Ended Schemes",
                 "scheme_category": "Equity Scheme - ELSS", "fund_house": "Axis Mutual Fund",
                 "isin_growth": "INF846K01EW2", "isin_div_reinvestment": None},
        "data": [
            {"date": "02-01-2020", "nav": "10.50000"},
            {"date": "03-01-2020", "nav": "10.60000"},  # out of order
            {"date": "02-01-2020", "nav": "10.70000"},  # duplicate date
            {"date": "2020-01-01", "nav": "10.00000"},  # wrong date format
            {"date": "31-12-2019", "nav": "N.A."},
            "junk",
        ],
        "status": "SUCCESS",
    }  # fmt: skip
    result = parse_mfapi(body)
    assert [(q.nav_date, q.nav) for q in result.quotes] == [
        (date(2020, 1, 2), Decimal("10.50000")),
        (date(2020, 1, 3), Decimal("10.60000")),
    ]
    assert Counter(p.line_no for p in result.problems) == {3: 1, 4: 1, 5: 1, 6: 1}
