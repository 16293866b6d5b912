"""Signing in both profiles, verified by our verifier and independently by libxmlsec1 and signxml."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
from collections.abc import Callable
from pathlib import Path

import pytest
import xmlsec
from cryptography.hazmat.primitives import serialization
from lxml import etree
from signxml import XMLVerifier
from signxml.xades import XAdESVerifier

from cr_einvoice.signing.certs import Credential, load_p12
from cr_einvoice.signing.xades import (
    DS_NS,
    SIGNED_PROPERTIES_TYPE,
    V44_POLICY_DIGEST,
    V44_POLICY_URL,
    XADES_NS,
    CanonicalizationMethod,
    DigestAlgorithm,
    SignatureProfile,
    SignatureStyle,
    Signer,
    SignerConfig,
    TransformAlgorithm,
    TrustStore,
    verify,
)
from cr_einvoice.testing.pki import TestPKI

DS = f"{{{DS_NS}}}"
XA = f"{{{XADES_NS}}}"


def _pem(cred: Credential) -> bytes:
    return cred.certificate.public_bytes(serialization.Encoding.PEM)


def xmlsec_verify(signed: bytes, cert_pem: bytes) -> None:
    """libxmlsec1 verification (raises xmlsec.Error when invalid), Id attributes declared."""
    root = etree.fromstring(signed)
    xmlsec.tree.add_ids(root, ["Id"])
    sig = xmlsec.tree.find_node(root, xmlsec.constants.NodeSignature)
    ctx = xmlsec.SignatureContext()
    ctx.key = xmlsec.Key.from_memory(cert_pem, xmlsec.constants.KeyDataFormatCertPem)
    ctx.verify(sig)


def test_emisor_profile_structure(signer: Signer, invoice: bytes) -> None:
    signed = signer.sign(invoice)
    root = etree.fromstring(signed)
    sig = root[-1]
    assert sig.tag == f"{DS}Signature"  # last child of the root
    assert sig.getparent() is root
    si = sig.find(f"{DS}SignedInfo")
    assert si is not None
    assert si.find(f"{DS}CanonicalizationMethod").get("Algorithm") == CanonicalizationMethod.EXC_C14N.value
    assert si.find(f"{DS}SignatureMethod").get("Algorithm").endswith("rsa-sha256")
    refs = si.findall(f"{DS}Reference")
    assert len(refs) == 2
    assert refs[0].get("URI") == "" and refs[0].get("Type") is None
    assert [t.get("Algorithm") for t in refs[0].iter(f"{DS}Transform")] == [
        TransformAlgorithm.ENVELOPED_SIGNATURE.value,
        TransformAlgorithm.EXC_C14N.value,
    ]
    assert refs[1].get("Type") == SIGNED_PROPERTIES_TYPE
    assert refs[1].get("URI") == "#" + sig.find(f".//{XA}SignedProperties").get("Id")
    for ref in refs:
        assert ref.find(f"{DS}DigestMethod").get("Algorithm") == DigestAlgorithm.SHA256.value
    ki = sig.find(f"{DS}KeyInfo")
    assert len(ki.findall(f"{DS}X509Data/{DS}X509Certificate")) == 1
    assert ki.find(f"{DS}KeyValue/{DS}RSAKeyValue/{DS}Modulus") is not None
    qp = sig.find(f"{DS}Object/{XA}QualifyingProperties")
    assert qp.get("Target") == "#" + sig.get("Id")
    ssp = qp.find(f"{XA}SignedProperties/{XA}SignedSignatureProperties")
    assert [etree.QName(c).localname for c in ssp] == [
        "SigningTime",
        "SigningCertificate",
        "SignaturePolicyIdentifier",
    ]
    assert ssp.find(f"{XA}SigningTime").text.endswith("-06:00")
    cert_der = base64.b64decode(ki.find(f"{DS}X509Data/{DS}X509Certificate").text)
    cd = ssp.find(f"{XA}SigningCertificate/{XA}Cert/{XA}CertDigest")
    assert cd.find(f"{DS}DigestMethod").get("Algorithm") == DigestAlgorithm.SHA256.value
    assert base64.b64decode(cd.find(f"{DS}DigestValue").text) == hashlib.sha256(cert_der).digest()
    serial = ssp.find(f"{XA}SigningCertificate/{XA}Cert/{XA}IssuerSerial/{DS}X509SerialNumber").text
    assert serial == str(signer.credential.serial_number)
    pol = ssp.find(f"{XA}SignaturePolicyIdentifier/{XA}SignaturePolicyId")
    assert pol.find(f"{XA}SigPolicyId/{XA}Identifier").text == V44_POLICY_URL
    assert pol.find(f"{XA}SigPolicyHash/{DS}DigestValue").text == V44_POLICY_DIGEST
    dof = qp.find(f"{XA}SignedProperties/{XA}SignedDataObjectProperties/{XA}DataObjectFormat")
    assert dof.get("ObjectReference") == "#" + refs[0].get("Id")
    assert dof.find(f"{XA}MimeType").text == "text/xml"


def test_original_bytes_are_kept(signer: Signer, invoice: bytes) -> None:
    signed = signer.sign(invoice)
    end = invoice.rindex(b"</FacturaElectronica>")
    assert signed.startswith(invoice[:end])
    assert signed.endswith(invoice[end:])


def test_templates_equal_lxml_canonical_forms(signer: Signer, invoice: bytes) -> None:
    """The pre-rendered canonical forms are what libxml2's exclusive C14N gives for the inserted XML."""
    signed = signer.sign(invoice)
    root = etree.fromstring(signed)
    sig = root[-1]
    sp = sig.find(f".//{XA}SignedProperties")
    si = sig.find(f"{DS}SignedInfo")
    refs = si.findall(f"{DS}Reference")
    sp_c14n = etree.tostring(sp, method="c14n", exclusive=True)
    assert base64.b64decode(refs[1].find(f"{DS}DigestValue").text) == hashlib.sha256(sp_c14n).digest()
    si_c14n = etree.tostring(si, method="c14n", exclusive=True)
    signer.credential.private_key.public_key().verify(
        base64.b64decode(sig.find(f"{DS}SignatureValue").text),
        si_c14n,
        __import__("cryptography.hazmat.primitives.asymmetric.padding", fromlist=["PKCS1v15"]).PKCS1v15(),
        __import__("cryptography.hazmat.primitives.hashes", fromlist=["SHA256"]).SHA256(),
    )


