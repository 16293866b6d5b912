"""render_pdf: every document type in every format shows every required field (read back from the PDF's text)
and a QR code that decodes (from the rasterised page) to the clave."""

from __future__ import annotations

import re
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from lxml import etree
from pdf_reading import decode_qr, embedded_fonts, page_sizes, page_texts, squeeze

from cr_einvoice.core.errors import ValidationError, XMLParseError
from cr_einvoice.delivery.formatting import fmt_cantidad, fmt_monto
from cr_einvoice.delivery.pdf import FORMATS, render_pdf
from cr_einvoice.signing.xades import Signer

VOUCHERS = ("fe", "nd", "nc", "te", "fec", "fee", "rep")
MENSAJES = ("mr", "mr-parcial", "mr-rechazo")
TITLES = {
    "fe": "Factura Electrónica",
    "nd": "Nota de Débito Electrónica",
    "nc": "Nota de Crédito Electrónica",
    "te": "Tiquete Electrónico",
    "fec": "Factura Electrónica de Compra",
    "fee": "Factura Electrónica de Exportación",
    "rep": "Recibo Electrónico de Pago",
    "mr": "Confirmación de aceptación",
    "mr-parcial": "Confirmación de aceptación parcial",
    "mr-rechazo": "Confirmación de rechazo",
}
RESUMEN_LABELS = (
    "Servicios gravados",
    "Servicios exentos",
    "Servicios exonerados",
    "Servicios no sujetos",
    "Mercancías gravadas",
    "Mercancías exentas",
    "Mercancías exoneradas",
    "Mercancías no sujetas",
    "Total gravado",
    "Total exento",
    "Total exonerado",
    "Total no sujeto",
    "Total venta",
    "Total descuentos",
    "Total venta neta",
    "Total impuestos",
    "IVA devuelto",
    "Total otros cargos",
    "Total comprobante",
)


def _xml(data: bytes) -> etree._Element:
    return etree.fromstring(data)


def _all(root: etree._Element, path: str) -> list[str]:
    """Texts of the elements at a path of local names (``DetalleServicio/LineaDetalle/CodigoCABYS``)."""
    xpath = "./" + "/".join(f"*[local-name()='{part}']" for part in path.split("/"))
    return [(e.text or "").strip() for e in root.xpath(xpath)]


def _one(root: etree._Element, path: str) -> str:
    values = _all(root, path)
    assert len(values) == 1, path
    return values[0]


def _expected_voucher(root: etree._Element) -> list[str]:
    """What the page must show, taken from the signed XML itself (not from the renderer's view model)."""
    out = [
        _one(root, "Clave"),
        _one(root, "NumeroConsecutivo"),
        "15/07/2026 09:30:00",
        _one(root, "Emisor/Nombre"),
        _one(root, "Emisor/Identificacion/Numero"),
        *_all(root, "Emisor/CorreoElectronico"),
        _one(root, "ResumenFactura/CodigoTipoMoneda/CodigoMoneda"),
        fmt_monto(_dec(_one(root, "ResumenFactura/CodigoTipoMoneda/TipoCambio"))),
        fmt_monto(_dec(_one(root, "ResumenFactura/TotalComprobante"))),
        "Condición de venta",
        _one(root, "CondicionVenta"),
        *_all(root, "Receptor/Nombre"),
        *_all(root, "Receptor/Identificacion/Numero"),
        *_all(root, "Receptor/CorreoElectronico"),
        *RESUMEN_LABELS,
    ]
    for line in root.xpath("./*[local-name()='DetalleServicio']/*[local-name()='LineaDetalle']"):
        out += _all(line, "CodigoCABYS") + _all(line, "Detalle")
        out += [fmt_cantidad(_dec(v)) for v in _all(line, "Cantidad")]
        out += [fmt_monto(_dec(v)) for v in _all(line, "PrecioUnitario") + _all(line, "MontoTotalLinea")]
        for tax in line.xpath("./*[local-name()='Impuesto']"):
            code = _one(tax, "Codigo") + "".join("/" + t for t in _all(tax, "CodigoTarifaIVA"))
            out += [code, fmt_monto(_dec(_one(tax, "Monto")))]
    for medio in _all(root, "ResumenFactura/MedioPago/TipoMedioPago"):
        out.append(f"Medio de pago: {medio}")
    for ref in root.xpath("./*[local-name()='InformacionReferencia']"):
        out += _all(ref, "Numero") + _all(ref, "Razon") + _all(ref, "TipoDocIR")
    for cargo in root.xpath("./*[local-name()='OtrosCargos']"):
        out += [*_all(cargo, "Detalle"), fmt_monto(_dec(_one(cargo, "MontoCargo")))]
    for total in root.xpath(
        "./*[local-name()='ResumenFactura']/*[starts-with(local-name(), 'Total') and text()]"
    ):
        out.append(fmt_monto(_dec(total.text or "")))
    return out


