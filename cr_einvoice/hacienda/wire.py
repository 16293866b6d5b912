"""The recepción API's wire types, shared by the client, the callback receiver, the worker and the simulator.

One definition each:

* the processing states Hacienda reports (``ind-estado``, :class:`Estado`) and which of them are final;
* the one decision whether a refusal means "Hacienda already has this document" (``ya fue recibido``,
  :func:`is_already_received`), which is not a rejection: the caller asks for the status instead of sending
  again;
* the body of ``POST /recepcion`` (:class:`RecepcionRequest`: built by the client, read by the simulator);
* the answer of ``GET /recepcion/{clave}`` and of a callback (:class:`StatusAnswer`: produced by the
  simulator, read by the client and the callback receiver).

Party identifications travel as :class:`cr_einvoice.core.identifiers.Identificacion`.
"""

from __future__ import annotations

import base64
import binascii
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from cr_einvoice.core.clave import CR_TZ
from cr_einvoice.core.errors import ValidationError
from cr_einvoice.core.identifiers import Identificacion
from cr_einvoice.core.jsonsafe import JSONInputError
from cr_einvoice.core.jsonsafe import loads as json_loads

__all__ = [
    "ALREADY_RECEIVED_MARKERS",
    "CLAVE_RE",
    "CONSECUTIVO_RE",
    "FINAL_ESTADOS",
    "MAX_RECEPCION_BODY_BYTES",
    "STATUS_ID_RE",
    "Estado",
    "RecepcionRequest",
    "StatusAnswer",
    "WireFormatError",
    "fold",
    "format_fecha",
    "is_already_received",
    "normalise_keys",
    "parse_fecha",
    "parties_json",
    "status_key",
]


class Estado(StrEnum):
    """``ind-estado`` of ``GET /recepcion/{clave}`` (Hacienda writes it in lower case)."""

    RECIBIDO = "recibido"
    PROCESANDO = "procesando"
    ACEPTADO = "aceptado"
    RECHAZADO = "rechazado"
    ERROR = "error"


#: Hacienda's answer is final: the voucher was accepted or rejected and will not change.
FINAL_ESTADOS: frozenset[str] = frozenset({Estado.ACEPTADO, Estado.RECHAZADO})

#: Hacienda's texts for a document it already has, accent- and case-folded: the 400 ``X-Error-Cause`` "El
#: comprobante ya fue recibido anteriormente" and the -99 detail "… ya existe en nuestras bases de datos …".
ALREADY_RECEIVED_MARKERS: tuple[str, ...] = ("ya fue recibido", "ya existe en nuestras bases de datos")

#: The largest POST /recepcion body read: a 10 MiB signed voucher in Base64 plus the JSON around it.
MAX_RECEPCION_BODY_BYTES = 14 * 1024 * 1024

#: A voucher's clave; the status identifier (``clave`` or ``clave-consecutivoReceptor``); a consecutivo.
CLAVE_RE = re.compile(r"\d{50}")
STATUS_ID_RE = re.compile(r"\d{50}(?:-\d{20})?")
CONSECUTIVO_RE = re.compile(r"\d{20}")
#: ``fecha`` of the POST body: ``yyyy-MM-dd'T'HH:mm:ss`` with an offset (``-06:00``, ``-0600``) or ``Z``.
_FECHA_RE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})")


