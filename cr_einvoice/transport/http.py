"""Shared HTTP request/response core for every client in the package (Hacienda, Khipu, Belvo, Flow).

A request is data (:class:`Request`); its retries, pacing and error mapping are one flow,
:meth:`HTTPCore.exchange`, built on :func:`cr_einvoice.transport.flow.retrying`: each step it yields is one
attempt, and the one decision function says, for each attempt, whether to return the response, raise a mapped
error, or wait and retry. :func:`run_sync` and :func:`run_async` perform any such :data:`Flow` with an
``httpx.Client`` or ``httpx.AsyncClient``; :meth:`HTTPCore.send` and :meth:`HTTPCore.send_async` are those two
runners applied to :meth:`~HTTPCore.exchange`, so both flavours behave identically. Retries use exponential
backoff with full jitter (:func:`backoff_delay`, the package's one backoff policy), bounded in count and
delay, and honour ``Retry-After`` and Hacienda's ``X-Ratelimit-*`` headers. A client-side :class:`RateLimiter`
keeps a busy issuer under the server's advertised limit.

Non-idempotent requests (a POST) are retried after a failure only when the request certainly did not reach
the server (connection refused, connect timeout); an ambiguous failure raises
:class:`~cr_einvoice.core.errors.TransportError` with ``request_sent=True`` so the caller can ask for the
status before sending again.
"""

from __future__ import annotations

import email.utils
import logging
import random
import ssl
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Protocol, Self, TypeVar

import httpx

from cr_einvoice.core.errors import ConfigError, TransportError
from cr_einvoice.core.version import __version__
from cr_einvoice.transport.flow import Retry, Sleep, Steps, drive, drive_async, retrying

__all__ = [
    "DEFAULT_TIMEOUT",
    "AsyncClosing",
    "Closing",
    "Flow",
    "HTTPCore",
    "Pacer",
    "RateLimit",
    "RateLimiter",
    "Request",
    "RetryPolicy",
    "Sleep",
    "backoff_delay",
    "json_client_options",
    "redact_url",
    "run_async",
    "run_sync",
    "send_once",
    "send_once_async",
    "tls_verify",
]

T = TypeVar("T")
_RNG = random.Random()

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
class Closing(ABC):
    """``with`` support for a client that holds connections: leaving the block calls :meth:`close`."""

    @abstractmethod
    def close(self) -> None: ...

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncClosing(ABC):
    """``async with`` support for an asynchronous client: leaving the block awaits :meth:`aclose`."""

    @abstractmethod
    async def aclose(self) -> None: ...

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


DEFAULT_TIMEOUT = httpx.Timeout(connect=5.0, read=30.0, write=30.0, pool=5.0)


def tls_verify(ca_bundle: str | Path | None) -> ssl.SSLContext | bool:
    """What httpx verifies TLS with: the system's CAs, plus a private bundle when given (a TLS-serving
    simulator). Verification itself cannot be switched off."""
    if ca_bundle is None:
        return True
    try:
        return ssl.create_default_context(cafile=str(ca_bundle))
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"ca_bundle: cannot load CA certificates from {ca_bundle}: {exc}") from None


def json_client_options(timeout: httpx.Timeout, verify: ssl.SSLContext | bool) -> dict[str, Any]:
    """The ``httpx.Client`` options of a JSON API client: explicit timeouts, no proxies or redirects taken
    from the environment, the package's User-Agent."""
    return {
        "timeout": timeout,
        "verify": verify,
        "headers": {"User-Agent": f"cr-einvoice/{__version__}", "Accept": "application/json"},
        "trust_env": False,
        "follow_redirects": False,
    }


def backoff_delay(
    attempt: int, base: float, cap: float, *, rng: random.Random | None = None, floor: float = 0.0
) -> float:
    """Exponential backoff with jitter, capped: the delay before retry number ``attempt`` (1-based).

    The ceiling is ``min(cap, base * 2 ** (attempt - 1))``; the delay is drawn uniformly between
    ``floor * ceiling`` and the ceiling (``floor=0``: full jitter; ``floor=0.5``: equal jitter).
    """
    ceiling = min(cap, base * 2.0 ** min(max(0, attempt - 1), 1000))
    return (rng or _RNG).uniform(ceiling * floor, ceiling)


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
        """Full-jitter exponential backoff for retry number ``attempt`` (1-based): :func:`backoff_delay`."""
        return backoff_delay(attempt, self.backoff_base, self.backoff_max, rng=rng)


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


class Pacer(Protocol):
    """What :class:`HTTPCore` asks of a client-side limiter (:class:`RateLimiter`, a sliding-window one)."""

    def reserve(self) -> float:
        """Claim a slot; the seconds to wait before sending."""
        ...

    def update(self, rate: RateLimit | None) -> None:
        """The rate-limit headers of the latest response (None when it had none)."""
        ...


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

