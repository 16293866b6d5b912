"""Hacienda's answer (MensajeHacienda v4.4 and v4.3): decoding, DetalleMensaje parsing, signature check.

:func:`decode_respuesta` takes what ``GET /recepcion/{clave}`` or a callback carries in ``respuesta-xml``
(Base64) or the XML itself, parses it with the hardened parser, and by default verifies Hacienda's XAdES-BES
signature with :func:`cr_einvoice.signing.xades.verify`, expecting the seal's serialNumber
``CPJ-2-100-042005`` and, unless another ``trust`` is named (the simulator's TEST CA), a chain to the bundled
Costa Rica national PKI (:func:`cr_einvoice.signing.xades.hacienda_trust`). A signature that is valid but does
not chain raises :class:`~cr_einvoice.signing.xades.SignatureNotTrustedError` (``.result`` describes it). The
result is a frozen :class:`Respuesta`.

DetalleMensaje is free text; :func:`parse_detalle_mensaje` splits it into :class:`DetalleError` rows and
tolerates every form seen so far: the three sandbox preambles (recognised and stripped), coded rows
``codigo, ""mensaje"", fila, columna`` with doubled or single quotes, CRLF or LF line ends, a missing
``codigo, mensaje, fila, columna`` header, and bare messages (signature problems) inside ``[ ... ]``.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING

from lxml import etree

from cr_einvoice.core.catalogs import MENSAJE_HACIENDA
from cr_einvoice.core.errors import Problem, SignatureError, ValidationError, VerificationError, XMLParseError
from cr_einvoice.core.xmlsafe import local_name, parse_untrusted
from cr_einvoice.hacienda.environments import HACIENDA_SELLO_CEDULA
from cr_einvoice.hacienda.wire import CLAVE_RE, Estado

if TYPE_CHECKING:
    from cr_einvoice.signing.xades import TrustStore, VerificationResult

__all__ = [
    "SANDBOX_PREAMBLES",
    "DetalleError",
    "DetalleMensaje",
    "Respuesta",
    "RespuestaMismatchError",
    "decode_respuesta",
    "parse_detalle_mensaje",
    "verify_respuesta",
]

#: The first line of DetalleMensaje in the sandbox, by era (2026 v4.4, up to v4.3, reported).
SANDBOX_PREAMBLES: tuple[str, ...] = (
    "Este comprobante fue recibido en el ambiente de pruebas, por lo cual no tiene validez para fines "
    "tributarios.",
    "Este comprobante fue aceptado en el ambiente de pruebas, por lo cual no tiene validez para fines "
    "tributarios",
    "Este comprobante fue procesado en el ambiente de pruebas, por lo cual no tiene validez para fines "
    "tributarios.",
)
_PREAMBLE_KEYS = {p.rstrip(".").casefold(): p for p in SANDBOX_PREAMBLES}

_ROW = re.compile(r"^(-?\d+)\s*,\s*(.*?)\s*,\s*(-?\d+)\s*,\s*(-?\d+)$")
_HEADER = re.compile(r"^codigo\s*,\s*mensaje\s*,\s*fila\s*,\s*columna$", re.IGNORECASE)
_INTRO = re.compile(
    r"^el comprobante electr[oó]nico tiene los siguientes errores\s*:?\s*(\[)?$", re.IGNORECASE
)
_VERSION = re.compile(r"/v(\d+\.\d+)/mensajeHacienda$", re.IGNORECASE)
_MAX_RESPUESTA_BYTES = 2 * 1024 * 1024


class RespuestaMismatchError(VerificationError):
    """A correctly signed MensajeHacienda that is about another voucher than the one asked for."""


@dataclass(frozen=True, slots=True)
class DetalleError:
    """One finding in DetalleMensaje: a coded row (``codigo``, ``fila``, ``columna`` set) or a bare message
    (``codigo`` None), such as a signature problem. A finding can be a warning in an accepted answer."""

    codigo: int | None
    mensaje: str
    fila: int | None = None
    columna: int | None = None

    def __str__(self) -> str:
        if self.codigo is None:
            return self.mensaje
        return f"[{self.codigo}] {self.mensaje} (fila {self.fila}, columna {self.columna})"


@dataclass(frozen=True, slots=True)
class DetalleMensaje:
    """DetalleMensaje split into its parts."""

    texto: str
    errores: tuple[DetalleError, ...]
    #: The sandbox preamble line exactly as Hacienda wrote it, or None (production, or none present).
    preambulo: str | None = None


def _unquote(text: str) -> str:
    if len(text) >= 4 and text.startswith('""') and text.endswith('""'):
        return text[2:-2]
    if len(text) >= 2 and text.startswith('"') and text.endswith('"'):
        return text[1:-1]
    return text


def parse_detalle_mensaje(text: str | None) -> DetalleMensaje:
    """Split DetalleMensaje into findings (see the module docstring for the forms accepted)."""
    raw = text or ""
    lines = [line.strip() for line in re.split(r"\r\n|\r|\n", raw)]
    preambulo: str | None = None
    errores: list[DetalleError] = []
    first = True
    for text_line in lines:
        line = text_line
        if not line:
            continue
        if first:
            first = False
            match = _PREAMBLE_KEYS.get(line.rstrip(".").casefold())
            if match is not None:
                preambulo = line
                continue
        if line in {"[", "]"} or _HEADER.match(line) or _INTRO.match(line):
            continue
        if len(line) > 2 and line.startswith("[") and line.endswith("]"):
            line = line[1:-1].strip()
        row = _ROW.match(line)
        if row is not None:
            errores.append(
                DetalleError(
                    codigo=int(row.group(1)),
                    mensaje=_unquote(row.group(2)),
                    fila=int(row.group(3)),
                    columna=int(row.group(4)),
                )
            )
        else:
            errores.append(DetalleError(codigo=None, mensaje=line))
    return DetalleMensaje(texto=raw, errores=tuple(errores), preambulo=preambulo)


@dataclass(frozen=True, slots=True)
class Respuesta:
    """A decoded MensajeHacienda. ``signature`` is set when Hacienda's signature was verified."""

    clave: str
    nombre_emisor: str | None
    tipo_identificacion_emisor: str | None
    numero_cedula_emisor: str | None
    nombre_receptor: str | None
    tipo_identificacion_receptor: str | None
    numero_cedula_receptor: str | None
    #: 1 aceptado, 3 rechazado.
    mensaje: int
    #: "Aceptado" / "Rechazado" (v4.4 only; None in v4.3).
    estado_mensaje: str | None
    detalle_mensaje: str
    monto_total_impuesto: Decimal | None
    total_factura: Decimal | None
    errores: tuple[DetalleError, ...]
    #: The sandbox preamble line, when DetalleMensaje started with one.
    preambulo: str | None
    #: "4.4" or "4.3" (from the namespace).
    version: str | None
    #: The exact XML bytes (what the signature covers).
    xml: bytes = field(repr=False)
    signature: VerificationResult | None = field(default=None, repr=False)

    @property
    def estado(self) -> str:
        """``aceptado`` or ``rechazado`` (lower case, like ``ind-estado``)."""
        if self.estado_mensaje:
            return self.estado_mensaje.strip().lower()
        return {1: Estado.ACEPTADO.value, 2: "aceptado parcialmente", 3: Estado.RECHAZADO.value}.get(
            self.mensaje, str(self.mensaje)
        )

    @property
    def aceptado(self) -> bool:
        return self.mensaje == 1

    @property
    def ambiente_pruebas(self) -> bool:
        """True when the sandbox preamble was present (the answer has no fiscal validity)."""
        return self.preambulo is not None

    @property
    def verified(self) -> bool:
        return self.signature is not None

    @property
    def trusted(self) -> bool:
        """True when Hacienda's signature verified and chained to the trust anchors."""
        return self.signature is not None and self.signature.trusted


