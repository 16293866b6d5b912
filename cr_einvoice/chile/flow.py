"""Flow.cl: signed API calls and ``GET /invoice/get`` (a subscription invoice).

Every Flow call carries ``apiKey`` and the signature ``s``: HMAC-SHA256, keyed with the secret key, over the
concatenation ``name + value`` of every other parameter sorted by name (code-point order), as lowercase hex.
:func:`sign_params` implements it for any call; :meth:`FlowClient.call` signs and sends any service, GET
(query string) or POST (form body), and :meth:`FlowClient.get_invoice` returns a typed :class:`Invoice` that
keeps Flow's field names (including the misspelt ``attemp_count``, ``attemped``, ``next_attemp_date``,
``chargeAttemps``). Flow's ``{code, message}`` errors become :class:`FlowError` subclasses.

The values are encoded to text once (:func:`encode_params`), and those exact strings are both signed and
sent: integers without a decimal part, amounts as plain decimals; floats and booleans are refused.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import IntEnum
from typing import Any, TypeVar

import httpx

from cr_einvoice.chile._common import (
    USER_AGENT,
    AsyncRunner,
    ChileAPIError,
    SyncRunner,
    UnexpectedResponseError,
    amount,
    answered,
    as_timeout,
    env_values,
    load_json,
    opt_amount,
    opt_datetime,
    opt_str,
    provider_repr,
    resolve_base_url,
)
from cr_einvoice.core.errors import BadRequestError, ConfigError, ExitCode, ServerError
from cr_einvoice.core.errors import ValidationError as _ValidationError
from cr_einvoice.core.secret import Secret
from cr_einvoice.transport.http import Flow, HTTPCore, Request, RetryPolicy

__all__ = [
    "FLOW_ENVIRONMENTS",
    "AsyncFlowClient",
    "ChargeAttempt",
    "FlowAuth",
    "FlowBusinessError",
    "FlowClient",
    "FlowError",
    "FlowInvalidSignatureError",
    "FlowProtocol",
    "FlowRequestError",
    "FlowServerError",
    "Invoice",
    "InvoiceItem",
    "InvoiceItemType",
    "InvoiceStatus",
    "OutsidePayment",
    "PaymentState",
    "PaymentStatus",
    "encode_params",
    "parse_invoice",
    "sign_params",
    "string_to_sign",
]

log = logging.getLogger("cr_einvoice.chile.flow")
T = TypeVar("T")

FLOW_ENVIRONMENTS: Mapping[str, str] = {
    "production": "https://www.flow.cl/api",
    "sandbox": "https://sandbox.flow.cl/api",
}
INVOICE_GET = "invoice/get"
#: Flow's error code for a wrong signature.
INVALID_SIGNATURE = 108


# -- errors ------------------------------------------------------------------------------------------------
class FlowError(ChileAPIError):
    """Flow answered ``{code, message}``; ``code`` is Flow's number (``108``: invalid signature)."""

    def __init__(
        self, message: str, *, code: int | None = None, flow_message: str | None = None, **kw: Any
    ) -> None:
        self.code = code
        self.flow_message = flow_message
        super().__init__(message, **kw)


class FlowRequestError(FlowError, BadRequestError):
    """HTTP 400 ("Error del Api"): the call itself is wrong (parameters, signature)."""

    exit_code = ExitCode.INVALID


class FlowBusinessError(FlowError):
    """HTTP 401 ("Error de negocio"): Flow refused the operation (unknown invoice, wrong apiKey...)."""

    exit_code = ExitCode.INVALID


class FlowInvalidSignatureError(FlowRequestError):
    """Code 108: the signature ``s`` does not match (wrong secret key, or a value signed differently)."""

    exit_code = ExitCode.USAGE


class FlowServerError(FlowError, ServerError):
    """HTTP 5xx after the retries."""


# -- signing -----------------------------------------------------------------------------------------------
def _encode_value(name: str, value: object) -> str:
    if isinstance(value, bool):
        raise _ValidationError(
            "booleans are ambiguous in Flow's signature; pass the exact text Flow expects (e.g. '1')",
            path=name,
        )
    if isinstance(value, float):
        raise _ValidationError("floats are not exact; pass an int, a Decimal or a string", path=name)
    if isinstance(value, str):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise _ValidationError(f"{value} is not a finite number", path=name)
        return format(value, "f")
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    raise _ValidationError(f"cannot send a {type(value).__name__} to Flow", path=name)


