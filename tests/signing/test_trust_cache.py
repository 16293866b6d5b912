"""A TrustStore builds the chain of a certificate once (issuers and their signatures), but checks the validity
at each signing time every time, and remembers chains only for itself."""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography import x509

from cr_einvoice.core.errors import VerificationError
from cr_einvoice.core.xmlsafe import parse_untrusted
from cr_einvoice.signing.certs import Credential
from cr_einvoice.signing.xades import (
    CertificateNotValidAtSigningTimeError,
    SignatureNotTrustedError,
    Signer,
    TrustStore,
    UntrustedCertificateError,
    verify,
    verify_tree,
)
from cr_einvoice.testing.pki import TestPKI


def test_a_chain_is_built_once_per_certificate(
    pki: TestPKI, cred: Credential, monkeypatch: pytest.MonkeyPatch
) -> None:
    trust = TrustStore.from_pem_files(pki.ca_cert_pem)
    paths: list[x509.Certificate] = []
    build = TrustStore._path

    def counting(self: TrustStore, leaf: x509.Certificate, extra: object) -> object:
        paths.append(leaf)
        return build(self, leaf, extra)  # type: ignore[arg-type]

    monkeypatch.setattr(TrustStore, "_path", counting)
    when = cred.certificate.not_valid_before_utc + dt.timedelta(days=1)
    first = trust.build_chain(cred.certificate, at=when)
    again = trust.build_chain(cred.certificate, at=when)
    assert first == again and len(first) == 2
    assert len(paths) == 1
    # The validity is checked at every signing time, remembered chain or not.
    with pytest.raises(CertificateNotValidAtSigningTimeError):
        trust.build_chain(cred.certificate, at=cred.certificate.not_valid_after_utc + dt.timedelta(days=1))
    # Another store (the seal's CA) does not inherit the chain: it refuses the taxpayer's certificate.
    with pytest.raises(UntrustedCertificateError):
        TrustStore.from_pem_files(pki.sello_ca_cert_pem).build_chain(cred.certificate, at=when)
    assert len(paths) == 2


def test_every_signature_is_verified_with_a_remembered_chain(
    pki: TestPKI, signer: Signer, invoice: bytes
) -> None:
    trust = TrustStore.from_pem_files(pki.ca_cert_pem)
    signed = signer.sign(invoice)
    assert verify(signed, trust).trusted
    tampered = signed.replace(b"<NumeroConsecutivo>", b"<NumeroConsecutivo>9", 1)
    assert tampered != signed
    with pytest.raises(VerificationError) as caught:
        verify(tampered, trust)  # the chain is remembered; the signature still fails
    assert not isinstance(caught.value, SignatureNotTrustedError)
    # The same answer verified on the tree the caller read is the same result.
    assert verify_tree(parse_untrusted(signed), trust) == verify(signed, trust)
