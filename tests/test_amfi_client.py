"""AmfiClient against a real loopback HTTP server serving the real AMFI/mfapi.in files."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

import pytest

from mftrack.adapters.amfi.client import AmfiClient
from mftrack.adapters.amfi.history import parse_history_report
from mftrack.adapters.amfi.mfapi import parse_mfapi
from mftrack.adapters.amfi.navall import parse_navall
from mftrack.errors import (
    ConfigError,
    InvalidInputError,
    NetworkError,
    NotFoundError,
    RemoteDataError,
)
from tests.amfi_data import data_file
from tests.loopback import LoopbackServer, Reply, closed_port_url, loopback

__all__ = ["loopback"]  # the imported fixture, registered for this module

NAVALL = data_file("navall/NAVAll_2026-08-21_8col-plan-option.txt").read_bytes()
HISTORY = data_file(
    "history-report/NAVHistoryReport_new-layout_all-AMCs_2026-09-27-Sunday.txt"
).read_bytes()
PAGE_404 = data_file("navall/error_www-NAVAll_404-page_2025-09-14.html").read_bytes()
PAGE_MOVED = data_file("navall/error_www-NAVAll_object-moved_2025-09-16.html").read_bytes()
MFAPI_120503 = data_file(
    "mfapi/mfapi_120503_axis-elss-tax-saver-direct-growth_2013-01-02_2025-12-11.json"
).read_bytes()


class Sleeps(list[float]):
    """An injected `sleep` that records the waits instead of waiting."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


_open_clients: list[AmfiClient] = []


@pytest.fixture(autouse=True)
def _close_clients() -> Iterator[None]:
    """Close every client a test made, so no keep-alive socket outlives its test."""
    yield
    while _open_clients:
        _open_clients.pop().close()


def new_client(*args: str, **kwargs: Any) -> AmfiClient:
    kwargs.setdefault("sleep", Sleeps())
    client = AmfiClient(*args, **kwargs)
    _open_clients.append(client)
    return client


def client_for(server: LoopbackServer, sleeps: Sleeps | None = None, **kwargs: Any) -> AmfiClient:
    return new_client(
        server.url("/spages/NAVAll.txt"),
        server.url("/DownloadNAVHistoryReport_Po.aspx"),
        server.url("/"),
        sleep=sleeps if sleeps is not None else Sleeps(),
        **kwargs,
    )


# --- NAVAll.txt ----------------------------------------------------------------------------


def test_fetches_navall_as_utf8_whatever_the_charset_header(loopback: LoopbackServer) -> None:
    loopback.route(
        "/spages/NAVAll.txt", Reply(body=NAVALL, content_type="text/plain; charset=iso-8859-1")
    )
    with client_for(loopback) as client:
        text = client.fetch_navall()
    assert text == NAVALL.decode("utf-8")
    assert "Children’s Fund" in text  # U+2019, garbled if decoded as Latin-1
    assert parse_navall(text).rows == 14_282
    (request,) = loopback.requests
    assert request.headers["user-agent"].startswith("mftrack/")


def test_follows_the_real_world_redirect_from_the_old_url(loopback: LoopbackServer) -> None:
    """amfi-formats.md 1.1: www.amfiindia.com answers a redirect with an "Object Moved" body."""
    new_home = loopback.url("/spages/NAVAll.txt").encode()
    moved = PAGE_MOVED.replace(b"https://portal.amfiindia.com/spages/NAVAll.txt", new_home)
    assert new_home in moved
    loopback.route("/old/spages/NAVAll.txt", Reply.redirect("/spages/NAVAll.txt", 301, moved))
    loopback.route("/spages/NAVAll.txt", Reply(body=NAVALL))
    text = new_client(loopback.url("/old/spages/NAVAll.txt")).fetch_navall()
    assert parse_navall(text).layout == "navall-2026-8col"
    assert [r.path for r in loopback.requests] == ["/old/spages/NAVAll.txt", "/spages/NAVAll.txt"]


def test_real_404_page_is_remote_data_without_retries(loopback: LoopbackServer) -> None:
    """AMFI's 404 means its address moved (exit 5, hint: the setting), not that something the
    user named does not exist (exit 3 said so before: issue 9 item 12)."""
    sleeps = Sleeps()
    loopback.route("/spages/NAVAll.txt", Reply(status=404, body=PAGE_404, content_type="text/html"))
    with pytest.raises(RemoteDataError, match="404") as info:
        client_for(loopback, sleeps).fetch_navall()
    assert "amfi.navall_url" in (info.value.hint or "")
    assert len(loopback.requests) == 1
    assert sleeps == []


