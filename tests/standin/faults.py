"""Fault injection and the request log.

Rules are matched against ``path`` (a prefix) and optionally the HTTP method and query
parameters: ``"/auth/v1/token?grant_type=refresh_token"`` matches only refresh calls. The
first matching rule with uses left is consumed. Kinds:

* ``fail``  – answer ``status`` with a canned (or given) body, without touching the backend;
* ``drop``  – close the TCP connection before the request reaches the backend;
* ``lose``  – let the backend process and commit the request, then close the connection
  instead of sending the response;
* ``delay`` – sleep before processing (combines with the others);
* ``barrier`` – hold each of the next ``parties`` matching requests until all of them have
  arrived, then let them through together (combines like ``delay``); ``met`` tells whether
  they all arrived before ``seconds`` (the time-out) ran out.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from uvicorn.protocols.http.h11_impl import H11Protocol


@dataclass
class FaultRule:
    kind: str
    path_prefix: str
    remaining: int
    method: str | None = None
    query: dict[str, str] = field(default_factory=dict)
    status: int = 503
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    html: bool = False  # answer with the gateway's HTML error page instead of JSON
    parties: int = 0  # barrier: how many requests meet
    arrived: int = 0
    met: bool = False
    _event: asyncio.Event | None = field(default=None, repr=False)

    async def arrive(self) -> None:
        """Barrier: wait (at most ``seconds``) until ``parties`` requests have arrived."""
        if self._event is None:
            self._event = asyncio.Event()
        self.arrived += 1
        if self.arrived >= self.parties:
            self.met = True
            self._event.set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._event.wait(), self.seconds)

    def matches(self, method: str, path: str, query: dict[str, str]) -> bool:
        if self.remaining <= 0:
            return False
        if self.method and self.method.upper() != method.upper():
            return False
        if not path.startswith(self.path_prefix):
            return False
        return all(query.get(k) == v for k, v in self.query.items())


@dataclass
class LoggedRequest:
    """One request as the stand-in saw it. ``status`` is what the backend answered (or the
    injected status); ``delivered`` is False when the response never reached the client
    (``drop``/``lose``); ``fault`` names the injected fault, if any."""

    method: str
    path: str
    query: str
    status: int | None
    delivered: bool
    fault: str | None
    started: float
    duration: float
    client: tuple[str, int] | None = None
    apikey: str | None = None  # kind of API key sent: legacy, publishable, secret, unknown
    bearer: str | None = None  # what Authorization carried: jwt, api-key, other, or None

    @property
    def target(self) -> str:
        return f"{self.path}?{self.query}" if self.query else self.path


def split_prefix(path_prefix: str) -> tuple[str, dict[str, str]]:
    path, _, qs = path_prefix.partition("?")
    return path, dict(parse_qsl(qs, keep_blank_values=True))


class FaultInjector:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = []

    def add(self, rule: FaultRule) -> FaultRule:
        with self._lock:
            self._rules.append(rule)
        return rule

    def take(self, method: str, path: str, query_string: str) -> tuple[FaultRule | None,
                                                                     FaultRule | None]:
        """Consume at most one ``delay`` rule and one other rule matching this request."""
        query = dict(parse_qsl(query_string, keep_blank_values=True))
        delay = other = None
        with self._lock:
            for rule in self._rules:
                if not rule.matches(method, path, query):
                    continue
                if rule.kind in ("delay", "barrier"):
                    if delay is None:
                        delay = rule
                elif other is None:
                    other = rule
            for rule in (delay, other):
                if rule is not None:
                    rule.remaining -= 1
            self._rules = [r for r in self._rules if r.remaining > 0]
        return delay, other

    def pending(self) -> list[FaultRule]:
        with self._lock:
            return list(self._rules)

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()


class RequestLog:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: list[LoggedRequest] = []

    def add(self, entry: LoggedRequest) -> None:
        with self._lock:
            self._entries.append(entry)

    def entries(self) -> list[LoggedRequest]:
        with self._lock:
            return list(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def tracking_protocol(registry: dict[tuple[str, int], asyncio.Transport]) -> type[H11Protocol]:
    """An h11 protocol class that records each connection's transport under the client
    address, which is also ``scope["client"]``; the gateway uses it to close a connection
    without answering (uvicorn offers no ASGI way to do that)."""

    class TrackingH11Protocol(H11Protocol):
        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            sock = transport.get_extra_info("socket")
            if sock is not None:
                # Headers and body go out in two writes: without TCP_NODELAY, Nagle plus the
                # client's delayed ACK add ~40 ms to every response.
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self.client:
                registry[tuple(self.client)] = transport

        def connection_lost(self, exc: Exception | None) -> None:
            if self.client:
                registry.pop(tuple(self.client), None)
            super().connection_lost(exc)

    return TrackingH11Protocol


async def close_connection(registry: dict[tuple[str, int], asyncio.Transport],
                           scope: dict[str, Any]) -> bool:
    client = scope.get("client")
    transport = registry.get(tuple(client)) if client else None
    if transport is None:
        return False
    transport.close()
    # Let connection_lost run, so uvicorn sees the client gone and sends nothing itself.
    for _ in range(3):
        await asyncio.sleep(0)
    return True

