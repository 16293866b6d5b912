"""Belvo: Chilean fiscal invoices (SII) -- retrieve, list, detail, delete, webhooks.

* ``POST /api/cl/invoices/`` retrieves (scrapes) a link's invoices for a date range: synchronously
  (:meth:`BelvoClient.retrieve_invoices`, 200/201 with the invoices) or asynchronously
  (:meth:`BelvoClient.request_invoices`, ``X-Belvo-Request-Mode: async`` -> 202 ``request_id``; Belvo then
  sends a webhook, parsed by :func:`parse_belvo_webhook`). Ranges are checked (no future dates, from <= to)
  and ranges longer than 365 days are split into consecutive requests whose results are concatenated.
* ``GET /api/cl/invoices/`` lists stored invoices page by page, lazily, following ``next``
  (:meth:`BelvoClient.list_invoices`); ``GET``/``DELETE /api/cl/invoices/{id}/``.

Authentication is HTTP Basic with the Secret ID and the Secret Password (a :class:`~cr_einvoice.Secret`).
Belvo's error bodies (a JSON array of ``{request_id, message, code, field?}``) become :class:`BelvoError`
subclasses carrying ``code``, ``message``, ``field`` and ``request_id``.

:class:`BelvoClient` and :class:`AsyncBelvoClient` share :class:`BelvoProtocol` (request builders and
response parsers); only the sending differs.
"""

from __future__ import annotations

import base64
import hmac
import logging
from collections.abc import AsyncIterator, Callable, Container, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum, auto
from typing import Any, TypedDict, TypeVar, Unpack
from urllib.parse import quote

import httpx

from cr_einvoice.chile._common import (
    USER_AGENT,
    AsyncRunner,
    ChileAPIError,
    NamedEnum,
    SyncRunner,
    UnexpectedResponseError,
    answered,
    as_timeout,
    check_same_origin,
    env_values,
    load_json,
    load_pushed_json,
    opt_amount,
    opt_date,
    opt_datetime,
    opt_str,
    parse_date,
    provider_repr,
    resolve_base_url,
)
from cr_einvoice.core.errors import (
    AuthenticationError,
    BadRequestError,
    ConfigError,
    ExitCode,
    ForbiddenError,
    NotFoundError,
    Problem,
    ServerError,
)
from cr_einvoice.core.errors import ValidationError as _ValidationError
from cr_einvoice.core.secret import Secret
from cr_einvoice.transport.http import Flow, HTTPCore, Request, RetryPolicy

__all__ = [
    "BELVO_ENVIRONMENTS",
    "INVOICES_PATH",
    "MAX_RANGE_DAYS",
    "AsyncBelvoClient",
    "BelvoAccepted",
    "BelvoAuth",
    "BelvoAuthenticationError",
    "BelvoBadRequestError",
    "BelvoClient",
    "BelvoError",
    "BelvoErrorDetail",
    "BelvoForbiddenError",
    "BelvoNotFoundError",
    "BelvoProtocol",
    "BelvoRequestTimeoutError",
    "BelvoServerError",
    "BelvoWebhook",
    "BelvoWebhookError",
    "Invoice",
    "InvoiceDetails",
    "InvoiceStatus",
    "InvoiceType",
    "ListOptions",
    "RetrieveOptions",
    "check_date_range",
    "parse_belvo_webhook",
    "parse_invoice",
    "split_date_range",
]

log = logging.getLogger("cr_einvoice.chile.belvo")
T = TypeVar("T")
E = TypeVar("E", bound=StrEnum)
#: ``omit`` / ``fields``: field names, as a list or already comma-separated.
Names = Sequence[str] | str | None


class RetrieveOptions(TypedDict, total=False):
    """Options of a retrieval (``POST /api/cl/invoices/``)."""

    type: InvoiceType | str | None
    save_data: bool
    omit: Names
    fields: Names


class ListOptions(TypedDict, total=False):
    """Options of a listing (``GET /api/cl/invoices/``)."""

    page_size: int
    omit: Names
    fields: Names
    filters: Mapping[str, str]


