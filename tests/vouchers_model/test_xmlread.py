"""Reading XML: our own output, a v4.3 sample, hand-written v4.3 names, stated vs computed totals."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal as D  # noqa: N817
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from cr_einvoice.core.catalogs import (
    CodigoTarifaIVA,
    InstitucionExoneracion,
    TipoIdentificacion,
    UnidadMedida,
)
from cr_einvoice.core.errors import CrEinvoiceError, ValidationError, XMLParseError
from cr_einvoice.testing.examples import EXAMPLE_KINDS, example_json
from cr_einvoice.vouchers.jsonio import document_from_json
from cr_einvoice.vouchers.model import Comprobante, Tiquete
from cr_einvoice.vouchers.xmlread import from_xml
from cr_einvoice.vouchers.xmlwrite import to_xml


def test_reads_the_v43_tiquete_sample(samples_dir: Path) -> None:
    data = (samples_dir / "TiqueteElectronico_v4.3_firmado_estilo_crlibre.xml").read_bytes()
    doc = from_xml(data)
    assert isinstance(doc, Tiquete)
    assert doc.stated is not None and doc.stated.version == "4.3"
    assert doc.clave == "50626031900011266010200100001040000001824180333808"
    assert doc.numero_consecutivo == "00100001040000001824"
    assert doc.codigo_actividad_emisor == "123456"  # v4.3 CodigoActividad
    assert doc.emisor.identificacion.numero == "112660102"
    assert [m.tipo_medio_pago.value for m in doc.medios_pago] == ["01"]  # header MedioPago of v4.3
    line = doc.lineas[0]
    assert line.impuestos[0].codigo_tarifa_iva is CodigoTarifaIVA.GENERAL_13  # v4.3 CodigoTarifa
    assert line.unidad_medida is UnidadMedida.OTROS
    assert any("'u'" in w.message for w in doc.stated.warnings)
    assert doc.fecha_emision is not None and doc.fecha_emision.isoformat() == "2019-03-26T11:13:57-06:00"
    # what the supplier stated versus what the formulas give
    assert doc.stated_resumen is not None
    assert doc.stated_resumen.total_comprobante == D("9950.00000")
    assert doc.resumen.total_comprobante == D("9949.99996")
    assert doc.stated.lineas[0].impuesto_neto == D("1144.6903")
    diffs = {p.path for p in doc.stated_differences()}
    assert "ResumenFactura/TotalComprobante" in diffs
    assert "DetalleServicio/LineaDetalle[1]/MontoTotalLinea" in diffs
    assert doc.stated_resumen.total_mercancias_gravadas == doc.resumen.total_mercancias_gravadas


def test_strict_reading_applies_every_check(samples_dir: Path) -> None:
    data = (samples_dir / "TiqueteElectronico_v4.3_firmado_estilo_crlibre.xml").read_bytes()
    with pytest.raises(ValidationError) as info:
        from_xml(data, strict=True)
    assert "lineas[0].codigo_cabys" in {p.path for p in info.value.problems}


def test_stated_reading_takes_the_amounts_as_the_xml_states_them(samples_dir: Path) -> None:
    data = (samples_dir / "TiqueteElectronico_v4.3_firmado_estilo_crlibre.xml").read_bytes()
    computed = from_xml(data)
    printed = from_xml(data, stated=True)
    assert isinstance(computed, Tiquete) and isinstance(printed, Tiquete)
    assert printed == computed  # the same inputs
    assert computed.stated is not None and printed.stated is not None
    assert printed.resumen == computed.stated.resumen  # what the supplier invoiced, not recomputed
    assert printed.resumen.total_comprobante == D("9950.00000") != computed.resumen.total_comprobante
    assert [ln.calculo for ln in printed.lineas] == list(computed.stated.lineas)
    assert printed.lineas[0].calculo.impuesto_neto == D("1144.6903")
    assert printed.stated_differences() == []
    with pytest.raises(ValueError, match="lenient"):
        from_xml(data, strict=True, stated=True)


@pytest.mark.parametrize("kind", EXAMPLE_KINDS)
def test_our_own_vouchers_read_the_same_stated_or_computed(kind: str, numbered: Callable[..., Any]) -> None:
    xml = to_xml(numbered(document_from_json(example_json(kind))))
    computed, printed = from_xml(xml), from_xml(xml, stated=True)
    assert printed == computed
    if isinstance(computed, Comprobante):
        assert isinstance(printed, Comprobante)
        assert printed.resumen == computed.resumen
        assert [ln.calculo for ln in printed.lineas] == [ln.calculo for ln in computed.lineas]


def test_hostile_xml_is_refused() -> None:
    evil = (
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "boom">]><FacturaElectronica>&e;</FacturaElectronica>'
    )
    with pytest.raises(XMLParseError):
        from_xml(evil)


def test_tampered_totals_show_up_as_stated_differences(numbered: Callable[..., Any]) -> None:
    doc = numbered(document_from_json(example_json("fe")))
    root = etree.fromstring(to_xml(doc))
    ns = etree.QName(root).namespace
    total = root.find(f"{{{ns}}}ResumenFactura/{{{ns}}}TotalComprobante")
    assert total is not None
    total.text = "1.00000"
    back = from_xml(root)  # an element is read as is
    assert back == doc  # inputs are unchanged...
    assert [(p.path, p.message) for p in back.stated_differences()] == [  # type: ignore[union-attr]
        ("ResumenFactura/TotalComprobante", f"states 1.00000, computed {doc.resumen.total_comprobante}")
    ]


V43 = """<?xml version="1.0" encoding="utf-8"?>
<FacturaElectronica xmlns="https://cdn.comprobanteselectronicos.go.cr/xml-schemas/v4.3/facturaElectronica">
  <Clave>50601022300310112345600100001010000000077199999999</Clave>
  <CodigoActividad>620100</CodigoActividad>
  <NumeroConsecutivo>00100001010000000077</NumeroConsecutivo>
  <FechaEmision>2023-02-01T10:00:00-06:00</FechaEmision>
  <Emisor><Nombre>Proveedor Ejemplo S.A.</Nombre>
    <Identificacion><Tipo>02</Tipo><Numero>3101123456</Numero></Identificacion>
    <CorreoElectronico>ventas@proveedor.example.cr</CorreoElectronico></Emisor>
  <Receptor><Nombre>Cliente del Exterior</Nombre>
    <IdentificacionExtranjero>P1234567</IdentificacionExtranjero></Receptor>
  <CondicionVenta>01</CondicionVenta>
  <MedioPago>01</MedioPago><MedioPago>02</MedioPago>
  <DetalleServicio><LineaDetalle>
    <NumeroLinea>1</NumeroLinea><Codigo>8314200000000</Codigo>
    <Cantidad>1</Cantidad><UnidadMedida>Sp</UnidadMedida><Detalle>Asesoría</Detalle>
    <PrecioUnitario>1000.00000</PrecioUnitario><MontoTotal>1000.00000</MontoTotal>
    <Descuento><MontoDescuento>100.00000</MontoDescuento>
      <NaturalezaDescuento>Cliente frecuente</NaturalezaDescuento></Descuento>
    <SubTotal>900.00000</SubTotal>
    <Impuesto><Codigo>01</Codigo><CodigoTarifa>08</CodigoTarifa><Tarifa>13.00</Tarifa><Monto>117.00000</Monto>
      <Exoneracion><TipoDocumento>03</TipoDocumento><NumeroDocumento>Ley 7210</NumeroDocumento>
        <NombreInstitucion>Promotora de Comercio Exterior</NombreInstitucion>
        <FechaEmision>2022-05-05T00:00:00-06:00</FechaEmision><PorcentajeExoneracion>13</PorcentajeExoneracion>
        <MontoExoneracion>117.00000</MontoExoneracion></Exoneracion></Impuesto>
    <ImpuestoNeto>0.00000</ImpuestoNeto><MontoTotalLinea>900.00000</MontoTotalLinea>
  </LineaDetalle></DetalleServicio>
  <OtrosCargos><TipoDocumento>04</TipoDocumento><NumeroIdentidadTercero>3101998877</NumeroIdentidadTercero>
    <NombreTercero>Courier Express S.A.</NombreTercero><Detalle>Envío</Detalle><Porcentaje>5</Porcentaje>
    <MontoCargo>45.00000</MontoCargo></OtrosCargos>
  <ResumenFactura><CodigoTipoMoneda><CodigoMoneda>CRC</CodigoMoneda><TipoCambio>1</TipoCambio></CodigoTipoMoneda>
    <TotalServExonerado>1000.00000</TotalServExonerado><TotalExonerado>1000.00000</TotalExonerado>
    <TotalVenta>1000.00000</TotalVenta><TotalDescuentos>100.00000</TotalDescuentos>
    <TotalVentaNeta>900.00000</TotalVentaNeta><TotalImpuesto>0.00000</TotalImpuesto>
    <TotalOtrosCargos>45.00000</TotalOtrosCargos><TotalComprobante>945.00000</TotalComprobante></ResumenFactura>
  <InformacionReferencia><TipoDoc>06</TipoDoc><Numero>CT-2023-1</Numero>
    <FechaEmision>2023-01-01T00:00:00-06:00</FechaEmision><Codigo>04</Codigo><Razon>Contrato marco</Razon>
  </InformacionReferencia>
