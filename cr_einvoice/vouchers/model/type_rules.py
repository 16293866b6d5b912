"""What each document type's schema and Hacienda's rules allow, checked when a voucher is built.

The element sets of FE, ND, NC, TE, FEC, FEE and REP differ: :data:`CONDICIONES` is the table of the sale
conditions each type accepts; :func:`check_comprobante` runs the small per-section rules below on a
comprobante (FE, ND, NC, TE, FEC, FEE) and :func:`check_recibo` those of a Recibo Electrónico de Pago. The
rules read :class:`Kind` (the document's type, its class name and the three families whose schemas differ
most: FEC, FEE and the notes).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import ClassVar, Protocol

from cr_einvoice.core.catalogs import (
    CodigoMoneda,
    CodigoReferencia,
    CodigoTarifaIVA,
    CondicionVenta,
    TipoDocReferencia,
    TipoDocumento,
    TipoDocumentoOtrosCargos,
    TipoIdentificacion,
)
from cr_einvoice.core.checks import Check
from cr_einvoice.vouchers.compute import ImpuestoCalculado
from cr_einvoice.vouchers.model.lines import LineaDetalle, LineaPago
from cr_einvoice.vouchers.model.parties import Emisor, Receptor
from cr_einvoice.vouchers.model.references import InformacionReferencia, MedioPago, OtroCargo, Otros


class Comprobante(Protocol):
    """What the rules read of a FE, ND, NC, TE, FEC or FEE (:class:`~cr_einvoice.vouchers.model.documents.
    Comprobante`)."""

    TIPO: ClassVar[TipoDocumento]

    @property
    def emisor(self) -> Emisor: ...
    @property
    def receptor(self) -> Receptor | None: ...
    @property
    def codigo_actividad_emisor(self) -> str | None: ...
    @property
    def codigo_actividad_receptor(self) -> str | None: ...
    @property
    def condicion_venta(self) -> CondicionVenta: ...
    @property
    def condicion_venta_otros(self) -> str | None: ...
    @property
    def plazo_credito(self) -> int | None: ...
    @property
    def lineas(self) -> tuple[LineaDetalle, ...]: ...
    @property
    def otros_cargos(self) -> tuple[OtroCargo, ...]: ...
    @property
    def codigo_moneda(self) -> CodigoMoneda: ...
    @property
    def tipo_cambio(self) -> Decimal | None: ...
    @property
    def iva_devuelto_salud(self) -> bool: ...
    @property
    def referencias(self) -> tuple[InformacionReferencia, ...]: ...
    @property
    def otros(self) -> Otros | None: ...


class ReciboPago(Protocol):
    """What the rules read of a Recibo Electrónico de Pago."""

    @property
    def emisor(self) -> Emisor: ...
    @property
    def receptor(self) -> Receptor: ...
    @property
    def condicion_venta(self) -> CondicionVenta: ...
    @property
    def lineas(self) -> tuple[LineaPago, ...]: ...
    @property
    def medios_pago(self) -> tuple[MedioPago, ...]: ...
    @property
    def codigo_moneda(self) -> CodigoMoneda: ...
    @property
    def tipo_cambio(self) -> Decimal | None: ...
    @property
    def referencias(self) -> tuple[InformacionReferencia, ...]: ...


__all__ = ["CONDICIONES", "Kind", "check_comprobante", "check_recibo"]

_ALL = ("01", "02", "03", "04", "05", "06", "07", "08", "10", "13", "14", "15", "99")
#: CondicionVenta codes each document type accepts (12 in FE and the notes, 09/11 in the notes and REP only).
CONDICIONES: dict[TipoDocumento, frozenset[str]] = {
    TipoDocumento.FACTURA_ELECTRONICA: frozenset((*_ALL, "12")),
    TipoDocumento.TIQUETE: frozenset(_ALL),
    TipoDocumento.NOTA_CREDITO: frozenset((*_ALL, "09", "11", "12")),
    TipoDocumento.NOTA_DEBITO: frozenset((*_ALL, "09", "11", "12")),
    TipoDocumento.FACTURA_COMPRA: frozenset(_ALL),
    TipoDocumento.FACTURA_EXPORTACION: frozenset(_ALL),
    TipoDocumento.RECIBO_PAGO: frozenset({"09", "11"}),
}
#: Other charges that may stand in a document without lines.
_CARGOS_SIN_DETALLE = frozenset(
    {
        TipoDocumentoOtrosCargos.COBRO_TERCERO,
        TipoDocumentoOtrosCargos.DEPOSITOS_GARANTIA,
        TipoDocumentoOtrosCargos.MULTAS_PENALIZACIONES,
        TipoDocumentoOtrosCargos.INTERESES_MORATORIOS,
    }
)
_TAXPAYER_DIGITS = re.compile(r"\d{9,20}")
_NO_DOMICILIADO = TipoIdentificacion.EXTRANJERO_NO_DOMICILIADO
_NO_CONTRIBUYENTE = TipoIdentificacion.NO_CONTRIBUYENTE


@dataclass(frozen=True, slots=True)
class Kind:
    """A document type as its rules see it."""

    tipo: TipoDocumento
    name: str  # the model class, for messages

    @property
    def fec(self) -> bool:
        return self.tipo is TipoDocumento.FACTURA_COMPRA

    @property
    def fee(self) -> bool:
        return self.tipo is TipoDocumento.FACTURA_EXPORTACION

    @property
    def notas(self) -> bool:
        """Credit and debit notes (the only ones with the transitional IVA rates 05-07)."""
        return self.tipo in (TipoDocumento.NOTA_CREDITO, TipoDocumento.NOTA_DEBITO)

    @property
    def fec_or_fee(self) -> bool:
        """FacturaCompra and FacturaExportacion: no IVACobradoFabrica, DatosImpuestoEspecifico,
        ImpuestoAsumidoEmisorFabrica nor TotalIVADevuelto."""
        return self.fec or self.fee


@dataclass(frozen=True, slots=True)
class _Doc:
    """A comprobante under check."""

    c: Check
    doc: Comprobante
    k: Kind


def check_comprobante(c: Check, doc: Comprobante) -> None:
    """The per-type rules of FE, ND, NC, TE, FEC and FEE (the document's fields are already converted)."""
    d = _Doc(c, doc, Kind(doc.TIPO, type(doc).__name__))
    for rule in _RULES:
        rule(d)


# -- header -----------------------------------------------------------------------------------------------


def _actividades(d: _Doc) -> None:
    doc, k = d.doc, d.k
    if doc.codigo_actividad_emisor is None and k.tipo in (
        TipoDocumento.FACTURA_ELECTRONICA,
        TipoDocumento.TIQUETE,
        TipoDocumento.FACTURA_EXPORTACION,
    ):
        d.c.add("codigo_actividad_emisor", f"is required in {k.name}")
    if doc.codigo_actividad_receptor is not None and k.tipo in (
        TipoDocumento.TIQUETE,
        TipoDocumento.FACTURA_EXPORTACION,
    ):
        d.c.add("codigo_actividad_receptor", f"does not exist in {k.name}")
    if k.fec and doc.codigo_actividad_receptor is None:
        d.c.add("codigo_actividad_receptor", "is required in FacturaCompra (the buyer's activity)")


def _condicion(d: _Doc) -> None:
    c, condicion, plazo = d.c, d.doc.condicion_venta, d.doc.plazo_credito
    if condicion.value not in CONDICIONES[d.k.tipo]:
        c.add("condicion_venta", f"{condicion.value} is not allowed in {d.k.name}")
    otros_given = d.doc.condicion_venta_otros is not None
    if condicion is CondicionVenta.OTROS and not otros_given:
        c.add("condicion_venta_otros", "is required with condicion_venta 99")
    if condicion is not CondicionVenta.OTROS and otros_given:
        c.add("condicion_venta_otros", "is only used with condicion_venta 99")
    if condicion in (CondicionVenta.CREDITO, CondicionVenta.VENTA_CREDITO_IVA_90_DIAS) and not plazo:
        c.add("plazo_credito", f"is required (days, > 0) with condicion_venta {condicion.value}")
    if plazo is not None and plazo <= 0:
        c.add("plazo_credito", "must be greater than zero")


# -- parties ----------------------------------------------------------------------------------------------


def _emisor(d: _Doc) -> None:
    c, k, emisor = d.c, d.k, d.doc.emisor
    eid = emisor.identificacion
    if not emisor.correos_electronicos and not (k.fec or k.notas):
        c.add("emisor.correos_electronicos", f"at least one address is required in {k.name}")
    if emisor.ubicacion is None and not (k.fec or k.notas):
        c.add("emisor.ubicacion", f"is required in {k.name}")
    if emisor.otras_senas_extranjero is not None and not (k.fec and eid.tipo is _NO_DOMICILIADO):
        c.add("emisor.otras_senas_extranjero", "is only for a non-domiciled (05) emisor of a FacturaCompra")
    if eid.tipo is _NO_DOMICILIADO:
        if not k.fec:
            c.add(
                "emisor.identificacion.tipo",
                "05 (extranjero no domiciliado) may issue only in a FacturaCompra",
            )
        elif not any(r.tipo_doc_ir is TipoDocReferencia.PROVEEDOR_NO_DOMICILIADO for r in d.doc.referencias):
            c.add("referencias", "a non-domiciled (05) seller needs a reference with tipo_doc_ir 16")
    if eid.tipo is _NO_CONTRIBUYENTE and not (
        k.fec and d.doc.condicion_venta is CondicionVenta.VENTA_BIENES_USADOS_NO_CONTRIBUYENTE
    ):
        c.add(
            "emisor.identificacion.tipo",
            "06 (no contribuyente) may issue only a FacturaCompra with condicion_venta 13",
        )
    if k.fec and not _TAXPAYER_DIGITS.fullmatch(eid.numero):
        c.add("emisor.identificacion.numero", "the FacturaCompra schema requires 9 to 20 digits")


def _telefonos(d: _Doc) -> None:
    parties: tuple[tuple[Emisor | Receptor | None, str], ...] = (
        (d.doc.emisor, "emisor"),
        (d.doc.receptor, "receptor"),
    )
    for party, who in parties:
        tel = party.telefono if party is not None else None
        if d.k.fec_or_fee and tel is not None and len(tel.num_telefono) < 8:
            d.c.add(f"{who}.telefono.num_telefono", f"the {d.k.name} schema requires at least 8 digits")


def _receptor(d: _Doc) -> None:
    c, k, receptor = d.c, d.k, d.doc.receptor
    required = k.tipo in (TipoDocumento.FACTURA_ELECTRONICA, TipoDocumento.FACTURA_COMPRA)
    if receptor is None:
        if required:
            c.add("receptor", f"is required in {k.name}")
        return
    if receptor.identificacion is None and required:
        c.add("receptor.identificacion", f"is required in {k.name}")
    if k.fee and receptor.ubicacion is not None:
        c.add("receptor.ubicacion", "does not exist in FacturaExportacion (use otras_senas_extranjero)")
    if k.fec and receptor.otras_senas_extranjero is not None:
        c.add("receptor.otras_senas_extranjero", "does not exist in FacturaCompra")
    rtipo = receptor.identificacion.tipo if receptor.identificacion is not None else None
    if rtipo is _NO_DOMICILIADO:
        if k.fec:
            c.add("receptor.identificacion.tipo", "05 is not allowed as receptor of a FacturaCompra")
        if (
            k.tipo is TipoDocumento.FACTURA_ELECTRONICA
            and d.doc.condicion_venta is not CondicionVenta.VENTA_MERCANCIA_NO_NACIONALIZADA
        ):
            c.add(
                "receptor.identificacion.tipo",
                "05 as receptor of a FacturaElectronica needs condicion_venta 12",
            )
    if rtipo is _NO_CONTRIBUYENTE and k.fec:
        c.add("receptor.identificacion.tipo", "the buyer issuing a FacturaCompra must be a taxpayer")


# -- lines ------------------------------------------------------------------------------------------------


def _lineas(d: _Doc) -> None:
    c, k, cargos = d.c, d.k, d.doc.otros_cargos
    if not d.doc.lineas:
        if k.fec_or_fee:
            c.add("lineas", f"at least one line is required in {k.name}")
        elif not cargos or any(oc.tipo_documento_oc not in _CARGOS_SIN_DETALLE for oc in cargos):
            c.add(
                "lineas",
                "at least one line is required (only other charges 04, 08, 09 and 10 may stand alone)",
            )
    for i, ln in enumerate(d.doc.lineas):
        _linea(d, f"lineas[{i}]", ln)


def _linea(d: _Doc, p: str, ln: LineaDetalle) -> None:
    c, k = d.c, d.k
    if ln.tipo_transaccion is not None and k.tipo is TipoDocumento.TIQUETE:
        c.add(f"{p}.tipo_transaccion", "does not exist in Tiquete")
    if ln.partida_arancelaria is not None and not (k.fee or k.notas):
        c.add(f"{p}.partida_arancelaria", f"does not exist in {k.name}")
    if ln.iva_cobrado_fabrica is not None and k.fec_or_fee:
        c.add(f"{p}.iva_cobrado_fabrica", f"does not exist in {k.name}")
    if ln.base_imponible is not None and k.fee:
        c.add(f"{p}.base_imponible", "does not exist in FacturaExportacion")
    calc = ln.calculo
    if k.fee and not ln.surtido and _raised_iva_base(calc.base_imponible, calc.sub_total, calc.impuestos):
        c.add(
            f"{p}.impuestos",
            "FacturaExportacion has no BaseImponible: a tax 02/04/05/12 cannot raise the base of a taxed IVA "
            "there",
        )
    if ln.surtido:
        _combo(d, p, ln)
    elif ln.impuesto_iva is None:
        c.add(f"{p}.impuestos", "every line needs its IVA tax (codigo 01, 07 or 08; tarifa 10 when exempt)")
    for j, t in enumerate(ln.impuestos):
        q = f"{p}.impuestos[{j}]"
        _tarifa_solo_notas(d, f"{q}.codigo_tarifa_iva", t.codigo_tarifa_iva)
        if t.datos_impuesto_especifico is not None and k.fec_or_fee:
            c.add(f"{q}.datos_impuesto_especifico", f"does not exist in {k.name}")
        if t.exoneracion is not None and k.fee:
            c.add(f"{q}.exoneracion", "does not exist in FacturaExportacion")
        if t.monto_exportacion is not None and not (k.fee or k.notas):
            c.add(f"{q}.monto_exportacion", f"does not exist in {k.name}")
    if calc.impuesto_asumido_emisor_fabrica and k.fec_or_fee:
        c.add(f"{p}.descuentos", f"{k.name} has no ImpuestoAsumidoEmisorFabrica (regalía/bonificación)")


def _raised_iva_base(base: Decimal, sub_total: Decimal, impuestos: Sequence[ImpuestoCalculado]) -> bool:
    """A tax 02/04/05/12 raised the base of a taxed IVA (impossible where the schema has no base)."""
    return base != sub_total and any(t.codigo.es_iva and t.monto for t in impuestos)


def _tarifa_solo_notas(d: _Doc, path: str, ctar: CodigoTarifaIVA | None) -> None:
    if ctar is not None and ctar.solo_notas and not d.k.notas:
        d.c.add(path, f"{ctar.value} is only allowed in credit and debit notes")


def _combo(d: _Doc, p: str, ln: LineaDetalle) -> None:
    """Per-type restrictions of a combo line's components."""
    c, k = d.c, d.k
    if k.fec:
        c.add(f"{p}.surtido", "does not exist in FacturaCompra (DetalleSurtido)")
    for n, comp in enumerate(ln.surtido):
        q = f"{p}.surtido[{n}]"
        if not any(t.codigo_impuesto_surtido.es_iva for t in comp.impuestos_surtido):
            c.add(
                f"{q}.impuestos_surtido",
                "every component needs its IVA tax (codigo 01 or 07; tarifa 10 when exempt)",
            )
        if k.fee and comp.iva_cobrado_fabrica_surtido is not None:
            c.add(f"{q}.iva_cobrado_fabrica_surtido", f"does not exist in {k.name}")
        if k.fee and comp.base_imponible_surtido is not None:
            c.add(f"{q}.base_imponible_surtido", f"does not exist in {k.name}")
        for j, t in enumerate(comp.impuestos_surtido):
            tq = f"{q}.impuestos_surtido[{j}]"
            _tarifa_solo_notas(d, f"{tq}.codigo_tarifa_iva_surtido", t.codigo_tarifa_iva_surtido)
            if k.fee and t.datos_impuesto_especifico_surtido is not None:
                c.add(f"{tq}.datos_impuesto_especifico_surtido", f"does not exist in {k.name}")
        calc = comp.calculo
        if k.fee and _raised_iva_base(calc.base_imponible_surtido, calc.sub_total_surtido, calc.impuestos):
            c.add(
                f"{q}.impuestos_surtido",
                "FacturaExportacion has no BaseImponibleSurtido: a tax 02/04/05/12 cannot raise the base "
                "of a taxed IVA there",
            )


# -- other sections ---------------------------------------------------------------------------------------


def _cargos(d: _Doc) -> None:
    for i, oc in enumerate(d.doc.otros_cargos):
        tercero = oc.identificacion_tercero
        if tercero is not None and d.k.fec and not _TAXPAYER_DIGITS.fullmatch(tercero.numero):
            d.c.add(
                f"otros_cargos[{i}].identificacion_tercero.numero",
                "the FacturaCompra schema requires 9 to 20 digits",
            )


def _moneda(d: _Doc) -> None:
    _cambio_crc(d.c, d.doc.codigo_moneda, d.doc.tipo_cambio)


def _cambio_crc(c: Check, moneda: CodigoMoneda, cambio: object) -> None:
    if moneda is CodigoMoneda.CRC and cambio != 1:
        c.add("tipo_cambio", f"must be 1 for CRC, got {cambio}")


def _referencias(d: _Doc) -> None:
    c, k, refs = d.c, d.k, d.doc.referencias
    if len(refs) < (1 if (k.notas or k.fec) else 0):
        c.add("referencias", f"at least one InformacionReferencia is required in {k.name}")
    for i, r in enumerate(refs):
        if r.tipo_doc_ir is TipoDocReferencia.PROVEEDOR_NO_DOMICILIADO and not k.fec:
            c.add(f"referencias[{i}].tipo_doc_ir", "16 may be used only in a FacturaCompra")
        if r.codigo is CodigoReferencia.PAGO_COMPROBANTE_ELECTRONICO:
            c.add(
                f"referencias[{i}].codigo", "17 (pago a comprobante electrónico) is for the ReciboPago only"
            )


def _otros(d: _Doc) -> None:
    otros = d.doc.otros
    if (
        d.k.fec
        and otros is not None
        and any(o.codigo is not None for o in (*otros.otros_textos, *otros.otros_contenidos))
    ):
        d.c.add("otros", "the FacturaCompra schema has no codigo attribute on OtroTexto/OtroContenido")
    if d.doc.iva_devuelto_salud and d.k.fec_or_fee:
        d.c.add("iva_devuelto_salud", f"{d.k.name} has no TotalIVADevuelto")


_RULES: tuple[Callable[[_Doc], None], ...] = (
    _actividades,
    _condicion,
    _emisor,
    _telefonos,
    _receptor,
    _lineas,
    _cargos,
    _moneda,
    _referencias,
    _otros,
)


# -- Recibo Electrónico de Pago ---------------------------------------------------------------------------

#: What a ReciboPago may reference (TipoDocIR 01, 02, 03, 04, 08 and 20).
_REP_REFERENCIAS = frozenset(
    {
        TipoDocReferencia.FACTURA_ELECTRONICA,
        TipoDocReferencia.NOTA_DEBITO,
        TipoDocReferencia.NOTA_CREDITO,
        TipoDocReferencia.TIQUETE,
        TipoDocReferencia.COMPROBANTE_CONTINGENCIA,
        TipoDocReferencia.RECIBO_PAGO,
    }
)
_REP_SIN_EMISOR = (
    "ubicacion",
    "nombre_comercial",
    "registrofiscal8707",
    "telefono",
    "otras_senas_extranjero",
)
_REP_SIN_RECEPTOR = ("nombre_comercial", "ubicacion", "otras_senas_extranjero", "telefono")


def check_recibo(c: Check, doc: ReciboPago) -> None:
    """The rules of a Recibo Electrónico de Pago (its fields are already converted)."""
    emisor, receptor = doc.emisor, doc.receptor
    if doc.condicion_venta.value not in CONDICIONES[TipoDocumento.RECIBO_PAGO]:
        c.add("condicion_venta", f"{doc.condicion_venta.value} is not allowed in ReciboPago (09 or 11)")
    if not emisor.correos_electronicos:
        c.add("emisor.correos_electronicos", "at least one address is required in ReciboPago")
    for party, who, absent in (
        (emisor, "emisor", _REP_SIN_EMISOR),
        (receptor, "receptor", _REP_SIN_RECEPTOR),
    ):
        for attr in absent:
            if getattr(party, attr) is not None:
                c.add(f"{who}.{attr}", "does not exist in ReciboPago")
    if receptor.identificacion is None:
        c.add("receptor.identificacion", "is required in ReciboPago")
    elif receptor.identificacion.tipo is _NO_DOMICILIADO:
        c.add("receptor.identificacion.tipo", "05 is not allowed in ReciboPago")
    if not doc.medios_pago:
        c.add("medios_pago", "at least one payment means is required in ReciboPago")
    _cambio_crc(c, doc.codigo_moneda, doc.tipo_cambio)
    for i, r in enumerate(doc.referencias):
        if r.tipo_doc_ir not in _REP_REFERENCIAS:
            c.add(f"referencias[{i}].tipo_doc_ir", "a ReciboPago may reference only 01, 02, 03, 04, 08 or 20")
        if r.numero is None:
            c.add(f"referencias[{i}].numero", "is required in ReciboPago")
    for i, ln in enumerate(doc.lineas):
        for j, t in enumerate(ln.impuestos):
            if t.codigo_tarifa_iva is not None and t.codigo_tarifa_iva.solo_notas:
                c.add(
                    f"lineas[{i}].impuestos[{j}].codigo_tarifa_iva",
                    "05-07 are only for credit and debit notes",
                )
