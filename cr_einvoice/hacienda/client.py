"""The recepción API client: submit signed vouchers, ask their status, list and fetch them.

:class:`Client` (sync) and :class:`AsyncClient` (async) have the same methods and share everything but the
send: requests are built and responses parsed by the pure functions of this module (``build_*`` /
``parse_*`` / :func:`map_error`), and sent through :class:`cr_einvoice.transport.http.HTTPCore`, which
retries 429,
5xx, timeouts and connection failures with bounded exponential backoff and jitter, paces requests with the
shared :class:`~cr_einvoice.transport.http.RateLimiter` from Hacienda's ``X-Ratelimit-*`` headers, and never
resends a
POST after an ambiguous failure (it raises :class:`~cr_einvoice.core.errors.TransportError` with
``request_sent=True``: ask :meth:`Client.status` before sending again).

A 400 whose ``X-Error-Cause`` says the voucher "ya fue recibido" (or "ya existe en nuestras bases de
datos") is not an error: :meth:`Client.submit` returns an :class:`AlreadyReceived` result (a
:class:`SubmitResult` with ``already_received=True``) and the caller polls the status.
"""

from __future__ import annotations

import base64
import builtins
import logging
import random
import re
import ssl
import time
import unicodedata
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import httpx
from lxml import etree

from cr_einvoice.core.clave import CR_TZ
from cr_einvoice.core.errors import (
    APIError,
    AuthenticationError,
    BadRequestError,
    ConfigError,
    ForbiddenError,
    NotFoundError,
    RateLimitedError,
    ServerError,
    ValidationError,
)
from cr_einvoice.core.version import __version__
from cr_einvoice.core.xmlsafe import find_child, parse_untrusted
from cr_einvoice.hacienda.auth import AsyncTokenManager, BearerAuth, Credentials, TokenManager, TokenStats
from cr_einvoice.hacienda.environments import Environment, check_url
from cr_einvoice.hacienda.respuesta import Respuesta, decode_respuesta
from cr_einvoice.transport.http import DEFAULT_TIMEOUT, HTTPCore, RateLimit, RateLimiter, Request, RetryPolicy

if TYPE_CHECKING:
    from cr_einvoice.signing.xades import TrustStore

__all__ = [
    "AlreadyReceived",
    "AsyncClient",
    "Client",
    "InvalidRequestBodyError",
    "Party",
    "StatusResult",
    "Submission",
    "SubmitResult",
    "UnexpectedResponseError",
    "build_get_request",
    "build_list_request",
    "build_status_request",
    "build_submit_request",
    "map_error",
    "parse_get_response",
    "parse_list_page",
    "parse_status_response",
    "parse_submit_response",
    "submission_from_xml",
]

log = logging.getLogger("cr_einvoice.hacienda")

_CLAVE = re.compile(r"\d{50}")
_STATUS_ID = re.compile(r"\d{50}(?:-\d{20})?")
_CONSECUTIVO = re.compile(r"\d{20}")
_CONTENT_RANGE = re.compile(r"^\s*(?:items\s+)?(\d+)\s*-\s*(\d+)\s*/\s*(\d+|\*)\s*$", re.IGNORECASE)
_DUPLICATE_CAUSES = ("ya fue recibido", "ya existe en nuestras bases de datos")
_VOUCHER_ROOTS = frozenset(
    {
        "FacturaElectronica",
        "TiqueteElectronico",
        "NotaCreditoElectronica",
        "NotaDebitoElectronica",
        "FacturaElectronicaCompra",
        "FacturaElectronicaExportacion",
        "ReciboElectronicoPago",
    }
)
_DS = "http://www.w3.org/2000/09/xmldsig#"


class InvalidRequestBodyError(BadRequestError):
    """HTTP 400 with ``validation-exception``: Hacienda found the JSON body itself invalid (fix the client,
    do not retry)."""


class UnexpectedResponseError(APIError):
    """The server answered with a status or a body this client does not understand."""


# -- results ------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Party:
    """An identification as the recepción JSON carries it."""

    tipo_identificacion: str
    numero_identificacion: str

    def to_json(self) -> dict[str, str]:
        return {
            "tipoIdentificacion": self.tipo_identificacion,
            "numeroIdentificacion": self.numero_identificacion,
        }