BELVO_ENVIRONMENTS: Mapping[str, str] = {
    "production": "https://api.belvo.com",
    "sandbox": "https://sandbox.belvo.com",
    "development": "https://development.belvo.com",
}
INVOICES_PATH = "/api/cl/invoices/"
#: Longest range one retrieval may cover (inclusive days); longer ranges are split.
MAX_RANGE_DAYS = 365
#: A synchronous scrape of a year of invoices is slow: a generous read timeout.
BELVO_DEFAULT_TIMEOUT = httpx.Timeout(connect=5.0, read=120.0, write=30.0, pool=5.0)
MAX_WEBHOOK_BYTES = 1024 * 1024
#: 400 codes after which trying again later can succeed.
_RETRY_LATER_CODES = frozenset({"too_many_sessions", "institution_down", "institution_unavailable"})


# -- errors ------------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class BelvoErrorDetail:
    """One element of Belvo's error array."""

    code: str
    message: str
    field: str | None = None
    request_id: str | None = None

    def __str__(self) -> str:
        where = f" (field {self.field})" if self.field else ""
        return f"{self.code}: {self.message}{where}"


class BelvoError(ChileAPIError):
    """Belvo answered with an error; ``errors`` is the whole array, ``code``/``message``/``field``/
    ``request_id`` are those of the first element (quote ``request_id`` to Belvo support)."""

    def __init__(self, message: str, *, errors: Sequence[BelvoErrorDetail] = (), **kwargs: Any) -> None:
        self.errors = tuple(errors)
        first = self.errors[0] if self.errors else None
        self.code = first.code if first else None
        self.belvo_message = first.message if first else None
        self.field = first.field if first else None
        self.request_id = first.request_id if first else None
        #: For a retrieval split in several requests: the invoices of the requests that succeeded before
        #: this one failed, and the range of the one that failed.
        self.partial_invoices: tuple[Invoice, ...] = ()
        self.failed_range: tuple[date, date] | None = None
        super().__init__(message, **kwargs)

    @property
    def retry_later(self) -> bool:
        """The institution is busy or down: the same request can succeed later."""
        return self.code in _RETRY_LATER_CODES


class BelvoBadRequestError(BelvoError, BadRequestError):
    """HTTP 400: a field is wrong (``field`` names it) or the institution refused the session."""

    exit_code = ExitCode.INVALID


class BelvoAuthenticationError(BelvoError, AuthenticationError):
    """HTTP 401 ``authentication_failed``: wrong Secret ID or Secret Password."""


class BelvoForbiddenError(BelvoError, ForbiddenError):
    """HTTP 403 ``access_to_resource_denied``: the product is not enabled for these keys."""


class BelvoNotFoundError(BelvoError, NotFoundError):
    """HTTP 404 ``not_found``."""


class BelvoRequestTimeoutError(BelvoError):
    """HTTP 408 ``request_timeout``: ask for less data (a narrower date range) or use the async mode."""


class BelvoServerError(BelvoError, ServerError):
    """HTTP 5xx ``unexpected_error`` after the retries (Belvo advises at most 3)."""


class BelvoWebhookError(_ValidationError):
    """A webhook body is malformed, unauthenticated or not one we expect."""


# -- configuration -----------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class BelvoAuth:
    """HTTP Basic credentials: the Secret ID (user) and the Secret Password, both kept as
    :class:`~cr_einvoice.core.secret.Secret` (plain strings are wrapped) and masked in reprs."""

    secret_id: Secret | str
    secret_password: Secret | str

    def __post_init__(self) -> None:
        object.__setattr__(self, "secret_id", Secret.coerce(self.secret_id))
        object.__setattr__(self, "secret_password", Secret.coerce(self.secret_password))
        if not self.secret_id or not self.secret_password:
            raise ConfigError("Belvo authentication: both the Secret ID and the Secret Password are needed")

    @classmethod
    def from_env(
        cls,
        *,
        secret_id_env: str = "BELVO_SECRET_ID",  # noqa: S107 (a variable name)
        secret_password_env: str = "BELVO_SECRET_PASSWORD",  # noqa: S107 (a variable name)
        environ: Mapping[str, str] | None = None,
    ) -> BelvoAuth:
        secret_id, password = env_values("Belvo", (secret_id_env, secret_password_env), environ)
        return cls(secret_id, Secret(password))

    def header(self) -> str:
        user, password = Secret.coerce(self.secret_id), Secret.coerce(self.secret_password)
        raw = f"{user.reveal()}:{password.reveal()}".encode()
        return "Basic " + base64.b64encode(raw).decode("ascii")


