"""Model → v4.4 XML: elements in the official schema order, each type in its own namespace.

Amounts carry 5 decimals, quantities 3, rates 2 (more only when needed); dates are written in Costa Rica time
with the explicit ``-06:00`` offset. No ``ds:Signature`` is written: the signer appends it to these bytes.

The document is written as text, element after element (the escaping and the empty-element form libxml2's
serialiser uses), and :func:`to_element` parses those bytes once: creating the elements one by one through
lxml costs several times more. ``to_xml(doc)`` and ``etree.tostring`` of ``to_element(doc)`` (UTF-8, with
the declaration) are the same bytes. Text that XML cannot carry (control characters, U+FFFE/U+FFFF, lone
surrogates) is refused with a :class:`~cr_einvoice.core.errors.ValidationError` naming the element.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal

from lxml import etree

from cr_einvoice.core import catalogs
from cr_einvoice.core.catalogs import CodigoImpuesto, TipoDocumento
from cr_einvoice.core.clave import CR_TZ
from cr_einvoice.core.errors import ValidationError
from cr_einvoice.core.money import ZERO, fmt_amount, fmt_quantity, fmt_rate
from cr_einvoice.vouchers.model import (
    Comprobante,
    DatosImpuestoEspecifico,
    Document,
    Emisor,
    Identificacion,
    Impuesto,
    InformacionReferencia,
    LineaDetalle,
    MedioPago,
    MensajeReceptor,
    OtroCargo,
    Otros,
    Receptor,
    ReciboPago,
    ResumenFactura,
    Telefono,
    Ubicacion,
)

__all__ = ["NAMESPACES", "NAMESPACE_BASE", "namespace_for", "to_element", "to_xml"]

#: Base of the v4.4 namespace URIs (Nota 2); the last segment is the camelCase root name.
NAMESPACE_BASE = f"{catalogs.NAMESPACE_BASE}v4.4/"

#: Root element → v4.4 namespace (case-sensitive, camelCase), from the catalogs' DOCUMENT_KINDS.
NAMESPACES: dict[str, str] = {kind.root: kind.namespace("4.4") for kind in catalogs.DOCUMENT_KINDS}

#: What lxml's serialiser writes before the root (UTF-8 with the declaration).
_DECLARATION = "<?xml version='1.0' encoding='UTF-8'?>\n"
_TEXT_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#13;"})
_ATTR_ESCAPES = str.maketrans(
    {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "\n": "&#10;", "\r": "&#13;", "\t": "&#9;"}
)
#: Characters XML 1.0 cannot carry (lxml refuses them in text and attributes).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def namespace_for(root: str) -> str:
    """The v4.4 namespace of a root element name."""
    return NAMESPACES[root]


def _checked(name: str, text: str) -> str:
    if _NOT_XML.search(text) is not None:
        raise ValidationError(
            "contains a character XML cannot carry (a control character other than tab, newline and "
            "carriage return, U+FFFE, U+FFFF or a lone surrogate)",
            path=name,
        )
    return text


def _escaped(name: str, text: str) -> str:
    """Element text as libxml2 writes it (``&`` ``<`` ``>`` and CR escaped)."""
    _checked(name, text)
    if "&" in text or "<" in text or ">" in text or "\r" in text:
        return text.translate(_TEXT_ESCAPES)
    return text


def _attribute(name: str, text: str) -> str:
    """An attribute value as libxml2 writes it between double quotes."""
    return _checked(name, text).translate(_ATTR_ESCAPES)


class _W:
    """Writes the elements of one document, in order, in its default namespace."""

    __slots__ = ("open_tags", "parts")

    def __init__(self, root: str) -> None:
        self.parts: list[str] = [f'<{root} xmlns="{NAMESPACES[root]}">']
        self.open_tags: list[str] = [root]

    def el(self, name: str, text: str) -> None:
        """A leaf element carrying ``text`` (escaped; refused when XML cannot carry it)."""
        self.parts.append(f"<{name}>{_escaped(name, text)}</{name}>")

    def code(self, name: str, text: str) -> None:
        """A leaf element whose text needs no escaping: a catalogue code, a formatted number or date."""
        self.parts.append(f"<{name}>{text}</{name}>")

    def open(self, name: str) -> None:
        """Start an element whose children follow (until :meth:`close`)."""
        self.parts.append(f"<{name}>")
        self.open_tags.append(name)

    def close(self) -> None:
        """End the element last opened (``<Name/>`` when nothing was written in it, as lxml writes it)."""
        name = self.open_tags.pop()
        parts = self.parts
        if parts[-1] == f"<{name}>":
            parts[-1] = f"<{name}/>"
        else:
            parts.append(f"</{name}>")

    def with_attribute(self, name: str, text: str, attribute: str, value: str | None) -> None:
        """A leaf element carrying ``text`` and, when ``value`` is given, one attribute."""
        if value is None:
            self.el(name, text)
            return
        shown = _attribute(f"{name}/@{attribute}", value)
        self.parts.append(f'<{name} {attribute}="{shown}">{_escaped(name, text)}</{name}>')

    def opt(self, name: str, value: object) -> None:
        if value is not None:
            if isinstance(value, str):
                self.el(name, value)
            else:
                self.code(name, _text(value))

    def amount(self, name: str, value: Decimal) -> None:
        self.parts.append(f"<{name}>{fmt_amount(value)}</{name}>")

    def nonzero(self, name: str, value: Decimal) -> None:
        if value != ZERO:
            self.parts.append(f"<{name}>{fmt_amount(value)}</{name}>")

    def text(self) -> str:
        """The whole document (every element closed), without the XML declaration."""
        while self.open_tags:
            self.close()
        return "".join(self.parts)


def _text(value: object) -> str:
    if isinstance(value, datetime):
        return _fecha(value)
    if isinstance(value, Decimal):
        return fmt_rate(value)
    return str(value)


def _fecha(value: datetime) -> str:
    return value.astimezone(CR_TZ).replace(microsecond=0).isoformat()


def to_xml(doc: Document) -> bytes:
    """Serialise a numbered document: UTF-8 with an XML declaration, no signature.

    Raises :class:`ValidationError` naming ``clave``, ``numero_consecutivo`` or ``fecha_emision`` (for a
    MensajeReceptor ``numero_consecutivo_receptor``/``fecha_emision_doc``) when the document is not numbered.
    """
    return (_DECLARATION + _write(doc)).encode("utf-8")


_LOCAL = threading.local()


def _parser() -> etree.XMLParser:
    """This thread's parser for the bytes written here (lxml parsers are not shared between threads)."""
    parser: etree.XMLParser | None = getattr(_LOCAL, "parser", None)
    if parser is None:
        parser = _LOCAL.parser = etree.XMLParser(
            resolve_entities=False,
            no_network=True,
            load_dtd=False,
            huge_tree=False,
            remove_blank_text=False,
            remove_comments=False,
            remove_pis=False,
            collect_ids=False,
        )
    return parser


