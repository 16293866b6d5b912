"""The recepción API client: submit signed vouchers, ask their status, list and fetch them.

:class:`Client` (sync) and :class:`AsyncClient` (async) have the same methods and share everything but the
send: requests are built and responses parsed by the pure functions of :mod:`cr_einvoice.hacienda.recepcion`
(``build_*`` / ``parse_*`` / :func:`~cr_einvoice.hacienda.recepcion.map_error`), and sent through
:class:`cr_einvoice.transport.http.HTTPCore`, which retries 429, 5xx, timeouts and connection failures with
bounded exponential backoff and jitter, paces requests with the shared
:class:`~cr_einvoice.transport.http.RateLimiter` from Hacienda's ``X-Ratelimit-*`` headers, and never
resends a POST after an ambiguous failure (it raises :class:`~cr_einvoice.core.errors.TransportError` with
``request_sent=True``: ask :meth:`Client.status` before sending again).

A 400 whose ``X-Error-Cause`` says the voucher "ya fue recibido" (or "ya existe en nuestras bases de
datos", see :func:`cr_einvoice.hacienda.wire.is_already_received`) is not an error: :meth:`Client.submit`
returns an :class:`AlreadyReceived` result (a :class:`SubmitResult` with ``already_received=True``) and the
caller polls the status.
"""

from __future__ import annotations

import random
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict, Unpack

import httpx

from cr_einvoice.core.errors import ValidationError
from cr_einvoice.hacienda.auth import AsyncTokenManager, BearerAuth, Credentials, TokenManager, TokenStats
from cr_einvoice.hacienda.environments import Environment
from cr_einvoice.hacienda.recepcion import (
    AlreadyReceived,
    InvalidRequestBodyError,
    PartyFilter,
    StatusResult,
    Submission,
    SubmitResult,
    UnexpectedResponseError,
    build_get_request,
    build_list_request,
    build_status_request,
    build_submit_request,
    map_error,
    parse_get_response,
    parse_list_page,
    parse_status_response,
    parse_submit_response,
    submission_from_xml,
)
from cr_einvoice.transport.h11pool import AsyncH11Transport, CookielessAsyncClient
from cr_einvoice.transport.http import (
    DEFAULT_TIMEOUT,
    AsyncClosing,
    Closing,
    HTTPCore,
    RateLimit,
    RateLimiter,
    Request,
    RetryPolicy,
    json_client_options,
    tls_verify,
)

if TYPE_CHECKING:
    from cr_einvoice.signing.xades import TrustStore

__all__ = [
    "AlreadyReceived",
    "AsyncClient",
    "Client",
    "ClientOptions",
    "InvalidRequestBodyError",
    "ListOptions",
    "StatusResult",
    "Submission",
    "SubmitOptions",
    "SubmitResult",
    "UnexpectedResponseError",
    "submission_from_xml",
]


class ClientOptions(TypedDict, total=False):
    """The keyword options :class:`Client` and :class:`AsyncClient` share (defaults in brackets).

    ``trust`` (None = the bundled national PKI, :func:`~cr_einvoice.signing.xades.hacienda_trust`): the
    :class:`~cr_einvoice.signing.xades.TrustStore` Hacienda's answers must chain to (name the simulator's
    TEST CA to use the simulator); an answer that does not chain raises ``SignatureNotTrustedError``;
    ``expected_cedula`` (the environment's seal): the serialNumber that must sign them;
    ``verify_respuestas`` (True): verify the answers' signatures at all; ``timeout``; ``retry``
    (:class:`~cr_einvoice.transport.http.RetryPolicy`); ``limiter`` (a fresh
    :class:`~cr_einvoice.transport.http.RateLimiter`, share one between clients of one account);
    ``ca_bundle``: extra CA certificates for TLS (TLS verification cannot be switched off);
    ``refresh_margin`` (30 s before expiry a token is renewed); ``clock``; ``rng`` (the retry jitter).
    """

    trust: TrustStore | None
    expected_cedula: str | None
    verify_respuestas: bool
    timeout: httpx.Timeout
    retry: RetryPolicy | None
    limiter: RateLimiter | None
    ca_bundle: str | Path | None
    refresh_margin: float
    clock: Callable[[], float]
    rng: random.Random | None


class SubmitOptions(TypedDict, total=False):
    """The keyword options of ``submit()``.

    ``callback_url``: where Hacienda POSTs its answer (https, see
    :func:`~cr_einvoice.hacienda.callbacks.callback_url`); ``consecutivo_receptor``: a MensajeReceptor's
    NumeroConsecutivoReceptor (read from the document when absent); ``emisor_tipo``/``receptor_tipo``: the
    identification types of a MensajeReceptor's parties (inferred from the numbers when absent);
    ``submission``: the clave, date and parties the caller already holds (the outbox's stored row), so the
    signed document is not parsed again (the other options then do not apply).
    """

    callback_url: str | None
    consecutivo_receptor: str | None
    emisor_tipo: str | None
    receptor_tipo: str | None
    submission: Submission | None


