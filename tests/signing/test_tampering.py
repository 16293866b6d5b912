"""A tampered corpus: every manipulation fails with its own VerificationError subclass."""

from __future__ import annotations

import base64
import copy
import datetime as dt
import re
from collections.abc import Callable

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from lxml import etree
from signxml import XMLSigner, methods

from cr_einvoice.core.errors import VerificationError, XMLParseError
from cr_einvoice.signing.certs import CertificateExpiredError, Credential, load_p12
from cr_einvoice.signing.xades import (
    DS_NS,
    XADES_NS,
    CertificateMismatchError,
    CertificateNotValidAtSigningTimeError,
    DigestMismatchError,
    MalformedSignatureError,
    MissingPolicyError,
    NoSignatureError,
    NotXadesError,
    SignatureProfile,
    SignatureValueError,
    SignatureWrappingError,
    Signer,
    SignerConfig,
    SignerMismatchError,
    TrustStore,
    UnsupportedAlgorithmError,
    UntrustedCertificateError,
    verify,
)
from cr_einvoice.testing.pki import TestPKI

DS = f"{{{DS_NS}}}"
XA = f"{{{XADES_NS}}}"


@pytest.fixture(scope="module")
def signed(signer: Signer, invoice: bytes) -> bytes:
    out = signer.sign(invoice)
    verify(out)  # the untampered document is valid
    return out


def _edit(data: bytes, change: Callable[[etree._Element], None]) -> bytes:
    root = etree.fromstring(data)
    change(root)
    return etree.tostring(root.getroottree(), xml_declaration=True, encoding="utf-8")


def _sig(root: etree._Element) -> etree._Element:
    sig = root.find(f"{DS}Signature")
    assert sig is not None
    return sig


def test_reserialising_untampered_document_still_verifies(signed: bytes) -> None:
    """Control for _edit: lxml's round trip alone keeps the signature valid (C14N is invariant)."""
    verify(_edit(signed, lambda r: None))


def test_changed_amount(signed: bytes) -> None:
    tampered = signed.replace(b"<TotalComprobante>97716.75000<", b"<TotalComprobante>97.75000<")
    assert tampered != signed
    with pytest.raises(DigestMismatchError, match="modificado luego de haber sido firmado") as info:
        verify(tampered)
    assert info.value.reference_uri == ""


def test_reformatted_after_signing(signed: bytes) -> None:
    root = etree.fromstring(signed)
    etree.indent(root)
    with pytest.raises(VerificationError):
        verify(etree.tostring(root))


def test_replaced_certificate(signed: bytes, sello_cred: Credential) -> None:
    other = base64.b64encode(sello_cred.certificate.public_bytes(serialization.Encoding.DER)).decode()

    def swap(root: etree._Element) -> None:
        _sig(root).find(f"{DS}KeyInfo/{DS}X509Data/{DS}X509Certificate").text = other

    with pytest.raises(CertificateMismatchError):
        verify(_edit(signed, swap))


def test_replaced_certificate_and_resigned_signedinfo(signed: bytes, sello_cred: Credential) -> None:
    """An attacker re-signs SignedInfo with their own key but cannot change the signed CertDigest."""
    other = base64.b64encode(sello_cred.certificate.public_bytes(serialization.Encoding.DER)).decode()

    def swap(root: etree._Element) -> None:
        sig = _sig(root)
        ki = sig.find(f"{DS}KeyInfo")
        ki.find(f"{DS}X509Data/{DS}X509Certificate").text = other
        ki.remove(ki.find(f"{DS}KeyValue"))
        si = etree.tostring(sig.find(f"{DS}SignedInfo"), method="c14n", exclusive=True)
        value = sello_cred.private_key.sign(si, padding.PKCS1v15(), hashes.SHA256())
        sig.find(f"{DS}SignatureValue").text = base64.b64encode(value).decode()

    with pytest.raises(CertificateMismatchError):
        verify(_edit(signed, swap))


def test_wrong_certificate_digest(signed: bytes) -> None:
    def wrong(root: etree._Element) -> None:
        dv = _sig(root).find(f".//{XA}CertDigest/{DS}DigestValue")
        dv.text = base64.b64encode(b"\x00" * 32).decode()

    with pytest.raises(CertificateMismatchError, match="digest"):
        verify(_edit(signed, wrong))


def test_wrong_issuer_serial(signed: bytes) -> None:
    def wrong(root: etree._Element) -> None:
        sn = _sig(root).find(f".//{XA}IssuerSerial/{DS}X509SerialNumber")
        sn.text = str(int(sn.text) + 1)

    with pytest.raises(CertificateMismatchError, match="serial"):
        verify(_edit(signed, wrong))


