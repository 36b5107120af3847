"""`mftrack summary` and `mftrack demo` through the real CLI, on real NAV histories."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal

from tests.helpers import mfapi_file, run_cli


def load(*codes: int) -> None:
    result = run_cli("nav", "import", *(str(mfapi_file(c)) for c in codes))
    assert result.exit_code == 0, result.stderr


def test_summary_json_is_one_object_with_the_documented_keys(monkeypatch) -> None:
    load(120503, 122639)
    run_cli("add-sip", "120503", "--amount", "5000", "--start", "2021-04-05")
    run_cli("add-sip", "122639", "--amount", "2500", "--start", "2025-06-10")
    monkeypatch.setenv("MFTRACK_TODAY", "2025-12-10")
    result = run_cli("summary", "--json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)  # exactly one JSON document on stdout
    assert data["as_of"] == "2025-12-10"
    by_code = {s["scheme_code"]: s for s in data["schemes"]}
    elss, ppfas = by_code[120503], by_code[122639]
    for scheme in (elss, ppfas):
        for key in ("scheme_name", "instalments", "pending", "invested", "units", "nav",
                    "nav_date", "value", "gain", "xirr", "absolute_return"):
            assert key in scheme
        assert isinstance(scheme["invested"], str) and Decimal(scheme["invested"]) > 0
        assert Decimal(scheme["gain"]) == Decimal(scheme["value"]) - Decimal(scheme["invested"])
    # 2021-04-05 .. 2025-12-05: 57 monthly instalments of 5,000.
    assert elss["instalments"] == 57 and elss["invested"] == "285000.00"
    assert isinstance(elss["xirr"], float)
    # Younger than a year: no XIRR, the absolute return instead (F10, SEBI).
    assert ppfas["xirr"] is None and isinstance(ppfas["absolute_return"], float)
    total = data["total"]
    assert Decimal(total["invested"]) == Decimal(elss["invested"]) + Decimal(ppfas["invested"])
    assert Decimal(total["value"]) == Decimal(elss["value"]) + Decimal(ppfas["value"])


def test_as_of_in_the_past_uses_only_what_was_known_then() -> None:
    load(120503)
    run_cli("add-sip", "120503", "--amount", "5000", "--start", "2021-04-05")
    result = run_cli("summary", "--as-of", "2021-06-30", "--json")
    (elss,) = json.loads(result.stdout)["schemes"]
    assert elss["instalments"] == 3
    assert elss["nav_date"] <= "2021-06-30"


def test_instalments_after_the_last_nav_are_pending_not_dropped(monkeypatch) -> None:
    load(120503)  # the history ends on 2025-12-11
    run_cli("add-sip", "120503", "--amount", "5000", "--start", "2025-10-20")
    monkeypatch.setenv("MFTRACK_TODAY", "2026-02-25")
    result = run_cli("summary", "--json")
    (elss,) = json.loads(result.stdout)["schemes"]
    assert elss["instalments"] == 2  # Oct 20, Nov 20
    assert elss["pending"] == 3  # Dec 20, Jan 20, Feb 20: no NAV known yet
    assert elss["invested"] == "10000.00"
    assert "out of date" in result.stderr  # a stale NAV is warned about on stderr


def test_csv_has_a_row_per_scheme_and_a_total_only_when_asked() -> None:
    """Issue 10 item 7: a TOTAL row double-counts when a spreadsheet sums a column."""
    load(120503, 122639)
    run_cli("add-sip", "120503", "--amount", "5000", "--start", "2021-04-05")
    run_cli("add-sip", "122639", "--amount", "2500", "--start", "2024-01-10")
    plain = run_cli("summary", "--csv", "--as-of", "2025-12-10")
    rows = list(csv.DictReader(io.StringIO(plain.stdout)))
    assert sorted(r["scheme_code"] for r in rows) == ["120503", "122639"]
    assert "TOTAL" not in plain.stdout
    with_total = run_cli("summary", "--csv", "--total", "--as-of", "2025-12-10")
    *schemes, total = list(csv.DictReader(io.StringIO(with_total.stdout)))
    assert schemes == rows and total["scheme_name"] == "TOTAL"
    for column in ("invested", "stamp_duty", "value", "gain"):  # the sum of the scheme rows
        assert Decimal(total[column]) == sum(Decimal(r[column]) for r in rows), column
    # 57 instalments of 5,000 (2021-04-05..2025-12-05) + 24 of 2,500 (2024-01-10..2025-12-10)
    assert Decimal(total["invested"]) == 57 * 5000 + 24 * 2500
    refused = run_cli("summary", "--total")
    assert refused.exit_code == 2 and "--total only applies to --csv" in refused.stderr


def test_amounts_that_stayed_at_zero_have_two_decimals_like_the_rest() -> None:
    """A SIP whose first instalment is still to come: "0.00", not "0" (issue 10 item 7)."""
    load(120503)
    run_cli("add-sip", "120503", "--amount", "5000", "--start", "2025-12-20")
    data = json.loads(run_cli("summary", "--json", "--as-of", "2025-12-10").stdout)
    (scheme,) = data["schemes"]
    assert [scheme[k] for k in ("invested", "stamp_duty", "value", "gain", "units")] == [
        "0.00", "0.00", "0.00", "0.00", "0.000"]
    assert [data["total"][k] for k in ("invested", "value", "gain")] == ["0.00", "0.00", "0.00"]
    row = next(csv.DictReader(io.StringIO(
        run_cli("summary", "--csv", "--as-of", "2025-12-10").stdout)))
    assert (row["invested"], row["units"], row["value"]) == ("0.00", "0.000", "0.00")


def test_empty_portfolio_says_how_to_start() -> None:
    result = run_cli("summary")
    assert result.exit_code == 0
    assert result.stdout == ""
    assert "mftrack demo" in result.stderr


def test_bad_as_of_is_a_usage_error() -> None:
    result = run_cli("summary", "--as-of", "31/02/2024")
    assert result.exit_code == 2
    assert "is not a YYYY-MM-DD date" in result.stderr


def test_demo_prints_a_real_summary_and_leaves_the_user_database_alone(isolated_home) -> None:
    result = run_cli("demo", "--json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["as_of"] == "2025-12-10"
    assert len(data["schemes"]) == 5
    assert all(Decimal(s["value"]) > 0 for s in data["schemes"])
    assert not (isolated_home / "mftrack.db").exists()
    assert (isolated_home / "demo" / "mftrack.db").exists()
    again = run_cli("demo", "--json")
    assert json.loads(again.stdout) == data  # rebuilt from scratch: same result


def test_as_of_before_every_start_warns_about_nothing() -> None:
    load(120503)
    run_cli("add-sip", "120503", "--amount", "5000", "--start", "2021-04-05")
    result = run_cli("summary", "--as-of", "2015-01-01", "--json")
    assert result.exit_code == 0
    assert result.stderr == ""
    (elss,) = json.loads(result.stdout)["schemes"]
    assert elss["instalments"] == 0 and elss["pending"] == 0


def test_demo_never_replaces_a_folder_it_did_not_make(tmp_path, isolated_home) -> None:
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "notes.txt").write_text("keep")
    result = run_cli("demo", "--home", str(precious))
    assert result.exit_code == 2 and "not made by `mftrack demo`" in result.stderr
    assert (precious / "notes.txt").read_text() == "keep"
    run_cli("add-sip", "1", "--amount", "1", "--start", "2021-01-01")  # creates the real db
    parent = run_cli("demo", "--home", str(isolated_home.parent))
    assert parent.exit_code == 2 and "holds your own data folder" in parent.stderr
    assert isolated_home.exists()
    fresh = tmp_path / "fresh"
    assert run_cli("demo", "--home", str(fresh), "--json").exit_code == 0
    assert run_cli("demo", "--home", str(fresh), "--json").exit_code == 0  # its own: rebuilt


def test_pending_and_late_allotments_are_warned_about(monkeypatch) -> None:
    from tests.helpers import NAVALL

    # Only one NAVAll snapshot known locally: the 10-Aug-2026 instalment can only be allotted
    # at the 18-Aug NAV, 8 days late: valued, but flagged.
    run_cli("nav", "import", str(NAVALL / "NAVAll_2026-08-18_last-6col.txt"))
    run_cli("add-sip", "120503", "--amount", "5000", "--start", "2026-08-10")
    result = run_cli("--verbose", "summary", "--as-of", "2026-08-18", "--json")
    (elss,) = json.loads(result.stdout)["schemes"]
    assert elss["instalments"] == 1 and elss["nav_date"] == "2026-08-18"
    assert "more than 4 days after the due date" in result.stderr
    assert "`mftrack nav update` fetches them" in result.stderr
    later = run_cli("--verbose", "summary", "--as-of", "2026-09-15", "--json")
    assert json.loads(later.stdout)["schemes"][0]["pending"] == 1
    assert "1 instalment due 2026-09-10 pending" in later.stderr


def test_xirr_is_dated_on_the_nav_it_was_valued_at(monkeypatch) -> None:
    load(120503)  # the history ends on 2025-12-11
    run_cli("add-sip", "120503", "--amount", "5000", "--start", "2021-04-05", "--end",
            "2025-12-11")
    on_last_nav = json.loads(run_cli("summary", "--as-of", "2025-12-11", "--json").stdout)
    monkeypatch.setenv("MFTRACK_TODAY", "2026-11-24")
    a_year_later = json.loads(run_cli("summary", "--json").stdout)
    assert a_year_later["schemes"][0]["value"] == on_last_nav["schemes"][0]["value"]
    assert a_year_later["schemes"][0]["xirr"] == on_last_nav["schemes"][0]["xirr"]
    assert a_year_later["total"]["xirr"] == on_last_nav["total"]["xirr"]


def test_a_scheme_whose_navs_all_predate_the_sip_is_valued_at_its_last_nav() -> None:
    # 102987 closed in 2006: its last NAV is 10.70450 on 24-05-2006 (the file's first row), a
    # week before this SIP's start. Instalments due 1 Jun 2006 .. 1 Jun 2007 (13) stay pending.
    load(102987)
    run_cli("add-sip", "102987", "--amount", "1000", "--start", "2006-06-01")
    result = run_cli("--verbose", "summary", "--json", "--as-of", "2007-06-30")
    assert result.exit_code == 0, result.stderr
    (scheme,) = json.loads(result.stdout)["schemes"]
    assert (scheme["nav"], scheme["nav_date"]) == ("10.70450", "2006-05-24")
    assert (scheme["instalments"], scheme["pending"]) == (0, 13)
    assert scheme["stale"] is True
    assert "no NAV history at all" not in result.stderr
    assert "13 instalments due 2006-06-01 to 2007-06-01 pending" in result.stderr


def test_purchases_follow_the_nav_rule_of_the_scheme_category() -> None:
    # mfapi files: 120503 "Equity Scheme - ELSS" has a Sunday NAV 31-03-2024 94.73140 and
    # 01-04-2024 95.50400; 119800 "Debt Scheme - Liquid Fund" has 01-06-2024 3826.05460,
    # 02-06-2024 3826.77500 (Sunday), 03-06-2024 3827.56780.
    load(120503, 119800)
    run_cli("add-sip", "120503", "--amount", "5000", "--start", "2024-03-31")
    run_cli("add-sip", "119800", "--amount", "5000", "--start", "2024-06-01")
    elss = json.loads(run_cli("summary", "--json", "--as-of", "2024-04-01").stdout)["schemes"]
    # ELSS due Sunday 31 Mar: processed Monday 1 Apr at 95.50400, not at the Sunday NAV.
    assert elss[0]["units"] == "52.351"  # 4999.75 / 95.50400 = 52.35121... (3 places, down)
    # Liquid due Saturday 1 Jun: business day Monday 3 Jun, at the NAV of Sunday 2 Jun.
    result = run_cli("summary", "--json", "--as-of", "2024-06-03")
    liquid = next(s for s in json.loads(result.stdout)["schemes"] if s["scheme_code"] == 119800)
    assert liquid["units"] == "1.306"  # 4999.75 / 3826.77500 = 1.30651... (3 places, down)
    assert liquid["instalments"] == 1
    on_sunday = run_cli("summary", "--json", "--as-of", "2024-06-02")
    liquid = next(s for s in json.loads(on_sunday.stdout)["schemes"] if s["scheme_code"] == 119800)
    assert (liquid["instalments"], liquid["pending"]) == (0, 1)