#: An HTTP conversation as data: a generator that yields the attempts to send (each :class:`Request` is sent
#: once) or pauses, receives each response and has a failed send's exception thrown in. :func:`run_sync` and
#: :func:`run_async` perform it; :meth:`HTTPCore.exchange` is the flow of one request with its retries.
Flow = Steps[Request, httpx.Response, T]


def _attempt(request: Request, timeout: httpx.Timeout) -> dict[str, Any]:
    return {
        "method": request.method,
        "url": request.url,
        "params": request.params,
        "json": request.json,
        "data": request.data,
        "content": request.content,
        "headers": dict(request.headers),
        "timeout": request.timeout or timeout,
    }


def send_once(client: httpx.Client, request: Request) -> httpx.Response:
    """One attempt: send ``request`` and read the whole response (no retries)."""
    response = client.request(**_attempt(request, client.timeout))
    response.read()
    return response


async def send_once_async(client: httpx.AsyncClient, request: Request) -> httpx.Response:
    """One asynchronous attempt (see :func:`send_once`)."""
    response = await client.request(**_attempt(request, client.timeout))
    await response.aread()
    return response


def run_sync(flow: Flow[T], client: httpx.Client, *, sleep: Callable[[float], None] = time.sleep) -> T:
    """Run an HTTP flow with a blocking client."""
    return drive(flow, partial(send_once, client), sleep)


async def run_async(flow: Flow[T], client: httpx.AsyncClient) -> T:
    """Run an HTTP flow with an asynchronous client (pauses are ``asyncio.sleep``)."""
    return await drive_async(flow, partial(send_once_async, client))


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
        limiter: Pacer | None = None,
        rng: random.Random | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
        on_throttle: Callable[[float], None] | None = None,
    ) -> None:
        """``on_throttle(seconds)`` hears of every 429 with the wait it asks for (Retry-After, or the backoff
        when it names none), so a limiter shared by other callers can hold them back too."""
        self.map_error = map_error
        self.on_throttle = on_throttle
        self.retry = retry or RetryPolicy()
        self.limiter = limiter
        self._rng = rng or random.Random()
        self._sleep = sleep
        self._clock = clock

    # -- the flow ------------------------------------------------------------------------------
    def exchange(self, request: Request) -> Flow[httpx.Response]:
        """``request`` with its retries as a flow: the final response, or the mapped error raised."""
        pace = self.limiter.reserve if self.limiter is not None else None
        return retrying(request, partial(self._decide, request), pace)

    def _decide(
        self, request: Request, attempt: int, outcome: httpx.Response | Exception
    ) -> httpx.Response | Retry:
        if isinstance(outcome, httpx.HTTPError):
            return self._on_exception(attempt, outcome, request)
        if isinstance(outcome, Exception):
            raise outcome
        return self._on_response(attempt, outcome, request)

    def _on_response(
        self, attempt: int, response: httpx.Response, request: Request
    ) -> httpx.Response | Retry:
        if self.limiter is not None:
            self.limiter.update(RateLimit.from_headers(response.headers))
        status = response.status_code
        server_delay = _retry_after(response.headers, self._clock()) if status >= 400 else None
        if status == 429 and self.on_throttle is not None:
            throttle = server_delay if server_delay is not None else self.retry.backoff(attempt, self._rng)
            self.on_throttle(throttle)
        retryable = status in self.retry.retry_statuses and attempt < self.retry.max_attempts
        if retryable and (server_delay is None or server_delay <= self.retry.max_server_delay):
            delay = self.retry.backoff(attempt, self._rng)
            if server_delay is not None:
                delay = max(delay, server_delay)
            log.info(
                "%s: HTTP %s from %s, retry %d in %.2fs", request.what, status, request.url, attempt, delay
            )
            return Retry(delay)
        error = self.map_error(response, request)
        if error is not None:
            raise error
        return response

    def _on_exception(self, attempt: int, exc: httpx.HTTPError, request: Request) -> Retry:
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
            return Retry(delay)
        hint = (
            "; the request may have reached the server, so check its status before sending again"
            if not not_sent
            else ""
        )
        message = (
            f"{request.what}: {request.method} {request.url} {kind} after {attempt} attempt(s) "
            f"({type(exc).__name__}: {exc or 'no detail'}){hint}"
        )
        raise TransportError(message, url=request.url, request_sent=not not_sent)

    # -- the two runners -----------------------------------------------------------------------
    def send(self, client: httpx.Client, request: Request) -> httpx.Response:
        return run_sync(self.exchange(request), client, sleep=self._sleep)

    async def send_async(self, client: httpx.AsyncClient, request: Request) -> httpx.Response:
        return await run_async(self.exchange(request), client)
