"""The recepción API as data: the requests the client sends and what it makes of the answers.

Pure functions, shared by :class:`~cr_einvoice.hacienda.client.Client` and
:class:`~cr_einvoice.hacienda.client.AsyncClient`, which only send: ``build_*`` make a
:class:`~cr_einvoice.transport.http.Request`, ``parse_*`` read an :class:`httpx.Response`, and
:func:`map_error` turns an error response into the exception to raise. The bodies themselves are the wire
types of :mod:`cr_einvoice.hacienda.wire`.
"""

from __future__ import annotations

import builtins
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import httpx
from lxml import etree

from cr_einvoice.core.catalogs import MENSAJE_RECEPTOR, VOUCHER_ROOTS
from cr_einvoice.core.clave import CR_TZ
from cr_einvoice.core.errors import (
    APIError,
    AuthenticationError,
    BadRequestError,
    ForbiddenError,
    NotFoundError,
    Problem,
    RateLimitedError,
    ServerError,
    ValidationError,
)
from cr_einvoice.core.identifiers import Identificacion, infer_tipo
from cr_einvoice.core.jsonsafe import JSONInputError
from cr_einvoice.core.jsonsafe import loads as json_loads
from cr_einvoice.core.xmlsafe import child_text, local_name, parse_untrusted
from cr_einvoice.hacienda.environments import Environment, check_url
from cr_einvoice.hacienda.respuesta import Respuesta, decode_respuesta
from cr_einvoice.hacienda.wire import (
    CLAVE_RE,
    CONSECUTIVO_RE,
    FINAL_ESTADOS,
    STATUS_ID_RE,
    RecepcionRequest,
    StatusAnswer,
    format_fecha,
    is_already_received,
    parse_fecha,
    status_key,
)
from cr_einvoice.signing.xades.algorithms import DS_NS
from cr_einvoice.transport.http import RateLimit, Request

if TYPE_CHECKING:
    from cr_einvoice.signing.xades import TrustStore

__all__ = [
    "AlreadyReceived",
    "InvalidRequestBodyError",
    "ListPage",
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

_CONTENT_RANGE = re.compile(r"^\s*(?:items\s+)?(\d+)\s*-\s*(\d+)\s*/\s*(\d+|\*)\s*$", re.IGNORECASE)

#: A ``list()`` filter: ``"02003101123456"``, ``("02", "3101123456")`` or an identification.
PartyFilter = str | tuple[str, str] | Identificacion


class InvalidRequestBodyError(BadRequestError):
    """HTTP 400 with ``validation-exception``: Hacienda found the JSON body itself invalid (fix the client,
    do not retry)."""


class UnexpectedResponseError(APIError):
    """The server answered with a status or a body this client does not understand."""


# -- results ------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Submission:
    """What :func:`submission_from_xml` read from a signed document for the POST body."""

    clave: str
    fecha: datetime
    emisor: Identificacion
    receptor: Identificacion | None
    document: str
    consecutivo_receptor: str | None = None

    @property
    def status_id(self) -> str:
        """What to pass to ``status()``: the clave, or ``clave-consecutivoReceptor`` for a MensajeReceptor."""
        return status_key(self.clave, self.consecutivo_receptor)


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
    #: ``recibido``, ``procesando``, ``aceptado``, ``rechazado`` or ``error`` (lower case; see
    #: :class:`~cr_einvoice.hacienda.wire.Estado`).
    estado: str
    fecha: datetime | None
    respuesta: Respuesta | None
    rate_limit: RateLimit | None
    callback_url: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)

    @property
    def final(self) -> bool:
        """True for ``aceptado`` and ``rechazado``."""
        return self.estado in FINAL_ESTADOS


# -- building requests --------------------------------------------------------------------------------


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


def _identificacion(tipo: str, numero: str, path: str) -> Identificacion:
    try:
        return Identificacion.of(tipo, numero)
    except ValidationError as exc:
        raise ValidationError(
            [Problem(f"{path}/{p.path}", p.message, p.code) for p in exc.problems]
        ) from None


