"""Khipu's vocabulary: errors, credentials, results, input checks and the answer envelope (of a response or
a callback), with the matching of callbacks to the requests that started them. No I/O here: the clients and
their protocol core are in :mod:`cr_einvoice.chile.khipu`, which re-exports every name of this module.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import auto
from pathlib import Path
from typing import Any, TypedDict

from cr_einvoice.chile._common import (
    ChileAPIError,
    NamedEnum,
    UnexpectedResponseError,
    load_pushed_json,
)
from cr_einvoice.core.errors import (
    AuthenticationError,
    BadRequestError,
    ConfigError,
    ExitCode,
    NotFoundError,
    Problem,
    ServerError,
)
from cr_einvoice.core.errors import ValidationError as _ValidationError
from cr_einvoice.core.secret import Secret

__all__ = [
    "MAX_CALLBACK_BYTES",
    "EnelBill",
    "EnelBillResult",
    "KhipuAccepted",
    "KhipuAuth",
    "KhipuAuthenticationError",
    "KhipuBadRequestError",
    "KhipuCallback",
    "KhipuCallbackError",
    "KhipuCallbacks",
    "KhipuClientCredentials",
    "KhipuDeferred",
    "KhipuDoNotRetryError",
    "KhipuError",
    "KhipuErrorFields",
    "KhipuErrorInfo",
    "KhipuErrorType",
    "KhipuInvalidDocumentError",
    "KhipuLegacyError",
    "KhipuNoDataError",
    "KhipuNotFoundError",
    "KhipuOutcome",
    "KhipuRetriesExhaustedError",
    "KhipuServerError",
    "bill_request_data",
    "check_client_identifier",
    "check_email",
    "parse_khipu_callback",
]


#: Largest callback body accepted (a base64 PDF).
MAX_CALLBACK_BYTES = 32 * 1024 * 1024

# The API's own email pattern ``^[\w-\.]+@([\w-]+\.)+[\w-]{2,4}$`` (JavaScript: ASCII ``\w``).
_EMAIL = re.compile(r"[\w.-]+@(?:[\w-]+\.)+[\w-]{2,4}", re.ASCII)
# Digits (at most 20 characters), optionally ``-`` and the check digit (0-9 or K).
_CLIENT_ID = re.compile(r"\d{1,20}|\d{1,18}-[0-9Kk]")
_MAX_CALLBACK_URL = 255
_WAIT_4_HOURS = timedelta(hours=4)


# -- errors ------------------------------------------------------------------------------------------------
class KhipuError(ChileAPIError):
    """Khipu answered with an error. Carries ``operation_id``, ``code`` (``E201``...), ``error_type`` and
    ``description`` when the envelope had them, plus ``status``, ``headers`` and ``body``."""

    def __init__(
        self,
        message: str,
        *,
        status: int,
        operation_id: str | None = None,
        code: str | None = None,
        error_type: str | None = None,
        description: str | None = None,
        **kwargs: Any,
    ) -> None:
        self.operation_id = operation_id
        self.code = code
        self.error_type = error_type
        self.description = description
        super().__init__(message, status=status, **kwargs)


class KhipuDoNotRetryError(KhipuError):
    """``Error.Type`` is ``DO_NOT_RETRY`` (or a type this client does not know): sending again won't help."""


class KhipuRetriesExhaustedError(KhipuError):
    """``RETRY_IMMEDIATELY`` kept coming back after the bounded number of immediate retries."""


class KhipuLegacyError(KhipuError):
    """The legacy envelope: ``Status: ERROR``, ``FailureReason`` (``TASK_FINISHED``/``LIFESPAN_EXCEEDED``)."""

    def __init__(self, message: str, *, failure_reason: str, **kwargs: Any) -> None:
        self.failure_reason = failure_reason
        super().__init__(message, **kwargs)


class KhipuNoDataError(KhipuError):
    """``Status: OK`` but no bill in ``Data`` (``additional_information`` may say why)."""

    def __init__(self, message: str, *, additional_information: str | None = None, **kwargs: Any) -> None:
        self.additional_information = additional_information
        super().__init__(message, **kwargs)


