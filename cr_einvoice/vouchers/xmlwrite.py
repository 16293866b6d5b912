"""Model → v4.4 XML: elements in the official schema order, each type in its own namespace.

Amounts carry 5 decimals, quantities 3, rates 2 (more only when needed); dates are written in Costa Rica time
with the explicit ``-06:00`` offset. No ``ds:Signature`` is written: the signer appends it to these bytes.
"""

from __future__ import annotations

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


def namespace_for(root: str) -> str:
    """The v4.4 namespace of a root element name."""
    return NAMESPACES[root]


class _W:
    """Appends children in the default namespace of the document."""

    __slots__ = ("ns", "tags")

    def __init__(self, ns: str) -> None:
        self.ns = ns
        self.tags = _tags(ns)

    def el(self, parent: etree._Element, name: str, text: str | None = None) -> etree._Element:
        tag = self.tags.get(name)
        if tag is None:
            tag = self.tags[name] = f"{{{self.ns}}}{name}"
        child = etree.SubElement(parent, tag)
        if text is not None:
            child.text = text
        return child

    def opt(self, parent: etree._Element, name: str, value: object) -> None:
        if value is not None:
            self.el(parent, name, _text(value))

    def amount(self, parent: etree._Element, name: str, value: Decimal) -> None:
        self.el(parent, name, fmt_amount(value))

    def nonzero(self, parent: etree._Element, name: str, value: Decimal) -> None:
        if value != ZERO:
            self.el(parent, name, fmt_amount(value))


_TAGS: dict[str, dict[str, str]] = {}


def _tags(ns: str) -> dict[str, str]:
    """Qualified tag names per namespace, built once (serialisation is dominated by element creation)."""
    return _TAGS.setdefault(ns, {})


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
    root = to_element(doc)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def to_element(doc: Document) -> etree._Element:
    """Like :func:`to_xml` but returns the lxml root element."""
    missing = doc.missing_numbering()
    if missing:
        raise ValidationError(missing)
    if isinstance(doc, MensajeReceptor):
        return _mensaje_receptor(doc)
    if isinstance(doc, ReciboPago):
        return _recibo(doc)
    return _comprobante(doc)


# -- parties ---------------------------------------------------------------------------------------------


def _identificacion(w: _W, parent: etree._Element, name: str, ident: Identificacion) -> None:
    node = w.el(parent, name)
    w.el(node, "Tipo", ident.tipo.value)
    w.el(node, "Numero", ident.numero)


def _ubicacion(w: _W, parent: etree._Element, u: Ubicacion) -> None:
    node = w.el(parent, "Ubicacion")
    w.el(node, "Provincia", u.provincia)
    w.el(node, "Canton", u.canton)
    w.el(node, "Distrito", u.distrito)
    w.opt(node, "Barrio", u.barrio)
    w.el(node, "OtrasSenas", u.otras_senas)


def _telefono(w: _W, parent: etree._Element, t: Telefono) -> None:
    node = w.el(parent, "Telefono")
    w.el(node, "CodigoPais", str(t.codigo_pais))
    w.el(node, "NumTelefono", t.num_telefono)


def _emisor(w: _W, parent: etree._Element, e: Emisor, tipo: TipoDocumento) -> None:
    node = w.el(parent, "Emisor")
    w.el(node, "Nombre", e.nombre)
    _identificacion(w, node, "Identificacion", e.identificacion)
    if tipo is not TipoDocumento.RECIBO_PAGO:
        w.opt(node, "Registrofiscal8707", e.registrofiscal8707)
        w.opt(node, "NombreComercial", e.nombre_comercial)
        if e.ubicacion is not None:
            _ubicacion(w, node, e.ubicacion)
        if tipo is TipoDocumento.FACTURA_COMPRA:
            w.opt(node, "OtrasSenasExtranjero", e.otras_senas_extranjero)
        if e.telefono is not None:
            _telefono(w, node, e.telefono)
    for correo in e.correos_electronicos:
        w.el(node, "CorreoElectronico", correo)