def _expected_mensaje(root: etree._Element) -> list[str]:
    return [
        _one(root, "Clave"),
        _one(root, "NumeroConsecutivoReceptor"),
        _one(root, "NumeroCedulaEmisor"),
        _one(root, "NumeroCedulaReceptor"),
        *_all(root, "DetalleMensaje"),
        fmt_monto(_dec(_one(root, "TotalFactura"))),
        "Mensaje",
        "15/07/2026 09:30:00",
    ]


def _dec(text: str) -> Decimal:
    return Decimal(text)


def _check_page(pdf: bytes, root: etree._Element, kind: str) -> str:
    texts = page_texts(pdf)
    text = "\n".join(texts)
    flat = squeeze(text)
    expected = _expected_mensaje(root) if kind.startswith("mr") else _expected_voucher(root)
    expected += [TITLES[kind], "Versión 4.4", "MH-DGT-RES-0027-2024", "Fecha de emisión", "Situación"]
    missing = [value for value in expected if squeeze(value) not in flat]
    assert not missing, f"{kind}: not on the page: {missing}"
    clave = _one(root, "Clave")
    assert decode_qr(pdf) == [clave]
    return text


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("kind", VOUCHERS + MENSAJES)
def test_every_type_every_format_shows_the_required_fields_and_a_decodable_qr(
    signed: dict[str, bytes], kind: str, fmt: str
) -> None:
    pdf = render_pdf(signed[kind], format=fmt, estado="aceptado")
    assert pdf.startswith(b"%PDF-")
    text = _check_page(pdf, _xml(signed[kind]), kind)
    assert squeeze("Aceptado por el Ministerio de Hacienda") in squeeze(text)
    width = page_sizes(pdf)[0][0]
    expected_width = {"a4": 595.28, "letter": 612.0, "80mm": 226.77, "58mm": 164.41}[fmt]
    assert abs(width - expected_width) < 0.05


def test_exoneration_credit_and_contingency_are_printed(signed: dict[str, bytes]) -> None:
    text = squeeze("\n".join(page_texts(render_pdf(signed["fe-exo"]))))
    for value in ("Exoneración", "03 Autorizado por ley especial", "AL-00460853-20", "artículo 7", "inciso 2",
                  "01 Ministerio de Hacienda", "01/06/2026", "tarifa exonerada 13 %", "7 800,00",
                  "Servicios exonerados", "60 000,00"):  # fmt: skip
        assert squeeze(value) in text, value
    credit = squeeze("\n".join(page_texts(render_pdf(signed["fe-credito"], format="58mm"))))
    assert (
        squeeze("Condición de venta: 02 Crédito") in credit and squeeze("Plazo de crédito: 30 días") in credit
    )
    assert "Mediodepago" not in credit
    ticket = squeeze("\n".join(page_texts(render_pdf(signed["te-contingencia"], format="80mm"))))
    for value in ("Situación: 2 Contingencia", "08 Comprobante emitido en contingencia", "CONT-000457",
                  "05 Sustituye comprobante provisional por contingencia"):  # fmt: skip
        assert squeeze(value) in ticket, value


def test_fonts_are_embedded_and_accents_survive(signed: dict[str, bytes]) -> None:
    for fmt in ("a4", "58mm"):
        pdf = render_pdf(signed["fe"], format=fmt)
        fonts = embedded_fonts(pdf)
        assert fonts, "no fonts found"
        assert all(fonts.values()), fonts
        text = "\n".join(page_texts(pdf))
        for word in ("Electrónica", "Soluciones Tecnológicas", "Desarrollo de módulo", "Condición", "Página"
                     if fmt == "a4" else "Dirección"):  # fmt: skip
            assert word in text


