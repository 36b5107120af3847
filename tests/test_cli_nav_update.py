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
    assert "the SIP is recorded, but its NAV history was not fetched" in added.stderr
    assert "run `mftrack nav update` to fetch its NAVs" in added.stderr
    sips = json.loads(run_cli("sips", "--json", env=env).stdout)
    assert [s["scheme_code"] for s in sips] == [ELSS]