# -- model -------------------------------------------------------------------------------------------------
class InvoiceType(NamedEnum):
    """``INFLOW``: invoices received; ``OUTFLOW``: invoices sent."""

    INFLOW = auto()
    OUTFLOW = auto()


class InvoiceStatus(NamedEnum):
    REGISTERED = auto()
    PENDING = auto()
    REJECTED = auto()
    CANCELLED = auto()


@dataclass(frozen=True, slots=True)
class InvoiceDetails:
    """``purchase_invoice_details`` / ``sales_invoice_details`` / ``summary_invoice_details``.

    Belvo does not publish their full field lists, so every field is kept (numbers as exact ``Decimal``);
    :meth:`amount` reads one as an amount.
    """

    values: Mapping[str, Any]

    def amount(self, name: str) -> Decimal | None:
        return opt_amount(self.values.get(name), name)

    def as_json(self) -> Mapping[str, Any]:
        """The object as Belvo sent it (for JSON output)."""
        return self.values

    @property
    def vat_refundable_amount(self) -> Decimal | None:
        return self.amount("vat_refundable_amount")

    @property
    def vat_non_refundable_amount(self) -> Decimal | None:
        return self.amount("vat_non_refundable_amount")


@dataclass(frozen=True, slots=True)
class Invoice:
    """A Chilean invoice as Belvo returns it (Belvo's field names). ``status``/``type`` are the enums when
    the value is known, the raw string otherwise."""

    id: str
    link: str | None
    type: InvoiceType | str | None
    status: InvoiceStatus | str | None
    issue_date: date | None
    document_code: str | None
    folio: str | None
    category: str | None
    sender_id: str | None
    sender_name: str | None
    receiver_id: str | None
    receiver_name: str | None
    currency: str | None
    total_amount: Decimal | None
    net_amount: Decimal | None
    vat_amount: Decimal | None
    created_at: datetime | None
    collected_at: datetime | None
    received_at: datetime | None
    acknowledged_at: datetime | None
    claim_date: datetime | None
    purchase_invoice_details: InvoiceDetails | None
    sales_invoice_details: InvoiceDetails | None
    summary_invoice_details: InvoiceDetails | None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class BelvoAccepted:
    """The 202 answer to an asynchronous retrieval: keep ``request_id`` to match the webhook."""

    request_id: str
    link: str
    date_from: date
    date_to: date


@dataclass(frozen=True, slots=True)
class BelvoWebhook:
    """A Belvo webhook notification."""

    webhook_id: str
    webhook_type: str
    webhook_code: str
    link_id: str | None
    request_id: str | None
    process_type: str | None
    external_id: str | None
    data: Mapping[str, Any]


def _enum_or_raw(kind: type[E], value: object, name: str) -> E | str | None:
    if value is None:
        return None
    text = opt_str(value, name)
    assert text is not None
    try:
        return kind(text)
    except ValueError:
        return text


def _details(value: object, name: str) -> InvoiceDetails | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise _ValidationError("expected an object", path=name)
    return InvoiceDetails(dict(value))


