"""An injectable clock shared by every part of the stand-in.

GoTrue and PostgREST both read the wall clock: token ``iat``/``exp``, refresh-token reuse
windows, OTP expiry and resend limits, JWT verification. The stand-in reads
:meth:`Clock.now` instead, so a test can move time without sleeping. The clock keeps running
from wherever it was set (it is an offset on the real clock), unless it is frozen.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime


class Clock:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._offset = 0.0
        self._frozen_at: float | None = None

    def now(self) -> float:
        """Seconds since the epoch, as the stand-in sees them."""
        with self._lock:
            if self._frozen_at is not None:
                return self._frozen_at
            return time.time() + self._offset

    def now_dt(self) -> datetime:
        return datetime.fromtimestamp(self.now(), tz=UTC)

    def advance(self, seconds: float) -> float:
        """Move the clock forward (or back, with a negative number); returns the new time."""
        with self._lock:
            if self._frozen_at is not None:
                self._frozen_at += seconds
                return self._frozen_at
            self._offset += seconds
            return time.time() + self._offset

    def set_now(self, when: float | datetime) -> None:
        """Jump to an absolute time (epoch seconds or an aware datetime)."""
        target = when.timestamp() if isinstance(when, datetime) else float(when)
        with self._lock:
            if self._frozen_at is not None:
                self._frozen_at = target
            else:
                self._offset = target - time.time()

    def freeze(self) -> None:
        """Stop the clock at its current reading (``advance``/``set_now`` still move it)."""
        with self._lock:
            if self._frozen_at is None:
                self._frozen_at = time.time() + self._offset

    def unfreeze(self) -> None:
        with self._lock:
            if self._frozen_at is not None:
                self._offset = self._frozen_at - time.time()
                self._frozen_at = None

    def reset(self) -> None:
        """Back to the real wall clock."""
        with self._lock:
            self._offset = 0.0
            self._frozen_at = None

    @property
    def offset(self) -> float:
        with self._lock:
            return self._offset if self._frozen_at is None else self._frozen_at - time.time()
