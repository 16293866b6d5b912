"""Two or more realistic scenarios per voucher type: golden totals, official XSD, rules, round trip."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal as D  # noqa: N817
from typing import Any

import pytest
from lxml import etree

from cr_einvoice.core.catalogs import CodigoImpuesto, CodigoTarifaIVA, Mensaje, TipoDocumento
from cr_einvoice.core.clave import CR_TZ
from cr_einvoice.core.errors import ValidationError
from cr_einvoice.vouchers.model import (
    DatosImpuestoEspecifico,
    Descuento,
    Emisor,
    FacturaCompra,
    FacturaElectronica,
    FacturaExportacion,
    Identificacion,
    Impuesto,
    InformacionReferencia,
    LineaDetalle,
    LineaPago,
    MedioPago,
    MensajeReceptor,
    NotaCredito,
    NotaDebito,
    OtroCargo,
    Receptor,
    ReciboPago,
    Tiquete,
    Ubicacion,
)
from cr_einvoice.vouchers.rules import check_rules
from cr_einvoice.vouchers.xmlread import from_xml
from cr_einvoice.vouchers.xmlwrite import to_xml

UBICACION = Ubicacion(provincia=1, canton=1, distrito=8, otras_senas="Del Estadio Nacional 200 metros oeste")
EMISOR = Emisor(
    nombre="Soluciones Tecnológicas del Valle S.A.",
    identificacion=Identificacion(tipo="02", numero="3101123456"),
    ubicacion=UBICACION,
    correos_electronicos=("facturacion@tecnovalle.example.cr",),
)
RECEPTOR = Receptor(
    nombre="Distribuidora La Sabana Limitada", identificacion=Identificacion(tipo="02", numero="3102654321")
)
FE_CLAVE = "50615072600310112345600100001010000000123148213975"
FE_FECHA = datetime(2026, 7, 15, 9, 30, tzinfo=CR_TZ)
IVA13 = Impuesto(codigo="01", codigo_tarifa_iva="08")
COMMON: dict[str, Any] = {"proveedor_sistemas": "3101123456", "emisor": EMISOR}


@pytest.fixture
def issue(numbered: Callable[..., Any], xsd_errors: Callable[[bytes], list[str]]) -> Callable[[Any], Any]:
    """Number, serialise, check against the official XSD and the business rules, read back: returns the
    parsed document after asserting it equals the original and states exactly the computed totals."""

    def run(doc: Any) -> Any:
        done = numbered(doc)
        data = to_xml(done)
        assert xsd_errors(data) == []
        assert [str(p) for p in check_rules(etree.fromstring(data))] == []
        back = from_xml(data)
        assert back == done
        if not isinstance(back, MensajeReceptor):
            assert back.stated_differences() == []
            assert back.stated_resumen == done.resumen
        return back

    return run


def fe(**kw: Any) -> FacturaElectronica:
    return FacturaElectronica(**{**COMMON, "receptor": RECEPTOR, "codigo_actividad_emisor": "620100", **kw})


# -- FacturaElectronica -----------------------------------------------------------------------------------


def test_fe_specific_taxes_form_the_iva_base(issue: Callable[[Any], Any]) -> None:
    doc = fe(
        emisor=Emisor(**{**_emisor_kwargs(), "registrofiscal8707": "RF-00123"}),
        lineas=(
            LineaDetalle(
                codigo_cabys="2111100000100",
                detalle="Bebida energética 473 ml, caja",
                precio_unitario=D("10000"),
                impuestos=(Impuesto(codigo="02", tarifa=D("10")), IVA13),
            ),
            LineaDetalle(
                codigo_cabys="2411200000100",
                detalle="Ron añejo 750 ml",
                cantidad=D("6"),
                precio_unitario=D("8000"),
                impuestos=(
                    Impuesto(
                        codigo="04",
                        datos_impuesto_especifico=DatosImpuestoEspecifico(
                            cantidad_unidad_medida=D("750"), porcentaje=D("40"), impuesto_unidad=D("0.35")
                        ),
                    ),
                    IVA13,
                ),
            ),
        ),
        medios_pago=(MedioPago(tipo_medio_pago="01"),),
    )
    l1, l2 = (ln.calculo for ln in doc.lineas)
    assert [t.monto for t in l1.impuestos] == [D("1000.00000"), D("1430.00000")]
    assert l1.base_imponible == D("11000.00000")
    assert l1.monto_total_linea == D("12430.00000")
    assert doc.lineas[1].impuestos[0].datos_impuesto_especifico.proporcion == D("300.00000")  # type: ignore[union-attr]
    assert [t.monto for t in l2.impuestos] == [D("630.00000"), D("6321.90000")]
    assert l2.base_imponible == D("48630.00000")
    assert l2.monto_total_linea == D("54951.90000")
    r = doc.resumen
    assert {(d.codigo, d.codigo_tarifa_iva): d.total_monto_impuesto for d in r.total_desglose_impuesto} == {
        (CodigoImpuesto.SELECTIVO_CONSUMO, None): D("1000.00000"),
        (CodigoImpuesto.IVA, CodigoTarifaIVA.GENERAL_13): D("7751.90000"),
        (CodigoImpuesto.BEBIDAS_ALCOHOLICAS, None): D("630.00000"),
    }
    assert r.total_impuesto == D("9381.90000")
    assert r.total_comprobante == D("67381.90000")
    issue(doc)


def test_fe_regalia_iva_is_assumed_by_the_emisor(issue: Callable[[Any], Any]) -> None:
    doc = fe(
        lineas=(
            LineaDetalle(
                codigo_cabys="2399100000100",
                detalle="Galletas de avena, paquete",
                cantidad=D("10"),
                precio_unitario=D("1000"),
                descuentos=(Descuento(codigo_descuento="01", monto_descuento=D("1000")),),
                impuestos=(IVA13,),
            ),
        ),
        medios_pago=(MedioPago(tipo_medio_pago="02"),),
    )
    calc = doc.lineas[0].calculo
    assert calc.sub_total == D("9000.00000")
    assert calc.impuestos[0].monto == D("1300.00000")  # on MontoTotal
    assert calc.impuesto_asumido_emisor_fabrica == D("130.00000")
    assert calc.impuesto_neto == D("1170.00000")
    assert doc.resumen.total_imp_asum_emisor_fabrica == D("130.00000")
    assert doc.resumen.total_comprobante == D("10170.00000")
    issue(doc)


def test_fe_usd_bienes_usados_condicion_otros_two_means(issue: Callable[[Any], Any]) -> None:
    doc = fe(
        condicion_venta="99",
        condicion_venta_otros="Permuta parcial con saldo en efectivo",
        codigo_moneda="USD",
        tipo_cambio=D("512.35"),
        lineas=(
            LineaDetalle(
                codigo_cabys="4911300000100",
                detalle="Vehículo usado, sedán 2019",
                precio_unitario=D("9800"),
                numeros_vin_serie=("JTDBR32E720123456",),
                impuestos=(Impuesto(codigo="08", factor_calculo_iva=D("0.0550")),),
            ),
        ),
        otros_cargos=(
            OtroCargo(
                tipo_documento_oc="04",
                detalle="Traspaso registral cobrado por el notario",
                identificacion_tercero=Identificacion(tipo="01", numero="112340567"),
                nombre_tercero="Licda. Ana Solís Mora",
                monto_cargo=D("150"),
            ),
        ),
        medios_pago=(
            MedioPago(tipo_medio_pago="04", total_medio_pago=D("8000")),
            MedioPago(
                tipo_medio_pago="99",
                medio_pago_otros="Vehículo recibido en permuta",
                total_medio_pago=D("2489"),
            ),
        ),
    )
    r = doc.resumen
    assert doc.lineas[0].calculo.impuestos[0].monto == D("539.00000")
    assert r.total_mercancias_gravadas == D("9800.00000")
    assert r.total_comprobante == D("10489.00000")
    issue(doc)


# -- Tiquete ------------------------------------------------------------------------------------------------


def test_te_health_service_paid_by_card_returns_iva(issue: Callable[[Any], Any]) -> None:
    doc = Tiquete(
        **COMMON,
        codigo_actividad_emisor="862201",
        lineas=(
            LineaDetalle(
                codigo_cabys="9312100000100",
                detalle="Consulta de medicina general",
                unidad_medida="Sp",
                precio_unitario=D("30000"),
                impuestos=(Impuesto(codigo="01", codigo_tarifa_iva="04"),),
            ),
        ),
        iva_devuelto_salud=True,
        medios_pago=(MedioPago(tipo_medio_pago="02"),),
    )
    r = doc.resumen
    assert r.total_impuesto == D("1200.00000")
    assert r.total_iva_devuelto == D("1200.00000")
    assert r.total_comprobante == D("30000.00000")
    issue(doc)


def test_iva_devuelto_needs_a_card_payment() -> None:
    with pytest.raises(ValidationError) as info:
        Tiquete(
            **COMMON,
            codigo_actividad_emisor="862201",
            lineas=(
                LineaDetalle(
                    codigo_cabys="9312100000100",
                    detalle="Consulta",
                    precio_unitario=D("30000"),
                    impuestos=(Impuesto(codigo="01", codigo_tarifa_iva="04"),),
                ),
            ),
            iva_devuelto_salud=True,
            medios_pago=(MedioPago(tipo_medio_pago="01"),),
        )
    assert [p.path for p in info.value.problems] == ["iva_devuelto_salud"]


# -- NotaCredito / NotaDebito --------------------------------------------------------------------------------


def _ref(codigo: str, razon: str) -> InformacionReferencia:
    return InformacionReferencia(
        tipo_doc_ir="01", numero=FE_CLAVE, fecha_emision_ir=FE_FECHA, codigo=codigo, razon=razon
    )


def test_nc_anula_with_transitional_rate(issue: Callable[[Any], Any]) -> None:
    doc = NotaCredito(
        **COMMON,
        receptor=RECEPTOR,
        lineas=(
            LineaDetalle(
                codigo_cabys="8314200000000",
                detalle="Servicio de soporte técnico (régimen transitorio)",
                precio_unitario=D("100000"),
                impuestos=(Impuesto(codigo="01", codigo_tarifa_iva="07"),),
            ),
        ),
        medios_pago=(MedioPago(tipo_medio_pago="04"),),
        referencias=(_ref("01", "Anula la factura por error en el receptor"),),
    )
    assert doc.resumen.total_impuesto == D("8000.00000")
    assert doc.resumen.total_comprobante == D("108000.00000")
    back = issue(doc)
    assert back.referencias[0].numero == FE_CLAVE


def test_transitional_rates_are_refused_outside_notes() -> None:
    with pytest.raises(ValidationError) as info:
        fe(
            lineas=(
                LineaDetalle(
                    codigo_cabys="8314200000000",
                    detalle="Soporte",
                    precio_unitario=D("100"),
                    impuestos=(Impuesto(codigo="01", codigo_tarifa_iva="07"),),
                ),
            ),
            medios_pago=(MedioPago(tipo_medio_pago="01"),),
        )
    assert [p.path for p in info.value.problems] == ["lineas[0].impuestos[0].codigo_tarifa_iva"]


def test_nd_corrige_monto_with_a_line(issue: Callable[[Any], Any]) -> None:
    doc = NotaDebito(
        **COMMON,
        receptor=RECEPTOR,
        codigo_actividad_emisor="620100",
        lineas=(
            LineaDetalle(
                codigo_cabys="4529200000200",
                detalle="Diferencia de precio: teclado",
                precio_unitario=D("5000"),
                impuestos=(IVA13,),
            ),
        ),
        medios_pago=(MedioPago(tipo_medio_pago="04"),),
        referencias=(_ref("02", "Corrige el precio unitario facturado"),),
    )
    assert doc.resumen.total_comprobante == D("5650.00000")
    issue(doc)


def test_notes_need_a_reference() -> None:
    for cls in (NotaCredito, NotaDebito):
        with pytest.raises(ValidationError) as info:
            cls(
                **COMMON,
                lineas=(
                    LineaDetalle(
                        codigo_cabys="4529200000200",
                        detalle="Teclado",
                        precio_unitario=D("5000"),
                        impuestos=(IVA13,),
                    ),
                ),
                medios_pago=(MedioPago(tipo_medio_pago="01"),),
            )
        assert [p.path for p in info.value.problems] == ["referencias"]


# -- FacturaCompra ------------------------------------------------------------------------------------------


def test_fec_used_goods_from_a_non_taxpayer(issue: Callable[[Any], Any]) -> None:
    doc = FacturaCompra(
        proveedor_sistemas="3101123456",
        emisor=Emisor(
            nombre="María Fernanda Rojas Quesada",
            identificacion=Identificacion(tipo="06", numero="503450678"),
            ubicacion=Ubicacion(provincia=5, canton=1, distrito=1, otras_senas="Barrio Los Ángeles, casa 14"),
        ),
        receptor=Receptor(
            nombre=EMISOR.nombre,
            identificacion=EMISOR.identificacion,
            ubicacion=UBICACION,
            correo_electronico="compras@tecnovalle.example.cr",
        ),
        codigo_actividad_receptor="620100",
        condicion_venta="13",
        lineas=(
            LineaDetalle(
                codigo_cabys="4481100000100",
                detalle="Refrigeradora usada 14 pies",
                precio_unitario=D("95000"),
                impuestos=(Impuesto(codigo="01", codigo_tarifa_iva="11"),),
            ),
        ),
        medios_pago=(MedioPago(tipo_medio_pago="01"),),
        referencias=(
            InformacionReferencia(
                tipo_doc_ir="99",
                tipo_doc_ref_otro="Contrato de compraventa de bien usado",
                numero="CV-2026-017",
                fecha_emision_ir=FE_FECHA,
                codigo="04",
                razon="Compra de bien usado a persona no contribuyente",
            ),
        ),
    )
    assert doc.resumen.total_merc_no_sujeta == D("95000.00000")
    assert doc.resumen.total_comprobante == D("95000.00000")
    issue(doc)


def test_fec_non_domiciled_seller_needs_reference_16() -> None:
    with pytest.raises(ValidationError) as info:
        FacturaCompra(
            proveedor_sistemas="3101123456",
            emisor=Emisor(
                nombre="Northwind Cloud LLC", identificacion=Identificacion(tipo="05", numero="840123456789")
            ),
            receptor=Receptor(nombre=EMISOR.nombre, identificacion=EMISOR.identificacion),
            codigo_actividad_receptor="620100",
            lineas=(
                LineaDetalle(
                    codigo_cabys="8315300000100", detalle="Nube", precio_unitario=D("10"), impuestos=(IVA13,)
                ),
            ),
            medios_pago=(MedioPago(tipo_medio_pago="02"),),
            referencias=(_ref("04", "Referencia a la factura del proveedor"),),
        )
    assert "referencias" in [p.path for p in info.value.problems]


# -- FacturaExportacion -------------------------------------------------------------------------------------


def test_fee_services_in_eur_without_receptor_identification(issue: Callable[[Any], Any]) -> None:
    doc = FacturaExportacion(
        **COMMON,
        codigo_actividad_emisor="620100",
        receptor=Receptor(
            nombre="Atelier Numérique SARL",
            otras_senas_extranjero="12 rue de Rivoli, 75001 Paris",
            correo_electronico="compta@atelier.example",
        ),
        lineas=(
            LineaDetalle(
                codigo_cabys="8314200000000",
                detalle="Desarrollo de aplicación móvil",
                cantidad=D("80"),
                unidad_medida="h",
                precio_unitario=D("45.50"),
                impuestos=(Impuesto(codigo="01", codigo_tarifa_iva="10"),),
            ),
        ),
        codigo_moneda="EUR",
        tipo_cambio=D("561.82"),
        medios_pago=(MedioPago(tipo_medio_pago="04"),),
    )
    assert doc.resumen.total_serv_exentos == D("3640.00000")
    assert doc.resumen.total_comprobante == D("3640.00000")
    back = issue(doc)
    root = etree.fromstring(to_xml(back))
    assert root.find("{*}DetalleServicio/{*}LineaDetalle/{*}BaseImponible") is None  # not in the FEE schema


def test_fee_refuses_exoneration() -> None:
    exo_tax = Impuesto(codigo="01", codigo_tarifa_iva="08", exoneracion=_exoneracion())
    with pytest.raises(ValidationError) as info:
        FacturaExportacion(
            **COMMON,
            codigo_actividad_emisor="620100",
            lineas=(
                LineaDetalle(
                    codigo_cabys="0161100000100", detalle="Café", precio_unitario=D("1"), impuestos=(exo_tax,)
                ),
            ),
            medios_pago=(MedioPago(tipo_medio_pago="04"),),
        )
    assert [p.path for p in info.value.problems] == ["lineas[0].impuestos[0].exoneracion"]


# -- ReciboPago ----------------------------------------------------------------------------------------------


def test_rep_paying_services_to_the_state_two_means(issue: Callable[[Any], Any]) -> None:
    doc = ReciboPago(
        proveedor_sistemas="3101123456",
        emisor=Emisor(
            nombre=EMISOR.nombre,
            identificacion=EMISOR.identificacion,
            correos_electronicos=EMISOR.correos_electronicos,
        ),
        receptor=Receptor(
            nombre="Instituto Costarricense de Ejemplo",
            identificacion=Identificacion(tipo="02", numero="4000042147"),
        ),
        condicion_venta="09",
        lineas=(
            LineaPago(
                detalle="Primer pago: mantenimiento de red", monto_total=D("100000"), impuestos=(IVA13,)
            ),
            LineaPago(
                detalle="Primer pago: licencias",
                monto_total=D("50000"),
                sub_total=D("40000"),
                impuestos=(IVA13,),
            ),
        ),
        medios_pago=(
            MedioPago(tipo_medio_pago="04", total_medio_pago=D("120000")),
            MedioPago(tipo_medio_pago="03", total_medio_pago=D("30000")),
        ),
        referencias=(_ref("04", "Pago de servicios prestados al Estado"),),
    )
    r = doc.resumen
    assert [ln.calculo.impuesto_neto for ln in doc.lineas] == [D("13000.00000"), D("5200.00000")]
    assert r.total_venta == r.total_venta_neta == r.total_comprobante == D("150000")
    assert r.total_impuesto == D("18200.00000")
    issue(doc)


def test_rep_only_allows_condicion_09_or_11() -> None:
    with pytest.raises(ValidationError) as info:
        ReciboPago(
            proveedor_sistemas="3101123456",
            emisor=Emisor(
                nombre=EMISOR.nombre,
                identificacion=EMISOR.identificacion,
                correos_electronicos=EMISOR.correos_electronicos,
            ),
            receptor=RECEPTOR,
            condicion_venta="01",
            lineas=(LineaPago(detalle="Pago", monto_total=D("1")),),
            medios_pago=(MedioPago(tipo_medio_pago="01"),),
            referencias=(_ref("04", "Pago"),),
        )
    assert [p.path for p in info.value.problems] == ["condicion_venta"]


# -- MensajeReceptor -----------------------------------------------------------------------------------------


def test_mr_rejection_and_partial_acceptance(issue: Callable[[Any], Any]) -> None:
    base: dict[str, Any] = {
        "clave": "50615072600310165432100100001010000000045171625348",
        "numero_cedula_emisor": "3101654321",
        "total_factura": D("36390.18515"),
        "monto_total_impuesto": D("4186.48148"),
        "numero_cedula_receptor": "3101123456",
    }
    rechazo = MensajeReceptor(**base, mensaje="3", detalle_mensaje="Mercadería no solicitada")
    assert rechazo.tipo is TipoDocumento.CONFIRMACION_RECHAZO
    back = issue(rechazo)
    assert back.mensaje is Mensaje.RECHAZADO
    parcial = MensajeReceptor(
        **base,
        mensaje="2",
        detalle_mensaje="Se recibieron 8 de 10 unidades",
        condicion_impuesto="02",
        monto_total_impuesto_acreditar=D("3000"),
        monto_total_de_gasto_aplicable=D("30000"),
        codigo_actividad="620100",
    )
    assert parcial.tipo is TipoDocumento.CONFIRMACION_ACEPTACION_PARCIAL
    issue(parcial)
    with pytest.raises(ValidationError) as info:
        MensajeReceptor(**base, mensaje="3")
    assert [p.path for p in info.value.problems] == ["detalle_mensaje"]


# -- helpers -------------------------------------------------------------------------------------------------


def _emisor_kwargs() -> dict[str, Any]:
    return {
        "nombre": EMISOR.nombre,
        "identificacion": EMISOR.identificacion,
        "ubicacion": EMISOR.ubicacion,
        "correos_electronicos": EMISOR.correos_electronicos,
    }


def _exoneracion() -> Any:
    from cr_einvoice.vouchers.model import Exoneracion

    return Exoneracion(
        tipo_documento_ex1="02",
        numero_documento="Ley 7214",
        articulo=1,
        nombre_institucion="02",
        fecha_emision_ex=FE_FECHA,
        tarifa_exonerada=D("13"),
    )


def test_fee_taxed_line_with_monto_exportacion(issue: Callable[[Any], Any]) -> None:
    doc = FacturaExportacion(
        **COMMON,
        codigo_actividad_emisor="620100",
        receptor=Receptor(
            nombre="Importadora Centroamericana S.A.", correo_electronico="compras@ica.example"
        ),
        lineas=(
            LineaDetalle(
                partida_arancelaria="220300000000",
                codigo_cabys="2431000000100",
                detalle="Cerveza artesanal 355 ml, caja de 24",
                cantidad=D("50"),
                precio_unitario=D("28.40"),
                impuestos=(Impuesto(codigo="01", codigo_tarifa_iva="08", monto_exportacion=D("12.5")),),
            ),
        ),
        codigo_moneda="USD",
        tipo_cambio=D("505.2"),
        medios_pago=(MedioPago(tipo_medio_pago="04"),),
    )
    assert doc.lineas[0].calculo.impuesto_neto == D("184.60000")
    assert doc.resumen.total_comprobante == D("1604.60000")
    back = issue(doc)  # the FEE line has no ImpuestoNeto element: the stated value is derived, not 0
    assert back.stated.lineas[0].impuesto_neto == D("184.60000")
