"""Issue #10 item 1: Hacienda's seal is trusted through the bundled Costa Rica national PKI, and nothing else.

The attack: a MensajeHacienda signed by a self-made certificate carrying ``serialNumber=CPJ-2-100-042005``
(even under a CA named exactly like the real "CA SINPE - PERSONA JURIDICA v2") must be reported as
"signature valid but not trusted", never as a trusted answer.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
from importlib import resources
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from cr_einvoice.sandbox.mensaje import MensajeHaciendaData, render_mensaje_hacienda
from cr_einvoice.signing.certs import HACIENDA_SELLO_CEDULA, Credential
from cr_einvoice.signing.xades import (
    NATIONAL_ROOT_SHA256,
    SignatureNotTrustedError,
    SignatureProfile,
    Signer,
    SignerConfig,
    TrustStore,
    UntrustedCertificateError,
    hacienda_trust,
    national_pki,
    verify,
)
from cr_einvoice.testing.pki import TestPKI

CLAVE = "50601032600310112345600100001010000000001100000001"
SAMPLE = "MensajeHacienda_v4.3_rechazado_firma_invalida.xml"


def _sinpe_juridica() -> x509.Certificate:
    _, intermediates = national_pki()
    return next(c for c in intermediates if "SINPE - PERSONA JURIDICA" in c.subject.rfc4514_string())


def _forged_seal() -> Signer:
    """A key pair and a seal certificate made by an attacker: the issuer carries the real SINPE CA's exact
    name, the leaf Hacienda's serialNumber, but it is signed with the attacker's own key."""
    now = _dt.datetime.now(_dt.UTC)
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    leaf_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, "ESTADO-MINISTERIO DE HACIENDA (SELLO ELECTRONICO)"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "PERSONA JURIDICA"),
            x509.NameAttribute(NameOID.COUNTRY_NAME, "CR"),
            x509.NameAttribute(NameOID.SERIAL_NUMBER, HACIENDA_SELLO_CEDULA),
        ]
    )
    leaf = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(_sinpe_juridica().subject)
        .public_key(leaf_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _dt.timedelta(days=1))
        .not_valid_after(now + _dt.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    return Signer(
        Credential.from_key(leaf_key, leaf), SignerConfig(profile=SignatureProfile.HACIENDA_RESPONSE)
    )


def _mensaje(mensaje: int = 3) -> bytes:
    return render_mensaje_hacienda(
        MensajeHaciendaData(
            clave=CLAVE,
            nombre_emisor="Emisor S.A.",
            tipo_identificacion_emisor="02",
            numero_cedula_emisor="3101123456",
            mensaje=mensaje,
            detalle="forged",
            total_factura="1130.00000",
        )
    )


def test_the_bundle_is_pinned_and_matches_its_manifest() -> None:
    anchors, intermediates = national_pki()
    assert len(anchors) == 1
    root = anchors[0]
    assert hashlib.sha256(root.public_bytes(serialization.Encoding.DER)).hexdigest() == NATIONAL_ROOT_SHA256
    assert "CA RAIZ NACIONAL - COSTA RICA v2" in root.subject.rfc4514_string()
    manifest = json.loads(
        resources.files("cr_einvoice.signing").joinpath("trust", "manifest.json").read_bytes()
    )
    names = {e["file"] for e in manifest["certificates"]}
    assert "CA_SINPE_-_PERSONA_JURIDICA_v2.pem" in names
    assert not any("2026" in n for n in names)  # the two that did not verify are not bundled
    assert len(intermediates) == len(names) - 1
    # Every bundled intermediate chains to the pinned root (each signature checked by build_chain).
    plain = TrustStore(anchors, intermediates)
    for cert in intermediates:
        chain = plain.build_chain(cert, at=cert.not_valid_before_utc + _dt.timedelta(days=1))
        assert chain[-1] == root
    trust = hacienda_trust()
    assert trust.leaf_serial_number == HACIENDA_SELLO_CEDULA


def test_a_forged_seal_with_hacienda_serial_number_is_valid_but_not_trusted() -> None:
    signed = _forged_seal().sign(_mensaje())
    result = verify(signed, None, require_policy=False)  # integrity alone: the forgery is "valid"
    assert result.signer_cedula == "2100042005"
    assert result.trusted is False
    with pytest.raises(SignatureNotTrustedError, match="signature valid but not trusted") as info:
        verify(signed, hacienda_trust(), require_policy=False)
    assert isinstance(info.value, UntrustedCertificateError)
    assert info.value.result.trusted is False
    assert info.value.result.signer_cedula == "2100042005"
    assert "no trusted issuer for CN=CA SINPE - PERSONA JURIDICA v2" in str(info.value.result.trust_problem)
    assert info.value.result.to_dict()["trusted"] is False


def test_the_test_seal_is_trusted_only_when_its_ca_is_named(pki: TestPKI, sello_cred: Credential) -> None:
    signed = Signer(sello_cred, SignerConfig(profile=SignatureProfile.HACIENDA_RESPONSE)).sign(_mensaje(1))
    with pytest.raises(SignatureNotTrustedError):
        verify(signed, hacienda_trust(), require_policy=False)
    named = verify(signed, TrustStore.from_pem_files(pki.sello_ca_cert_pem), require_policy=False)
    assert named.trusted and named.trust_problem is None


def test_a_leaf_that_chains_but_is_not_the_seal_is_not_trusted(pki: TestPKI, cred: Credential) -> None:
    """The national PKI issues certificates to every company: chaining is not enough, the leaf must be the
    seal. Shown with the TEST PKI, whose taxpayer certificate chains to its CA."""
    signed = Signer(cred, SignerConfig(profile=SignatureProfile.HACIENDA_RESPONSE)).sign(_mensaje(1))
    anchors = TrustStore.from_pem_files(pki.ca_cert_pem)
    assert verify(signed, anchors, require_policy=False).trusted  # it chains ...
    seal_only = TrustStore(anchors.anchors, leaf_serial_number=HACIENDA_SELLO_CEDULA)
    with pytest.raises(SignatureNotTrustedError, match="not CPJ-2-100-042005"):
        verify(signed, seal_only, require_policy=False)  # ... but it is not Hacienda's seal


def test_real_samples_behave_as_sources_md_predicts(samples_dir: Path) -> None:
    """SOURCES.md: the 2019-2023 seal of the v4.3 answer was issued by an earlier SINPE generation that is not
    bundled, so it does not chain. (No signed 2026 v4.4 answer is in ../shared/hacienda/samples to show the
    other half; its issuer, CA SINPE - PERSONA JURIDICA v2 of 2023, is bundled and chains to the root.)"""
    raw = (samples_dir / SAMPLE).read_bytes()
    with pytest.raises(SignatureNotTrustedError) as info:
        verify(raw, hacienda_trust(), require_policy=False)
    seal = info.value.result.certificate
    assert seal.issuer == _sinpe_juridica().subject  # same name, another key: an earlier generation
    assert seal.not_valid_after_utc.year == 2023
