"""The client of api.hacienda.go.cr: :class:`PublicDataClient` (sync) and :class:`AsyncPublicDataClient`.

Each lookup is one flow (:mod:`cr_einvoice.transport.flow`) the two clients run with their own driver, so they
cannot behave differently: a fresh cache entry answers at once; otherwise the request goes through
:class:`~cr_einvoice.transport.http.HTTPCore` paced by a :class:`~.limiter.SlidingWindowLimiter` (a 429 holds
every caller of the limiter back); the answer is read into a typed result and cached. When Hacienda cannot be
reached (or blocks us) an expired cache entry is returned with ``stale=True``; ``offline=True`` never
touches the network and reports a miss as :class:`~.errors.NotCachedError`.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Generic, TypedDict, TypeVar, Unpack

import httpx

from cr_einvoice.core.clave import CR_TZ
from cr_einvoice.core.errors import (
    APIError,
    ConfigError,
    RateLimitedError,
    ServerError,
    TransportError,
    ValidationError,
)
from cr_einvoice.core.jsonsafe import loads as json_loads
from cr_einvoice.hacienda.publicdata import answers as a
from cr_einvoice.hacienda.publicdata.cache import (
    NS_CABYS,
    NS_CABYS_SEARCH,
    NS_EXONERATION,
    NS_RATE,
    NS_TAXPAYER,
    Cache,
    CachedEntry,
    CachePolicy,
)
from cr_einvoice.hacienda.publicdata.errors import (
    MalformedQueryError,
    NotCachedError,
    NotRegisteredError,
    PublicDataBlockedError,
    UnexpectedAnswerError,
)
from cr_einvoice.hacienda.publicdata.imported import activity_catalogue, registered_taxpayer
from cr_einvoice.hacienda.publicdata.limiter import SlidingWindowLimiter, shared_limiter
from cr_einvoice.hacienda.publicdata.model import (
    ActivityCatalogue,
    Cabys,
    CabysSearch,
    ExchangeHistory,
    ExchangeRate,
    Exoneration,
    RegisteredTaxpayer,
    Taxpayer,
)
from cr_einvoice.transport.http import (
    DEFAULT_TIMEOUT,
    AsyncClosing,
    Closing,
    Flow,
    HTTPCore,
    Request,
    RetryPolicy,
    json_client_options,
    run_async,
    run_sync,
    tls_verify,
)

__all__ = ["AsyncPublicDataClient", "PublicDataClient", "PublicDataOptions", "map_public_error"]

log = logging.getLogger("cr_einvoice.publicdata")

T = TypeVar("T")

#: Failures after which an expired cache entry is better than nothing.
_UNREACHABLE = (TransportError, RateLimitedError, ServerError)


class PublicDataOptions(TypedDict, total=False):
    """Keyword options of both clients (defaults in brackets).

    ``cache`` (None): a :class:`~.cache.Cache` (an outbox ``Store`` is one); ``offline`` (False): only the
    cache answers; ``policy``: freshness per kind; ``limiter`` (the process's limiter of the host);
    ``max_wait`` (30 s): the longest a 429 may hold a lookup before it fails (or falls back to the cache);
    ``timeout``; ``retry``; ``ca_bundle``: extra CA certificates for TLS; ``clock``: the aware "now" of
    the cache's freshness; ``rng``: the retry jitter.
    """

    cache: Cache | None
    offline: bool
    policy: CachePolicy
    limiter: SlidingWindowLimiter | None
    max_wait: float
    timeout: httpx.Timeout
    retry: RetryPolicy | None
    ca_bundle: str | Path | None
    clock: Callable[[], datetime]
    rng: random.Random | None


def map_public_error(response: httpx.Response, request: Request) -> Exception | None:
    """404 and 400 as the API document defines them; 429 and 5xx as the package's classes."""
    status = response.status_code
    if status < 400:
        return None
    args: dict[str, Any] = {
        "status": status,
        "headers": dict(response.headers),
        "body": response.text,
        "url": str(request.url),
    }
    query = ", ".join(f"{k}={v}" for k, v in (request.params or {}).items())
    if status == 404:
        return NotRegisteredError(
            f"{request.what}: Hacienda's registry has no {query or 'such entry'}", **args
        )
    if status == 400:
        return MalformedQueryError(
            f"{request.what}: Hacienda refused {query or 'the query'} as not valid", **args
        )
    if status == 429:
        return RateLimitedError(
            f"{request.what}: api.hacienda.go.cr limits the requests of this address", **args
        )
    if status >= 500:
        return ServerError(f"{request.what}: api.hacienda.go.cr failed, retries used up", **args)
    return APIError(f"{request.what}: unexpected HTTP status", **args)


@dataclass(frozen=True, slots=True)
class _Lookup(Generic[T]):
    """One cached lookup: where its answer is kept, how it is asked, and how an answer becomes ``T``."""

    what: str
    namespace: str
    key: str
    #: None: the API cannot answer this (only the cache can); ``unavailable`` says why.
    request: Request | None
    #: (JSON value, meta) -> result; raises AnswerShapeError, or _Empty for an answer that holds nothing.
    read: Callable[[Any, a.Meta], T]
    #: The (namespace, key, bytes) to cache for an answer (default: the answer's bytes under this key).
    to_cache: Callable[[bytes, T], list[tuple[str, str, bytes]]] | None = None
    #: Reads a cached value when it is not the raw answer.
    read_cached: Callable[[Any, a.Meta], T] | None = None
    unavailable: str = ""


class _Base:
    def __init__(self, base_url: str, sleep: Callable[[float], None], options: PublicDataOptions) -> None:
        unknown = sorted(set(options) - PublicDataOptions.__optional_keys__)
        if unknown:
            raise TypeError(f"{type(self).__name__}() got unexpected keyword arguments: {', '.join(unknown)}")
        url = httpx.URL(base_url)
        if url.scheme not in {"http", "https"} or not url.host:
            raise ConfigError(f"publicdata base_url: {base_url!r} is not an http(s) URL")
        self.base_url = base_url.rstrip("/")
        self.cache = options.get("cache")
        self.offline = options.get("offline", False)
        self.policy = options.get("policy") or CachePolicy()
        limiter = options.get("limiter")
        self.limiter = limiter if limiter is not None else shared_limiter(f"{url.host}:{url.port or ''}")
        self.max_wait = options.get("max_wait", 30.0)
        self._now = options.get("clock") or (lambda: datetime.now(UTC))
        retry = options.get("retry") or RetryPolicy(max_attempts=3, max_server_delay=self.max_wait)
        self._core = HTTPCore(
            map_error=map_public_error,
            retry=retry,
            limiter=self.limiter,
            rng=options.get("rng"),
            sleep=sleep,
            on_throttle=self.limiter.hold,
        )
        self._timeout = options.get("timeout", DEFAULT_TIMEOUT)
        self._http_options = json_client_options(self._timeout, tls_verify(options.get("ca_bundle")))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.base_url!r}, offline={self.offline})"

    # -- what the API does not publish: imported into the cache (``cr-einvoice lookup import``) ----------
    def registered(self, identificacion: str) -> RegisteredTaxpayer | None:
        """The taxpayer's registered data with its address as imported (:mod:`.imported`; the cache only,
        never asked of the API), or None when none was imported."""
        return None if self.cache is None else registered_taxpayer(self.cache, identificacion)

    def activity_catalogue(self) -> ActivityCatalogue | None:
        """The imported catalogue of economic activities (the cache only), or None when none was."""
        return None if self.cache is None else activity_catalogue(self.cache)

    # -- the lookups as data ---------------------------------------------------------------------------
    def _taxpayer(self, identificacion: str) -> _Lookup[Taxpayer]:
        ident = a.check_identificacion(identificacion)
        return _Lookup(
            "taxpayer",
            NS_TAXPAYER,
            ident,
            a.taxpayer_request(self.base_url, ident),
            lambda data, meta: a.parse_taxpayer(data, ident, **meta),
        )

    def _cabys(self, codigo: str) -> _Lookup[Cabys]:
        code = a.check_cabys_code(codigo)

        def read(data: Any, meta: a.Meta) -> Cabys:
            found = [c for c in a.parse_cabys_list(data, **meta) if c.codigo == code]
            if not found:
                raise _Empty(f"CABYS code {code} is not in the catalogue")
            return found[0]

        return _Lookup("CABYS code", NS_CABYS, code, a.cabys_code_request(self.base_url, code), read)

    def _search(self, text: str, top: int | None) -> _Lookup[CabysSearch]:
        query = " ".join(str(text).split())
        if not query:
            raise ValidationError("the CABYS search text is empty", path="q")
        if top is not None and not 1 <= top <= 1000:
            raise ValidationError(f"top must be 1..1000, got {top}", path="top")
        return _Lookup(
            "CABYS search",
            NS_CABYS_SEARCH,
            f"{top or ''}:{query.lower()}",
            a.search_request(self.base_url, query, top),
            lambda data, meta: a.parse_cabys_search(data, query, **meta),
        )

    def _rate(self, currency: str, day: date | None) -> _Lookup[ExchangeRate]:
        code = a.check_currency(currency)
        today = self._now().astimezone(CR_TZ).date()
        wanted = day or today
        if wanted > today:
            raise ValidationError(f"no exchange rate is published for a future date ({wanted})", path="date")
        key = f"{code}:{wanted.isoformat()}"

        def to_cache(raw: bytes, rate: ExchangeRate) -> list[tuple[str, str, bytes]]:
            return [(NS_RATE, f"{code}:{rate.fecha.isoformat()}", a.rate_cache_value(rate))]

        if wanted == today:
            request = a.rate_request(self.base_url, code)

            def read(data: Any, meta: a.Meta) -> ExchangeRate:
                return a.parse_current_rate(data, code, **meta)

        elif code == "USD":
            request = a.history_request(self.base_url, wanted, wanted)

            def read(data: Any, meta: a.Meta) -> ExchangeRate:
                found = [r for r in a.parse_history(data, **meta) if r.fecha == wanted]
                if not found:
                    raise _Empty(f"the BCCR published no USD rate for {wanted}")
                return found[0]

        else:
            request = None

            def read(data: Any, meta: a.Meta) -> ExchangeRate:
                return a.parse_cached_rate(data, **meta)

        return _Lookup(
            "exchange rate",
            NS_RATE,
            key,
            request,
            read,
            to_cache=to_cache,
            read_cached=lambda data, meta: a.parse_cached_rate(data, **meta),
            unavailable=f"Hacienda's API publishes the {code} rate of the current day only, and the "
            f"{code} rate of {wanted} is not in the cache",
        )

    def _exoneration(self, autorizacion: str) -> _Lookup[Exoneration]:
        auth = a.check_authorization(autorizacion)
        return _Lookup(
            "exoneration",
            NS_EXONERATION,
            auth,
            a.exoneration_request(self.base_url, auth),
            lambda data, meta: a.parse_exoneration(data, **meta),
        )

    # -- the one flow of a cached lookup ---------------------------------------------------------------
    def _flow(self, lookup: _Lookup[T]) -> Flow[T]:
        entry = self._cached(lookup.namespace, lookup.key)
        now = self._now()
        cached = None if entry is None else self._from_cache(lookup, entry, now)
        if cached is not None and not cached[1]:
            return cached[0]
        if self.offline:
            if cached is not None:
                return cached[0]
            raise NotCachedError(lookup.what, lookup.key)
        if lookup.request is None:
            raise ValidationError(lookup.unavailable, path="date")
        try:
            response = yield from self._exchange(lookup.request)
        except _UNREACHABLE as exc:
            if cached is None:
                raise
            log.warning("%s %s: %s; using the cached answer (stale)", lookup.what, lookup.key, exc)
            return cached[0]
        result = self._read(lookup, lookup.request, response, now)
        self._store(lookup, response.content, result, now)
        return result

    def _exchange(self, request: Request) -> Flow[httpx.Response]:
        blocked = self.limiter.blocked_for()
        if blocked > self.max_wait:
            raise PublicDataBlockedError(
                f"{request.what}: api.hacienda.go.cr said 429; {blocked:.0f} s until it may be asked again",
                status=429,
                url=request.url,
            )
        return (yield from self._core.exchange(request))

    def _read(self, lookup: _Lookup[T], request: Request, response: httpx.Response, now: datetime) -> T:
        try:
            data = json_loads(response.content, what=f"{lookup.what} answer", decimal=True)
            return lookup.read(data, a.Meta(fetched_at=now, source="network", stale=False))
        except _Empty as exc:
            raise NotRegisteredError(
                f"{request.what}: {exc}", status=response.status_code, url=request.url
            ) from None
        except (a.AnswerShapeError, ValidationError) as exc:
            raise UnexpectedAnswerError(
                f"{request.what}: the answer is not what the API documents ({exc})",
                status=response.status_code,
                body=response.text,
                url=request.url,
            ) from None

    def _cached(self, namespace: str, key: str) -> CachedEntry | None:
        return None if self.cache is None else self.cache.cache_get(namespace, key)

    def _from_cache(self, lookup: _Lookup[T], entry: CachedEntry, now: datetime) -> tuple[T, bool] | None:
        """(result, stale) from a cache entry, or None when the entry cannot be read (then it is a miss)."""
        stale = not self.policy.fresh(lookup.namespace, entry.fetched_at, now)
        meta = a.Meta(fetched_at=entry.fetched_at, source="cache", stale=stale)
        try:
            data = json_loads(entry.value, what=f"cached {lookup.what}", decimal=True)
            return (lookup.read_cached or lookup.read)(data, meta), stale
        except (a.AnswerShapeError, ValidationError, _Empty) as exc:
            log.warning("cached %s %s is unreadable (%s); asking again", lookup.what, lookup.key, exc)
            return None

    def _store(self, lookup: _Lookup[T], raw: bytes, result: T, now: datetime) -> None:
        if self.cache is None:
            return
        rows = lookup.to_cache(raw, result) if lookup.to_cache else [(lookup.namespace, lookup.key, raw)]
        for namespace, key, value in rows:
            self.cache.cache_put(namespace, key, value, fetched_at=now)

    # -- the history: one request, cached day by day ------------------------------------------------------
    def _history_flow(self, desde: date, hasta: date) -> Flow[ExchangeHistory]:
        if hasta < desde:
            raise ValidationError(f"the history ends ({hasta}) before it starts ({desde})", path="hasta")
        if (hasta - desde).days > 366:
            raise ValidationError("ask for at most one year of exchange rates at a time", path="hasta")
        now = self._now()
        if self.offline:
            return self._history_from_cache(desde, hasta)
        request = a.history_request(self.base_url, desde, hasta)
        response = yield from self._exchange(request)
        meta = a.Meta(fetched_at=now, source="network", stale=False)
        lookup: _Lookup[tuple[ExchangeRate, ...]] = _Lookup(
            "exchange rate history",
            NS_RATE,
            f"USD:{desde}:{hasta}",
            request,
            lambda d, m: a.parse_history(d, **m),
        )
        rates = self._read(lookup, request, response, now)
        if self.cache is not None:
            for rate in rates:
                self.cache.cache_put(NS_RATE, f"USD:{rate.fecha}", a.rate_cache_value(rate), fetched_at=now)
        return ExchangeHistory(currency="USD", desde=desde, hasta=hasta, rates=rates, **meta)

    def _history_from_cache(self, desde: date, hasta: date) -> ExchangeHistory:
        rates: list[ExchangeRate] = []
        for day in _days(desde, hasta):
            entry = self._cached(NS_RATE, f"USD:{day}")
            if entry is None:
                raise NotCachedError("exchange rate", f"USD:{day}")
            data = json_loads(entry.value, what="cached exchange rate", decimal=True)
            rates.append(a.parse_cached_rate(data, fetched_at=entry.fetched_at, source="cache", stale=False))
        oldest = min((r.fetched_at for r in rates), default=self._now())
        return ExchangeHistory(
            currency="USD", desde=desde, hasta=hasta, rates=tuple(rates), fetched_at=oldest, source="cache"
        )


