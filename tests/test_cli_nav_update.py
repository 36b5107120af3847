"""`mftrack nav update` and `add-sip` fetching history (issue 10, flow 1), through the real CLI
against a loopback AMFI and mfapi.in serving the real files. Expected counts are derived from
the real mfapi.in JSON in the test, not copied from output."""

from __future__ import annotations

import json
from datetime import date, datetime

from tests.helpers import NAVALL, CliResult, mfapi_file, run_cli
from tests.loopback import LoopbackServer, Reply, closed_port_url

ELSS = 120503
TODAY = date(2025, 12, 11)
START = date(2025, 6, 10)
NAVALL_FILE = NAVALL / "NAVAll_2025-12-11.txt"


def env_for(server: LoopbackServer, **extra: str) -> dict[str, str]:
    return {
        "MFTRACK_AMFI_NAVALL_URL": server.url("/NAVAll.txt"),
        "MFTRACK_AMFI_HISTORY_URL": server.url("/history"),  # 404: mfapi.in is the fallback
        "MFTRACK_MFAPI_BASE_URL": server.url("/"),
        "MFTRACK_NETWORK_RETRIES": "0",
        "MFTRACK_TODAY": TODAY.isoformat(),
        **extra,
    }


def serve(server: LoopbackServer) -> None:
    server.route("/NAVAll.txt", Reply(body=NAVALL_FILE.read_bytes()))
    server.route(f"/mf/{ELSS}", Reply(body=mfapi_file(ELSS).read_bytes()))


def mfapi_dates(code: int, first: date, last: date) -> list[date]:
    data = json.loads(mfapi_file(code).read_text(encoding="utf-8"))["data"]
    days = (datetime.strptime(row["date"], "%d-%m-%Y").date() for row in data)
    return sorted(d for d in days if first <= d <= last)


def due_dates() -> list[date]:
    """The 10th of each month from June to December 2025: all due by 11 Dec."""
    return [date(2025, month, 10) for month in range(6, 13)]


def add_elss(env: dict[str, str]) -> CliResult:
    return run_cli("add-sip", str(ELSS), "-a", "5000", "--start", str(START), env=env)


def summary(env: dict[str, str]) -> tuple[dict, str]:  # type: ignore[type-arg]
    result = run_cli("summary", "--json", env=env)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout), result.stderr


def test_nav_update_fills_the_gap_that_a_new_sip_shows(loopback: LoopbackServer) -> None:
    serve(loopback)
    env = env_for(loopback)  # nav.fetch_on_add stays off (conftest): the old behaviour
    assert run_cli("nav", "import", str(NAVALL_FILE), env=env).exit_code == 0
    assert add_elss(env).exit_code == 0
    data, warnings = summary(env)
    assert data["total"]["instalments"] == 1  # only 10 Dec rolls to the 11-Dec NAV
    assert "a gap in the NAV history" in warnings
    assert "run `mftrack nav update`" in warnings

    result = run_cli("nav", "update", "--json", env=env)
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["history"]["suspects"] == {str(ELSS): START.isoformat()}
    stored = mfapi_dates(ELSS, START, TODAY)
    assert report["history"]["fetched"] == [f"{ELSS}: {len(stored):,} NAVs from {START}"]
    dues = due_dates()
    assert report["allotted"] == f"{len(dues) - 1} instalments allotted (pending 0 -> 0)"

    data, warnings = summary(env)
    assert data["total"]["instalments"] == len(dues)
    assert data["total"]["invested"] == f"{5000 * len(dues)}.00"
    assert "gap" not in warnings
    from mftrack.adapters.sqlite.store import LocalStore
    from mftrack.config import resolve_paths
    from mftrack.services.valuations import read_valuations

    paths = resolve_paths()
    store = LocalStore(paths.database, backup_dir=paths.backup_dir)
    try:
        series = read_valuations(store)  # refreshed as the daemon would
    finally:
        store.close()
    assert series[-1].valuation_date == TODAY
    assert format(series[-1].invested, "f") == data["total"]["invested"]

    # nothing left to fetch: a second run asks mfapi.in nothing
    asked = len(loopback.requests_to(f"/mf/{ELSS}"))
    again = json.loads(run_cli("nav", "update", "--json", env=env).stdout)
    assert again["history"]["suspects"] == {}
    assert len(loopback.requests_to(f"/mf/{ELSS}")) == asked


def test_a_scheme_nobody_knows_yet_is_asked_for_on_every_run(loopback: LoopbackServer) -> None:
    serve(loopback)
    loopback.route(f"/mf/{ELSS}", Reply(status=404))
    env = env_for(loopback)
    assert run_cli("nav", "import", str(NAVALL_FILE), env=env).exit_code == 0
    assert add_elss(env).exit_code == 0
    for _ in range(2):
        result = run_cli("nav", "update", env=env)
        assert result.exit_code == 0, result.stderr
        assert f"{ELSS}: no history (mfapi.in does not know scheme {ELSS})" in result.stderr
    assert len(loopback.requests_to(f"/mf/{ELSS}")) == 2  # never marked as checked


def test_nav_update_offline_exits_transient() -> None:
    env = {
        "MFTRACK_AMFI_NAVALL_URL": closed_port_url("/NAVAll.txt"),
        "MFTRACK_NETWORK_RETRIES": "0",
    }
    result = run_cli("nav", "update", env=env)
    assert result.exit_code == 75, result.stderr
    assert "could not download AMFI's NAVAll.txt" in result.stderr