def _party(root: etree._Element, element: str, required: bool) -> Identificacion | None:
    tipo = child_text(root, element, "Identificacion", "Tipo")
    numero = child_text(root, element, "Identificacion", "Numero")
    if tipo is None and numero is None and not required:
        return None
    if tipo is None or numero is None:
        raise ValidationError("needs Tipo and Numero", path=f"{element}/Identificacion")
    return _identificacion(tipo, numero, f"{element}/Identificacion")


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
    document = local_name(root.tag)
    if document != MENSAJE_RECEPTOR and document not in VOUCHER_ROOTS:
        raise ValidationError(f"<{document}> is not a document Hacienda's recepción accepts", path=document)
    if not any(local_name(c.tag) == "Signature" and etree.QName(c.tag).namespace == DS_NS for c in root):
        raise ValidationError(f"the {document} is not signed (no ds:Signature); sign it before submitting")
    clave = child_text(root, "Clave") or ""
    if not CLAVE_RE.fullmatch(clave):
        raise ValidationError(f"not a 50-digit clave: {clave!r}", path=f"{document}/Clave")
    if document == MENSAJE_RECEPTOR:
        return _mensaje_receptor_submission(root, clave, consecutivo_receptor, emisor_tipo, receptor_tipo)
    if consecutivo_receptor is not None:
        raise ValidationError("consecutivo_receptor applies only to a MensajeReceptor", path=document)
    emisor = _party(root, "Emisor", required=True)
    assert emisor is not None
    return Submission(
        clave=clave,
        fecha=_fecha(child_text(root, "FechaEmision"), f"{document}/FechaEmision"),
        emisor=emisor,
        receptor=_party(root, "Receptor", required=False),
        document=document,
    )


def _mensaje_receptor_submission(
    root: etree._Element,
    clave: str,
    consecutivo_receptor: str | None,
    emisor_tipo: str | None,
    receptor_tipo: str | None,
) -> Submission:
    path = f"{MENSAJE_RECEPTOR}/NumeroConsecutivoReceptor"
    in_xml = child_text(root, "NumeroConsecutivoReceptor")
    consecutivo = consecutivo_receptor or in_xml
    if consecutivo is None or not CONSECUTIVO_RE.fullmatch(consecutivo):
        raise ValidationError(f"not a 20-digit consecutivo: {consecutivo!r}", path=path)
    if in_xml is not None and consecutivo != in_xml:
        raise ValidationError(
            f"consecutivo_receptor {consecutivo} differs from the document's NumeroConsecutivoReceptor "
            f"{in_xml}",
            path=path,
        )
    seller = child_text(root, "NumeroCedulaEmisor")
    buyer = child_text(root, "NumeroCedulaReceptor")
    if seller is None or buyer is None:
        raise ValidationError(
            "MensajeReceptor needs NumeroCedulaEmisor and NumeroCedulaReceptor", path=MENSAJE_RECEPTOR
        )
    return Submission(
        clave=clave,
        fecha=_fecha(child_text(root, "FechaEmisionDoc"), f"{MENSAJE_RECEPTOR}/FechaEmisionDoc"),
        emisor=_identificacion(
            emisor_tipo or infer_tipo(seller), seller, f"{MENSAJE_RECEPTOR}/NumeroCedulaEmisor"
        ),
        receptor=_identificacion(
            receptor_tipo or infer_tipo(buyer), buyer, f"{MENSAJE_RECEPTOR}/NumeroCedulaReceptor"
        ),
        document=MENSAJE_RECEPTOR,
        consecutivo_receptor=consecutivo,
    )


def _check_status_id(status_id: str) -> str:
    value = status_id.strip()
    if not STATUS_ID_RE.fullmatch(value):
        raise ValidationError(
            f"{status_id!r} is neither a 50-digit clave nor clave-consecutivoReceptor", path="clave"
        )
    return value


def recepcion_request(
    signed_xml: bytes, submission: Submission, callback_url: str | None
) -> RecepcionRequest:
    """The POST body for ``submission`` (``callback_url`` must be https, or http on a loopback host)."""
    return RecepcionRequest(
        clave=submission.clave,
        fecha=format_fecha(submission.fecha),
        emisor=submission.emisor,
        receptor=submission.receptor,
        comprobante_xml=signed_xml,
        callback_url=check_url(callback_url, "callback_url") if callback_url is not None else None,
        consecutivo_receptor=submission.consecutivo_receptor,
    )


def build_submit_request(
    environment: Environment, signed_xml: bytes, submission: Submission, callback_url: str | None
) -> Request:
    return Request(
        "POST",
        environment.recepcion_url + "recepcion",
        json=recepcion_request(signed_xml, submission, callback_url).to_json(),
        idempotent=False,
        what=f"submit {submission.document}",
        clave=submission.clave,
    )


def build_status_request(environment: Environment, status_id: str) -> Request:
    key = _check_status_id(status_id)
    return Request("GET", environment.recepcion_url + f"recepcion/{key}", what="recepción status", clave=key)


def _identification(value: PartyFilter) -> str:
    if isinstance(value, Identificacion):
        value = (value.tipo.value, value.numero)
    if isinstance(value, tuple):
        tipo, numero = value
        return f"{tipo}{numero.zfill(12)}"
    return value


