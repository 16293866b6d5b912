"""Khipu Open Data: the Enel (Chile) electricity bill as a PDF.

``POST /v1/cl/services/enel.cl/bill-document-by-client-identifier`` with
``{"RequestData": {"ClientIdentifier", "Email"}, "CallbackUrl"?}``.

* Synchronous (no callback URL): :meth:`KhipuClient.enel_bill` returns an :class:`EnelBillResult` (the bill
  and the decoded PDF bytes, checked to start with ``%PDF-``) or, when Khipu says to come back later, a
  :class:`KhipuDeferred` carrying the earliest retry time.
* Asynchronous: :meth:`KhipuClient.request_enel_bill` returns the 202 :class:`KhipuAccepted` (``OperationId``,
  ``LifeSpan``); Khipu later POSTs the full answer to the callback URL, which :class:`KhipuCallbacks` matches
  by ``OperationId``.

``Error.Type`` decides what happens to an ``ERROR`` answer: ``RETRY_IMMEDIATELY`` is re-sent at once (a few
times: every request is billed), ``WAIT_4_HOURS_BEFORE_RETRY`` and ``RETRY_AFTER_NOTIFICATION`` come back as a
:class:`KhipuDeferred`, ``DO_NOT_RETRY`` (and any unknown type) raises :class:`KhipuDoNotRetryError`. The
legacy envelope (``FailureReason`` + ``Message``) raises :class:`KhipuLegacyError`.

Authentication is an API key (``x-api-key``) or a bearer JWT -- a fixed token or one obtained with OAuth 2.0
client credentials and refreshed once on a 401 -- never both (:class:`KhipuAuth` refuses it).

Both :class:`KhipuClient` and :class:`AsyncKhipuClient` drive the same request builders and response parsers
(:class:`KhipuProtocol`); only the sending differs.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import httpx

from cr_einvoice.chile import khipu_model
from cr_einvoice.chile._common import (
    USER_AGENT,
    AsyncRunner,
    SyncRunner,
    UnexpectedResponseError,
    answered,
    as_timeout,
    load_json,
    provider_repr,
    resolve_base_url,
)
from cr_einvoice.chile.khipu_model import *  # noqa: F403  (re-exported: this module is the public face)
from cr_einvoice.chile.khipu_model import (
    KhipuAccepted,
    KhipuAuth,
    KhipuAuthenticationError,
    KhipuBadRequestError,
    KhipuError,
    KhipuNotFoundError,
    KhipuOutcome,
    KhipuRetriesExhaustedError,
    KhipuServerError,
    RetryNow,
    bill_request_data,
    error_info,
    interpret,
    parse_life_span,
)
from cr_einvoice.core.secret import Secret
from cr_einvoice.transport.http import Flow, HTTPCore, Request, RetryPolicy, Sleep

__all__ = [
    "BILL_DOCUMENT_PATH",
    "KHIPU_DEFAULT_TIMEOUT",
    "KHIPU_ENVIRONMENTS",
    "AsyncKhipuClient",
    "KhipuClient",
    "KhipuProtocol",
]
__all__ += khipu_model.__all__  # the vocabulary, re-exported

log = logging.getLogger("cr_einvoice.chile.khipu")

#: Only production is documented; Khipu publishes no sandbox host (pass a custom URL for a test server).
KHIPU_ENVIRONMENTS: Mapping[str, str] = {"production": "https://api.khipu.com"}
BILL_DOCUMENT_PATH = "/v1/cl/services/enel.cl/bill-document-by-client-identifier"

#: A sync call returns a base64 PDF and can be slow: a generous read timeout.
KHIPU_DEFAULT_TIMEOUT = httpx.Timeout(connect=5.0, read=120.0, write=30.0, pool=5.0)


# -- the shared protocol core ------------------------------------------------------------------------------
class _TokenCache:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._token: Secret | None = None
        self._expires = 0.0

    def get(self, now: float) -> Secret | None:
        with self._lock:
            return self._token if self._token is not None and now < self._expires else None

    def put(self, token: Secret, expires: float) -> None:
        with self._lock:
            self._token, self._expires = token, expires

    def clear(self) -> None:
        with self._lock:
            self._token = None


class KhipuProtocol:
    """Request builders and response parsers (no I/O), shared by the sync and async clients."""

    def __init__(
        self,
        auth: KhipuAuth,
        *,
        base_url: str = "production",
        immediate_retries: int = 2,
        retry: RetryPolicy | None = None,
        timeout: httpx.Timeout | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        rng: random.Random | None = None,
    ) -> None:
        self.auth = auth
        self.base_url = resolve_base_url("Khipu", KHIPU_ENVIRONMENTS, base_url)
        self.immediate_retries = immediate_retries
        self.retry = retry or RetryPolicy()
        self.timeout = timeout
        self._clock = clock
        self._rng = rng or random.Random()
        self._tokens = _TokenCache()
        self.http = HTTPCore(map_error=self.map_error, retry=self.retry)

    def __repr__(self) -> str:
        return provider_repr(self, self)

    @property
    def bill_url(self) -> str:
        return self.base_url + BILL_DOCUMENT_PATH

    # requests
    def token_request(self) -> Request:
        cc = self.auth.client_credentials
        assert cc is not None
        data = {
            "grant_type": "client_credentials",
            "client_id": cc.client_id,
            "client_secret": cc.client_secret.reveal(),
        }
        if cc.scope:
            data["scope"] = cc.scope
        return Request(
            "POST",
            cc.token_url,
            data=data,
            headers={"Accept": "application/json", "User-Agent": USER_AGENT},
            idempotent=True,
            what="Khipu access token",
            timeout=self.timeout,
        )

    def bill_request(self, body: Mapping[str, Any], token: Secret | None) -> Request:
        headers = {"Accept": "application/json", "User-Agent": USER_AGENT}
        if self.auth.api_key is not None:
            headers["x-api-key"] = self.auth.api_key.reveal()
        else:
            bearer = self.auth.bearer_token or token
            assert bearer is not None
            headers["Authorization"] = f"Bearer {bearer.reveal()}"
        return Request(
            "POST",
            self.bill_url,
            json=dict(body),
            headers=headers,
            idempotent=False,
            what="Khipu Enel bill",
            timeout=self.timeout,
        )

    # responses
    def map_error(self, response: httpx.Response, request: Request) -> Exception | None:
        status = response.status_code
        if request.what == "Khipu access token":
            if status == 200:
                return None
            server_side = status >= 500
            token_error = KhipuServerError if server_side else KhipuAuthenticationError
            return token_error(
                f"Khipu: the token endpoint {'failed' if server_side else 'refused the client credentials'}",
                **answered(response, request),
            )
        if status in (200, 202):
            return None
        envelope: Any = None
        try:
            envelope = load_json(response.content, what="Khipu error")
        except UnexpectedResponseError:
            envelope = None
        err = error_info(envelope) if isinstance(envelope, Mapping) else None
        is_envelope = isinstance(envelope, Mapping) and envelope.get("Status") == "ERROR"
        if status == 401 or (err is not None and err.code == "A000"):
            detail = f": {err.description}" if err is not None and err.description else ""
            return KhipuAuthenticationError(
                f"Khipu refused the credentials{detail}",
                operation_id=envelope.get("OperationId") if isinstance(envelope, Mapping) else None,
                code=err.code if err else None,
                error_type=err.type if err else None,
                description=err.description if err else None,
                **answered(response, request),
            )
        if is_envelope:
            return None  # the envelope's Error.Type decides (see _interpret)
        error_class: type[KhipuError] = KhipuError
        if status == 400:
            error_class = KhipuBadRequestError
        elif status == 404:
            error_class = KhipuNotFoundError
        elif status >= 500:
            error_class = KhipuServerError
        return error_class(f"Khipu: {request.what} failed", **answered(response, request))

    def store_token(self, response: httpx.Response) -> Secret:
        payload = load_json(response.content, what="Khipu access token", status=response.status_code)
        token = payload.get("access_token") if isinstance(payload, Mapping) else None
        if not isinstance(token, str) or not token:
            raise UnexpectedResponseError(
                "Khipu: the token endpoint answered without an access_token",
                status=response.status_code,
                url=str(response.url),
            )
        expires_in = payload.get("expires_in", 300)
        try:
            lifetime = float(expires_in)
        except (TypeError, ValueError):
            lifetime = 300.0
        secret = Secret(token)
        # Refresh a little early so a token never expires in flight.
        self._tokens.put(secret, time.monotonic() + max(0.0, lifetime - 30.0))
        return secret

    def parse_accepted(
        self, response: httpx.Response, client_identifier: str, callback_url: str
    ) -> KhipuAccepted:
        envelope = load_json(response.content, what="Khipu acknowledgement", status=response.status_code)
        if not isinstance(envelope, Mapping) or not isinstance(envelope.get("OperationId"), str):
            raise UnexpectedResponseError(
                "Khipu: the 202 acknowledgement has no OperationId",
                status=202,
                url=str(response.url),
                body=response.text,
            )
        if envelope.get("Status") != "OK":
            interpret(envelope, status=202, url=str(response.url), now=self._clock(), body=response.text)
        life = envelope.get("LifeSpan")
        info = envelope.get("AdditionalInformation")
        return KhipuAccepted(
            operation_id=envelope["OperationId"],
            life_span=parse_life_span(life),
            life_span_raw=str(life) if life is not None else None,
            additional_information=str(info) if info is not None else None,
            callback_url=callback_url,
            client_identifier=client_identifier,
        )

    # flows (sans-I/O)
    def _authorized(self, body: Mapping[str, Any]) -> Flow[httpx.Response]:
        """Send the bill request with a valid token; refresh a client-credentials JWT once on a 401."""
        refreshed = False
        while True:
            token: Secret | None = None
            if self.auth.client_credentials is not None:
                token = self._tokens.get(time.monotonic())
                if token is None:
                    response = yield from self.http.exchange(self.token_request())
                    token = self.store_token(response)
            try:
                response = yield from self.http.exchange(self.bill_request(body, token))
            except KhipuAuthenticationError:
                if self.auth.client_credentials is None or refreshed:
                    raise
                log.info("Khipu: the JWT was refused; fetching a new one")
                self._tokens.clear()
                refreshed = True
                continue
            return response

    def _exchange(self, body: Mapping[str, Any], *, callback: bool) -> Flow[KhipuOutcome | httpx.Response]:
        """Send until Khipu settles: a 202 response (asynchronous requests), a result or a deferral.

        ``RETRY_IMMEDIATELY`` is re-sent (bounded: each request is billed); other errors raise.
        """
        retries = 0
        while True:
            response = yield from self._authorized(body)
            if response.status_code == 202:
                if callback:
                    return response
                raise UnexpectedResponseError(
                    "Khipu answered 202 (asynchronous) to a request without a callback URL",
                    status=202,
                    url=str(response.url),
                    body=response.text[:500],
                )
            envelope = load_json(response.content, what="Khipu bill", status=response.status_code)
            outcome = interpret(
                envelope, status=response.status_code, url=str(response.url), now=self._clock(), body=""
            )
            if not isinstance(outcome, RetryNow):
                return outcome
            if retries >= self.immediate_retries:
                err = outcome.error
                raise KhipuRetriesExhaustedError(
                    f"Khipu: {err.description or err.code} (code {err.code}) persisted after "
                    f"{retries + 1} attempts marked RETRY_IMMEDIATELY",
                    status=response.status_code,
                    operation_id=outcome.operation_id,
                    **err.error_fields(),
                    url=str(response.url),
                )
            retries += 1
            log.info(
                "Khipu: %s (%s) for operation %s, immediate retry %d",
                outcome.error.code,
                outcome.error.type,
                outcome.operation_id,
                retries,
            )
            yield Sleep(self.retry.backoff(retries, self._rng))

    def enel_bill_flow(self, client_identifier: str, email: str) -> Flow[KhipuOutcome]:
        settled = yield from self._exchange(bill_request_data(client_identifier, email), callback=False)
        assert not isinstance(settled, httpx.Response)
        return settled

    def request_enel_bill_flow(
        self, client_identifier: str, email: str, callback_url: str
    ) -> Flow[KhipuAccepted | KhipuOutcome]:
        body = bill_request_data(client_identifier, email, callback_url)
        settled = yield from self._exchange(body, callback=True)
        if isinstance(settled, httpx.Response):
            return self.parse_accepted(settled, body["RequestData"]["ClientIdentifier"], callback_url)
        return settled


# -- the clients -------------------------------------------------------------------------------------------
def _protocol(
    auth: KhipuAuth,
    *,
    base_url: str = "production",
    timeout: float | httpx.Timeout | None = None,
    retry: RetryPolicy | None = None,
    immediate_retries: int = 2,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> KhipuProtocol:
    return KhipuProtocol(
        auth,
        base_url=base_url,
        immediate_retries=immediate_retries,
        retry=retry,
        timeout=as_timeout(timeout) if timeout is not None else KHIPU_DEFAULT_TIMEOUT,
        clock=clock,
    )


class KhipuClient(SyncRunner[KhipuProtocol]):
    """Synchronous Khipu client. Use as a context manager (or call :meth:`close`).

    Options: ``base_url`` (``production`` or a URL), ``timeout``, ``retry``, ``immediate_retries`` (how often
    a ``RETRY_IMMEDIATELY`` answer is re-sent), ``clock``.
    """

    def __init__(self, auth: KhipuAuth, *, http_client: httpx.Client | None = None, **kwargs: Any) -> None:
        super().__init__(_protocol(auth, **kwargs), http_client)

    def enel_bill(self, client_identifier: str, email: str) -> KhipuOutcome:
        """Fetch the bill synchronously: :class:`EnelBillResult` or :class:`KhipuDeferred`."""
        return self._run(self.protocol.enel_bill_flow(client_identifier, email))

    def request_enel_bill(
        self, client_identifier: str, email: str, *, callback_url: str
    ) -> KhipuAccepted | KhipuOutcome:
        """Ask for the bill asynchronously: normally the 202 :class:`KhipuAccepted`, and Khipu POSTs the
        answer to ``callback_url`` later. When Khipu settles at once instead (an error type that defers, or
        a synchronous answer), that :class:`KhipuDeferred` / :class:`EnelBillResult` is returned."""
        return self._run(self.protocol.request_enel_bill_flow(client_identifier, email, callback_url))


class AsyncKhipuClient(AsyncRunner[KhipuProtocol]):
    """Asynchronous Khipu client (same behaviour as :class:`KhipuClient`). ``async with`` it."""

    def __init__(
        self, auth: KhipuAuth, *, http_client: httpx.AsyncClient | None = None, **kwargs: Any
    ) -> None:
        super().__init__(_protocol(auth, **kwargs), http_client)

    async def enel_bill(self, client_identifier: str, email: str) -> KhipuOutcome:
        return await self._run(self.protocol.enel_bill_flow(client_identifier, email))

    async def request_enel_bill(
        self, client_identifier: str, email: str, *, callback_url: str
    ) -> KhipuAccepted | KhipuOutcome:
        return await self._run(self.protocol.request_enel_bill_flow(client_identifier, email, callback_url))