class KhipuInvalidDocumentError(KhipuError, UnexpectedResponseError):
    """``Data.Bill.Document`` is not strict base64 or does not decode to a PDF."""


class KhipuAuthenticationError(KhipuError, AuthenticationError):
    """HTTP 401 / ``A000``: the API key or JWT is missing, invalid, revoked or expired."""


class KhipuBadRequestError(KhipuError, BadRequestError):
    """HTTP 400 without an envelope saying more: the payload was refused."""

    exit_code = ExitCode.INVALID


class KhipuNotFoundError(KhipuError, NotFoundError):
    """HTTP 404: wrong path (check the base URL)."""


class KhipuServerError(KhipuError, ServerError):
    """HTTP 5xx after the retries were used up."""


class KhipuCallbackError(_ValidationError):
    """A callback body is malformed or does not belong to a pending request of ours."""


# -- authentication ----------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class KhipuClientCredentials:
    """OAuth 2.0 client credentials; the token endpoint comes from Khipu's onboarding material."""

    token_url: str
    client_id: str
    client_secret: Secret
    scope: str | None = None


@dataclass(frozen=True, slots=True)
class KhipuAuth:
    """Exactly one of: ``api_key`` (``x-api-key``), ``bearer_token`` (a JWT), ``client_credentials``.

    Khipu accepts one scheme or the other, "but not both simultaneously": configuring two is a
    :class:`~cr_einvoice.core.errors.ConfigError`.
    """

    api_key: Secret | None = None
    bearer_token: Secret | None = None
    client_credentials: KhipuClientCredentials | None = None

    def __post_init__(self) -> None:
        chosen = [
            name
            for name, value in (
                ("api_key", self.api_key),
                ("bearer_token", self.bearer_token),
                ("client_credentials", self.client_credentials),
            )
            if value is not None
        ]
        if len(chosen) > 1:
            raise ConfigError(
                f"Khipu authentication: {' and '.join(chosen)} are both configured; Khipu accepts an API key "
                "or a bearer JWT, never both -- configure exactly one"
            )
        if not chosen:
            raise ConfigError(
                "Khipu authentication: configure an API key, a bearer token or client credentials"
            )

    @classmethod
    def from_env(
        cls,
        *,
        api_key_env: str = "KHIPU_API_KEY",
        token_env: str = "KHIPU_ACCESS_TOKEN",  # noqa: S107 (a variable name)
        client_id_env: str = "KHIPU_CLIENT_ID",
        client_secret_env: str = "KHIPU_CLIENT_SECRET",  # noqa: S107 (a variable name)
        token_url_env: str = "KHIPU_TOKEN_URL",  # noqa: S107 (a variable name)
        environ: Mapping[str, str] | None = None,
    ) -> KhipuAuth:
        """Read the credentials from the environment (the variable names can be changed)."""
        env = os.environ if environ is None else environ
        api_key = env.get(api_key_env) or None
        token = env.get(token_env) or None
        client_id = env.get(client_id_env) or None
        client_secret = env.get(client_secret_env) or None
        credentials = None
        if client_id or client_secret:
            token_url = env.get(token_url_env) or None
            missing = [
                name
                for name, value in (
                    (client_id_env, client_id),
                    (client_secret_env, client_secret),
                    (token_url_env, token_url),
                )
                if not value
            ]
            if missing:
                raise ConfigError(f"Khipu client credentials: set {', '.join(missing)} as well")
            assert client_id and client_secret and token_url
            credentials = KhipuClientCredentials(token_url, client_id, Secret(client_secret))
        if not (api_key or token or credentials):
            raise ConfigError(
                f"Khipu credentials: set {api_key_env} (API key), {token_env} (bearer JWT) or "
                f"{client_id_env}/{client_secret_env}/{token_url_env} (client credentials)"
            )
        return cls(
            api_key=Secret(api_key) if api_key else None,
            bearer_token=Secret(token) if token else None,
            client_credentials=credentials,
        )


# -- results -----------------------------------------------------------------------------------------------
class KhipuErrorType(NamedEnum):
    """``Error.Type``: how to treat the error."""

    RETRY_IMMEDIATELY = auto()
    DO_NOT_RETRY = auto()
    WAIT_4_HOURS_BEFORE_RETRY = auto()
    RETRY_AFTER_NOTIFICATION = auto()

    @classmethod
    def of(cls, value: str) -> KhipuErrorType | None:
        """The type ``value`` names (values are the names); None for a type this client does not know."""
        return cls.__members__.get(value)