def to_element(doc: Document) -> etree._Element:
    """Like :func:`to_xml` but returns the lxml root element (of those very bytes, parsed once)."""
    data = to_xml(doc)
    return etree.fromstring(data, _parser())


def _write(doc: Document) -> str:
    missing = doc.missing_numbering()
    if missing:
        raise ValidationError(missing)
    if isinstance(doc, MensajeReceptor):
        return _mensaje_receptor(doc)
    if isinstance(doc, ReciboPago):
        return _recibo(doc)
    return _comprobante(doc)


# -- parties ---------------------------------------------------------------------------------------------


def _identificacion(w: _W, name: str, ident: Identificacion) -> None:
    w.open(name)
    w.code("Tipo", ident.tipo.value)
    w.el("Numero", ident.numero)
    w.close()


def _ubicacion(w: _W, u: Ubicacion) -> None:
    w.open("Ubicacion")
    w.el("Provincia", u.provincia)
    w.el("Canton", u.canton)
    w.el("Distrito", u.distrito)
    w.opt("Barrio", u.barrio)
    w.el("OtrasSenas", u.otras_senas)
    w.close()


def _telefono(w: _W, t: Telefono) -> None:
    w.open("Telefono")
    w.el("CodigoPais", str(t.codigo_pais))
    w.el("NumTelefono", t.num_telefono)
    w.close()


