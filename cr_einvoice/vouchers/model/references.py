"""The other sections of a voucher: OtrosCargos, MedioPago, InformacionReferencia and Otros."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Annotated

from cr_einvoice.core.catalogs import (
    CodigoReferencia,
    TipoDocReferencia,
    TipoDocumentoOtrosCargos,
    TipoMedioPago,
)
from cr_einvoice.core.checks import Amount, Check, Checked, Code, Items, Moment, Part, Rate, Text
from cr_einvoice.core.identifiers import Identificacion

__all__ = ["InformacionReferencia", "MedioPago", "OtroCargo", "OtroContenido", "OtroTexto", "Otros"]


@dataclass(frozen=True, slots=True, kw_only=True)
class OtroCargo(Checked):
    """OtrosCargos entry (Nota 16). ``monto_cargo`` > 0; ``porcentaje_oc`` is informative (13 = 13 %)."""

    tipo_documento_oc: Annotated[TipoDocumentoOtrosCargos, Code()]
    detalle: Annotated[str, Text(max_len=160)]
    monto_cargo: Annotated[Decimal, Amount(positive=True)]
    tipo_documento_otros: Annotated[str | None, Text(min_len=5, max_len=100)] = None
    identificacion_tercero: Annotated[Identificacion | None, Part()] = None
    nombre_tercero: Annotated[str | None, Text(min_len=5, max_len=100)] = None
    porcentaje_oc: Annotated[Decimal | None, Rate(max_digits=9, decimals=5)] = None

    def check(self, c: Check) -> None:
        tipo = c.got("tipo_documento_oc", TipoDocumentoOtrosCargos)
        if tipo is TipoDocumentoOtrosCargos.OTROS and self.tipo_documento_otros is None:
            c.add("tipo_documento_otros", "is required with tipo_documento_oc 99")
        if tipo is TipoDocumentoOtrosCargos.COBRO_TERCERO:
            if self.identificacion_tercero is None:
                c.add("identificacion_tercero", "is required with tipo_documento_oc 04 (cobro de un tercero)")
            if self.nombre_tercero is None:
                c.add("nombre_tercero", "is required with tipo_documento_oc 04 (cobro de un tercero)")


@dataclass(frozen=True, slots=True, kw_only=True)
class MedioPago(Checked):
    """ResumenFactura/MedioPago. With a single means ``total_medio_pago`` defaults to TotalComprobante; with
    two or more each needs it and they must add up to TotalComprobante."""

    tipo_medio_pago: Annotated[TipoMedioPago, Code()]
    total_medio_pago: Annotated[Decimal | None, Amount(positive=True)] = None
    medio_pago_otros: Annotated[str | None, Text(min_len=3, max_len=100)] = None

    def check(self, c: Check) -> None:
        tipo = c.got("tipo_medio_pago", TipoMedioPago)
        if tipo is TipoMedioPago.OTROS and self.medio_pago_otros is None:
            c.add("medio_pago_otros", "is required with tipo_medio_pago 99")


@dataclass(frozen=True, slots=True, kw_only=True)
class InformacionReferencia(Checked):
    """InformacionReferencia: the referenced document (``numero`` = its clave or number) and why."""

    tipo_doc_ir: Annotated[TipoDocReferencia, Code()]
    fecha_emision_ir: Annotated[datetime, Moment()]
    numero: Annotated[str | None, Text(max_len=50)] = None
    codigo: Annotated[CodigoReferencia | None, Code()] = None
    razon: Annotated[str | None, Text(min_len=3, max_len=180)] = None
    tipo_doc_ref_otro: Annotated[str | None, Text(min_len=5, max_len=100)] = None
    codigo_referencia_otro: Annotated[str | None, Text(min_len=5, max_len=100)] = None

    def check(self, c: Check) -> None:
        tipo = c.got("tipo_doc_ir", TipoDocReferencia)
        numero = c.got("numero", str)
        codigo = c.got("codigo", CodigoReferencia)
        if tipo is not TipoDocReferencia.FACTURACION_MES_VENCIDO and tipo is not None:
            for name, value in (("numero", numero), ("codigo", codigo), ("razon", self.razon)):
                if value is None:
                    c.add(name, f"is required with tipo_doc_ir {tipo.value}")
        if tipo in _CLAVE_REFS and numero is not None and not re.fullmatch(r"\d{50}", numero):
            c.add(
                "numero",
                f"tipo_doc_ir {tipo.value} references an electronic voucher: give its 50-digit clave",
            )
        if tipo is TipoDocReferencia.OTROS and self.tipo_doc_ref_otro is None:
            c.add("tipo_doc_ref_otro", "is required with tipo_doc_ir 99")
        if codigo is CodigoReferencia.OTROS and self.codigo_referencia_otro is None:
            c.add("codigo_referencia_otro", "is required with codigo 99")


_CLAVE_REFS = frozenset(
    {
        TipoDocReferencia.FACTURA_ELECTRONICA,
        TipoDocReferencia.NOTA_DEBITO,
        TipoDocReferencia.NOTA_CREDITO,
        TipoDocReferencia.TIQUETE,
        TipoDocReferencia.DEVOLUCION_MERCADERIA,
        TipoDocReferencia.SUSTITUYE_RECHAZADA_POR_RECEPTOR,
        TipoDocReferencia.SUSTITUYE_FACTURA_EXPORTACION,
        TipoDocReferencia.SUSTITUYE_FACTURA_COMPRA,
    }
)


@dataclass(frozen=True, slots=True, kw_only=True)
class _OtroValor(Checked):
    """A text of at most 500 characters with an optional ``codigo`` attribute."""

    valor: Annotated[str, Text(min_len=0, max_len=500)]
    codigo: Annotated[str | None, Text()] = None


@dataclass(frozen=True, slots=True, kw_only=True)
class OtroTexto(_OtroValor):
    """Otros/OtroTexto: free text (≤500) with an optional ``codigo`` attribute."""


@dataclass(frozen=True, slots=True, kw_only=True)
class OtroContenido(_OtroValor):
    """Otros/OtroContenido: structured content as text (≤500) with an optional ``codigo`` attribute."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Otros(Checked):
    """Otros (commercial, not tax, information)."""

    otros_textos: Annotated[tuple[OtroTexto, ...], Items()] = ()
    otros_contenidos: Annotated[tuple[OtroContenido, ...], Items()] = ()
