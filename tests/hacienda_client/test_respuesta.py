"""MensajeHacienda decoding, every DetalleMensaje form, and Hacienda's signature verification."""

from __future__ import annotations

import base64
from decimal import Decimal
from pathlib import Path

import pytest
from hc_support import CLAVE, PREFIX_2026, mensaje_hacienda_xml

from cr_einvoice.core.errors import ValidationError, VerificationError, XMLParseError
from cr_einvoice.hacienda import (
    DetalleError,
    RespuestaMismatchError,
    decode_respuesta,
    parse_detalle_mensaje,
    verify_respuesta,
)
from cr_einvoice.hacienda.respuesta import SANDBOX_PREAMBLES
from cr_einvoice.signing.xades import (
    DigestMismatchError,
    NoSignatureError,
    SignatureNotTrustedError,
    Signer,
    SignerMismatchError,
    TrustStore,
    UntrustedCertificateError,
)

SAMPLE = "MensajeHacienda_v4.3_rechazado_firma_invalida.xml"
SAMPLE_CLAVE = "50603052100011751016900100001010100012373198762259"
CR = "\r"
MSG_37 = (
    "Estimado obligado tributario los datos suministrados en provincia, cantón y distrito del 'emisor' no "
    "concuerdan con la información registrada en la Dirección General de Tributación, favor proceder "
    "actualizar sus datos."
)
MSG_52 = "El monto total de descuentos no coincide con la suma de los descuentos concedidos"
MSG_CVC = (
    "cvc-complex-type.2.4.a: Invalid content was found starting with element "
    "'{\"https://cdn.comprobanteselectronicos.go.cr/xml-schemas/v4.4/facturaElectronica\":ImpuestoNeto}'. "
    'One of \'{"https://cdn.comprobanteselectronicos.go.cr/xml-schemas/v4.4/facturaElectronica":'
    'IVACobradoFabrica, "https://cdn.comprobanteselectronicos.go.cr/xml-schemas/v4.4/facturaElectronica":'
    "BaseImponible}' is expected."
)
MSG_99 = (
    "La numeración consecutiva 00100001010000000001 del comprobante que se está utilizando para este archivo "
    f"XML ya existe en nuestras bases de datos desde el día 01-03-2026 10:00:00 en la clave {CLAVE}"
)
NOT_XADES = "La firma del documento no es XAdES, se obtuvo [ERROR]"


# -- DetalleMensaje forms (notes §11.2) ----------------------------------------------------------------


def test_accepted_without_findings() -> None:
    parsed = parse_detalle_mensaje(PREFIX_2026 + "\n\n")
    assert parsed.errores == ()
    assert parsed.preambulo == PREFIX_2026


def test_accepted_with_warnings_crlf_doubled_quotes() -> None:
    text = (
        f'{PREFIX_2026}\n\ncodigo, mensaje, fila, columna{CR}\n-37, ""{MSG_37}"", 0, 0{CR}\n'
        f'-407, ""El Código de la Actividad Económica del emisor ... favor verificar"", 0, 0{CR}\n'
    )
    parsed = parse_detalle_mensaje(text)
    assert parsed.errores == (
        DetalleError(-37, MSG_37, 0, 0),
        DetalleError(-407, "El Código de la Actividad Económica del emisor ... favor verificar", 0, 0),
    )


def test_rejected_with_coded_errors_in_brackets() -> None:
    text = (
        f"{PREFIX_2026}\n\nEl comprobante electrónico tiene los siguientes errores: {CR}\n[{CR}\n"
        f'codigo, mensaje, fila, columna{CR}\n-37, ""{MSG_37}"", 0, 0{CR}\n-52, ""{MSG_52}"", 0, 0{CR}\n'
        f'-1, ""{MSG_CVC}"", 90, 26{CR}\n-99, ""{MSG_99}"", 0, 0{CR}\n{CR}\n]'
    )
    parsed = parse_detalle_mensaje(text)
    assert [e.codigo for e in parsed.errores] == [-37, -52, -1, -99]
    assert parsed.errores[2] == DetalleError(-1, MSG_CVC, 90, 26)
    assert parsed.errores[3].mensaje == MSG_99
    assert parsed.preambulo == PREFIX_2026


def test_single_quotes_lf_and_no_header() -> None:
    text = (
        f"{SANDBOX_PREAMBLES[1]}\n\nEl comprobante electrónico tiene los siguientes errores:\n[\n"
        "-1, \"cvc-datatype-valid.1.2.1: '' is not a valid value for 'decimal'.\", 90, 26\n"
        '-16, "El archivo XML, fue enviado ... resolución 48-2016", 0, 0\n]'
    )
    parsed = parse_detalle_mensaje(text)
    assert parsed.errores == (
        DetalleError(-1, "cvc-datatype-valid.1.2.1: '' is not a valid value for 'decimal'.", 90, 26),
        DetalleError(-16, "El archivo XML, fue enviado ... resolución 48-2016", 0, 0),
    )
    assert parsed.preambulo == SANDBOX_PREAMBLES[1]


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_bare_signature_messages(newline: str) -> None:
    cr = CR if newline == "\r\n" else ""
    text = (
        f"{PREFIX_2026}\n\nEl comprobante electrónico tiene los siguientes errores: {cr}\n[{cr}\n"
        f"{NOT_XADES}{cr}\n]\nError al comunicarse con el Signum One"
    )
    parsed = parse_detalle_mensaje(text)
    assert parsed.errores == (
        DetalleError(None, NOT_XADES),
        DetalleError(None, "Error al comunicarse con el Signum One"),
    )