def _emisor(w: _W, e: Emisor, tipo: TipoDocumento) -> None:
    w.open("Emisor")
    w.el("Nombre", e.nombre)
    _identificacion(w, "Identificacion", e.identificacion)
    if tipo is not TipoDocumento.RECIBO_PAGO:
        w.opt("Registrofiscal8707", e.registrofiscal8707)
        w.opt("NombreComercial", e.nombre_comercial)
        if e.ubicacion is not None:
            _ubicacion(w, e.ubicacion)
        if tipo is TipoDocumento.FACTURA_COMPRA:
            w.opt("OtrasSenasExtranjero", e.otras_senas_extranjero)
        if e.telefono is not None:
            _telefono(w, e.telefono)
    for correo in e.correos_electronicos:
        w.el("CorreoElectronico", correo)
    w.close()


def _receptor(w: _W, r: Receptor, tipo: TipoDocumento) -> None:
    w.open("Receptor")
    w.el("Nombre", r.nombre)
    if r.identificacion is not None:
        _identificacion(w, "Identificacion", r.identificacion)
    if tipo is not TipoDocumento.RECIBO_PAGO:
        w.opt("NombreComercial", r.nombre_comercial)
        if r.ubicacion is not None and tipo is not TipoDocumento.FACTURA_EXPORTACION:
            _ubicacion(w, r.ubicacion)
        if tipo is not TipoDocumento.FACTURA_COMPRA:
            w.opt("OtrasSenasExtranjero", r.otras_senas_extranjero)
        if r.telefono is not None:
            _telefono(w, r.telefono)
    w.opt("CorreoElectronico", r.correo_electronico)
    w.close()


# -- lines -------------------------------------------------------------------------------------------------


def _datos(w: _W, d: DatosImpuestoEspecifico, suffix: str) -> None:
    """DatosImpuestoEspecifico (``suffix`` "Surtido": DatosImpuestoEspecificoSurtido of a combo component)."""
    w.open(f"DatosImpuestoEspecifico{suffix}")
    w.code(f"CantidadUnidadMedida{suffix}", fmt_rate(d.cantidad_unidad_medida))
    w.opt(f"Porcentaje{suffix}", d.porcentaje)
    w.opt(f"Proporcion{suffix}", d.proporcion)
    w.opt(f"VolumenUnidadConsumo{suffix}", d.volumen_unidad_consumo)
    w.amount(f"ImpuestoUnidad{suffix}", d.impuesto_unidad)
    w.close()


def _impuesto(w: _W, t: Impuesto, monto: Decimal, exonerado: Decimal, tipo: TipoDocumento) -> None:
    w.open("Impuesto")
    w.code("Codigo", t.codigo.value)
    w.opt("CodigoImpuestoOTRO", t.codigo_impuesto_otro)
    if t.codigo_tarifa_iva is not None:
        w.code("CodigoTarifaIVA", t.codigo_tarifa_iva.value)
    if t.tarifa is not None:
        w.code("Tarifa", fmt_rate(t.tarifa))
    if t.factor_calculo_iva is not None:
        w.code("FactorCalculoIVA", fmt_rate(t.factor_calculo_iva))
    d = t.datos_impuesto_especifico
    if d is not None and tipo not in (TipoDocumento.FACTURA_COMPRA, TipoDocumento.FACTURA_EXPORTACION):
        _datos(w, d, "")
    w.amount("Monto", monto)
    if t.monto_exportacion is not None:
        w.amount("MontoExportacion", t.monto_exportacion)
    x = t.exoneracion
    if x is not None:
        w.open("Exoneracion")
        w.code("TipoDocumentoEX1", x.tipo_documento_ex1.value)
        w.opt("TipoDocumentoOTRO", x.tipo_documento_otro)
        w.el("NumeroDocumento", x.numero_documento)
        w.opt("Articulo", x.articulo)
        w.opt("Inciso", x.inciso)
        w.code("NombreInstitucion", x.nombre_institucion.value)
        w.opt("NombreInstitucionOtros", x.nombre_institucion_otros)
        w.code("FechaEmisionEX", _fecha(x.fecha_emision_ex))
        w.code("TarifaExonerada", fmt_rate(x.tarifa_exonerada))
        w.amount("MontoExoneracion", exonerado)
        w.close()
    w.close()