def parse_invoice(obj: object) -> Invoice:
    """One invoice object (amounts must already be exact: parse the JSON with ``parse_float=Decimal``)."""
    if not isinstance(obj, Mapping):
        raise _ValidationError("an invoice must be a JSON object", path="invoice")
    ident = obj.get("id")
    if not isinstance(ident, str) or not ident:
        raise _ValidationError("the invoice has no id", path="id")
    return Invoice(
        id=ident,
        link=opt_str(obj.get("link"), "link"),
        type=_enum_or_raw(InvoiceType, obj.get("type"), "type"),
        status=_enum_or_raw(InvoiceStatus, obj.get("status"), "status"),
        issue_date=opt_date(obj.get("issue_date"), "issue_date"),
        document_code=opt_str(obj.get("document_code"), "document_code"),
        folio=opt_str(obj.get("folio"), "folio"),
        category=opt_str(obj.get("category"), "category"),
        sender_id=opt_str(obj.get("sender_id"), "sender_id"),
        sender_name=opt_str(obj.get("sender_name"), "sender_name"),
        receiver_id=opt_str(obj.get("receiver_id"), "receiver_id"),
        receiver_name=opt_str(obj.get("receiver_name"), "receiver_name"),
        currency=opt_str(obj.get("currency"), "currency"),
        total_amount=opt_amount(obj.get("total_amount"), "total_amount"),
        net_amount=opt_amount(obj.get("net_amount"), "net_amount"),
        vat_amount=opt_amount(obj.get("vat_amount"), "vat_amount"),
        created_at=opt_datetime(obj.get("created_at"), "created_at"),
        collected_at=opt_datetime(obj.get("collected_at"), "collected_at"),
        received_at=opt_datetime(obj.get("received_at"), "received_at"),
        acknowledged_at=opt_datetime(obj.get("acknowledged_at"), "acknowledged_at"),
        claim_date=opt_datetime(obj.get("claim_date"), "claim_date"),
        purchase_invoice_details=_details(obj.get("purchase_invoice_details"), "purchase_invoice_details"),
        sales_invoice_details=_details(obj.get("sales_invoice_details"), "sales_invoice_details"),
        summary_invoice_details=_details(obj.get("summary_invoice_details"), "summary_invoice_details"),
        raw=dict(obj),
    )


# -- date ranges -------------------------------------------------------------------------------------------
def _today_utc() -> date:
    return datetime.now(UTC).date()


def check_date_range(
    date_from: date | str, date_to: date | str, *, today: date | None = None
) -> tuple[date, date]:
    """Parse and check a range: no date after ``today`` (default: today in UTC), ``date_from <= date_to``;
    every problem is reported together."""
    problems: list[Problem] = []
    parsed: dict[str, date] = {}
    for name, value in (("date_from", date_from), ("date_to", date_to)):
        try:
            parsed[name] = parse_date(value, name)
        except _ValidationError as exc:
            problems.extend(exc.problems)
    limit = today or _today_utc()
    for name, value in parsed.items():
        if value > limit:
            problems.append(
                Problem(name, f"{value.isoformat()} is in the future (today is {limit.isoformat()})")
            )
    if len(parsed) == 2 and parsed["date_from"] > parsed["date_to"]:
        problems.append(
            Problem(
                "date_from",
                f"{parsed['date_from'].isoformat()} is after date_to {parsed['date_to'].isoformat()}",
            )
        )
    if problems:
        raise _ValidationError(problems)
    return parsed["date_from"], parsed["date_to"]


def split_date_range(
    date_from: date, date_to: date, max_days: int = MAX_RANGE_DAYS
) -> list[tuple[date, date]]:
    """Consecutive, non-overlapping sub-ranges of at most ``max_days`` days (both ends inclusive)."""
    if date_from > date_to:
        raise _ValidationError("date_from is after date_to", path="date_from")
    chunks: list[tuple[date, date]] = []
    start = date_from
    while start <= date_to:
        end = min(date_to, start + timedelta(days=max_days - 1))
        chunks.append((start, end))
        start = end + timedelta(days=1)
    return chunks


# -- webhooks ----------------------------------------------------------------------------------------------
def parse_belvo_webhook(
    body: bytes,
    *,
    authorization: str | None = None,
    expected_authorization: Secret | None = None,
    expected_request_ids: Container[str] | None = None,
    max_bytes: int = MAX_WEBHOOK_BYTES,
) -> BelvoWebhook:
    """Parse (and, when configured, authenticate) a webhook POST body.

    Belvo does not sign webhooks; it can send a static ``Authorization`` header configured with the webhook.
    Give that value as ``expected_authorization`` and the received header as ``authorization``: they are
    compared in constant time. ``expected_request_ids`` accepts only the ``request_id``s we are waiting for.
    """
    if expected_authorization is not None:
        received = (authorization or "").encode("utf-8")
        if not hmac.compare_digest(received, expected_authorization.reveal().encode("utf-8")):
            raise BelvoWebhookError("the webhook's Authorization header does not match", path="Authorization")
    payload = load_pushed_json(
        body, max_bytes=max_bytes, error=BelvoWebhookError, provider="Belvo", kind="webhook"
    )
    if not isinstance(payload, Mapping):
        raise BelvoWebhookError("the webhook body is not a JSON object", path="body")
    problems = [
        Problem(name, "missing or not a string")
        for name in ("webhook_id", "webhook_type", "webhook_code")
        if not isinstance(payload.get(name), str)
    ]
    if problems:
        raise BelvoWebhookError(problems)
    data = payload.get("data")
    request_id = opt_str(payload.get("request_id"), "request_id")
    if expected_request_ids is not None and request_id not in expected_request_ids:
        raise BelvoWebhookError(f"unexpected request_id {request_id!r}", path="request_id")
    return BelvoWebhook(
        webhook_id=payload["webhook_id"],
        webhook_type=payload["webhook_type"],
        webhook_code=payload["webhook_code"],
        link_id=opt_str(payload.get("link_id"), "link_id"),
        request_id=request_id,
        process_type=opt_str(payload.get("process_type"), "process_type"),
        external_id=opt_str(payload.get("external_id"), "external_id"),
        data=dict(data) if isinstance(data, Mapping) else {},
    )