def encode_params(params: Mapping[str, object]) -> dict[str, str]:
    """Each value as the exact text that is signed and sent (``None`` values are neither signed nor sent)."""
    return {name: _encode_value(name, value) for name, value in params.items() if value is not None}


def string_to_sign(params: Mapping[str, object]) -> str:
    """``name1value1name2value2...`` over every parameter but ``s``, sorted by name (code-point order)."""
    encoded = encode_params({k: v for k, v in params.items() if k != "s"})
    return "".join(name + encoded[name] for name in sorted(encoded))


def sign_params(params: Mapping[str, object], secret_key: Secret | str) -> str:
    """The signature ``s`` of a Flow call: lowercase hex HMAC-SHA256 of :func:`string_to_sign`."""
    key = secret_key.reveal() if isinstance(secret_key, Secret) else secret_key
    message = string_to_sign(params).encode("utf-8")
    return hmac.new(key.encode("utf-8"), message, hashlib.sha256).hexdigest()


@dataclass(frozen=True, slots=True)
class FlowAuth:
    """The merchant's ``apiKey`` (sent with every call) and ``secretKey`` (only signs, never sent).

    Both are kept as :class:`~cr_einvoice.core.secret.Secret` (plain strings are wrapped), masked in reprs.
    The
    apiKey travels in the query string of GET calls, as Flow requires; ``cr_einvoice.transport.http`` redacts
    it (and
    the signature ``s``) from httpx's request log lines. The secretKey never leaves this process.
    """

    api_key: Secret | str
    secret_key: Secret | str

    def __post_init__(self) -> None:
        object.__setattr__(self, "api_key", Secret.coerce(self.api_key))
        object.__setattr__(self, "secret_key", Secret.coerce(self.secret_key))
        if not self.api_key or not self.secret_key:
            raise ConfigError("Flow authentication: both the apiKey and the secretKey are needed")

    @classmethod
    def from_env(
        cls,
        *,
        api_key_env: str = "FLOW_API_KEY",
        secret_key_env: str = "FLOW_SECRET_KEY",  # noqa: S107 (a variable name)
        environ: Mapping[str, str] | None = None,
    ) -> FlowAuth:
        api_key, secret_key = env_values("Flow", (api_key_env, secret_key_env), environ)
        return cls(Secret(api_key), Secret(secret_key))


# -- model -------------------------------------------------------------------------------------------------
class InvoiceStatus(IntEnum):
    """``status`` of an invoice (importe)."""

    UNPAID = 0
    PAID = 1
    VOIDED = 2


class InvoiceItemType(IntEnum):
    PLAN_CHARGE = 1
    DISCOUNT = 2
    PENDING_ITEM = 3
    OTHER = 9


class PaymentState(IntEnum):
    """``payment.status``."""

    PENDING = 1
    PAID = 2
    REJECTED = 3
    VOIDED = 4


@dataclass(frozen=True, slots=True)
class InvoiceItem:
    id: int | None
    subject: str | None
    type: InvoiceItemType | int | None
    currency: str | None
    amount: Decimal | None


@dataclass(frozen=True, slots=True)
class ChargeAttempt:
    """An element of ``chargeAttemps`` (a failed automatic charge)."""

    id: int | None
    date: datetime | None
    customerId: str | None  # noqa: N815 (Flow's name)
    invoiceId: int | None  # noqa: N815
    commerceOrder: str | None  # noqa: N815
    currency: str | None
    amount: Decimal | None
    errorCode: int | None  # noqa: N815
    errorDescription: str | None  # noqa: N815


@dataclass(frozen=True, slots=True)
class OutsidePayment:
    date: datetime | None
    comment: str | None


@dataclass(frozen=True, slots=True)
class PaymentStatus:
    """``payment`` (the schema of ``payment/getStatus``); the nested ``paymentData`` and ``pending_info``
    are kept as given (numbers exact)."""

    flowOrder: int | None  # noqa: N815
    commerceOrder: str | None  # noqa: N815
    requestDate: datetime | None  # noqa: N815
    status: PaymentState | int | None
    subject: str | None
    currency: str | None
    amount: Decimal | None
    payer: str | None
    paymentData: Mapping[str, Any] | None  # noqa: N815
    pending_info: Mapping[str, Any] | None
    optional: Any = None
    merchantId: str | None = None  # noqa: N815


