"""Two independent implementations of the formula chain must agree: random invoices built by the model
area (which computes every total) pass the rules (which recompute them from the XML), exactly."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from cr_einvoice.core.clave import CR_TZ, Clave, Consecutivo
from cr_einvoice.vouchers.model import (
    Descuento,
    Emisor,
    Exoneracion,
    FacturaElectronica,
    Identificacion,
    Impuesto,
    LineaDetalle,
    MedioPago,
    Receptor,
    Ubicacion,
)
from cr_einvoice.vouchers.rules import check_rules
from cr_einvoice.vouchers.xmlwrite import to_xml

EMISOR = Emisor(
    nombre="Servicios de Ejemplo Sociedad Anonima",
    identificacion=Identificacion(tipo="02", numero="3101123456"),
    correos_electronicos=("facturas@example.cr",),
    ubicacion=Ubicacion(provincia=1, canton=1, distrito=1, otras_senas="Avenida central, calle primera"),
)
RECEPTOR = Receptor(nombre="Cliente de Ejemplo", identificacion=Identificacion(tipo="01", numero="112345678"))
WHEN = datetime(2026, 3, 1, 23, 59, 59, tzinfo=CR_TZ)

RATES = {
    "02": Decimal("1"),
    "03": Decimal("2"),
    "04": Decimal("4"),
    "08": Decimal("13"),
    "09": Decimal("0.5"),
}
EXONERADAS = [Decimal("0.5"), Decimal("1"), Decimal("4"), Decimal("10")]
amounts = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("99999.99999"), places=5)
quantities = st.decimals(min_value=Decimal("0.001"), max_value=Decimal("500"), places=3)


@st.composite
def lineas(draw: st.DrawFn) -> LineaDetalle:
    tarifa = draw(st.sampled_from(["01", "02", "03", "04", "08", "09", "10", "11"]))
    exoneracion = None
    if tarifa in ("02", "03", "04", "08", "09") and draw(st.booleans()):
        exoneracion = Exoneracion(
            tipo_documento_ex1="04",
            numero_documento="AL-00012345-24",
            nombre_institucion="01",
            fecha_emision_ex=datetime(2026, 1, 15, 8, 0, tzinfo=CR_TZ),
            tarifa_exonerada=draw(st.sampled_from([r for r in EXONERADAS if r <= RATES[tarifa]])),
        )
    descuentos = tuple(
        Descuento(codigo_descuento=draw(st.sampled_from(["04", "05", "06", "07"])), porcentaje=p)
        for p in draw(st.lists(st.sampled_from([Decimal("5"), Decimal("10"), Decimal("12.5")]), max_size=3))
    )
    cabys = draw(st.sampled_from(["8314100000000", "2399900000100", "4523000000000", "6331100000100"]))
    return LineaDetalle(
        codigo_cabys=cabys,
        detalle="Articulo o servicio de prueba",
        cantidad=draw(quantities),
        precio_unitario=draw(amounts),
        descuentos=descuentos,
        impuestos=(Impuesto(codigo="01", codigo_tarifa_iva=tarifa, exoneracion=exoneracion),),
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines=st.lists(lineas(), min_size=1, max_size=4), credit=st.booleans())
def test_model_totals_satisfy_the_rules(lines: list[LineaDetalle], credit: bool) -> None:
    extra: dict[str, Any] = (
        {"condicion_venta": "02", "plazo_credito": 30}
        if credit
        else {"medios_pago": (MedioPago(tipo_medio_pago="01"),)}
    )
    doc = FacturaElectronica(
        proveedor_sistemas="3101123456",
        emisor=EMISOR,
        receptor=RECEPTOR,
        codigo_actividad_emisor="620100",
        lineas=tuple(lines),
        **extra,
    )
    consecutivo = Consecutivo(sucursal=1, terminal=1, tipo=doc.tipo, numero=7)
    clave = Clave.build(
        tipo_identificacion="02", numero_identificacion="3101123456", consecutivo=consecutivo, fecha=WHEN
    )
    root = etree.fromstring(
        to_xml(doc.with_numbering(consecutivo=consecutivo, clave=clave, fecha_emision=WHEN))
    )
    assert [str(p) for p in check_rules(root)] == []