def test_our_verifier_accepts_emisor_profile(signer: Signer, invoice: bytes, pki: TestPKI) -> None:
    signed = signer.sign(invoice)
    res = verify(signed, TrustStore.from_pem_files(pki.ca_cert_pem), expected_cedula="3-101-123456")
    assert res.signer_cedula == "3101123456"
    assert res.policy_identifier == V44_POLICY_URL and res.policy_known and res.policy_era == "v4.4"
    assert res.level == "XAdES-EPES"
    assert res.style is SignatureStyle.EMISOR_V44
    assert res.trusted and len(res.chain) == 2
    assert res.signing_time is not None
    assert res.signing_time.utcoffset() == dt.timedelta(hours=-6)
    assert abs(res.signing_time - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=5)
    assert res.to_dict()["signer_cedula"] == "3101123456"


def test_xmlsec_verifies_emisor_profile(signer: Signer, cred: Credential, invoice: bytes) -> None:
    xmlsec_verify(signer.sign(invoice), _pem(cred))


def test_xmlsec_rejects_tampered_output(signer: Signer, cred: Credential, invoice: bytes) -> None:
    """The independent check can fail: a changed amount is refused by libxmlsec1 too."""
    signed = signer.sign(invoice).replace(b"<TotalComprobante>97716.75000", b"<TotalComprobante>1.00000")
    with pytest.raises(xmlsec.Error):
        xmlsec_verify(signed, _pem(cred))


def test_signxml_verifies_emisor_profile(signer: Signer, cred: Credential, invoice: bytes) -> None:
    signed = signer.sign(invoice)
    results = XAdESVerifier().verify(signed, x509_cert=_pem(cred).decode(), expect_references=2)
    assert b"TotalComprobante" in results[0].signed_data
    XMLVerifier().verify(signed, x509_cert=_pem(cred).decode(), expect_references=2)


