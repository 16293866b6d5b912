"""The quick reading of a plain v4.4 voucher (delivery.quickread) gives the very view the model's reading
gives (document.model_view), and leaves to it what it does not know or the model refuses or warns about."""

from __future__ import annotations

import copy
import random
from collections.abc import Callable

import pytest
from delivery_docs import KINDS
from lxml import etree

from cr_einvoice.core.xmlsafe import parse_untrusted
from cr_einvoice.delivery.document import model_view, representacion
from cr_einvoice.delivery.quickread import quick_view
from cr_einvoice.delivery.view import Representacion

#: The example kinds the quick reading reads itself (the others: REP, MensajeReceptor).
QUICK = {"fe", "nd", "nc", "te", "fec", "fee", "fe-credito", "te-contingencia", "fe-exo"}


def _views(root: etree._Element) -> tuple[Representacion | None, Representacion | Exception]:
    quick = quick_view(root, "4.4")
    try:
        model: Representacion | Exception = model_view(root, "4.4")
    except Exception as exc:  # whatever the model's reading raises, the quick one must not answer
        model = exc
    return quick, model


@pytest.mark.parametrize("kind", KINDS)
def test_every_example_reads_the_same(signed: dict[str, bytes], kind: str) -> None:
    root = parse_untrusted(signed[kind], what="voucher")
    quick, model = _views(root)
    assert not isinstance(model, Exception)
    if kind in QUICK:
        assert quick == model
    else:
        assert quick is None
    assert representacion(signed[kind]).lineas == model.lineas  # the quick reading or the model's


def _ns(root: etree._Element) -> str:
    return etree.QName(root).namespace or ""


def _find(root: etree._Element, path: str) -> etree._Element:
    node = root.find("/".join(f"{{{_ns(root)}}}{p}" for p in path.split("/")))
    assert node is not None, path
    return node


def _add(root: etree._Element, parent: str, name: str, text: str | None = None) -> etree._Element:
    node = etree.SubElement(_find(root, parent) if parent else root, f"{{{_ns(root)}}}{name}")
    node.text = text
    return node


def _set(path: str, text: str | None) -> Callable[[etree._Element], None]:
    def change(root: etree._Element) -> None:
        node = _find(root, path)
        if text is None:
            node.getparent().remove(node)  # type: ignore[union-attr]
        else:
            node.text = text

    return change


def _added(
    parent: str, name: str, text: str | None = None, **children: str
) -> Callable[[etree._Element], None]:
    def change(root: etree._Element) -> None:
        node = _add(root, parent, name, text)
        for child, value in children.items():
            sub = etree.SubElement(node, f"{{{_ns(root)}}}{child}")
            sub.text = value

    return change


def _all(*changes: Callable[[etree._Element], None]) -> Callable[[etree._Element], None]:
    def change(root: etree._Element) -> None:
        for one in changes:
            one(root)

    return change


def _renamed(path: str, name: str) -> Callable[[etree._Element], None]:
    def change(root: etree._Element) -> None:
        _find(root, path).tag = f"{{{_ns(root)}}}{name}"

    return change


