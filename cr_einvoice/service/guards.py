"""Limits in front of the routes: request body size (every path) and request rate (per API key / session).

:class:`BodyLimit` reads a request's whole body before the application sees it and answers 413 (a problem
document) as soon as it passes ``max_bytes`` -- announced by ``Content-Length`` or streamed in chunks -- so no
route ever holds more than that. :class:`RateLimiter` is a token bucket per caller: ``rate`` requests per
second with bursts of ``burst``; a refused call learns when to come back (``Retry-After``). The console also
uses one to slow down an address whose sign-ins fail (:meth:`RateLimiter.charge` per failure,
:meth:`RateLimiter.wait` before the next attempt).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from cr_einvoice.service.problems import PROBLEM_TYPE, HTTPProblem, problem_body

__all__ = ["BodyLimit", "RateLimiter", "send_problem"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


async def send_problem(send: Send, problem: HTTPProblem, instance: str) -> None:
    """Answer ``problem`` on a raw ASGI channel."""
    body = problem_body(problem, instance)
    headers = [(b"content-type", PROBLEM_TYPE.encode()), (b"content-length", str(len(body)).encode())]
    headers += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in problem.headers.items()]
    await send({"type": "http.response.start", "status": problem.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _too_large(limit: int) -> HTTPProblem:
    return HTTPProblem(
        413, "too-large", "Request body too large", f"the request body is larger than {limit} bytes"
    )


class BodyLimit:
    """ASGI middleware: bodies above ``max_bytes`` are answered 413 before ``app`` runs."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = str(scope.get("path", ""))
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    announced = int(value)
                except ValueError:
                    await send_problem(
                        send, HTTPProblem(400, "bad-request", "Bad Content-Length", "not a number"), path
                    )
                    return
                if announced > self.max_bytes:
                    await send_problem(send, _too_large(self.max_bytes), path)
                    return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = bytes(message.get("body", b""))
            size += len(chunk)
            if size > self.max_bytes:
                await send_problem(send, _too_large(self.max_bytes), path)
                return
            chunks.append(chunk)
            more = bool(message.get("more_body", False))
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


class RateLimiter:
    """A token bucket per caller (an API key's id, a console session). Thread-safe."""

    def __init__(self, rate: float, burst: int, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.burst = float(burst)
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def _take(self, caller: str, *, take: bool, force: bool = False) -> int:
        """Seconds until ``caller`` has a token (0: it has one, taken when ``take``; ``force`` takes it even
        when there is none: the bucket goes below zero and the wait grows)."""
        now = self._clock()
        with self._lock:
            tokens, last = self._buckets.get(caller, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            wait = 0 if tokens >= 1.0 else max(1, math.ceil((1.0 - tokens) / self.rate))
            if take and (wait == 0 or force):
                tokens -= 1.0
            self._buckets[caller] = (tokens, now)
            return wait

    def check(self, caller: str) -> None:
        """Take one token for ``caller`` or raise a 429 problem saying when to come back."""
        wait = self._take(caller, take=True)
        if wait:
            raise HTTPProblem(
                429,
                "rate-limited",
                "Too many requests",
                f"this key is limited to {self.rate:g} requests per second (bursts of {self.burst:g})",
                headers={"Retry-After": str(wait)},
            )

    def wait(self, caller: str) -> int:
        """Seconds until ``caller`` may go on (0: now), taking nothing."""
        return self._take(caller, take=False)

    def charge(self, caller: str) -> None:
        """Take one token for ``caller`` whether or not one is left (a failure to count)."""
        self._take(caller, take=True, force=True)