class ListOptions(TypedDict, total=False):
    """The keyword options of ``list()``: ``emisor``/``receptor`` filter by ``"02003101123456"``,
    ``("02", "3101123456")`` or an :class:`~cr_einvoice.core.identifiers.Identificacion`; ``offset`` (0)
    skips that many; ``page_size`` (50) is asked per page (Hacienda may answer with fewer)."""

    emisor: PartyFilter | None
    receptor: PartyFilter | None
    offset: int
    page_size: int


def _refuse_unknown(method: str, options: Mapping[str, object], spec: type) -> None:
    """A misspelt keyword option is an error at run time too, not only for a type checker."""
    known: frozenset[str] = getattr(spec, "__optional_keys__", frozenset())
    unknown = sorted(set(options) - known)
    if unknown:
        raise TypeError(f"{method}() got unexpected keyword arguments: {', '.join(unknown)}")


class _ClientBase:
    tokens: TokenManager | AsyncTokenManager

    def __init__(
        self,
        environment: Environment,
        credentials: Credentials,
        sleep: Callable[[float], None],
        **options: Unpack[ClientOptions],
    ) -> None:
        _refuse_unknown(type(self).__name__, options, ClientOptions)
        if not isinstance(environment, Environment):
            raise TypeError("environment must be an Environment (Environment.named('sandbox'), ...)")
        self.environment = environment
        self.credentials = credentials
        self.trust = options.get("trust")
        expected_cedula = options.get("expected_cedula")
        self.expected_cedula = expected_cedula if expected_cedula is not None else environment.sello_cedula
        self.verify_respuestas = options.get("verify_respuestas", True)
        clock = options.get("clock", time.time)
        limiter = options.get("limiter")
        self.limiter = limiter if limiter is not None else RateLimiter(clock=clock)
        self._retry = options.get("retry") or RetryPolicy()
        self._rng = options.get("rng") or random.Random()
        self._timeout = options.get("timeout", DEFAULT_TIMEOUT)
        self._verify = tls_verify(options.get("ca_bundle"))
        self._refresh_margin = options.get("refresh_margin", 30.0)
        self._clock = clock
        self._core = HTTPCore(
            map_error=map_error,
            retry=self._retry,
            limiter=self.limiter,
            rng=self._rng,
            sleep=sleep,
            clock=clock,
        )

    def _token_options(self) -> dict[str, Any]:
        return {
            "timeout": self._timeout,
            "verify": self._verify,
            "refresh_margin": self._refresh_margin,
            "clock": self._clock,
            "retry": self._retry,
            "rng": self._rng,
        }

    def _http_options(self) -> dict[str, Any]:
        return json_client_options(self._timeout, self._verify)

    @property
    def rate_limit(self) -> RateLimit | None:
        """The latest X-Ratelimit-* values Hacienda sent (shared by every call of this client)."""
        return self.limiter.last

    @property
    def token_stats(self) -> TokenStats:
        return self.tokens.stats

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.environment.name}, {self.credentials.username!r})"

    # Requests are built and responses parsed here; the subclasses only send.
    def _submit_request(self, signed_xml: bytes, options: SubmitOptions) -> tuple[Request, Submission]:
        _refuse_unknown("submit", options, SubmitOptions)
        submission = options.get("submission")
        if submission is None:
            submission = submission_from_xml(
                signed_xml,
                consecutivo_receptor=options.get("consecutivo_receptor"),
                emisor_tipo=options.get("emisor_tipo"),
                receptor_tipo=options.get("receptor_tipo"),
            )
        elif not isinstance(signed_xml, bytes):
            raise TypeError("submit() takes the signed XML as the exact bytes the signer returned")
        request = build_submit_request(self.environment, signed_xml, submission, options.get("callback_url"))
        return request, submission

    def _status_result(self, response: httpx.Response, request: Request) -> StatusResult:
        return parse_status_response(
            response,
            request,
            trust=self.trust,
            verify=self.verify_respuestas,
            expected_cedula=self.expected_cedula,
        )


@dataclass(slots=True)
class _Cursor:
    """Where a ``list()`` iteration stands."""

    environment: Environment
    offset: int
    limit: int
    emisor: PartyFilter | None
    receptor: PartyFilter | None

    def __post_init__(self) -> None:
        if self.offset < 0 or self.limit <= 0:
            raise ValidationError("offset must be >= 0 and page_size > 0", path="page_size")

    @classmethod
    def start(cls, environment: Environment, options: ListOptions) -> _Cursor:
        _refuse_unknown("list", options, ListOptions)
        return cls(
            environment,
            options.get("offset", 0),
            options.get("page_size", 50),
            options.get("emisor"),
            options.get("receptor"),
        )

    def request(self) -> Request:
        """The request for the next page."""
        return build_list_request(
            self.environment, offset=self.offset, limit=self.limit, emisor=self.emisor, receptor=self.receptor
        )

    def advance(self, response: httpx.Response, request: Request) -> tuple[dict[str, Any], ...]:
        """Parse a page and move to the next one (``done`` afterwards when it was the last)."""
        page = parse_list_page(response, request, offset=self.offset, limit=self.limit)
        if page.next_offset is None:
            self.limit = 0
        else:
            self.offset, self.limit = page.next_offset, page.limit
        return page.items

    @property
    def done(self) -> bool:
        return self.limit == 0