@dataclass(frozen=True, slots=True)
class Invoice:
    """A Flow invoice (importe), with Flow's field names. Datetimes are naive: Flow sends Chile local time
    without a zone. Unknown keys Flow may add are kept in ``raw``."""

    id: int
    subscriptionId: str | None  # noqa: N815
    customerId: str | None  # noqa: N815
    created: datetime | None
    subject: str | None
    currency: str | None
    amount: Decimal
    period_start: datetime | None
    period_end: datetime | None
    attemp_count: int | None
    attemped: int | None
    next_attemp_date: datetime | None
    due_date: datetime | None
    status: InvoiceStatus | int
    error: int | None
    errorDate: datetime | None  # noqa: N815
    errorDescription: str | None  # noqa: N815
    items: tuple[InvoiceItem, ...]
    payment: PaymentStatus | None
    outsidePayment: OutsidePayment | None  # noqa: N815
    paymentLink: str | None  # noqa: N815
    chargeAttemps: tuple[ChargeAttempt, ...]  # noqa: N815
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def is_paid(self) -> bool:
        return self.status == InvoiceStatus.PAID

    @property
    def attempt_count(self) -> int | None:
        return self.attemp_count

    @property
    def next_attempt_date(self) -> datetime | None:
        return self.next_attemp_date

    @property
    def charge_attempts(self) -> tuple[ChargeAttempt, ...]:
        return self.chargeAttemps


def _opt_int(value: object, name: str) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise _ValidationError("expected an integer, got a boolean", path=name)
    if isinstance(value, int):
        return value
    if isinstance(value, Decimal) and value == value.to_integral_value():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    raise _ValidationError(f"expected an integer, got {value!r}", path=name)


def _int_enum(kind: type[IntEnum], value: object, name: str) -> Any:
    number = _opt_int(value, name)
    if number is None:
        return None
    try:
        return kind(number)
    except ValueError:
        return number