def _receptor(w: _W, parent: etree._Element, r: Receptor, tipo: TipoDocumento) -> None:
    node = w.el(parent, "Receptor")
    w.el(node, "Nombre", r.nombre)
    if r.identificacion is not None:
        _identificacion(w, node, "Identificacion", r.identificacion)
    if tipo is not TipoDocumento.RECIBO_PAGO:
        w.opt(node, "NombreComercial", r.nombre_comercial)
        if r.ubicacion is not None and tipo is not TipoDocumento.FACTURA_EXPORTACION:
            _ubicacion(w, node, r.ubicacion)
        if tipo is not TipoDocumento.FACTURA_COMPRA:
            w.opt(node, "OtrasSenasExtranjero", r.otras_senas_extranjero)
        if r.telefono is not None:
            _telefono(w, node, r.telefono)
    w.opt(node, "CorreoElectronico", r.correo_electronico)


# -- lines -------------------------------------------------------------------------------------------------


def _datos(w: _W, parent: etree._Element, d: DatosImpuestoEspecifico, suffix: str) -> None:
    """DatosImpuestoEspecifico (``suffix`` "Surtido": DatosImpuestoEspecificoSurtido of a combo component)."""
    dn = w.el(parent, f"DatosImpuestoEspecifico{suffix}")
    w.el(dn, f"CantidadUnidadMedida{suffix}", fmt_rate(d.cantidad_unidad_medida))
    w.opt(dn, f"Porcentaje{suffix}", d.porcentaje)
    w.opt(dn, f"Proporcion{suffix}", d.proporcion)
    w.opt(dn, f"VolumenUnidadConsumo{suffix}", d.volumen_unidad_consumo)
    w.amount(dn, f"ImpuestoUnidad{suffix}", d.impuesto_unidad)


def _impuesto(  # noqa: PLR0917
    w: _W, parent: etree._Element, t: Impuesto, monto: Decimal, exonerado: Decimal, tipo: TipoDocumento
) -> None:
    node = w.el(parent, "Impuesto")
    w.el(node, "Codigo", t.codigo.value)
    w.opt(node, "CodigoImpuestoOTRO", t.codigo_impuesto_otro)
    if t.codigo_tarifa_iva is not None:
        w.el(node, "CodigoTarifaIVA", t.codigo_tarifa_iva.value)
    if t.tarifa is not None:
        w.el(node, "Tarifa", fmt_rate(t.tarifa))
    if t.factor_calculo_iva is not None:
        w.el(node, "FactorCalculoIVA", fmt_rate(t.factor_calculo_iva))
    d = t.datos_impuesto_especifico
    if d is not None and tipo not in (TipoDocumento.FACTURA_COMPRA, TipoDocumento.FACTURA_EXPORTACION):
        _datos(w, node, d, "")
    w.amount(node, "Monto", monto)
    if t.monto_exportacion is not None:
        w.amount(node, "MontoExportacion", t.monto_exportacion)
    x = t.exoneracion
    if x is not None:
        xn = w.el(node, "Exoneracion")
        w.el(xn, "TipoDocumentoEX1", x.tipo_documento_ex1.value)
        w.opt(xn, "TipoDocumentoOTRO", x.tipo_documento_otro)
        w.el(xn, "NumeroDocumento", x.numero_documento)
        w.opt(xn, "Articulo", x.articulo)
        w.opt(xn, "Inciso", x.inciso)
        w.el(xn, "NombreInstitucion", x.nombre_institucion.value)
        w.opt(xn, "NombreInstitucionOtros", x.nombre_institucion_otros)
        w.el(xn, "FechaEmisionEX", _fecha(x.fecha_emision_ex))
        w.el(xn, "TarifaExonerada", fmt_rate(x.tarifa_exonerada))
        w.amount(xn, "MontoExoneracion", exonerado)


def _otro_surtido(ln: LineaDetalle) -> str | None:
    """The description of the first component tax 99, repeated on the combo line's tax 99."""
    for comp in ln.surtido:
        for t in comp.impuestos_surtido:
            if t.codigo_impuesto_surtido is CodigoImpuesto.OTROS:
                return t.codigo_impuesto_otro_surtido
    return None