class _Empty(Exception):
    """A 200 answer that holds nothing for the query (an unknown CABYS code, a day without a rate)."""


def _days(desde: date, hasta: date) -> Iterator[date]:
    day = desde
    while day <= hasta:
        yield day
        day += timedelta(days=1)


class PublicDataClient(_Base, Closing):
    """Synchronous client of api.hacienda.go.cr (thread-safe; use as a context manager).

    ``transport`` replaces httpx's (tests); ``sleep`` waits for the limiter and between retries; the other
    options are :class:`PublicDataOptions`.
    """

    def __init__(
        self,
        base_url: str = a.DEFAULT_BASE_URL,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        **options: Unpack[PublicDataOptions],
    ) -> None:
        super().__init__(base_url, sleep, options)
        self._sleep = sleep
        self._http = httpx.Client(transport=transport, **self._http_options)

    def _run(self, flow: Flow[T]) -> T:
        return run_sync(flow, self._http, sleep=self._sleep)

    def taxpayer(self, identificacion: str) -> Taxpayer:
        """``GET /fe/ae``: name, type, régimen, situación and activities of a taxpayer."""
        return self._run(self._flow(self._taxpayer(identificacion)))

    def cabys(self, codigo: str) -> Cabys:
        """``GET /fe/cabys?codigo=``: one CABYS code with its IVA rate."""
        return self._run(self._flow(self._cabys(codigo)))

    def search_cabys(self, text: str, *, top: int | None = None) -> CabysSearch:
        """``GET /fe/cabys?q=[&top=]``: CABYS codes whose description matches ``text``."""
        return self._run(self._flow(self._search(text, top)))

    def exchange_rate(self, currency: str = "USD", date: date | None = None) -> ExchangeRate:
        """The BCCR rate of ``currency`` on ``date`` (default today, Costa Rica time)."""
        return self._run(self._flow(self._rate(currency, date)))

    def exchange_history(self, desde: date, hasta: date) -> ExchangeHistory:
        """``GET /indicadores/tc/dolar/historico``: the dollar's rates from ``desde`` to ``hasta``."""
        return self._run(self._history_flow(desde, hasta))

    def exoneration(self, authorization: str) -> Exoneration:
        """``GET /fe/ex``: an exoneration authorisation."""
        return self._run(self._flow(self._exoneration(authorization)))

    def close(self) -> None:
        self._http.close()