LINE = "DetalleServicio/LineaDetalle"
TAX = f"{LINE}/Impuesto"
EXO = "DetalleServicio/LineaDetalle[2]/Impuesto/Exoneracion"
#: (name, the example changed, the change, whether the quick reading reads it itself)
CHANGES: list[tuple[str, str, Callable[[etree._Element], None], bool]] = [
    ("activity padded", "fe", _set("CodigoActividadEmisor", "5610"), True),
    ("plazo", "fe-credito", _set("PlazoCredito", "45"), True),
    ("plazo zero", "fe-credito", _set("PlazoCredito", "0"), True),
    ("plazo with a zero first", "fe-credito", _set("PlazoCredito", "045"), False),
    ("plazo not a number", "fe-credito", _set("PlazoCredito", "treinta"), False),
    ("no country code", "te", _set("Emisor/Telefono/CodigoPais", None), True),
    ("country code 0", "te", _set("Emisor/Telefono/CodigoPais", "0"), True),
    ("country code not a number", "te", _set("Emisor/Telefono/CodigoPais", "x1"), False),
    ("no phone number", "te", _set("Emisor/Telefono/NumTelefono", None), True),
    ("two e-mails and a blank one", "fe", _added("Emisor", "CorreoElectronico", "otro@example.cr"), True),
    ("blank e-mail", "fe", _added("Emisor", "CorreoElectronico", "   "), True),
    ("registro fiscal", "fe", _added("Emisor", "Registrofiscal8707", "123456"), True),
    ("no ubicación", "fe", _set("Emisor/Ubicacion", None), True),
    ("no barrio", "fe", _set("Emisor/Ubicacion/Barrio", None), True),
    ("foreign address", "fe", _added("Receptor", "OtrasSenasExtranjero", "Calle 5, Ciudad de Panamá"), True),
    ("receptor without identification", "fe", _set("Receptor/Identificacion", None), True),
    ("emisor without identification", "fe", _set("Emisor/Identificacion", None), False),
    ("unknown identification type", "fe", _set("Emisor/Identificacion/Tipo", "77"), False),
    ("commercial code", "fe", _added(LINE, "CodigoComercial", Tipo="04", Codigo="ABC-123"), True),
    ("unknown commercial code type", "fe", _added(LINE, "CodigoComercial", Tipo="77", Codigo="X"), False),
    ("partida", "fe", _added(LINE, "PartidaArancelaria", "123456789012"), True),
    ("transacción", "fe", _added(LINE, "TipoTransaccion", "02"), True),
    ("transacción normal", "fe", _added(LINE, "TipoTransaccion", "01"), True),
    ("unidad comercial", "fe", _added(LINE, "UnidadMedidaComercial", "caja"), True),
    ("vin", "fe", _added(LINE, "NumeroVINoSerie", "1HGCM82633A004352"), True),
    ("medicamento", "fe", _added(LINE, "RegistroMedicamento", "MS-123"), True),
    ("forma", "fe", _added(LINE, "FormaFarmaceutica", "A"), True),
    ("iva de fábrica", "fe", _added(LINE, "IVACobradoFabrica", "01"), True),
    ("unknown iva de fábrica", "fe", _added(LINE, "IVACobradoFabrica", "07"), False),
    (
        "discount 99",
        "fe",
        _added(
            LINE,
            "Descuento",
            MontoDescuento="10.00000",
            CodigoDescuento="99",
            CodigoDescuentoOTRO="Cliente frecuente",
            NaturalezaDescuento="Fidelidad",
        ),
        True,
    ),
    ("discount without a code", "fe", _added(LINE, "Descuento", MontoDescuento="5.50000"), True),
    ("negative discount", "fe", _added(LINE, "Descuento", MontoDescuento="-5", CodigoDescuento="07"), False),
    ("no tarifa", "fe", _set(f"{TAX}/Tarifa", None), True),
    ("tarifa 100", "fe", _set(f"{TAX}/Tarifa", "100"), False),
    (
        "tax 12 without a rate",
        "te",
        _all(
            _set(f"{TAX}/Tarifa", None),
            _set(f"{TAX}/CodigoTarifaIVA", None),
            _set(f"{TAX}/Codigo", "12"),
        ),
        True,
    ),
    (
        "tax 99",
        "te",
        _all(_set(f"{TAX}/Codigo", "99"), _added(TAX, "CodigoImpuestoOTRO", "Tasa municipal")),
        True,
    ),
    (
        "tax 08 with a factor",
        "te",
        _all(_set(f"{TAX}/Codigo", "08"), _added(TAX, "FactorCalculoIVA", "0.5")),
        True,
    ),
    ("factor 10", "te", _added(TAX, "FactorCalculoIVA", "10"), False),
    ("unknown tax", "te", _set(f"{TAX}/Codigo", "55"), False),
    ("tax amount with an exponent", "te", _set(f"{TAX}/Monto", "1.17E+3"), True),
    ("tax amount NaN", "te", _set(f"{TAX}/Monto", "NaN"), False),
    ("negative price", "te", _set(f"{LINE}/PrecioUnitario", "-1"), False),
    ("price not a number", "te", _set(f"{LINE}/PrecioUnitario", "mil"), False),
    ("huge price", "te", _set(f"{LINE}/PrecioUnitario", "99999999999999"), False),
    ("no quantity", "te", _set(f"{LINE}/Cantidad", None), True),
    ("fractional quantity", "te", _set(f"{LINE}/Cantidad", "2.500"), True),
    ("unknown unit", "te", _set(f"{LINE}/UnidadMedida", "xyz"), False),
    ("no unit", "te", _set(f"{LINE}/UnidadMedida", None), False),
    ("no total", "te", _set(f"{LINE}/MontoTotalLinea", None), True),
    ("line total not a number", "te", _set(f"{LINE}/MontoTotalLinea", "x"), False),
    ("an element the reading does not know", "te", _added(LINE, "Adorno", "1"), False),
    ("exoneration", "fe-exo", lambda r: None, True),
    ("exoneration without articulo", "fe-exo", _set(f"{EXO}/Articulo", None), True),
    ("exoneration articulo not a number", "fe-exo", _set(f"{EXO}/Articulo", "7a"), False),
    ("exoneration rate 0", "fe-exo", _set(f"{EXO}/TarifaExonerada", "0.00"), True),
    ("exoneration rate 100", "fe-exo", _set(f"{EXO}/TarifaExonerada", "100"), False),
    (
        "exoneration institution 99",
        "fe-exo",
        _all(
            _set(f"{EXO}/NombreInstitucion", "99"),
            _added(EXO, "NombreInstitucionOtros", "Junta de Educación"),
        ),
        True,
    ),
    (
        "exoneration institution as text (v4.3)",
        "fe-exo",
        _set(f"{EXO}/NombreInstitucion", "Ministerio de Hacienda"),
        False,
    ),
    ("exoneration without a date", "fe-exo", _set(f"{EXO}/FechaEmisionEX", None), False),
    (
        "means 99",
        "te",
        _all(
            _set("ResumenFactura/MedioPago/TipoMedioPago", "99"),
            _added("ResumenFactura/MedioPago", "MedioPagoOtros", "Cupón"),
        ),
        True,
    ),
    (
        "two means",
        "te",
        _added("ResumenFactura", "MedioPago", TipoMedioPago="02", TotalMedioPago="100.00"),
        True,
    ),
    ("means without amount", "te", _set("ResumenFactura/MedioPago/TotalMedioPago", None), True),
    ("v4.3 means", "te", _added("ResumenFactura", "MedioPago", "02"), False),
    ("no exchange rate", "te", _set("ResumenFactura/CodigoTipoMoneda/TipoCambio", None), True),
    (
        "dollars",
        "te",
        _all(
            _set("ResumenFactura/CodigoTipoMoneda/CodigoMoneda", "USD"),
            _set("ResumenFactura/CodigoTipoMoneda/TipoCambio", "512.75"),
        ),
        True,
    ),
    (
        "dollars without a rate",
        "te",
        _all(
            _set("ResumenFactura/CodigoTipoMoneda/CodigoMoneda", "USD"),
            _set("ResumenFactura/CodigoTipoMoneda/TipoCambio", None),
        ),
        False,
    ),
    ("unknown breakdown tax", "te", _set("ResumenFactura/TotalDesgloseImpuesto/Codigo", "55"), False),
    ("no total venta", "te", _set("ResumenFactura/TotalVenta", None), True),
    (
        "third-party charge",
        "te",
        _all(
            _set("OtrosCargos/TipoDocumentoOC", "04"),
            _added("OtrosCargos", "NombreTercero", "Tercero S.A."),
            _added("OtrosCargos", "IdentificacionTercero", Tipo="02", Numero="3101999999"),
        ),
        True,
    ),
    (
        "charge 99",
        "te",
        _all(
            _set("OtrosCargos/TipoDocumentoOC", "99"),
            _added("OtrosCargos", "TipoDocumentoOTROS", "Propina voluntaria"),
        ),
        True,
    ),
    ("charge without a percentage", "te", _set("OtrosCargos/PorcentajeOC", None), True),
    (
        "reference 99",
        "nc",
        _all(
            _set("InformacionReferencia/Codigo", "99"),
            _added("InformacionReferencia", "CodigoReferenciaOTRO", "Ajuste de precio"),
        ),
        True,
    ),
    (
        "reference date in UTC",
        "nc",
        _set("InformacionReferencia/FechaEmisionIR", "2026-07-01T15:00:00Z"),
        True,
    ),
    ("reference without a date", "nc", _set("InformacionReferencia/FechaEmisionIR", None), False),
    ("v4.3 reference date", "nc", _renamed("InformacionReferencia/FechaEmisionIR", "FechaEmision"), False),
    ("otros", "fe", _added("Otros", "OtroContenido", "Contenido"), True),
    ("otro texto with a code", "fe", lambda r: _find(r, "Otros/OtroTexto").set("codigo", "PO"), True),
    ("date in UTC", "te", _set("FechaEmision", "2026-07-15T15:30:00Z"), True),
    ("date without offset", "te", _set("FechaEmision", "2026-07-15T09:30:00"), True),
    ("date malformed", "te", _set("FechaEmision", "15/07/2026"), False),
    ("no consecutivo", "te", _set("NumeroConsecutivo", None), False),
    ("unknown condición", "te", _set("CondicionVenta", "77"), False),
    ("condición otros", "te", _added("", "CondicionVentaOtros", "Trueque de servicios"), True),
]


