"""`mftrack nav pull|history|import` end to end: real AMFI bytes from a loopback server."""

from __future__ import annotations

import json
import sqlite3

from mftrack.config import resolve_paths
from tests.helpers import HISTORY, NAVALL, mfapi_file, run_cli, run_subprocess
from tests.loopback import LoopbackServer, Reply, closed_port_url

NAVALL_2026 = NAVALL / "NAVAll_2026-08-21_8col-plan-option.txt"
REPORT_2026 = HISTORY / "NAVHistoryReport_new-layout_all-AMCs_2026-09-27-Sunday.txt"
ABSL_OVERNIGHT = 145488  # in both the Aug-2026 NAVAll and the 27-Sep-2026 history report


def env_for(server: LoopbackServer) -> dict[str, str]:
    return {
        "MFTRACK_AMFI_NAVALL_URL": server.url("/spages/NAVAll.txt"),
        "MFTRACK_AMFI_HISTORY_URL": server.url("/DownloadNAVHistoryReport_Po.aspx"),
        "MFTRACK_MFAPI_BASE_URL": server.url("/mfapi"),
        "MFTRACK_NETWORK_RETRIES": "1",
    }


def nav_rows() -> int:
    db = resolve_paths().database
    if not db.exists():
        return 0
    return sqlite3.connect(db).execute("select count(*) from navs").fetchone()[0]


def test_pull_follows_the_redirect_and_stores_every_scheme(loopback: LoopbackServer) -> None:
    loopback.route("/spages/NAVAll.txt", Reply.redirect("/portal/NAVAll.txt"))
    loopback.route("/portal/NAVAll.txt", Reply(body=NAVALL_2026.read_bytes()))
    result = run_cli("nav", "pull", "--json", env=env_for(loopback))
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["layout"] == "navall-2026-8col"
    assert report["schemes"] == 14_282
    written = report["navs_written"]
    assert written == nav_rows() > 13_000
    again = run_cli("nav", "pull", "--json", "--quiet", env=env_for(loopback))
    assert json.loads(again.stdout)["navs_written"] == 0  # idempotent
    shown = json.loads(run_cli("scheme", "show", str(ABSL_OVERNIGHT), "--json").stdout)
    assert shown["nav"] == "1002.9117" and shown["nav_date"] == "2026-08-21"
    assert shown["plan"] == "Direct Plan" and shown["option"] == "Monthly IDCW"


def test_html_error_pages_are_refused_and_nothing_is_stored(loopback: LoopbackServer) -> None:
    for page in ("error_www-NAVAll_404-page_2025-09-14.html",
                 "error_www-NAVAll_object-moved_2025-09-16.html"):
        loopback.route("/spages/NAVAll.txt", Reply(body=(NAVALL / page).read_bytes(),
                                                   content_type="text/html"))
        result = run_cli("nav", "pull", env=env_for(loopback))
        assert result.exit_code == 5, result.stderr
        assert "HTML" in result.stderr and "Traceback" not in result.stderr
        assert nav_rows() == 0


def test_a_dead_network_is_the_transient_exit_code() -> None:
    result = run_cli("nav", "pull", "--quiet",
                     env={"MFTRACK_AMFI_NAVALL_URL": closed_port_url(),
                          "MFTRACK_NETWORK_RETRIES": "0"})
    assert result.exit_code == 75
    assert result.stderr.startswith("Error: could not download")
    assert "Hint:" in result.stderr
    logged = run_cli("logs", "--level", "WARNING")  # what a cron job's owner reads later
    assert "failed (exit 75): could not download AMFI's NAVAll.txt" in logged.stdout


