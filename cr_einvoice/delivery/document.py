"""What a graphic representation shows: a view model built from the signed voucher and Hacienda's answer.

:func:`representacion` reads the signed XML (through :func:`cr_einvoice.core.xmlsafe.parse_untrusted` and
:func:`cr_einvoice.vouchers.xmlread.from_xml`) and returns a :class:`Representacion`: every text a page or a
ticket prints, already in Spanish and formatted the Costa Rican way (:mod:`cr_einvoice.delivery.formatting`).
Amounts are the ones the XML *states* (``doc.stated``), never recomputed: the paper must say what was signed.
The layouts (:mod:`cr_einvoice.delivery.pdf`, :mod:`cr_einvoice.delivery.ticket`) only place these texts.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable

from lxml import etree

from cr_einvoice.core.catalogs import (
    TipoDocumento,
)
from cr_einvoice.core.errors import ValidationError
from cr_einvoice.core.money import ZERO
from cr_einvoice.core.xmlsafe import local_name, parse_untrusted
from cr_einvoice.delivery.formatting import fecha, fecha_hora, fmt_cantidad, fmt_monto
from cr_einvoice.delivery.labels import ESTADOS, describe, titulo
from cr_einvoice.delivery.quickread import quick_view
from cr_einvoice.delivery.view import (
    Campo,
    Linea,
    Parte,
    Representacion,
    asumido_nota,
    descuento_nota,
    direccion,
    exoneracion_nota,
    identificacion,
    impuesto_celda,
    impuesto_otro_nota,
    linea_notas,
    medio,
    otro_cargo,
    otro_texto,
    parte,
    referencia,
    resumen_filas,
    situacion,
    tarifa,
)
from cr_einvoice.hacienda.respuesta import Respuesta, parse_respuesta
from cr_einvoice.signing.xades.algorithms import DS_NS
from cr_einvoice.vouchers.compute import CalculoLinea, ImpuestoCalculado
from cr_einvoice.vouchers.model import (
    Comprobante,
    Emisor,
    Identificacion,
    Impuesto,
    InformacionReferencia,
    LineaDetalle,
    LineaPago,
    MensajeReceptor,
    Receptor,
    ReciboPago,
    ResumenFactura,
    Telefono,
    Ubicacion,
)
from cr_einvoice.vouchers.xmlread import from_xml

__all__ = ["LEYENDAS", "Campo", "Linea", "Parte", "Representacion", "representacion"]

#: The customary leyenda per schema version: the resolution that authorises the vouchers.
LEYENDAS: dict[str, str] = {
    "4.4": "Autorizada mediante resolución N° MH-DGT-RES-0027-2024",
    "4.3": "Autorizada mediante resolución N° DGT-R-033-2019",
    "4.2": "Autorizada mediante resolución N° DGT-R-48-2016",
}
_VERSION = re.compile(r"/v(\d+\.\d+)/")
_SIGNATURE = f"{{{DS_NS}}}Signature"
_MAX_HACIENDA_LINES = 12


def representacion(
    signed_xml: bytes,
    *,
    respuesta_xml: bytes | None = None,
    estado: str | None = None,
    leyenda: str | None = None,
) -> Representacion:
    """Build the view model of a signed voucher (FE, ND, NC, TE, FEC, FEE, REP or MensajeReceptor).

    ``respuesta_xml``: Hacienda's MensajeHacienda for this clave (its state and findings are printed).
    ``estado``: the processing state to print (Hacienda's ``ind-estado`` or an outbox state such as
    ``accepted``); by default the answer's. ``leyenda``: the resolution text (default per schema version).
    Raises :class:`~cr_einvoice.core.errors.ValidationError` naming the field: an unsigned or unnumbered
    voucher, an answer for another clave, an unknown state.
    """
    if not isinstance(signed_xml, bytes | bytearray):
        raise ValidationError(
            f"expected the signed XML as bytes, got {type(signed_xml).__name__}", path="signed_xml"
        )
    root = parse_untrusted(bytes(signed_xml), what="signed voucher XML")
    if next(root.iterchildren(_SIGNATURE), None) is None:
        raise ValidationError(
            f"<{local_name(root.tag)}> carries no ds:Signature: only a signed voucher has a graphic "
            "representation",
            path="ds:Signature",
        )
    match = _VERSION.search((etree.QName(root).namespace or "") + "/")
    version = match.group(1) if match else "desconocida"
    # a plain v4.4 voucher straight from its tree; anything else through the model (the same view)
    view = quick_view(root, version)
    if view is None:
        view = model_view(root, version)
    respuesta = _respuesta(respuesta_xml)
    texto_estado = _estado(estado, respuesta)
    if respuesta is not None and respuesta.clave != view.clave:
        raise ValidationError(
            f"Hacienda's answer is for clave {respuesta.clave}, the voucher's is {view.clave}",
            path="respuesta_xml",
        )
    return _with_hacienda(view, respuesta, texto_estado, leyenda or LEYENDAS.get(version, LEYENDAS["4.4"]))


def model_view(root: etree._Element, version: str) -> Representacion:
    """The view read through the model (:func:`~cr_einvoice.vouchers.xmlread.from_xml` with the amounts
    as stated: nothing recomputed): every type and version."""
    doc = from_xml(root, stated=True)
    return _mensaje_receptor(doc, version) if isinstance(doc, MensajeReceptor) else _voucher(doc, version)


# -- Hacienda's answer ------------------------------------------------------------------------------------


def _respuesta(data: bytes | None) -> Respuesta | None:
    if data is None:
        return None
    if not isinstance(data, bytes | bytearray):
        raise ValidationError(f"expected bytes, got {type(data).__name__}", path="respuesta_xml")
    try:
        return parse_respuesta(bytes(data))
    except ValidationError as exc:
        raise ValidationError(
            [type(p)(f"respuesta_xml: {p.path}", p.message, p.code) for p in exc.problems]
        ) from None


def _estado(estado: str | None, respuesta: Respuesta | None) -> str | None:
    if estado is None:
        return ESTADOS.get(respuesta.estado, respuesta.estado.capitalize()) if respuesta else None
    key = estado.strip().lower()
    if key not in ESTADOS:
        raise ValidationError(
            f"unknown state {estado!r} (expected one of {', '.join(sorted(ESTADOS))})", path="estado"
        )
    return ESTADOS[key]


def _with_hacienda(
    view: Representacion, respuesta: Respuesta | None, estado: str | None, leyenda: str
) -> Representacion:
    lines: list[str] = []
    if respuesta is not None:
        lines.append(f"Mensaje de Hacienda: {respuesta.estado_mensaje or respuesta.estado}")
        if respuesta.ambiente_pruebas:
            lines.append("Ambiente de pruebas: sin validez para fines tributarios")
        errores = [str(e) for e in respuesta.errores]
        lines += errores[:_MAX_HACIENDA_LINES]
        if len(errores) > _MAX_HACIENDA_LINES:
            lines.append(f"… y {len(errores) - _MAX_HACIENDA_LINES} observaciones más")
    return dataclasses.replace(view, estado=estado, hacienda=tuple(lines), leyenda=leyenda)


# -- parties ----------------------------------------------------------------------------------------------


def _identificacion(ident: Identificacion | None) -> Campo | None:
    return None if ident is None else identificacion(ident.tipo, ident.numero)


def _ubicacion(u: Ubicacion | None, extranjero: str | None) -> str | None:
    if u is None:
        return extranjero
    return direccion(u.provincia, u.canton, u.distrito, u.barrio, u.otras_senas)


def _telefono(t: Telefono | None) -> str | None:
    return None if t is None else f"+{t.codigo_pais} {t.num_telefono}"


def _parte(rol: str, party: Emisor | Receptor) -> Parte:
    return parte(
        rol,
        party.nombre,
        nombre_comercial=party.nombre_comercial,
        identificacion=_identificacion(party.identificacion),
        registro=party.registrofiscal8707 if isinstance(party, Emisor) else None,
        direccion=_ubicacion(party.ubicacion, party.otras_senas_extranjero),
        telefono=_telefono(party.telefono),
        correos=party.correos_electronicos if isinstance(party, Emisor) else (party.correo_electronico,),
    )


# -- lines ------------------------------------------------------------------------------------------------


def _impuestos(
    taxes: Iterable[Impuesto], stated: Iterable[ImpuestoCalculado]
) -> tuple[tuple[str, ...], list[str]]:
    cells: list[str] = []
    notas: list[str] = []
    for tax, calc in zip(taxes, stated, strict=False):
        cells.append(
            impuesto_celda(tax.codigo, tax.codigo_tarifa_iva, tax.tarifa, tax.factor_calculo_iva, calc.monto)
        )
        if tax.codigo_impuesto_otro:
            notas.append(impuesto_otro_nota(tax.codigo, tax.codigo_impuesto_otro))
        exo = tax.exoneracion
        if exo is not None:
            notas.append(
                exoneracion_nota(
                    exo.tipo_documento_ex1,
                    exo.numero_documento,
                    articulo=exo.articulo,
                    inciso=exo.inciso,
                    institucion=exo.nombre_institucion,
                    institucion_otros=exo.nombre_institucion_otros,
                    fecha=fecha(exo.fecha_emision_ex),
                    tarifa=exo.tarifa_exonerada,
                    monto=calc.monto_exoneracion,
                )
            )
    return tuple(cells), notas


def _linea_detalle(numero: int, ln: LineaDetalle, calc: CalculoLinea) -> Linea:
    notas = linea_notas(
        [(cc.tipo, cc.codigo) for cc in ln.codigos_comerciales],
        partida=ln.partida_arancelaria,
        transaccion=ln.tipo_transaccion,
        unidad_comercial=ln.unidad_medida_comercial,
        vins=ln.numeros_vin_serie,
        registro=ln.registro_medicamento,
        forma=ln.forma_farmaceutica,
        fabrica=ln.iva_cobrado_fabrica,
    )
    for comp in ln.surtido:
        notas.append(
            f"Incluye {fmt_cantidad(comp.cantidad_surtido)} × {comp.detalle_surtido} "
            f"(CABYS {comp.codigo_cabys_surtido})"
        )
    for d in ln.descuentos:
        notas.append(
            descuento_nota(
                d.codigo_descuento, d.codigo_descuento_otro, d.naturaleza_descuento, d.monto_descuento or ZERO
            )
        )
    cells, tax_notes = _impuestos(ln.impuestos, calc.impuestos)
    if ln.surtido:  # a combo's taxes are stated on the line, computed from its components
        cells = tuple(
            f"{tarifa(t.codigo, t.codigo_tarifa_iva, None)}: {fmt_monto(t.monto)}" for t in calc.impuestos
        )
    if calc.impuesto_asumido_emisor_fabrica:
        notas.append(asumido_nota(calc.impuesto_asumido_emisor_fabrica))
    return Linea(
        numero=numero,
        cabys=ln.codigo_cabys,
        detalle=ln.detalle,
        notas=tuple(notas + tax_notes),
        cantidad=fmt_cantidad(ln.cantidad),
        unidad=ln.unidad_medida.value,
        precio_unitario=fmt_monto(ln.precio_unitario),
        descuento=fmt_monto(calc.total_descuentos),
        impuestos=cells,
        total=fmt_monto(calc.monto_total_linea),
    )


def _linea_pago(numero: int, ln: LineaPago, calc: CalculoLinea) -> Linea:
    cells, notas = _impuestos(ln.impuestos, calc.impuestos)
    return Linea(
        numero=numero,
        cabys="—",
        detalle=ln.detalle,
        notas=(f"Monto pagado sobre el que se calcula el IVA: {fmt_monto(calc.sub_total)}", *notas),
        cantidad="1",
        unidad="—",
        precio_unitario=fmt_monto(calc.monto_total),
        descuento=fmt_monto(calc.total_descuentos),
        impuestos=cells,
        total=fmt_monto(calc.monto_total_linea),
    )


# -- summary ----------------------------------------------------------------------------------------------


def _resumen(r: ResumenFactura) -> tuple[tuple[Campo, ...], Campo]:
    rows = resumen_filas(
        lambda attr: getattr(r, attr),
        ((d.codigo, d.codigo_tarifa_iva, d.total_monto_impuesto) for d in r.total_desglose_impuesto),
    )
    return rows, Campo(f"Total comprobante ({r.codigo_moneda})", fmt_monto(r.total_comprobante))


def _referencia(ref: InformacionReferencia) -> str:
    return referencia(
        ref.tipo_doc_ir,
        ref.tipo_doc_ref_otro,
        numero=ref.numero,
        fecha=fecha_hora(ref.fecha_emision_ir),
        codigo=ref.codigo,
        codigo_otro=ref.codigo_referencia_otro,
        razon=ref.razon,
    )


# -- documents --------------------------------------------------------------------------------------------


def _numbering(doc: Comprobante | ReciboPago) -> tuple[str, str, str]:
    missing = [
        name
        for name, value in (
            ("Clave", doc.clave),
            ("NumeroConsecutivo", doc.numero_consecutivo),
            ("FechaEmision", doc.fecha_emision),
        )
        if value is None
    ]
    if missing:
        raise ValidationError(f"the voucher has no {', '.join(missing)}", path=missing[0])
    assert doc.clave is not None and doc.numero_consecutivo is not None and doc.fecha_emision is not None
    return doc.clave, doc.numero_consecutivo, fecha_hora(doc.fecha_emision)


def _voucher(doc: Comprobante | ReciboPago, version: str) -> Representacion:
    clave, consecutivo, emitida = _numbering(doc)
    stated = doc.stated
    resumen = stated.resumen if stated is not None else doc.resumen
    calcs = stated.lineas if stated is not None else tuple(ln.calculo for ln in doc.lineas)
    items: tuple[LineaDetalle | LineaPago, ...] = doc.lineas
    lineas = tuple(
        _linea_pago(i, ln, calc) if isinstance(ln, LineaPago) else _linea_detalle(i, ln, calc)
        for i, (ln, calc) in enumerate(zip(items, calcs, strict=False), start=1)
    )
    compra = doc.tipo is TipoDocumento.FACTURA_COMPRA
    condiciones: list[Campo] = []
    otros_cargos: list[Campo] = []
    otros: list[str] = []
    if isinstance(doc, Comprobante):
        if doc.codigo_actividad_emisor:
            condiciones.append(Campo("Actividad económica del emisor", doc.codigo_actividad_emisor))
        if doc.codigo_actividad_receptor:
            condiciones.append(Campo("Actividad económica del receptor", doc.codigo_actividad_receptor))
        venta = describe(doc.condicion_venta)
        if doc.condicion_venta_otros:
            venta += f" ({doc.condicion_venta_otros})"
        condiciones.append(Campo("Condición de venta", venta))
        if doc.plazo_credito:
            condiciones.append(Campo("Plazo de crédito", f"{doc.plazo_credito} días"))
        for oc in doc.otros_cargos:
            ident = oc.identificacion_tercero
            tercero = (
                (oc.nombre_tercero, ident.numero if ident is not None else None)
                if oc.nombre_tercero or ident is not None
                else None
            )
            otros_cargos.append(
                otro_cargo(
                    oc.tipo_documento_oc,
                    oc.tipo_documento_otros,
                    detalle=oc.detalle,
                    porcentaje=oc.porcentaje_oc,
                    tercero=tercero,
                    monto=oc.monto_cargo,
                )
            )
        if doc.otros is not None:
            otros += [
                otro_texto(t.codigo, t.valor)
                for t in (*doc.otros.otros_textos, *doc.otros.otros_contenidos)
                if t.valor.strip()
            ]
    else:
        condiciones.append(Campo("Condición de venta", describe(doc.condicion_venta)))
    condiciones.append(Campo("Moneda", str(resumen.codigo_moneda)))
    condiciones.append(Campo("Tipo de cambio", fmt_monto(resumen.tipo_cambio)))
    condiciones += [
        medio(m.tipo_medio_pago, m.medio_pago_otros, m.total_medio_pago)
        for m in (resumen.medios_pago or doc.medios_pago)
    ]
    condiciones.append(Campo("Proveedor de sistemas", doc.proveedor_sistemas or "—"))
    filas, total = _resumen(resumen)
    return Representacion(
        tipo=doc.tipo,
        titulo=titulo(doc.tipo),
        version=version,
        clave=clave,
        consecutivo=consecutivo,
        fecha_emision=emitida,
        situacion=situacion(clave),
        emisor=_parte("Emisor (vendedor)" if compra else "Emisor", doc.emisor),
        receptor=(
            _parte("Receptor (comprador)" if compra else "Receptor", doc.receptor)
            if doc.receptor is not None
            else None
        ),
        condiciones=tuple(condiciones),
        lineas=lineas,
        otros_cargos=tuple(otros_cargos),
        resumen=filas,
        total=total,
        referencias=tuple(_referencia(r) for r in doc.referencias),
        otros=tuple(otros),
        estado=None,
        hacienda=(),
        leyenda="",
        qr=clave,
    )


def _cedula(rol: str, numero: str) -> Parte:
    return Parte(rol, "", (Campo("Identificación", numero),))


def _mensaje_receptor(doc: MensajeReceptor, version: str) -> Representacion:
    if not doc.clave:  # read leniently, it may be empty; the QR code encodes it
        raise ValidationError("the MensajeReceptor has no Clave", path="Clave")
    if doc.numero_consecutivo_receptor is None or doc.fecha_emision_doc is None:
        raise ValidationError(
            "the MensajeReceptor has no NumeroConsecutivoReceptor or FechaEmisionDoc",
            path="NumeroConsecutivoReceptor",
        )
    condiciones = [Campo("Mensaje", describe(doc.mensaje))]
    if doc.detalle_mensaje:
        condiciones.append(Campo("Detalle del mensaje", doc.detalle_mensaje))
    if doc.codigo_actividad:
        condiciones.append(Campo("Actividad económica", doc.codigo_actividad))
    if doc.condicion_impuesto is not None:
        condiciones.append(Campo("Condición del impuesto", describe(doc.condicion_impuesto)))
    montos = (
        ("Monto total del impuesto", doc.monto_total_impuesto),
        ("Impuesto a acreditar", doc.monto_total_impuesto_acreditar),
        ("Gasto aplicable", doc.monto_total_de_gasto_aplicable),
    )
    return Representacion(
        tipo=doc.tipo,
        titulo=titulo(doc.tipo),
        version=version,
        clave=doc.clave,
        consecutivo=doc.numero_consecutivo_receptor,
        fecha_emision=fecha_hora(doc.fecha_emision_doc),
        situacion=situacion(doc.clave),
        emisor=_cedula("Emisor del comprobante confirmado", doc.numero_cedula_emisor),
        receptor=_cedula("Receptor que confirma", doc.numero_cedula_receptor),
        condiciones=tuple(condiciones),
        lineas=(),
        otros_cargos=(),
        resumen=tuple(Campo(label, fmt_monto(v)) for label, v in montos if v is not None),
        total=Campo("Total de la factura", fmt_monto(doc.total_factura)),
        referencias=(),
        otros=(),
        estado=None,
        hacienda=(),
        leyenda="",
        qr=doc.clave,
        clave_etiqueta="Clave del comprobante confirmado",
    )
