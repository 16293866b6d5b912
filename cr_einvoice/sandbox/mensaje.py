"""Hacienda's answer: DetalleMensaje text and the MensajeHacienda v4.4 document, serialized as Hacienda does.

Serialization observed in 2026: the XML declaration immediately followed by the root (only the default
namespace declared), children on their own lines indented by four spaces, LF line ends, and -- once signed --
the ``ds:Signature`` at column 0 right after ``TotalFactura``, closing the root with no trailing newline.
DetalleMensaje lines that end in a carriage return carry it as the character reference ``&#13;``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from xml.sax.saxutils import escape

__all__ = [
    "MENSAJE_HACIENDA_NS",
    "Finding",
    "MensajeHaciendaData",
    "detalle_mensaje",
    "format_total",
    "render_mensaje_hacienda",
]

MENSAJE_HACIENDA_NS = "https://cdn.comprobanteselectronicos.go.cr/xml-schemas/v4.4/mensajeHacienda"
CR = "\r"
HEADER_ROW = "codigo, mensaje, fila, columna"
ERRORS_INTRO = "El comprobante electrónico tiene los siguientes errores: "


@dataclass(frozen=True, slots=True)
class Finding:
    """One line of DetalleMensaje.

    ``code`` None is a bare message (signature problems); otherwise a coded row
    ``codigo, ""mensaje"", fila, columna``. ``warning`` findings do not reject the voucher.
    """

    code: int | None
    message: str
    fila: int = 0
    columna: int = 0
    warning: bool = False

    def row(self) -> str:
        if self.code is None:
            return self.message
        return f'{self.code}, ""{self.message}"", {self.fila}, {self.columna}'


def detalle_mensaje(prefix: str, findings: Sequence[Finding], *, accepted: bool) -> str:
    """The DetalleMensaje text (with real CR characters) in the 2026 sandbox layout.

    * accepted, no findings: ``prefix LF LF``;
    * accepted with warnings: ``prefix LF LF header CR LF (row CR LF)*``;
    * rejected with coded rows: ``prefix LF LF intro CR LF [ CR LF header CR LF (row CR LF)* CR LF ]``;
    * rejected by a bare message (signature): ``prefix LF LF intro CR LF [ CR LF message CR LF ]``.
    """
    head = f"{prefix}\n\n" if prefix else ""
    if accepted:
        if not findings:
            return head
        rows = "".join(f"{f.row()}{CR}\n" for f in findings)
        return f"{head}{HEADER_ROW}{CR}\n{rows}"
    bare = [f for f in findings if f.code is None]
    if bare:
        lines = "".join(f"{f.message}{CR}\n" for f in bare)
        return f"{head}{ERRORS_INTRO}{CR}\n[{CR}\n{lines}]"
    rows = "".join(f"{f.row()}{CR}\n" for f in findings)
    return f"{head}{ERRORS_INTRO}{CR}\n[{CR}\n{HEADER_ROW}{CR}\n{rows}{CR}\n]"


def format_total(value: str | Decimal | None) -> str:
    """TotalFactura as Hacienda writes it: the voucher's total with five decimals (``1000.00000``)."""
    if value is None:
        return "0"
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        return "0"
    if not amount.is_finite():
        return "0"
    return f"{amount.quantize(Decimal('0.00001')):f}"


def format_tax(value: str | Decimal | None) -> str | None:
    """MontoTotalImpuesto: ``0`` for a voucher without tax (as observed), else five decimals."""
    if value is None:
        return None
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    if not amount.is_finite():
        return None
    if amount == 0:
        return "0"
    return f"{amount.quantize(Decimal('0.00001')):f}"


@dataclass(frozen=True, slots=True)
class MensajeHaciendaData:
    clave: str
    nombre_emisor: str
    tipo_identificacion_emisor: str
    numero_cedula_emisor: str
    mensaje: int  # 1 aceptado, 3 rechazado
    detalle: str
    total_factura: str
    nombre_receptor: str | None = None
    tipo_identificacion_receptor: str | None = None
    numero_cedula_receptor: str | None = None
    monto_total_impuesto: str | None = None

    @property
    def estado(self) -> str:
        return "Aceptado" if self.mensaje == 1 else "Rechazado"


def _text(value: str) -> str:
    # Character data as Hacienda serializes it: &, <, > escaped, CR as a character reference.
    return escape(value).replace("\r", "&#13;")


def render_mensaje_hacienda(data: MensajeHaciendaData) -> bytes:
    """The unsigned MensajeHacienda v4.4, ready for the signer (which appends ``ds:Signature``)."""
    parts: list[tuple[str, str | None]] = [
        ("Clave", data.clave),
        ("NombreEmisor", data.nombre_emisor[:100]),
        ("TipoIdentificacionEmisor", data.tipo_identificacion_emisor),
        ("NumeroCedulaEmisor", data.numero_cedula_emisor[:20]),
        ("NombreReceptor", data.nombre_receptor[:100] if data.nombre_receptor is not None else None),
        ("TipoIdentificacionReceptor", data.tipo_identificacion_receptor),
        ("NumeroCedulaReceptor", data.numero_cedula_receptor[:20] if data.numero_cedula_receptor else None),
        ("Mensaje", str(data.mensaje)),
        ("EstadoMensaje", data.estado),
        ("DetalleMensaje", data.detalle),
        ("MontoTotalImpuesto", data.monto_total_impuesto),
        ("TotalFactura", data.total_factura),
    ]
    body = "".join(f"\n    <{tag}>{_text(value)}</{tag}>" for tag, value in parts if value is not None)
    head = f'<?xml version="1.0" encoding="UTF-8"?><MensajeHacienda xmlns="{MENSAJE_HACIENDA_NS}">'
    doc = f"{head}{body}\n</MensajeHacienda>"
    return doc.encode("utf-8")