@dataclass(frozen=True, slots=True)
class KhipuErrorInfo:
    """The envelope's ``Error`` object."""

    code: str
    type: str
    description: str

    @property
    def kind(self) -> KhipuErrorType | None:
        return KhipuErrorType.of(self.type)

    def error_fields(self) -> KhipuErrorFields:
        """What a :class:`KhipuError` carries of it."""
        return {"code": self.code, "error_type": self.type, "description": self.description}


class KhipuErrorFields(TypedDict):
    code: str
    error_type: str
    description: str


@dataclass(frozen=True, slots=True)
class EnelBill:
    """``Data.Bill``: the client identifier and the decoded PDF (``document``, starts with ``%PDF-``)."""

    client_identifier: str
    document: bytes = field(repr=False)

    @property
    def size(self) -> int:
        return len(self.document)

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the PDF atomically; returns the path."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(target.name + ".tmp")
        tmp.write_bytes(self.document)
        tmp.replace(target)
        return target


@dataclass(frozen=True, slots=True)
class EnelBillResult:
    """A successful answer (``Status: OK`` with a bill)."""

    operation_id: str
    bill: EnelBill
    additional_information: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def pdf(self) -> bytes:
        return self.bill.document

    def save_pdf(self, path: str | os.PathLike[str]) -> Path:
        return self.bill.save(path)


@dataclass(frozen=True, slots=True)
class KhipuDeferred:
    """Khipu asked to come back later: not before ``earliest_retry`` (``WAIT_4_HOURS_BEFORE_RETRY``: 4 hours
    after the answer; a callback's ``RETRY_IMMEDIATELY``: now), or only after Khipu's notification that the
    service is back (``RETRY_AFTER_NOTIFICATION``: ``wait_for_notification`` and no time)."""

    operation_id: str | None
    error: KhipuErrorInfo
    earliest_retry: datetime | None
    wait_for_notification: bool = False


@dataclass(frozen=True, slots=True)
class KhipuAccepted:
    """The 202 acknowledgement of an asynchronous request."""

    operation_id: str
    #: The deadline after which no callback should be expected (``LifeSpan``), when it is a timestamp.
    life_span: datetime | None
    life_span_raw: str | None
    additional_information: str | None
    callback_url: str
    client_identifier: str


@dataclass(frozen=True, slots=True)
class RetryNow:
    operation_id: str | None
    error: KhipuErrorInfo


KhipuOutcome = EnelBillResult | KhipuDeferred


# -- input checks ------------------------------------------------------------------------------------------
def check_client_identifier(value: str) -> str:
    """The Enel client number, with or without ``-`` and its check digit (``1234567-8``); at most 20 chars."""
    text = value.strip() if isinstance(value, str) else value
    if not isinstance(text, str) or not _CLIENT_ID.fullmatch(text):
        raise _ValidationError(
            f"{value!r} is not an Enel client number: digits, optionally '-' and the check digit "
            "(for example 1234567-8), at most 20 characters",
            path="RequestData.ClientIdentifier",
        )
    return text.upper()


def check_email(value: str) -> str:
    """The email, checked with the API's own pattern (no ``+``; a top-level domain of 2 to 4 characters)."""
    if not isinstance(value, str) or not _EMAIL.fullmatch(value):
        raise _ValidationError(
            f"{value!r} is not an email address Khipu accepts "
            "(pattern ^[\\w-\\.]+@([\\w-]+\\.)+[\\w-]{2,4}$)",
            path="RequestData.Email",
        )
    return value


def _check_callback_url(value: str) -> str:
    if not value.startswith(("http://", "https://")) or len(value) > _MAX_CALLBACK_URL:
        raise _ValidationError(
            f"the callback URL must be an http(s) URL of at most {_MAX_CALLBACK_URL} characters",
            path="CallbackUrl",
        )
    return value