@pytest.mark.parametrize(("name", "kind", "change", "quick"), CHANGES, ids=[c[0] for c in CHANGES])
def test_a_changed_voucher_reads_the_same_or_goes_to_the_model(
    signed: dict[str, bytes],
    name: str,
    kind: str,
    change: Callable[[etree._Element], object],
    quick: bool,
) -> None:
    root = copy.deepcopy(parse_untrusted(signed[kind], what="voucher"))
    change(root)
    got, model = _views(root)
    if isinstance(model, Exception):
        assert got is None
    elif quick:
        assert got is not None, "the quick reading should read this itself"
        assert got == model
    else:
        assert got is None


#: Texts a changed element gets in the random changes below: numbers in every form, codes known and not,
#: dates, blanks.
_TEXTS = (
    "",
    "   ",
    "0",
    "1",
    "01",
    "02",
    "99",
    "12",
    "-1",
    "1.5",
    "13.00",
    "100",
    "1E+3",
    "NaN",
    "Infinity",
    "abc",
    "0045",
    "9999999999999.99999",
    "10000000000000",
    "2026-07-15T09:30:00-06:00",
    "2026-07-15T15:30:00Z",
    "Unid",
    "h",
    "ñandú",
    " 01 ",
    "\n  13.00\n",
    "2026-07-15T09:30:00",
    "5610",
    "CRC",
    "USD",
    "-0",
    "-0.00",
    "+5",
    "1_000",
    "0E-7",
)


