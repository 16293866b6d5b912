"""Namespaces and algorithm identifiers of XML-DSig / XAdES. Enum values are the algorithm URIs."""

from __future__ import annotations

from enum import StrEnum

from cryptography.hazmat.primitives import hashes

__all__ = [
    "DS_NS",
    "SIGNED_PROPERTIES_TYPE",
    "XADES141_NS",
    "XADES_NS",
    "XPATH_NOT_SIGNATURE",
    "CanonicalizationMethod",
    "DigestAlgorithm",
    "SignatureAlgorithm",
    "TransformAlgorithm",
]

DS_NS = "http://www.w3.org/2000/09/xmldsig#"
XADES_NS = "http://uri.etsi.org/01903/v1.3.2#"
XADES141_NS = "http://uri.etsi.org/01903/v1.4.1#"
#: ``Type`` of the Reference that covers ``xades:SignedProperties``.
SIGNED_PROPERTIES_TYPE = "http://uri.etsi.org/01903#SignedProperties"
#: The XPath filter of Anexo 2 and of Hacienda's own signature.
XPATH_NOT_SIGNATURE = "not(ancestor-or-self::ds:Signature)"


class DigestAlgorithm(StrEnum):
    SHA1 = "http://www.w3.org/2000/09/xmldsig#sha1"
    SHA224 = "http://www.w3.org/2001/04/xmldsig-more#sha224"
    SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"
    SHA384 = "http://www.w3.org/2001/04/xmldsig-more#sha384"
    SHA512 = "http://www.w3.org/2001/04/xmlenc#sha512"

    @property
    def hashlib_name(self) -> str:
        """The name in :mod:`hashlib`: every URI ends with it after ``#`` (``...xmlenc#sha256``)."""
        return self.value.rpartition("#")[2]

    def hash_algorithm(self) -> hashes.HashAlgorithm:
        return _HASHES[self]()


class SignatureAlgorithm(StrEnum):
    RSA_SHA1 = "http://www.w3.org/2000/09/xmldsig#rsa-sha1"
    RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
    RSA_SHA384 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384"
    RSA_SHA512 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512"

    @property
    def digest(self) -> DigestAlgorithm:
        """The digest the URI names after ``rsa-`` (``...#rsa-sha256`` signs a SHA-256 digest)."""
        return _DIGEST_BY_NAME[self.value.rpartition("rsa-")[2]]


class CanonicalizationMethod(StrEnum):
    C14N = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"
    C14N_WITH_COMMENTS = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments"
    EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"
    EXC_C14N_WITH_COMMENTS = "http://www.w3.org/2001/10/xml-exc-c14n#WithComments"

    @property
    def exclusive(self) -> bool:
        return self in (CanonicalizationMethod.EXC_C14N, CanonicalizationMethod.EXC_C14N_WITH_COMMENTS)

    @property
    def with_comments(self) -> bool:
        return self.value.endswith("#WithComments")


class TransformAlgorithm(StrEnum):
    ENVELOPED_SIGNATURE = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
    XPATH = "http://www.w3.org/TR/1999/REC-xpath-19991116"
    C14N = CanonicalizationMethod.C14N.value
    C14N_WITH_COMMENTS = CanonicalizationMethod.C14N_WITH_COMMENTS.value
    EXC_C14N = CanonicalizationMethod.EXC_C14N.value
    EXC_C14N_WITH_COMMENTS = CanonicalizationMethod.EXC_C14N_WITH_COMMENTS.value


_HASHES: dict[DigestAlgorithm, type[hashes.HashAlgorithm]] = {
    DigestAlgorithm.SHA1: hashes.SHA1,
    DigestAlgorithm.SHA224: hashes.SHA224,
    DigestAlgorithm.SHA256: hashes.SHA256,
    DigestAlgorithm.SHA384: hashes.SHA384,
    DigestAlgorithm.SHA512: hashes.SHA512,
}
_DIGEST_BY_NAME = {digest.hashlib_name: digest for digest in DigestAlgorithm}
