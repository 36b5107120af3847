"""Who may talk to `mftrack serve`: the Host check, the token, and the same-origin rule.

A local web server is reachable by every web page the user opens, so three checks run before
any route (a pure ASGI middleware, so they cover static files and the event stream too):

1. **Host header** must name this server (127.0.0.1/localhost/[::1], or the `--host` given,
   with the port): a page on an attacker's domain that re-resolves to 127.0.0.1 (DNS
   rebinding) sends its own domain as Host and is refused.
2. **Token**: a random secret printed in the URL (as Jupyter does). `?token=` on a page load
   sets an HttpOnly, SameSite=Strict cookie and redirects to the same URL without it, so the
   token does not stay in the address bar or history; scripts may send it as
   `Authorization: Bearer TOKEN` instead. Without it: 403.
3. **State-changing requests** (anything but GET/HEAD/OPTIONS) that rely on the cookie must
   carry an `Origin` of this server (browsers always send it on POST); a bearer token cannot be
   sent by another site's page without a CORS preflight, which this server never grants.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qsl, urlencode

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")


def cookie_name(port: int) -> str:
    """Cookies are not kept apart by port, so two servers on one machine use two names."""
    return f"mftrack_token_{port}"


def allowed_hosts(host: str, port: int) -> frozenset[str]:
    """Host header values this server answers to (`name:port`; plain `name` on port 80)."""
    names = set(LOOPBACK_NAMES)
    if host not in ("0.0.0.0", "::", ""):
        names.add(f"[{host}]" if ":" in host and not host.startswith("[") else host)
    values = {f"{name}:{port}" for name in names}
    if port == 80:
        values |= names
    return frozenset(v.lower() for v in values)


class AccessGuard:
    """ASGI middleware enforcing the Host check, the token and the same-origin rule."""

    def __init__(self, app: ASGIApp, *, token: str, host: str, port: int) -> None:
        self.app = app
        self.token = token
        self.port = port
        self.hosts = allowed_hosts(host, port)
        self.origins = frozenset(f"http://{h}" for h in self.hosts)
        self.cookie = cookie_name(port)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        if headers.get("host", "").lower() not in self.hosts:
            await _refuse(send, "the Host header does not name this server "
                                "(open the URL that `mftrack serve` printed)")
            return
        query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
        via_query = self._valid(query.get("token"))
        via_bearer = self._valid(_bearer(headers.get("authorization", "")))
        via_cookie = self._valid(_cookies(headers.get("cookie", "")).get(self.cookie))
        if not (via_query or via_bearer or via_cookie):
            await _refuse(send, "missing or wrong token: open the full URL that "
                                "`mftrack serve` printed (it ends in ?token=...)")
            return
        method = scope["method"].upper()
        if method not in SAFE_METHODS and not via_bearer:
            origin = headers.get("origin", "").lower()
            if origin not in self.origins:
                await _refuse(send, "a change must come from this dashboard's own page "
                                    f"(Origin {origin or 'missing'} is not this server)")
                return
        if via_query and method == "GET" and not via_cookie:
            await self._set_cookie_and_redirect(scope, query, send)
            return
        await self.app(scope, receive, send)

    def _valid(self, candidate: str | None) -> bool:
        return bool(candidate) and hmac.compare_digest(
            candidate.encode("utf-8"), self.token.encode("utf-8"))  # type: ignore[union-attr]

    async def _set_cookie_and_redirect(self, scope: Scope, query: dict[str, str],
                                       send: Send) -> None:
        rest = urlencode({k: v for k, v in query.items() if k != "token"})
        location = scope.get("path", "/") + (f"?{rest}" if rest else "")
        cookie = f"{self.cookie}={self.token}; Path=/; HttpOnly; SameSite=Strict"
        await send({"type": "http.response.start", "status": 303, "headers": [
            (b"location", location.encode("latin-1")),
            (b"set-cookie", cookie.encode("latin-1")),
            (b"cache-control", b"no-store"),
            (b"content-length", b"0"),
        ]})
        await send({"type": "http.response.body", "body": b""})


def _bearer(value: str) -> str | None:
    scheme, _, credential = value.partition(" ")
    return credential.strip() if scheme.lower() == "bearer" else None


def _cookies(value: str) -> dict[str, str]:
    jar = {}
    for part in value.split(";"):
        name, sep, content = part.strip().partition("=")
        if sep:
            jar[name] = content
    return jar


async def _refuse(send: Send, reason: str) -> None:
    body = json.dumps({"detail": reason}).encode("utf-8")
    await send({"type": "http.response.start", "status": 403, "headers": [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode("ascii")),
    ]})
    await send({"type": "http.response.body", "body": body})
