"""The one map from PostgREST/httpx failures to mftrack errors (`adapters/supabase/rest.py`),
against a loopback server answering like a gateway, PostgREST or a captive portal would."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from mftrack.adapters.supabase.rest import SupabaseRest, SyncRequestRefused
from mftrack.adapters.supabase.session import SessionManager
from mftrack.errors import (
    ConfigError,
    CredentialsError,
    LoginRequiredError,
    MftrackError,
    NetworkError,
    RemoteDataError,
)
from tests.loopback import LoopbackServer, Reply
from tests.sync_support import device_settings, paths_under, save_session

PULL = "/rest/v1/rpc/sync_pull"
TOKEN = "header.payload.signature-that-must-never-be-shown"


def rest_for(loopback: LoopbackServer, root: Path, **extra: str) -> SupabaseRest:
    url = loopback.url("/").rstrip("/")
    paths = paths_under(root)
    save_session(paths, url, {"access_token": TOKEN, "refresh_token": "r" * 12,
                              "expires_at": int(time.time()) + 3600,
                              "user": {"id": "00000000-0000-4000-8000-000000000001"}})
    settings = device_settings(url, "anon-key", paths, **extra)
    return SupabaseRest(SessionManager(settings, paths), timeout=float(extra.get(
        "MFTRACK_NETWORK_TIMEOUT", 5)))


def pg(code: str, message: str = "boom") -> dict[str, Any]:
    return {"code": code, "message": message, "details": None, "hint": None}


CASES = [
    (Reply(body="<html>Sign in to the hotel wifi</html>", content_type="text/html"),
     RemoteDataError, "cannot read"),
    (Reply.json([]), RemoteDataError, "cannot read"),
    (Reply.json({"rows": [], "cursor": {"version": "x"}}), RemoteDataError, "cannot read"),
    (Reply(status=404, body="<html>Not found</html>", content_type="text/html"), ConfigError,
     "does not look like a Supabase project"),
    (Reply.json({"message": "no Route matched with those values"}, status=404), ConfigError,
     "does not look like"),
    (Reply.json({"message": "Invalid API key"}, status=401), ConfigError, "API key"),
    (Reply.json({"message": "API rate limit exceeded"}, status=429), NetworkError,
     "rate-limiting"),
    (Reply(status=502, body="<html>Bad gateway</html>", content_type="text/html"),
     NetworkError, "HTTP 502"),
    (Reply.json(pg("PGRST003"), status=504), NetworkError, "temporary"),
    (Reply.json(pg("40P01", "deadlock detected"), status=500), NetworkError, "deadlock"),
    (Reply.json(pg("57014", "canceling statement due to statement timeout"), status=500),
     NetworkError, "timeout"),
    (Reply.json(pg("22023", "mids must be strictly increasing"), status=400),
     SyncRequestRefused, "malformed"),
    (Reply.json(pg("42501", "permission denied for function sync_pull"), status=403),
     CredentialsError, "refused access"),
    (Reply.json(pg("PGRST202", "Could not find the function"), status=404), ConfigError,
     "sync functions are missing"),
    (Reply.json(pg("23503", "violates foreign key"), status=409), LoginRequiredError,
     "no longer exists"),
    (Reply(drop=True), NetworkError, "cannot reach"),
]


@pytest.mark.parametrize(("reply", "error", "text"), CASES)
def test_failures_map_to_mftrack_errors(loopback: LoopbackServer, tmp_path: Path,
                                        reply: Reply, error: type[MftrackError],
                                        text: str) -> None:
    loopback.route(PULL, reply)
    with rest_for(loopback, tmp_path) as rest, pytest.raises(error) as caught:
        rest.pull(since=0, after_id=None, limit=10, epoch=None, client_id="c")
    assert type(caught.value) is error  # not merely a subclass
    assert text in caught.value.message
    assert TOKEN not in caught.value.message and TOKEN not in (caught.value.hint or "")
    assert rest.requests == 1


def test_a_time_out_is_a_network_error(loopback: LoopbackServer, tmp_path: Path) -> None:
    loopback.route(PULL, Reply.json({}, delay=2))
    with rest_for(loopback, tmp_path, MFTRACK_NETWORK_TIMEOUT="0.3") as rest, \
            pytest.raises(NetworkError, match="in time"):
        rest.pull(since=0, after_id=None, limit=10, epoch=None, client_id="c")


def test_requests_carry_the_anon_key_and_the_token(loopback: LoopbackServer,
                                                   tmp_path: Path) -> None:
    page = {"rows": [], "cursor": {"version": 0, "id": None}, "has_more": False,
            "server_version": 0, "epoch": None, "reset": False, "last_mutation_id": 0}
    loopback.route(PULL, Reply.json(page))
    with rest_for(loopback, tmp_path) as rest:
        assert rest.pull(since=0, after_id=None, limit=10, epoch=None, client_id="c") == page
    seen = loopback.requests_to(PULL)[0]
    headers = {k.lower(): v for k, v in seen.headers.items()}
    assert headers["apikey"] == "anon-key" and headers["authorization"] == f"Bearer {TOKEN}"
    assert headers["content-profile"] == "public"