def test_message_in_brackets_on_one_line_and_unquoted_rows() -> None:
    parsed = parse_detalle_mensaje(
        "[La firma del documento no tiene el Policy Id]\n-53, La hora no coincide, 0, 0"
    )
    assert parsed.errores == (
        DetalleError(None, "La firma del documento no tiene el Policy Id"),
        DetalleError(-53, "La hora no coincide", 0, 0),
    )
    assert parsed.preambulo is None


@pytest.mark.parametrize("preamble", SANDBOX_PREAMBLES)
@pytest.mark.parametrize("period", ["", "."])
def test_every_sandbox_preamble_is_recognised_and_stripped(preamble: str, period: str) -> None:
    line = preamble.rstrip(".") + period
    parsed = parse_detalle_mensaje(f'\n{line}\r\n\r\ncodigo, mensaje, fila, columna\r\n-37, ""x"", 0, 0\r\n')
    assert parsed.preambulo == line
    assert parsed.errores == (DetalleError(-37, "x", 0, 0),)


def test_production_text_without_preamble_and_empty() -> None:
    assert parse_detalle_mensaje(f'-52, ""{MSG_52}"", 0, 0').errores == (DetalleError(-52, MSG_52, 0, 0),)
    assert parse_detalle_mensaje("").errores == ()
    assert parse_detalle_mensaje(None).preambulo is None


# -- decoding ------------------------------------------------------------------------------------------


def test_decode_v44_accepted_with_warnings_in_every_encoding() -> None:
    detalle = f'{PREFIX_2026}\n\ncodigo, mensaje, fila, columna{CR}\n-37, ""{MSG_37}"", 0, 0{CR}\n'
    xml = mensaje_hacienda_xml(detalle=detalle)
    b64 = base64.b64encode(xml)
    wrapped = b"\n".join(b64[i : i + 76] for i in range(0, len(b64), 76))
    for data in (xml, xml.decode(), b64, b64.decode(), wrapped):
        r = decode_respuesta(data, verify=False)
        assert r.clave == CLAVE
        assert r.mensaje == 1
        assert r.estado == "aceptado"
        assert r.aceptado
        assert r.estado_mensaje == "Aceptado"
        assert r.version == "4.4"
        assert r.nombre_emisor == "Emisor S.A."
        assert (r.tipo_identificacion_emisor, r.numero_cedula_emisor) == ("02", "3101123456")
        assert (r.nombre_receptor, r.tipo_identificacion_receptor, r.numero_cedula_receptor) == (
            "Cliente",
            "01",
            "112345678",
        )
        assert r.monto_total_impuesto == Decimal("130.00000")
        assert r.total_factura == Decimal("1130.00000")
        assert r.errores == (DetalleError(-37, MSG_37, 0, 0),)
        assert r.detalle_mensaje == detalle
        assert r.ambiente_pruebas
        assert r.xml == xml
        assert r.signature is None


def test_decode_v44_rejected_without_receptor_and_tax() -> None:
    xml = mensaje_hacienda_xml(
        mensaje=3, estado="Rechazado", receptor=False, monto_impuesto=None, total="0", detalle=NOT_XADES
    )
    r = decode_respuesta(xml, verify=False)
    assert (r.mensaje, r.estado, r.aceptado) == (3, "rechazado", False)
    assert r.nombre_receptor is None and r.numero_cedula_receptor is None
    assert r.monto_total_impuesto is None
    assert r.total_factura == Decimal(0)
    assert r.errores == (DetalleError(None, NOT_XADES),)
    assert not r.ambiente_pruebas


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (b"", XMLParseError),
        (b"not base64 at all!", XMLParseError),
        (base64.b64encode(b"plain text"), XMLParseError),
        (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><MensajeHacienda/>', XMLParseError),
        (b"<FacturaElectronica/>", ValidationError),
        (mensaje_hacienda_xml(clave="123"), ValidationError),
        (mensaje_hacienda_xml(mensaje="x"), ValidationError),  # type: ignore[arg-type]
        (mensaje_hacienda_xml(total="mucho"), ValidationError),
        (mensaje_hacienda_xml(total="NaN"), ValidationError),
    ],
)
def test_decode_refuses_bad_input(data: bytes, error: type[Exception]) -> None:
    with pytest.raises(error):
        decode_respuesta(data, verify=False)