def _otro_surtido(ln: LineaDetalle) -> str | None:
    """The description of the first component tax 99, repeated on the combo line's tax 99."""
    for comp in ln.surtido:
        for t in comp.impuestos_surtido:
            if t.codigo_impuesto_surtido is CodigoImpuesto.OTROS:
                return t.codigo_impuesto_otro_surtido
    return None


def _surtido(w: _W, ln: LineaDetalle, fee: bool) -> None:
    """DetalleSurtido in schema order (the FEE schema has no IVACobradoFabricaSurtido,
    BaseImponibleSurtido nor DatosImpuestoEspecificoSurtido)."""
    w.open("DetalleSurtido")
    for comp in ln.surtido:
        calc = comp.calculo
        w.open("LineaDetalleSurtido")
        w.el("CodigoCABYSSurtido", comp.codigo_cabys_surtido)
        for cc in comp.codigos_comerciales_surtido:
            w.open("CodigoComercialSurtido")
            w.code("TipoSurtido", cc.tipo_surtido.value)
            w.el("CodigoSurtido", cc.codigo_surtido)
            w.close()
        w.code("CantidadSurtido", fmt_quantity(comp.cantidad_surtido))
        w.code("UnidadMedidaSurtido", comp.unidad_medida_surtido.value)
        w.opt("UnidadMedidaComercialSurtido", comp.unidad_medida_comercial_surtido)
        w.el("DetalleSurtido", comp.detalle_surtido)
        w.amount("PrecioUnitarioSurtido", comp.precio_unitario_surtido)
        w.amount("MontoTotalSurtido", calc.monto_total_surtido)
        for ds in comp.descuentos_surtido:
            w.open("DescuentoSurtido")
            w.amount("MontoDescuentoSurtido", ds.monto_descuento_surtido or ZERO)
            w.code("CodigoDescuentoSurtido", ds.codigo_descuento_surtido.value)
            w.opt("DescuentoSurtidoOtros", ds.descuento_surtido_otros)
            w.close()
        w.amount("SubTotalSurtido", calc.sub_total_surtido)
        if not fee:
            if comp.iva_cobrado_fabrica_surtido is not None:
                w.code("IVACobradoFabricaSurtido", comp.iva_cobrado_fabrica_surtido.value)
            w.amount("BaseImponibleSurtido", calc.base_imponible_surtido)
        for t, tc in zip(comp.impuestos_surtido, calc.impuestos, strict=True):
            w.open("ImpuestoSurtido")
            w.code("CodigoImpuestoSurtido", t.codigo_impuesto_surtido.value)
            w.opt("CodigoImpuestoOTROSurtido", t.codigo_impuesto_otro_surtido)
            if t.codigo_tarifa_iva_surtido is not None:
                w.code("CodigoTarifaIVASurtido", t.codigo_tarifa_iva_surtido.value)
            if t.tarifa_surtido is not None:
                w.code("TarifaSurtido", fmt_rate(t.tarifa_surtido))
            d = t.datos_impuesto_especifico_surtido
            if d is not None and not fee:
                _datos(w, d, "Surtido")
            w.amount("MontoImpuestoSurtido", tc.monto)
            w.close()
        w.close()
    w.close()