def build_list_request(
    environment: Environment,
    *,
    offset: int,
    limit: int,
    emisor: PartyFilter | None,
    receptor: PartyFilter | None,
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


# -- parsing responses --------------------------------------------------------------------------------


def _api_error_args(response: httpx.Response, request: Request) -> dict[str, Any]:
    return {
        "status": response.status_code,
        "headers": dict(response.headers),
        "error_cause": response.headers.get("x-error-cause"),
        "clave": request.clave,
        "body": response.text,
        "url": request.url,
    }


#: The exception and message for each error status other than 400 (``what`` is the request's).
_STATUS_ERRORS: dict[int, tuple[type[APIError], str]] = {
    401: (AuthenticationError, "Hacienda refused the access token even after renewing it"),
    403: (ForbiddenError, "not allowed (are the credentials those of this emisor?)"),
    404: (NotFoundError, "unknown to Hacienda (right after a submission this is normal; keep polling)"),
    429: (RateLimitedError, "rate limited by Hacienda, retries used up"),
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
        if request.method == "POST" and is_already_received(args["error_cause"]):
            return None
        return BadRequestError(f"{what}: Hacienda refused the request", **args)
    if status in _STATUS_ERRORS:
        kind, message = _STATUS_ERRORS[status]
        return kind(f"{what}: {message}", **args)
    if status >= 500:
        return ServerError(f"{what}: Hacienda's server failed, retries used up", **args)
    return APIError(f"{what}: unexpected HTTP status", **args)


def _unexpected(response: httpx.Response, request: Request, problem: str) -> UnexpectedResponseError:
    return UnexpectedResponseError(f"{request.what}: {problem}", **_api_error_args(response, request))


def parse_submit_response(response: httpx.Response, request: Request, submission: Submission) -> SubmitResult:
    status = response.status_code
    cause = response.headers.get("x-error-cause")
    duplicate = status == 400 and is_already_received(cause)
    if not (200 <= status < 300 or duplicate):
        raise _unexpected(response, request, f"unexpected HTTP {status}")
    if duplicate:
        log.info("%s: Hacienda already has clave %s (%s)", request.what, submission.clave, cause)
    return (AlreadyReceived if duplicate else SubmitResult)(
        clave=submission.clave,
        status_id=submission.status_id,
        status_code=status,
        location=response.headers.get("location"),
        rate_limit=RateLimit.from_headers(response.headers),
        already_received=duplicate,
        error_cause=cause if duplicate else None,
    )


def _json(response: httpx.Response, request: Request, expected: type, what: str) -> Any:
    """The body as JSON of type ``expected`` (after a 200 or, for lists, a 206)."""
    try:
        data = json_loads(response.content, what="Hacienda's answer")
    except JSONInputError as exc:
        raise _unexpected(
            response, request, f"the response body is not JSON within the limits: {exc.reason}"
        ) from None
    if not isinstance(data, expected):
        raise _unexpected(response, request, what)
    return data


def _check_status(response: httpx.Response, request: Request, *expected: int) -> None:
    if response.status_code not in expected:
        raise _unexpected(response, request, f"unexpected HTTP {response.status_code}")


def parse_status_response(
    response: httpx.Response,
    request: Request,
    *,
    trust: TrustStore | None,
    verify: bool,
    expected_cedula: str | None,
) -> StatusResult:
    _check_status(response, request, 200)
    data = _json(response, request, dict, "the status body is not a JSON object")
    answer = StatusAnswer.from_json(data)
    if answer.estado is None:
        raise _unexpected(response, request, "the status body has no ind-estado")
    queried = request.clave or ""
    respuesta = None
    if answer.respuesta_xml is not None:
        respuesta = decode_respuesta(
            answer.respuesta_xml,
            trust=trust,
            verify=verify,
            expected_cedula=expected_cedula,
            expected_clave=queried or None,
        )
    return StatusResult(
        clave=answer.clave or queried,
        estado=answer.estado,
        fecha=parse_fecha(answer.fecha),
        respuesta=respuesta,
        rate_limit=RateLimit.from_headers(response.headers),
        callback_url=answer.callback_url,
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
    _check_status(response, request, 200, 206)
    data = _json(response, request, builtins.list, "the list body is not a JSON array of objects")
    if not all(isinstance(item, dict) for item in data):
        raise _unexpected(response, request, "the list body is not a JSON array of objects")
    items = tuple(data)
    if response.status_code == 200 or not items:
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
    _check_status(response, request, 200)
    data: dict[str, Any] = _json(response, request, dict, "the body is not a JSON object")
    return data
