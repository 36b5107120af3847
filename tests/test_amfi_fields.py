"""Field parsing shared by the AMFI parsers: NAV text, ISINs, dates, history windows."""

from __future__ import annotations

import itertools
import re
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from mftrack.adapters.amfi.client import history_windows
from mftrack.adapters.amfi.fields import (
    clean_isin,
    format_amfi_date,
    norm_text,
    parse_amfi_date,
    parse_dmy,
    parse_nav,
)
from mftrack.errors import InvalidInputError

# --- NAV text ------------------------------------------------------------------------------


@given(
    whole=st.integers(min_value=0, max_value=10**8),
    frac=st.text(alphabet="0123456789", min_size=0, max_size=8),
    form=st.sampled_from(["plain", "trailing-dot", "leading-dot"]),
    pad=st.sampled_from(["", " ", "\t", "\r", "  "]),
)
@example(whole=10, frac="", form="trailing-dot", pad="")  # amfi-formats.md 1.4: `10.`
@example(whole=0, frac="4157", form="leading-dot", pad="")  # `.4157` (2021)
@example(whole=1680494, frac="0463", form="plain", pad="")  # the largest NAV seen
def test_positive_nav_text_round_trips_exactly(whole: int, frac: str, form: str, pad: str) -> None:
    if form == "plain":
        text = f"{whole}.{frac}" if frac else str(whole)
    elif form == "trailing-dot":
        text, frac = f"{whole}.", ""
    else:
        whole = 0
        frac = frac or "5"
        text = f".{frac}"
    expected = Fraction(whole) + Fraction(int(frac or "0"), 10 ** len(frac))
    if expected == 0:
        with pytest.raises(ValueError, match="not positive"):
            parse_nav(pad + text + pad)
        return
    nav = parse_nav(pad + text + pad)
    assert isinstance(nav, Decimal)
    assert Fraction(nav) == expected
    if form == "plain" and frac:
        assert format(nav, "f") == text  # every decimal digit kept, even trailing zeros


@pytest.mark.parametrize(
    "text",
    [
        "N.A.", "#N/A", "#DIV/0!", "B.C.", "", " ", "-", ".", "..", "1.2.3", "NaN", "Infinity",
        "1e5", "1E-3", "1_000", "1,000.5", "-1.5", "+1.5", "१२.५", "１２", "10 .5",
    ],
)  # fmt: skip
def test_junk_nav_text_is_not_a_number(text: str) -> None:
    with pytest.raises(ValueError, match="not a number"):
        parse_nav(text)


@pytest.mark.parametrize("text", ["0", "0.0000", "00.00000", "0.", ".0", "0.00000"])
def test_zero_navs_are_not_positive(text: str) -> None:
    with pytest.raises(ValueError, match="not positive"):
        parse_nav(text)


_NUMBER = re.compile(r"[0-9]+\.?[0-9]*|\.[0-9]+")


@given(st.text(max_size=12))
def test_parse_nav_accepts_only_plain_decimal_text(text: str) -> None:
    stripped = text.strip()
    plain = _NUMBER.fullmatch(stripped) is not None
    try:
        nav = parse_nav(text)
    except ValueError:
        assert not plain or Decimal(stripped) == 0
    else:
        assert plain
        assert nav > 0


# --- ISINs ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("INF209KA12Z1", "INF209KA12Z1"),
        ("INF178L01BT0 ", "INF178L01BT0"),  # trailing space (amfi-formats.md 1.4)
        ("INf200K01KQ1", "INF200K01KQ1"),  # 2017 file: lower-case f, check digit is right
        ("-", None),
        ("", None),
        ("NA", None),
        ("NOTAPP", None),
        ("Redeemed", None),  # IL&FS IDF rows
        ("#N/A", None),
        ("---", None),
        ("INF78901059", None),  # 11 characters
        ("INF174KA1HJ", None),
        ("NF760K01GO7", None),  # first letter lost
        ("IINF209KA1X9", None),  # 12 characters but not INF...
        ("HDFCNIVODG", None),
        ("INF209KA12Z1X", None),
        ("INF209KA-2Z1", None),
        (None, None),
    ],
)
def test_clean_isin(raw: str | None, expected: str | None) -> None:
    assert clean_isin(raw) == expected


def test_norm_text_collapses_tabs_and_runs_of_spaces() -> None:
    assert norm_text("  Monthly IDCW\t Option\t") == "Monthly IDCW Option"
    assert norm_text("Fund  -  DIRECT - IDCW ") == "Fund - DIRECT - IDCW"
    assert norm_text(" \t ") == ""


# --- dates ---------------------------------------------------------------------------------


@given(st.dates(min_value=date(1990, 1, 1), max_value=date(2100, 12, 31)))
def test_amfi_dates_round_trip(day: date) -> None:
    text = format_amfi_date(day)
    assert re.fullmatch(r"\d\d-[A-Z][a-z]{2}-\d{4}", text)
    assert parse_amfi_date(text) == day
    assert parse_amfi_date(text.upper() + "\r") == day  # any case, CR from CRLF files


@pytest.mark.parametrize(
    "text", ["31-Feb-2026", "2026-08-19", "19-08-2026", "19-Agu-2026", "19-Aug-26", "", "N.A."]
)
def test_bad_amfi_dates(text: str) -> None:
    with pytest.raises(ValueError, match="dd-Mon-yyyy"):
        parse_amfi_date(text)


def test_mfapi_dates() -> None:
    assert parse_dmy("07-04-2013") == date(2013, 4, 7)
    for bad in ("2013-04-07", "07-Apr-2013", "32-01-2013", "7-4-13", ""):
        with pytest.raises(ValueError, match="dd-mm-yyyy"):
            parse_dmy(bad)


# --- history windows -----------------------------------------------------------------------


@given(
    start=st.dates(min_value=date(2000, 1, 1), max_value=date(2030, 1, 1)),
    length=st.integers(min_value=1, max_value=2000),
    days=st.integers(min_value=1, max_value=120),
)
def test_history_windows_cover_the_range_without_gaps(start: date, length: int, days: int) -> None:
    end = start + timedelta(days=length - 1)
    windows = history_windows(start, end, days=days)
    assert windows[0][0] == start
    assert windows[-1][1] == end
    for (_, previous_end), (next_start, _) in itertools.pairwise(windows):
        assert next_start == previous_end + timedelta(days=1)
    assert all(1 <= (b - a).days + 1 <= days for a, b in windows)
    assert len(windows) == -(-length // days)


def test_history_windows_reject_reversed_range() -> None:
    with pytest.raises(InvalidInputError):
        history_windows(date(2026, 2, 1), date(2026, 1, 1))