def respuesta_bytes(data: bytes | str, *, what: str = "respuesta") -> bytes:
    """The XML bytes of ``data``: raw XML (bytes or str) or its Base64 encoding."""
    raw = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    stripped = raw.lstrip()
    if stripped.startswith(b"\xef\xbb\xbf"):
        stripped = stripped[3:]
    if stripped.startswith(b"<"):
        return raw
    compact = b"".join(raw.split())
    if len(compact) > _MAX_RESPUESTA_BYTES * 4 // 3 + 4:
        raise XMLParseError(f"{what} is too large ({len(compact)} bytes of Base64)")
    try:
        decoded = base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        raise XMLParseError(f"{what} is neither XML nor valid Base64") from None
    if not decoded.lstrip().lstrip(b"\xef\xbb\xbf").startswith(b"<"):
        raise XMLParseError(f"{what}: the Base64 content is not XML")
    return decoded


def _children(root: etree._Element) -> dict[str, str]:
    values: dict[str, str] = {}
    for child in root:
        name = local_name(child.tag)
        if name and name not in values:
            values[name] = child.text or ""
    return values


def _decimal(values: dict[str, str], name: str, problems: list[Problem]) -> Decimal | None:
    text = values.get(name)
    if text is None or not text.strip():
        return None
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        problems.append(Problem(f"MensajeHacienda/{name}", f"not a number: {text.strip()!r}"))
        return None
    if not value.is_finite():
        problems.append(Problem(f"MensajeHacienda/{name}", f"not a finite number: {text.strip()!r}"))
        return None
    return value


def _optional(values: dict[str, str], name: str) -> str | None:
    text = values.get(name)
    return text.strip() if text is not None else None


def parse_respuesta(xml: bytes) -> Respuesta:
    """Parse MensajeHacienda XML bytes without checking the signature."""
    return _respuesta_of(_read(xml), xml)


def _read(xml: bytes) -> etree._Element:
    return parse_untrusted(xml, max_bytes=_MAX_RESPUESTA_BYTES, what="Hacienda's respuesta (MensajeHacienda)")


