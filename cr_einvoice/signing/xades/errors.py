"""Why a signature did not verify: one :class:`~cr_einvoice.core.errors.VerificationError` subclass per
reason.

The messages of :class:`NotXadesError`, :class:`MissingPolicyError` and :class:`DigestMismatchError` start
with the texts Hacienda uses for the same faults, so the local simulator can map them directly
(``HACIENDA_TEXT`` on each class is Hacienda's wording).
"""

from __future__ import annotations

from cr_einvoice.core.errors import VerificationError

__all__ = [
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


class NoSignatureError(VerificationError):
    """The document carries no ds:Signature."""

    HACIENDA_TEXT = "La firma del comprobante electrónico no es válida"


class MalformedSignatureError(VerificationError):
    """The ds:Signature is incomplete or structurally wrong (missing SignedInfo, SignatureValue, …)."""

    HACIENDA_TEXT = "La firma del comprobante electrónico no es válida"


class NotXadesError(VerificationError):
    """Plain XML-DSig: no xades:QualifyingProperties / SignedProperties covered by the signature."""

    HACIENDA_TEXT = "La firma del documento no es XAdES, se obtuvo [ERROR]"


class MissingPolicyError(VerificationError):
    """XAdES-BES where XAdES-EPES is required: no SignaturePolicyIdentifier."""

    HACIENDA_TEXT = "La firma del documento no tiene el Policy Id"


class UnsupportedAlgorithmError(VerificationError):
    """An algorithm or transform this verifier does not accept."""

    HACIENDA_TEXT = "La firma del comprobante electrónico no es válida"


class SignatureWrappingError(VerificationError):
    """References do not cover the whole document, point outside the signature, are ambiguous (duplicate
    Ids), or the signature is not a child of the root: a signature-wrapping attempt or a misplaced
    signature."""

    HACIENDA_TEXT = "La firma del comprobante electrónico no es válida"


class DigestMismatchError(VerificationError):
    """A Reference digest does not match: the document (or the signed properties) changed after signing."""

    HACIENDA_TEXT = (
        "La firma del comprobante electrónico no es válida "
        "(El XML fue modificado luego de haber sido firmado)."
    )

    def __init__(self, message: str, *, reference_uri: str = "") -> None:
        super().__init__(message)
        self.reference_uri = reference_uri


class SignatureValueError(VerificationError):
    """The SignatureValue does not verify with the certificate's public key over SignedInfo."""

    HACIENDA_TEXT = "La firma del comprobante electrónico no es válida"


class CertificateMismatchError(VerificationError):
    """SigningCertificate (digest / serial) or KeyValue does not match the KeyInfo certificate."""

    HACIENDA_TEXT = "La firma del comprobante electrónico no es válida"


class CertificateNotValidAtSigningTimeError(VerificationError):
    """SigningTime lies outside the signer certificate's (or a chain certificate's) validity period."""

    HACIENDA_TEXT = "La firma del comprobante electrónico no es válida"


class UntrustedCertificateError(VerificationError):
    """The signer's certificate does not chain to a CA of the given TrustStore."""

    HACIENDA_TEXT = "La firma del comprobante electrónico no es válida"


class SignerMismatchError(VerificationError):
    """The signer's cédula is not the expected one (e.g. not the emisor, or not Hacienda's seal)."""

    HACIENDA_TEXT = "El contribuyente que firma la factura electrónica no es el emisor."