def _surtido(w: _W, parent: etree._Element, ln: LineaDetalle, fee: bool) -> None:
    """DetalleSurtido in schema order (the FEE schema has no IVACobradoFabricaSurtido,
    BaseImponibleSurtido nor DatosImpuestoEspecificoSurtido)."""
    node = w.el(parent, "DetalleSurtido")
    for comp in ln.surtido:
        calc = comp.calculo
        cn = w.el(node, "LineaDetalleSurtido")
        w.el(cn, "CodigoCABYSSurtido", comp.codigo_cabys_surtido)
        for cc in comp.codigos_comerciales_surtido:
            ccn = w.el(cn, "CodigoComercialSurtido")
            w.el(ccn, "TipoSurtido", cc.tipo_surtido.value)
            w.el(ccn, "CodigoSurtido", cc.codigo_surtido)
        w.el(cn, "CantidadSurtido", fmt_quantity(comp.cantidad_surtido))
        w.el(cn, "UnidadMedidaSurtido", comp.unidad_medida_surtido.value)
        w.opt(cn, "UnidadMedidaComercialSurtido", comp.unidad_medida_comercial_surtido)
        w.el(cn, "DetalleSurtido", comp.detalle_surtido)
        w.amount(cn, "PrecioUnitarioSurtido", comp.precio_unitario_surtido)
        w.amount(cn, "MontoTotalSurtido", calc.monto_total_surtido)
        for ds in comp.descuentos_surtido:
            dn = w.el(cn, "DescuentoSurtido")
            w.amount(dn, "MontoDescuentoSurtido", ds.monto_descuento_surtido or ZERO)
            w.el(dn, "CodigoDescuentoSurtido", ds.codigo_descuento_surtido.value)
            w.opt(dn, "DescuentoSurtidoOtros", ds.descuento_surtido_otros)
        w.amount(cn, "SubTotalSurtido", calc.sub_total_surtido)
        if not fee:
            if comp.iva_cobrado_fabrica_surtido is not None:
                w.el(cn, "IVACobradoFabricaSurtido", comp.iva_cobrado_fabrica_surtido.value)
            w.amount(cn, "BaseImponibleSurtido", calc.base_imponible_surtido)
        for t, tc in zip(comp.impuestos_surtido, calc.impuestos, strict=True):
            tn = w.el(cn, "ImpuestoSurtido")
            w.el(tn, "CodigoImpuestoSurtido", t.codigo_impuesto_surtido.value)
            w.opt(tn, "CodigoImpuestoOTROSurtido", t.codigo_impuesto_otro_surtido)
            if t.codigo_tarifa_iva_surtido is not None:
                w.el(tn, "CodigoTarifaIVASurtido", t.codigo_tarifa_iva_surtido.value)
            if t.tarifa_surtido is not None:
                w.el(tn, "TarifaSurtido", fmt_rate(t.tarifa_surtido))
            d = t.datos_impuesto_especifico_surtido
            if d is not None and not fee:
                _datos(w, tn, d, "Surtido")
            w.amount(tn, "MontoImpuestoSurtido", tc.monto)