def _respuesta_of(root: etree._Element, xml: bytes) -> Respuesta:
    """The fields of the MensajeHacienda ``root``, read from ``xml``."""
    qname = etree.QName(root.tag)
    if qname.localname != MENSAJE_HACIENDA:
        raise ValidationError(
            f"expected a MensajeHacienda document, got <{qname.localname}>", path="MensajeHacienda"
        )
    version_match = _VERSION.search(qname.namespace or "")
    values = _children(root)
    problems: list[Problem] = []
    clave = (values.get("Clave") or "").strip()
    if not CLAVE_RE.fullmatch(clave):
        problems.append(Problem("MensajeHacienda/Clave", f"not a 50-digit clave: {clave!r}"))
    mensaje_text = (values.get("Mensaje") or "").strip()
    try:
        mensaje = int(mensaje_text)
    except ValueError:
        problems.append(Problem("MensajeHacienda/Mensaje", f"not an integer: {mensaje_text!r}"))
        mensaje = 0
    monto = _decimal(values, "MontoTotalImpuesto", problems)
    total = _decimal(values, "TotalFactura", problems)
    if problems:
        raise ValidationError(problems)
    detalle = parse_detalle_mensaje(values.get("DetalleMensaje"))
    return Respuesta(
        clave=clave,
        nombre_emisor=_optional(values, "NombreEmisor"),
        tipo_identificacion_emisor=_optional(values, "TipoIdentificacionEmisor"),
        numero_cedula_emisor=_optional(values, "NumeroCedulaEmisor"),
        nombre_receptor=_optional(values, "NombreReceptor"),
        tipo_identificacion_receptor=_optional(values, "TipoIdentificacionReceptor"),
        numero_cedula_receptor=_optional(values, "NumeroCedulaReceptor"),
        mensaje=mensaje,
        estado_mensaje=_optional(values, "EstadoMensaje"),
        detalle_mensaje=detalle.texto,
        monto_total_impuesto=monto,
        total_factura=total,
        errores=detalle.errores,
        preambulo=detalle.preambulo,
        version=version_match.group(1) if version_match else None,
        xml=xml,
    )


def verify_respuesta(
    respuesta: Respuesta | bytes,
    trust: TrustStore | None = None,
    *,
    expected_cedula: str | None = HACIENDA_SELLO_CEDULA,
) -> VerificationResult:
    """Verify Hacienda's XAdES-BES signature on a MensajeHacienda; raise a ``VerificationError`` subclass.

    ``trust`` anchors the seal's certificate chain (Hacienda's KeyInfo carries the leaf only); None means the
    default, the bundled national PKI with Hacienda's seal as the leaf (:func:`hacienda_trust`). A valid
    signature that does not chain raises ``SignatureNotTrustedError`` ("signature valid but not trusted").
    """
    xml = respuesta.xml if isinstance(respuesta, Respuesta) else respuesta
    return _verified(xml, trust, expected_cedula)


def _verified(
    document: bytes | etree._Element, trust: TrustStore | None, expected_cedula: str | None
) -> VerificationResult:
    """Hacienda's signature on ``document`` (bytes, or the tree :func:`_read` made of them) verified."""
    try:
        from cr_einvoice.signing import xades
    except ImportError as exc:  # pragma: no cover - the package ships xades
        raise SignatureError(
            "cr_einvoice.signing.xades is not available to verify Hacienda's signature"
        ) from exc
    anchors = trust if trust is not None else xades.hacienda_trust()
    if isinstance(document, bytes):
        return xades.verify(document, anchors, expected_cedula=expected_cedula, require_policy=False)
    return xades.verify_tree(document, anchors, expected_cedula=expected_cedula, require_policy=False)


def decode_respuesta(
    data: bytes | str,
    *,
    trust: TrustStore | None = None,
    verify: bool = True,
    expected_cedula: str | None = HACIENDA_SELLO_CEDULA,
    expected_clave: str | None = None,
) -> Respuesta:
    """Decode a MensajeHacienda (Base64 or XML) and, unless ``verify=False``, verify Hacienda's signature.

    Raises :class:`~cr_einvoice.core.errors.XMLParseError` for undecodable input,
    :class:`~cr_einvoice.core.errors.ValidationError` for a document that is not a usable MensajeHacienda, a
    ``VerificationError`` subclass when the signature does not verify (``SignatureNotTrustedError`` when it is
    valid but does not chain to ``trust``, default the national PKI), and :class:`RespuestaMismatchError`
    when ``expected_clave`` is given and the answer concerns another voucher.
    """
    xml = respuesta_bytes(data)
    root = _read(xml)
    respuesta = _respuesta_of(root, xml)
    if expected_clave is not None and respuesta.clave != expected_clave.split("-", 1)[0]:
        raise RespuestaMismatchError(
            f"Hacienda's respuesta is about clave {respuesta.clave}, not {expected_clave}"
        )
    if not verify:
        return respuesta
    # The tree just read is the one verified: the bytes are parsed once.
    return replace(respuesta, signature=_verified(root, trust, expected_cedula))