class Client(_ClientBase, Closing):
    """Synchronous recepción client; thread-safe; use as a context manager (logs out on close).

    ``transport`` replaces httpx's (tests); ``sleep`` waits between retries; the other options are
    :class:`ClientOptions`.
    """

    tokens: TokenManager

    def __init__(
        self,
        environment: Environment,
        credentials: Credentials,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        **options: Unpack[ClientOptions],
    ) -> None:
        super().__init__(environment, credentials, sleep, **options)
        self.tokens = TokenManager(
            environment, credentials, transport=transport, sleep=sleep, **self._token_options()
        )
        self._http = httpx.Client(auth=BearerAuth(self.tokens), transport=transport, **self._http_options())

    def submit(self, signed_xml: bytes, **options: Unpack[SubmitOptions]) -> SubmitResult:
        """POST the signed document (Base64 of exactly these bytes; see :class:`SubmitOptions`). 201/202 →
        :class:`SubmitResult`; "ya fue recibido" → :class:`AlreadyReceived`; errors raise (see
        :func:`~cr_einvoice.hacienda.recepcion.map_error`)."""
        request, submission = self._submit_request(signed_xml, options)
        return parse_submit_response(self._core.send(self._http, request), request, submission)

    def status(self, clave: str) -> StatusResult:
        """``GET /recepcion/{clave}`` (``{clave}-{consecutivoReceptor}`` for a MensajeReceptor)."""
        request = build_status_request(self.environment, clave)
        return self._status_result(self._core.send(self._http, request), request)

    def list(self, **options: Unpack[ListOptions]) -> Iterator[dict[str, Any]]:
        """Lazily iterate ``GET /comprobantes`` page by page (newest first); a page is fetched when needed
        (see :class:`ListOptions`)."""
        cursor = _Cursor.start(self.environment, options)

        def pages() -> Iterator[dict[str, Any]]:
            while not cursor.done:
                request = cursor.request()
                yield from cursor.advance(self._core.send(self._http, request), request)

        return pages()

    def get(self, clave: str) -> dict[str, Any]:
        """``GET /comprobantes/{clave}``: Hacienda's record of one voucher."""
        request = build_get_request(self.environment, clave)
        return parse_get_response(self._core.send(self._http, request), request)

    def close(self) -> None:
        """Log out from the IdP and close the connections."""
        try:
            self.tokens.close()
        finally:
            self._http.close()


class AsyncClient(_ClientBase, AsyncClosing):
    """Asynchronous recepción client with the same methods as :class:`Client` (``list`` is an async
    iterator); one token refresh at a time across all tasks; use ``async with`` (logs out on close).

    ``transport`` replaces httpx's (tests); ``max_connections`` sizes the connection pool; the other options
    are :class:`ClientOptions`.
    """

    tokens: AsyncTokenManager

    def __init__(
        self,
        environment: Environment,
        credentials: Credentials,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        max_connections: int = 100,
        **options: Unpack[ClientOptions],
    ) -> None:
        # The async driver sleeps with asyncio.sleep; the sync sleep given here is never used.
        super().__init__(environment, credentials, time.sleep, **options)
        self.tokens = AsyncTokenManager(
            environment, credentials, transport=transport, **self._token_options()
        )
        if transport is None:  # lean HTTP/1.1 keep-alive (transport.h11pool), not httpcore's pool
            transport = AsyncH11Transport(verify=self._verify, max_connections=max_connections)
        self._http = CookielessAsyncClient(
            auth=BearerAuth(self.tokens), transport=transport, **self._http_options()
        )

    async def submit(self, signed_xml: bytes, **options: Unpack[SubmitOptions]) -> SubmitResult:
        """See :meth:`Client.submit`."""
        request, submission = self._submit_request(signed_xml, options)
        return parse_submit_response(await self._core.send_async(self._http, request), request, submission)

    async def status(self, clave: str) -> StatusResult:
        """See :meth:`Client.status`."""
        request = build_status_request(self.environment, clave)
        return self._status_result(await self._core.send_async(self._http, request), request)

    def list(self, **options: Unpack[ListOptions]) -> AsyncIterator[dict[str, Any]]:
        """See :meth:`Client.list`; iterate with ``async for``."""
        cursor = _Cursor.start(self.environment, options)

        async def pages() -> AsyncIterator[dict[str, Any]]:
            while not cursor.done:
                request = cursor.request()
                for item in cursor.advance(await self._core.send_async(self._http, request), request):
                    yield item

        return pages()

    async def get(self, clave: str) -> dict[str, Any]:
        """See :meth:`Client.get`."""
        request = build_get_request(self.environment, clave)
        return parse_get_response(await self._core.send_async(self._http, request), request)

    async def aclose(self) -> None:
        """Log out from the IdP and close the connections."""
        try:
            await self.tokens.aclose()
        finally:
            await self._http.aclose()