# -- the shared protocol core ------------------------------------------------------------------------------
def _csv(values: Names) -> str | None:
    if values is None:
        return None
    return values if isinstance(values, str) else ",".join(values)


def _error_details(payload: object) -> list[BelvoErrorDetail]:
    items = payload if isinstance(payload, list) else [payload] if isinstance(payload, Mapping) else []
    details = []
    for item in items:
        if isinstance(item, Mapping) and "code" in item:
            details.append(
                BelvoErrorDetail(
                    code=str(item.get("code")),
                    message=str(item.get("message") or ""),
                    field=opt_str(item.get("field"), "field"),
                    request_id=opt_str(item.get("request_id"), "request_id"),
                )
            )
    return details


_STATUS_ERRORS: Mapping[int, type[BelvoError]] = {
    400: BelvoBadRequestError,
    401: BelvoAuthenticationError,
    403: BelvoForbiddenError,
    404: BelvoNotFoundError,
    408: BelvoRequestTimeoutError,
}


class BelvoProtocol:
    """Request builders and response parsers (no I/O), shared by the sync and async clients."""

    def __init__(
        self,
        auth: BelvoAuth,
        *,
        base_url: str = "production",
        timeout: httpx.Timeout | None = None,
        retry: RetryPolicy | None = None,
        today: Callable[[], date] = _today_utc,
    ) -> None:
        self.auth = auth
        self.base_url = resolve_base_url("Belvo", BELVO_ENVIRONMENTS, base_url)
        self.timeout = timeout
        self.today = today
        # Belvo: retry an unexpected_error (500) at most 3 times.
        self.http = HTTPCore(map_error=self.map_error, retry=retry or RetryPolicy(max_attempts=4))

    def __repr__(self) -> str:
        return provider_repr(self, self)

    def _headers(self, *, async_mode: bool = False) -> dict[str, str]:
        headers = {
            "Authorization": self.auth.header(),
            "Accept": "application/json",
            "User-Agent": USER_AGENT,
        }
        if async_mode:
            headers["X-Belvo-Request-Mode"] = "async"  # case-sensitive: "ASYNC" would be a sync call
        return headers

    # requests
    def retrieve_request(
        self,
        link: str,
        date_from: date,
        date_to: date,
        *,
        async_mode: bool,
        **options: Unpack[RetrieveOptions],
    ) -> Request:
        kind = options.get("type")
        pairs = (("omit", _csv(options.get("omit"))), ("fields", _csv(options.get("fields"))))
        params = {k: v for k, v in pairs if v}
        body = {
            "link": link,
            "date_from": date_from.isoformat(),
            "date_to": date_to.isoformat(),
            "type": InvoiceType(kind).value if kind is not None else None,
            "save_data": options.get("save_data", True),
        }
        return Request(
            "POST",
            self.base_url + INVOICES_PATH,
            params=params or None,
            json=body,
            headers=self._headers(async_mode=async_mode),
            idempotent=False,
            what=f"Belvo invoice retrieval {date_from.isoformat()}..{date_to.isoformat()}",
            timeout=self.timeout,
        )

    def list_request(
        self,
        *,
        url: str | None = None,
        link: str | None = None,
        page: int = 1,
        page_size: int = 100,
        omit: Names = None,
        fields: Names = None,
        filters: Mapping[str, str] | None = None,
    ) -> Request:
        """The first page (from the filters) or a ``next`` URL followed exactly as given."""
        if url is not None:
            check_same_origin(self.base_url, url, what="Belvo invoice list")
            return Request(
                "GET", url, headers=self._headers(), what="Belvo invoice list", timeout=self.timeout
            )
        if not 1 <= page_size <= 1000:
            raise _ValidationError("page_size must be between 1 and 1000", path="page_size")
        if page < 1:
            raise _ValidationError("page starts at 1", path="page")
        params: dict[str, str | int] = {"page": page, "page_size": page_size}
        if link:
            params["link"] = link
        elif not filters:
            log.warning("Belvo: listing invoices without a link filter (Belvo advises against it)")
        for key, value in (("omit", _csv(omit)), ("fields", _csv(fields))):
            if value:
                params[key] = value
        params.update(filters or {})
        return Request(
            "GET",
            self.base_url + INVOICES_PATH,
            params=params,
            headers=self._headers(),
            what="Belvo invoice list",
            timeout=self.timeout,
        )

    def detail_request(
        self,
        invoice_id: str,
        *,
        method: str = "GET",
        omit: Names = None,
        fields: Names = None,
    ) -> Request:
        if not invoice_id:
            raise _ValidationError("an invoice id is needed", path="id")
        params = {k: v for k, v in (("omit", _csv(omit)), ("fields", _csv(fields))) if v}
        return Request(
            method,
            f"{self.base_url}{INVOICES_PATH}{quote(invoice_id, safe='')}/",
            params=params or None,
            headers=self._headers(),
            idempotent=True,
            what=f"Belvo invoice {'deletion' if method == 'DELETE' else 'detail'} {invoice_id}",
            timeout=self.timeout,
        )

    # responses
    def map_error(self, response: httpx.Response, request: Request) -> Exception | None:
        status = response.status_code
        if 200 <= status < 300:
            return None
        try:
            payload = load_json(response.content, what="Belvo error") if response.content else None
        except UnexpectedResponseError:
            payload = None
        details = _error_details(payload)
        error_class = _STATUS_ERRORS.get(status, BelvoServerError if status >= 500 else BelvoError)
        summary = "; ".join(str(d) for d in details) or f"HTTP {status}"
        message = f"{request.what}: {summary}"
        if error_class is BelvoRequestTimeoutError:
            message += ". " + _timeout_hint(request)
        if details and details[0].request_id:
            message += f" [request_id {details[0].request_id}]"
        return error_class(
            message,
            errors=details,
            **answered(response, request),
        )

    def parse_invoices(self, response: httpx.Response) -> list[Invoice]:
        payload = load_json(response.content, what="Belvo invoices", status=response.status_code)
        if not isinstance(payload, list):
            raise UnexpectedResponseError(
                "Belvo: expected a JSON array of invoices",
                status=response.status_code,
                url=str(response.url),
                body=response.text[:500],
            )
        return [parse_invoice(item) for item in payload]

    def parse_accepted(
        self, response: httpx.Response, link: str, date_from: date, date_to: date
    ) -> BelvoAccepted:
        payload = load_json(response.content, what="Belvo acknowledgement", status=response.status_code)
        request_id = payload.get("request_id") if isinstance(payload, Mapping) else None
        if response.status_code != 202 or not isinstance(request_id, str):
            raise UnexpectedResponseError(
                f"Belvo: expected 202 with a request_id for an asynchronous request, got HTTP "
                f"{response.status_code}",
                status=response.status_code,
                url=str(response.url),
                body=response.text[:500],
            )
        return BelvoAccepted(request_id, link, date_from, date_to)

    def parse_page(self, response: httpx.Response) -> tuple[list[Invoice], str | None, int | None]:
        payload = load_json(response.content, what="Belvo invoice list", status=response.status_code)
        if not isinstance(payload, Mapping) or not isinstance(payload.get("results"), list):
            raise UnexpectedResponseError(
                "Belvo: a list page must be an object with results",
                status=response.status_code,
                url=str(response.url),
                body=response.text[:500],
            )
        next_url = payload.get("next")
        count = payload.get("count")
        return (
            [parse_invoice(item) for item in payload["results"]],
            next_url if isinstance(next_url, str) and next_url else None,
            int(count) if isinstance(count, int) else None,
        )

    # flows
    def _range_requests(
        self,
        link: str,
        date_from: date | str,
        date_to: date | str,
        options: RetrieveOptions,
        *,
        async_mode: bool,
    ) -> Iterator[tuple[date, date, Request]]:
        """Check every input of a retrieval (all problems together, before anything is sent), split the range
        and give each part's request, built when it is due."""
        problems = [] if isinstance(link, str) and link.strip() else [Problem("link", "a link id is needed")]
        known = RetrieveOptions.__annotations__
        # **options is only checked by a type checker: a misspelt option would otherwise be dropped silently
        problems.extend(
            Problem(str(name), f"unknown option; a retrieval takes {', '.join(known)}")
            for name in options
            if name not in known
        )
        kind = options.get("type")
        if kind is not None and kind not in set(InvoiceType):
            problems.append(Problem("type", f"{kind!r} is not INFLOW, OUTFLOW or None"))
        try:
            start, end = check_date_range(date_from, date_to, today=self.today())
        except _ValidationError as exc:
            problems.extend(exc.problems)
        if problems:
            raise _ValidationError(problems)
        for part_start, part_end in split_date_range(start, end):
            request = self.retrieve_request(link, part_start, part_end, async_mode=async_mode, **options)
            yield part_start, part_end, request

    def retrieve_flow(
        self, link: str, date_from: date | str, date_to: date | str, **options: Unpack[RetrieveOptions]
    ) -> Flow[list[Invoice]]:
        invoices: list[Invoice] = []
        for start, end, request in self._range_requests(link, date_from, date_to, options, async_mode=False):
            try:
                response = yield from self.http.exchange(request)
            except BelvoError as exc:
                exc.partial_invoices, exc.failed_range = tuple(invoices), (start, end)
                raise
            if response.status_code == 202:
                raise UnexpectedResponseError(
                    "Belvo answered 202 (asynchronous) to a synchronous retrieval",
                    status=202,
                    url=request.url,
                    body=response.text[:500],
                )
            invoices.extend(self.parse_invoices(response))
        return invoices

    def request_flow(
        self, link: str, date_from: date | str, date_to: date | str, **options: Unpack[RetrieveOptions]
    ) -> Flow[list[BelvoAccepted]]:
        accepted: list[BelvoAccepted] = []
        for start, end, request in self._range_requests(link, date_from, date_to, options, async_mode=True):
            response = yield from self.http.exchange(request)
            accepted.append(self.parse_accepted(response, link, start, end))
        return accepted

    def detail_flow(self, invoice_id: str, **kwargs: Any) -> Flow[Invoice]:
        response = yield from self.http.exchange(self.detail_request(invoice_id, **kwargs))
        payload = load_json(response.content, what="Belvo invoice", status=response.status_code)
        return parse_invoice(payload)

    def delete_flow(self, invoice_id: str) -> Flow[None]:
        yield from self.http.exchange(self.detail_request(invoice_id, method="DELETE"))

    def page_flow(self, request: Request) -> Flow[tuple[list[Invoice], str | None, int | None]]:
        response = yield from self.http.exchange(request)
        return self.parse_page(response)