</FacturaElectronica>"""


def test_maps_v43_names() -> None:
    doc = from_xml(V43.encode())
    assert isinstance(doc, Comprobante)
    assert doc.stated is not None and doc.stated.version == "4.3"
    assert doc.codigo_actividad_emisor == "620100"
    assert doc.receptor is not None and doc.receptor.identificacion is not None
    assert doc.receptor.identificacion.tipo is TipoIdentificacion.EXTRANJERO_NO_DOMICILIADO
    assert [m.tipo_medio_pago.value for m in doc.medios_pago] == ["01", "02"]
    line = doc.lineas[0]
    assert line.codigo_cabys == "8314200000000"
    assert (line.descuentos[0].codigo_descuento.value, line.descuentos[0].naturaleza_descuento) == (
        "99",
        "Cliente frecuente",
    )
    exo = line.impuestos[0].exoneracion
    assert exo is not None
    assert exo.tipo_documento_ex1.value == "03" and exo.tarifa_exonerada == D("13")
    assert exo.nombre_institucion is InstitucionExoneracion.OTROS
    assert exo.nombre_institucion_otros == "Promotora de Comercio Exterior"
    cargo = doc.otros_cargos[0]
    assert cargo.identificacion_tercero is not None and cargo.identificacion_tercero.numero == "3101998877"
    assert cargo.porcentaje_oc == D("5")
    assert doc.referencias[0].tipo_doc_ir.value == "06"
    # fully exonerated service: the computed totals agree with the stated ones
    assert doc.stated_differences() == []
    assert doc.resumen.total_serv_exonerado == D("1000.00000")


JUNK_TEXT = ["", "abc", "-1", "99", "1e5", "NaN", "0", "   ", "2026-13-01", "9" * 30]


@settings(max_examples=300, deadline=None)
@given(kind=st.sampled_from(EXAMPLE_KINDS), data=st.data())
def test_damaged_xml_only_raises_library_errors(kind: str, data: st.DataObject) -> None:
    from cr_einvoice.app.cli.build import number_document

    root = etree.fromstring(to_xml(number_document(document_from_json(example_json(kind)))))
    for _ in range(data.draw(st.integers(1, 3))):
        elements = list(root.iter())[1:]
        target = data.draw(st.sampled_from(elements))
        parent = target.getparent()
        if data.draw(st.booleans()) and parent is not None:
            parent.remove(target)
        else:
            target.text = data.draw(st.sampled_from(JUNK_TEXT))
    assert _read(root) in ("ok", "refused")


def _read(root: etree._Element) -> str:
    try:
        from_xml(root)
    except CrEinvoiceError:
        with pytest.raises(CrEinvoiceError):  # refused the same way when read for print
            from_xml(root, stated=True)
        return "refused"
    from_xml(root, stated=True)
    return "ok"
