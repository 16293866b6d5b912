"""Combos (DetalleSurtido): a manufacturer's gift basket with goods at 13 % and basic-basket goods at 1 %,
built from the model, valid against the official v4.4 XSD, clean for the business rules, and round-tripped
through XML and JSON."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal as D  # noqa: N817
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from cr_einvoice.core.catalogs import CodigoImpuesto, CodigoTarifaIVA
from cr_einvoice.core.errors import ValidationError
from cr_einvoice.vouchers.jsonio import document_from_json, document_to_json
from cr_einvoice.vouchers.model import (
    CodigoComercial,
    CodigoComercialSurtido,
    DescuentoSurtido,
    Emisor,
    FacturaCompra,
    FacturaElectronica,
    Identificacion,
    Impuesto,
    ImpuestoSurtido,
    InformacionReferencia,
    LineaDetalle,
    LineaDetalleSurtido,
    MedioPago,
    Receptor,
    Tiquete,
    TotalDesgloseImpuesto,
    Ubicacion,
)
from cr_einvoice.vouchers.rules import check_rules
from cr_einvoice.vouchers.xmlread import from_xml
from cr_einvoice.vouchers.xmlwrite import to_xml

NS = "{https://cdn.comprobanteselectronicos.go.cr/xml-schemas/v4.4/facturaElectronica}"

EMISOR = Emisor(
    nombre="Industrias Alimentarias del Valle SA",
    identificacion=Identificacion(tipo="02", numero="3101123456"),
    correos_electronicos=("facturas@industrias-valle.example.cr",),
    ubicacion=Ubicacion(provincia=4, canton=1, distrito=1, otras_senas="Zona industrial, bodega 4"),
)
RECEPTOR = Receptor(
    nombre="Supermercados La Esquina Limitada", identificacion=Identificacion(tipo="02", numero="3102654321")
)
IVA13 = ImpuestoSurtido(codigo_impuesto_surtido="01", codigo_tarifa_iva_surtido="08")
IVA1 = ImpuestoSurtido(codigo_impuesto_surtido="01", codigo_tarifa_iva_surtido="02")
EXENTO = ImpuestoSurtido(codigo_impuesto_surtido="01", codigo_tarifa_iva_surtido="10")


def canasta() -> tuple[LineaDetalleSurtido, ...]:
    """One gift basket: chocolates (13 %, 10 % component discount), coffee and rice (canasta básica, 1 %)
    and a ceramic mug (13 %)."""
    return (
        LineaDetalleSurtido(
            codigo_cabys_surtido="2399101000000",
            codigos_comerciales_surtido=(
                CodigoComercialSurtido(tipo_surtido="01", codigo_surtido="CHOC-250"),
            ),
            cantidad_surtido=D("2"),
            detalle_surtido="Chocolates surtidos 250 g",
            precio_unitario_surtido=D("2500"),
            descuentos_surtido=(DescuentoSurtido(codigo_descuento_surtido="07", porcentaje=D("10")),),
            impuestos_surtido=(IVA13,),
        ),
        LineaDetalleSurtido(
            codigo_cabys_surtido="2391301000000",
            detalle_surtido="Café molido 500 g",
            precio_unitario_surtido=D("3200"),
            impuestos_surtido=(IVA1,),
        ),
        LineaDetalleSurtido(
            codigo_cabys_surtido="2316100000000",
            cantidad_surtido=D("2"),
            unidad_medida_surtido="Kg",
            detalle_surtido="Arroz blanco 1 kg",
            precio_unitario_surtido=D("1150.50"),
            impuestos_surtido=(IVA1,),
        ),
        LineaDetalleSurtido(
            codigo_cabys_surtido="3729101000000",
            unidad_medida_comercial_surtido="caja",
            detalle_surtido="Taza de cerámica decorativa",
            precio_unitario_surtido=D("4000"),
            impuestos_surtido=(IVA13,),
        ),
    )


def combo_line(cantidad: str = "3") -> LineaDetalle:
    return LineaDetalle.combo(
        codigo_cabys="2399999009900",
        detalle="Canasta navideña surtida",
        cantidad=D(cantidad),
        codigos_comerciales=(CodigoComercial(tipo="03", codigo="7441234567890"),),
        surtido=canasta(),
    )


def factura(*lineas: LineaDetalle) -> FacturaElectronica:
    return FacturaElectronica(
        proveedor_sistemas="3101123456",
        emisor=EMISOR,
        receptor=RECEPTOR,
        codigo_actividad_emisor="107101",
        lineas=lineas or (combo_line(),),
        medios_pago=(MedioPago(tipo_medio_pago="04"),),
    )


def test_components_describe_one_basket_and_the_line_multiplies_them() -> None:
    line = combo_line()
    comps = [c.calculo for c in line.surtido]
    assert [(c.monto_total_surtido, c.total_descuentos, c.sub_total_surtido) for c in comps] == [
        (D("5000"), D("500.00"), D("4500.00")),
        (D("3200"), D("0"), D("3200")),
        (D("2301.00"), D("0"), D("2301.00")),
        (D("4000"), D("0"), D("4000")),
    ]
    assert [c.impuestos[0].monto for c in comps] == [
        D("585.00000"),
        D("32.00000"),
        D("23.01000"),
        D("520.00000"),
    ]
    assert line.precio_unitario == D("14001.00")  # Σ SubTotalSurtido: the price of one basket
    calc = line.calculo
    assert (calc.monto_total, calc.sub_total, calc.base_imponible) == (D("42003.00"),) * 3
    # one line tax per code, Cantidad × Σ of the components' IVA (grouped 13 % and 1 %)
    assert [(t.codigo, t.codigo_tarifa_iva, t.monto) for t in calc.impuestos] == [
        (CodigoImpuesto.IVA, None, D("3315.00000") + D("165.03000"))
    ]
    assert calc.impuesto_neto == D("3480.03000")
    assert calc.monto_total_linea == D("45483.03000")
    assert calc.surtido == tuple(comps)


def test_summary_uses_the_components_tax_amounts_by_tarifa() -> None:
    r = factura().resumen
    assert r.total_mercancias_gravadas == r.total_gravado == r.total_venta == D("42003.00")
    assert r.total_descuentos == 0  # component discounts are inside the basket's price
    assert r.total_desglose_impuesto == (
        TotalDesgloseImpuesto(CodigoImpuesto.IVA, CodigoTarifaIVA.GENERAL_13, D("3315.00000")),
        TotalDesgloseImpuesto(CodigoImpuesto.IVA, CodigoTarifaIVA.REDUCIDA_1, D("165.03000")),
    )
    assert r.total_impuesto == D("3480.03000")
    assert r.total_comprobante == D("45483.03000")


def test_xml_is_valid_clean_and_round_trips(
    numbered: Callable[..., Any], xsd_errors: Callable[[bytes], list[str]]
) -> None:
    doc = numbered(factura())
    data = to_xml(doc)
    assert xsd_errors(data) == []
    root = etree.fromstring(data)
    assert check_rules(root) == []
    line = root.find(f"{NS}DetalleServicio/{NS}LineaDetalle")
    assert line is not None
    names = [etree.QName(el).localname for el in line]
    assert names.index("DetalleSurtido") == names.index("Detalle") + 1
    assert names.index("PrecioUnitario") == names.index("DetalleSurtido") + 1
    comp = line.find(f"{NS}DetalleSurtido/{NS}LineaDetalleSurtido")
    assert comp is not None
    assert [etree.QName(el).localname for el in comp] == [
        "CodigoCABYSSurtido",
        "CodigoComercialSurtido",
        "CantidadSurtido",
        "UnidadMedidaSurtido",
        "DetalleSurtido",
        "PrecioUnitarioSurtido",
        "MontoTotalSurtido",
        "DescuentoSurtido",
        "SubTotalSurtido",
        "BaseImponibleSurtido",
        "ImpuestoSurtido",
    ]
    tax = line.find(f"{NS}Impuesto")
    assert tax is not None
    assert [etree.QName(el).localname for el in tax] == ["Codigo", "Monto"]  # no CodigoTarifaIVA/Tarifa
    assert tax.findtext(f"{NS}Monto") == "3480.03000"
    back = from_xml(data)
    assert back == doc
    assert back.stated_differences() == []  # type: ignore[union-attr]
    assert back.stated is not None
    assert back.stated.warnings == ()
    assert back.stated.lineas[0].surtido == doc.lineas[0].calculo.surtido
    strict = from_xml(data, strict=True)
    assert strict == doc
    printed = from_xml(data, stated=True)  # as the graphic representation reads it
    assert printed == doc
    assert printed.lineas[0].calculo == doc.lineas[0].calculo  # type: ignore[union-attr]
    assert printed.resumen == doc.resumen  # type: ignore[union-attr]


def test_json_round_trip_uses_snake_case_keys() -> None:
    doc = factura()
    data = document_to_json(doc)
    comp = data["lineas"][0]["surtido"][0]
    assert comp["codigo_cabys_surtido"] == "2399101000000"
    assert comp["codigos_comerciales_surtido"] == [{"tipo_surtido": "01", "codigo_surtido": "CHOC-250"}]
    assert comp["descuentos_surtido"] == [
        {"codigo_descuento_surtido": "07", "monto_descuento_surtido": "500.00000", "porcentaje": "10"}
    ]
    assert comp["impuestos_surtido"] == [
        {"codigo_impuesto_surtido": "01", "codigo_tarifa_iva_surtido": "08", "tarifa_surtido": "13"}
    ]
    assert "impuestos" not in data["lineas"][0]
    assert document_from_json(data) == doc
    computed = document_to_json(doc, include_computed=True)
    assert computed["lineas"][0]["surtido"][1]["calculo"]["sub_total_surtido"] == "3200.00000"


def test_mixed_treatments_share_the_monto_total_by_component_subtotal(
    numbered: Callable[..., Any], xsd_errors: Callable[[bytes], list[str]]
) -> None:
    comps = (
        LineaDetalleSurtido(
            codigo_cabys_surtido="2399101000000",
            detalle_surtido="Galletas rellenas",
            precio_unitario_surtido=D("1000.00001"),
            impuestos_surtido=(IVA13,),
        ),
        LineaDetalleSurtido(
            codigo_cabys_surtido="2111000000000",
            detalle_surtido="Frijoles negros 800 g",
            precio_unitario_surtido=D("999.99999"),
            impuestos_surtido=(EXENTO,),
        ),
        LineaDetalleSurtido(
            codigo_cabys_surtido="2391301000000",
            detalle_surtido="Azúcar 1 kg",
            precio_unitario_surtido=D("700"),
            impuestos_surtido=(IVA1,),
        ),
    )
    line = LineaDetalle.combo(
        codigo_cabys="2399999009900", detalle="Paquete despensa", cantidad=D("2.5"), surtido=comps
    )
    doc = Tiquete(
        proveedor_sistemas="3101123456",
        emisor=EMISOR,
        codigo_actividad_emisor="107101",
        lineas=(line,),
        medios_pago=(MedioPago(tipo_medio_pago="01"),),
    )
    r = doc.resumen
    assert line.calculo.monto_total == D("6750.00000")
    # exento: 6750 × 999.99999 / 2700 = 2499.999975 → 2499.99998; gravado takes the remainder
    assert r.total_mercancias_exentas == D("2499.99998")
    assert r.total_mercancias_gravadas == D("4250.00002")
    assert r.total_venta == line.calculo.monto_total
    assert {(d.codigo_tarifa_iva, d.total_monto_impuesto) for d in r.total_desglose_impuesto} == {
        (CodigoTarifaIVA.GENERAL_13, D("325.00000")),  # 2.5 × 130.00000
        (CodigoTarifaIVA.EXENTA, D("0")),
        (CodigoTarifaIVA.REDUCIDA_1, D("17.50000")),  # 2.5 × 7.00000
    }
    done = numbered(doc)
    data = to_xml(done)
    assert xsd_errors(data) == []
    assert check_rules(etree.fromstring(data)) == []
    assert from_xml(data) == done


def test_combo_line_errors_name_the_field() -> None:
    with pytest.raises(ValidationError) as exc:
        LineaDetalle(
            codigo_cabys="2399999009900",
            detalle="Canasta navideña surtida",
            cantidad=D("3"),
            precio_unitario=D("14000"),
            impuestos=(Impuesto(codigo="01", codigo_tarifa_iva="08"),),
            surtido=canasta(),
        )
    assert [p.path for p in exc.value.problems] == ["impuestos"]
    with pytest.raises(ValidationError) as exc:
        LineaDetalle(
            codigo_cabys="2399999009900",
            detalle="Canasta navideña surtida",
            cantidad=D("3"),
            precio_unitario=D("14000"),
            impuestos=(),
            surtido=canasta(),
        )
    assert [p.path for p in exc.value.problems] == ["precio_unitario"]
    assert "42003.00" in exc.value.problems[0].message
    with pytest.raises(ValidationError) as exc:
        LineaDetalle.combo(
            codigo_cabys="2399999009900", detalle="Demasiados componentes", surtido=canasta() * 6
        )
    assert [p.path for p in exc.value.problems] == ["surtido"]


def test_component_errors_name_the_field() -> None:
    with pytest.raises(ValidationError) as exc:
        DescuentoSurtido(codigo_descuento_surtido="99", monto_descuento_surtido=D("1"))
    assert [p.path for p in exc.value.problems] == ["descuento_surtido_otros"]
    with pytest.raises(ValidationError) as exc:
        LineaDetalleSurtido(
            codigo_cabys_surtido="239910",
            detalle_surtido="Chocolates",
            precio_unitario_surtido=D("0"),
            impuestos_surtido=(),
        )
    assert sorted(p.path for p in exc.value.problems) == [
        "codigo_cabys_surtido",
        "impuestos_surtido",
        "precio_unitario_surtido",
    ]
    with pytest.raises(ValidationError) as exc:
        ImpuestoSurtido(codigo_impuesto_surtido="01")
    assert [p.path for p in exc.value.problems] == ["codigo_tarifa_iva_surtido"]
    with pytest.raises(ValidationError) as exc:
        ImpuestoSurtido(codigo_impuesto_surtido="08")
    assert [p.path for p in exc.value.problems] == ["codigo_impuesto_surtido"]
    with pytest.raises(ValidationError) as exc:
        ImpuestoSurtido(codigo_impuesto_surtido="01", codigo_tarifa_iva_surtido="08", tarifa_surtido=D("1"))
    assert [p.path for p in exc.value.problems] == ["tarifa_surtido"]
    with pytest.raises(ValidationError) as exc:
        LineaDetalleSurtido(
            codigo_cabys_surtido="2399101000000",
            detalle_surtido="Chocolates",
            precio_unitario_surtido=D("10"),
            descuentos_surtido=(
                DescuentoSurtido(codigo_descuento_surtido="07", monto_descuento_surtido=D("11")),
            ),
            impuestos_surtido=(IVA13,),
        )
    assert [p.path for p in exc.value.problems] == ["descuentos_surtido[0].monto_descuento_surtido"]


def test_a_component_needs_its_iva_and_a_fec_has_no_combos() -> None:
    sin_iva = LineaDetalleSurtido(
        codigo_cabys_surtido="2399101000000",
        detalle_surtido="Chocolates surtidos",
        precio_unitario_surtido=D("100"),
        impuestos_surtido=(ImpuestoSurtido(codigo_impuesto_surtido="02", tarifa_surtido=D("10")),),
    )
    line = LineaDetalle.combo(codigo_cabys="2399999009900", detalle="Caja surtida", surtido=(sin_iva,))
    assert line.calculo.impuestos[0].codigo is CodigoImpuesto.SELECTIVO_CONSUMO
    assert line.calculo.base_imponible == D("110.00000")  # SubTotal + the components' tax 02
    with pytest.raises(ValidationError) as exc:
        factura(line)
    assert [p.path for p in exc.value.problems] == ["lineas[0].surtido[0].impuestos_surtido"]
    with pytest.raises(ValidationError) as exc:
        FacturaCompra(
            proveedor_sistemas="3101123456",
            emisor=Emisor(
                nombre="Productor Agrícola", identificacion=Identificacion(tipo="01", numero="112345678")
            ),
            receptor=EMISOR_AS_RECEPTOR,
            codigo_actividad_receptor="107101",
            lineas=(combo_line(),),
            medios_pago=(MedioPago(tipo_medio_pago="01"),),
            referencias=(REFERENCIA,),
        )
    assert "lineas[0].surtido" in [p.path for p in exc.value.problems]


EMISOR_AS_RECEPTOR = Receptor(nombre=EMISOR.nombre, identificacion=EMISOR.identificacion)
REFERENCIA = InformacionReferencia(
    tipo_doc_ir="14",
    numero="REG-2026-001",
    fecha_emision_ir="2026-07-01T08:00:00-06:00",
    codigo="04",
    razon="Compra a productor",
)


def test_regalia_on_a_component_is_assumed_by_the_emisor(
    numbered: Callable[..., Any], xsd_errors: Callable[[bytes], list[str]]
) -> None:
    regalo = LineaDetalleSurtido(
        codigo_cabys_surtido="3729101000000",
        detalle_surtido="Taza de regalo",
        cantidad_surtido=D("2"),
        precio_unitario_surtido=D("1000"),
        descuentos_surtido=(
            DescuentoSurtido(codigo_descuento_surtido="01", monto_descuento_surtido=D("1000")),
        ),
        impuestos_surtido=(IVA13,),
    )
    assert regalo.calculo.impuestos[0].monto == D("260.00000")  # on MontoTotalSurtido
    assert regalo.calculo.impuestos[0].asumido == D("130.00000")
    line = LineaDetalle.combo(
        codigo_cabys="2399999009900",
        detalle="Canasta con regalo",
        cantidad=D("2"),
        surtido=(*canasta()[:2], regalo),
    )
    calc = line.calculo
    assert calc.impuesto_asumido_emisor_fabrica == D("260.00000")
    assert calc.impuesto_neto == calc.impuestos[0].monto - D("260.00000")
    doc = numbered(factura(line))
    data = to_xml(doc)
    assert xsd_errors(data) == []
    assert check_rules(etree.fromstring(data)) == []
    assert from_xml(data) == doc


def test_readme_combo_example_runs() -> None:
    text = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = text[text.index("### Combos (DetalleSurtido)") : text.index("<!-- END vouchers -->")]
    start = section.index("```python") + len("```python")
    namespace: dict[str, Any] = {}
    exec(compile(section[start : section.index("```", start)], "README.md", "exec"), namespace)  # noqa: S102
    calc = namespace["canasta"].calculo
    # 3 × (2 × 2500 + 3200 + 4000); IVA 3 × (650 + 520 at 13 % + 32 at 1 %)
    assert (calc.sub_total, calc.impuesto_neto) == (D("36600"), D("3606"))


def test_a_received_combo_keeps_what_it_states(numbered: Callable[..., Any]) -> None:
    data = to_xml(numbered(factura()))
    root = etree.fromstring(data)
    comp = root.find(f"{NS}DetalleServicio/{NS}LineaDetalle/{NS}DetalleSurtido/{NS}LineaDetalleSurtido[2]")
    assert comp is not None
    sub = comp.find(f"{NS}SubTotalSurtido")
    assert sub is not None
    sub.text = "3100.00000"
    back = from_xml(etree.tostring(root))
    assert back.stated is not None
    assert back.stated.lineas[0].surtido[1].sub_total_surtido == D("3100")
    c2 = "DetalleServicio/LineaDetalle[1]/DetalleSurtido/LineaDetalleSurtido[2]"
    assert [p.path for p in back.stated_differences()] == [f"{c2}/SubTotalSurtido"]  # type: ignore[union-attr]