def _timeout_hint(request: Request) -> str:
    body = request.json if isinstance(request.json, Mapping) else {}
    if "date_from" in body and "date_to" in body:
        try:
            days = (date.fromisoformat(body["date_to"]) - date.fromisoformat(body["date_from"])).days + 1
        except (TypeError, ValueError):
            days = 0
        return (
            f"Ask for less data: retry with a narrower date range than {body['date_from']}..{body['date_to']}"
            f" ({days} days), or use the asynchronous mode (request_invoices)"
        )
    return "Ask for less data: a smaller page_size or narrower filters"


# -- the clients -------------------------------------------------------------------------------------------
def _protocol(
    auth: BelvoAuth,
    *,
    base_url: str = "production",
    timeout: float | httpx.Timeout | None = None,
    retry: RetryPolicy | None = None,
    today: Callable[[], date] = _today_utc,
) -> BelvoProtocol:
    timeout = as_timeout(timeout) if timeout is not None else BELVO_DEFAULT_TIMEOUT
    return BelvoProtocol(auth, base_url=base_url, timeout=timeout, retry=retry, today=today)


class BelvoClient(SyncRunner[BelvoProtocol]):
    """Synchronous Belvo client (Chile invoices). Use as a context manager (or call :meth:`close`).

    Options: ``base_url`` (``production``, ``sandbox``, ``development`` or a URL), ``timeout``, ``retry``,
    ``today`` (the date that ends every allowed range).
    """

    def __init__(self, auth: BelvoAuth, *, http_client: httpx.Client | None = None, **kwargs: Any) -> None:
        super().__init__(_protocol(auth, **kwargs), http_client)

    def retrieve_invoices(
        self, link: str, date_from: date | str, date_to: date | str, **options: Unpack[RetrieveOptions]
    ) -> list[Invoice]:
        """Scrape the invoices of ``link`` issued in the range (split in 365-day requests when longer).

        Options: ``type`` (:class:`InvoiceType` or None for both), ``save_data`` (default True: Belvo
        stores them, 201), ``omit`` / ``fields`` (field names).
        """
        return self._run(self.protocol.retrieve_flow(link, date_from, date_to, **options))

    def request_invoices(
        self, link: str, date_from: date | str, date_to: date | str, **options: Unpack[RetrieveOptions]
    ) -> list[BelvoAccepted]:
        """The asynchronous retrieval: one 202 ``request_id`` per 365-day request; a webhook follows each."""
        return self._run(self.protocol.request_flow(link, date_from, date_to, **options))

    def list_invoices(self, link: str | None = None, **options: Unpack[ListOptions]) -> Iterator[Invoice]:
        """Every stored invoice matching the filters, fetched page by page as the iterator advances.

        Options: ``page_size`` (1-1000, default 100), ``omit``, ``fields``, ``filters`` (other query
        parameters such as ``id__in``).
        """
        request: Request | None = self.protocol.list_request(link=link, **options)
        while request is not None:
            invoices, next_url, _ = self._run(self.protocol.page_flow(request))
            yield from invoices
            request = self.protocol.list_request(url=next_url) if next_url else None

    def get_invoice(self, invoice_id: str, *, omit: Names = None, fields: Names = None) -> Invoice:
        return self._run(self.protocol.detail_flow(invoice_id, omit=omit, fields=fields))

    def delete_invoice(self, invoice_id: str) -> None:
        self._run(self.protocol.delete_flow(invoice_id))


