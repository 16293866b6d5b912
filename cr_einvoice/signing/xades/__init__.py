"""XAdES signatures for Costa Rica vouchers: a fast XAdES-EPES signer and a verifier for untrusted input.

::

    from cr_einvoice.signing.certs import load_p12
    from cr_einvoice.signing.xades import Signer, SignerConfig, verify

    signer = Signer(load_p12("key.p12", pin))          # once
    signed = signer.sign(xml_bytes)                    # many times, any thread
    result = verify(signed)                            # .signer_cedula, .signing_time, .policy_known, ...
"""

from __future__ import annotations

from cr_einvoice.signing.xades import errors
from cr_einvoice.signing.xades.algorithms import (
    DS_NS,
    SIGNED_PROPERTIES_TYPE,
    XADES_NS,
    CanonicalizationMethod,
    DigestAlgorithm,
    SignatureAlgorithm,
    TransformAlgorithm,
)
from cr_einvoice.signing.xades.errors import *  # noqa: F403 - every reason a signature fails (errors.__all__)
from cr_einvoice.signing.xades.policies import (
    KNOWN_POLICIES,
    V44_POLICY_DIGEST,
    V44_POLICY_URL,
    KnownPolicy,
    match_policy,
)
from cr_einvoice.signing.xades.signer import CR_TZ, SignatureProfile, Signer, SignerConfig
from cr_einvoice.signing.xades.trust import (
    NATIONAL_ROOT_SHA256,
    TrustStore,
    hacienda_trust,
    load_certificates,
    national_pki,
)
from cr_einvoice.signing.xades.verifier import (
    SignatureNotTrustedError,
    SignatureStyle,
    VerificationResult,
    verify,
    verify_tree,
)

__all__ = [
    "CR_TZ",
    "DS_NS",
    "KNOWN_POLICIES",
    "NATIONAL_ROOT_SHA256",
    "SIGNED_PROPERTIES_TYPE",
    "V44_POLICY_DIGEST",
    "V44_POLICY_URL",
    "XADES_NS",
    "CanonicalizationMethod",
    "DigestAlgorithm",
    "KnownPolicy",
    "SignatureAlgorithm",
    "SignatureNotTrustedError",
    "SignatureProfile",
    "SignatureStyle",
    "Signer",
    "SignerConfig",
    "TransformAlgorithm",
    "TrustStore",
    "VerificationResult",
    "hacienda_trust",
    "load_certificates",
    "match_policy",
    "national_pki",
    "verify",
    "verify_tree",
]
__all__ += errors.__all__
