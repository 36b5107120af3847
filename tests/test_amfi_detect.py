"""parse_any: recognise each real file from its content alone; refuse HTML and strangers."""

from __future__ import annotations

import subprocess
import sys

import pytest

from mftrack.adapters.amfi.detect import parse_any
from mftrack.errors import RemoteDataError
from tests.amfi_data import AMFI_DATA, read_text

KINDS = {
    "navall/NAVAll_2017-04-13_legacy-8col-repurchase-sale.txt": ("navall", "navall-2017-8col"),
    "navall/NAVAll_2021-10-01_LF.txt": ("navall", "navall-6col"),
    "navall/NAVAll_2026-08-21_8col-plan-option.txt": ("navall", "navall-2026-8col"),
    "history-report/NAVHistoryReport_new-layout_all-AMCs_2026-09-27-Sunday.txt": (
        "history", "history-2026"
    ),
    "history-report/NAVHistoryReport_legacy-layout_all-AMCs_2006-04-03_EXCERPT-first-175-"
    "lines.txt": ("history", "history-legacy"),
    "mfapi/mfapi_120503_axis-elss-tax-saver-direct-growth_2013-01-02_2025-12-11.json": (
        "mfapi", "mfapi"
    ),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(KINDS))
def test_detects_each_kind(name: str) -> None:
    result = parse_any(read_text(name))
    assert (result.kind, result.layout) == KINDS[name]
    assert result.rows > 0


def test_every_data_file_is_recognised_or_refused() -> None:
    for path in sorted(AMFI_DATA.glob("*/*")):
        if path.suffix not in (".txt", ".json", ".html") or path.name.startswith("LICENSE"):
            continue
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".html":
            with pytest.raises(RemoteDataError, match="HTML"):
                parse_any(text)
        else:
            assert parse_any(text).rows > 0, path.name


def test_bom_and_leading_blank_lines_are_tolerated() -> None:
    text = read_text("history-report/NAVHistoryReport_new-layout_all-AMCs_2026-09-27-Sunday.txt")
    assert parse_any("\ufeff\r\n \r\n" + text).rows == 708
    mfapi = read_text(
        "mfapi/mfapi_147389_tata-corporate-bond-direct-growth_segregated-portfolio_"
        "2019-06-17_2022-02-09.json"
    )
    assert parse_any("\ufeff  " + mfapi).rows == 645


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("<!DOCTYPE html><html><body>Maintenance</body></html>", "HTML"),
        ("  \r\n<html>", "HTML"),
        ("<head><title>Document Moved</title></head>", "HTML"),
        ("Scheme Code;Name;NAV;Date\r\n1;x;10.0;01-Jan-2020", "unknown header"),
        ("hello world", "not an AMFI NAV file"),
        ("", "not an AMFI NAV file"),
        ("scheme_code,nav,date\n1,10,2020-01-01", "not an AMFI NAV file"),
    ],
)
def test_refuses_what_it_does_not_know(text: str, match: str) -> None:
    with pytest.raises(RemoteDataError, match=match):
        parse_any(text)


def test_parsers_do_not_import_httpx() -> None:
    """`mftrack --help` must not import httpx; only the client module may."""
    code = (
        "import sys, mftrack.adapters.amfi, mftrack.adapters.amfi.detect, "
        "mftrack.adapters.amfi.client; print('httpx' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