def test_decode_checks_the_expected_clave() -> None:
    xml = mensaje_hacienda_xml()
    assert decode_respuesta(xml, verify=False, expected_clave=f"{CLAVE}-00100001050000000007").clave == CLAVE
    with pytest.raises(RespuestaMismatchError):
        decode_respuesta(xml, verify=False, expected_clave="9" * 50)


# -- Hacienda's signature ------------------------------------------------------------------------------


def test_shared_v43_sample_decodes_and_verifies(samples_dir: Path) -> None:
    """The 2019-2023 seal of this v4.3 answer was issued by an earlier SINPE CA generation than the bundled
    one (SOURCES.md): its signature is valid but it does not chain to the national PKI, so by default it is
    "valid but not trusted"; pinned explicitly it verifies and is trusted."""
    raw = (samples_dir / SAMPLE).read_bytes()
    with pytest.raises(SignatureNotTrustedError, match="signature valid but not trusted") as info:
        decode_respuesta(raw)
    seal = info.value.result
    assert (seal.trusted, seal.signer_cedula) == (False, "2100042005")
    assert seal.trust_problem and "CA SINPE - PERSONA JURIDICA v2" in seal.trust_problem
    assert "national PKI" in seal.trust_problem
    r = decode_respuesta(raw, trust=TrustStore([seal.certificate]))
    assert r.clave == SAMPLE_CLAVE
    assert r.version == "4.3"
    assert r.mensaje == 3
    assert r.estado == "rechazado"
    assert r.estado_mensaje is None
    assert r.nombre_emisor == "DESCONOCIDO"
    assert r.total_factura == Decimal(0)
    assert r.errores == (
        DetalleError(
            None,
            "La firma del comprobante electrónico no es válida "
            "(El XML fue modificado luego de haber sido firmado).",
        ),
    )
    assert r.preambulo == SANDBOX_PREAMBLES[1]
    assert r.signature is not None
    assert r.signature.signer_cedula == "2100042005"
    assert "SELLO ELECTRONICO" in r.signature.signer_subject
    assert r.signature.level == "XAdES-BES"
    assert r.verified and r.trusted
    # Base64 (as in respuesta-xml) verifies the same.
    assert decode_respuesta(base64.b64encode(raw), trust=TrustStore([seal.certificate])).trusted


def test_sample_with_another_expected_signer_fails(samples_dir: Path) -> None:
    raw = (samples_dir / SAMPLE).read_bytes()
    with pytest.raises(SignerMismatchError):
        decode_respuesta(raw, trust=_pinned_seal(raw), expected_cedula="CPJ-3-101-123456")


def _pinned_seal(raw: bytes) -> TrustStore:
    """A trust store pinning the sample's own seal certificate (it does not chain to the national PKI)."""
    with pytest.raises(SignatureNotTrustedError) as info:
        decode_respuesta(raw)
    return TrustStore([info.value.result.certificate])


def test_tampered_sample_fails(samples_dir: Path) -> None:
    raw = (samples_dir / SAMPLE).read_bytes().replace(b"<Mensaje>3</Mensaje>", b"<Mensaje>1</Mensaje>")
    assert decode_respuesta(raw, verify=False).aceptado  # what an attacker wants us to believe ...
    with pytest.raises(DigestMismatchError):
        decode_respuesta(raw)  # ... is refused


def test_sample_against_an_unrelated_trust_store_fails(samples_dir: Path, sello_trust: TrustStore) -> None:
    raw = (samples_dir / SAMPLE).read_bytes()
    with pytest.raises(UntrustedCertificateError):
        decode_respuesta(raw, trust=sello_trust)


def test_unsigned_respuesta_fails_verification() -> None:
    with pytest.raises(NoSignatureError):
        decode_respuesta(mensaje_hacienda_xml())


def test_synthetic_v44_signed_by_the_test_sello(sello_signer: Signer, sello_trust: TrustStore) -> None:
    detalle = (
        f"{PREFIX_2026}\n\nEl comprobante electrónico tiene los siguientes errores: {CR}\n[{CR}\n"
        f'codigo, mensaje, fila, columna{CR}\n-52, ""{MSG_52}"", 0, 0{CR}\n{CR}\n]'
    )
    signed = sello_signer.sign(mensaje_hacienda_xml(mensaje=3, estado="Rechazado", detalle=detalle))
    r = decode_respuesta(base64.b64encode(signed), trust=sello_trust)
    assert r.signature is not None and r.signature.trusted
    assert r.errores == (DetalleError(-52, MSG_52, 0, 0),)
    assert r.estado == "rechazado"
    result = verify_respuesta(r, sello_trust)
    assert result.signer_cedula == "2100042005"
    with pytest.raises(VerificationError):
        decode_respuesta(signed.replace(b"-52,", b"-53,"), trust=sello_trust)
