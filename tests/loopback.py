"""A real HTTP server on 127.0.0.1 for tests: real sockets, real redirects, no mocks.

`http.server.ThreadingHTTPServer` on port 0 in a background thread (HTTP/1.1, keep-alive).
Routes map a path (query ignored) to a sequence of `Reply` objects served in order; the last
one repeats. Every request is recorded in `server.requests`. Unknown paths answer 404.

Use it through the `loopback` pytest fixture (one fresh server per test) or `serve()`:

    from tests.loopback import LoopbackServer, Reply, loopback
    __all__ = ["loopback"]  # importing the fixture registers it; this keeps ruff's F811 quiet
    # (or put `pytest_plugins = ["tests.loopback"]` in tests/conftest.py and import only Reply)

    def test_retry(loopback: LoopbackServer) -> None:
        loopback.route("/NAVAll.txt", Reply(status=500), Reply(status=500), Reply(body=text))
        loopback.route("/old", Reply.redirect("/NAVAll.txt"))        # 302 + Location
        loopback.route("/dead", Reply(drop=True))                    # close, no answer
        loopback.route("/cut", Reply(body=big, drop_after=100))      # truncated body
        loopback.route("/slow", Reply(body=b"x", delay=2.0))         # for client timeouts
        loopback.route("/api", Reply.json({"ok": True}, status=201))
        loopback.route("/echo", lambda req: Reply.json({"q": req.query}))  # computed reply
        url = loopback.url("/NAVAll.txt")                            # http://127.0.0.1:PORT/...
        ...
        assert [r.query for r in loopback.requests_to("/NAVAll.txt")] == [...]

`closed_port_url()` gives a URL on which nothing listens (connection refused). Close your
HTTP clients in each test: keep-alive sockets left open show up as ResourceWarnings later.
"""

from __future__ import annotations

import json as _json
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest


@dataclass(frozen=True)
class Reply:
    """One canned answer.

    * `status`, `headers`, `body` (str is sent as UTF-8); `content_type` unless in `headers`.
    * `location`: sets the `Location` header (see `Reply.redirect`).
    * `drop`: close the connection without sending anything.
    * `drop_after`: send the headers (with the full Content-Length) and this many body bytes,
      then close: a truncated download.
    * `delay`: seconds to wait before answering (cut short when the server stops).
    * `chunked`: send `Transfer-Encoding: chunked` in `chunk_size` pieces (no Content-Length);
      with `drop_after`, the chunks stop there and the connection closes without the final
      zero-length chunk (a chunked body that ends early).
    * `no_length`: send no Content-Length and no chunking; the body ends when the connection
      closes (HTTP/1.0 style). With `drop_after`, only that many bytes: a cut nobody can see
      at the HTTP level.
    * `pace`: seconds to wait between `chunk_size` pieces of the body (a trickling server).
    """

    status: int = 200
    body: bytes | str = b""
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "text/plain; charset=utf-8"
    location: str | None = None
    drop: bool = False
    drop_after: int | None = None
    delay: float = 0.0
    chunked: bool = False
    chunk_size: int = 65536
    no_length: bool = False
    pace: float = 0.0

    @classmethod
    def redirect(cls, location: str, status: int = 302, body: bytes | str = b"") -> Reply:
        return cls(status=status, location=location, body=body, content_type="text/html")

    @classmethod
    def json(cls, obj: Any, status: int = 200, **kwargs: Any) -> Reply:
        body = _json.dumps(obj).encode("utf-8")
        return cls(status=status, body=body, content_type="application/json", **kwargs)

    @property
    def body_bytes(self) -> bytes:
        return self.body.encode("utf-8") if isinstance(self.body, str) else self.body


Handler = Callable[["SeenRequest"], Reply]


@dataclass(frozen=True)
class SeenRequest:
    """A request as the server received it; `headers` keys are lower-case."""

    method: str
    path: str
    query: dict[str, str]
    target: str
    headers: dict[str, str]
    body: bytes


class LoopbackServer:
    """The running server; see the module docstring."""

    def __init__(self) -> None:
        self._routes: dict[str, tuple[list[Reply | Handler], int]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.requests: list[SeenRequest] = []
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(self))
        self._httpd.daemon_threads = True
        self._httpd.handle_error = lambda request, client_address: None  # type: ignore[method-assign]
        self.port: int = self._httpd.server_address[1]
        self.base_url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def url(self, path: str = "/") -> str:
        return self.base_url + (path if path.startswith("/") else "/" + path)

    def route(self, path: str, *replies: Reply | Handler) -> None:
        """Serve `replies` in order at `path` (the last one repeats); replaces a former route."""
        if not replies:
            raise ValueError("route() needs at least one Reply or handler")
        with self._lock:
            self._routes[path] = (list(replies), 0)

    def requests_to(self, path: str) -> list[SeenRequest]:
        with self._lock:
            return [r for r in self.requests if r.path == path]

    def close(self) -> None:
        self._stop.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def _next_reply(self, request: SeenRequest) -> Reply:
        with self._lock:
            self.requests.append(request)
            entry = self._routes.get(request.path)
            if entry is None:
                return Reply(status=404, body=f"no route for {request.path}\n")
            replies, served = entry
            self._routes[request.path] = (replies, served + 1)
            reply = replies[min(served, len(replies) - 1)]
        return reply if isinstance(reply, Reply) else reply(request)


def _make_handler(server: LoopbackServer) -> type[BaseHTTPRequestHandler]:
    class _Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # quiet test output
            pass

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            split = urlsplit(self.path)
            request = SeenRequest(
                method=self.command,
                path=split.path,
                query=dict(parse_qsl(split.query, keep_blank_values=True)),
                target=self.path,
                headers={k.lower(): v for k, v in self.headers.items()},
                body=body,
            )
            reply = server._next_reply(request)
            if reply.delay and server._stop.wait(reply.delay):
                self.close_connection = True
                return
            if reply.drop:
                self.close_connection = True
                return
            self._write(reply)

        def _write(self, reply: Reply) -> None:
            payload = reply.body_bytes
            self.send_response(reply.status)
            headers = {"Content-Type": reply.content_type, **reply.headers}
            if reply.location is not None:
                headers["Location"] = reply.location
            if reply.chunked:
                headers["Transfer-Encoding"] = "chunked"
            elif reply.no_length:
                headers["Connection"] = "close"
                self.close_connection = True
            else:
                headers.setdefault("Content-Length", str(len(payload)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            if self.command == "HEAD":
                return
            cut = reply.drop_after is not None
            body = payload[: reply.drop_after] if cut else payload
            for start in range(0, len(body), reply.chunk_size):
                if start and reply.pace and server._stop.wait(reply.pace):
                    self.close_connection = True
                    return
                piece = body[start : start + reply.chunk_size]
                if reply.chunked:
                    piece = b"%x\r\n%s\r\n" % (len(piece), piece)
                try:
                    self.wfile.write(piece)
                    self.wfile.flush()
                except OSError:  # the client gave up (a deadline): stop sending
                    self.close_connection = True
                    return
            if cut:
                self.close_connection = True
                return
            if reply.chunked:
                self.wfile.write(b"0\r\n\r\n")

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _serve

    return _Handler


@contextmanager
def serve() -> Iterator[LoopbackServer]:
    """A loopback server for the duration of a `with` block."""
    server = LoopbackServer()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def loopback() -> Iterator[LoopbackServer]:
    """A fresh loopback HTTP server for one test (see the module docstring)."""
    with serve() as server:
        yield server


def closed_port_url(path: str = "/") -> str:
    """A URL on 127.0.0.1 where nothing listens, so connecting is refused."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}{path}"
