"""`mftrack serve`'s API over the ASGI app (and a real server for the event stream): every
endpoint on the demo portfolio, bad input, the token, the Host and Origin checks, and the
summary cache emptied by another process's write."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from mftrack.adapters.sqlite.changes import ChangeCounter
from tests.web_helpers import (
    AS_OF,
    BASE,
    PORT,
    TOKEN,
    cli_in,
    demo_template,
    home,
    make_app,
    running_server,
)

__all__ = ["demo_template", "home"]  # fixtures imported for pytest

BEARER = {"Authorization": f"Bearer {TOKEN}"}
ORIGIN = {"Origin": BASE}
COOKIE = f"mftrack_token_{PORT}"
GOOD_SIP = {"scheme": "120503", "amount": "2500", "start": "2024-02-07", "label": "from web"}


@pytest.fixture
def client(home: Path) -> Iterator[TestClient]:
    with TestClient(make_app(home), base_url=BASE) as test_client:
        yield test_client


@pytest.fixture
def authed(client: TestClient) -> TestClient:
    client.cookies.set(COOKIE, TOKEN)
    return client


def summary_json(home: Path, *extra: str) -> dict:
    result = cli_in(home, "summary", "--json", *extra)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


# --- the API ---------------------------------------------------------------------------------


def test_summary_is_exactly_the_object_summary_json_prints(authed: TestClient, home: Path) -> None:
    for query, extra in (("", ()), ("?as_of=2024-03-31", ("--as-of", "2024-03-31"))):
        response = authed.get("/sips/summary" + query)
        assert response.status_code == 200
        assert response.json() == summary_json(home, *extra)


def test_sips_are_exactly_the_records_sips_json_prints(authed: TestClient, home: Path) -> None:
    result = cli_in(home, "sips", "--json")
    assert result.exit_code == 0, result.stderr
    expected = json.loads(result.stdout)
    assert len(expected) == 5 and all("status" in row for row in expected)
    assert authed.get("/sips").json() == expected


def test_summary_refuses_a_future_or_malformed_as_of(authed: TestClient) -> None:
    future = authed.get("/sips/summary?as_of=2030-01-01")
    assert future.status_code == 400
    assert "is in the future" in future.json()["detail"]
    assert authed.get("/sips/summary?as_of=someday").status_code == 400


def test_post_sip_adds_one_that_sips_and_summary_then_show(authed: TestClient, home: Path
                                                           ) -> None:
    before = summary_json(home)["schemes"]
    response = authed.post("/sips/", json=GOOD_SIP, headers=ORIGIN)
    assert response.status_code == 201, response.text
    created = response.json()
    assert (created["scheme_code"], created["amount"], created["start_date"], created["sip_day"],
            created["label"]) == (120503, "2500.00", "2024-02-07", 7, "from web")
    listed = cli_in(home, "sips", "--json")
    assert created["id"] in {row["id"] for row in json.loads(listed.stdout)}
    assert created["id"] in {row["id"] for row in authed.get("/sips").json()}
    # 7 Feb 2024 .. 7 Dec 2025: 23 monthly instalments of ₹2,500 more in scheme 120503.
    old = next(s for s in before if s["scheme_code"] == 120503)
    new = next(s for s in authed.get("/sips/summary").json()["schemes"]
               if s["scheme_code"] == 120503)
    assert new["instalments"] == old["instalments"] + 23
    assert Decimal(new["invested"]) == Decimal(old["invested"]) + 23 * Decimal(2500)


def test_post_sip_into_a_segregated_portfolio_is_recorded_with_add_sips_warning(
        authed: TestClient, home: Path) -> None:
    from tests.helpers import NAVALL

    imported = cli_in(home, "nav", "import", str(NAVALL / "NAVAll_2025-12-10.txt"))
    assert imported.exit_code == 0, imported.stderr
    # 148086 is "UTI - Bond Fund (Segregated - 17022020) - Direct Plan", last NAV 27-Jan-2022.
    response = authed.post("/sips/", json={**GOOD_SIP, "scheme": "148086"}, headers=ORIGIN)
    assert response.status_code == 201, response.text
    [warning] = response.json()["warnings"]
    assert "segregated portfolio" in warning and "since 2022-01-27" in warning
    assert authed.post("/sips/", json=GOOD_SIP, headers=ORIGIN).json()["warnings"] == []


BAD_SIPS = [
    ({**GOOD_SIP, "amount": "abc"}, 400, "is not a number"),
    ({**GOOD_SIP, "amount": "-5"}, 400, "must be more than zero"),
    ({**GOOD_SIP, "amount": "100.001"}, 400, "fractions of a paisa"),
    ({**GOOD_SIP, "start": "2024-13-45"}, 400, "is not a date"),
    ({**GOOD_SIP, "start": "05/04/2024"}, 400, "is not a YYYY-MM-DD date"),
    ({**GOOD_SIP, "end": "2023-01-01"}, 400, "is before"),
    ({**GOOD_SIP, "day": 32}, 400, "from 1 to 31"),
    ({**GOOD_SIP, "step_up": "150%"}, 400, "between 0% and 100%"),
    ({**GOOD_SIP, "scheme": "999999"}, 404, "no scheme with AMFI code 999999"),
    ({**GOOD_SIP, "scheme": "Direct Plan"}, 409, "match"),
    ({"amount": "5000", "start": "2024-01-01"}, 422, "scheme"),
]


@pytest.mark.parametrize(("body", "status", "message"), BAD_SIPS,
                         ids=[m for _, _, m in BAD_SIPS])
def test_bad_sip_is_a_json_4xx_naming_the_cause_and_writes_nothing(
    authed: TestClient, home: Path, body: dict, status: int, message: str
) -> None:
    counter = ChangeCounter(home / "mftrack.db")
    try:
        version = counter.version()
        response = authed.post("/sips/", json=body, headers=ORIGIN)
        assert response.status_code == status, response.text
        assert message in json.dumps(response.json())
        assert counter.version() == version  # no commit at all, by anyone
    finally:
        counter.close()
    assert len(authed.get("/sips").json()) == 5  # the demo's five


def test_ambiguous_scheme_lists_candidates(authed: TestClient) -> None:
    body = authed.post("/sips/", json={**GOOD_SIP, "scheme": "Direct Plan"}, headers=ORIGIN).json()
    assert len(body["candidates"]) > 1
    assert body["hint"]


def test_navs_of_a_scheme_with_weekly_and_monthly_candles(authed: TestClient, home: Path
                                                          ) -> None:
    body = authed.get("/navs/120503").json()
    navs = [(date.fromisoformat(d), Decimal(n)) for d, n in body["navs"]]
    assert navs[0][0].strftime("%Y-%m") == "2016-01"  # from the month of the first instalment
    summary = {s["scheme_code"]: s for s in summary_json(home)["schemes"]}[120503]
    assert navs[-1] == (date.fromisoformat(summary["nav_date"]), Decimal(summary["nav"]))
    assert body["average_cost"] == summary["average_cost"]
    # The last weekly candle, derived here from the daily NAVs of its ISO week.
    last = body["weekly"][-1]
    monday = date.fromisoformat(last["start"])
    week = [n for d, n in navs if d.isocalendar()[:2] == monday.isocalendar()[:2]]
    assert [Decimal(last[k]) for k in ("open", "high", "low", "close")] == [
        week[0], max(week), min(week), week[-1]]
    month = [n for d, n in navs if (d.year, d.month) == (2025, 11)]
    november = next(c for c in body["monthly"] if c["start"] == "2025-11-01")
    assert [Decimal(november[k]) for k in ("open", "high", "low", "close")] == [
        month[0], max(month), min(month), month[-1]]
    # The last 60 calendar months (January 2021 to December 2025) and the last 52 ISO weeks.
    assert len(body["monthly"]) == 60
    assert (body["monthly"][0]["start"], body["monthly"][-1]["start"]) == ("2021-01-01",
                                                                         "2025-12-01")
    assert len(body["weekly"]) == 52
    assert body["weekly"][-1]["start"] == "2025-12-08"  # the Monday of 10 December 2025
    assert authed.get("/navs/999999").status_code == 404


def test_value_series_ends_on_the_summary(authed: TestClient, home: Path) -> None:
    total = summary_json(home)["total"]
    points = authed.get("/value-series").json()
    assert points[-1] == {"date": AS_OF, "invested": total["invested"], "value": total["value"]}
    assert all(a["date"] < b["date"] for a, b in itertools.pairwise(points))
    one = authed.get("/value-series?scheme=118989").json()
    scheme = {s["scheme_code"]: s for s in summary_json(home)["schemes"]}[118989]
    assert (one[-1]["invested"], one[-1]["value"]) == (scheme["invested"], scheme["value"])


def test_dashboard_data_carries_the_summary_and_a_nav_chart_per_scheme(
        authed: TestClient, home: Path) -> None:
    body = authed.get("/dashboard-data").json()
    assert body["summary"] == summary_json(home)
    assert [n["scheme_code"] for n in body["navs"]] == [
        s["scheme_code"] for s in body["summary"]["schemes"]]
    for kind in ("scheme", "category", "fund_house"):
        assert sum(Decimal(s["value"]) for s in body["allocation"][kind]) == Decimal(
            body["summary"]["total"]["value"])


def test_openapi_docs_list_the_original_api(authed: TestClient) -> None:
    paths = authed.get("/openapi.json").json()["paths"]
    expected = {"/sips/", "/sips/summary", "/sips", "/navs/{scheme_code}", "/value-series"}
    assert expected <= set(paths)
    assert "post" in paths["/sips/"]
    docs = authed.get("/docs")
    assert docs.status_code == 200
    assert "/static/swagger/swagger-ui-bundle.js" in docs.text and "cdn" not in docs.text.lower()
    assert authed.get("/static/swagger/swagger-ui-bundle.js").status_code == 200


def test_page_and_static_files_are_served(authed: TestClient) -> None:
    page = authed.get("/")
    assert page.status_code == 200
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert '<script src="/static/chart.umd.js">' in page.text
    chart_js = authed.get("/static/chart.umd.js")
    assert chart_js.status_code == 200 and "Chart.js v4" in chart_js.text[:200]


# --- access ----------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/sips/summary", "/sips", "/static/dashboard.js",
                                  "/events", "/docs", "/openapi.json"])
def test_every_path_is_403_without_the_token(client: TestClient, path: str) -> None:
    assert client.get(path).status_code == 403
    assert client.get(path, headers={"Authorization": "Bearer wrong"}).status_code == 403
    client.cookies.set(COOKIE, "wrong")
    assert client.get(path).status_code == 403


def test_the_printed_url_sets_a_strict_cookie_and_drops_the_token_from_the_address(
        client: TestClient) -> None:
    response = client.get(f"/?token={TOKEN}", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}={TOKEN};")
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert client.get("/sips").status_code == 200  # the cookie now suffices


@pytest.mark.parametrize("host", ["evil.example:8765", "evil.example", "127.0.0.1:9999",
                                  "127.0.0.1.nip.io:8765"])
def test_a_foreign_host_header_is_refused_even_with_the_token(authed: TestClient, host: str
                                                              ) -> None:
    # DNS rebinding: the attacker's name resolves to 127.0.0.1, the browser sends that name.
    response = authed.get("/sips/summary", headers={"Host": host, **BEARER})
    assert response.status_code == 403
    assert "Host header" in response.json()["detail"]
    assert authed.get("/sips/summary", headers={"Host": f"localhost:{PORT}"}).status_code == 200


@pytest.mark.parametrize("origin", [None, "http://evil.example", f"http://127.0.0.1:{PORT + 1}"])
def test_a_change_with_the_cookie_needs_this_servers_origin(authed: TestClient, home: Path,
                                                            origin: str | None) -> None:
    headers = {"Origin": origin} if origin else {}
    response = authed.post("/sips/", json=GOOD_SIP, headers=headers)
    assert response.status_code == 403
    assert "Origin" in response.json()["detail"]
    assert len(authed.get("/sips").json()) == 5


def test_a_script_with_the_bearer_token_needs_no_origin(client: TestClient) -> None:
    assert client.post("/sips/", json=GOOD_SIP, headers=BEARER).status_code == 201


# --- the cache and the event stream --------------------------------------------------------


def test_summary_cache_serves_repeats_and_is_emptied_by_another_process_write(
        authed: TestClient, home: Path) -> None:
    cache = authed.app.state.cache  # type: ignore[attr-defined]
    first = authed.get("/sips/summary").json()
    assert authed.get("/sips/summary").json() == first
    assert (cache.misses, cache.hits) == (1, 1)
    added = cli_in(home, "add-sip", "118989", "--amount", "1000", "--start", "2025-01-20")
    assert added.exit_code == 0, added.stderr
    after = authed.get("/sips/summary").json()
    assert cache.misses == 2
    mid_cap = {s["scheme_code"]: s for s in after["schemes"]}[118989]
    old = {s["scheme_code"]: s for s in first["schemes"]}[118989]
    # 20 Jan .. 20 Nov 2025: 11 more instalments of ₹1,000 (December's falls after as_of).
    assert mid_cap["instalments"] == old["instalments"] + 11
    assert after == summary_json(home)


def test_events_announce_a_change_made_by_another_process(home: Path) -> None:
    import httpx

    with running_server(home) as server, httpx.Client(
            base_url=server.base, headers={"Authorization": f"Bearer {server.token}"},
            timeout=30) as http, http.stream("GET", "/events") as stream:
        assert stream.status_code == 200
        lines = stream.iter_lines()
        assert next(lines).startswith("retry:")
        assert next(lines) == "event: hello"
        added = cli_in(home, "add-sip", "118989", "--amount", "1000", "--start", "2025-01-20")
        assert added.exit_code == 0, added.stderr
        assert any(line == "event: change" for line in lines)


def test_serve_warns_when_listening_beyond_loopback(home: Path) -> None:
    with running_server(home, "--host", "0.0.0.0") as server:
        warning = server.stderr_lines.get(timeout=30)
        assert warning.startswith("Warning: listening on 0.0.0.0")
        assert "127.0.0.1" in server.url


def test_serve_on_a_port_in_use_is_a_one_line_busy_error(home: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        result = cli_in(home, "serve", "--port", str(port))
    assert result.exit_code == 9
    assert result.stderr.startswith(f"Error: port {port} on 127.0.0.1 is already in use")
    assert "Traceback" not in result.stderr


def test_help_and_other_commands_never_import_the_web_stack() -> None:
    from tests.test_architecture import _modules_after

    for code in ("from mftrack.cli import app\ntry:\n    app(['--help'])\nexcept SystemExit:\n"
                 "    pass",
                 "from mftrack.cli import app\ntry:\n    app(['serve', '--help'])\n"
                 "except SystemExit:\n    pass"):
        loaded = _modules_after(code)
        assert not {"fastapi", "uvicorn", "starlette", "mftrack.web"} & loaded



def test_report_html_is_one_file_with_the_summary_inside(home: Path) -> None:
    import re

    result = cli_in(home, "report", "--html", "-", "--as-of", AS_OF)
    assert result.exit_code == 0, result.stderr
    page = result.stdout
    block = re.search(r'<script id="mftrack-data" type="application/json">(.*?)</script>', page,
                      re.S)
    assert block is not None
    data = json.loads(block.group(1))
    assert data["summary"] == summary_json(home, "--as-of", AS_OF)
    assert data["value_history"][-1]["value"] == data["summary"]["total"]["value"]
    assert not re.search(r'\s(src|href)="(?!data:)', page)  # nothing loaded from anywhere
    assert "Content-Security-Policy" in page and "default-src 'none'" in page


def test_served_connections_send_without_waiting_for_acks() -> None:
    # Nagle's algorithm held every keep-alive response's body ~40 ms for the client's delayed
    # ACK (measured by bench/bench_web.py); connections accepted by `serve` have it off.
    import socket

    from mftrack.cli.serve import _bind

    listener = _bind("127.0.0.1", 0)
    try:
        with socket.create_connection(listener.getsockname()[:2]):
            accepted, _ = listener.accept()
            with accepted:
                assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
    finally:
        listener.close()