def _linea(w: _W, numero: int, ln: LineaDetalle, tipo: TipoDocumento) -> None:
    fee = tipo is TipoDocumento.FACTURA_EXPORTACION
    fec = tipo is TipoDocumento.FACTURA_COMPRA
    calc = ln.calculo
    w.open("LineaDetalle")
    w.code("NumeroLinea", str(numero))
    w.opt("PartidaArancelaria", ln.partida_arancelaria)
    if ln.codigo_cabys:
        w.el("CodigoCABYS", ln.codigo_cabys)
    for cc in ln.codigos_comerciales:
        w.open("CodigoComercial")
        w.code("Tipo", cc.tipo.value)
        w.el("Codigo", cc.codigo)
        w.close()
    w.code("Cantidad", fmt_quantity(ln.cantidad))
    w.code("UnidadMedida", ln.unidad_medida.value)
    if ln.tipo_transaccion is not None and tipo is not TipoDocumento.TIQUETE:
        w.code("TipoTransaccion", ln.tipo_transaccion.value)
    w.opt("UnidadMedidaComercial", ln.unidad_medida_comercial)
    w.el("Detalle", ln.detalle)
    for vin in ln.numeros_vin_serie:
        w.el("NumeroVINoSerie", vin)
    w.opt("RegistroMedicamento", ln.registro_medicamento)
    w.opt("FormaFarmaceutica", ln.forma_farmaceutica)
    if ln.surtido:
        _surtido(w, ln, fee)
    w.amount("PrecioUnitario", ln.precio_unitario)
    w.amount("MontoTotal", calc.monto_total)
    for d in ln.descuentos:
        w.open("Descuento")
        w.amount("MontoDescuento", d.monto_descuento or ZERO)
        w.code("CodigoDescuento", d.codigo_descuento.value)
        w.opt("CodigoDescuentoOTRO", d.codigo_descuento_otro)
        w.opt("NaturalezaDescuento", d.naturaleza_descuento)
        w.close()
    w.amount("SubTotal", calc.sub_total)
    if not (fee or fec) and ln.iva_cobrado_fabrica is not None:
        w.code("IVACobradoFabrica", ln.iva_cobrado_fabrica.value)
    if not fee:
        w.amount("BaseImponible", calc.base_imponible)
    if ln.surtido:
        for tc in calc.impuestos:
            # the tax of a combo is the sum of its components': no CodigoTarifaIVA nor Tarifa (Anexos)
            w.open("Impuesto")
            w.code("Codigo", tc.codigo.value)
            if tc.codigo is CodigoImpuesto.OTROS:
                w.opt("CodigoImpuestoOTRO", _otro_surtido(ln))
            w.amount("Monto", tc.monto)
            w.close()
    for t, tc in zip(ln.impuestos, calc.impuestos, strict=not ln.surtido):
        _impuesto(w, t, tc.monto, tc.monto_exoneracion, tipo)
    if not (fee or fec):
        w.amount("ImpuestoAsumidoEmisorFabrica", calc.impuesto_asumido_emisor_fabrica)
    if not fee:
        w.amount("ImpuestoNeto", calc.impuesto_neto)
    w.amount("MontoTotalLinea", calc.monto_total_linea)
    w.close()


# -- other sections ----------------------------------------------------------------------------------------


def _otro_cargo(w: _W, oc: OtroCargo) -> None:
    w.open("OtrosCargos")
    w.code("TipoDocumentoOC", oc.tipo_documento_oc.value)
    w.opt("TipoDocumentoOTROS", oc.tipo_documento_otros)
    if oc.identificacion_tercero is not None:
        _identificacion(w, "IdentificacionTercero", oc.identificacion_tercero)
    w.opt("NombreTercero", oc.nombre_tercero)
    w.el("Detalle", oc.detalle)
    if oc.porcentaje_oc is not None:
        w.code("PorcentajeOC", fmt_rate(oc.porcentaje_oc))
    w.amount("MontoCargo", oc.monto_cargo)
    w.close()


def _medios(w: _W, medios: Iterable[MedioPago]) -> None:
    for m in medios:
        w.open("MedioPago")
        w.code("TipoMedioPago", m.tipo_medio_pago.value)
        w.opt("MedioPagoOtros", m.medio_pago_otros)
        if m.total_medio_pago is not None:
            w.amount("TotalMedioPago", m.total_medio_pago)
        w.close()


def _desglose(w: _W, r: ResumenFactura) -> None:
    for d in r.total_desglose_impuesto:
        w.open("TotalDesgloseImpuesto")
        w.code("Codigo", d.codigo.value)
        if d.codigo_tarifa_iva is not None and d.codigo in (
            CodigoImpuesto.IVA,
            CodigoImpuesto.IVA_CALCULO_ESPECIAL,
        ):
            w.code("CodigoTarifaIVA", d.codigo_tarifa_iva.value)
        w.amount("TotalMontoImpuesto", d.total_monto_impuesto)
        w.close()


