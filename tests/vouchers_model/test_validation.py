"""Input errors: every constructor check names its field; rounding is half-up at 5 decimals."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal as D  # noqa: N817
from typing import Any

import pytest

from cr_einvoice.core.clave import CR_TZ
from cr_einvoice.core.errors import ValidationError
from cr_einvoice.vouchers.model import (
    Comprobante,
    DatosImpuestoEspecifico,
    Descuento,
    Emisor,
    FacturaElectronica,
    Identificacion,
    Impuesto,
    LineaDetalle,
    MedioPago,
    MensajeReceptor,
    NotaDebito,
    OtroCargo,
    Receptor,
    Ubicacion,
)

EMISOR = Emisor(
    nombre="Soluciones Tecnológicas del Valle S.A.",
    identificacion=Identificacion(tipo="02", numero="3101123456"),
    ubicacion=Ubicacion(
        provincia=1, canton=1, distrito=8, otras_senas="Del Estadio Nacional 200 metros oeste"
    ),
    correos_electronicos=("facturacion@tecnovalle.example.cr",),
)
RECEPTOR = Receptor(nombre="Cliente S.A.", identificacion=Identificacion(tipo="02", numero="3102654321"))
IVA13 = Impuesto(codigo="01", codigo_tarifa_iva="08")


def line(**kw: Any) -> LineaDetalle:
    values: dict[str, Any] = {
        "codigo_cabys": "4527100000100",
        "detalle": "Computadora portátil",
        "precio_unitario": D("1000"),
        "impuestos": (IVA13,),
    }
    values.update(kw)
    return LineaDetalle(**values)


def fe(**kw: Any) -> FacturaElectronica:
    values: dict[str, Any] = {
        "proveedor_sistemas": "3101123456",
        "emisor": EMISOR,
        "receptor": RECEPTOR,
        "codigo_actividad_emisor": "620100",
        "lineas": (line(),),
        "medios_pago": (MedioPago(tipo_medio_pago="01"),),
    }
    values.update(kw)
    return FacturaElectronica(**values)


def paths(exc: pytest.ExceptionInfo[ValidationError]) -> list[str]:
    return [p.path for p in exc.value.problems]


def test_rounding_is_half_up_at_five_decimals() -> None:
    # 12.34450 × 1 % = 0.1234450: half-up gives 0.12345 where half-even would give 0.12344
    ln = line(precio_unitario=D("12.34450"), impuestos=(Impuesto(codigo="01", codigo_tarifa_iva="02"),))
    assert ln.calculo.impuestos[0].monto == D("0.12345")
    # MontoTotal: 3 × 0.333335 is not allowed (6 decimals), 3.333 × 1.00005 = 3.33316665 → 3.33317
    assert line(cantidad=D("3.333"), precio_unitario=D("1.00005")).calculo.monto_total == D("3.33317")


@pytest.mark.parametrize(
    ("kwargs", "path"),
    [
        ({"codigo_cabys": "45271000001"}, "codigo_cabys"),
        ({"detalle": "PC"}, "detalle"),
        ({"precio_unitario": D("0")}, "precio_unitario"),
        ({"precio_unitario": D("1.123456")}, "precio_unitario"),
        ({"precio_unitario": "mil"}, "precio_unitario"),
        ({"cantidad": D("1.0001")}, "cantidad"),
        ({"cantidad": D("-1")}, "cantidad"),
        ({"unidad_medida": "unidades"}, "unidad_medida"),
        ({"impuestos": ()}, "impuestos"),
        ({"impuestos": (IVA13, Impuesto(codigo="01", codigo_tarifa_iva="04"))}, "impuestos"),
        (
            {"descuentos": tuple(Descuento(codigo_descuento="07", porcentaje=D("1")) for _ in range(6))},
            "descuentos",
        ),
        (
            {"descuentos": (Descuento(codigo_descuento="07", monto_descuento=D("600")),) * 2},
            "descuentos[1].monto_descuento",
        ),
        ({"base_imponible": D("10")}, "base_imponible"),
        ({"iva_cobrado_fabrica": "02"}, "impuestos"),
    ],
)
def test_line_errors_name_the_field(kwargs: dict[str, Any], path: str) -> None:
    with pytest.raises(ValidationError) as info:
        line(**kwargs)
    assert path in paths(info)


@pytest.mark.parametrize(
    ("kwargs", "path"),
    [
        ({"codigo": "01"}, "codigo_tarifa_iva"),
        ({"codigo": "01", "codigo_tarifa_iva": "08", "tarifa": D("4")}, "tarifa"),
        ({"codigo": "02"}, "tarifa"),
        ({"codigo": "99", "tarifa": D("1")}, "codigo_impuesto_otro"),
        ({"codigo": "08"}, "factor_calculo_iva"),
        ({"codigo": "03"}, "datos_impuesto_especifico"),
        (
            {
                "codigo": "04",
                "datos_impuesto_especifico": DatosImpuestoEspecifico(
                    cantidad_unidad_medida=D("750"), impuesto_unidad=D("1")
                ),
            },
            "datos_impuesto_especifico.porcentaje",
        ),
        ({"codigo": "01", "codigo_tarifa_iva": "08", "tarifa": D("13.001")}, "tarifa"),
    ],
)
def test_tax_errors_name_the_field(kwargs: dict[str, Any], path: str) -> None:
    with pytest.raises(ValidationError) as info:
        Impuesto(**kwargs)
    assert path in paths(info)


def test_party_errors() -> None:
    with pytest.raises(ValidationError) as info:
        Identificacion(tipo="01", numero="012345678")
    assert paths(info) == ["numero"]
    with pytest.raises(ValidationError) as info:
        Identificacion(tipo="07", numero="1")
    assert paths(info) == ["tipo"]
    with pytest.raises(ValidationError) as info:
        Emisor(nombre="ACME", identificacion=EMISOR.identificacion, correos_electronicos=("a@b.cr",) * 5)
    assert paths(info) == ["nombre", "correos_electronicos"]
    with pytest.raises(ValidationError) as info:
        Receptor(nombre="Cliente", correo_electronico="no-es-correo")
    assert paths(info) == ["correo_electronico"]
    with pytest.raises(ValidationError) as info:
        Ubicacion(provincia=8, canton=100, distrito=1, otras_senas="Por ahí")
    assert paths(info) == ["canton"]


def test_document_errors_name_the_field() -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({"condicion_venta": "99"}, "condicion_venta_otros"),
        ({"condicion_venta": "09"}, "condicion_venta"),
        ({"condicion_venta": "02", "plazo_credito": 0}, "plazo_credito"),
        ({"tipo_cambio": D("2")}, "tipo_cambio"),
        ({"codigo_moneda": "USD"}, "tipo_cambio"),
        ({"codigo_moneda": "XXX"}, "codigo_moneda"),
        ({"medios_pago": ()}, "medios_pago"),
        ({"medios_pago": (MedioPago(tipo_medio_pago="01"),) * 5}, "medios_pago"),
        (
            {"medios_pago": (MedioPago(tipo_medio_pago="01", total_medio_pago=D("5")),)},
            "medios_pago[0].total_medio_pago",
        ),
        ({"receptor": None}, "receptor"),
        ({"codigo_actividad_emisor": None}, "codigo_actividad_emisor"),
        ({"lineas": (line(), "no es una línea")}, "lineas[1]"),
        ({"lineas": ()}, "lineas"),
        ({"fecha_emision": "ayer"}, "fecha_emision"),
        ({"clave": "123"}, "clave"),
    ]
    for kwargs, path in cases:
        with pytest.raises(ValidationError) as info:
            fe(**kwargs)
        assert path in paths(info), (kwargs, paths(info))


def test_activity_codes_are_zero_padded_and_the_base_class_is_abstract() -> None:
    assert fe(codigo_actividad_emisor="4651").codigo_actividad_emisor == "004651"
    with pytest.raises(TypeError):
        Comprobante(proveedor_sistemas="3101123456", emisor=EMISOR)


def test_other_charges_alone_only_for_some_types() -> None:
    ref_args: dict[str, Any] = {
        "proveedor_sistemas": "3101123456",
        "emisor": EMISOR,
        "medios_pago": (MedioPago(tipo_medio_pago="01"),),
        "referencias": (),
    }
    with pytest.raises(ValidationError) as info:
        NotaDebito(
            **ref_args,
            otros_cargos=(OtroCargo(tipo_documento_oc="06", detalle="Servicio", monto_cargo=D("1")),),
        )
    assert "lineas" in paths(info)
    with pytest.raises(ValidationError) as info:
        OtroCargo(tipo_documento_oc="04", detalle="Cobro", monto_cargo=D("0"))
    assert paths(info) == ["monto_cargo", "identificacion_tercero", "nombre_tercero"]


def test_numbering_consistency() -> None:
    doc = fe()
    fecha = datetime(2026, 7, 15, 9, 30, tzinfo=CR_TZ)
    clave = "50615072600310112345600100001010000000123148213975"
    numbered = doc.with_numbering(consecutivo="00100001010000000123", clave=clave, fecha_emision=fecha)
    assert numbered.fecha_emision == fecha
    with pytest.raises(ValidationError) as info:
        doc.with_numbering(consecutivo="00100001010000000124", clave=clave, fecha_emision=fecha)
    assert paths(info) == ["clave"]
    with pytest.raises(ValidationError) as info:
        doc.with_numbering(
            consecutivo="00100001010000000123",
            clave=clave,
            fecha_emision=datetime(2026, 7, 16, 0, 30, tzinfo=CR_TZ),
        )
    assert paths(info) == ["clave"]
    other = "50615072600310199999900100001010000000123148213975"
    with pytest.raises(ValidationError) as info:
        doc.with_numbering(consecutivo="00100001010000000123", clave=other, fecha_emision=fecha)
    assert "emisor" in str(info.value)
    # a naive date is Costa Rica time; another offset is converted
    utc = datetime.fromisoformat("2026-07-15T15:30:00+00:00")
    assert (
        doc.with_numbering(consecutivo="00100001010000000123", clave=clave, fecha_emision=utc).fecha_emision
        == fecha
    )


def test_mensaje_receptor_checks() -> None:
    base: dict[str, Any] = {
        "clave": "50615072600310165432100100001010000000045171625348",
        "numero_cedula_emisor": "3101654321",
        "total_factura": D("100"),
        "numero_cedula_receptor": "3101123456",
    }
    with pytest.raises(ValidationError) as info:
        MensajeReceptor(**{**base, "numero_cedula_receptor": "12-34"}, mensaje="1")
    assert paths(info) == ["numero_cedula_receptor"]
    ok = MensajeReceptor(**base, mensaje="1")
    with pytest.raises(ValidationError) as info:
        ok.with_numbering(
            consecutivo="00100001070000000001", fecha_emision=datetime(2026, 7, 15, tzinfo=CR_TZ)
        )
    assert paths(info) == ["numero_consecutivo_receptor"]
    with pytest.raises(ValidationError) as info:
        MensajeReceptor(**base, mensaje="1", condicion_impuesto="05", codigo_actividad="620100")
    assert paths(info) == ["codigo_actividad"]


def test_fee_cannot_carry_a_raised_iva_base() -> None:
    from cr_einvoice.vouchers.model import FacturaExportacion

    with pytest.raises(ValidationError) as info:
        FacturaExportacion(
            proveedor_sistemas="3101123456",
            emisor=EMISOR,
            codigo_actividad_emisor="620100",
            lineas=(line(impuestos=(Impuesto(codigo="02", tarifa=D("10")), IVA13)),),
            medios_pago=(MedioPago(tipo_medio_pago="04"),),
        )
    assert paths(info) == ["lineas[0].impuestos"]


def test_amounts_beyond_the_schema_range_are_reported_not_crashing() -> None:
    with pytest.raises(ValidationError) as info:
        line(cantidad=D("9999999999999"), precio_unitario=D("9999999999999.99999"))
    assert paths(info)[0] == "monto_total"
    with pytest.raises(ValidationError) as info:
        line(precio_unitario=D("1" + "0" * 20))
    assert paths(info) == ["precio_unitario"]