def fold(text: str) -> str:
    """Lower case without accents (``Recepción`` → ``recepcion``), for comparing Hacienda's free texts."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


def is_already_received(*texts: str | None) -> bool:
    """True when any of ``texts`` (an ``X-Error-Cause``, a response body) says Hacienda already received the
    document. The one place this is decided: the client turns such a 400 into an ``AlreadyReceived`` result
    and the worker resolves it by polling."""
    folded = fold(" ".join(t for t in texts if t))
    return any(marker in folded for marker in ALREADY_RECEIVED_MARKERS)


def status_key(clave: str, consecutivo_receptor: str | None) -> str:
    """The identifier of a submission: the clave, or ``clave-consecutivoReceptor`` for a MensajeReceptor."""
    return f"{clave}-{consecutivo_receptor}" if consecutivo_receptor else clave


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


def format_fecha(value: datetime) -> str:
    """``fecha`` as the POST body carries it: Costa Rica time, whole seconds, with its offset."""
    return value.astimezone(CR_TZ).replace(microsecond=0).isoformat()


class WireFormatError(ValueError):
    """A recepción body that breaks the API's contract; ``cause`` says why in Hacienda's words (what the
    recepción answers in ``X-Error-Cause``)."""

    def __init__(self, cause: str) -> None:
        super().__init__(cause)
        self.cause = cause


def _optional_text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def parties_json(
    clave: str, fecha: str, emisor: Identificacion, receptor: Identificacion | None
) -> dict[str, Any]:
    """How a ``POST /recepcion`` body and an item of ``GET /comprobantes`` begin: ``clave``, ``fecha``,
    ``emisor`` and, when there is one, ``receptor``."""
    body: dict[str, Any] = {"clave": clave, "fecha": fecha, "emisor": emisor.to_recepcion()}
    if receptor is not None:
        body["receptor"] = receptor.to_recepcion()
    return body


# -- POST /recepcion ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class RecepcionRequest:
    """The body of ``POST /recepcion``: ``clave``, ``fecha``, ``emisor``, ``receptor``, ``callbackUrl``,
    ``consecutivoReceptor`` (a MensajeReceptor) and ``comprobanteXml`` (Base64 of the signed document)."""

    clave: str
    #: As sent (see :func:`format_fecha`).
    fecha: str
    emisor: Identificacion
    receptor: Identificacion | None
    #: The signed document, exactly the bytes that were signed.
    comprobante_xml: bytes
    callback_url: str | None = None
    consecutivo_receptor: str | None = None

    @property
    def key(self) -> str:
        """``clave``, or ``clave-consecutivoReceptor`` for a MensajeReceptor (see :func:`status_key`)."""
        return status_key(self.clave, self.consecutivo_receptor)

    def to_json(self) -> dict[str, Any]:
        body = parties_json(self.clave, self.fecha, self.emisor, self.receptor)
        if self.callback_url is not None:
            body["callbackUrl"] = self.callback_url
        if self.consecutivo_receptor is not None:
            body["consecutivoReceptor"] = self.consecutivo_receptor
        body["comprobanteXml"] = base64.b64encode(self.comprobante_xml).decode("ascii")
        return body

    @classmethod
    def from_body(cls, body: bytes) -> RecepcionRequest:
        """Read the raw request body (UTF-8 JSON), see :meth:`from_json`."""
        try:
            data = json_loads(body, what="the recepción request body", max_bytes=MAX_RECEPCION_BODY_BYTES)
        except JSONInputError as exc:
            raise WireFormatError(f"El cuerpo de la solicitud no es un JSON válido ({exc.reason})") from None
        return cls.from_json(data)

    @classmethod
    def from_json(cls, data: object) -> RecepcionRequest:
        """Read and check a body as the recepción does; raise :class:`WireFormatError` with its cause."""
        if not isinstance(data, dict):
            raise WireFormatError("El cuerpo de la solicitud debe ser un objeto JSON")
        clave = data.get("clave")
        if not isinstance(clave, str) or CLAVE_RE.fullmatch(clave) is None:
            raise WireFormatError("El campo clave es requerido y debe tener 50 dígitos")
        fecha = data.get("fecha")
        if not isinstance(fecha, str) or _FECHA_RE.fullmatch(fecha) is None:
            raise WireFormatError(
                "El campo fecha es requerido y debe tener el formato yyyy-MM-dd'T'HH:mm:ssZ"
            )
        emisor = _identificacion(data.get("emisor"), "emisor")
        if emisor is None:
            raise WireFormatError("El campo emisor es requerido")
        receptor = _identificacion(data.get("receptor"), "receptor")
        callback = data.get("callbackUrl")
        if callback is not None and (
            not isinstance(callback, str) or urlsplit(callback).scheme not in {"http", "https"}
        ):
            raise WireFormatError("El campo callbackUrl no es una URL válida")
        consecutivo = data.get("consecutivoReceptor")
        if consecutivo is not None and (
            not isinstance(consecutivo, str) or CONSECUTIVO_RE.fullmatch(consecutivo) is None
        ):
            raise WireFormatError("El campo consecutivoReceptor debe tener 20 dígitos")
        xml_b64 = data.get("comprobanteXml")
        if not isinstance(xml_b64, str) or not xml_b64:
            raise WireFormatError("El campo comprobanteXml es requerido")
        try:
            xml = base64.b64decode(xml_b64, validate=True)
        except (binascii.Error, ValueError):
            raise WireFormatError("El campo comprobanteXml no está codificado en Base64") from None
        return cls(
            clave=clave,
            fecha=fecha,
            emisor=emisor,
            receptor=receptor,
            comprobante_xml=xml,
            callback_url=callback,
            consecutivo_receptor=consecutivo,
        )


def _identificacion(value: object, name: str) -> Identificacion | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise WireFormatError(f"El campo {name} debe ser un objeto")
    try:
        return Identificacion.from_recepcion(value, path=name)
    except ValidationError as exc:
        bad_tipo = any(p.path.endswith("tipoIdentificacion") for p in exc.problems)
        field = "tipoIdentificacion" if bad_tipo else "numeroIdentificacion"
        raise WireFormatError(f"El campo {name}.{field} no es válido") from None


# -- GET /recepcion/{clave} and callbacks -------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class StatusAnswer:
    """The answer of ``GET /recepcion/{clave}``, also the body of a callback: ``clave``, ``fecha``,
    ``ind-estado`` and, once processed, ``respuesta-xml`` (Base64 of Hacienda's signed MensajeHacienda).

    Reading is lenient about spelling (``ind-estado``/``indEstado``, ``respuesta-xml``/``respuestaXml``,
    upper-case states) and leaves out what is absent or not a string: what is required is the reader's call.
    """

    clave: str | None
    #: Lower case (``recibido``, ``procesando``, ``aceptado``, ``rechazado``, ``error``), None when absent.
    estado: str | None
    fecha: str | None = None
    #: As on the wire: Base64 (or XML text) of the MensajeHacienda, None before Hacienda has answered.
    respuesta_xml: str | None = None
    callback_url: str | None = None

    @staticmethod
    def encode_xml(xml: bytes) -> str:
        """``respuesta-xml`` of a signed MensajeHacienda."""
        return base64.b64encode(xml).decode("ascii")

    @property
    def final(self) -> bool:
        """``aceptado`` or ``rechazado``."""
        return self.estado in FINAL_ESTADOS

    def to_json(self, *, camel_case: bool = False, upper_case: bool = False) -> dict[str, object]:
        """Hyphenated keys as on the wire, or the Anexo 3 callback example's ``indEstado``/``respuestaXml``
        and upper-case states (``RECIBIDO``)."""
        estado_key, xml_key = ("indEstado", "respuestaXml") if camel_case else ("ind-estado", "respuesta-xml")
        estado = self.estado.upper() if upper_case and self.estado else self.estado
        body: dict[str, object] = {"clave": self.clave, "fecha": self.fecha, estado_key: estado}
        if self.respuesta_xml is not None:
            body[xml_key] = self.respuesta_xml
        if self.callback_url:
            body["callbackUrl"] = self.callback_url
        return body

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> StatusAnswer:
        keys = normalise_keys(data)
        estado = keys.get("indestado")
        respuesta = keys.get("respuestaxml")
        return cls(
            clave=_optional_text(keys.get("clave")),
            estado=estado.strip().lower() if isinstance(estado, str) and estado.strip() else None,
            fecha=_optional_text(keys.get("fecha")),
            respuesta_xml=respuesta if isinstance(respuesta, str) and respuesta.strip() else None,
            callback_url=_optional_text(keys.get("callbackurl")),
        )