class AsyncBelvoClient(AsyncRunner[BelvoProtocol]):
    """Asynchronous Belvo client (same behaviour as :class:`BelvoClient`). ``async with`` it."""

    def __init__(
        self, auth: BelvoAuth, *, http_client: httpx.AsyncClient | None = None, **kwargs: Any
    ) -> None:
        super().__init__(_protocol(auth, **kwargs), http_client)

    async def retrieve_invoices(
        self, link: str, date_from: date | str, date_to: date | str, **options: Unpack[RetrieveOptions]
    ) -> list[Invoice]:
        return await self._run(self.protocol.retrieve_flow(link, date_from, date_to, **options))

    async def request_invoices(
        self, link: str, date_from: date | str, date_to: date | str, **options: Unpack[RetrieveOptions]
    ) -> list[BelvoAccepted]:
        return await self._run(self.protocol.request_flow(link, date_from, date_to, **options))

    async def list_invoices(
        self, link: str | None = None, **options: Unpack[ListOptions]
    ) -> AsyncIterator[Invoice]:
        request: Request | None = self.protocol.list_request(link=link, **options)
        while request is not None:
            invoices, next_url, _ = await self._run(self.protocol.page_flow(request))
            for invoice in invoices:
                yield invoice
            request = self.protocol.list_request(url=next_url) if next_url else None

    async def get_invoice(self, invoice_id: str, *, omit: Names = None, fields: Names = None) -> Invoice:
        return await self._run(self.protocol.detail_flow(invoice_id, omit=omit, fields=fields))

    async def delete_invoice(self, invoice_id: str) -> None:
        await self._run(self.protocol.delete_flow(invoice_id))