@dataclass(frozen=True, slots=True)
class Submission:
    """What :func:`submission_from_xml` read from a signed document for the POST body."""

    clave: str
    fecha: datetime
    emisor: Party
    receptor: Party | None
    document: str
    consecutivo_receptor: str | None = None

    @property
    def status_id(self) -> str:
        """What to pass to ``status()``: the clave, or ``clave-consecutivoReceptor`` for a MensajeReceptor."""
        if self.consecutivo_receptor:
            return f"{self.clave}-{self.consecutivo_receptor}"
        return self.clave


@dataclass(frozen=True, slots=True)
class SubmitResult:
    """Hacienda received the document (HTTP 201 or 202); its validation is pending: poll ``status``."""

    clave: str
    #: The identifier for ``status()`` (``clave`` or ``clave-consecutivoReceptor``).
    status_id: str
    status_code: int
    location: str | None
    rate_limit: RateLimit | None
    already_received: bool = False
    #: X-Error-Cause of a duplicate submission.
    error_cause: str | None = None


@dataclass(frozen=True, slots=True)
class AlreadyReceived(SubmitResult):
    """Hacienda already had this document (400 "ya fue recibido"): not a rejection; poll ``status``."""


@dataclass(frozen=True, slots=True)
class StatusResult:
    """``GET /recepcion/{clave}``: the processing state and, once processed, Hacienda's verified answer."""

    clave: str
    #: ``recibido``, ``procesando``, ``aceptado``, ``rechazado`` or ``error`` (lower case).
    estado: str
    fecha: datetime | None
    respuesta: Respuesta | None
    rate_limit: RateLimit | None
    callback_url: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)

    @property
    def final(self) -> bool:
        """True for ``aceptado`` and ``rechazado``."""
        return self.estado in {"aceptado", "rechazado"}


# -- the shared core: building requests ---------------------------------------------------------------


def _local(tag: object) -> str:
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def _text(parent: etree._Element, *path: str) -> str | None:
    node = find_child(parent, *path)
    if node is None or node.text is None:
        return None
    return node.text.strip() or None


def _infer_tipo(numero: str) -> str:
    """Identification type from a bare number (MensajeReceptor carries no type): 9 digits física,
    10 jurídica, 11-12 DIMEX; anything else is treated as extranjero no domiciliado (05)."""
    if numero.isdigit():
        if len(numero) == 9:
            return "01"
        if len(numero) == 10:
            return "02"
        if len(numero) in (11, 12):
            return "03"
    return "05"


def _fecha(text: str | None, path: str) -> datetime:
    if not text:
        raise ValidationError("missing", path=path)
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValidationError(f"{text!r} is not an RFC 3339 date-time", path=path) from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=CR_TZ)
    return value.astimezone(CR_TZ)


def _format_fecha(value: datetime) -> str:
    return value.astimezone(CR_TZ).replace(microsecond=0).isoformat()


def _party(root: etree._Element, element: str, required: bool) -> Party | None:
    tipo = _text(root, element, "Identificacion", "Tipo")
    numero = _text(root, element, "Identificacion", "Numero")
    if tipo is None and numero is None and not required:
        return None
    if tipo is None or numero is None:
        raise ValidationError("needs Tipo and Numero", path=f"{element}/Identificacion")
    return Party(tipo, numero)


