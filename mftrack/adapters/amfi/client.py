"""HTTP client for AMFI's NAVAll.txt and NAV history report, and mfapi.in (httpx, sync).

Only network commands import this module; httpx itself is imported when the first request is
made, so importing `AmfiClient` stays cheap. What it guards against (amfi-formats.md 1.1, 2.1):

* the old `www.amfiindia.com` URL redirects (followed) or answers an HTML 404 / "Object Moved"
  page, sometimes with HTTP 200: every AMFI body must start with `Scheme Code;`;
* AMFI answers a bad history request with an HTML frameset and HTTP 200 (same check);
* the text is UTF-8 (`’`, `–` in names), never Latin-1;
* a body cut short is refused, also when the server sent no Content-Length (nothing at the
  HTTP level shows the cut then): AMFI's texts always end with a line ending (amfi-formats.md
  1.3, 2.2), mfapi.in's JSON with `}`; a truncated body is retried like a dropped connection;
* connection errors, timeouts, cut bodies, 5xx and 429 are retried with exponential backoff,
  then become `NetworkError`; AMFI's 404 (its address moved) is `RemoteDataError`, mfapi.in's
  404 (it does not know the scheme) `NotFoundError`, other 4xx `RemoteDataError`;
* `deadline` bounds a whole download, retries and their waits included: a server trickling
  bytes just fast enough to beat the per-read `timeout` cannot hold a command (or the daemon)
  for longer. Each retry is announced through `on_retry` ("retrying in 4 s (2 of 4)");
* a connection that cannot even be made (name not resolved, refused, no route) ends in
  `UnreachableError`, and the host is remembered as dead for the client's life: later requests
  to it fail at once, without attempts, so a run over many schemes with the network down says
  so once instead of retrying every scheme against it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from mftrack import __version__
from mftrack.errors import (
    ConfigError,
    InvalidInputError,
    NetworkError,
    NotFoundError,
    RemoteDataError,
    UnreachableError,
)

from . import HISTORY_URL, MFAPI_BASE, NAVALL_URL
from .fields import format_amfi_date, looks_like_html, strip_preamble

if TYPE_CHECKING:
    import httpx

Progress = Callable[[int, int | None], None]
"""Called as `progress(downloaded_bytes, total_bytes_or_None)` while a body streams in."""
OnRetry = Callable[[str], None]
"""Called with a line such as "AMFI's NAVAll.txt: HTTP 503; retrying in 4 s (2 of 4)"."""

HISTORY_WINDOW_DAYS = 90  # amfi-formats.md 2.1: maximum range undocumented; others use 60-100
USER_AGENT = f"mftrack/{__version__} (+https://github.com/mftrack/mftrack)"
_AMFI_MAGIC = "Scheme Code;"


def _ends_with_line_end(text: str) -> bool:
    """AMFI's text whose last line is whole (anything else is judged by `_amfi_text`)."""
    return not strip_preamble(text).startswith(_AMFI_MAGIC) or text.endswith("\n")


def _ends_json_object(text: str) -> bool:
    """mfapi.in's JSON that ends (anything else is judged by `fetch_mfapi`)."""
    return not strip_preamble(text).startswith("{") or text.rstrip().endswith("}")


class _Source:
    """What is being fetched: for messages and hints, and how a complete body ends."""

    def __init__(
        self, what: str, config_key: str, default: str, complete: Callable[[str], bool]
    ) -> None:
        self.what = what
        self.hint = f"check your connection, or set {config_key} (default {default})"
        self.config_key = config_key
        self.complete = complete


# AMFI's files end with CRLF, and since 2019 with an empty line too (amfi-formats.md 1.3).
_NAVALL = _Source("AMFI's NAVAll.txt", "amfi.navall_url", NAVALL_URL, _ends_with_line_end)
_HISTORY = _Source(
    "AMFI's NAV history report", "amfi.history_url", HISTORY_URL, _ends_with_line_end
)
_MFAPI = _Source("mfapi.in", "mfapi.base_url", MFAPI_BASE, _ends_json_object)