@pytest.mark.parametrize("page", [PAGE_404, PAGE_MOVED, b"\xef\xbb\xbf  \r\n<!DOCTYPE html>"])
def test_html_with_status_200_is_refused(loopback: LoopbackServer, page: bytes) -> None:
    """curl saved both real pages as if they were NAVAll.txt: a 200 proves nothing."""
    loopback.route("/spages/NAVAll.txt", Reply(body=page, content_type="text/html"))
    with pytest.raises(RemoteDataError, match="got an HTML page, not AMFI's NAV text"):
        client_for(loopback).fetch_navall()
    assert len(loopback.requests) == 1


@pytest.mark.parametrize(
    ("body", "match"), [(b"", "empty"), (b"Date;NAV\r\n", "does not start with 'Scheme Code;'")]
)
def test_other_non_amfi_bodies_are_refused(
    loopback: LoopbackServer, body: bytes, match: str
) -> None:
    loopback.route("/spages/NAVAll.txt", Reply(body=body))
    with pytest.raises(RemoteDataError, match=match):
        client_for(loopback).fetch_navall()


def test_bom_is_dropped(loopback: LoopbackServer) -> None:
    loopback.route("/spages/NAVAll.txt", Reply(body=b"\xef\xbb\xbf" + NAVALL))
    assert client_for(loopback).fetch_navall().startswith("Scheme Code;")


# --- retries -------------------------------------------------------------------------------


def test_retries_5xx_then_succeeds_with_exponential_backoff(loopback: LoopbackServer) -> None:
    sleeps = Sleeps()
    loopback.route(
        "/spages/NAVAll.txt",
        Reply(status=500), Reply(status=502), Reply(status=503), Reply(body=NAVALL),
    )
    text = client_for(loopback, sleeps, backoff=0.5).fetch_navall()
    assert text.startswith("Scheme Code;")
    assert len(loopback.requests) == 4
    assert sleeps == [0.5, 1.0, 2.0]


def test_429_honours_a_small_retry_after(loopback: LoopbackServer) -> None:
    sleeps = Sleeps()
    loopback.route(
        "/spages/NAVAll.txt", Reply(status=429, headers={"Retry-After": "7"}), Reply(body=NAVALL)
    )
    client_for(loopback, sleeps).fetch_navall()
    assert sleeps == [7.0]


def test_429_with_a_long_retry_after_gives_up_at_once(loopback: LoopbackServer) -> None:
    sleeps = Sleeps()
    loopback.route("/spages/NAVAll.txt", Reply(status=429, headers={"Retry-After": "3600"}))
    with pytest.raises(NetworkError, match="3600"):
        client_for(loopback, sleeps).fetch_navall()
    assert (len(loopback.requests), sleeps) == (1, [])


def test_persistent_5xx_is_a_network_error_with_a_hint(loopback: LoopbackServer) -> None:
    sleeps = Sleeps()
    loopback.route("/spages/NAVAll.txt", Reply(status=503, body="busy"))
    with pytest.raises(NetworkError, match=r"HTTP 503 \(3 attempts\)") as info:
        client_for(loopback, sleeps, retries=2, backoff=0.25).fetch_navall()
    assert "check your connection" in (info.value.hint or "")
    assert "amfi.navall_url" in (info.value.hint or "")
    assert len(loopback.requests) == 3
    assert sleeps == [0.25, 0.5]


@pytest.mark.parametrize("status", [400, 401, 403, 410, 418])
def test_other_4xx_fail_at_once(loopback: LoopbackServer, status: int) -> None:
    sleeps = Sleeps()
    loopback.route("/spages/NAVAll.txt", Reply(status=status))
    with pytest.raises(RemoteDataError, match=f"HTTP {status}"):
        client_for(loopback, sleeps).fetch_navall()
    assert (len(loopback.requests), sleeps) == (1, [])


