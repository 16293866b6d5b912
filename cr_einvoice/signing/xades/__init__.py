"""XAdES signatures for Costa Rica vouchers: a fast XAdES-EPES signer and a verifier for untrusted input.

::

    from cr_einvoice.signing.certs import load_p12
    from cr_einvoice.signing.xades import Signer, SignerConfig, verify

    signer = Signer(load_p12("key.p12", pin))          # once
    signed = signer.sign(xml_bytes)                    # many times, any thread
    result = verify(signed)                            # .signer_cedula, .signing_time, .policy_known, ...
"""

from __future__ import annotations

from cr_einvoice.signing.xades.algorithms import (
    DS_NS,
    SIGNED_PROPERTIES_TYPE,
    XADES_NS,
    CanonicalizationMethod,
    DigestAlgorithm,
    SignatureAlgorithm,
    TransformAlgorithm,
)
from cr_einvoice.signing.xades.errors import (
    CertificateMismatchError,
    CertificateNotValidAtSigningTimeError,
    DigestMismatchError,
    MalformedSignatureError,
    MissingPolicyError,
    NoSignatureError,
    NotXadesError,
    SignatureValueError,
    SignatureWrappingError,
    SignerMismatchError,
    UnsupportedAlgorithmError,
    UntrustedCertificateError,
)
from cr_einvoice.signing.xades.policies import (
    KNOWN_POLICIES,
    V44_POLICY_DIGEST,
    V44_POLICY_URL,
    KnownPolicy,
    match_policy,
)
from cr_einvoice.signing.xades.signer import CR_TZ, SignatureProfile, Signer, SignerConfig
from cr_einvoice.signing.xades.trust import TrustStore, load_certificates
from cr_einvoice.signing.xades.verifier import SignatureStyle, VerificationResult, verify

__all__ = [
    "CR_TZ",
    "DS_NS",
    "KNOWN_POLICIES",
    "SIGNED_PROPERTIES_TYPE",
    "V44_POLICY_DIGEST",
    "V44_POLICY_URL",
    "XADES_NS",
    "CanonicalizationMethod",
    "CertificateMismatchError",
    "CertificateNotValidAtSigningTimeError",
    "DigestAlgorithm",
    "DigestMismatchError",
    "KnownPolicy",
    "MalformedSignatureError",
    "MissingPolicyError",
    "NoSignatureError",
    "NotXadesError",
    "SignatureAlgorithm",
    "SignatureProfile",
    "SignatureStyle",
    "SignatureValueError",
    "SignatureWrappingError",
    "Signer",
    "SignerConfig",
    "SignerMismatchError",
    "TransformAlgorithm",
    "TrustStore",
    "UnsupportedAlgorithmError",
    "UntrustedCertificateError",
    "VerificationResult",
    "load_certificates",
    "match_policy",
    "verify",
]
