"""Business rules on combo lines (DetalleSurtido): a consistent combo built by the model passes; each broken
piece of the component arithmetic or of the line/summary consistency is reported with its path."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal as D  # noqa: N817

import pytest
from lxml import etree

from cr_einvoice.core.clave import CR_TZ, Clave, Consecutivo
from cr_einvoice.vouchers.model import (
    DescuentoSurtido,
    Emisor,
    FacturaElectronica,
    Identificacion,
    ImpuestoSurtido,
    LineaDetalle,
    LineaDetalleSurtido,
    MedioPago,
    Receptor,
    Ubicacion,
)
from cr_einvoice.vouchers.rules import check_rules
from cr_einvoice.vouchers.xmlwrite import to_xml

L1 = "DetalleServicio/LineaDetalle[1]"
C = f"{L1}/DetalleSurtido/LineaDetalleSurtido"
WHEN = datetime(2026, 11, 20, 10, 0, tzinfo=CR_TZ)
EMISOR = Emisor(
    nombre="Importadora de Regalos del Este SA",
    identificacion=Identificacion(tipo="02", numero="3101123456"),
    correos_electronicos=("facturacion@regalos-este.example.cr",),
    ubicacion=Ubicacion(provincia=1, canton=1, distrito=1, otras_senas="Avenida segunda, local 5"),
)


def _iva(code: str) -> ImpuestoSurtido:
    return ImpuestoSurtido(codigo_impuesto_surtido="01", codigo_tarifa_iva_surtido=code)


def combo_xml(cantidad: str = "4") -> etree._Element:
    comps = (
        LineaDetalleSurtido(
            codigo_cabys_surtido="2399101000000",
            cantidad_surtido=D("3"),
            detalle_surtido="Turrones artesanales",
            precio_unitario_surtido=D("1250.55"),
            descuentos_surtido=(DescuentoSurtido(codigo_descuento_surtido="07", porcentaje=D("5")),),
            impuestos_surtido=(_iva("08"),),
        ),
        LineaDetalleSurtido(
            codigo_cabys_surtido="2391301000000",
            detalle_surtido="Café de altura 340 g",
            precio_unitario_surtido=D("4100"),
            impuestos_surtido=(_iva("02"),),
        ),
        LineaDetalleSurtido(
            codigo_cabys_surtido="3729101000000",
            detalle_surtido="Canasta de mimbre",
            precio_unitario_surtido=D("2999.99"),
            impuestos_surtido=(_iva("08"),),
        ),
    )
    line = LineaDetalle.combo(
        codigo_cabys="2399999009900", detalle="Canasta de regalo", cantidad=D(cantidad), surtido=comps
    )
    doc = FacturaElectronica(
        proveedor_sistemas="3101123456",
        emisor=EMISOR,
        receptor=Receptor(
            nombre="Cliente Corporativo SA", identificacion=Identificacion(tipo="02", numero="3102654321")
        ),
        codigo_actividad_emisor="469000",
        lineas=(line,),
        medios_pago=(MedioPago(tipo_medio_pago="04"),),
    )
    cons = Consecutivo(sucursal=1, terminal=1, tipo=doc.tipo, numero=7)
    clave = Clave.build(
        tipo_identificacion="02", numero_identificacion="3101123456", consecutivo=cons, fecha=WHEN
    )
    return etree.fromstring(to_xml(doc.with_numbering(consecutivo=cons, clave=clave, fecha_emision=WHEN)))


def el(root: etree._Element, path: str) -> etree._Element:
    node = root
    for step in path.split("/"):
        name, _, index = step.partition("[")
        found = node.findall("{*}" + name)
        node = found[int(index[:-1]) - 1 if index else 0]
    return node


def paths(root: etree._Element) -> set[str]:
    return {p.path for p in check_rules(root)}


def test_a_consistent_combo_passes() -> None:
    root = combo_xml()
    assert check_rules(root) == []
    # one basket: 3 × 1250.55 − 5 % = 3564.06750; line SubTotal = 4 × (3564.0675 + 4100 + 2999.99)
    assert el(root, f"{C}[1]/SubTotalSurtido").text == "3564.06750"
    assert el(root, f"{L1}/SubTotal").text == "42656.23000"


def test_a_wrong_component_subtotal_is_reported_at_the_component() -> None:
    root = combo_xml()
    el(root, f"{C}[2]/SubTotalSurtido").text = "4000.00000"
    el(root, f"{C}[2]/BaseImponibleSurtido").text = "4000.00000"
    el(root, f"{C}[2]/ImpuestoSurtido/MontoImpuestoSurtido").text = "40.00000"
    problems = {p.path: p.message for p in check_rules(root)}
    assert f"{C}[2]/SubTotalSurtido" in problems
    assert "4100" in problems[f"{C}[2]/SubTotalSurtido"]
    # the line's SubTotal no longer matches Cantidad × Σ SubTotalSurtido, and its tax the components'
    assert f"{L1}/SubTotal" in problems
    assert f"{L1}/Impuesto[1]/Monto" in problems


def test_a_wrong_line_tax_against_the_components_is_reported() -> None:
    root = combo_xml()
    monto = el(root, f"{L1}/Impuesto/Monto")
    # as if the rate had been applied to the line instead of summing the components (13 % of everything)
    monto.text = "5545.30990"
    found = {(p.path, p.code) for p in check_rules(root)}
    assert (f"{L1}/Impuesto[1]/Monto", None) in found
    message = next(p.message for p in check_rules(root) if p.path == f"{L1}/Impuesto[1]/Monto")
    assert "Cantidad × the components' MontoImpuestoSurtido" in message


@pytest.mark.parametrize(
    ("mutate", "path"),
    [
        (
            lambda r: setattr(el(r, f"{C}[1]/MontoTotalSurtido"), "text", "3751.00000"),
            f"{C}[1]/MontoTotalSurtido",
        ),
        (
            lambda r: setattr(el(r, f"{C}[3]/ImpuestoSurtido/MontoImpuestoSurtido"), "text", "390.00000"),
            f"{C}[3]/ImpuestoSurtido[1]/MontoImpuestoSurtido",
        ),
        (
            lambda r: setattr(el(r, f"{C}[2]/ImpuestoSurtido/TarifaSurtido"), "text", "2"),
            f"{C}[2]/ImpuestoSurtido[1]/TarifaSurtido",
        ),
        (
            lambda r: setattr(el(r, f"{C}[3]/BaseImponibleSurtido"), "text", "3000.00000"),
            f"{C}[3]/BaseImponibleSurtido",
        ),
        (
            lambda r: setattr(el(r, f"{C}[1]/DescuentoSurtido/MontoDescuentoSurtido"), "text", "9999.00000"),
            f"{C}[1]/DescuentoSurtido[1]/MontoDescuentoSurtido",
        ),
        (
            lambda r: setattr(el(r, f"{L1}/ImpuestoAsumidoEmisorFabrica"), "text", "10.00000"),
            f"{L1}/ImpuestoAsumidoEmisorFabrica",
        ),
    ],
)
def test_each_component_rule_names_its_element(mutate: object, path: str) -> None:
    root = combo_xml()
    mutate(root)  # type: ignore[operator]
    assert path in paths(root)


def test_a_rate_on_the_combo_line_tax_is_reported() -> None:
    root = combo_xml()
    codigo = el(root, f"{L1}/Impuesto/Codigo")
    tarifa = etree.SubElement(el(root, f"{L1}/Impuesto"), codigo.tag.replace("Codigo", "Tarifa"))
    tarifa.text = "13.00"
    codigo.addnext(tarifa)
    assert f"{L1}/Impuesto[1]/Tarifa" in paths(root)


def test_desglose_is_checked_per_component_tarifa() -> None:
    root = combo_xml()
    entries = root.findall("{*}ResumenFactura/{*}TotalDesgloseImpuesto")
    # 13 %: 4 × (463.32878 + 389.99870) (turrones after their discount, the basket); 1 %: 4 × 41 (coffee)
    assert [(e.findtext("{*}CodigoTarifaIVA"), e.findtext("{*}TotalMontoImpuesto")) for e in entries] == [
        ("08", "3413.30992"),
        ("02", "164.00000"),
    ]
    # swap the two tarifa amounts: the sum is unchanged, each entry is wrong
    a, b = (e.find("{*}TotalMontoImpuesto") for e in entries)
    assert a is not None and b is not None
    a.text, b.text = b.text, a.text
    assert {
        "ResumenFactura/TotalDesgloseImpuesto[1]/TotalMontoImpuesto",
        "ResumenFactura/TotalDesgloseImpuesto[2]/TotalMontoImpuesto",
    } <= paths(root)


def test_goods_split_follows_the_components() -> None:
    root = combo_xml()
    el(root, "ResumenFactura/TotalMercanciasGravadas").text = "1.00000"
    assert "ResumenFactura/TotalMercanciasGravadas" in paths(root)