HDFC_MID_CAP = 118989  # sorts before the ELSS: its history is asked for first


def add_sip(env: dict[str, str], code: int) -> None:
    added = run_cli("add-sip", str(code), "-a", "5000", "--start", str(START), env=env)
    assert added.exit_code == 0, added.stderr


def test_nav_update_stops_at_a_dead_network_and_says_so_once() -> None:
    """The lead's defect: offline, every held scheme's history used to be tried against every
    source, each with its retries (~25 lines, ~30 s). Now the first connect failure marks the
    host dead for the run: its retries are shown once, one scheme is tried, one Error/Hint."""
    base = closed_port_url("")  # one host for all three sources, refusing every connection
    env = {
        "MFTRACK_AMFI_NAVALL_URL": f"{base}/NAVAll.txt",
        "MFTRACK_AMFI_HISTORY_URL": f"{base}/history",
        "MFTRACK_MFAPI_BASE_URL": f"{base}/",
        "MFTRACK_NETWORK_RETRIES": "2",
        "MFTRACK_TODAY": TODAY.isoformat(),
    }
    assert run_cli("nav", "import", str(NAVALL_FILE), env=env).exit_code == 0
    for code in (HDFC_MID_CAP, ELSS):
        add_sip(env, code)
    result = run_cli("nav", "update", env=env)
    assert result.exit_code == 75, result.stderr  # exit-codes.md TRANSIENT
    lines = result.stderr.splitlines()
    retries = [line for line in lines if "retrying in" in line]
    assert len(retries) == 2 and all(r.startswith("AMFI's NAVAll.txt:") for r in retries)
    assert [line for line in lines if line.startswith("history ")] == [
        f"history {HDFC_MID_CAP} from {START}"
    ]
    assert lines[-2].startswith("Error: could not connect (127.0.0.1:")
    assert lines[-1].startswith("Hint: check your connection")
    assert len(lines) == len(retries) + 3


def test_an_unresolvable_name_is_not_retried() -> None:
    """A name that does not resolve is not asked again 0.5 s later (client.py says why);
    `.invalid` never resolves (RFC 2606)."""
    env = {
        "MFTRACK_AMFI_NAVALL_URL": "http://navall.mftrack-test.invalid/NAVAll.txt",
        "MFTRACK_NETWORK_RETRIES": "3",
    }
    result = run_cli("nav", "update", env=env)
    assert result.exit_code == 75, result.stderr
    assert "retrying" not in result.stderr
    assert "could not download AMFI's NAVAll.txt" in result.stderr
    assert "(1 attempt)" in result.stderr


def test_http_failures_of_one_scheme_do_not_stop_the_others(loopback: LoopbackServer) -> None:
    """Only a dead network ends the run: AMFI's 503, its history 404 and mfapi.in's 500 for one
    scheme still let the next scheme be fetched."""
    serve(loopback)
    env = env_for(loopback)
    assert run_cli("nav", "import", str(NAVALL_FILE), env=env).exit_code == 0
    for code in (HDFC_MID_CAP, ELSS):
        add_sip(env, code)
    loopback.route("/NAVAll.txt", Reply(status=503))
    loopback.route(f"/mf/{HDFC_MID_CAP}", Reply(status=500))
    result = run_cli("nav", "update", env=env)
    assert result.exit_code == 75, result.stderr  # a download failed: retry later
    assert len(loopback.requests_to(f"/mf/{HDFC_MID_CAP}")) == 1
    assert len(loopback.requests_to(f"/mf/{ELSS}")) == 1
    data, _ = summary(env)
    elss = next(s for s in data["schemes"] if s["scheme_code"] == ELSS)
    assert elss["instalments"] == len(due_dates())


def test_add_sip_online_fetches_the_history_from_the_start(loopback: LoopbackServer) -> None:
    serve(loopback)
    env = env_for(loopback, MFTRACK_NAV_FETCH_ON_ADD="on")
    assert run_cli("nav", "import", str(NAVALL_FILE), env=env).exit_code == 0
    added = add_elss(env)
    assert added.exit_code == 0, added.stderr
    stored = mfapi_dates(ELSS, START, TODAY)
    assert f"NAV history: {len(stored):,} NAVs from {START} via mfapi" in added.stderr
    data, warnings = summary(env)
    assert data["total"]["instalments"] == len(due_dates())
    assert "gap" not in warnings


def test_add_sip_offline_still_records_and_names_the_command() -> None:
    env = {
        "MFTRACK_AMFI_HISTORY_URL": closed_port_url("/history"),
        "MFTRACK_MFAPI_BASE_URL": closed_port_url("/"),
        "MFTRACK_NAV_FETCH_ON_ADD": "on",
        "MFTRACK_TODAY": TODAY.isoformat(),
    }
    assert run_cli("nav", "import", str(NAVALL_FILE), env=env).exit_code == 0
    added = add_elss(env)
    assert added.exit_code == 0, added.stderr
    warnings = [line for line in added.stderr.splitlines() if line.startswith("Warning:")]
    assert len(warnings) == 1 and "retrying" not in added.stderr
    assert "the SIP is recorded, but its NAV history was not fetched (could not connect: " \
        "127.0.0.1:" in added.stderr
    assert "run `mftrack nav update` to fetch its NAVs" in added.stderr
    sips = json.loads(run_cli("sips", "--json", env=env).stdout)
    assert [s["scheme_code"] for s in sips] == [ELSS]
