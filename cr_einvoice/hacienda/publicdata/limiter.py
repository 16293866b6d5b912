"""Client-side pacing for api.hacienda.go.cr: sliding windows, and a hold after HTTP 429.

The API answers 429 -- and reportedly blocks the address for ten minutes -- past about 20 requests per second
in a burst (over 5 s) or 10 per second sustained (over 120 s). :class:`SlidingWindowLimiter` hands out send
times so that no window ever holds more than its share, a little under each limit; a 429 (through
``HTTPCore(on_throttle=limiter.hold)``) holds every caller sharing the limiter back for the time the server
asked. Safe to share between threads and tasks (:func:`shared_limiter` gives one per API host).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Sequence

from cr_einvoice.core.errors import ConfigError
from cr_einvoice.transport.http import RateLimit

__all__ = ["PUBLIC_API_WINDOWS", "SlidingWindowLimiter", "shared_limiter"]

#: (requests, seconds): at most 18 a second, 90 in any 5 s (burst: 20/s) and 1,080 in any 120 s (sustained:
#: 10/s) -- 10 % under the reported limits.
PUBLIC_API_WINDOWS: tuple[tuple[int, float], ...] = ((18, 1.0), (90, 5.0), (1080, 120.0))


class SlidingWindowLimiter:
    """Grants send times so that at most ``n`` requests fall in any ``seconds``-long window of ``windows``."""

    def __init__(
        self,
        windows: Sequence[tuple[int, float]] = PUBLIC_API_WINDOWS,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not windows:
            raise ConfigError("the limiter needs at least one (requests, seconds) window")
        for count, seconds in windows:
            if count < 1 or seconds <= 0:
                raise ConfigError(f"limiter window ({count}, {seconds}): requests must be >= 1, seconds > 0")
        self.windows = tuple((int(n), float(s)) for n, s in windows)
        self._span = max(s for _, s in self.windows)
        self._deepest = max(n for n, _ in self.windows)
        self._clock = clock
        self._lock = threading.Lock()
        self._granted: deque[float] = deque()
        self._hold_until = 0.0
        #: How many 429 answers held the callers back.
        self.throttled = 0

    def reserve(self) -> float:
        """Claim the next send time; the seconds to wait for it."""
        with self._lock:
            now = self._clock()
            while self._granted and self._granted[0] <= now - self._span:
                self._granted.popleft()
            slot = max(now, self._hold_until, self._granted[-1] if self._granted else now)
            moved = True
            while moved:  # each window may push the slot past the request that fills it
                moved = False
                for count, seconds in self.windows:
                    if len(self._granted) >= count and self._granted[-count] + seconds > slot:
                        slot = self._granted[-count] + seconds
                        moved = True
            self._granted.append(slot)
            while len(self._granted) > self._deepest:
                self._granted.popleft()
            return slot - now

    def update(self, rate: RateLimit | None) -> None:
        """The public API sends no rate-limit headers; pacing comes from the windows alone."""

    def hold(self, seconds: float) -> None:
        """Hold every caller back ``seconds`` from now (the server answered 429)."""
        with self._lock:
            self.throttled += 1
            self._hold_until = max(self._hold_until, self._clock() + max(0.0, seconds))

    def blocked_for(self) -> float:
        """Seconds until the hold after a 429 ends (0 when there is none)."""
        with self._lock:
            return max(0.0, self._hold_until - self._clock())


_SHARED: dict[str, SlidingWindowLimiter] = {}
_SHARED_LOCK = threading.Lock()


def shared_limiter(host: str) -> SlidingWindowLimiter:
    """The process-wide limiter of the API at ``host`` (the limits count per client address)."""
    with _SHARED_LOCK:
        limiter = _SHARED.get(host)
        if limiter is None:
            limiter = _SHARED[host] = SlidingWindowLimiter()
        return limiter
