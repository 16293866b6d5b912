"""Signatures made by another implementation (libxmlsec1) verify with ours, InclusiveNamespaces included."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib

import pytest
import xmlsec
from cryptography.hazmat.primitives import serialization
from lxml import etree

from cr_einvoice.core.errors import VerificationError
from cr_einvoice.signing.certs import Credential
from cr_einvoice.signing.xades import (
    SIGNED_PROPERTIES_TYPE,
    V44_POLICY_DIGEST,
    V44_POLICY_URL,
    XADES_NS,
    DigestMismatchError,
    SignatureStyle,
    verify,
)

XA = f"{{{XADES_NS}}}"
DSN = "http://www.w3.org/2000/09/xmldsig#"


def _xades_object(sig: etree._Element, cred: Credential, sp_id: str) -> None:
    obj = etree.SubElement(sig, f"{{{DSN}}}Object")
    qp = etree.SubElement(obj, f"{XA}QualifyingProperties", nsmap={"xades": XADES_NS}, Target="#S-1")
    sp = etree.SubElement(qp, f"{XA}SignedProperties", Id=sp_id)
    ssp = etree.SubElement(sp, f"{XA}SignedSignatureProperties")
    etree.SubElement(ssp, f"{XA}SigningTime").text = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    cert = etree.SubElement(etree.SubElement(ssp, f"{XA}SigningCertificate"), f"{XA}Cert")
    cd = etree.SubElement(cert, f"{XA}CertDigest")
    etree.SubElement(cd, f"{{{DSN}}}DigestMethod", Algorithm="http://www.w3.org/2001/04/xmlenc#sha256")
    der = cred.certificate.public_bytes(serialization.Encoding.DER)
    etree.SubElement(cd, f"{{{DSN}}}DigestValue").text = base64.b64encode(
        hashlib.sha256(der).digest()
    ).decode()
    iss = etree.SubElement(cert, f"{XA}IssuerSerial")
    etree.SubElement(iss, f"{{{DSN}}}X509IssuerName").text = cred.certificate.issuer.rfc4514_string()
    etree.SubElement(iss, f"{{{DSN}}}X509SerialNumber").text = str(cred.certificate.serial_number)
    pid = etree.SubElement(etree.SubElement(ssp, f"{XA}SignaturePolicyIdentifier"), f"{XA}SignaturePolicyId")
    etree.SubElement(etree.SubElement(pid, f"{XA}SigPolicyId"), f"{XA}Identifier").text = V44_POLICY_URL
    ph = etree.SubElement(pid, f"{XA}SigPolicyHash")
    etree.SubElement(ph, f"{{{DSN}}}DigestMethod", Algorithm="http://www.w3.org/2001/04/xmlenc#sha256")
    etree.SubElement(ph, f"{{{DSN}}}DigestValue").text = V44_POLICY_DIGEST


def _xmlsec_signed(invoice: bytes, cred: Credential, *, c14n: str, prefixes: list[str] | None) -> bytes:
    root = etree.fromstring(invoice)
    transform = xmlsec.constants.TransformExclC14N if c14n == "exc" else xmlsec.constants.TransformInclC14N
    sig = xmlsec.template.create(root, transform, xmlsec.constants.TransformRsaSha256, ns="ds")
    sig.set("Id", "S-1")
    root.append(sig)
    ref = xmlsec.template.add_reference(sig, xmlsec.constants.TransformSha256, uri="")
    xmlsec.template.add_transform(ref, xmlsec.constants.TransformEnveloped)
    t = xmlsec.template.add_transform(ref, transform)
    if prefixes and c14n == "exc":
        xmlsec.template.transform_add_c14n_inclusive_namespaces(t, prefixes)
    ref2 = xmlsec.template.add_reference(
        sig, xmlsec.constants.TransformSha256, uri="#SP-1", type=SIGNED_PROPERTIES_TYPE
    )
    t2 = xmlsec.template.add_transform(ref2, transform)
    if prefixes and c14n == "exc":
        xmlsec.template.transform_add_c14n_inclusive_namespaces(t2, prefixes)
    key_info = xmlsec.template.ensure_key_info(sig)
    xmlsec.template.x509_data_add_certificate(xmlsec.template.add_x509_data(key_info))
    _xades_object(sig, cred, "SP-1")
    ctx = xmlsec.SignatureContext()
    key_pem = cred.private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    ctx.key = xmlsec.Key.from_memory(key_pem, xmlsec.constants.KeyDataFormatPem)
    ctx.key.load_cert_from_memory(
        cred.certificate.public_bytes(serialization.Encoding.PEM), xmlsec.constants.KeyDataFormatCertPem
    )
    xmlsec.tree.add_ids(root, ["Id"])
    ctx.sign(sig)
    return etree.tostring(root.getroottree(), xml_declaration=True, encoding="UTF-8")


@pytest.mark.parametrize(
    ("c14n", "prefixes"),
    [("exc", None), ("exc", ["#default", "xsi", "xsd"]), ("inc", None)],
)
def test_libxmlsec1_signature_verifies(
    invoice: bytes, cred: Credential, c14n: str, prefixes: list[str] | None
) -> None:
    signed = _xmlsec_signed(invoice, cred, c14n=c14n, prefixes=prefixes)
    if prefixes:
        assert b"InclusiveNamespaces" in signed
    res = verify(signed)
    assert res.signer_cedula == "3101123456" and res.policy_known
    assert res.style is (SignatureStyle.EMISOR_V44 if c14n == "exc" else SignatureStyle.OTHER)
    with pytest.raises(DigestMismatchError):
        verify(signed.replace(b"<CondicionVenta>01<", b"<CondicionVenta>02<"))


def test_inclusive_prefixes_matter(invoice: bytes, cred: Credential) -> None:
    """Dropping the PrefixList changes the canonical form: the verifier really applies it."""
    signed = _xmlsec_signed(invoice, cred, c14n="exc", prefixes=["#default", "xsi", "xsd"])
    root = etree.fromstring(signed)
    for inc in root.iter("{http://www.w3.org/2001/10/xml-exc-c14n#}InclusiveNamespaces"):
        inc.set("PrefixList", "")
    with pytest.raises(VerificationError):  # a digest or the signature value no longer matches
        verify(etree.tostring(root))


def test_default_prefix_rendering_limits() -> None:
    from cr_einvoice.signing.xades._c14n import UnsupportedC14NError, c14n_element
    from cr_einvoice.signing.xades.algorithms import CanonicalizationMethod

    root = etree.fromstring(b'<R xmlns="urn:r" xmlns:x="urn:x"><x:P Id="p"><x:q/></x:P><x:P2><u/></x:P2></R>')
    out = c14n_element(root[0], CanonicalizationMethod.EXC_C14N, prefixes=["#default"])
    assert out == b'<x:P xmlns="urn:r" xmlns:x="urn:x" Id="p"><x:q></x:q></x:P>'
    with pytest.raises(UnsupportedC14NError):
        c14n_element(root[1], CanonicalizationMethod.EXC_C14N, prefixes=["#default"])