def test_dropped_connections_and_truncated_bodies_are_retried(loopback: LoopbackServer) -> None:
    sleeps = Sleeps()
    loopback.route(
        "/spages/NAVAll.txt",
        Reply(drop=True), Reply(body=NAVALL, drop_after=1000), Reply(body=NAVALL),
    )
    assert client_for(loopback, sleeps).fetch_navall() == NAVALL.decode("utf-8")
    assert len(loopback.requests) == 3
    assert len(sleeps) == 2


def test_connection_refused_is_a_network_error() -> None:
    sleeps = Sleeps()
    client = new_client(closed_port_url("/spages/NAVAll.txt"), sleep=sleeps, retries=2)
    with pytest.raises(NetworkError, match="could not connect") as info:
        client.fetch_navall()
    assert "amfi.navall_url" in (info.value.hint or "")
    assert sleeps == [0.5, 1.0]


def test_timeout_is_a_network_error(loopback: LoopbackServer) -> None:
    loopback.route("/spages/NAVAll.txt", Reply(body=NAVALL, delay=5.0))
    client = client_for(loopback, timeout=0.2, retries=1)
    started = datetime.now()
    with pytest.raises(NetworkError, match="timed out"):
        client.fetch_navall()
    assert (datetime.now() - started).total_seconds() < 3
    assert len(loopback.requests) == 2


@pytest.mark.parametrize("url", ["portal.amfiindia.com/spages/NAVAll.txt", "ftp://example.org/x"])
def test_bad_urls_are_config_errors(url: str) -> None:
    with pytest.raises(ConfigError, match="bad URL") as info:
        new_client(url).fetch_navall()
    assert info.value.hint == "fix amfi.navall_url"


# --- progress ------------------------------------------------------------------------------


def test_progress_with_content_length(loopback: LoopbackServer) -> None:
    calls: list[tuple[int, int | None]] = []
    loopback.route("/spages/NAVAll.txt", Reply(body=NAVALL))
    client_for(loopback, progress=lambda done, total: calls.append((done, total))).fetch_navall()
    assert calls[0] == (0, len(NAVALL))
    assert calls[-1] == (len(NAVALL), len(NAVALL))
    assert len(calls) > 2
    assert [done for done, _ in calls] == sorted(done for done, _ in calls)


def test_progress_without_content_length(loopback: LoopbackServer) -> None:
    calls: list[tuple[int, int | None]] = []
    loopback.route("/spages/NAVAll.txt", Reply(body=NAVALL, chunked=True, chunk_size=100_000))
    text = client_for(loopback, progress=lambda d, t: calls.append((d, t))).fetch_navall()
    assert text == NAVALL.decode("utf-8")
    assert {total for _, total in calls} == {None}
    assert calls[-1][0] >= len(NAVALL)  # raw bytes on the wire include the chunk framing
    assert len(calls) >= 1 + len(NAVALL) // 100_000


# --- history report ------------------------------------------------------------------------


def test_history_request_and_body(loopback: LoopbackServer) -> None:
    loopback.route("/DownloadNAVHistoryReport_Po.aspx", Reply(body=HISTORY))
    text = client_for(loopback).fetch_history(date(2026, 4, 1), date(2026, 6, 30), mf=53)
    assert parse_history_report(text).rows == 708
    (request,) = loopback.requests
    assert request.query == {"frmdt": "01-Apr-2026", "todt": "30-Jun-2026", "mf": "53"}
    assert request.target.endswith("?frmdt=01-Apr-2026&todt=30-Jun-2026&mf=53")


def test_history_html_frameset_with_200_is_refused(loopback: LoopbackServer) -> None:
    page = b"<html><frameset rows='100%'><frame src='/NavHistory.aspx'></frameset></html>"
    loopback.route("/DownloadNAVHistoryReport_Po.aspx", Reply(body=page, content_type="text/html"))
    with pytest.raises(RemoteDataError, match="HTML") as info:
        client_for(loopback).fetch_history(date(2026, 9, 27), date(2026, 9, 27), mf=99999)
    assert "amfi.history_url" in (info.value.hint or "")


