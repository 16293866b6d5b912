"""Why a signature did not verify: one :class:`~cr_einvoice.core.errors.VerificationError` subclass per
reason.

The messages of :class:`NotXadesError`, :class:`MissingPolicyError` and :class:`DigestMismatchError` start
with the texts Hacienda uses for the same faults, so the local simulator can map them directly
(``HACIENDA_TEXT`` on each class is Hacienda's wording).
"""

from __future__ import annotations

from cr_einvoice.core.errors import VerificationError

#: Hacienda's wording for most signature faults.
INVALID_SIGNATURE = "La firma del comprobante electrónico no es válida"

__all__ = [
    "INVALID_SIGNATURE",
    "CertificateMismatchError",
    "CertificateNotValidAtSigningTimeError",
    "DigestMismatchError",
    "MalformedSignatureError",
    "MissingPolicyError",
    "NoSignatureError",
    "NotXadesError",
    "SignatureValueError",
    "SignatureWrappingError",
    "SignerMismatchError",
    "UnsupportedAlgorithmError",
    "UntrustedCertificateError",
]


class _Refusal(VerificationError):
    #: How Hacienda words the same fault (most are reported as an invalid signature).
    HACIENDA_TEXT = INVALID_SIGNATURE


class NoSignatureError(_Refusal):
    """The document carries no ds:Signature."""


class MalformedSignatureError(_Refusal):
    """The ds:Signature is incomplete or structurally wrong (missing SignedInfo, SignatureValue, …)."""


class NotXadesError(_Refusal):
    """Plain XML-DSig: no xades:QualifyingProperties / SignedProperties covered by the signature."""

    HACIENDA_TEXT = "La firma del documento no es XAdES, se obtuvo [ERROR]"


class MissingPolicyError(_Refusal):
    """XAdES-BES where XAdES-EPES is required: no SignaturePolicyIdentifier."""

    HACIENDA_TEXT = "La firma del documento no tiene el Policy Id"


class UnsupportedAlgorithmError(_Refusal):
    """An algorithm or transform this verifier does not accept."""


class SignatureWrappingError(_Refusal):
    """References do not cover the whole document, point outside the signature, are ambiguous (duplicate
    Ids), or the signature is not a child of the root: a signature-wrapping attempt or a misplaced
    signature."""


class DigestMismatchError(_Refusal):
    """A Reference digest does not match: the document (or the signed properties) changed after signing."""

    HACIENDA_TEXT = f"{INVALID_SIGNATURE} (El XML fue modificado luego de haber sido firmado)."

    def __init__(self, message: str, *, reference_uri: str = "") -> None:
        super().__init__(message)
        self.reference_uri = reference_uri


class SignatureValueError(_Refusal):
    """The SignatureValue does not verify with the certificate's public key over SignedInfo."""


class CertificateMismatchError(_Refusal):
    """SigningCertificate (digest / serial) or KeyValue does not match the KeyInfo certificate."""


class CertificateNotValidAtSigningTimeError(_Refusal):
    """SigningTime lies outside the signer certificate's (or a chain certificate's) validity period."""


class UntrustedCertificateError(_Refusal):
    """The signer's certificate does not chain to a CA of the given TrustStore (``verify`` raises its
    subclass ``verifier.SignatureNotTrustedError``, which carries the valid signature's description)."""


class SignerMismatchError(_Refusal):
    """The signer's cédula is not the expected one (e.g. not the emisor, or not Hacienda's seal)."""

    HACIENDA_TEXT = "El contribuyente que firma la factura electrónica no es el emisor."
