"""FacturaElectronica and Tiquete: arithmetic golden values, XML against the official XSD, input errors."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal as D  # noqa: N817

import pytest
from lxml import etree

from cr_einvoice.core.catalogs import CodigoTarifaIVA, TipoDocumento
from cr_einvoice.core.clave import CR_TZ
from cr_einvoice.core.errors import ValidationError
from cr_einvoice.vouchers.model import (
    Descuento,
    Emisor,
    Exoneracion,
    FacturaElectronica,
    Identificacion,
    Impuesto,
    LineaDetalle,
    MedioPago,
    OtroCargo,
    Receptor,
    Tiquete,
    Ubicacion,
)
from cr_einvoice.vouchers.xmlwrite import NAMESPACES, to_xml

NS = "{https://cdn.comprobanteselectronicos.go.cr/xml-schemas/v4.4/facturaElectronica}"

EMISOR = Emisor(
    nombre="Servicios Ejemplo del Valle SA",
    identificacion=Identificacion(tipo="02", numero="3101123456"),
    correos_electronicos=("facturas@ejemplo.cr",),
    ubicacion=Ubicacion(
        provincia=1, canton=1, distrito=8, otras_senas="Del parque de Mata Redonda 200 m oeste"
    ),
)
RECEPTOR = Receptor(
    nombre="Comercial Cliente Limitada", identificacion=Identificacion(tipo="02", numero="3102654321")
)
IVA13 = Impuesto(codigo="01", codigo_tarifa_iva="08")


def worked_example(**extra: object) -> FacturaElectronica:
    """Notes §9.3: a service line with a commercial discount and a goods line, IVA 13 %."""
    return FacturaElectronica(
        proveedor_sistemas="3101123456",
        emisor=EMISOR,
        receptor=RECEPTOR,
        codigo_actividad_emisor="620100",
        lineas=(
            LineaDetalle(
                codigo_cabys="8314100000000",
                detalle="Consultoría en sistemas",
                cantidad=D("2.000"),
                unidad_medida="Sp",
                precio_unitario=D("15000.00000"),
                descuentos=(Descuento(codigo_descuento="07", monto_descuento=D("1500.00000")),),
                impuestos=(IVA13,),
            ),
            LineaDetalle(
                codigo_cabys="2399999999999",
                detalle="Repuesto de impresora",
                cantidad=D("3.000"),
                precio_unitario=D("1234.56789"),
                impuestos=(IVA13,),
            ),
        ),
        medios_pago=(MedioPago(tipo_medio_pago="04"),),
        **extra,  # type: ignore[arg-type]
    )


def test_worked_example_of_the_notes_is_reproduced_exactly() -> None:
    doc = worked_example()
    l1, l2 = (ln.calculo for ln in doc.lineas)
    assert (l1.monto_total, l1.total_descuentos, l1.sub_total, l1.base_imponible) == (
        D("30000.00000"),
        D("1500.00000"),
        D("28500.00000"),
        D("28500.00000"),
    )
    assert (l1.impuestos[0].monto, l1.impuesto_asumido_emisor_fabrica, l1.impuesto_neto) == (
        D("3705.00000"),
        D("0"),
        D("3705.00000"),
    )
    assert l1.monto_total_linea == D("32205.00000")
    assert (l2.monto_total, l2.sub_total, l2.base_imponible) == (D("3703.70367"),) * 3
    assert l2.impuestos[0].monto == D("481.48148")  # 481.4814771 half-up
    assert l2.monto_total_linea == D("4185.18515")
    r = doc.resumen
    assert r.total_serv_gravados == D("30000.00000")
    assert r.total_mercancias_gravadas == D("3703.70367")
    assert r.total_gravado == r.total_venta == D("33703.70367")
    assert r.total_descuentos == D("1500.00000")
    assert r.total_venta_neta == D("32203.70367")
    assert [
        (d.codigo.value, d.codigo_tarifa_iva, d.total_monto_impuesto) for d in r.total_desglose_impuesto
    ] == [("01", CodigoTarifaIVA.GENERAL_13, D("4186.48148"))]
    assert r.total_impuesto == D("4186.48148")
    assert r.total_comprobante == D("36390.18515") == l1.monto_total_linea + l2.monto_total_linea
    # one payment means: its amount defaults to the total
    assert r.medios_pago[0].total_medio_pago == D("36390.18515")


def test_worked_example_xml_validates_and_carries_the_amounts(
    numbered: Callable[..., object], xsd_errors
) -> None:
    doc = numbered(worked_example())
    data = to_xml(doc)  # type: ignore[arg-type]
    assert data.startswith(b"<?xml version='1.0' encoding='UTF-8'?>")
    assert xsd_errors(data) == []
    root = etree.fromstring(data)
    assert root.tag == f"{NS}FacturaElectronica"
    assert root.findtext(f"{NS}ResumenFactura/{NS}TotalComprobante") == "36390.18515"
    assert [e.text for e in root.iter(f"{NS}Monto")] == ["3705.00000", "481.48148"]
    assert root.findtext(f"{NS}DetalleServicio/{NS}LineaDetalle/{NS}Cantidad") == "2.000"
    assert root.findtext(f"{NS}FechaEmision").endswith("-06:00")
    assert root.find("{http://www.w3.org/2000/09/xmldsig#}Signature") is None
    # element order of the root follows the schema
    names = [etree.QName(c).localname for c in root]
    assert names == [
        "Clave",
        "ProveedorSistemas",
        "CodigoActividadEmisor",
        "NumeroConsecutivo",
        "FechaEmision",
        "Emisor",
        "Receptor",
        "CondicionVenta",
        "DetalleServicio",
        "ResumenFactura",
    ]


def test_exoneration_splits_gravado_and_exonerado_by_proportion(numbered, xsd_errors) -> None:
    exo = Exoneracion(
        tipo_documento_ex1="04",
        numero_documento="AL-00012345-24",
        nombre_institucion="01",
        fecha_emision_ex=datetime(2026, 1, 15, 8, 0, tzinfo=CR_TZ),
        tarifa_exonerada=D("9"),
    )
    doc = FacturaElectronica(
        proveedor_sistemas="3101123456",
        emisor=EMISOR,
        receptor=RECEPTOR,
        codigo_actividad_emisor="620100",
        condicion_venta="02",
        plazo_credito=30,
        lineas=(
            LineaDetalle(
                codigo_cabys="4523000000000",
                detalle="Equipo de cómputo portátil",
                cantidad=D("2"),
                precio_unitario=D("450000"),
                descuentos=(
                    Descuento(codigo_descuento="04", porcentaje=D("10")),
                    Descuento(codigo_descuento="06", porcentaje=D("5")),
                ),
                impuestos=(Impuesto(codigo="01", codigo_tarifa_iva="08", exoneracion=exo),),
            ),
        ),
    )
    calc = doc.lineas[0].calculo
    # successive discounts: 10 % of 900000, then 5 % of the remaining 810000
    assert [d.monto_descuento for d in doc.lineas[0].descuentos] == [D("90000.00000"), D("40500.00000")]
    assert calc.sub_total == D("769500.00000")
    assert calc.impuestos[0].monto == D("100035.00000")
    assert calc.impuestos[0].monto_exoneracion == D("69255.00000")  # 9 % of the base
    assert calc.impuesto_neto == D("30780.00000")
    r = doc.resumen
    # p = 9/13 of MontoTotal 900000 exonerated
    assert r.total_merc_exonerada == D("623076.92308")
    assert r.total_mercancias_gravadas == D("276923.07692")
    assert r.total_venta == D("900000.00000")
    assert r.total_comprobante == calc.monto_total_linea == D("800280.00000")
    assert r.medios_pago == ()  # credit sale: no payment means required
    assert xsd_errors(to_xml(numbered(doc))) == []


def test_tiquete_without_receptor_several_payment_means_and_other_charge(numbered, xsd_errors) -> None:
    doc = Tiquete(
        proveedor_sistemas="3101123456",
        emisor=EMISOR,
        codigo_actividad_emisor="561001",
        lineas=(
            LineaDetalle(
                codigo_cabys="6331100000100",
                detalle="Almuerzo ejecutivo",
                cantidad=D("2"),
                unidad_medida="Unid",
                precio_unitario=D("4500"),
                impuestos=(IVA13,),
            ),
            LineaDetalle(
                codigo_cabys="2441000000100",
                detalle="Agua embotellada 600 ml",
                precio_unitario=D("800"),
                impuestos=(Impuesto(codigo="01", codigo_tarifa_iva="10"),),
            ),
        ),
        otros_cargos=(
            OtroCargo(
                tipo_documento_oc="06",
                detalle="Impuesto de servicio 10%",
                porcentaje_oc=D("10"),
                monto_cargo=D("900"),
            ),
        ),
        medios_pago=(
            MedioPago(tipo_medio_pago="01", total_medio_pago=D("5000")),
            MedioPago(tipo_medio_pago="06", total_medio_pago=D("6870")),
        ),
    )
    r = doc.resumen
    assert r.total_serv_gravados == D("9000.00000")
    assert r.total_mercancias_exentas == D("800.00000")
    assert r.total_impuesto == D("1170.00000")
    assert r.total_otros_cargos == D("900")
    assert r.total_comprobante == D("11870.00000")
    assert [(d.codigo_tarifa_iva.value, d.total_monto_impuesto) for d in r.total_desglose_impuesto] == [  # type: ignore[union-attr]
        ("08", D("1170.00000")),
        ("10", D("0")),
    ]
    data = to_xml(numbered(doc))
    assert xsd_errors(data) == []
    assert etree.fromstring(data).tag == "{" + NAMESPACES["TiqueteElectronico"] + "}TiqueteElectronico"


def test_payment_means_must_add_up_to_the_total() -> None:
    with pytest.raises(ValidationError) as info:
        worked_example().__class__(
            proveedor_sistemas="3101123456",
            emisor=EMISOR,
            receptor=RECEPTOR,
            codigo_actividad_emisor="620100",
            lineas=worked_example().lineas,
            medios_pago=(
                MedioPago(tipo_medio_pago="01", total_medio_pago=D("100")),
                MedioPago(tipo_medio_pago="02"),
            ),
        )
    paths = [p.path for p in info.value.problems]
    assert "medios_pago[1].total_medio_pago" in paths


def test_errors_name_the_field() -> None:
    with pytest.raises(ValidationError) as info:
        LineaDetalle(codigo_cabys="123", detalle="x", precio_unitario=1.5, impuestos=(IVA13,))  # type: ignore[arg-type]
    paths = {p.path for p in info.value.problems}
    assert {"codigo_cabys", "detalle", "precio_unitario"} <= paths
    assert "float" in str(info.value)
    with pytest.raises(ValidationError) as info2:
        worked_example(condicion_venta="02")  # credit without plazo
    assert [p.path for p in info2.value.problems] == ["plazo_credito"]


def test_to_xml_requires_numbering() -> None:
    with pytest.raises(ValidationError) as info:
        to_xml(worked_example())
    assert [p.path for p in info.value.problems] == ["clave", "numero_consecutivo", "fecha_emision"]


def test_numbering_is_checked_against_type_and_date(numbered) -> None:
    doc = numbered(worked_example(), numero=7)
    assert doc.tipo is TipoDocumento.FACTURA_ELECTRONICA  # type: ignore[attr-defined]
    assert doc.numero_consecutivo == "00100001010000000007"  # type: ignore[attr-defined]
    assert doc == numbered(worked_example(), numero=7).__class__(
        **{  # type: ignore[attr-defined]
            f: getattr(doc, f)
            for f in (
                "proveedor_sistemas",
                "emisor",
                "receptor",
                "codigo_actividad_emisor",
                "lineas",
                "medios_pago",
                "clave",
                "numero_consecutivo",
                "fecha_emision",
            )
        }
    )
    with pytest.raises(ValidationError) as info:
        worked_example().with_numbering(
            consecutivo="00100001040000000007",  # a tiquete number on a factura
            clave=doc.clave,  # type: ignore[attr-defined]
            fecha_emision=doc.fecha_emision,  # type: ignore[attr-defined]
        )
    assert any(p.path == "numero_consecutivo" for p in info.value.problems)