def _mapping(value: object, name: str) -> Mapping[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise _ValidationError("expected an object", path=name)
    return value


def _item(obj: object, index: int) -> InvoiceItem:
    m = _mapping(obj, f"items[{index}]") or {}
    return InvoiceItem(
        id=_opt_int(m.get("id"), "items.id"),
        subject=opt_str(m.get("subject"), "items.subject"),
        type=_int_enum(InvoiceItemType, m.get("type"), "items.type"),
        currency=opt_str(m.get("currency"), "items.currency"),
        amount=opt_amount(m.get("amount"), "items.amount"),
    )


def _charge_attempt(obj: object, index: int) -> ChargeAttempt:
    m = _mapping(obj, f"chargeAttemps[{index}]") or {}
    return ChargeAttempt(
        id=_opt_int(m.get("id"), "chargeAttemps.id"),
        date=opt_datetime(m.get("date"), "chargeAttemps.date"),
        customerId=opt_str(m.get("customerId"), "chargeAttemps.customerId"),
        invoiceId=_opt_int(m.get("invoiceId"), "chargeAttemps.invoiceId"),
        commerceOrder=opt_str(m.get("commerceOrder"), "chargeAttemps.commerceOrder"),
        currency=opt_str(m.get("currency"), "chargeAttemps.currency"),
        amount=opt_amount(m.get("amount"), "chargeAttemps.amount"),
        errorCode=_opt_int(m.get("errorCode"), "chargeAttemps.errorCode"),
        errorDescription=opt_str(m.get("errorDescription"), "chargeAttemps.errorDescription"),
    )


def _payment(obj: object) -> PaymentStatus | None:
    m = _mapping(obj, "payment")
    if not m:
        return None
    return PaymentStatus(
        flowOrder=_opt_int(m.get("flowOrder"), "payment.flowOrder"),
        commerceOrder=opt_str(m.get("commerceOrder"), "payment.commerceOrder"),
        requestDate=opt_datetime(m.get("requestDate"), "payment.requestDate"),
        status=_int_enum(PaymentState, m.get("status"), "payment.status"),
        subject=opt_str(m.get("subject"), "payment.subject"),
        currency=opt_str(m.get("currency"), "payment.currency"),
        amount=opt_amount(m.get("amount"), "payment.amount"),
        payer=opt_str(m.get("payer"), "payment.payer"),
        paymentData=_mapping(m.get("paymentData"), "payment.paymentData"),
        pending_info=_mapping(m.get("pending_info"), "payment.pending_info"),
        optional=m.get("optional"),
        merchantId=opt_str(m.get("merchantId"), "payment.merchantId"),
    )


def parse_invoice(obj: object) -> Invoice:
    """An ``invoice/get`` answer (numbers must already be exact: parse with ``parse_float=Decimal``)."""
    if not isinstance(obj, Mapping):
        raise _ValidationError("an invoice must be a JSON object", path="invoice")
    ident = _opt_int(obj.get("id"), "id")
    if ident is None:
        raise _ValidationError("the invoice has no id", path="id")
    status = _int_enum(InvoiceStatus, obj.get("status"), "status")
    if status is None:
        raise _ValidationError("the invoice has no status", path="status")
    outside = _mapping(obj.get("outsidePayment"), "outsidePayment")
    items = obj.get("items") or []
    attempts = obj.get("chargeAttemps") or []
    if not isinstance(items, list) or not isinstance(attempts, list):
        raise _ValidationError("items and chargeAttemps must be arrays", path="items")
    return Invoice(
        id=ident,
        subscriptionId=opt_str(obj.get("subscriptionId"), "subscriptionId"),
        customerId=opt_str(obj.get("customerId"), "customerId"),
        created=opt_datetime(obj.get("created"), "created"),
        subject=opt_str(obj.get("subject"), "subject"),
        currency=opt_str(obj.get("currency"), "currency"),
        amount=amount(obj.get("amount"), "amount"),
        period_start=opt_datetime(obj.get("period_start"), "period_start"),
        period_end=opt_datetime(obj.get("period_end"), "period_end"),
        attemp_count=_opt_int(obj.get("attemp_count"), "attemp_count"),
        attemped=_opt_int(obj.get("attemped"), "attemped"),
        next_attemp_date=opt_datetime(obj.get("next_attemp_date"), "next_attemp_date"),
        due_date=opt_datetime(obj.get("due_date"), "due_date"),
        status=status,
        error=_opt_int(obj.get("error"), "error"),
        errorDate=opt_datetime(obj.get("errorDate"), "errorDate"),
        errorDescription=opt_str(obj.get("errorDescription"), "errorDescription"),
        items=tuple(_item(x, i) for i, x in enumerate(items)),
        payment=_payment(obj.get("payment")),
        outsidePayment=(
            OutsidePayment(
                date=opt_datetime(outside.get("date"), "outsidePayment.date"),
                comment=opt_str(outside.get("comment"), "outsidePayment.comment"),
            )
            if outside
            else None
        ),
        paymentLink=opt_str(obj.get("paymentLink"), "paymentLink"),
        chargeAttemps=tuple(_charge_attempt(x, i) for i, x in enumerate(attempts)),
        raw=dict(obj),
    )


# -- the shared protocol core ------------------------------------------------------------------------------
class FlowProtocol:
    """Request builders and response parsers (no I/O), shared by the sync and async clients."""

    def __init__(
        self,
        auth: FlowAuth,
        *,
        base_url: str = "production",
        timeout: httpx.Timeout | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.auth = auth
        self.base_url = resolve_base_url("Flow", FLOW_ENVIRONMENTS, base_url)
        self.timeout = timeout
        self.http = HTTPCore(map_error=self.map_error, retry=retry)

    def __repr__(self) -> str:
        return provider_repr(self, self)

    def signed(self, params: Mapping[str, object]) -> dict[str, str]:
        """``apiKey`` added, every value encoded, and ``s`` computed over exactly those strings."""
        if "s" in params:
            raise _ValidationError("'s' is the signature; it is computed, not given", path="s")
        encoded = encode_params({"apiKey": Secret.coerce(self.auth.api_key).reveal(), **params})
        encoded["s"] = sign_params(encoded, Secret.coerce(self.auth.secret_key))
        return encoded

    def request(self, method: str, service: str, params: Mapping[str, object]) -> Request:
        method = method.upper()
        if method not in ("GET", "POST"):
            raise _ValidationError("Flow services are GET or POST", path="method")
        signed = self.signed(params)
        url = f"{self.base_url}/{service.strip('/')}"
        headers = {"Accept": "application/json", "User-Agent": USER_AGENT}
        what = f"Flow {service.strip('/')}"
        if method == "GET":
            return Request("GET", url, params=signed, headers=headers, what=what, timeout=self.timeout)
        # A POST is a form body; it changes state, so it is not re-sent after an ambiguous failure.
        return Request(
            "POST", url, data=signed, headers=headers, idempotent=False, what=what, timeout=self.timeout
        )

    def map_error(self, response: httpx.Response, request: Request) -> Exception | None:
        status = response.status_code
        if status == 200:
            return None
        code: int | None = None
        flow_message: str | None = None
        try:
            payload = load_json(response.content, what="Flow error")
        except UnexpectedResponseError:
            payload = None
        if isinstance(payload, Mapping):
            try:
                code = _opt_int(payload.get("code"), "code")
            except _ValidationError:
                code = None
            flow_message = opt_str(payload.get("message"), "message") if payload.get("message") else None
        if status in (400, 401):
            error_class: type[FlowError] = FlowRequestError if status == 400 else FlowBusinessError
            if code == INVALID_SIGNATURE:
                error_class = FlowInvalidSignatureError
            detail = f"{flow_message or 'error'} (Flow code {code})"
        else:
            # The official client treats anything but 200/400/401 as unexpected.
            error_class = FlowServerError if status >= 500 else FlowError
            detail = f"unexpected HTTP {status}"
        return error_class(
            f"{request.what}: {detail}",
            code=code,
            flow_message=flow_message,
            **answered(response, request),
        )

    def call_flow(self, method: str, service: str, params: Mapping[str, object]) -> Flow[Any]:
        request = self.request(method, service, params)
        response = yield from self.http.exchange(request)
        return load_json(response.content, what=request.what, status=response.status_code, url=request.url)

    def invoice_flow(self, invoice_id: int | str) -> Flow[Invoice]:
        ident = _opt_int(invoice_id, "invoiceId")
        if ident is None or ident <= 0:
            raise _ValidationError(f"{invoice_id!r} is not an invoice id", path="invoiceId")
        payload = yield from self.call_flow("GET", INVOICE_GET, {"invoiceId": ident})
        return parse_invoice(payload)


# -- the clients -------------------------------------------------------------------------------------------
def _protocol(
    auth: FlowAuth,
    *,
    base_url: str = "production",
    timeout: float | httpx.Timeout | None = None,
    retry: RetryPolicy | None = None,
) -> FlowProtocol:
    return FlowProtocol(auth, base_url=base_url, timeout=as_timeout(timeout), retry=retry)


class FlowClient(SyncRunner[FlowProtocol]):
    """Synchronous Flow client. Use as a context manager (or call :meth:`close`).

    Options: ``base_url`` (``production``, ``sandbox`` or a URL), ``timeout``, ``retry``.
    """

    def __init__(self, auth: FlowAuth, *, http_client: httpx.Client | None = None, **kwargs: Any) -> None:
        super().__init__(_protocol(auth, **kwargs), http_client)

    def call(self, method: str, service: str, params: Mapping[str, object] | None = None) -> Any:
        """Sign and send any Flow service (``"GET", "invoice/get", {...}``); returns the JSON (exact)."""
        return self._run(self.protocol.call_flow(method, service, params or {}))

    def get_invoice(self, invoice_id: int | str) -> Invoice:
        return self._run(self.protocol.invoice_flow(invoice_id))


class AsyncFlowClient(AsyncRunner[FlowProtocol]):
    """Asynchronous Flow client (same behaviour as :class:`FlowClient`). ``async with`` it."""

    def __init__(
        self, auth: FlowAuth, *, http_client: httpx.AsyncClient | None = None, **kwargs: Any
    ) -> None:
        super().__init__(_protocol(auth, **kwargs), http_client)

    async def call(self, method: str, service: str, params: Mapping[str, object] | None = None) -> Any:
        return await self._run(self.protocol.call_flow(method, service, params or {}))

    async def get_invoice(self, invoice_id: int | str) -> Invoice:
        return await self._run(self.protocol.invoice_flow(invoice_id))