def _moneda(w: _W, r: ResumenFactura) -> None:
    w.open("CodigoTipoMoneda")
    w.code("CodigoMoneda", r.codigo_moneda.value)
    w.amount("TipoCambio", r.tipo_cambio)
    w.close()


def _resumen(w: _W, r: ResumenFactura, tipo: TipoDocumento) -> None:
    fee = tipo is TipoDocumento.FACTURA_EXPORTACION
    w.open("ResumenFactura")
    _moneda(w, r)
    w.nonzero("TotalServGravados", r.total_serv_gravados)
    w.nonzero("TotalServExentos", r.total_serv_exentos)
    if not fee:
        w.nonzero("TotalServExonerado", r.total_serv_exonerado)
        w.nonzero("TotalServNoSujeto", r.total_serv_no_sujeto)
    w.nonzero("TotalMercanciasGravadas", r.total_mercancias_gravadas)
    w.nonzero("TotalMercanciasExentas", r.total_mercancias_exentas)
    if not fee:
        w.nonzero("TotalMercExonerada", r.total_merc_exonerada)
        w.nonzero("TotalMercNoSujeta", r.total_merc_no_sujeta)
    w.nonzero("TotalGravado", r.total_gravado)
    w.nonzero("TotalExento", r.total_exento)
    if not fee:
        w.nonzero("TotalExonerado", r.total_exonerado)
        w.nonzero("TotalNoSujeto", r.total_no_sujeto)
    w.amount("TotalVenta", r.total_venta)
    w.nonzero("TotalDescuentos", r.total_descuentos)
    w.amount("TotalVentaNeta", r.total_venta_neta)
    _desglose(w, r)
    w.amount("TotalImpuesto", r.total_impuesto)
    w.nonzero("TotalImpAsumEmisorFabrica", r.total_imp_asum_emisor_fabrica)
    if tipo not in (TipoDocumento.FACTURA_COMPRA, TipoDocumento.FACTURA_EXPORTACION):
        w.nonzero("TotalIVADevuelto", r.total_iva_devuelto)
    w.nonzero("TotalOtrosCargos", r.total_otros_cargos)
    _medios(w, r.medios_pago)
    w.amount("TotalComprobante", r.total_comprobante)
    w.close()


def _referencias(w: _W, refs: Iterable[InformacionReferencia]) -> None:
    for ref in refs:
        w.open("InformacionReferencia")
        w.code("TipoDocIR", ref.tipo_doc_ir.value)
        w.opt("TipoDocRefOTRO", ref.tipo_doc_ref_otro)
        w.opt("Numero", ref.numero)
        w.code("FechaEmisionIR", _fecha(ref.fecha_emision_ir))
        if ref.codigo is not None:
            w.code("Codigo", ref.codigo.value)
        w.opt("CodigoReferenciaOTRO", ref.codigo_referencia_otro)
        w.opt("Razon", ref.razon)
        w.close()


def _otros(w: _W, otros: Otros) -> None:
    w.open("Otros")
    for texto in otros.otros_textos:
        w.with_attribute("OtroTexto", texto.valor, "codigo", texto.codigo)
    for contenido in otros.otros_contenidos:
        w.with_attribute("OtroContenido", contenido.valor, "codigo", contenido.codigo)
    w.close()


# -- roots -------------------------------------------------------------------------------------------------