class AsyncPublicDataClient(_Base, AsyncClosing):
    """The asynchronous twin of :class:`PublicDataClient` (same methods, awaited; use ``async with``)."""

    def __init__(
        self,
        base_url: str = a.DEFAULT_BASE_URL,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        **options: Unpack[PublicDataOptions],
    ) -> None:
        # The async driver sleeps with asyncio.sleep; the sync sleep given here is never used.
        super().__init__(base_url, time.sleep, options)
        self._http = httpx.AsyncClient(transport=transport, **self._http_options)

    async def _run(self, flow: Flow[T]) -> T:
        return await run_async(flow, self._http)

    async def taxpayer(self, identificacion: str) -> Taxpayer:
        return await self._run(self._flow(self._taxpayer(identificacion)))

    async def cabys(self, codigo: str) -> Cabys:
        return await self._run(self._flow(self._cabys(codigo)))

    async def search_cabys(self, text: str, *, top: int | None = None) -> CabysSearch:
        return await self._run(self._flow(self._search(text, top)))

    async def exchange_rate(self, currency: str = "USD", date: date | None = None) -> ExchangeRate:
        return await self._run(self._flow(self._rate(currency, date)))

    async def exchange_history(self, desde: date, hasta: date) -> ExchangeHistory:
        return await self._run(self._history_flow(desde, hasta))

    async def exoneration(self, authorization: str) -> Exoneration:
        return await self._run(self._flow(self._exoneration(authorization)))

    async def aclose(self) -> None:
        await self._http.aclose()