def submission_from_xml(
    signed_xml: bytes,
    *,
    consecutivo_receptor: str | None = None,
    emisor_tipo: str | None = None,
    receptor_tipo: str | None = None,
) -> Submission:
    """Read clave, fecha, emisor and receptor from a signed voucher or MensajeReceptor.

    For a MensajeReceptor the clave is the confirmed voucher's, ``emisor`` the original seller, ``receptor``
    the confirming taxpayer, and ``consecutivo_receptor`` its NumeroConsecutivoReceptor. A MensajeReceptor
    carries no identification types; they are inferred from the numbers' length unless given.
    """
    if not isinstance(signed_xml, bytes):
        raise TypeError("submit() takes the signed XML as the exact bytes the signer returned")
    root = parse_untrusted(signed_xml, what="signed voucher")
    document = _local(root.tag)
    if document != "MensajeReceptor" and document not in _VOUCHER_ROOTS:
        raise ValidationError(f"<{document}> is not a document Hacienda's recepción accepts", path=document)
    if not any(_local(c.tag) == "Signature" and etree.QName(c.tag).namespace == _DS for c in root):
        raise ValidationError(f"the {document} is not signed (no ds:Signature); sign it before submitting")
    clave = _text(root, "Clave") or ""
    if not _CLAVE.fullmatch(clave):
        raise ValidationError(f"not a 50-digit clave: {clave!r}", path=f"{document}/Clave")
    if document == "MensajeReceptor":
        in_xml = _text(root, "NumeroConsecutivoReceptor")
        consecutivo = consecutivo_receptor or in_xml
        if consecutivo is None or not _CONSECUTIVO.fullmatch(consecutivo):
            raise ValidationError(
                f"not a 20-digit consecutivo: {consecutivo!r}",
                path="MensajeReceptor/NumeroConsecutivoReceptor",
            )
        if in_xml is not None and consecutivo != in_xml:
            raise ValidationError(
                f"consecutivo_receptor {consecutivo} differs from the document's NumeroConsecutivoReceptor "
                f"{in_xml}",
                path="MensajeReceptor/NumeroConsecutivoReceptor",
            )
        seller = _text(root, "NumeroCedulaEmisor")
        buyer = _text(root, "NumeroCedulaReceptor")
        if seller is None or buyer is None:
            raise ValidationError(
                "MensajeReceptor needs NumeroCedulaEmisor and NumeroCedulaReceptor", path="MensajeReceptor"
            )
        return Submission(
            clave=clave,
            fecha=_fecha(_text(root, "FechaEmisionDoc"), "MensajeReceptor/FechaEmisionDoc"),
            emisor=Party(emisor_tipo or _infer_tipo(seller), seller),
            receptor=Party(receptor_tipo or _infer_tipo(buyer), buyer),
            document=document,
            consecutivo_receptor=consecutivo,
        )
    if consecutivo_receptor is not None:
        raise ValidationError("consecutivo_receptor applies only to a MensajeReceptor", path=document)
    emisor = _party(root, "Emisor", required=True)
    assert emisor is not None
    return Submission(
        clave=clave,
        fecha=_fecha(_text(root, "FechaEmision"), f"{document}/FechaEmision"),
        emisor=emisor,
        receptor=_party(root, "Receptor", required=False),
        document=document,
    )


def _check_status_id(status_id: str) -> str:
    value = status_id.strip()
    if not _STATUS_ID.fullmatch(value):
        raise ValidationError(
            f"{status_id!r} is neither a 50-digit clave nor clave-consecutivoReceptor", path="clave"
        )
    return value


def build_submit_request(
    environment: Environment, signed_xml: bytes, submission: Submission, callback_url: str | None
) -> Request:
    body: dict[str, Any] = {
        "clave": submission.clave,
        "fecha": _format_fecha(submission.fecha),
        "emisor": submission.emisor.to_json(),
    }
    if submission.receptor is not None:
        body["receptor"] = submission.receptor.to_json()
    if callback_url is not None:
        body["callbackUrl"] = check_url(callback_url, "callback_url")
    if submission.consecutivo_receptor is not None:
        body["consecutivoReceptor"] = submission.consecutivo_receptor
    body["comprobanteXml"] = base64.b64encode(signed_xml).decode("ascii")
    return Request(
        "POST",
        environment.recepcion_url + "recepcion",
        json=body,
        idempotent=False,
        what=f"submit {submission.document}",
        clave=submission.clave,
    )


def build_status_request(environment: Environment, status_id: str) -> Request:
    key = _check_status_id(status_id)
    return Request("GET", environment.recepcion_url + f"recepcion/{key}", what="recepción status", clave=key)


def _identification(value: str | tuple[str, str] | Party) -> str:
    if isinstance(value, Party):
        value = (value.tipo_identificacion, value.numero_identificacion)
    if isinstance(value, tuple):
        tipo, numero = value
        return f"{tipo}{numero.zfill(12)}"
    return value