def _linea(w: _W, parent: etree._Element, numero: int, ln: LineaDetalle, tipo: TipoDocumento) -> None:
    fee = tipo is TipoDocumento.FACTURA_EXPORTACION
    fec = tipo is TipoDocumento.FACTURA_COMPRA
    calc = ln.calculo
    node = w.el(parent, "LineaDetalle")
    w.el(node, "NumeroLinea", str(numero))
    w.opt(node, "PartidaArancelaria", ln.partida_arancelaria)
    if ln.codigo_cabys:
        w.el(node, "CodigoCABYS", ln.codigo_cabys)
    for cc in ln.codigos_comerciales:
        cn = w.el(node, "CodigoComercial")
        w.el(cn, "Tipo", cc.tipo.value)
        w.el(cn, "Codigo", cc.codigo)
    w.el(node, "Cantidad", fmt_quantity(ln.cantidad))
    w.el(node, "UnidadMedida", ln.unidad_medida.value)
    if ln.tipo_transaccion is not None and tipo is not TipoDocumento.TIQUETE:
        w.el(node, "TipoTransaccion", ln.tipo_transaccion.value)
    w.opt(node, "UnidadMedidaComercial", ln.unidad_medida_comercial)
    w.el(node, "Detalle", ln.detalle)
    for vin in ln.numeros_vin_serie:
        w.el(node, "NumeroVINoSerie", vin)
    w.opt(node, "RegistroMedicamento", ln.registro_medicamento)
    w.opt(node, "FormaFarmaceutica", ln.forma_farmaceutica)
    if ln.surtido:
        _surtido(w, node, ln, fee)
    w.amount(node, "PrecioUnitario", ln.precio_unitario)
    w.amount(node, "MontoTotal", calc.monto_total)
    for d in ln.descuentos:
        dn = w.el(node, "Descuento")
        w.amount(dn, "MontoDescuento", d.monto_descuento or ZERO)
        w.el(dn, "CodigoDescuento", d.codigo_descuento.value)
        w.opt(dn, "CodigoDescuentoOTRO", d.codigo_descuento_otro)
        w.opt(dn, "NaturalezaDescuento", d.naturaleza_descuento)
    w.amount(node, "SubTotal", calc.sub_total)
    if not (fee or fec) and ln.iva_cobrado_fabrica is not None:
        w.el(node, "IVACobradoFabrica", ln.iva_cobrado_fabrica.value)
    if not fee:
        w.amount(node, "BaseImponible", calc.base_imponible)
    if ln.surtido:
        for tc in calc.impuestos:
            # the tax of a combo is the sum of its components': no CodigoTarifaIVA nor Tarifa (Anexos)
            tn = w.el(node, "Impuesto")
            w.el(tn, "Codigo", tc.codigo.value)
            if tc.codigo is CodigoImpuesto.OTROS:
                w.opt(tn, "CodigoImpuestoOTRO", _otro_surtido(ln))
            w.amount(tn, "Monto", tc.monto)
    for t, tc in zip(ln.impuestos, calc.impuestos, strict=not ln.surtido):
        _impuesto(w, node, t, tc.monto, tc.monto_exoneracion, tipo)
    if not (fee or fec):
        w.amount(node, "ImpuestoAsumidoEmisorFabrica", calc.impuesto_asumido_emisor_fabrica)
    if not fee:
        w.amount(node, "ImpuestoNeto", calc.impuesto_neto)
    w.amount(node, "MontoTotalLinea", calc.monto_total_linea)


# -- other sections ----------------------------------------------------------------------------------------


def _otro_cargo(w: _W, parent: etree._Element, oc: OtroCargo) -> None:
    node = w.el(parent, "OtrosCargos")
    w.el(node, "TipoDocumentoOC", oc.tipo_documento_oc.value)
    w.opt(node, "TipoDocumentoOTROS", oc.tipo_documento_otros)
    if oc.identificacion_tercero is not None:
        _identificacion(w, node, "IdentificacionTercero", oc.identificacion_tercero)
    w.opt(node, "NombreTercero", oc.nombre_tercero)
    w.el(node, "Detalle", oc.detalle)
    if oc.porcentaje_oc is not None:
        w.el(node, "PorcentajeOC", fmt_rate(oc.porcentaje_oc))
    w.amount(node, "MontoCargo", oc.monto_cargo)


def _medios(w: _W, parent: etree._Element, medios: Iterable[MedioPago]) -> None:
    for m in medios:
        node = w.el(parent, "MedioPago")
        w.el(node, "TipoMedioPago", m.tipo_medio_pago.value)
        w.opt(node, "MedioPagoOtros", m.medio_pago_otros)
        if m.total_medio_pago is not None:
            w.amount(node, "TotalMedioPago", m.total_medio_pago)


def _desglose(w: _W, parent: etree._Element, r: ResumenFactura) -> None:
    for d in r.total_desglose_impuesto:
        node = w.el(parent, "TotalDesgloseImpuesto")
        w.el(node, "Codigo", d.codigo.value)
        if d.codigo_tarifa_iva is not None and d.codigo in (
            CodigoImpuesto.IVA,
            CodigoImpuesto.IVA_CALCULO_ESPECIAL,
        ):
            w.el(node, "CodigoTarifaIVA", d.codigo_tarifa_iva.value)
        w.amount(node, "TotalMontoImpuesto", d.total_monto_impuesto)


def _moneda(w: _W, parent: etree._Element, r: ResumenFactura) -> None:
    node = w.el(parent, "CodigoTipoMoneda")
    w.el(node, "CodigoMoneda", r.codigo_moneda.value)
    w.amount(node, "TipoCambio", r.tipo_cambio)