def bill_request_data(client_identifier: str, email: str, callback_url: str | None = None) -> dict[str, Any]:
    """The JSON body, every input checked (all problems reported together)."""
    problems: list[Problem] = []
    body: dict[str, Any] = {"RequestData": {}}
    for key, check, value in (
        ("ClientIdentifier", check_client_identifier, client_identifier),
        ("Email", check_email, email),
    ):
        try:
            body["RequestData"][key] = check(value)
        except _ValidationError as exc:
            problems.extend(exc.problems)
    if callback_url is not None:
        try:
            body["CallbackUrl"] = _check_callback_url(callback_url)
        except _ValidationError as exc:
            problems.extend(exc.problems)
    if problems:
        raise _ValidationError(problems)
    return body


# -- parsing -----------------------------------------------------------------------------------------------
def error_info(envelope: Mapping[str, Any]) -> KhipuErrorInfo | None:
    err = envelope.get("Error")
    if not isinstance(err, Mapping):
        return None
    return KhipuErrorInfo(
        code=str(err.get("Code") or ""),
        type=str(err.get("Type") or ""),
        description=str(err.get("Description") or ""),
    )


def _decode_pdf(document: object, *, status: int, operation_id: str | None, url: str) -> bytes:
    if not isinstance(document, str):
        raise KhipuInvalidDocumentError(
            "Khipu bill: Data.Bill.Document is missing or not a string",
            status=status,
            operation_id=operation_id,
            url=url,
        )
    try:
        pdf = base64.b64decode("".join(document.split()), validate=True)
    except (binascii.Error, ValueError):
        raise KhipuInvalidDocumentError(
            "Khipu bill: Data.Bill.Document is not valid base64",
            status=status,
            operation_id=operation_id,
            url=url,
        ) from None
    if not pdf.startswith(b"%PDF-"):
        raise KhipuInvalidDocumentError(
            f"Khipu bill: Data.Bill.Document is not a PDF (starts with {pdf[:8]!r}, expected %PDF-)",
            status=status,
            operation_id=operation_id,
            url=url,
        )
    return pdf


def interpret(
    envelope: object, *, status: int, url: str, now: datetime, body: str = ""
) -> EnelBillResult | KhipuDeferred | RetryNow:
    """One answer envelope (a 200 response or a callback) -> result, deferral or retry; raises the rest."""
    if not isinstance(envelope, Mapping):
        raise UnexpectedResponseError(
            "Khipu: the answer is not a JSON object", status=status, url=url, body=body
        )
    operation_id = envelope.get("OperationId")
    op = str(operation_id) if operation_id is not None else None
    state = envelope.get("Status")
    if state == "OK":
        data = envelope.get("Data")
        info = envelope.get("AdditionalInformation")
        additional = str(info) if info is not None else None
        bill = data.get("Bill") if isinstance(data, Mapping) else None
        if not isinstance(bill, Mapping):
            raise KhipuNoDataError(
                f"Khipu: operation {op} finished without a bill" + (f" ({additional})" if additional else ""),
                status=status,
                operation_id=op,
                additional_information=additional,
                url=url,
            )
        pdf = _decode_pdf(bill.get("Document"), status=status, operation_id=op, url=url)
        return EnelBillResult(
            operation_id=op or "",
            bill=EnelBill(client_identifier=str(bill.get("ClientIdentifier") or ""), document=pdf),
            additional_information=additional,
            raw={k: v for k, v in envelope.items() if k != "Data"},
        )
    if state == "ERROR":
        if "FailureReason" in envelope and envelope.get("Error") is None:
            reason = str(envelope.get("FailureReason"))
            message = str(envelope.get("Message") or "")
            raise KhipuLegacyError(
                f"Khipu: operation {op} failed: {reason}" + (f" -- {message}" if message else ""),
                failure_reason=reason,
                status=status,
                operation_id=op,
                description=message or None,
                url=url,
                body=body,
            )
        err = error_info(envelope)
        if err is None:
            raise UnexpectedResponseError(
                "Khipu: Status ERROR without an Error object", status=status, url=url, body=body
            )
        kind = err.kind
        if kind is KhipuErrorType.RETRY_IMMEDIATELY:
            return RetryNow(op, err)
        if kind is KhipuErrorType.WAIT_4_HOURS_BEFORE_RETRY:
            return KhipuDeferred(op, err, earliest_retry=now + _WAIT_4_HOURS)
        if kind is KhipuErrorType.RETRY_AFTER_NOTIFICATION:
            return KhipuDeferred(op, err, earliest_retry=None, wait_for_notification=True)
        error_class = KhipuAuthenticationError if err.code == "A000" else KhipuDoNotRetryError
        raise error_class(
            f"Khipu: {err.description or 'error'} (code {err.code}, {err.type or 'no type'}, operation {op})",
            status=status,
            operation_id=op,
            **err.error_fields(),
            url=url,
            body=body,
        )
    raise UnexpectedResponseError(
        f"Khipu: unknown Status {state!r} in the answer", status=status, url=url, body=body
    )


