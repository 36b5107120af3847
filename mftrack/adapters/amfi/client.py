"""HTTP client for AMFI's NAVAll.txt and NAV history report, and mfapi.in (httpx, sync).

Only network commands import this module; httpx itself is imported when the first request is
made, so importing `AmfiClient` stays cheap. What it guards against (amfi-formats.md 1.1, 2.1):

* the old `www.amfiindia.com` URL redirects (followed) or answers an HTML 404 / "Object Moved"
  page, sometimes with HTTP 200: every AMFI body must start with `Scheme Code;`;
* AMFI answers a bad history request with an HTML frameset and HTTP 200 (same check);
* the text is UTF-8 (`’`, `–` in names), never Latin-1;
* connection errors, timeouts, 5xx and 429 are retried with exponential backoff, then become
  `NetworkError`; other 4xx fail at once (`NotFoundError` for 404, else `RemoteDataError`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from mftrack import __version__
from mftrack.errors import (
    ConfigError,
    InvalidInputError,
    NetworkError,
    NotFoundError,
    RemoteDataError,
)

from . import HISTORY_URL, MFAPI_BASE, NAVALL_URL
from .fields import format_amfi_date, looks_like_html, strip_preamble

if TYPE_CHECKING:
    import httpx

Progress = Callable[[int, int | None], None]
"""Called as `progress(downloaded_bytes, total_bytes_or_None)` while a body streams in."""

HISTORY_WINDOW_DAYS = 90  # amfi-formats.md 2.1: maximum range undocumented; others use 60-100
USER_AGENT = f"mftrack/{__version__} (+https://github.com/mftrack/mftrack)"
_AMFI_MAGIC = "Scheme Code;"


class _Source:
    """What is being fetched: for messages and hints."""

    def __init__(self, what: str, config_key: str, default: str) -> None:
        self.what = what
        self.hint = f"check your connection, or set {config_key} (default {default})"
        self.config_key = config_key


_NAVALL = _Source("AMFI's NAVAll.txt", "amfi.navall_url", NAVALL_URL)
_HISTORY = _Source("AMFI's NAV history report", "amfi.history_url", HISTORY_URL)
_MFAPI = _Source("mfapi.in", "mfapi.base_url", MFAPI_BASE)


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
    `max_retry_after` (a longer wait ends the attempts at once). `sleep` is injectable for tests.
    Use as a context manager, or call `close()`.
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
        self._transport = transport  # an httpx transport, for tests that avoid sockets
        self._http: httpx.Client | None = None

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

        client = self._client()
        reason = ""
        cause: BaseException | None = None
        wait = 0.0
        for attempt in range(self.retries + 1):
            if attempt:
                self._sleep(wait)
            wait = self.backoff * 2**attempt  # before the next attempt, unless Retry-After
            try:
                status, headers, body = self._once(client, url, params)
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
                reason, cause = _describe(exc), exc
                continue
            if 200 <= status < 300:
                # UTF-8, never Latin-1 (amfi-formats.md 1.3); a BOM is dropped.
                return body.decode("utf-8", "replace").lstrip("\ufeff")
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
            if status == 404:
                if not_found:
                    raise NotFoundError(not_found)
                raise NotFoundError(f"{source.what}: HTTP 404 Not Found at {url}", hint=source.hint)
            message = f"{source.what} answered HTTP {status} for {url}"
            raise RemoteDataError(message, hint=source.hint)
        tries = self.retries + 1
        raise NetworkError(
            f"could not download {source.what}: {reason} "
            f"({tries} attempt{'s' if tries > 1 else ''})",
            hint=source.hint,
        ) from cause

    def _once(
        self, client: httpx.Client, url: str, params: Mapping[str, str] | None
    ) -> tuple[int, Mapping[str, str], bytes]:
        """One GET, streamed so that `progress` can follow a large body."""
        with client.stream("GET", url, params=params) as response:
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
            return response.status_code, response.headers, b"".join(chunks)


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


def _describe(exc: Exception) -> str:
    import httpx

    if isinstance(exc, httpx.TimeoutException):
        return "timed out"
    if isinstance(exc, httpx.ConnectError):
        return f"could not connect ({exc})"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
