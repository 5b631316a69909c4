"""A sliding-window limiter that waits (never drops) until a key may send again."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Protocol


class Limiter(Protocol):
    """Waits until a key may send again; returns the seconds waited."""

    def acquire(self, key: str) -> float: ...


class SlidingWindowLimiter:
    """At most `limit` acquisitions per key in any `window` seconds.

    `acquire` sleeps (with the injected `sleep`) until the oldest send in the window is
    `window + margin` seconds old. The margin absorbs clock skew with the server.
    """

    def __init__(
        self,
        limit: int = 20,
        window: float = 60.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        margin: float = 1.0,
    ) -> None:
        if limit < 1 or window <= 0:
            raise ValueError("limit must be >= 1 and window > 0")
        self.limit = limit
        self.window = window
        self.margin = margin
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._sent: dict[str, deque[float]] = {}

    def __repr__(self) -> str:
        return f"SlidingWindowLimiter(limit={self.limit}, window={self.window})"

    def acquire(self, key: str) -> float:
        """Block until `key` may send, record the send, and return the seconds waited."""
        waited = 0.0
        while True:
            with self._lock:
                now = self._clock()
                sent = self._sent.setdefault(key, deque())
                while sent and now - sent[0] >= self.window + self.margin:
                    sent.popleft()
                if len(sent) < self.limit:
                    sent.append(now)
                    return waited
                wait = sent[0] + self.window + self.margin - now
            self._sleep(wait)
            waited += wait