def test_key_value_of_another_key(signed: bytes, sello_cred: Credential) -> None:
    n = sello_cred.private_key.public_key().public_numbers().n
    mod = base64.b64encode(n.to_bytes((n.bit_length() + 7) // 8, "big")).decode()

    def wrong(root: etree._Element) -> None:
        _sig(root).find(f"{DS}KeyInfo/{DS}KeyValue/{DS}RSAKeyValue/{DS}Modulus").text = mod

    with pytest.raises(CertificateMismatchError, match="KeyValue"):
        verify(_edit(signed, wrong))


def test_duplicated_signature(signed: bytes) -> None:
    def dup(root: etree._Element) -> None:
        root.append(copy.deepcopy(_sig(root)))

    with pytest.raises(SignatureWrappingError, match="more than once"):
        verify(_edit(signed, dup))


def test_moved_signature(signed: bytes) -> None:
    """The enveloped transform would still give the same digest: placement itself must be checked."""

    def move(root: etree._Element) -> None:
        sig = _sig(root)
        root.remove(sig)
        root[-1].append(sig)

    with pytest.raises(SignatureWrappingError, match="child of the root"):
        verify(_edit(signed, move))


def test_wrapped_signature_reference_to_subtree(signed: bytes) -> None:
    """The data reference points at a wrapper holding the original content, not at the document."""

    def wrap(root: etree._Element) -> None:
        sig = _sig(root)
        ns = etree.QName(root).namespace
        wrapper = etree.Element(f"{{{ns}}}Otros", Id="original")
        for child in list(root):
            if child is not sig:
                wrapper.append(child)
        root.insert(0, etree.Element(f"{{{ns}}}Clave"))
        root.insert(1, wrapper)
        sig.find(f"{DS}SignedInfo/{DS}Reference").set("URI", "#original")

    with pytest.raises(SignatureWrappingError, match="not the whole document"):
        verify(_edit(signed, wrap))


def test_signed_properties_copy_elsewhere(signed: bytes) -> None:
    def wrap(root: etree._Element) -> None:
        sp = copy.deepcopy(_sig(root).find(f".//{XA}SignedProperties"))
        root.insert(0, sp)

    with pytest.raises(SignatureWrappingError):
        verify(_edit(signed, wrap))


def test_external_reference(signed: bytes) -> None:
    def ext(root: etree._Element) -> None:
        _sig(root).find(f"{DS}SignedInfo/{DS}Reference").set("URI", "https://example.com/x.xml")

    with pytest.raises(SignatureWrappingError, match="same-document"):
        verify(_edit(signed, ext))


def test_removed_signed_properties(signed: bytes) -> None:
    def remove(root: etree._Element) -> None:
        qp = _sig(root).find(f"{DS}Object/{XA}QualifyingProperties")
        qp.remove(qp.find(f"{XA}SignedProperties"))

    with pytest.raises(NotXadesError, match="La firma del documento no es XAdES"):
        verify(_edit(signed, remove))


def test_signed_properties_not_referenced(signed: bytes) -> None:
    def unref(root: etree._Element) -> None:
        si = _sig(root).find(f"{DS}SignedInfo")
        si.remove(si.findall(f"{DS}Reference")[1])

    with pytest.raises(NotXadesError):
        verify(_edit(signed, unref))


def test_plain_xmldsig_without_xades(invoice: bytes, cred: Credential) -> None:
    key_pem = cred.private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    cert_pem = cred.certificate.public_bytes(serialization.Encoding.PEM)
    signer = XMLSigner(
        method=methods.enveloped,
        signature_algorithm="rsa-sha256",
        digest_algorithm="sha256",
        c14n_algorithm="http://www.w3.org/2001/10/xml-exc-c14n#",
    )
    root = signer.sign(etree.fromstring(invoice), key=key_pem, cert=cert_pem)
    data = etree.tostring(root)
    with pytest.raises(NotXadesError) as info:
        verify(data)
    assert str(info.value).startswith("La firma del documento no es XAdES")
    assert info.value.HACIENDA_TEXT == "La firma del documento no es XAdES, se obtuvo [ERROR]"


def test_bes_voucher_lacks_policy(sello_cred: Credential, invoice: bytes) -> None:
    bes = Signer(sello_cred, SignerConfig(profile=SignatureProfile.HACIENDA_RESPONSE)).sign(invoice)
    with pytest.raises(MissingPolicyError, match="La firma del documento no tiene el Policy Id"):
        verify(bes)
    assert verify(bes, require_policy=False).level == "XAdES-BES"


def test_policy_required_on_request_even_for_mensaje_hacienda(sello_cred: Credential) -> None:
    mh = b'<MensajeHacienda xmlns="https://cdn.comprobanteselectronicos.go.cr/xml-schemas/v4.4/mensajeHacienda"/>'
    bes = Signer(sello_cred, SignerConfig(profile=SignatureProfile.HACIENDA_RESPONSE)).sign(mh)
    assert verify(bes).level == "XAdES-BES"
    with pytest.raises(MissingPolicyError):
        verify(bes, require_policy=True)


def test_tampered_signature_value(signed: bytes) -> None:
    def flip(root: etree._Element) -> None:
        sv = _sig(root).find(f"{DS}SignatureValue")
        raw = bytearray(base64.b64decode(sv.text))
        raw[10] ^= 0xFF
        sv.text = base64.b64encode(bytes(raw)).decode()

    with pytest.raises(SignatureValueError):
        verify(_edit(signed, flip))


def test_tampered_signed_info(signed: bytes) -> None:
    """Changing SignedInfo without touching the digests breaks the signature value."""

    def change(root: etree._Element) -> None:
        _sig(root).find(f"{DS}SignedInfo/{DS}Reference").set("Id", "Reference-changed")

    with pytest.raises(SignatureValueError):
        verify(_edit(signed, change))


def test_tampered_signing_time(signed: bytes) -> None:
    tampered = re.sub(rb"<xades:SigningTime>[^<]+<", b"<xades:SigningTime>2026-01-01T00:00:00-06:00<", signed)
    with pytest.raises(DigestMismatchError) as info:
        verify(tampered)
    assert info.value.reference_uri.startswith("#SignedProperties-")


def test_unsupported_transform(signed: bytes) -> None:
    def xslt(root: etree._Element) -> None:
        t = _sig(root).find(f"{DS}SignedInfo/{DS}Reference/{DS}Transforms/{DS}Transform")
        t.set("Algorithm", "http://www.w3.org/TR/1999/REC-xslt-19991116")

    with pytest.raises(UnsupportedAlgorithmError):
        verify(_edit(signed, xslt))


def test_other_xpath_expression_refused(signed: bytes) -> None:
    def xpath(root: etree._Element) -> None:
        t = _sig(root).find(f"{DS}SignedInfo/{DS}Reference/{DS}Transforms/{DS}Transform")
        t.set("Algorithm", "http://www.w3.org/TR/1999/REC-xpath-19991116")
        etree.SubElement(t, f"{DS}XPath").text = "true()"

    with pytest.raises(UnsupportedAlgorithmError, match="XPath"):
        verify(_edit(signed, xpath))


def test_missing_signed_info(signed: bytes) -> None:
    def drop(root: etree._Element) -> None:
        sig = _sig(root)
        sig.remove(sig.find(f"{DS}SignedInfo"))

    with pytest.raises(MalformedSignatureError):
        verify(_edit(signed, drop))


def test_not_signed(invoice: bytes) -> None:
    with pytest.raises(NoSignatureError):
        verify(invoice)


def test_hostile_xml_refused() -> None:
    bomb = b'<!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>'
    with pytest.raises(XMLParseError):
        verify(bomb)


def test_untrusted_chain(signed: bytes, pki: TestPKI) -> None:
    with pytest.raises(UntrustedCertificateError):
        verify(signed, TrustStore.from_pem_files(pki.sello_ca_cert_pem))
    assert verify(signed, TrustStore.from_pem_files(pki.ca_cert_pem)).trusted


def test_pinned_leaf_is_trusted(signed: bytes, pki: TestPKI) -> None:
    assert verify(signed, TrustStore.from_pem_files(pki.taxpayer_cert_pem)).trusted


def test_expected_signer(signed: bytes) -> None:
    with pytest.raises(SignerMismatchError, match=r"no es el emisor|not by"):
        verify(signed, expected_cedula="2100042005")


def test_expired_certificate_refused_then_detected(pki: TestPKI, invoice: bytes) -> None:
    expired = load_p12(pki.expired_p12, pki.pin)
    with pytest.raises(CertificateExpiredError):
        Signer(expired)
    forced = Signer(expired, SignerConfig(allow_expired=True)).sign(invoice)
    with pytest.raises(CertificateNotValidAtSigningTimeError):
        verify(forced)
    # backdated into the validity period, the same certificate verifies (validity at SigningTime)
    past = expired.not_before + dt.timedelta(days=10)
    backdated = Signer(expired, SignerConfig(allow_expired=True, clock=lambda: past)).sign(invoice)
    assert verify(backdated).signing_time == past.replace(microsecond=0)


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_any_changed_character_of_the_content_is_detected(signed: bytes, data: st.DataObject) -> None:
    """Change one character of any text node of the voucher (outside the signature): always detected."""
    end = signed.index(b"<ds:Signature")
    texts = [m for m in re.finditer(rb">([^<&]+)<", signed[:end]) if m.group(1).strip()]
    m = data.draw(st.sampled_from(texts))
    pos = data.draw(st.integers(m.start(1), m.end(1) - 1))
    old = signed[pos : pos + 1]
    assume(not old.isspace() and old < b"\x80")
    new = data.draw(st.sampled_from([c for c in (b"0", b"7", b"A", b"z", b".") if c != old]))
    tampered = signed[:pos] + new + signed[pos + 1 :]
    with pytest.raises(DigestMismatchError):
        verify(tampered)


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_any_changed_character_of_signed_properties_is_detected(signed: bytes, data: st.DataObject) -> None:
    start = signed.index(b"<xades:SignedProperties")
    end = signed.index(b"</xades:SignedProperties>")
    texts = [m for m in re.finditer(rb">([^<]+)<", signed[start:end]) if m.group(1).strip()]
    m = data.draw(st.sampled_from(texts))
    pos = start + data.draw(st.integers(m.start(1), m.end(1) - 1))
    old = signed[pos : pos + 1]
    new = data.draw(st.sampled_from([c for c in (b"1", b"B", b"y") if c != old]))
    tampered = signed[:pos] + new + signed[pos + 1 :]
    with pytest.raises(VerificationError):
        verify(tampered)
