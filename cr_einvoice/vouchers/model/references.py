"""The other sections of a voucher: OtrosCargos, MedioPago, InformacionReferencia and Otros."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from cr_einvoice.core.catalogs import (
    CodigoReferencia,
    TipoDocReferencia,
    TipoDocumentoOtrosCargos,
    TipoMedioPago,
)
from cr_einvoice.core.checks import Check
from cr_einvoice.core.identifiers import Identificacion

__all__ = ["InformacionReferencia", "MedioPago", "OtroCargo", "OtroContenido", "OtroTexto", "Otros"]


@dataclass(frozen=True, slots=True, kw_only=True)
class OtroCargo:
    """OtrosCargos entry (Nota 16). ``monto_cargo`` > 0; ``porcentaje_oc`` is informative (13 = 13 %)."""

    tipo_documento_oc: TipoDocumentoOtrosCargos
    detalle: str
    monto_cargo: Decimal
    tipo_documento_otros: str | None = None
    identificacion_tercero: Identificacion | None = None
    nombre_tercero: str | None = None
    porcentaje_oc: Decimal | None = None

    def __post_init__(self) -> None:
        c = Check(self)
        tipo = c.enum("tipo_documento_oc", TipoDocumentoOtrosCargos)
        c.text("detalle", max_len=160)
        c.amount("monto_cargo", positive=True)
        c.text("tipo_documento_otros", min_len=5, max_len=100, optional=True)
        c.instance("identificacion_tercero", Identificacion, optional=True)
        c.text("nombre_tercero", min_len=5, max_len=100, optional=True)
        c.rate("porcentaje_oc", max_digits=9, decimals=5)
        if tipo is TipoDocumentoOtrosCargos.OTROS and self.tipo_documento_otros is None:
            c.add("tipo_documento_otros", "is required with tipo_documento_oc 99")
        if tipo is TipoDocumentoOtrosCargos.COBRO_TERCERO:
            if self.identificacion_tercero is None:
                c.add("identificacion_tercero", "is required with tipo_documento_oc 04 (cobro de un tercero)")
            if self.nombre_tercero is None:
                c.add("nombre_tercero", "is required with tipo_documento_oc 04 (cobro de un tercero)")
        c.done()


@dataclass(frozen=True, slots=True, kw_only=True)
class MedioPago:
    """ResumenFactura/MedioPago. With a single means ``total_medio_pago`` defaults to TotalComprobante; with
    two or more each needs it and they must add up to TotalComprobante."""

    tipo_medio_pago: TipoMedioPago
    total_medio_pago: Decimal | None = None
    medio_pago_otros: str | None = None

    def __post_init__(self) -> None:
        c = Check(self)
        tipo = c.enum("tipo_medio_pago", TipoMedioPago)
        c.amount("total_medio_pago", optional=True, positive=True)
        c.text("medio_pago_otros", min_len=3, max_len=100, optional=True)
        if tipo is TipoMedioPago.OTROS and self.medio_pago_otros is None:
            c.add("medio_pago_otros", "is required with tipo_medio_pago 99")
        c.done()


@dataclass(frozen=True, slots=True, kw_only=True)
class InformacionReferencia:
    """InformacionReferencia: the referenced document (``numero`` = its clave or number) and why."""

    tipo_doc_ir: TipoDocReferencia
    fecha_emision_ir: datetime
    numero: str | None = None
    codigo: CodigoReferencia | None = None
    razon: str | None = None
    tipo_doc_ref_otro: str | None = None
    codigo_referencia_otro: str | None = None

    def __post_init__(self) -> None:
        c = Check(self)
        tipo = c.enum("tipo_doc_ir", TipoDocReferencia)
        c.moment("fecha_emision_ir")
        numero = c.text("numero", max_len=50, optional=True)
        codigo = c.enum("codigo", CodigoReferencia, optional=True)
        c.text("razon", min_len=3, max_len=180, optional=True)
        c.text("tipo_doc_ref_otro", min_len=5, max_len=100, optional=True)
        c.text("codigo_referencia_otro", min_len=5, max_len=100, optional=True)
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
        c.done()


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
class _OtroValor:
    """A text of at most 500 characters with an optional ``codigo`` attribute."""

    valor: str
    codigo: str | None = None

    def __post_init__(self) -> None:
        c = Check(self)
        c.text("valor", min_len=0, max_len=500)
        c.text("codigo", optional=True)
        c.done()


@dataclass(frozen=True, slots=True, kw_only=True)
class OtroTexto(_OtroValor):
    """Otros/OtroTexto: free text (≤500) with an optional ``codigo`` attribute."""


@dataclass(frozen=True, slots=True, kw_only=True)
class OtroContenido(_OtroValor):
    """Otros/OtroContenido: structured content as text (≤500) with an optional ``codigo`` attribute."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Otros:
    """Otros (commercial, not tax, information)."""

    otros_textos: tuple[OtroTexto, ...] = ()
    otros_contenidos: tuple[OtroContenido, ...] = ()

    def __post_init__(self) -> None:
        c = Check(self)
        c.items("otros_textos", OtroTexto)
        c.items("otros_contenidos", OtroContenido)
        c.done()