def _resumen(w: _W, parent: etree._Element, r: ResumenFactura, tipo: TipoDocumento) -> None:
    fee = tipo is TipoDocumento.FACTURA_EXPORTACION
    node = w.el(parent, "ResumenFactura")
    _moneda(w, node, r)
    w.nonzero(node, "TotalServGravados", r.total_serv_gravados)
    w.nonzero(node, "TotalServExentos", r.total_serv_exentos)
    if not fee:
        w.nonzero(node, "TotalServExonerado", r.total_serv_exonerado)
        w.nonzero(node, "TotalServNoSujeto", r.total_serv_no_sujeto)
    w.nonzero(node, "TotalMercanciasGravadas", r.total_mercancias_gravadas)
    w.nonzero(node, "TotalMercanciasExentas", r.total_mercancias_exentas)
    if not fee:
        w.nonzero(node, "TotalMercExonerada", r.total_merc_exonerada)
        w.nonzero(node, "TotalMercNoSujeta", r.total_merc_no_sujeta)
    w.nonzero(node, "TotalGravado", r.total_gravado)
    w.nonzero(node, "TotalExento", r.total_exento)
    if not fee:
        w.nonzero(node, "TotalExonerado", r.total_exonerado)
        w.nonzero(node, "TotalNoSujeto", r.total_no_sujeto)
    w.amount(node, "TotalVenta", r.total_venta)
    w.nonzero(node, "TotalDescuentos", r.total_descuentos)
    w.amount(node, "TotalVentaNeta", r.total_venta_neta)
    _desglose(w, node, r)
    w.amount(node, "TotalImpuesto", r.total_impuesto)
    w.nonzero(node, "TotalImpAsumEmisorFabrica", r.total_imp_asum_emisor_fabrica)
    if tipo not in (TipoDocumento.FACTURA_COMPRA, TipoDocumento.FACTURA_EXPORTACION):
        w.nonzero(node, "TotalIVADevuelto", r.total_iva_devuelto)
    w.nonzero(node, "TotalOtrosCargos", r.total_otros_cargos)
    _medios(w, node, r.medios_pago)
    w.amount(node, "TotalComprobante", r.total_comprobante)


def _referencias(w: _W, parent: etree._Element, refs: Iterable[InformacionReferencia]) -> None:
    for ref in refs:
        node = w.el(parent, "InformacionReferencia")
        w.el(node, "TipoDocIR", ref.tipo_doc_ir.value)
        w.opt(node, "TipoDocRefOTRO", ref.tipo_doc_ref_otro)
        w.opt(node, "Numero", ref.numero)
        w.el(node, "FechaEmisionIR", _fecha(ref.fecha_emision_ir))
        if ref.codigo is not None:
            w.el(node, "Codigo", ref.codigo.value)
        w.opt(node, "CodigoReferenciaOTRO", ref.codigo_referencia_otro)
        w.opt(node, "Razon", ref.razon)


def _otros(w: _W, parent: etree._Element, otros: Otros) -> None:
    node = w.el(parent, "Otros")
    for texto in otros.otros_textos:
        child = w.el(node, "OtroTexto", texto.valor)
        if texto.codigo is not None:
            child.set("codigo", texto.codigo)
    for contenido in otros.otros_contenidos:
        child = w.el(node, "OtroContenido", contenido.valor)
        if contenido.codigo is not None:
            child.set("codigo", contenido.codigo)


# -- roots -------------------------------------------------------------------------------------------------


def _root(name: str) -> tuple[_W, etree._Element]:
    ns = NAMESPACES[name]
    nsmap: dict[str | None, str] = {None: ns}
    return _W(ns), etree.Element(f"{{{ns}}}{name}", nsmap=nsmap)  # type: ignore[arg-type]


def _comprobante(doc: Comprobante) -> etree._Element:
    tipo = doc.TIPO
    w, root = _root(doc.ROOT)
    assert doc.clave is not None and doc.numero_consecutivo is not None and doc.fecha_emision is not None
    w.el(root, "Clave", doc.clave)
    w.el(root, "ProveedorSistemas", doc.proveedor_sistemas)
    w.opt(root, "CodigoActividadEmisor", doc.codigo_actividad_emisor)
    if tipo not in (TipoDocumento.TIQUETE, TipoDocumento.FACTURA_EXPORTACION):
        w.opt(root, "CodigoActividadReceptor", doc.codigo_actividad_receptor)
    w.el(root, "NumeroConsecutivo", doc.numero_consecutivo)
    w.el(root, "FechaEmision", _fecha(doc.fecha_emision))
    _emisor(w, root, doc.emisor, tipo)
    if doc.receptor is not None:
        _receptor(w, root, doc.receptor, tipo)
    w.el(root, "CondicionVenta", doc.condicion_venta.value)
    w.opt(root, "CondicionVentaOtros", doc.condicion_venta_otros)
    w.opt(root, "PlazoCredito", doc.plazo_credito)
    if doc.lineas:
        detalle = w.el(root, "DetalleServicio")
        for i, ln in enumerate(doc.lineas, start=1):
            _linea(w, detalle, i, ln, tipo)
    for oc in doc.otros_cargos:
        _otro_cargo(w, root, oc)
    _resumen(w, root, doc.resumen, tipo)
    _referencias(w, root, doc.referencias)
    if doc.otros is not None:
        _otros(w, root, doc.otros)
    return root


