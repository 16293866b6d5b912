"""Fixed-window request counting behind the ``X-Ratelimit-*`` headers and HTTP 429."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["RateDecision", "WindowRateLimiter"]


@dataclass(frozen=True, slots=True)
class RateDecision:
    allowed: bool
    limit: int
    remaining: int
    reset: int  # UTC epoch seconds at which the window restarts

    def headers(self) -> dict[str, str]:
        return {
            "X-Ratelimit-Limit": str(self.limit),
            "X-Ratelimit-Remaining": str(self.remaining),
            "X-Ratelimit-Reset": str(self.reset),
        }


class WindowRateLimiter:
    """Counts requests per key (taxpayer or client address) in fixed windows. Thread-safe.

    The window starts with a key's first request; ``reset`` is when it ends, rounded up to a whole epoch
    second, as Hacienda sends it.
    """

    def __init__(self, window: float, *, clock: Callable[[], float] = time.time) -> None:
        self._window = window
        self._clock = clock
        self._lock = threading.Lock()
        self._counts: dict[str, tuple[float, int]] = {}

    def hit(self, key: str, limit: int) -> RateDecision:
        now = self._clock()
        with self._lock:
            start, count = self._current(key, now)
            allowed = count < limit
            if allowed:
                count += 1
            self._counts[key] = (start, count)
            if len(self._counts) > 10_000:
                self._prune(now)
        return self._decision(allowed, limit, count, start)

    def peek(self, key: str, limit: int) -> RateDecision:
        now = self._clock()
        with self._lock:
            start, count = self._current(key, now)
        return self._decision(count < limit, limit, count, start)

    def _current(self, key: str, now: float) -> tuple[float, int]:
        """(start, count) of ``key``'s window at ``now``: a fresh window once the last one ended."""
        start, count = self._counts.get(key, (now, 0))
        return (now, 0) if now >= start + self._window else (start, count)

    def _decision(self, allowed: bool, limit: int, count: int, start: float) -> RateDecision:
        return RateDecision(allowed, limit, max(0, limit - count), math.ceil(start + self._window))

    def _prune(self, now: float) -> None:
        for key in [k for k, (s, _) in self._counts.items() if now >= s + self._window]:
            del self._counts[key]