def build_list_request(
    environment: Environment,
    *,
    offset: int,
    limit: int,
    emisor: str | tuple[str, str] | Party | None,
    receptor: str | tuple[str, str] | Party | None,
) -> Request:
    params: dict[str, str | int] = {"offset": offset, "limit": limit}
    if emisor is not None:
        params["emisor"] = _identification(emisor)
    if receptor is not None:
        params["receptor"] = _identification(receptor)
    return Request("GET", environment.recepcion_url + "comprobantes", params=params, what="comprobantes list")


def build_get_request(environment: Environment, clave: str) -> Request:
    key = _check_status_id(clave)
    return Request("GET", environment.recepcion_url + f"comprobantes/{key}", what="comprobante", clave=key)


# -- the shared core: parsing responses ---------------------------------------------------------------


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


def is_duplicate_cause(cause: str | None) -> bool:
    """True for Hacienda's "already received" causes (accent- and case-insensitive)."""
    if not cause:
        return False
    folded = _fold(cause)
    return any(marker in folded for marker in _DUPLICATE_CAUSES)


def _api_error_args(response: httpx.Response, request: Request) -> dict[str, Any]:
    return {
        "status": response.status_code,
        "headers": dict(response.headers),
        "error_cause": response.headers.get("x-error-cause"),
        "clave": request.clave,
        "body": response.text,
        "url": request.url,
    }


def map_error(response: httpx.Response, request: Request) -> Exception | None:
    """The exception for an error response, or None for a success (and for the duplicate-submission 400,
    which :func:`parse_submit_response` turns into :class:`AlreadyReceived`)."""
    status = response.status_code
    if status < 400:
        return None
    args = _api_error_args(response, request)
    what = request.what
    if status == 400:
        validation = response.headers.get("validation-exception")
        if validation is not None:
            return InvalidRequestBodyError(
                f"{what}: Hacienda says the JSON body is invalid "
                f"(validation-exception: {validation or 'set'})",
                **args,
            )
        if request.method == "POST" and is_duplicate_cause(args["error_cause"]):
            return None
        return BadRequestError(f"{what}: Hacienda refused the request", **args)
    if status == 401:
        return AuthenticationError(
            f"{what}: Hacienda refused the access token even after renewing it", **args
        )
    if status == 403:
        return ForbiddenError(f"{what}: not allowed (are the credentials those of this emisor?)", **args)
    if status == 404:
        return NotFoundError(
            f"{what}: unknown to Hacienda (right after a submission this is normal; keep polling)", **args
        )
    if status == 429:
        return RateLimitedError(f"{what}: rate limited by Hacienda, retries used up", **args)
    if status >= 500:
        return ServerError(f"{what}: Hacienda's server failed, retries used up", **args)
    return APIError(f"{what}: unexpected HTTP status", **args)


def _unexpected(response: httpx.Response, request: Request, problem: str) -> UnexpectedResponseError:
    return UnexpectedResponseError(f"{request.what}: {problem}", **_api_error_args(response, request))


def parse_submit_response(response: httpx.Response, request: Request, submission: Submission) -> SubmitResult:
    rate = RateLimit.from_headers(response.headers)
    status = response.status_code
    if 200 <= status < 300:
        return SubmitResult(
            clave=submission.clave,
            status_id=submission.status_id,
            status_code=status,
            location=response.headers.get("location"),
            rate_limit=rate,
        )
    cause = response.headers.get("x-error-cause")
    if status == 400 and is_duplicate_cause(cause):
        log.info("%s: Hacienda already has clave %s (%s)", request.what, submission.clave, cause)
        return AlreadyReceived(
            clave=submission.clave,
            status_id=submission.status_id,
            status_code=status,
            location=response.headers.get("location"),
            rate_limit=rate,
            already_received=True,
            error_cause=cause,
        )
    raise _unexpected(response, request, f"unexpected HTTP {status}")


def _json(response: httpx.Response, request: Request) -> Any:
    try:
        return response.json()
    except ValueError:
        raise _unexpected(response, request, "the response body is not JSON") from None


