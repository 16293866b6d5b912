"""Golden files: deterministic mode (injected clock and Ids, seeded TEST key) reproduces them byte for byte.

The key is derived from a public seed in conftest.py (no private key is committed); PKCS#1 v1.5 signatures
are deterministic, so the whole signed document is. Regenerate after an intended change of the output with
``CR_EINVOICE_REGEN_GOLDEN=1 pytest tests/signing/test_golden.py`` and review the diff.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest
import xmlsec
from cryptography.hazmat.primitives import serialization
from lxml import etree

from cr_einvoice.signing.certs import Credential
from cr_einvoice.signing.xades import SignatureProfile, SignatureStyle, Signer, SignerConfig, verify

GOLDEN = Path(__file__).parent / "golden"
DATA = Path(__file__).parent / "data"
CLOCK = dt.datetime(2026, 3, 15, 16, 20, 30, 123456, tzinfo=dt.UTC)
MENSAJE = (
    b'<?xml version="1.0" encoding="UTF-8"?><MensajeHacienda xmlns="https://cdn.comprobanteselectronicos.'
    b'go.cr/xml-schemas/v4.4/mensajeHacienda">\n'
    b"    <Clave>50622112600310112345600100001010000000001100000001</Clave>"
    b"\n    <NombreEmisor>EMPRESA DE PRUEBAS</NombreEmisor>\n    <Mensaje>1</Mensaje>\n</MensajeHacienda>"
)


def _compare(name: str, produced: bytes) -> None:
    path = GOLDEN / name
    if os.environ.get("CR_EINVOICE_REGEN_GOLDEN") == "1":
        path.write_bytes(produced)
    expected = path.read_bytes()
    assert produced == expected, f"{name} differs from the golden file"


def _xmlsec(data: bytes, cred: Credential) -> None:
    root = etree.fromstring(data)
    xmlsec.tree.add_ids(root, ["Id"])
    ctx = xmlsec.SignatureContext()
    ctx.key = xmlsec.Key.from_memory(
        cred.certificate.public_bytes(serialization.Encoding.PEM), xmlsec.constants.KeyDataFormatCertPem
    )
    ctx.verify(xmlsec.tree.find_node(root, xmlsec.constants.NodeSignature))


@pytest.mark.parametrize("role", [None, "Emisor"])
def test_golden_emisor_v44(golden_creds: tuple[Credential, Credential], role: str | None) -> None:
    cred, _ = golden_creds
    config = SignerConfig(clock=lambda: CLOCK, id_factory=lambda: "0a1b2c3d", claimed_role=role)
    signer = Signer(cred, config)
    produced = signer.sign((DATA / "factura_v44_3lineas.xml").read_bytes())
    assert signer.sign((DATA / "factura_v44_3lineas.xml").read_bytes()) == produced  # deterministic
    _compare(f"factura_v44_emisor{'_rol' if role else ''}_TEST.xml", produced)
    res = verify(produced)
    assert res.signing_time == dt.datetime(
        2026, 3, 15, 10, 20, 30, tzinfo=dt.timezone(dt.timedelta(hours=-6))
    )
    assert res.style is SignatureStyle.EMISOR_V44
    _xmlsec(produced, cred)
    assert b'Id="Signature-0a1b2c3d"' in produced
    assert b"GOLDEN TEST\\, EMPRESA &amp; \\&lt;CIA\\&gt;" in produced  # RFC 4514, then XML escaping


def test_golden_hacienda_response(golden_creds: tuple[Credential, Credential]) -> None:
    _, sello = golden_creds
    config = SignerConfig(
        profile=SignatureProfile.HACIENDA_RESPONSE,
        clock=lambda: CLOCK,
        id_factory=lambda: "b1e6bb3165290adee6215cbf1a8a1e25",
    )
    produced = Signer(sello, config).sign(MENSAJE)
    _compare("mensaje_hacienda_TEST.xml", produced)
    res = verify(produced, expected_cedula="2100042005")
    assert res.signing_time == CLOCK.replace(microsecond=0)
    assert b"<xades:SigningTime>2026-03-15T16:20:30Z</xades:SigningTime>" in produced
    assert b"<ds:X509SerialNumber>1605653657074860149031926172554884987230355991<" in produced
    _xmlsec(produced, sello)


def test_golden_files_are_test_material() -> None:
    names = sorted(p.name for p in GOLDEN.iterdir())
    assert names == [
        "factura_v44_emisor_TEST.xml",
        "factura_v44_emisor_rol_TEST.xml",
        "mensaje_hacienda_TEST.xml",
    ]
    for name in names:
        assert b"PRIVATE KEY" not in (GOLDEN / name).read_bytes()