def test_history_asks_amfi_by_fund_house_in_90_day_windows(loopback: LoopbackServer) -> None:
    loopback.route("/spages/NAVAll.txt", Reply(body=NAVALL_2026.read_bytes()))
    loopback.route("/DownloadNAVHistoryReport_Po.aspx", Reply(body=REPORT_2026.read_bytes()))
    assert run_cli("nav", "pull", "-q", env=env_for(loopback)).exit_code == 0
    result = run_cli("nav", "history", str(ABSL_OVERNIGHT), "--from", "2026-04-01",
                     "--to", "2026-09-30", "--json", env=env_for(loopback))
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["kind"] == "history" and report["navs"] >= 1
    queries = [r.query for r in loopback.requests_to("/DownloadNAVHistoryReport_Po.aspx")]
    assert len(queries) == 3  # 183 days in windows of at most 90
    assert all(q["mf"] == "3" for q in queries)  # Aditya Birla Sun Life Mutual Fund
    assert queries[0]["frmdt"] == "01-Apr-2026"
    db = sqlite3.connect(resolve_paths().database)
    assert db.execute(
        "select nav, source from navs where scheme_code = ? and nav_date = '2026-09-27'",
        (ABSL_OVERNIGHT,),
    ).fetchone() == ("1000.2953", "amfi-history")


def test_history_falls_back_to_mfapi_when_amfi_fails(loopback: LoopbackServer) -> None:
    december = (NAVALL / "NAVAll_2025-12-11.txt").read_bytes()
    loopback.route("/spages/NAVAll.txt", Reply(body=december))
    loopback.route("/DownloadNAVHistoryReport_Po.aspx", Reply(status=503))
    loopback.route("/mfapi/mf/120503", Reply(body=mfapi_file(120503).read_bytes(),
                                            content_type="application/json"))
    assert run_cli("nav", "pull", "-q", env=env_for(loopback)).exit_code == 0
    result = run_cli("nav", "history", "120503", "--from", "2021-01-01", "--to", "2021-12-31",
                     env=env_for(loopback))
    assert result.exit_code == 0, result.stderr
    assert "used mfapi.in" in result.stderr
    db = sqlite3.connect(resolve_paths().database)
    count = db.execute(
        "select count(*) from navs where scheme_code = 120503 and source = 'mfapi' "
        "and nav_date between '2021-01-01' and '2021-12-31'"
    ).fetchone()[0]
    assert 240 <= count <= 260  # a year of business days


def test_import_detects_each_kind_from_content() -> None:
    files = [NAVALL / "NAVAll_2017-04-13_legacy-8col-repurchase-sale.txt", REPORT_2026,
             mfapi_file(122639)]
    result = run_cli("nav", "import", *map(str, files), "--json")
    assert result.exit_code == 0, result.stderr
    kinds = [(r["kind"], r["layout"]) for r in json.loads(result.stdout)]
    assert kinds == [("navall", "navall-2017-8col"), ("history", "history-2026"),
                     ("mfapi", "mfapi")]


def test_a_bad_file_in_a_batch_is_reported_and_the_others_still_import() -> None:
    files = [mfapi_file(122639), NAVALL / "error_www-NAVAll_404-page_2025-09-14.html",
             mfapi_file(120503)]
    result = run_cli("nav", "import", *map(str, files), "--json")
    assert result.exit_code == 1  # some items of a batch failed
    imported = [r["origin"] for r in json.loads(result.stdout)]
    assert imported == [str(files[0]), str(files[2])]
    assert "error_www-NAVAll_404-page" in result.stderr and "HTML" in result.stderr
    db = sqlite3.connect(resolve_paths().database)
    codes = {row[0] for row in db.execute("select distinct scheme_code from navs")}
    assert codes == {122639, 120503}


def test_history_source_is_a_typed_choice(loopback: LoopbackServer) -> None:
    """Issue 15: `--source` is an Enum Typer checks (case-insensitive), not a hand-made check."""
    loopback.route("/mfapi/mf/120503", Reply(body=mfapi_file(120503).read_bytes(),
                                            content_type="application/json"))
    bad = run_cli("nav", "history", "120503", "--source", "bse", env=env_for(loopback))
    assert bad.exit_code == 2
    assert "'bse' is not one of 'auto', 'amfi', 'mfapi'" in bad.stderr
    assert nav_rows() == 0
    good = run_cli("nav", "history", "120503", "--source", "MFAPI", "--from", "2021-01-01",
                   "--to", "2021-01-31", env=env_for(loopback))
    assert good.exit_code == 0, good.stderr
    assert nav_rows() > 0
    assert not [r for r in loopback.requests if "Download" in r.path]  # AMFI was never asked