def test_hacienda_answer_is_printed(signed: dict[str, bytes]) -> None:
    from delivery_docs import respuesta

    clave = _one(_xml(signed["fe"]), "Clave")
    accepted = "\n".join(page_texts(render_pdf(signed["fe"], respuesta_xml=respuesta(clave))))
    assert "Estado: Aceptado por el Ministerio de Hacienda" in accepted
    assert "Ambiente de pruebas: sin validez para fines tributarios" in accepted
    rejected = "\n".join(page_texts(render_pdf(signed["fe"], respuesta_xml=respuesta(clave, aceptado=False))))
    assert "Rechazado por el Ministerio de Hacienda" in rejected
    assert "-52" in rejected and "no coincide" in rejected
    # an explicit state wins over the answer's
    printed = "\n".join(
        page_texts(render_pdf(signed["fe"], respuesta_xml=respuesta(clave), estado="procesando"))
    )
    assert "En proceso de validación por Hacienda" in printed
    # without answer or state nothing is claimed
    assert "Estado en el Ministerio de Hacienda" not in "\n".join(page_texts(render_pdf(signed["fe"])))


def _problem_path(exc: pytest.ExceptionInfo[ValidationError]) -> str:
    return exc.value.problems[0].path


def test_bad_input_is_refused_naming_the_field(signed: dict[str, bytes], signer: Signer) -> None:
    from delivery_docs import respuesta

    with pytest.raises(ValidationError) as exc:
        render_pdf(signed["fe"], format="a5")
    assert _problem_path(exc) == "format"
    with pytest.raises(ValidationError) as exc:
        render_pdf(signed["fe"], estado="maybe")
    assert _problem_path(exc) == "estado"
    other = _one(_xml(signed["te"]), "Clave")
    with pytest.raises(ValidationError) as exc:
        render_pdf(signed["fe"], respuesta_xml=respuesta(other))
    assert _problem_path(exc) == "respuesta_xml"
    with pytest.raises(ValidationError) as exc:
        render_pdf(signed["fe"], respuesta_xml=signed["fe"])
    assert _problem_path(exc).startswith("respuesta_xml")
    unsigned = re.sub(rb"<ds:Signature.*</ds:Signature>", b"", signed["fe"], flags=re.S)
    assert unsigned != signed["fe"]
    with pytest.raises(ValidationError) as exc:
        render_pdf(unsigned)
    assert _problem_path(exc) == "ds:Signature"
    with pytest.raises(XMLParseError):
        render_pdf(b"<FacturaElectronica")
    with pytest.raises(ValidationError) as exc:
        render_pdf("<xml/>")  # type: ignore[arg-type]
    assert _problem_path(exc) == "signed_xml"
    hacienda = respuesta(other)
    with pytest.raises(ValidationError):  # a MensajeHacienda is not a voucher
        render_pdf(signer.sign(hacienda))
    mensaje = re.sub(rb"<ds:Signature.*</ds:Signature>", b"", signed["mr-rechazo"], flags=re.S)
    no_clave = re.sub(rb"<Clave>[^<]*</Clave>", b"<Clave></Clave>", mensaje)
    assert no_clave != mensaje
    with pytest.raises(ValidationError) as exc:  # nothing to encode in the QR code
        render_pdf(signer.sign(no_clave), format="58mm")
    assert _problem_path(exc) == "Clave"


@pytest.mark.parametrize(
    ("sample", "version", "leyenda"),
    [
        ("FacturaElectronica_v4.2_firmado_estilo_anexo2.xml", "4.2", "DGT-R-48-2016"),
        ("TiqueteElectronico_v4.3_firmado_estilo_crlibre.xml", "4.3", "DGT-R-033-2019"),
    ],
)
def test_real_signed_vouchers_of_older_versions(
    samples_dir: Path, sample: str, version: str, leyenda: str
) -> None:
    data = (samples_dir / sample).read_bytes()
    root = _xml(data)
    clave = _one(root, "Clave")
    for fmt in ("a4", "58mm"):
        pdf = render_pdf(data, format=fmt)
        text = squeeze("\n".join(page_texts(pdf)))
        assert squeeze(f"Versión {version}") in text and leyenda in text and clave in text
        assert _one(root, "Emisor/Nombre").replace(" ", "") in text
        assert squeeze(fmt_monto(_dec(_one(root, "ResumenFactura/TotalComprobante")))) in text
        for cabys in _all(root, "DetalleServicio/LineaDetalle/Codigo/Codigo") + _all(
            root, "DetalleServicio/LineaDetalle/Codigo"
        ):
            if cabys:
                assert cabys in text
        assert decode_qr(pdf) == [clave]


def test_without_the_pdf_extra_the_error_says_what_to_install(
    signed: dict[str, bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    from cr_einvoice.core.errors import ConfigError

    monkeypatch.setitem(sys.modules, "zxingcpp", None)  # as if it were not installed
    with pytest.raises(ConfigError, match=r"cr-einvoice\[pdf\].*zxingcpp"):
        render_pdf(signed["te"], format="80mm")