def _random_change(root: etree._Element, rng: random.Random) -> None:
    """Change one element of the voucher (not its signature): new text, removed, doubled, or a stranger."""
    elements = [e for e in root.iter() if e is not root and _ns(root) in str(e.tag)]
    node = rng.choice(elements)
    parent = node.getparent()
    assert parent is not None
    what = rng.randrange(4)
    if what == 0:
        node.text = rng.choice(_TEXTS)
    elif what == 1:
        parent.remove(node)
    elif what == 2:
        parent.insert(parent.index(node) + 1, copy.deepcopy(node))
    else:
        etree.SubElement(node if len(node) else parent, f"{{{_ns(root)}}}Extra").text = "1"


@pytest.mark.parametrize("kind", ["fe", "te", "nc", "fec", "fee", "fe-credito", "fe-exo"])
def test_random_changes_read_the_same_or_go_to_the_model(signed: dict[str, bytes], kind: str) -> None:
    rng = random.Random(f"quickread-{kind}")
    original = parse_untrusted(signed[kind], what="voucher")
    quick_ones = 0
    for _ in range(120):
        root = copy.deepcopy(original)
        for _ in range(rng.randrange(1, 4)):
            _random_change(root, rng)
        got, model = _views(root)
        if isinstance(model, Exception) or got is None:
            assert got is None
        else:
            quick_ones += 1
            assert got == model
    assert quick_ones > 10  # the quick reading took many of them itself
