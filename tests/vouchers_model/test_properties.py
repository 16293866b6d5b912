"""Property tests: for random documents the summary is the sum of the lines, the XML validates against the
official XSD, the business rules find nothing and model → XML → model is the identity."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from cr_einvoice.core.catalogs import CodigoTarifaIVA
from cr_einvoice.core.clave import CR_TZ
from cr_einvoice.core.errors import Problem, ValidationError
from cr_einvoice.core.money import ZERO, q5
from cr_einvoice.testing.examples import EXAMPLE_KINDS, example_json
from cr_einvoice.vouchers.jsonio import document_from_json
from cr_einvoice.vouchers.model import (
    Comprobante,
    Descuento,
    DescuentoSurtido,
    Emisor,
    Exoneracion,
    FacturaElectronica,
    FacturaExportacion,
    Identificacion,
    Impuesto,
    ImpuestoSurtido,
    InformacionReferencia,
    LineaDetalle,
    LineaDetalleSurtido,
    LineaPago,
    MedioPago,
    NotaCredito,
    OtroCargo,
    Receptor,
    ReciboPago,
    Tiquete,
    Ubicacion,
)
from cr_einvoice.vouchers.rules import check_rules
from cr_einvoice.vouchers.xmlread import from_xml
from cr_einvoice.vouchers.xmlwrite import to_xml

EMISOR = Emisor(
    nombre="Comercializadora Aleatoria S.A.",
    identificacion=Identificacion(tipo="02", numero="3101123456"),
    ubicacion=Ubicacion(provincia=3, canton=1, distrito=1, otras_senas="Frente al parque central"),
    correos_electronicos=("ventas@aleatoria.example.cr",),
)
RECEPTOR = Receptor(
    nombre="Cliente Aleatorio S.A.", identificacion=Identificacion(tipo="02", numero="3102654321")
)
TARIFAS = ["01", "02", "03", "04", "08", "09", "10", "11"]


def _decimal(low: int, high: int, places: int) -> st.SearchStrategy[Decimal]:
    return st.integers(low, high).map(lambda n: Decimal(n).scaleb(-places))


@st.composite
def impuestos(draw: st.DrawFn, kind: str) -> tuple[Impuesto, ...]:
    exportacion = kind == "fee"
    # FEE included with 0 % codes 01/11: the FEE summary has no no-sujeto totals, so the model and the rules
    # both report those lines as exento.
    choices = TARIFAS
    if kind == "nc":
        choices = [*TARIFAS, "05", "06", "07"]  # transitional rates: credit and debit notes only
    code = CodigoTarifaIVA(draw(st.sampled_from(choices)))
    exo = None
    if code.tarifa > 0 and not exportacion and draw(st.booleans()):
        exo = Exoneracion(
            tipo_documento_ex1="04",
            numero_documento="AL-00012345-24",
            nombre_institucion="01",
            fecha_emision_ex=datetime(2026, 1, 15, tzinfo=CR_TZ),
            tarifa_exonerada=draw(
                st.integers(0, int(code.tarifa * 100)).map(lambda n: Decimal(n).scaleb(-2))
            ),
        )
    taxes = [Impuesto(codigo="01", codigo_tarifa_iva=code, exoneracion=exo)]
    if draw(st.integers(0, 4)) == 0 and not (exportacion and code.tarifa > 0):
        taxes.insert(0, Impuesto(codigo="02", tarifa=draw(_decimal(1, 4000, 2))))
    return tuple(taxes)


@st.composite
def componentes(draw: st.DrawFn, kind: str) -> LineaDetalleSurtido:
    """A combo component: IVA at any tarifa (sometimes with a tax 02 in its base), successive discounts
    (regalía/bonificación included, except in a FEE)."""
    choices = [*TARIFAS, "05", "06", "07"] if kind == "nc" else TARIFAS
    code = CodigoTarifaIVA(draw(st.sampled_from(choices)))
    taxes = [ImpuestoSurtido(codigo_impuesto_surtido="01", codigo_tarifa_iva_surtido=code)]
    if draw(st.integers(0, 4)) == 0 and not (kind == "fee" and code.tarifa > 0):
        taxes.insert(
            0, ImpuestoSurtido(codigo_impuesto_surtido="02", tarifa_surtido=draw(_decimal(1, 4000, 2)))
        )
    codes = ["02", "04", "05", "06", "07", "08", "09"] + ([] if kind == "fee" else ["01", "03"])
    descuentos = tuple(
        DescuentoSurtido(
            codigo_descuento_surtido=draw(st.sampled_from(codes)), porcentaje=draw(_decimal(0, 5000, 2))
        )
        for _ in range(draw(st.integers(0, 2)))
    )
    return LineaDetalleSurtido(
        codigo_cabys_surtido=draw(st.from_regex(r"[0-9]{13}", fullmatch=True)),
        detalle_surtido="Componente de prueba",
        cantidad_surtido=draw(_decimal(1000, 999_999, 3)),
        precio_unitario_surtido=draw(_decimal(1000, 99_999_999, 5)),
        descuentos_surtido=descuentos,
        impuestos_surtido=tuple(taxes),
    )


@st.composite
def lineas(draw: st.DrawFn, kind: str) -> LineaDetalle:
    if draw(st.integers(0, 4)) == 0:
        # a combo: the components describe one unit, the line's quantity multiplies them
        return LineaDetalle.combo(
            codigo_cabys=draw(st.from_regex(r"[0-9]{13}", fullmatch=True)),
            detalle="Combo de prueba",
            cantidad=draw(_decimal(1, 99_999, 3)),
            surtido=tuple(draw(st.lists(componentes(kind), min_size=1, max_size=4))),
        )
    descuentos = []
    for _ in range(draw(st.integers(0, 3))):
        # regalía/bonificación (01/03) make the emisor assume IVA, which a FEE cannot state
        codes = ["02", "04", "05", "06", "07", "08", "09"] + ([] if kind == "fee" else ["01", "03"])
        code = draw(st.sampled_from(codes))
        descuentos.append(Descuento(codigo_descuento=code, porcentaje=draw(_decimal(0, 5000, 2))))
    return LineaDetalle(
        codigo_cabys=draw(st.from_regex(r"[0-9]{13}", fullmatch=True)),
        detalle="Artículo de prueba",
        cantidad=draw(_decimal(1, 99_999_999, 3)),
        precio_unitario=draw(_decimal(1, 9_999_999_999, 5)),
        descuentos=tuple(descuentos),
        impuestos=draw(impuestos(kind)),
    )


@st.composite
def documentos(draw: st.DrawFn) -> Comprobante:
    kind = draw(st.sampled_from(["fe", "te", "nc", "fee"]))
    cargos = tuple(
        OtroCargo(
            tipo_documento_oc="06", detalle="Impuesto de servicio", monto_cargo=draw(_decimal(1, 10**9, 5))
        )
        for _ in range(draw(st.integers(0, 2)))
    )
    common: dict[str, Any] = {
        "proveedor_sistemas": "3101123456",
        "emisor": EMISOR,
        "codigo_actividad_emisor": "461001",
        "lineas": tuple(draw(st.lists(lineas(kind), min_size=1, max_size=6))),
        "otros_cargos": cargos,
        "medios_pago": (MedioPago(tipo_medio_pago=draw(st.sampled_from(["01", "02", "04", "06", "07"]))),),
    }
    if kind == "te":
        return Tiquete(**common)
    if kind == "fee":
        return FacturaExportacion(**common, receptor=Receptor(nombre="Foreign Buyer Ltd"))
    if kind == "nc":
        ref = InformacionReferencia(
            tipo_doc_ir="01",
            numero="50615072600310112345600100001010000000123148213975",
            fecha_emision_ir=datetime(2026, 7, 15, 9, 30, tzinfo=CR_TZ),
            codigo="06",
            razon="Devolución de mercancía",
        )
        return NotaCredito(**common, receptor=RECEPTOR, referencias=(ref,))
    return FacturaElectronica(**common, receptor=RECEPTOR)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(doc=documentos())
def test_random_documents(
    doc: Comprobante, numbered: Callable[..., Any], xsd_errors: Callable[[bytes], list[str]]
) -> None:
    r = doc.resumen
    calcs = [ln.calculo for ln in doc.lineas]
    assert r.total_venta == sum((c.monto_total for c in calcs), ZERO)
    assert r.total_gravado + r.total_exento + r.total_exonerado + r.total_no_sujeto == r.total_venta
    assert r.total_serv_gravados + r.total_mercancias_gravadas == r.total_gravado
    assert r.total_descuentos == sum((c.total_descuentos for c in calcs), ZERO)
    assert r.total_impuesto == sum((c.impuesto_neto for c in calcs), ZERO)
    assert sum((d.total_monto_impuesto for d in r.total_desglose_impuesto), ZERO) == r.total_impuesto
    assert r.total_comprobante == sum((c.monto_total_linea for c in calcs), ZERO) + r.total_otros_cargos
    for c in calcs:
        assert c.sub_total == c.monto_total - c.total_descuentos
        assert c.monto_total_linea == c.sub_total + c.impuesto_neto
    done = numbered(doc)
    data = to_xml(done)
    assert xsd_errors(data) == []
    assert [str(p) for p in check_rules(etree.fromstring(data))] == []
    back = from_xml(data)
    assert back == done
    assert back.stated_differences() == []  # type: ignore[union-attr]


@st.composite
def recibos(draw: st.DrawFn) -> ReciboPago:
    lineas = []
    for _ in range(draw(st.integers(1, 5))):
        monto = draw(_decimal(1, 10**12, 5))
        sub_total = draw(st.none() | st.integers(1, 10**5).map(lambda n, m=monto: q5(m * n / 10**5)))
        taxes = tuple(
            Impuesto(codigo="01", codigo_tarifa_iva=draw(st.sampled_from(TARIFAS)))
            for _ in range(draw(st.integers(0, 1)))
        )
        lineas.append(
            LineaPago(
                detalle="Pago de factura a crédito", monto_total=monto, sub_total=sub_total, impuestos=taxes
            )
        )
    return ReciboPago(
        proveedor_sistemas="3101123456",
        emisor=Emisor(
            nombre=EMISOR.nombre,
            identificacion=EMISOR.identificacion,
            correos_electronicos=EMISOR.correos_electronicos,
        ),
        receptor=RECEPTOR,
        condicion_venta=draw(st.sampled_from(["09", "11"])),
        lineas=tuple(lineas),
        medios_pago=(MedioPago(tipo_medio_pago=draw(st.sampled_from(["01", "03", "04", "06"]))),),
        referencias=(
            InformacionReferencia(
                tipo_doc_ir="01",
                numero="50615072600310112345600100001010000000123148213975",
                fecha_emision_ir=datetime(2026, 7, 15, 9, 30, tzinfo=CR_TZ),
                codigo="04",
                razon="Pago de la factura",
            ),
        ),
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(doc=recibos())
def test_random_recibos(
    doc: ReciboPago, numbered: Callable[..., Any], xsd_errors: Callable[[bytes], list[str]]
) -> None:
    r = doc.resumen
    assert (
        r.total_venta
        == r.total_venta_neta
        == r.total_comprobante
        == sum((ln.monto_total for ln in doc.lineas), ZERO)
    )
    assert r.total_impuesto == sum((ln.calculo.impuesto_neto for ln in doc.lineas), ZERO)
    assert sum((d.total_monto_impuesto for d in r.total_desglose_impuesto), ZERO) == r.total_impuesto
    assert r.medios_pago[0].total_medio_pago == r.total_comprobante
    done = numbered(doc)
    data = to_xml(done)
    assert xsd_errors(data) == []
    assert [str(p) for p in check_rules(etree.fromstring(data))] == []
    back = from_xml(data)
    assert back == done
    assert back.stated_differences() == []  # type: ignore[union-attr]


def _paths(obj: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix] if prefix else []
    if isinstance(obj, dict):
        for key, value in obj.items():
            out += _paths(value, (*prefix, key))
    elif isinstance(obj, list):
        for i, value in enumerate(obj):
            out += _paths(value, (*prefix, i))
    return out


JUNK = [None, "", "x", -1, 0, 1.5, True, [], {}, "99", "2026-13-01", 10**30, "1e400", [1], {"a": 1}]


@settings(max_examples=300, deadline=None)
@given(kind=st.sampled_from(EXAMPLE_KINDS), data=st.data())
def test_damaged_json_only_raises_validation_errors(kind: str, data: st.DataObject) -> None:
    doc = example_json(kind)
    path = data.draw(st.sampled_from(_paths(doc)))
    holder: Any = doc
    for key in path[:-1]:
        holder = holder[key]
    if data.draw(st.booleans()) and isinstance(holder, dict):
        del holder[path[-1]]
    else:
        holder[path[-1]] = data.draw(st.sampled_from(JUNK))
    # anything else than a ValidationError (a TypeError, an AttributeError) fails the test
    problems = _problems(doc)
    assert problems is None or (problems and all(p.path and p.message for p in problems))


def _problems(doc: dict[str, Any]) -> tuple[Problem, ...] | None:
    try:
        document_from_json(doc)
    except ValidationError as exc:
        return exc.problems
    return None
