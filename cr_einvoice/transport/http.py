"""Shared HTTP request/response core for every client in the package (Hacienda, Khipu, Belvo, Flow).

One decision function says, for each attempt, whether to return the response, raise a mapped error, or wait
and retry; a sync loop (:meth:`HTTPCore.send`) and an async loop (:meth:`HTTPCore.send_async`) drive it, so
both flavours behave identically. Retries use exponential backoff with full jitter, bounded in count and
delay, and honour ``Retry-After`` and Hacienda's ``X-Ratelimit-*`` headers. A client-side
:class:`RateLimiter` keeps a busy issuer under the server's advertised limit.

Non-idempotent requests (a POST) are retried after a failure only when the request certainly did not reach
the server (connection refused, connect timeout); an ambiguous failure raises
:class:`~cr_einvoice.core.errors.TransportError` with ``request_sent=True`` so the caller can ask for the
status
before sending again.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from cr_einvoice.core.errors import TransportError

__all__ = [
    "DEFAULT_TIMEOUT",
    "HTTPCore",
    "RateLimit",
    "RateLimiter",
    "Request",
    "RetryPolicy",
    "redact_url",
]

log = logging.getLogger("cr_einvoice.http")

#: Query parameters that carry credentials in some APIs (Flow's apiKey and signature, OAuth tokens).
SENSITIVE_QUERY_PARAMS = frozenset(
    {
        "apikey",
        "api_key",
        "s",
        "token",
        "access_token",
        "refresh_token",
        "password",
        "client_secret",
        "secret",
    }
)


def redact_url(url: httpx.URL | str) -> str:
    """``url`` with the values of credential-carrying query parameters replaced by ``<redacted>``."""
    parsed = httpx.URL(str(url))
    if not parsed.query:
        return str(parsed)
    params = [
        (k, "<redacted>" if k.lower() in SENSITIVE_QUERY_PARAMS else v)
        for k, v in parsed.params.multi_items()
    ]
    return str(parsed.copy_with(params=params))


class _RedactingFilter(logging.Filter):
    """Keeps credentials in query strings out of httpx's own request log lines."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and record.args:
            record.args = tuple(redact_url(a) if isinstance(a, httpx.URL) else a for a in record.args)
        return True


_httpx_log = logging.getLogger("httpx")
if not any(isinstance(f, _RedactingFilter) for f in _httpx_log.filters):
    _httpx_log.addFilter(_RedactingFilter())

#: Explicit timeouts everywhere: 5 s to connect, 30 s to read or write, 5 s to get a pooled connection.
DEFAULT_TIMEOUT = httpx.Timeout(connect=5.0, read=30.0, write=30.0, pool=5.0)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how long to retry. ``max_attempts`` counts the first try."""

    max_attempts: int = 4
    backoff_base: float = 0.5
    backoff_max: float = 30.0
    retry_statuses: frozenset[int] = frozenset({429, 500, 502, 503, 504})
    #: Longest wait honoured from Retry-After / X-Ratelimit-Reset before giving up instead.
    max_server_delay: float = 120.0

    def backoff(self, attempt: int, rng: random.Random) -> float:
        """Full-jitter exponential backoff for retry number ``attempt`` (1-based)."""
        ceiling = min(self.backoff_max, self.backoff_base * (2 ** (attempt - 1)))
        return rng.uniform(0, ceiling)


@dataclass(frozen=True, slots=True)
class RateLimit:
    """Hacienda's ``X-Ratelimit-Limit/Remaining/Reset`` headers (reset in UTC epoch seconds)."""

    limit: int
    remaining: int
    reset: float

    @classmethod
    def from_headers(cls, headers: Mapping[str, str]) -> RateLimit | None:
        lower = {k.lower(): v for k, v in headers.items()}
        try:
            return cls(
                limit=int(lower["x-ratelimit-limit"]),
                remaining=int(lower["x-ratelimit-remaining"]),
                reset=float(lower["x-ratelimit-reset"]),
            )
        except (KeyError, ValueError):
            return None


class RateLimiter:
    """Client-side pacing from the server's rate-limit headers.

    When the window is exhausted every request waits for the reset; when it runs low, requests are spread
    over the rest of the window instead of bursting into a 429. Safe to share between threads and tasks.
    """

    def __init__(self, *, clock: Callable[[], float] = time.time, low_water: float = 0.1) -> None:
        self._clock = clock
        self._low_water = low_water
        self._lock = threading.Lock()
        self._last: RateLimit | None = None
        self._next_slot = 0.0

    @property
    def last(self) -> RateLimit | None:
        return self._last

    def update(self, rate: RateLimit | None) -> None:
        if rate is None:
            return
        with self._lock:
            self._last = rate

    def reserve(self) -> float:
        """Claim the next slot and return how many seconds to wait before sending."""
        with self._lock:
            rate, now = self._last, self._clock()
            if rate is None or rate.reset <= now:
                return 0.0
            window = rate.reset - now
            if rate.remaining <= 0:
                self._next_slot = max(self._next_slot, rate.reset)
                return max(0.0, rate.reset - now)
            if rate.remaining > max(1, int(rate.limit * self._low_water)):
                return 0.0
            spacing = window / rate.remaining
            slot = max(now, self._next_slot)
            self._next_slot = slot + spacing
            # The server's counter catches up on the next response; optimistically count this one.
            self._last = RateLimit(rate.limit, rate.remaining - 1, rate.reset)
            return slot - now