def test_hacienda_response_profile(sello_cred: Credential, pki: TestPKI) -> None:
    mh = (
        b'<?xml version="1.0" encoding="UTF-8"?><MensajeHacienda xmlns="https://cdn.'
        b'comprobanteselectronicos.go.cr/xml-schemas/v4.4/mensajeHacienda">\n'
        b"    <Clave>50622112600310112345600100001010000000001100000001</Clave>\n"
        b"    <Mensaje>1</Mensaje>\n</MensajeHacienda>"
    )
    signer = Signer(sello_cred, SignerConfig(profile=SignatureProfile.HACIENDA_RESPONSE))
    signed = signer.sign(mh)
    root = etree.fromstring(signed)
    sig = root[-1]
    assert sig.get("Id").startswith("id-") and len(sig.get("Id")) == 35
    ref = sig.find(f"{DS}SignedInfo/{DS}Reference")
    assert (ref.get("Id"), ref.get("Type"), ref.get("URI")) == ("r-id-1", "", "")
    assert ref.find(f"{DS}Transforms/{DS}Transform/{DS}XPath").text == "not(ancestor-or-self::ds:Signature)"
    assert sig.find(f"{DS}SignatureValue").get("Id") == "value-" + sig.get("Id")
    assert sig.find(f".//{XA}SignedProperties").get("Id") == "xades-" + sig.get("Id")
    assert sig.find(f"{DS}KeyInfo/{DS}KeyValue") is None
    ssp = sig.find(f".//{XA}SignedSignatureProperties")
    assert ssp.find(f"{XA}SigningTime").text.endswith("Z")
    assert ssp.find(f"{XA}SignaturePolicyIdentifier") is None
    cd = ssp.find(f"{XA}SigningCertificate/{XA}Cert/{XA}CertDigest/{DS}DigestMethod")
    assert cd.get("Algorithm") == DigestAlgorithm.SHA1.value
    dof = sig.find(f".//{XA}DataObjectFormat")
    assert dof.get("ObjectReference") == "#r-id-1"
    assert dof.find(f"{XA}MimeType").text == "application/octet-stream"

    res = verify(signed, TrustStore.from_pem_files(pki.sello_ca_cert_pem), expected_cedula="2100042005")
    assert res.level == "XAdES-BES" and res.style is SignatureStyle.HACIENDA_RESPONSE
    assert res.signing_time is not None and res.signing_time.utcoffset() == dt.timedelta(0)
    xmlsec_verify(signed, _pem(sello_cred))  # libxmlsec1 evaluates the XPath filter for real


def test_hacienda_profile_with_existing_signature(
    sello_cred: Credential, signer: Signer, invoice: bytes
) -> None:
    """The XPath filter excludes every signature, the enveloped transform only its own one."""
    once = signer.sign(invoice)
    twice = Signer(sello_cred, SignerConfig(profile=SignatureProfile.HACIENDA_RESPONSE)).sign(once)
    root = etree.fromstring(twice)
    sigs = root.findall(f"{DS}Signature")
    assert len(sigs) == 2
    # the second (XPath) signature is valid for libxmlsec1 ...
    xmlsec.tree.add_ids(root, ["Id"])
    ctx = xmlsec.SignatureContext()
    ctx.key = xmlsec.Key.from_memory(_pem(sello_cred), xmlsec.constants.KeyDataFormatCertPem)
    ctx.verify(sigs[1])
    # ... while the first (enveloped) one now digests the second signature too, so it no longer verifies
    from cr_einvoice.signing.xades import DigestMismatchError

    with pytest.raises(DigestMismatchError):
        verify(twice)