def normalise_keys(data: Mapping[str, Any]) -> dict[str, Any]:
    """Keys folded so that ``ind-estado``, ``indEstado``, ``IndEstado`` and ``ind_estado`` coincide."""
    return {re.sub(r"[-_]", "", str(k)).lower(): v for k, v in data.items()}


def parse_fecha(value: object) -> datetime | None:
    """An RFC 3339 date-time, with or without the colon in the offset; None when absent or unreadable."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=CR_TZ)


def parse_status_response(
    response: httpx.Response,
    request: Request,
    *,
    trust: TrustStore | None,
    verify: bool,
    expected_cedula: str | None,
) -> StatusResult:
    if response.status_code != 200:
        raise _unexpected(response, request, f"unexpected HTTP {response.status_code}")
    data = _json(response, request)
    if not isinstance(data, dict):
        raise _unexpected(response, request, "the status body is not a JSON object")
    keys = normalise_keys(data)
    estado = keys.get("indestado")
    if not isinstance(estado, str) or not estado.strip():
        raise _unexpected(response, request, "the status body has no ind-estado")
    clave = keys.get("clave")
    queried = request.clave or ""
    respuesta_data = keys.get("respuestaxml")
    respuesta = None
    if isinstance(respuesta_data, str) and respuesta_data.strip():
        respuesta = decode_respuesta(
            respuesta_data,
            trust=trust,
            verify=verify,
            expected_cedula=expected_cedula,
            expected_clave=queried or None,
        )
    callback = keys.get("callbackurl")
    return StatusResult(
        clave=clave if isinstance(clave, str) and clave else queried,
        estado=estado.strip().lower(),
        fecha=parse_fecha(keys.get("fecha")),
        respuesta=respuesta,
        rate_limit=RateLimit.from_headers(response.headers),
        callback_url=callback if isinstance(callback, str) else None,
        raw=data,
    )


@dataclass(frozen=True, slots=True)
class ListPage:
    items: tuple[dict[str, Any], ...]
    next_offset: int | None
    limit: int
    total: int | None


def parse_list_page(response: httpx.Response, request: Request, *, offset: int, limit: int) -> ListPage:
    """One page of ``GET /comprobantes``: 200 is the full result, 206 a part described by Content-Range."""
    status = response.status_code
    if status not in (200, 206):
        raise _unexpected(response, request, f"unexpected HTTP {status}")
    data = _json(response, request)
    if not isinstance(data, builtins.list) or not all(isinstance(item, dict) for item in data):
        raise _unexpected(response, request, "the list body is not a JSON array of objects")
    items = tuple(data)
    if status == 200 or not items:
        return ListPage(items, None, limit, None)
    accept = response.headers.get("accept-range") or response.headers.get("accept-ranges")
    next_limit = limit
    if accept is not None and accept.strip().isdigit() and 0 < int(accept) < limit:
        next_limit = int(accept)
    total: int | None = None
    crange = response.headers.get("content-range")
    if crange is not None:
        match = _CONTENT_RANGE.match(crange)
        if match is None:
            raise _unexpected(response, request, f"unreadable Content-Range {crange!r}")
        if match.group(3) != "*":
            total = int(match.group(3))
    next_offset = offset + len(items)
    if total is not None and next_offset >= total:
        return ListPage(items, None, next_limit, total)
    return ListPage(items, next_offset, next_limit, total)


def parse_get_response(response: httpx.Response, request: Request) -> dict[str, Any]:
    if response.status_code != 200:
        raise _unexpected(response, request, f"unexpected HTTP {response.status_code}")
    data = _json(response, request)
    if not isinstance(data, dict):
        raise _unexpected(response, request, "the body is not a JSON object")
    return data


# -- the two clients ----------------------------------------------------------------------------------


class _ClientBase:
    def __init__(
        self,
        environment: Environment,
        credentials: Credentials,
        *,
        trust: TrustStore | None,
        expected_cedula: str | None,
        verify_respuestas: bool,
        timeout: httpx.Timeout,
        retry: RetryPolicy | None,
        limiter: RateLimiter | None,
        ca_bundle: str | Path | None,
        refresh_margin: float,
        clock: Callable[[], float],
        sleep: Callable[[float], None],
        rng: random.Random | None,
    ) -> None:
        if not isinstance(environment, Environment):
            raise TypeError("environment must be an Environment (Environment.named('sandbox'), ...)")
        self.environment = environment
        self.credentials = credentials
        self.trust = trust
        self.expected_cedula = expected_cedula if expected_cedula is not None else environment.sello_cedula
        self.verify_respuestas = verify_respuestas
        self.limiter = limiter if limiter is not None else RateLimiter(clock=clock)
        self._retry = retry or RetryPolicy()
        self._rng = rng or random.Random()
        self._timeout = timeout
        # TLS verification cannot be switched off; a private CA bundle may be added (a TLS-serving simulator).
        self._verify: ssl.SSLContext | bool = True
        if ca_bundle is not None:
            try:
                self._verify = ssl.create_default_context(cafile=str(ca_bundle))
            except (OSError, ssl.SSLError) as exc:
                raise ConfigError(f"ca_bundle: cannot load CA certificates from {ca_bundle}: {exc}") from None
        self._refresh_margin = refresh_margin
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
        return {
            "timeout": self._timeout,
            "verify": self._verify,
            "headers": {"User-Agent": f"cr-einvoice/{__version__}", "Accept": "application/json"},
            "trust_env": False,
            "follow_redirects": False,
        }

    @property
    def rate_limit(self) -> RateLimit | None:
        """The latest X-Ratelimit-* values Hacienda sent (shared by every call of this client)."""
        return self.limiter.last

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.environment.name}, {self.credentials.username!r})"

    # Requests are built and responses parsed here; the subclasses only send.
    def _submit_request(
        self,
        signed_xml: bytes,
        callback_url: str | None,
        consecutivo_receptor: str | None,
        emisor_tipo: str | None,
        receptor_tipo: str | None,
    ) -> tuple[Request, Submission]:
        submission = submission_from_xml(
            signed_xml,
            consecutivo_receptor=consecutivo_receptor,
            emisor_tipo=emisor_tipo,
            receptor_tipo=receptor_tipo,
        )
        return build_submit_request(self.environment, signed_xml, submission, callback_url), submission

    def _status_result(self, response: httpx.Response, request: Request) -> StatusResult:
        return parse_status_response(
            response,
            request,
            trust=self.trust,
            verify=self.verify_respuestas,
            expected_cedula=self.expected_cedula,
        )

    def _list_request(self, cursor: _Cursor) -> Request:
        return build_list_request(
            self.environment,
            offset=cursor.offset,
            limit=cursor.limit,
            emisor=cursor.emisor,
            receptor=cursor.receptor,
        )


@dataclass(slots=True)
class _Cursor:
    """Where a ``list()`` iteration stands."""

    offset: int
    limit: int
    emisor: str | tuple[str, str] | Party | None
    receptor: str | tuple[str, str] | Party | None

    def __post_init__(self) -> None:
        if self.offset < 0 or self.limit <= 0:
            raise ValidationError("offset must be >= 0 and page_size > 0", path="page_size")

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


class Client(_ClientBase):
    """Synchronous recepción client; thread-safe; use as a context manager (logs out on close)."""

    def __init__(
        self,
        environment: Environment,
        credentials: Credentials,
        *,
        trust: TrustStore | None = None,
        expected_cedula: str | None = None,
        verify_respuestas: bool = True,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        limiter: RateLimiter | None = None,
        ca_bundle: str | Path | None = None,
        transport: httpx.BaseTransport | None = None,
        refresh_margin: float = 30.0,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        super().__init__(
            environment,
            credentials,
            trust=trust,
            expected_cedula=expected_cedula,
            verify_respuestas=verify_respuestas,
            timeout=timeout,
            retry=retry,
            limiter=limiter,
            ca_bundle=ca_bundle,
            refresh_margin=refresh_margin,
            clock=clock,
            sleep=sleep,
            rng=rng,
        )
        self.tokens = TokenManager(
            environment, credentials, transport=transport, sleep=sleep, **self._token_options()
        )
        self._http = httpx.Client(auth=BearerAuth(self.tokens), transport=transport, **self._http_options())

    @property
    def token_stats(self) -> TokenStats:
        return self.tokens.stats

    def submit(
        self,
        signed_xml: bytes,
        *,
        callback_url: str | None = None,
        consecutivo_receptor: str | None = None,
        emisor_tipo: str | None = None,
        receptor_tipo: str | None = None,
    ) -> SubmitResult:
        """POST the signed document (Base64 of exactly these bytes). 201/202 → :class:`SubmitResult`;
        "ya fue recibido" → :class:`AlreadyReceived`; errors raise (see :func:`map_error`)."""
        request, submission = self._submit_request(
            signed_xml, callback_url, consecutivo_receptor, emisor_tipo, receptor_tipo
        )
        return parse_submit_response(self._core.send(self._http, request), request, submission)

    def status(self, clave: str) -> StatusResult:
        """``GET /recepcion/{clave}`` (``{clave}-{consecutivoReceptor}`` for a MensajeReceptor)."""
        request = build_status_request(self.environment, clave)
        return self._status_result(self._core.send(self._http, request), request)

    def list(
        self,
        *,
        emisor: str | tuple[str, str] | Party | None = None,
        receptor: str | tuple[str, str] | Party | None = None,
        offset: int = 0,
        page_size: int = 50,
    ) -> Iterator[dict[str, Any]]:
        """Lazily iterate ``GET /comprobantes`` page by page (newest first); a page is fetched when needed."""
        cursor = _Cursor(offset, page_size, emisor, receptor)

        def pages() -> Iterator[dict[str, Any]]:
            while not cursor.done:
                request = self._list_request(cursor)
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

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class AsyncClient(_ClientBase):
    """Asynchronous recepción client with the same methods as :class:`Client` (``list`` is an async
    iterator); one token refresh at a time across all tasks; use ``async with`` (logs out on close)."""

    def __init__(
        self,
        environment: Environment,
        credentials: Credentials,
        *,
        trust: TrustStore | None = None,
        expected_cedula: str | None = None,
        verify_respuestas: bool = True,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        limiter: RateLimiter | None = None,
        ca_bundle: str | Path | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        refresh_margin: float = 30.0,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
        max_connections: int = 100,
    ) -> None:
        super().__init__(
            environment,
            credentials,
            trust=trust,
            expected_cedula=expected_cedula,
            verify_respuestas=verify_respuestas,
            timeout=timeout,
            retry=retry,
            limiter=limiter,
            ca_bundle=ca_bundle,
            refresh_margin=refresh_margin,
            clock=clock,
            sleep=time.sleep,  # unused: the async driver sleeps with asyncio.sleep
            rng=rng,
        )
        self.tokens = AsyncTokenManager(
            environment, credentials, transport=transport, **self._token_options()
        )
        limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)
        self._http = httpx.AsyncClient(
            auth=BearerAuth(self.tokens), transport=transport, limits=limits, **self._http_options()
        )

    @property
    def token_stats(self) -> TokenStats:
        return self.tokens.stats

    async def submit(
        self,
        signed_xml: bytes,
        *,
        callback_url: str | None = None,
        consecutivo_receptor: str | None = None,
        emisor_tipo: str | None = None,
        receptor_tipo: str | None = None,
    ) -> SubmitResult:
        """See :meth:`Client.submit`."""
        request, submission = self._submit_request(
            signed_xml, callback_url, consecutivo_receptor, emisor_tipo, receptor_tipo
        )
        return parse_submit_response(await self._core.send_async(self._http, request), request, submission)

    async def status(self, clave: str) -> StatusResult:
        """See :meth:`Client.status`."""
        request = build_status_request(self.environment, clave)
        return self._status_result(await self._core.send_async(self._http, request), request)

    def list(
        self,
        *,
        emisor: str | tuple[str, str] | Party | None = None,
        receptor: str | tuple[str, str] | Party | None = None,
        offset: int = 0,
        page_size: int = 50,
    ) -> AsyncIterator[dict[str, Any]]:
        """See :meth:`Client.list`; iterate with ``async for``."""
        cursor = _Cursor(offset, page_size, emisor, receptor)

        async def pages() -> AsyncIterator[dict[str, Any]]:
            while not cursor.done:
                request = self._list_request(cursor)
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

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()