@dataclass(frozen=True, slots=True)
class Request:
    """A request as data. ``idempotent`` allows retries after an ambiguous failure."""

    method: str
    url: str
    params: Mapping[str, str | int] | None = None
    json: Any = None
    data: Mapping[str, str] | None = None
    content: bytes | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    idempotent: bool = True
    #: What the call is, for messages ("submit voucher", "Belvo invoice list").
    what: str = "request"
    #: The voucher concerned, carried into errors.
    clave: str | None = None
    timeout: httpx.Timeout | None = None


#: Maps a non-retryable response to the exception to raise, or None when the response is a success.
ErrorMapper = Callable[[httpx.Response, Request], Exception | None]


@dataclass(frozen=True, slots=True)
class _Return:
    response: httpx.Response


@dataclass(frozen=True, slots=True)
class _Retry:
    delay: float


@dataclass(frozen=True, slots=True)
class _Raise:
    error: Exception


_Decision = _Return | _Retry | _Raise

# Failures where the request certainly never reached the server.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)


def _retry_after(headers: Mapping[str, str], now: float) -> float | None:
    value = headers.get("retry-after")
    if value:
        try:
            return max(0.0, float(value))
        except ValueError:
            try:
                parsed = email.utils.parsedate_to_datetime(value)
            except (TypeError, ValueError):
                parsed = None
            if parsed is not None:
                return max(0.0, parsed.timestamp() - now)
    rate = RateLimit.from_headers(headers)
    if rate is not None and rate.remaining <= 0:
        return max(0.0, rate.reset - now)
    return None


class HTTPCore:
    """Executes :class:`Request` objects with retries, pacing and error mapping (sync and async)."""

    def __init__(
        self,
        *,
        map_error: ErrorMapper,
        retry: RetryPolicy | None = None,
        limiter: RateLimiter | None = None,
        rng: random.Random | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.map_error = map_error
        self.retry = retry or RetryPolicy()
        self.limiter = limiter
        self._rng = rng or random.Random()
        self._sleep = sleep
        self._clock = clock

    # -- the shared decision -------------------------------------------------------------------
    def _on_response(self, attempt: int, response: httpx.Response, request: Request) -> _Decision:
        if self.limiter is not None:
            self.limiter.update(RateLimit.from_headers(response.headers))
        status = response.status_code
        if status in self.retry.retry_statuses and attempt < self.retry.max_attempts:
            server_delay = _retry_after(response.headers, self._clock())
            if server_delay is None or server_delay <= self.retry.max_server_delay:
                delay = self.retry.backoff(attempt, self._rng)
                if server_delay is not None:
                    delay = max(delay, server_delay)
                log.info(
                    "%s: HTTP %s from %s, retry %d in %.2fs",
                    request.what,
                    status,
                    request.url,
                    attempt,
                    delay,
                )
                return _Retry(delay)
        error = self.map_error(response, request)
        if error is not None:
            return _Raise(error)
        return _Return(response)

    def _on_exception(self, attempt: int, exc: httpx.HTTPError, request: Request) -> _Decision:
        not_sent = isinstance(exc, _NOT_SENT)
        kind = "timed out" if isinstance(exc, httpx.TimeoutException) else "failed"
        if attempt < self.retry.max_attempts and (not_sent or request.idempotent):
            delay = self.retry.backoff(attempt, self._rng)
            log.info(
                "%s: %s %s (%s), retry %d in %.2fs",
                request.what,
                request.url,
                kind,
                type(exc).__name__,
                attempt,
                delay,
            )
            return _Retry(delay)
        hint = (
            "; the request may have reached the server, so check its status before sending again"
            if not not_sent
            else ""
        )
        message = (
            f"{request.what}: {request.method} {request.url} {kind} after {attempt} attempt(s) "
            f"({type(exc).__name__}: {exc or 'no detail'}){hint}"
        )
        return _Raise(TransportError(message, url=request.url, request_sent=not not_sent))

    def _pace(self) -> float:
        return self.limiter.reserve() if self.limiter is not None else 0.0

    # -- the two drivers -----------------------------------------------------------------------
    def send(self, client: httpx.Client, request: Request) -> httpx.Response:
        attempt = 0
        while True:
            attempt += 1
            wait = self._pace()
            if wait > 0:
                self._sleep(wait)
            try:
                response = client.request(
                    request.method,
                    request.url,
                    params=request.params,
                    json=request.json,
                    data=request.data,
                    content=request.content,
                    headers=dict(request.headers),
                    timeout=request.timeout or client.timeout,
                )
                response.read()
            except httpx.HTTPError as exc:
                decision = self._on_exception(attempt, exc, request)
            else:
                decision = self._on_response(attempt, response, request)
            if isinstance(decision, _Return):
                return decision.response
            if isinstance(decision, _Raise):
                raise decision.error
            self._sleep(decision.delay)

    async def send_async(self, client: httpx.AsyncClient, request: Request) -> httpx.Response:
        attempt = 0
        while True:
            attempt += 1
            wait = self._pace()
            if wait > 0:
                await asyncio.sleep(wait)
            try:
                response = await client.request(
                    request.method,
                    request.url,
                    params=request.params,
                    json=request.json,
                    data=request.data,
                    content=request.content,
                    headers=dict(request.headers),
                    timeout=request.timeout or client.timeout,
                )
                await response.aread()
            except httpx.HTTPError as exc:
                decision = self._on_exception(attempt, exc, request)
            else:
                decision = self._on_response(attempt, response, request)
            if isinstance(decision, _Return):
                return decision.response
            if isinstance(decision, _Raise):
                raise decision.error
            await asyncio.sleep(decision.delay)
