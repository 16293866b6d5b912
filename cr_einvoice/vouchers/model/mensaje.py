"""MensajeReceptor: the buyer's acceptance (05), partial acceptance (06) or rejection (07) of a voucher."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Annotated, ClassVar

from cr_einvoice.core.catalogs import MENSAJE_RECEPTOR, CondicionImpuesto, Mensaje, TipoDocumento
from cr_einvoice.core.checks import Amount, Check, Checked, Code, Pattern, Text
from cr_einvoice.core.errors import Problem
from cr_einvoice.vouchers.model.numbering import check_numbering, missing_numbering
from cr_einvoice.vouchers.model.summary import StatedTotals

__all__ = ["MensajeReceptor"]


@dataclass(frozen=True, slots=True, kw_only=True)
class MensajeReceptor(Checked):
    """MensajeReceptor: the buyer's confirmation (Mensaje 1 → type 05, 2 → 06, 3 → 07) of a voucher whose
    ``clave`` it carries. Numbering: ``with_numbering(consecutivo=..., fecha_emision=..., clave=None)`` sets
    NumeroConsecutivoReceptor and FechaEmisionDoc (``clave`` stays the confirmed voucher's unless given)."""

    ROOT: ClassVar[str] = MENSAJE_RECEPTOR

    clave: Annotated[str, Pattern(r"\d{50}", "the 50-digit clave of the confirmed voucher")]
    numero_cedula_emisor: Annotated[str, Text(max_len=20)]
    mensaje: Annotated[Mensaje, Code()]
    total_factura: Annotated[Decimal, Amount()]
    numero_cedula_receptor: Annotated[str, Pattern(r"\d{9,12}", "9 to 12 digits")]
    detalle_mensaje: Annotated[str | None, Text(min_len=5, max_len=160)] = None
    monto_total_impuesto: Annotated[Decimal | None, Amount()] = None
    codigo_actividad: Annotated[str | None, Pattern(r"\S{6}", "6 characters")] = None
    condicion_impuesto: Annotated[CondicionImpuesto | None, Code()] = None
    monto_total_impuesto_acreditar: Annotated[Decimal | None, Amount()] = None
    monto_total_de_gasto_aplicable: Annotated[Decimal | None, Amount()] = None
    fecha_emision_doc: datetime | None = None
    numero_consecutivo_receptor: str | None = None
    stated: StatedTotals | None = field(default=None, compare=False, repr=False)

    @property
    def tipo(self) -> TipoDocumento:
        return self.mensaje.tipo_documento

    def missing_numbering(self) -> list[Problem]:
        return missing_numbering(self, ("numero_consecutivo_receptor", "fecha_emision_doc"))

    def with_numbering(
        self, *, consecutivo: object, fecha_emision: datetime, clave: object | None = None
    ) -> MensajeReceptor:
        return dataclasses.replace(
            self,
            numero_consecutivo_receptor=str(consecutivo),
            fecha_emision_doc=fecha_emision,
            clave=self.clave if clave is None else str(clave),
        )

    def __post_init__(self) -> None:
        """A clave given as a number becomes text and a short activity code is zero-padded before the
        declared checks run."""
        raw_clave: object = self.clave
        if raw_clave is not None and not isinstance(raw_clave, str):
            object.__setattr__(self, "clave", str(raw_clave))
        codigo = self.codigo_actividad
        if isinstance(codigo, str) and codigo.isdigit() and len(codigo) < 6:
            object.__setattr__(self, "codigo_actividad", codigo.rjust(6, "0"))
        Checked.__post_init__(self)

    def check(self, c: Check) -> None:
        mensaje = c.got("mensaje", Mensaje)
        detalle = c.got("detalle_mensaje", str)
        condicion = c.got("condicion_impuesto", CondicionImpuesto)
        acreditar = c.got("monto_total_impuesto_acreditar", Decimal)
        gasto = c.got("monto_total_de_gasto_aplicable", Decimal)
        check_numbering(
            c,
            mensaje.tipo_documento if mensaje else TipoDocumento.CONFIRMACION_ACEPTACION,
            None,
            consecutivo_field="numero_consecutivo_receptor",
            fecha_field="fecha_emision_doc",
        )
        if mensaje in (Mensaje.ACEPTACION_PARCIAL, Mensaje.RECHAZADO) and detalle is None:
            c.add("detalle_mensaje", "is required (the reason) for a partial acceptance or a rejection")
        if condicion is CondicionImpuesto.PROPORCIONALIDAD and self.codigo_actividad is not None:
            c.add("codigo_actividad", "is omitted when proportionality (condicion_impuesto 05) applies")
        if mensaje is Mensaje.RECHAZADO and (acreditar is not None or gasto is not None):
            c.add("monto_total_impuesto_acreditar", "is not used in a rejection")