def parse_life_span(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _load_callback(body: bytes, max_bytes: int) -> Mapping[str, Any]:
    envelope = load_pushed_json(
        body, max_bytes=max_bytes, error=KhipuCallbackError, provider="Khipu", kind="callback"
    )
    if not isinstance(envelope, Mapping) or not isinstance(envelope.get("OperationId"), str):
        raise KhipuCallbackError("the callback body has no OperationId", path="OperationId")
    return envelope


def _callback_outcome(envelope: Mapping[str, Any], now: datetime) -> KhipuOutcome:
    outcome = interpret(envelope, status=200, url="callback", now=now)
    if isinstance(outcome, RetryNow):
        # The callback cannot be re-sent by us: a new request is due now.
        return KhipuDeferred(outcome.operation_id, outcome.error, earliest_retry=now)
    return outcome


def parse_khipu_callback(
    body: bytes, *, now: datetime | None = None, max_bytes: int = MAX_CALLBACK_BYTES
) -> tuple[str, KhipuOutcome]:
    """Parse a callback POST body (the 200 envelope): ``(OperationId, outcome)``.

    A ``RETRY_IMMEDIATELY`` error comes back as a :class:`KhipuDeferred` due now (a callback cannot be
    retried by the client); ``DO_NOT_RETRY`` raises :class:`KhipuDoNotRetryError`. Use
    :class:`KhipuCallbacks` to accept only the operations you started.
    """
    envelope = _load_callback(body, max_bytes)
    return envelope["OperationId"], _callback_outcome(envelope, now or datetime.now(UTC))


@dataclass(frozen=True, slots=True)
class KhipuCallback:
    """A callback matched with the request that started it."""

    accepted: KhipuAccepted
    outcome: KhipuOutcome

    @property
    def operation_id(self) -> str:
        return self.accepted.operation_id


class KhipuCallbacks:
    """The asynchronous requests awaiting their callback, matched by ``OperationId`` (thread-safe).

    Khipu does not sign callbacks: only bodies naming an operation registered with :meth:`expect` are
    accepted, each once.
    """

    def __init__(self, *, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._pending: dict[str, KhipuAccepted] = {}

    def expect(self, accepted: KhipuAccepted) -> None:
        with self._lock:
            self._pending[accepted.operation_id] = accepted

    @property
    def pending(self) -> tuple[KhipuAccepted, ...]:
        with self._lock:
            return tuple(self._pending.values())

    def overdue(self) -> list[KhipuAccepted]:
        """Pending operations whose ``LifeSpan`` has passed: no callback should be expected any more."""
        now = self._clock()
        return [a for a in self.pending if a.life_span is not None and a.life_span < now]

    def match(self, body: bytes, *, max_bytes: int = MAX_CALLBACK_BYTES) -> KhipuCallback:
        """Parse a callback body and pair it with its request; unknown or repeated operations are refused.

        Raises :class:`KhipuCallbackError` for a foreign body, and the errors of :func:`parse_khipu_callback`
        (after the operation is matched and removed from the pending set) for a failed operation.
        """
        envelope = _load_callback(body, max_bytes)
        op = envelope["OperationId"]
        with self._lock:
            accepted = self._pending.pop(op, None)
        if accepted is None:
            raise KhipuCallbackError(
                f"callback for an unknown or already handled operation {op!r}", path="OperationId"
            )
        return KhipuCallback(accepted, _callback_outcome(envelope, self._clock()))