def test_history_windows_are_at_most_90_days(loopback: LoopbackServer) -> None:
    loopback.route("/DownloadNAVHistoryReport_Po.aspx", Reply(body=HISTORY))
    client = client_for(loopback)
    texts = list(client.fetch_history_windows(date(2025, 1, 1), date(2025, 12, 31), mf=22))
    assert len(texts) == 5 == len(loopback.requests)  # 365 days -> 90+90+90+90+5
    assert all(isinstance(text, str) and text.startswith("Scheme Code;") for text in texts)
    spans = [
        (datetime.strptime(r.query["frmdt"], "%d-%b-%Y").date(),
         datetime.strptime(r.query["todt"], "%d-%b-%Y").date())
        for r in loopback.requests
    ]  # fmt: skip
    assert spans[0][0] == date(2025, 1, 1)
    assert spans[-1][1] == date(2025, 12, 31)
    assert all((end - start).days + 1 <= 90 for start, end in spans)
    assert all((b[0] - a[1]).days == 1 for a, b in itertools.pairwise(spans))
    assert {r.query["mf"] for r in loopback.requests} == {"22"}


def test_history_windows_check_the_range_before_any_request(loopback: LoopbackServer) -> None:
    with pytest.raises(InvalidInputError, match="after"):
        client_for(loopback).fetch_history_windows(date(2026, 2, 1), date(2026, 1, 1))
    assert loopback.requests == []


def test_history_windows_are_fetched_lazily(loopback: LoopbackServer) -> None:
    loopback.route("/DownloadNAVHistoryReport_Po.aspx", Reply(body=HISTORY), Reply(status=404))
    windows = client_for(loopback).fetch_history_windows(date(2026, 1, 1), date(2026, 6, 30))
    assert next(windows).startswith("Scheme Code;")
    assert len(loopback.requests) == 1
    with pytest.raises(RemoteDataError, match="404"):
        next(windows)


# --- mfapi.in ------------------------------------------------------------------------------


def test_mfapi_history(loopback: LoopbackServer) -> None:
    loopback.route("/mf/120503", Reply(body=MFAPI_120503, content_type="application/json"))
    text = client_for(loopback).fetch_mfapi(120503)
    assert parse_mfapi(text, expected_code=120503).rows == 3191
    assert [r.path for r in loopback.requests] == ["/mf/120503"]


def test_mfapi_unknown_code_answers_200_and_parses_as_not_found(loopback: LoopbackServer) -> None:
    blank = {"meta": {"fund_house": "", "scheme_type": "", "scheme_category": "",
                      "scheme_code": 0, "scheme_name": "", "isin_growth": None,
                      "isin_div_reinvestment": None}, "data": [], "status": "SUCCESS"}  # fmt: skip
    loopback.route("/mf/999999", Reply.json(blank))
    text = client_for(loopback).fetch_mfapi(999999)
    with pytest.raises(NotFoundError, match="999999"):
        parse_mfapi(text, expected_code=999999)


def test_mfapi_404_is_not_found(loopback: LoopbackServer) -> None:
    loopback.route("/mf/123456", Reply.json({"error": "not found"}, status=404))
    with pytest.raises(NotFoundError, match="123456"):
        client_for(loopback).fetch_mfapi(123456)


def test_mfapi_html_is_refused(loopback: LoopbackServer) -> None:
    loopback.route("/mf/120503", Reply(body=b"<html>Bad gateway</html>", content_type="text/html"))
    with pytest.raises(RemoteDataError, match="HTML"):
        client_for(loopback).fetch_mfapi(120503)


def test_mfapi_network_error_hint_names_its_setting() -> None:
    client = new_client(mfapi_base=closed_port_url(""), retries=0)
    with pytest.raises(NetworkError, match=r"mfapi\.in.*\(1 attempt\)") as info:
        client.fetch_mfapi(120503)
    assert "mfapi.base_url" in (info.value.hint or "")


def test_loopback_unknown_path_and_request_log(loopback: LoopbackServer) -> None:
    """The fixture itself: unknown paths are 404, handlers see the request, sequences repeat."""
    import httpx

    loopback.route("/echo", lambda request: Reply.json({"q": request.query, "m": request.method}))
    loopback.route("/seq", Reply(body="a"), Reply(body="b"))
    with httpx.Client() as http:
        assert http.get(loopback.url("/nowhere")).status_code == 404
        assert http.post(loopback.url("/echo?x=1"), content=b"hi").json() == {
            "q": {"x": "1"}, "m": "POST"
        }
        assert [http.get(loopback.url("/seq")).text for _ in range(3)] == ["a", "b", "b"]
    assert loopback.requests_to("/echo")[0].body == b"hi"