def _comprobante(doc: Comprobante) -> str:
    tipo = doc.TIPO
    w = _W(doc.ROOT)
    assert doc.clave is not None and doc.numero_consecutivo is not None and doc.fecha_emision is not None
    w.el("Clave", doc.clave)
    w.el("ProveedorSistemas", doc.proveedor_sistemas)
    w.opt("CodigoActividadEmisor", doc.codigo_actividad_emisor)
    if tipo not in (TipoDocumento.TIQUETE, TipoDocumento.FACTURA_EXPORTACION):
        w.opt("CodigoActividadReceptor", doc.codigo_actividad_receptor)
    w.el("NumeroConsecutivo", doc.numero_consecutivo)
    w.code("FechaEmision", _fecha(doc.fecha_emision))
    _emisor(w, doc.emisor, tipo)
    if doc.receptor is not None:
        _receptor(w, doc.receptor, tipo)
    w.code("CondicionVenta", doc.condicion_venta.value)
    w.opt("CondicionVentaOtros", doc.condicion_venta_otros)
    w.opt("PlazoCredito", doc.plazo_credito)
    if doc.lineas:
        w.open("DetalleServicio")
        for i, ln in enumerate(doc.lineas, start=1):
            _linea(w, i, ln, tipo)
        w.close()
    for oc in doc.otros_cargos:
        _otro_cargo(w, oc)
    _resumen(w, doc.resumen, tipo)
    _referencias(w, doc.referencias)
    if doc.otros is not None:
        _otros(w, doc.otros)
    return w.text()


def _recibo(doc: ReciboPago) -> str:
    w = _W(doc.ROOT)
    assert doc.clave is not None and doc.numero_consecutivo is not None and doc.fecha_emision is not None
    w.el("Clave", doc.clave)
    w.el("ProveedorSistemas", doc.proveedor_sistemas)
    w.el("NumeroConsecutivo", doc.numero_consecutivo)
    w.code("FechaEmision", _fecha(doc.fecha_emision))
    _emisor(w, doc.emisor, doc.TIPO)
    _receptor(w, doc.receptor, doc.TIPO)
    w.code("CondicionVenta", doc.condicion_venta.value)
    w.open("DetalleServicio")
    for i, ln in enumerate(doc.lineas, start=1):
        calc = ln.calculo
        w.open("LineaDetalle")
        w.code("NumeroLinea", str(i))
        w.el("Detalle", ln.detalle)
        w.amount("MontoTotal", calc.monto_total)
        w.amount("SubTotal", calc.sub_total)
        for t, tc in zip(ln.impuestos, calc.impuestos, strict=True):
            _impuesto(w, t, tc.monto, ZERO, doc.TIPO)
        w.amount("ImpuestoNeto", calc.impuesto_neto)
        w.amount("MontoTotalLinea", calc.monto_total_linea)
        w.close()
    w.close()
    r = doc.resumen
    w.open("ResumenFactura")
    _moneda(w, r)
    w.amount("TotalVenta", r.total_venta)
    w.amount("TotalVentaNeta", r.total_venta_neta)
    _desglose(w, r)
    w.amount("TotalImpuesto", r.total_impuesto)
    _medios(w, r.medios_pago)
    w.amount("TotalComprobante", r.total_comprobante)
    w.close()
    _referencias(w, doc.referencias)
    return w.text()


def _mensaje_receptor(doc: MensajeReceptor) -> str:
    w = _W(doc.ROOT)
    assert doc.fecha_emision_doc is not None and doc.numero_consecutivo_receptor is not None
    w.el("Clave", doc.clave)
    w.el("NumeroCedulaEmisor", doc.numero_cedula_emisor)
    w.code("FechaEmisionDoc", _fecha(doc.fecha_emision_doc))
    w.code("Mensaje", doc.mensaje.value)
    w.opt("DetalleMensaje", doc.detalle_mensaje)
    if doc.monto_total_impuesto is not None:
        w.amount("MontoTotalImpuesto", doc.monto_total_impuesto)
    w.opt("CodigoActividad", doc.codigo_actividad)
    if doc.condicion_impuesto is not None:
        w.code("CondicionImpuesto", doc.condicion_impuesto.value)
    if doc.monto_total_impuesto_acreditar is not None:
        w.amount("MontoTotalImpuestoAcreditar", doc.monto_total_impuesto_acreditar)
    if doc.monto_total_de_gasto_aplicable is not None:
        w.amount("MontoTotalDeGastoAplicable", doc.monto_total_de_gasto_aplicable)
    w.amount("TotalFactura", doc.total_factura)
    w.el("NumeroCedulaReceptor", doc.numero_cedula_receptor)
    w.el("NumeroConsecutivoReceptor", doc.numero_consecutivo_receptor)
    return w.text()
