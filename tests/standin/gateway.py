"""The Kong-like gateway in front of the auth and REST handlers: fault injection, the
``apikey`` check (contract A.0) and the request log."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

from .faults import FaultInjector, LoggedRequest, RequestLog, close_connection

ASGIApp = Callable[[dict[str, Any], Callable[[], Awaitable[dict[str, Any]]],
                    Callable[[dict[str, Any]], Awaitable[None]]], Awaitable[None]]

NO_KEY = {
    "message": "No API key found in request",
    "hint": "No `apikey` request header or url param was found.",
}
BAD_KEY = {
    "message": "Invalid API key",
    "hint": "Double check your Supabase `anon` or `service_role` API key.",
}

_AUTH_FAILURES = {
    429: ("over_request_rate_limit", "Request rate limit reached"),
    500: ("unexpected_failure",
          "Unexpected failure, please check server logs for more information"),
}
_REST_FAILURES = {
    500: {"code": "XX000", "message": "internal error (injected by the stand-in)",
          "details": None, "hint": None},
    503: {"code": "PGRST001", "message": "Database client error. Retrying the connection.",
          "details": "injected by the stand-in", "hint": None},
    504: {"code": "PGRST003", "message": "Timed out acquiring connection from connection pool.",
          "details": None, "hint": None},
}
LEGACY_DISABLED = {
    "message": "Legacy API keys are disabled",
    "hint": "Your legacy API keys (anon, service_role) were disabled. Re-enable them in the "
            "Supabase dashboard, or use the new publishable and secret API keys.",
}
# What the gateway itself says when the upstream is down or overloaded.
_GATEWAY_FAILURES = {
    429: {"message": "API rate limit exceeded"},
    502: {"message": "An invalid response was received from the upstream server"},
    503: {"message": "The upstream server is currently unavailable"},
    504: {"message": "The upstream server is timing out"},
}


# Cloudflare's own error pages (HTML, not JSON): https://developers.cloudflare.com/support/
# troubleshooting/http-status-codes/cloudflare-5xx-errors/ ; 502/503/504 also come as the
# edge's HTML page when the origin is down.
_CLOUDFLARE_TEXT = {
    429: "Too Many Requests", 502: "Bad gateway", 503: "Service Temporarily Unavailable",
    504: "Gateway time-out", 520: "Web server is returning an unknown error",
    521: "Web server is down", 522: "Connection timed out", 523: "Origin is unreachable",
    524: "A timeout occurred", 525: "SSL handshake failed", 526: "Invalid SSL certificate",
}


def html_error_page(status: int) -> bytes:
    """A Cloudflare-style error page, as a browser would get it."""
    text = _CLOUDFLARE_TEXT.get(status, "Error")
    return (f"<!DOCTYPE html>\n<html lang=\"en-US\">\n<head><title>{status}: {text}</title>"
            f"</head>\n<body><div id=\"cf-error-details\"><h1>{text}</h1>"
            f"<span class=\"cf-error-code\">Error code {status}</span>"
            "<p>Visit cloudflare.com for more information.</p>"
            "<span>Cloudflare Ray ID: 8f1c2a3b4c5d6e7f</span></div></body>\n</html>\n").encode()


def bearer_kind(value: str | None) -> str | None:
    """What an Authorization header carries, for the request log (never the value)."""
    if value is None:
        return None
    parts = value.strip().split(None, 1)
    if len(parts) != 2 or parts[0].lower() != "bearer":
        return "other"
    token = parts[1].strip()
    if token.startswith("sb_"):
        return "api-key"
    return "jwt" if token.count(".") == 2 else "other"


def header(scope: dict[str, Any], name: str) -> str | None:
    wanted = name.lower().encode("latin-1")
    for key, value in scope.get("headers", []):
        if key.lower() == wanted:
            return value.decode("latin-1")
    return None


def wants_new_error_shape(api_version: str | None) -> bool:
    """GoTrue answers in the 2024-01-01 error shape when the request names that API version
    or a later one (``X-Supabase-Api-Version``)."""
    if not api_version:
        return False
    value = api_version.strip()
    if len(value) != 10 or value[4] != "-" or value[7] != "-":
        return False
    return value >= "2024-01-01"


def auth_error_payload(status: int, code: str, message: str, api_version: str | None,
                       extra: dict[str, Any] | None = None) -> tuple[dict[str, Any],
                                                                     dict[str, str]]:
    """Body and headers of a GoTrue error (contract A.3)."""
    headers = {"x-sb-error-code": code}
    if wants_new_error_shape(api_version):
        body: dict[str, Any] = {"code": code, "message": message}
        headers["X-Supabase-Api-Version"] = "2024-01-01"
    else:
        body = {"code": status, "error_code": code, "msg": message}
        if status >= 500:
            body["error_id"] = "standin-" + format(int(time.time() * 1000), "x")
    if extra:
        body.update(extra)
    return body, headers


def canned_failure(path: str, status: int, scope: dict[str, Any]) -> tuple[Any,
                                                                         dict[str, str]]:
    if path.startswith("/auth/v1") and status in _AUTH_FAILURES:
        code, message = _AUTH_FAILURES[status]
        return auth_error_payload(status, code, message,
                                  header(scope, "x-supabase-api-version"))
    if path.startswith("/rest/v1") and status in _REST_FAILURES:
        return dict(_REST_FAILURES[status]), {}
    if status in _GATEWAY_FAILURES:
        return dict(_GATEWAY_FAILURES[status]), {}
    return {"message": f"injected failure {status}"}, {}


async def send_raw(send: Callable[[dict[str, Any]], Awaitable[None]], status: int,
                   payload: bytes, headers: dict[str, str]) -> None:
    raw_headers = [(b"content-length", str(len(payload)).encode())]
    raw_headers += [(k.lower().encode("latin-1"), str(v).encode("latin-1"))
                    for k, v in headers.items()]
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": payload})


async def send_json(send: Callable[[dict[str, Any]], Awaitable[None]], status: int,
                    body: Any, headers: dict[str, str] | None = None) -> None:
    payload = b"" if body is None else json.dumps(body).encode()
    raw_headers = [(b"content-length", str(len(payload)).encode())]
    if body is not None:
        raw_headers.append((b"content-type", b"application/json"))
    for key, value in (headers or {}).items():
        raw_headers.append((key.lower().encode("latin-1"), str(value).encode("latin-1")))
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": payload})


class Gateway:
    """ASGI middleware. ``keys`` is a callable returning the accepted API keys, so that the
    stand-in can change them at run time."""

    def __init__(self, app: ASGIApp, *, keys: Callable[[], dict[str, str]],
                 mint: Callable[[str], str], faults: FaultInjector, log: RequestLog,
                 transports: dict[tuple[str, int], asyncio.Transport]) -> None:
        self.app = app
        self.keys = keys
        self.mint = mint
        self.faults = faults
        self.log = log
        self.transports = transports

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.time()
        method = scope["method"]
        path = scope["path"]
        query = scope.get("query_string", b"").decode("latin-1")
        state: dict[str, Any] = {"status": None}
        key = header(scope, "apikey") or _query_apikey(query)
        kind = self.keys().get(key) if key else None
        authorization = header(scope, "authorization")

        def record(fault: str | None, delivered: bool) -> None:
            client = scope.get("client")
            self.log.add(LoggedRequest(
                method=method, path=path, query=query, status=state["status"],
                delivered=delivered, fault=fault, started=started,
                duration=time.time() - started,
                client=tuple(client) if client else None,
                apikey=(kind or "unknown") if key else None,
                bearer=bearer_kind(authorization),
            ))

        delay, rule = self.faults.take(method, path, query)
        if delay is not None and delay.kind == "barrier":
            await delay.arrive()
        elif delay is not None and delay.seconds > 0:
            await asyncio.sleep(delay.seconds)

        # Each request is logged before the client can see its outcome, so a test that just
        # got a response always finds the request in the log.
        if rule is not None and rule.kind == "drop":
            record("drop", False)
            await close_connection(self.transports, scope)
            return
        if rule is not None and rule.kind == "fail":
            state["status"] = rule.status
            record("fail", True)
            if rule.html or rule.status in range(520, 527):
                await send_raw(send, rule.status, html_error_page(rule.status),
                               {"content-type": "text/html; charset=UTF-8", **rule.headers})
                return
            if rule.body is not None:
                body, headers = rule.body, {}
            else:
                body, headers = canned_failure(path, rule.status, scope)
            await send_json(send, rule.status, body, {**headers, **rule.headers})
            return

        lose = rule is not None and rule.kind == "lose"

        async def tracked_send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                # Logged before the status line goes out: a 204 is complete for the client
                # as soon as its headers arrive.
                state["status"] = message["status"]
                record("lose" if lose else None, not lose)
            if not lose:
                await send(message)

        if not key:
            await send_json(tracked_send, 401, NO_KEY)
        elif kind is None:
            await send_json(tracked_send, 401, BAD_KEY)
        elif kind == "legacy-disabled":
            await send_json(tracked_send, 401, LEGACY_DISABLED)
        else:
            if kind in ("publishable", "secret") and authorization is None:
                # The new keys are not JWTs: the gateway swaps one for a short-lived JWT
                # (role anon / service_role) when the request carries no user token.
                minted = f"Bearer {self.mint(kind)}".encode("latin-1")
                scope = {**scope, "headers": [*scope["headers"], (b"authorization", minted)]}
            await self.app(scope, receive, tracked_send)

        if lose:
            await close_connection(self.transports, scope)


def _query_apikey(query: str) -> str | None:
    from urllib.parse import parse_qsl

    for key, value in parse_qsl(query, keep_blank_values=True):
        if key.lower() == "apikey":
            return value
    return None