def test_import_dash_reads_standard_input() -> None:
    """Issue 10 item 5: `curl … | mftrack nav import -`."""
    raw = mfapi_file(120503).read_bytes()
    expected = sum(1 for row in json.loads(raw)["data"] if float(row["nav"]) > 0)
    result = run_subprocess("nav", "import", "-", "--json", input=raw.decode("utf-8"))
    assert result.exit_code == 0, result.stderr
    (report,) = json.loads(result.stdout)
    assert report["origin"] == "standard input"
    assert nav_rows() == expected


def test_import_of_a_missing_unreadable_or_non_utf8_file_changes_nothing(tmp_path) -> None:
    """Issue 15: each failure through the real CLI: its exit code, one message, no NAV stored."""
    missing = tmp_path / "NAVAll.txt"
    result = run_subprocess("nav", "import", str(missing))
    assert result.exit_code == 3  # NOT_FOUND (docs/exit-codes.md)
    assert f"no such file: {missing}" in result.stderr
    # /proc/self/mem cannot be read from its start, even by root: a real read error (EIO)
    result = run_subprocess("nav", "import", "/proc/self/mem")
    assert result.exit_code == 2  # USAGE: a file the user named that cannot be read
    assert "cannot read /proc/self/mem" in result.stderr
    latin1 = tmp_path / "navall-latin1.txt"
    text = (NAVALL / "NAVAll_2025-12-11.txt").read_text(encoding="utf-8")
    latin1.write_bytes(text.replace("–", "-").replace("’", "'").encode("utf-8") + b"\xe9\xff\n")
    result = run_subprocess("nav", "import", str(latin1))
    assert result.exit_code == 5  # REMOTE_DATA: content mftrack cannot read
    assert "is not UTF-8 text" in result.stderr
    assert "Traceback" not in result.stderr
    assert nav_rows() == 0


def test_history_reports_the_dates_it_got_not_the_range_asked_for(
    loopback: LoopbackServer,
) -> None:
    """Issue 10 item 5: asked from 2012, the mfapi history of 120503 starts in 2013."""
    from datetime import date, datetime

    raw = mfapi_file(120503).read_bytes()
    loopback.route("/mfapi/mf/120503", Reply(body=raw, content_type="application/json"))
    dates = [datetime.strptime(r["date"], "%d-%m-%Y").date() for r in json.loads(raw)["data"]
             if float(r["nav"]) > 0]
    got = [d for d in dates if date(2012, 1, 1) <= d <= date(2013, 1, 31)]
    result = run_cli("nav", "history", "120503", "--source", "mfapi", "--from", "2012-01-01",
                     "--to", "2013-01-31", env=env_for(loopback))
    assert result.exit_code == 0, result.stderr
    assert f"{len(got)} NAVs dated {min(got)} to {max(got)}" in result.stderr
    assert "2012-01-01" not in result.stderr


def test_pull_says_which_date_the_file_is_from(loopback: LoopbackServer) -> None:
    from datetime import datetime

    body = (NAVALL / "NAVAll_2025-12-11.txt").read_bytes()
    loopback.route("/spages/NAVAll.txt", Reply(body=body))
    # The date is the last ';'-field of each scheme row (dd-Mon-yyyy); the file's date is the
    # latest of them.
    days = {datetime.strptime(line.rsplit(";", 1)[1].strip(), "%d-%b-%Y").date()
            for line in body.decode("utf-8").splitlines()
            if line[:1].isdigit() and line.count(";") >= 5}
    result = run_cli("nav", "pull", env=env_for(loopback))
    assert result.exit_code == 0, result.stderr
    assert f"dated {max(days):%d %b %Y}" in result.stderr