def history_windows(
    from_date: date, to_date: date, *, days: int = HISTORY_WINDOW_DAYS
) -> list[tuple[date, date]]:
    """Split an inclusive date range into consecutive inclusive windows of at most `days` days."""
    if from_date > to_date:
        raise InvalidInputError(f"start date {from_date} is after end date {to_date}")
    if days < 1:
        raise InvalidInputError("a history window must be at least one day long")
    windows = []
    start = from_date
    while start <= to_date:
        end = min(start + timedelta(days=days - 1), to_date)
        windows.append((start, end))
        start = end + timedelta(days=1)
    return windows


class AmfiClient:
    """Downloads AMFI/mfapi.in texts; returns `str` for the pure parsers to read.

    `retries` is the number of retries after the first attempt; the n-th retry waits
    `backoff * 2**(n-1)` seconds, or the server's `Retry-After` seconds when that is at most
    `max_retry_after` (a longer wait ends the attempts at once). `deadline` (seconds) bounds
    each download as a whole, retries included; `clock` (monotonic seconds) and `sleep` are
    injectable. Use as a context manager, or call `close()`.
    """

    def __init__(
        self,
        navall_url: str = NAVALL_URL,
        history_url: str = HISTORY_URL,
        mfapi_base: str = MFAPI_BASE,
        *,
        timeout: float = 30.0,
        retries: int = 3,
        backoff: float = 0.5,
        progress: Progress | None = None,
        sleep: Callable[[float], None] = time.sleep,
        max_retry_after: float = 60.0,
        transport: Any = None,
        deadline: float = 120.0,
        on_retry: OnRetry | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.navall_url = navall_url
        self.history_url = history_url
        self.mfapi_base = mfapi_base
        self.timeout = timeout
        self.retries = max(0, retries)
        self.backoff = backoff
        self.progress = progress
        self.max_retry_after = max_retry_after
        self._sleep = sleep
        self.deadline = deadline
        self.on_retry = on_retry
        self._clock = clock
        self._transport = transport  # an httpx transport, for tests that avoid sockets
        self._http: httpx.Client | None = None
        self.unreachable: dict[str, str] = {}  # host[:port] -> why it could not connect

    # -- public API ------------------------------------------------------------------------

    def fetch_navall(self) -> str:
        """The text of NAVAll.txt (every scheme's latest NAV, ~1.5 MB)."""
        return _amfi_text(self._get(self.navall_url, None, _NAVALL), self.navall_url, _NAVALL)

    def fetch_history(self, from_date: date, to_date: date, *, mf: int | None = None) -> str:
        """One history-report request: `?frmdt=01-Apr-2026&todt=30-Jun-2026[&mf=<AMC id>]`."""
        if from_date > to_date:
            raise InvalidInputError(f"start date {from_date} is after end date {to_date}")
        params = {"frmdt": format_amfi_date(from_date), "todt": format_amfi_date(to_date)}
        if mf is not None:
            params["mf"] = str(mf)
        text = self._get(self.history_url, params, _HISTORY)
        return _amfi_text(text, self.history_url, _HISTORY)

    def fetch_history_windows(
        self,
        from_date: date,
        to_date: date,
        *,
        mf: int | None = None,
        window_days: int = HISTORY_WINDOW_DAYS,
    ) -> Iterator[str]:
        """The history report for a long range: one request (and one text) per window of at
        most `window_days` days, oldest first. The range is checked now; the requests are made
        lazily, as the iterator is consumed, so a failure stops the rest."""
        windows = history_windows(from_date, to_date, days=window_days)
        return (self.fetch_history(start, end, mf=mf) for start, end in windows)

    def fetch_mfapi(self, code: int) -> str:
        """mfapi.in's `/mf/{code}` JSON text (the scheme's whole NAV history)."""
        if isinstance(code, bool) or not isinstance(code, int) or code <= 0:
            raise InvalidInputError(f"scheme code {code!r} is not a positive number")
        url = f"{self.mfapi_base.rstrip('/')}/mf/{code}"
        text = self._get(url, None, _MFAPI, not_found=f"mfapi.in does not know scheme {code}")
        body = strip_preamble(text)
        if looks_like_html(body):
            raise RemoteDataError("got an HTML page, not mfapi.in's JSON", hint=_MFAPI.hint)
        if not body.startswith("{"):
            message = f"mfapi.in answered with something other than JSON: {body[:40]!r}"
            raise RemoteDataError(message, hint=_MFAPI.hint)
        return body

    def close(self) -> None:
        if self._http is not None:
            self._http.close()
            self._http = None

    def __enter__(self) -> AmfiClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- HTTP with retries -----------------------------------------------------------------

    def _client(self) -> httpx.Client:
        if self._http is None:
            import httpx

            self._http = httpx.Client(
                timeout=self.timeout,
                follow_redirects=True,  # amfi-formats.md 1.1: the old URL now redirects
                headers={"User-Agent": USER_AGENT},
                transport=self._transport,
            )
        return self._http

    def _get(
        self,
        url: str,
        params: Mapping[str, str] | None,
        source: _Source,
        *,
        not_found: str | None = None,
    ) -> str:
        import httpx

        host = urlsplit(url).netloc
        if host in self.unreachable:  # refused or unresolved earlier in this run: no attempt
            message = f"{source.what}: could not connect to {host} ({self.unreachable[host]})"
            raise UnreachableError(message, hint=source.hint)
        client = self._client()
        reason = ""
        cause: BaseException | None = None
        wait = 0.0
        ends = self._clock() + self.deadline
        for attempt in range(self.retries + 1):
            if attempt:
                if self._clock() + wait >= ends:
                    raise self._past_deadline(source, reason) from cause
                if self.on_retry is not None:
                    self.on_retry(
                        f"{source.what}: {reason}; retrying in {wait:g} s "
                        f"({attempt} of {self.retries})"
                    )
                self._sleep(wait)
            wait = self.backoff * 2**attempt  # before the next attempt, unless Retry-After
            try:
                status, headers, body = self._once(client, url, params, ends)
            except _DeadlinePassed:
                raise self._past_deadline(source, reason) from cause
            except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
                message = f"bad URL for {source.what}: {url!r} ({exc})"
                raise ConfigError(message, hint=f"fix {source.config_key}") from exc
            except httpx.TooManyRedirects as exc:
                message = f"{source.what}: too many redirects from {url}"
                raise RemoteDataError(message, hint=source.hint) from exc
            except httpx.DecodingError as exc:
                message = f"{source.what}: the response could not be decoded ({exc})"
                raise RemoteDataError(message, hint=source.hint) from exc
            except httpx.TransportError as exc:  # connect/read errors, timeouts, dropped links
                if self._clock() >= ends:
                    raise self._past_deadline(source, _describe(exc)) from exc
                reason, cause = _describe(exc), exc
                if _name_unresolved(exc):
                    # No retry: the resolver (glibc: `attempts`, `timeout` in resolv.conf) has
                    # already asked each nameserver again before reporting the failure, and a
                    # name that did not resolve rarely does 0.5 s later; a flaky resolver is
                    # retried by the next run (exit 75: cron) or the daemon's backoff.
                    break
                continue
            if 200 <= status < 300:
                # UTF-8, never Latin-1 (amfi-formats.md 1.3); a BOM is dropped.
                text = body.decode("utf-8", "replace").lstrip("\ufeff")
                if text and not source.complete(text):
                    reason, cause = _cut_short(len(body), source), None
                    continue
                return text
            if status == 429 or status >= 500:
                reason, cause = f"HTTP {status}", None
                retry_after = _retry_after(headers)
                if retry_after is not None:
                    if retry_after > self.max_retry_after:
                        raise NetworkError(
                            f"{source.what} answered HTTP {status} and asks to retry after "
                            f"{retry_after:g} s",
                            hint="try again later",
                        )
                    wait = retry_after
                continue
            if status == 404 and not_found:
                raise NotFoundError(not_found)
            if status == 404:  # AMFI's address moved: nothing the user named is missing
                raise RemoteDataError(
                    f"{source.what}: HTTP 404 Not Found at {url}",
                    hint=f"the address may have moved; set {source.config_key}",
                )
            message = f"{source.what} answered HTTP {status} for {url}"
            raise RemoteDataError(message, hint=source.hint)
        tries = attempt + 1
        message = (
            f"could not download {source.what}: {reason} "
            f"({tries} attempt{'s' if tries > 1 else ''})"
        )
        if isinstance(cause, httpx.ConnectError):  # not even connected: the host is dead
            self.unreachable[host] = str(cause)
            raise UnreachableError(message, hint=source.hint) from cause
        raise NetworkError(message, hint=source.hint) from cause

    def _past_deadline(self, source: _Source, reason: str) -> NetworkError:
        after = f" (last problem: {reason})" if reason else ""
        return NetworkError(
            f"gave up on {source.what} after {self.deadline:g} s, the network.deadline{after}",
            hint=f"the server is too slow right now; retry later, or raise network.deadline; "
            f"{source.hint}",
        )

    def _once(
        self, client: httpx.Client, url: str, params: Mapping[str, str] | None, ends: float
    ) -> tuple[int, Mapping[str, str], bytes]:
        """One GET, streamed so that `progress` can follow a large body; no read may wait
        past `ends` (monotonic seconds), and the body must be complete by then."""
        import httpx

        left = ends - self._clock()
        if left <= 0:
            raise _DeadlinePassed
        timeout = httpx.Timeout(min(self.timeout, left))
        with client.stream("GET", url, params=params, timeout=timeout) as response:
            if not 200 <= response.status_code < 300:
                response.read()
                return response.status_code, response.headers, b""
            total = _content_length(response.headers)
            progress = self.progress
            if progress is not None:
                progress(0, total)
            chunks = []
            for chunk in response.iter_bytes():
                chunks.append(chunk)
                if progress is not None:
                    progress(response.num_bytes_downloaded, total)
                if self._clock() >= ends:
                    raise _DeadlinePassed
            return response.status_code, response.headers, b"".join(chunks)


class _DeadlinePassed(Exception):
    """The whole-download deadline passed in the middle of a request."""


def _cut_short(size: int, source: _Source) -> str:
    end = "the JSON stops before its `}`" if source is _MFAPI else "its last line is cut"
    return f"the download was cut short ({size:,} bytes; {end})"


def _amfi_text(text: str, url: str, source: _Source) -> str:
    """`text` if it is AMFI's `;` text, else `RemoteDataError` (HTML and other surprises)."""
    body = strip_preamble(text)
    if body.startswith(_AMFI_MAGIC):
        return body
    if looks_like_html(body):
        raise RemoteDataError(
            f"got an HTML page, not AMFI's NAV text ({source.what} from {url})",
            hint=f"the address may have moved; {source.hint}",
        )
    if not body:
        raise RemoteDataError(f"{source.what} was empty ({url})", hint=source.hint)
    raise RemoteDataError(
        f"{source.what} does not start with {_AMFI_MAGIC!r} (got {body[:40]!r})", hint=source.hint
    )


def _content_length(headers: Mapping[str, str]) -> int | None:
    value = headers.get("content-length", "")
    return int(value) if value.isdigit() else None


def _retry_after(headers: Mapping[str, str]) -> float | None:
    """`Retry-After` in seconds; the HTTP-date form is ignored (plain backoff is used)."""
    value = headers.get("retry-after", "").strip()
    return float(value) if value.isdigit() else None


def _name_unresolved(exc: BaseException) -> bool:
    """Whether a connect error comes from name resolution (`socket.gaierror`)."""
    import socket

    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, socket.gaierror):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _describe(exc: Exception) -> str:
    import httpx

    if isinstance(exc, httpx.TimeoutException):
        return "timed out"
    if isinstance(exc, httpx.ConnectError):
        return f"could not connect ({exc})"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
