"""What Supabase's gateway (and Cloudflare in front of it) can answer instead of the service,
and the one retry rule for it.

Transient answers: 429 (rate limited) and 502/503/504, plus Cloudflare's 520-526 error pages
(https://developers.cloudflare.com/support/troubleshooting/http-status-codes/cloudflare-5xx-errors/).
Their bodies are often HTML, not JSON; callers map them to `NetworkError` (exit 75).

`with_retries` retries such an answer only when it says when to come back: a `Retry-After`
header (seconds or an HTTP date, RFC 9110 §10.2.3) of at most `max_wait` seconds, at most
`retries` times (the `network.retries` setting). Without `Retry-After`, or with a longer one,
the error goes straight to the caller (exit 75; cron's next run or the daemon's next sync is
the backoff), so a command never blocks for long. Every request retried this way is safe to
resend: sync pushes are idempotent by mutation id (docs/sync-protocol.md), a refresh token
presented again inside the reuse interval gets the same new pair, and a 429/5xx from the
gateway means the request was not answered by the service.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    import httpx

T = TypeVar("T")

TRANSIENT_STATUSES = frozenset({429, 502, 503, 504, *range(520, 527)})
MAX_RETRY_AFTER = 60.0


def retry_after(response: httpx.Response | None, *, now: float | None = None) -> float | None:
    """Seconds the server asked us to wait before retrying, or None if it did not say."""
    if response is None:
        return None
    value = (response.headers.get("retry-after") or "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def with_retries(call: Callable[[], T], last_response: Callable[[], httpx.Response | None],
                 *, retries: int, max_wait: float = MAX_RETRY_AFTER,
                 sleep: Callable[[float], None] = time.sleep) -> T:
    """`call()`, repeated after a transient gateway answer that carried Retry-After."""
    attempt = 0
    while True:
        try:
            return call()
        except Exception:
            response = last_response()
            status = response.status_code if response is not None else None
            wait = retry_after(response) if status in TRANSIENT_STATUSES else None
            if wait is None or wait > max_wait or attempt >= retries:
                raise
            attempt += 1
            sleep(wait)


def describe_wait(response: httpx.Response | None) -> str:
    """' (the server asks to retry after N s)' for an error message, or ''."""
    wait = retry_after(response)
    if wait is None:
        return ""
    return f" (the server asks to retry after {wait:.0f} s)"
