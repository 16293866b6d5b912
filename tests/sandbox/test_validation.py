"""What the simulator answers for good and bad vouchers: Hacienda's order, texts, rows and serialization."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
from lxml import etree

from cr_einvoice.core.clave import CR_TZ
from cr_einvoice.sandbox import SANDBOX_PREFIX_2026
from cr_einvoice.signing.xades import TrustStore, verify

MH = "{https://cdn.comprobanteselectronicos.go.cr/xml-schemas/v4.4/mensajeHacienda}"
ERRORS_HEAD = f"{SANDBOX_PREFIX_2026}\n\nEl comprobante electrónico tiene los siguientes errores: \r\n[\r\n"


def _parse(respuesta: bytes) -> etree._Element:
    return etree.fromstring(respuesta)


def _field(root: etree._Element, name: str) -> str | None:
    node = root.find(MH + name)
    return None if node is None else (node.text or "")


def _assert_schema_valid(root: etree._Element, xsd) -> None:
    schema = etree.XMLSchema(etree.parse(str(xsd)))
    assert schema.validate(root), schema.error_log


def _submit_and_answer(api, voucher, **extra) -> bytes:
    token = api.token()
    r = api.submit(voucher, token, **extra)
    assert r.status_code == 202, r.text
    return api.respuesta(r.headers["Location"].rsplit("/", 1)[-1])


def test_valid_voucher_is_accepted_with_a_schema_valid_signed_answer(api, vouchers, pki, mh_schema_path):
    v = vouchers.fe()
    raw = _submit_and_answer(api, v)
    assert api.status(v.clave).json()["ind-estado"] == "aceptado"
    # Serialized like Hacienda in 2026.
    assert raw.startswith(
        b'<?xml version="1.0" encoding="UTF-8"?><MensajeHacienda '
        b'xmlns="https://cdn.comprobanteselectronicos.go.cr/xml-schemas/v4.4/mensajeHacienda">\n    <Clave>'
    )
    assert b"</TotalFactura>\n<ds:Signature xmlns:ds=" in raw
    assert raw.endswith(b"</ds:Signature></MensajeHacienda>")
    root = _parse(raw)
    _assert_schema_valid(root, mh_schema_path)
    assert _field(root, "Clave") == v.clave
    assert _field(root, "NombreEmisor") == "Empresa de Pruebas Sociedad Anonima"
    assert _field(root, "TipoIdentificacionEmisor") == "02"
    assert _field(root, "NumeroCedulaEmisor") == "3101123456"
    assert _field(root, "NombreReceptor") == "Cliente de Pruebas"
    assert _field(root, "NumeroCedulaReceptor") == "112345678"
    assert _field(root, "Mensaje") == "1"
    assert _field(root, "EstadoMensaje") == "Aceptado"
    assert _field(root, "DetalleMensaje") == SANDBOX_PREFIX_2026 + "\n\n"
    assert _field(root, "MontoTotalImpuesto") == "1300.00000"
    assert _field(root, "TotalFactura") == "11300.00000"
    # Signed in Hacienda's style (XAdES-BES, XPath filter) with the TEST seal; it verifies and chains.
    result = verify(raw, TrustStore.from_pem_files(pki.sello_ca_cert_pem), expected_cedula="2100042005")
    assert result.signer_cedula == "2100042005"
    assert result.trusted
    assert result.policy_identifier is None
    assert b'<ds:Transform Algorithm="http://www.w3.org/TR/1999/REC-xpath-19991116">' in raw


def test_voucher_without_receptor_has_no_receptor_fields(api, vouchers):
    root = _parse(_submit_and_answer(api, vouchers.fe(receptor=False, tiquete=True), receptor=None))
    assert _field(root, "Mensaje") == "1"
    for name in ("NombreReceptor", "TipoIdentificacionReceptor", "NumeroCedulaReceptor"):
        assert root.find(MH + name) is None


def test_wrong_totals_are_rejected_with_hacienda_rows(api, vouchers, mh_schema_path):
    raw = _submit_and_answer(api, vouchers.fe(total_descuentos="500.00000"))
    root = _parse(raw)
    _assert_schema_valid(root, mh_schema_path)
    assert _field(root, "Mensaje") == "3"
    assert _field(root, "EstadoMensaje") == "Rechazado"
    detalle = _field(root, "DetalleMensaje")
    assert detalle.startswith(ERRORS_HEAD + "codigo, mensaje, fila, columna\r\n")
    assert detalle.endswith("\r\n\r\n]")
    assert (
        '-52, ""El monto total de descuentos no coincide con la suma de los descuentos concedidos"", 0, 0\r\n'
        in detalle
    )
    # The carriage returns travel as &#13; character references, followed by a real LF.
    assert b'concedidos"", 0, 0&#13;\n' in raw
    # A business-rule rejection still names the emisor and echoes the totals.
    assert _field(root, "NombreEmisor") == "Empresa de Pruebas Sociedad Anonima"
    assert _field(root, "TotalFactura") == "11300.00000"


@pytest.mark.parametrize(
    ("how", "line"),
    [
        ("plain", "La firma del documento no es XAdES, se obtuvo [ERROR]"),
        ("bes", "La firma del documento no tiene el Policy Id"),
        (
            "modified",
            "La firma del comprobante electrónico no es válida "
            "(El XML fue modificado luego de haber sido firmado).",
        ),
        ("unsigned", "La firma del comprobante electrónico no es válida"),
    ],
)
def test_signature_problems_short_circuit_with_bare_lines(api, vouchers, how, line, mh_schema_path):
    # The document also breaks the XSD and the totals: only the signature problem is reported.
    v = vouchers.fe_xml(total_descuentos="500.00000", extra_after_clave="\n    <Desconocido>x</Desconocido>")
    if how == "plain":
        v.xml = vouchers.sign_plain_xmldsig(v.xml)
    elif how == "bes":
        v.xml = vouchers.sign_bes(v.xml)
    elif how == "modified":
        v.xml = vouchers.signer.sign(v.xml).replace(b"Servicio de consultoria", b"Servicio de consultoria!")
    root = _parse(_submit_and_answer(api, v))
    _assert_schema_valid(root, mh_schema_path)
    assert _field(root, "Mensaje") == "3"
    assert _field(root, "DetalleMensaje") == ERRORS_HEAD + line + "\r\n]"
    assert _field(root, "NombreEmisor") == "DESCONOCIDO"
    assert _field(root, "TotalFactura") == "0"
    assert root.find(MH + "MontoTotalImpuesto") is None
    assert root.find(MH + "NombreReceptor") is None
    assert _field(root, "NumeroCedulaEmisor") == "3101123456"  # from the request
    assert _field(root, "NumeroCedulaReceptor") == "112345678"


def test_schema_errors_are_xerces_rows_with_line_and_column(api, vouchers):
    v = vouchers.fe_xml(extra_after_clave="\n    <Desconocido>x</Desconocido>")
    v.xml = vouchers.signer.sign(v.xml)
    root = _parse(_submit_and_answer(api, v))
    detalle = _field(root, "DetalleMensaje")
    ns = "https://cdn.comprobanteselectronicos.go.cr/xml-schemas/v4.4/facturaElectronica"
    # <Desconocido> is on line 4, its start tag ends at column 18 (Xerces reports the column after '>').
    expected = (
        f'-1, ""cvc-complex-type.2.4.a: Invalid content was found starting with element '
        f'\'{{"{ns}":Desconocido}}\'. One of \'{{"{ns}":ProveedorSistemas}}\' is expected."", 4, 18\r\n'
    )
    assert expected in detalle
    assert _field(root, "NombreEmisor") == "DESCONOCIDO"


def test_schema_facet_errors_are_worded_like_xerces(api, vouchers):
    v = vouchers.fe_xml()
    v.xml = vouchers.signer.sign(
        v.xml.replace(b"<CodigoActividadEmisor>620100<", b"<CodigoActividadEmisor>62010<")
    )
    detalle = _field(_parse(_submit_and_answer(api, v)), "DetalleMensaje")
    assert re.search(
        r"-1, \"\"cvc-minLength-valid: Value '62010' with length = '5' is not facet-valid with respect to "
        r"minLength '6' for type '#AnonType_CodigoActividadEmisorFacturaElectronica'\.\"\", 5, 57\r\n",
        detalle,
    ), detalle


def test_clave_not_matching_the_document_is_rejected_with_its_codes(api, vouchers):
    v = vouchers.fe_xml()
    # Another emisor's identification and another consecutivo inside the clave (-8, -23).
    v.clave = v.clave[:9] + "003101999999" + "00100001019999999999" + v.clave[41:]
    v.xml = vouchers.signer.sign(
        re.sub(rb"<Clave>\d{50}</Clave>", b"<Clave>" + v.clave.encode() + b"</Clave>", v.xml)
    )
    detalle = _field(_parse(_submit_and_answer(api, v)), "DetalleMensaje")
    assert '-8, ""El número de identificación de la clave numérica no coincide con el número de ' in detalle
    assert (
        '-23, ""La numeración del consecutivo del comprobante no coincide con el valor de la clave.""'
        in detalle
    )


def test_consecutivo_reused_by_another_clave_is_minus_99(api, vouchers):
    first = vouchers.fe()
    token = api.token()
    assert api.submit(first, token).status_code == 202
    second = vouchers.fe(consecutivo=first.consecutivo)
    assert second.clave != first.clave
    assert api.submit(second, token).status_code == 202
    assert api.wait_final(first.clave, token)["ind-estado"] == "aceptado"
    detalle = _field(_parse(api.respuesta(second.clave)), "DetalleMensaje")
    assert re.search(
        rf"-99, \"\"La numeración consecutiva {first.consecutivo} del comprobante que se está utilizando "
        rf"para este archivo XML ya existe en nuestras bases de datos desde el día \d\d-\d\d-\d{{4}} "
        rf"\d\d:\d\d:\d\d en la clave {first.clave}\"\", 0, 0\r\n",
        detalle,
    ), detalle


def test_signer_who_is_not_the_emisor_is_minus_60(api, vouchers):
    v = vouchers.fe(emisor="3101999999")
    detalle = _field(_parse(_submit_and_answer(api, v)), "DetalleMensaje")
    assert '-60, ""El contribuyente que firma la factura electrónica no es el emisor."", 0, 0' in detalle
    assert "-8," not in detalle  # the clave carries the document's emisor


def test_configured_warnings_accept_with_rows(make_sim, api_for, vouchers):
    api = api_for(make_sim(warnings=(-37, -407)))
    root = _parse(_submit_and_answer(api, vouchers.fe()))
    assert _field(root, "Mensaje") == "1"
    detalle = _field(root, "DetalleMensaje")
    assert detalle.startswith(f'{SANDBOX_PREFIX_2026}\n\ncodigo, mensaje, fila, columna\r\n-37, ""Estimado ')
    assert '\r\n-407, ""El Código de la Actividad Económica del emisor' in detalle
    assert detalle.endswith('favor verificar"", 0, 0\r\n')


def test_warnings_are_listed_first_in_a_rejection(make_sim, api_for, vouchers):
    api = api_for(make_sim(warnings=(-37,)))
    detalle = _field(
        _parse(_submit_and_answer(api, vouchers.fe(total_descuentos="1.00000"))), "DetalleMensaje"
    )
    rows = [line for line in detalle.split("\r\n") if re.match(r"-\d+, ", line)]
    assert rows[0].startswith("-37, ")
    assert any(row.startswith("-52, ") for row in rows[1:])


def test_malformed_xml_and_foreign_documents(api, vouchers):
    v = vouchers.fe_xml()
    v.xml = b"<FacturaElectronica><Clave>" + v.clave.encode() + b"</Clave"
    detalle = _field(_parse(_submit_and_answer(api, v)), "DetalleMensaje")
    assert detalle.startswith(ERRORS_HEAD + "codigo, mensaje, fila, columna\r\n-1, ")
    other = vouchers.fe_xml()
    other.xml = vouchers.signer.sign(
        other.xml.replace(b"xml-schemas/v4.4/facturaElectronica", b"xml-schemas/v4.3/facturaElectronica")
    )
    detalle = _field(_parse(_submit_and_answer(api, other)), "DetalleMensaje")
    assert '-1, ""El tipo de documento no corresponde."", 0, 0' in detalle


def test_checks_can_be_switched_off(make_sim, api_for, vouchers):
    api = api_for(make_sim(check_signature=False, check_rules=False))
    v = vouchers.fe_xml(total_descuentos="500.00000")
    v.xml = vouchers.sign_plain_xmldsig(v.xml)
    assert _field(_parse(_submit_and_answer(api, v)), "Mensaje") == "1"


def _with_fecha(vouchers, v, fecha: datetime):
    """Move FechaEmision (and the clave's date with it), then sign."""
    v.xml = v.xml.replace(
        f"<FechaEmision>{v.fecha}<".encode(), f"<FechaEmision>{fecha.isoformat()}<".encode()
    )
    v.clave = v.clave[:3] + fecha.strftime("%d%m%y") + v.clave[9:]
    v.xml = re.sub(rb"<Clave>\d{50}</Clave>", b"<Clave>" + v.clave.encode() + b"</Clave>", v.xml)
    v.xml = vouchers.signer.sign(v.xml)
    return v


def test_fecha_emision_after_today_is_minus_53(api, vouchers):
    tomorrow = (datetime.now(CR_TZ) + timedelta(days=1)).replace(microsecond=0)
    v = _with_fecha(vouchers, vouchers.fe_xml(), tomorrow)
    detalle = _field(_parse(_submit_and_answer(api, v)), "DetalleMensaje")
    assert (
        '-53, ""La fecha de emisión del comprobante electrónico no puede ser superior al día de hoy."", 0, 0'
        in detalle
    )
    assert "-405," not in detalle


def test_clock_skew_is_minus_53_only_when_configured(make_sim, api_for, vouchers):
    earlier = (datetime.now(CR_TZ) - timedelta(hours=2)).replace(microsecond=0)
    strict = api_for(make_sim(max_clock_skew=600))
    detalle = _field(
        _parse(_submit_and_answer(strict, _with_fecha(vouchers, vouchers.fe_xml(), earlier))),
        "DetalleMensaje",
    )
    assert (
        '-53, ""La hora indicada en la emisión del archivo XML no coincide con la hora oficial."", 0, 0'
        in detalle
    )
    lenient = api_for(make_sim())
    root = _parse(_submit_and_answer(lenient, _with_fecha(vouchers, vouchers.fe_xml(), earlier)))
    assert _field(root, "Mensaje") == "1"


@pytest.mark.parametrize(
    ("change", "row"),
    [
        (
            lambda c: c[:3] + "32" + c[5:],
            '-405, ""La fecha de la clave númerica no concuerda con el campo Fecha Emisión',
        ),
        (lambda c: c[:41] + "7" + c[42:], '-1, ""Clave clave[41] situacion'),
    ],
)
def test_impossible_clave_is_rejected_as_desconocido(api, vouchers, change, row):
    v = vouchers.fe_xml()
    v.clave = change(v.clave)
    v.xml = vouchers.signer.sign(
        re.sub(rb"<Clave>\d{50}</Clave>", b"<Clave>" + v.clave.encode() + b"</Clave>", v.xml)
    )
    root = _parse(_submit_and_answer(api, v))
    assert _field(root, "Mensaje") == "3"
    assert _field(root, "NombreEmisor") == "DESCONOCIDO"
    assert row in _field(root, "DetalleMensaje")


def test_untrusted_signing_certificate_is_rejected_when_a_trust_store_is_set(
    make_sim, api_for, vouchers, pki
):
    # Trusting only the seal's CA: the taxpayer's TEST certificate does not chain to it.
    api = api_for(make_sim(trust=TrustStore.from_pem_files(pki.sello_ca_cert_pem)))
    root = _parse(_submit_and_answer(api, vouchers.fe()))
    assert (
        _field(root, "DetalleMensaje")
        == ERRORS_HEAD + "La firma del comprobante electrónico no es válida\r\n]"
    )
    trusting = api_for(make_sim(trust=TrustStore.from_pem_files(pki.ca_cert_pem)))
    assert _field(_parse(_submit_and_answer(trusting, vouchers.fe())), "Mensaje") == "1"