def test_samples_as_sources_says(samples_dir: Path) -> None:
    good = {
        "MensajeHacienda_v4.3_rechazado_firma_invalida.xml": ("2100042005", SignatureStyle.HACIENDA_RESPONSE),
        "TiqueteElectronico_v4.3_firmado_estilo_crlibre.xml": ("112660102", SignatureStyle.CRLIBRE),
        "FacturaElectronica_v4.2_firmado_estilo_anexo2.xml": ("106320395", SignatureStyle.ANEXO2),
    }
    for name, (cedula, style) in good.items():
        res = verify((samples_dir / name).read_bytes())
        assert (res.signer_cedula, res.style) == (cedula, style), name
    mh = verify((samples_dir / "MensajeHacienda_v4.3_rechazado_firma_invalida.xml").read_bytes())
    assert mh.signing_time == dt.datetime(2021, 5, 3, 21, 56, 4, tzinfo=dt.UTC)
    assert mh.policy_identifier is None and not mh.policy_known
    crl = verify((samples_dir / "TiqueteElectronico_v4.3_firmado_estilo_crlibre.xml").read_bytes())
    assert crl.policy_known and crl.policy_era == "v4.1/v4.2"
    from cr_einvoice.signing.xades import DigestMismatchError

    with pytest.raises(DigestMismatchError, match="modificado luego de haber sido firmado"):
        verify((samples_dir / "NEGATIVO_FacturaElectronica_v4.2_firma_rota.xml").read_bytes())


def test_many_lines_and_reuse(signer: Signer, invoice_with_lines: Callable[[int], bytes]) -> None:
    big = invoice_with_lines(200)
    a = signer.sign(big)
    b = signer.sign(big)
    assert a != b  # fresh Ids
    assert verify(a).signer_cedula == verify(b).signer_cedula == "3101123456"


def test_legacy_p12_signs(pki: TestPKI, invoice: bytes) -> None:
    assert pki.taxpayer_p12_rc2 is not None
    c = load_p12(pki.taxpayer_p12_rc2, pki.pin)
    assert verify(Signer(c).sign(invoice)).signer_cedula == "3101123456"


def test_other_algorithms(cred: Credential, invoice: bytes) -> None:
    from cr_einvoice.signing.xades import SignatureAlgorithm, UnsupportedAlgorithmError

    strong = Signer(
        cred,
        SignerConfig(
            signature_algorithm=SignatureAlgorithm.RSA_SHA512, digest_algorithm=DigestAlgorithm.SHA512
        ),
    ).sign(invoice)
    assert verify(strong).signature_algorithm == SignatureAlgorithm.RSA_SHA512.value
    xmlsec_verify(strong, _pem(cred))

    weak = Signer(
        cred,
        SignerConfig(signature_algorithm=SignatureAlgorithm.RSA_SHA1, digest_algorithm=DigestAlgorithm.SHA1),
    ).sign(invoice)
    with pytest.raises(UnsupportedAlgorithmError, match="SHA1"):
        verify(weak)
    assert verify(weak, allow_sha1=True).signature_algorithm == SignatureAlgorithm.RSA_SHA1.value
    xmlsec_verify(weak, _pem(cred))


def test_hacienda_profile_writes_issuer_like_hacienda(samples_dir: Path, sello_cred: Credential) -> None:
    """X509IssuerName as Hacienda's Java signer writes it: serialNumber as 2.5.4.5=#<DER hex>."""
    import re

    from cryptography import x509

    from cr_einvoice.signing.xades.signer import _issuer_name_as_java

    sample = (samples_dir / "MensajeHacienda_v4.3_rechazado_firma_invalida.xml").read_bytes()
    der = base64.b64decode(re.search(rb"<ds:X509Certificate>([^<]+)<", sample).group(1))
    written = re.search(rb"<ds:X509IssuerName>([^<]+)<", sample).group(1).decode()
    assert _issuer_name_as_java(x509.load_der_x509_certificate(der).issuer) == written

    mh = b'<MensajeHacienda xmlns="https://cdn.comprobanteselectronicos.go.cr/xml-schemas/v4.4/mensajeHacienda"/>'
    signed = Signer(sello_cred, SignerConfig(profile=SignatureProfile.HACIENDA_RESPONSE)).sign(mh)
    assert b",C=CR,2.5.4.5=#131043504a2d342d3030302d303034303137</ds:X509IssuerName>" in signed
    verify(signed)