def _recibo(doc: ReciboPago) -> etree._Element:
    w, root = _root(doc.ROOT)
    assert doc.clave is not None and doc.numero_consecutivo is not None and doc.fecha_emision is not None
    w.el(root, "Clave", doc.clave)
    w.el(root, "ProveedorSistemas", doc.proveedor_sistemas)
    w.el(root, "NumeroConsecutivo", doc.numero_consecutivo)
    w.el(root, "FechaEmision", _fecha(doc.fecha_emision))
    _emisor(w, root, doc.emisor, doc.TIPO)
    _receptor(w, root, doc.receptor, doc.TIPO)
    w.el(root, "CondicionVenta", doc.condicion_venta.value)
    detalle = w.el(root, "DetalleServicio")
    for i, ln in enumerate(doc.lineas, start=1):
        calc = ln.calculo
        node = w.el(detalle, "LineaDetalle")
        w.el(node, "NumeroLinea", str(i))
        w.el(node, "Detalle", ln.detalle)
        w.amount(node, "MontoTotal", calc.monto_total)
        w.amount(node, "SubTotal", calc.sub_total)
        for t, tc in zip(ln.impuestos, calc.impuestos, strict=True):
            _impuesto(w, node, t, tc.monto, ZERO, doc.TIPO)
        w.amount(node, "ImpuestoNeto", calc.impuesto_neto)
        w.amount(node, "MontoTotalLinea", calc.monto_total_linea)
    r = doc.resumen
    node = w.el(root, "ResumenFactura")
    _moneda(w, node, r)
    w.amount(node, "TotalVenta", r.total_venta)
    w.amount(node, "TotalVentaNeta", r.total_venta_neta)
    _desglose(w, node, r)
    w.amount(node, "TotalImpuesto", r.total_impuesto)
    _medios(w, node, r.medios_pago)
    w.amount(node, "TotalComprobante", r.total_comprobante)
    _referencias(w, root, doc.referencias)
    return root


def _mensaje_receptor(doc: MensajeReceptor) -> etree._Element:
    w, root = _root(doc.ROOT)
    assert doc.fecha_emision_doc is not None and doc.numero_consecutivo_receptor is not None
    w.el(root, "Clave", doc.clave)
    w.el(root, "NumeroCedulaEmisor", doc.numero_cedula_emisor)
    w.el(root, "FechaEmisionDoc", _fecha(doc.fecha_emision_doc))
    w.el(root, "Mensaje", doc.mensaje.value)
    w.opt(root, "DetalleMensaje", doc.detalle_mensaje)
    if doc.monto_total_impuesto is not None:
        w.amount(root, "MontoTotalImpuesto", doc.monto_total_impuesto)
    w.opt(root, "CodigoActividad", doc.codigo_actividad)
    if doc.condicion_impuesto is not None:
        w.el(root, "CondicionImpuesto", doc.condicion_impuesto.value)
    if doc.monto_total_impuesto_acreditar is not None:
        w.amount(root, "MontoTotalImpuestoAcreditar", doc.monto_total_impuesto_acreditar)
    if doc.monto_total_de_gasto_aplicable is not None:
        w.amount(root, "MontoTotalDeGastoAplicable", doc.monto_total_de_gasto_aplicable)
    w.amount(root, "TotalFactura", doc.total_factura)
    w.el(root, "NumeroCedulaReceptor", doc.numero_cedula_receptor)
    w.el(root, "NumeroConsecutivoReceptor", doc.numero_consecutivo_receptor)
    return root
