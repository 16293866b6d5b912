"""Enveloped XAdES signer: Hacienda's v4.4 emisor profile (XAdES-EPES) and MensajeHacienda's (XAdES-BES).

The signature is computed without signxml: the document is parsed once and canonicalised once (lxml's
exclusive C14N), and everything the signature adds is rendered from templates whose canonical form is known,
so the only per-document costs are one parse, one canonicalisation, three hashes and one RSA operation. The
signature is spliced into the original bytes before the root's end tag: the caller's bytes are kept as they
were, and the result is final (never re-serialise it). :meth:`Signer.sign_element` takes a tree built in
this process instead of bytes, and skips the parse: the issuing pipeline generates, validates and signs one
tree.

A :class:`Signer` is immutable after construction: reuse one across documents and threads. It pickles (for
worker processes) through its credential and configuration.
"""

from __future__ import annotations

import base64
import datetime as _dt
import hashlib
import re
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.x509.oid import NameOID
from lxml import etree

from cr_einvoice.core.clave import CR_TZ
from cr_einvoice.core.errors import ConfigError, SignatureError
from cr_einvoice.core.xmlsafe import parse_untrusted
from cr_einvoice.signing.certs import Credential
from cr_einvoice.signing.xades._c14n import (
    c14n_tree,
    detached,
    escape_attr,
    escape_text,
    outermost_signatures,
)
from cr_einvoice.signing.xades.algorithms import (
    DS_NS,
    SIGNED_PROPERTIES_TYPE,
    XADES_NS,
    XPATH_NOT_SIGNATURE,
    CanonicalizationMethod,
    DigestAlgorithm,
    SignatureAlgorithm,
    TransformAlgorithm,
)
from cr_einvoice.signing.xades.policies import V44_POLICY_DIGEST, V44_POLICY_URL

__all__ = ["CR_TZ", "SignatureProfile", "Signer", "SignerConfig"]

#: Costa Rica's offset (no daylight saving time).


class SignatureProfile(Enum):
    """Which signature layout to produce."""

    #: Hacienda's accepted 2026 v4.4 emisor profile (notes §8.1/8.2): XAdES-EPES, exclusive C14N, enveloped.
    EMISOR_V44 = "emisor-v4.4"
    #: Hacienda's own MensajeHacienda signature (notes §8.7): XAdES-BES, XPath filter, SHA-1 CertDigest, UTC.
    HACIENDA_RESPONSE = "hacienda-response"


def _utc_now() -> _dt.datetime:
    return _dt.datetime.now(_dt.UTC)


@dataclass(frozen=True, slots=True)
class SignerConfig:
    """What a :class:`Signer` produces. Frozen; ``None`` fields take the profile's default.

    - ``policy_identifier`` / ``policy_digest`` (base64) / ``policy_digest_algorithm``: the
      SignaturePolicyIdentifier of EMISOR_V44 (default: the official v4.4 policy). Ignored by
      HACIENDA_RESPONSE, which is XAdES-BES.
    - ``cert_digest_algorithm``: SigningCertificate CertDigest (EMISOR_V44: SHA-256;
      HACIENDA_RESPONSE: SHA-1).
    - ``include_key_value``: add KeyValue/RSAKeyValue to KeyInfo (EMISOR_V44: yes; HACIENDA_RESPONSE: no).
    - ``data_object_format``, ``mime_type``, ``encoding``: the DataObjectFormat of the document reference
      (EMISOR_V44: ``text/xml`` + ``UTF-8``; HACIENDA_RESPONSE: ``application/octet-stream``).
    - ``claimed_role``: optional SignerRole/ClaimedRoles/ClaimedRole (``Emisor``, ``Receptor``).
    - ``allow_expired``: sign even when the certificate is outside its validity period.
    - ``clock`` / ``id_factory``: injected for deterministic output (golden files). ``clock()`` returns an
      aware datetime; ``id_factory()`` returns the token that makes the signature's Ids unique
      (``Signature-<token>``, or ``id-<token>`` in HACIENDA_RESPONSE). Both must be thread-safe.
    """

    profile: SignatureProfile = SignatureProfile.EMISOR_V44
    policy_identifier: str = V44_POLICY_URL
    policy_digest: str = V44_POLICY_DIGEST
    policy_digest_algorithm: DigestAlgorithm = DigestAlgorithm.SHA256
    signature_algorithm: SignatureAlgorithm = SignatureAlgorithm.RSA_SHA256
    digest_algorithm: DigestAlgorithm = DigestAlgorithm.SHA256
    cert_digest_algorithm: DigestAlgorithm | None = None
    include_key_value: bool | None = None
    data_object_format: bool = True
    mime_type: str | None = None
    encoding: str | None = None
    claimed_role: str | None = None
    allow_expired: bool = False
    clock: Callable[[], _dt.datetime] | None = None
    id_factory: Callable[[], str] | None = None


_ID_TOKEN = re.compile(r"^[A-Za-z0-9_.\-]+$")
_DS_DECL = f' xmlns:ds="{DS_NS}"'
_XADES_DECL = f' xmlns:xades="{XADES_NS}"'
_FAST_ENCODINGS = {"utf-8", "utf8", "us-ascii", "ascii", "iso-8859-1", "latin-1", "latin1"}


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _int_b64(value: int) -> str:
    return _b64(value.to_bytes((value.bit_length() + 7) // 8 or 1, "big"))


class Signer:
    """Signs XML documents with one credential. Thread-safe; reuse it.

    ``Signer(credential, SignerConfig(...))``; :meth:`sign` takes the document bytes and returns the signed
    bytes. Raises :class:`~cr_einvoice.signing.certs.CertificateExpiredError` at construction or signing time
    when the
    certificate is not valid (unless ``allow_expired``).
    """

    __slots__ = (
        "_alg_hash",
        "_clock",
        "_cred",
        "_doc_hash",
        "_id_factory",
        "_key",
        "_keyinfo",
        "_not_after",
        "_not_before",
        "_pad",
        "_sp_tail_c14n",
        "_sp_tail_ser",
        "_xpath",
        "config",
    )

    def __init__(self, credential: Credential, config: SignerConfig | None = None) -> None:
        cfg = config or SignerConfig()
        if not isinstance(cfg.profile, SignatureProfile):
            raise ConfigError(f"SignerConfig.profile must be a SignatureProfile, got {cfg.profile!r}")
        hacienda = cfg.profile is SignatureProfile.HACIENDA_RESPONSE
        self.config = cfg
        self._cred = credential
        self._key = credential.private_key
        self._xpath = hacienda
        self._clock: Callable[[], _dt.datetime] = cfg.clock or _utc_now
        self._id_factory: Callable[[], str] = cfg.id_factory or (
            (lambda: secrets.token_hex(16)) if hacienda else (lambda: secrets.token_hex(8))
        )
        self._pad = padding.PKCS1v15()
        self._alg_hash = cfg.signature_algorithm.digest.hash_algorithm()
        self._doc_hash: Callable[[bytes | memoryview], Any] = getattr(
            hashlib, cfg.digest_algorithm.hashlib_name
        )
        self._not_before = credential.not_before
        self._not_after = credential.not_after
        if not cfg.allow_expired:
            credential.check_valid(self._clock())

        cert = credential.certificate
        der = cert.public_bytes(serialization.Encoding.DER)
        cert_alg = cfg.cert_digest_algorithm or (DigestAlgorithm.SHA1 if hacienda else DigestAlgorithm.SHA256)
        cert_digest = _b64(hashlib.new(cert_alg.hashlib_name, der).digest())
        issuer = _issuer_name_as_java(cert.issuer) if hacienda else cert.issuer.rfc4514_string()
        with_key_value = cfg.include_key_value if cfg.include_key_value is not None else not hacienda
        key_value = ""
        if with_key_value:
            nums = credential.private_key.public_key().public_numbers()
            key_value = (
                f"<ds:KeyValue><ds:RSAKeyValue><ds:Modulus>{_int_b64(nums.n)}</ds:Modulus>"
                f"<ds:Exponent>{_int_b64(nums.e)}</ds:Exponent></ds:RSAKeyValue></ds:KeyValue>"
            )
        self._keyinfo = (
            f"<ds:KeyInfo><ds:X509Data><ds:X509Certificate>{_b64(der)}</ds:X509Certificate></ds:X509Data>"
            f"{key_value}</ds:KeyInfo>"
        )

        # SignedSignatureProperties after SigningTime, in serialized (ser) and canonical (c14n) form. In
        # exclusive C14N every ds:* element whose parent is a xades:* element re-declares xmlns:ds.
        def props(ds: str) -> str:
            parts = [
                "<xades:SigningCertificate><xades:Cert><xades:CertDigest>",
                f'<ds:DigestMethod{ds} Algorithm="{escape_attr(cert_alg.value)}"></ds:DigestMethod>',
                f"<ds:DigestValue{ds}>{cert_digest}</ds:DigestValue></xades:CertDigest><xades:IssuerSerial>",
                f"<ds:X509IssuerName{ds}>{escape_text(issuer)}</ds:X509IssuerName>",
                f"<ds:X509SerialNumber{ds}>{cert.serial_number}</ds:X509SerialNumber>",
                "</xades:IssuerSerial></xades:Cert></xades:SigningCertificate>",
            ]
            if not hacienda:
                parts += [
                    "<xades:SignaturePolicyIdentifier><xades:SignaturePolicyId><xades:SigPolicyId>",
                    f"<xades:Identifier>{escape_text(cfg.policy_identifier)}</xades:Identifier>",
                    "</xades:SigPolicyId><xades:SigPolicyHash>",
                    f'<ds:DigestMethod{ds} Algorithm="{escape_attr(cfg.policy_digest_algorithm.value)}">'
                    "</ds:DigestMethod>",
                    f"<ds:DigestValue{ds}>{escape_text(cfg.policy_digest)}</ds:DigestValue>",
                    "</xades:SigPolicyHash></xades:SignaturePolicyId></xades:SignaturePolicyIdentifier>",
                ]
            if cfg.claimed_role:
                parts.append(
                    "<xades:SignerRole><xades:ClaimedRoles><xades:ClaimedRole>"
                    f"{escape_text(cfg.claimed_role)}</xades:ClaimedRole></xades:ClaimedRoles></xades:SignerRole>"
                )
            parts.append("</xades:SignedSignatureProperties>")
            return "".join(parts)

        self._sp_tail_ser = props("")
        self._sp_tail_c14n = props(_DS_DECL)
        if not hacienda and not cfg.policy_identifier:
            raise ConfigError("SignerConfig.policy_identifier is required for the EMISOR_V44 profile (EPES)")

    # ------------------------------------------------------------------------------------------ public
    @property
    def credential(self) -> Credential:
        return self._cred

    def __repr__(self) -> str:
        return f"Signer({self._cred!r}, profile={self.config.profile.name})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (Signer, (self._cred, self.config))

    def sign(self, xml: bytes) -> bytes:
        """Return ``xml`` with an enveloped signature appended as the last child of the root element."""
        if not isinstance(xml, bytes | bytearray | memoryview):
            raise TypeError("Signer.sign takes the document as bytes")
        data = bytes(xml)
        now = self._now()
        root = self._parse(data)
        return self._sign(data, root, now, None)

    def sign_element(self, root: etree._Element) -> bytes:
        """Sign a document tree built in this process (:func:`cr_einvoice.vouchers.xmlwrite.to_element`)
        without parsing it again.

        The tree is serialised as UTF-8 with an XML declaration -- the very bytes
        :func:`~cr_einvoice.vouchers.xmlwrite.to_xml` returns for it -- and those bytes come back with the
        signature appended, exactly as :meth:`sign` of them would return them. The tree is not changed.
        Refused (:class:`~cr_einvoice.core.errors.SignatureError`): an element that is not a document's root,
        a document with a DOCTYPE.
        """
        if not isinstance(root, etree._Element) or not isinstance(root.tag, str):
            raise TypeError("Signer.sign_element takes the root element of a document")
        tree = root.getroottree()
        if root.getparent() is not None or tree.getroot() is not root:
            raise SignatureError("Signer.sign_element signs a whole document: pass its root element")
        docinfo: Any = tree.docinfo  # lxml-stubs lacks DocInfo.doctype
        if docinfo.doctype or docinfo.internalDTD is not None:
            raise SignatureError("a document with a DOCTYPE is not signed")
        now = self._now()
        data = etree.tostring(tree, xml_declaration=True, encoding="UTF-8")
        return self._sign(data, root, now, "UTF-8")

    def _now(self) -> _dt.datetime:
        """The signing time, once the certificate is checked to be valid then."""
        now = self._clock()
        if now.tzinfo is None:
            raise ConfigError("SignerConfig.clock must return an aware datetime")
        if not self.config.allow_expired and not (self._not_before <= now <= self._not_after):
            self._cred.check_valid(now)  # raises, naming the certificate and its dates
        return now

    def _sign(self, data: bytes, root: etree._Element, now: _dt.datetime, encoding: str | None) -> bytes:
        """``data`` -- the document ``root`` was parsed from (``encoding`` None: the one it declares) or
        serialised to in ``encoding`` -- signed."""
        tree = root.getroottree()

        # 1. digest of the document as the verifier will see it (signature excluded)
        canonical: bytes | memoryview | None = None
        if not (self._xpath and DS_NS.encode() in data):
            canonical = _already_canonical(data, root, encoding=encoding)
        if canonical is None:
            try:
                if self._xpath:
                    with detached(outermost_signatures(root)):
                        canonical = c14n_tree(tree, CanonicalizationMethod.EXC_C14N)
                else:
                    canonical = c14n_tree(tree, CanonicalizationMethod.EXC_C14N)
            except etree.C14NError:
                raise SignatureError(
                    'the document cannot be canonicalised (a relative namespace URI such as xmlns="x"?)'
                ) from None
        doc_digest = _b64(self._doc_hash(canonical).digest())

        # 2. Ids, signing time
        token = self._id_factory()
        if not _ID_TOKEN.match(token):
            raise ConfigError(f"id_factory returned {token!r}; use letters, digits, '-', '_' or '.'")
        cfg = self.config
        if self._xpath:
            sig_id, sp_id, ref_id, value_id = (
                f"id-{token}",
                f"xades-id-{token}",
                "r-id-1",
                f"value-id-{token}",
            )
            t = now.astimezone(_dt.UTC)
            signing_time = (
                f"{t.year:04d}-{t.month:02d}-{t.day:02d}T{t.hour:02d}:{t.minute:02d}:{t.second:02d}Z"
            )
            mime, enc = cfg.mime_type or "application/octet-stream", cfg.encoding
        else:
            sig_id, sp_id = f"Signature-{token}", f"SignedProperties-{token}"
            ref_id, value_id = f"Reference-{token}", None
            t = now.astimezone(CR_TZ)
            signing_time = (
                f"{t.year:04d}-{t.month:02d}-{t.day:02d}T{t.hour:02d}:{t.minute:02d}:{t.second:02d}-06:00"
            )
            mime, enc = cfg.mime_type or "text/xml", cfg.encoding or "UTF-8"

        # 3. SignedProperties: canonical form (hashed) and serialized form (inserted)
        if cfg.data_object_format:
            dof = (
                f'<xades:SignedDataObjectProperties><xades:DataObjectFormat ObjectReference="#{ref_id}">'
                f"<xades:MimeType>{escape_text(mime)}</xades:MimeType>"
                + (f"<xades:Encoding>{escape_text(enc)}</xades:Encoding>" if enc else "")
                + "</xades:DataObjectFormat></xades:SignedDataObjectProperties>"
            )
        else:
            dof = ""
        sp_body = f"<xades:SignedSignatureProperties><xades:SigningTime>{signing_time}</xades:SigningTime>"
        sp_close = dof + "</xades:SignedProperties>"
        sp_c14n = (
            f'<xades:SignedProperties{_XADES_DECL} Id="{sp_id}">' + sp_body + self._sp_tail_c14n + sp_close
        )
        sp_ser = f'<xades:SignedProperties Id="{sp_id}">' + sp_body + self._sp_tail_ser + sp_close
        sp_digest = _b64(self._doc_hash(sp_c14n.encode("utf-8")).digest())

        # 4. SignedInfo
        exc = TransformAlgorithm.EXC_C14N.value
        digest_alg = cfg.digest_algorithm.value
        if self._xpath:
            data_ref = (
                f'<ds:Reference Id="{ref_id}" Type="" URI=""><ds:Transforms>'
                f'<ds:Transform Algorithm="{TransformAlgorithm.XPATH.value}">'
                f"<ds:XPath>{XPATH_NOT_SIGNATURE}</ds:XPath></ds:Transform>"
            )
        else:
            data_ref = (
                f'<ds:Reference Id="{ref_id}" URI=""><ds:Transforms>'
                f'<ds:Transform Algorithm="{TransformAlgorithm.ENVELOPED_SIGNATURE.value}"></ds:Transform>'
            )
        si_body = (
            f'<ds:CanonicalizationMethod Algorithm="{exc}"></ds:CanonicalizationMethod>'
            f'<ds:SignatureMethod Algorithm="{cfg.signature_algorithm.value}"></ds:SignatureMethod>'
            + data_ref
            + f'<ds:Transform Algorithm="{exc}"></ds:Transform></ds:Transforms>'
            f'<ds:DigestMethod Algorithm="{digest_alg}"></ds:DigestMethod>'
            f"<ds:DigestValue>{doc_digest}</ds:DigestValue></ds:Reference>"
            f'<ds:Reference Type="{SIGNED_PROPERTIES_TYPE}" URI="#{sp_id}"><ds:Transforms>'
            f'<ds:Transform Algorithm="{exc}"></ds:Transform></ds:Transforms>'
            f'<ds:DigestMethod Algorithm="{digest_alg}"></ds:DigestMethod>'
            f"<ds:DigestValue>{sp_digest}</ds:DigestValue></ds:Reference></ds:SignedInfo>"
        )
        si_c14n = f"<ds:SignedInfo{_DS_DECL}>" + si_body

        # 5. the RSA signature
        value = _b64(self._key.sign(si_c14n.encode("utf-8"), self._pad, self._alg_hash))
        value_attr = f' Id="{value_id}"' if value_id else ""
        signature = (
            f'<ds:Signature{_DS_DECL} Id="{sig_id}"><ds:SignedInfo>'
            + si_body
            + f"<ds:SignatureValue{value_attr}>{value}</ds:SignatureValue>"
            + self._keyinfo
            + f'<ds:Object><xades:QualifyingProperties{_XADES_DECL} Target="#{sig_id}">'
            + sp_ser
            + "</xades:QualifyingProperties></ds:Object></ds:Signature>"
        )
        return _splice(data, root, signature, encoding=encoding)

    # ----------------------------------------------------------------------------------------- private
    @staticmethod
    def _parse(data: bytes) -> etree._Element:
        # The one hardened parser (nothing loaded, no DOCTYPE or entity), keeping the document as written.
        return parse_untrusted(data, what="the document to sign", as_written=True)


# The prolog (BOM, XML declaration, whitespace) and a root start tag with at most a default namespace.
_HEAD = re.compile(
    rb"(?:\xef\xbb\xbf)?(?:<\?xml[ \t\n][^<>]*\?>)?[ \t\n]*<([A-Za-z_][A-Za-z0-9_.\-]*)"
    rb'(?: xmlns="[A-Za-z][A-Za-z0-9+.\-]*:[^"&<>\s]*")?>'
)


def _already_canonical(
    data: bytes, root: etree._Element, *, encoding: str | None = None
) -> memoryview | None:
    """The exclusive-C14N form of the document, when the input bytes already are it; else None.

    Documents such as :func:`cr_einvoice.vouchers.xmlwrite.to_xml` writes (UTF-8, a default namespace on the
    root and
    nothing else, no attributes, comments, PIs, CDATA, self-closing tags or character references other than
    ``&amp;`` ``&lt;`` ``&gt;``) are their own canonical form from the root start tag to the root end tag.
    ``data`` has been parsed already (so it is well-formed and namespace-well-formed); these byte checks are
    conservative: anything they do not recognise goes to libxml2's C14N.
    """
    if encoding is None:
        encoding = str(root.getroottree().docinfo.encoding or "")
    prefix: str | None = root.prefix
    if encoding.upper() != "UTF-8" or prefix:
        return None
    head = _HEAD.match(data)
    if head is None or head.group(1) != etree.QName(root).localname.encode("utf-8"):
        return None
    start = head.start(1) - 1
    body_start = head.end()
    end_tag = b"</" + head.group(1) + b">"
    body_end = data.rfind(end_tag)
    if body_end < body_start or data[body_end + len(end_tag) :].strip(b" \t\n"):
        return None
    b0, b1 = body_start, body_end
    find = data.find
    # Single-byte scans (memchr) first; the two-byte searches run only when the byte occurs at all.
    if find(b"\r") >= 0 or find(b'"', b0, b1) >= 0 or find(b"'", b0, b1) >= 0:
        return None  # CR is normalised by parsers; quotes mean attributes or namespace declarations
    for byte, pair in ((b"!", b"<!"), (b"?", b"<?"), (b"\n", b"\n>"), (b"\t", b"\t>")):
        if find(byte, b0, b1) >= 0 and find(pair, b0, b1) >= 0:
            return None  # comment, CDATA, processing instruction, whitespace inside a tag
    if find(b" >", b0, b1) >= 0:
        return None  # whitespace inside a tag
    lt = data.count(b"<", b0, b1)
    if lt != data.count(b">", b0, b1):
        return None  # a '>' in text: C14N writes &gt;
    elements = _count_elements(root)
    if not isinstance(elements, float) or lt != 2 * (int(elements) - 1):
        return None  # a self-closing tag: C14N writes a start and an end tag
    if find(b"&", b0, b1) >= 0 and _OTHER_REF.search(data, b0, b1):
        return None  # a character or entity reference other than &amp; &lt; &gt;
    return memoryview(data)[start : body_end + len(end_tag)]


_OTHER_REF = re.compile(rb"&(?!amp;|lt;|gt;)")
_LOCAL = threading.local()


def _count_elements(root: etree._Element) -> float | object:
    """``count(//*)`` with an XPath compiled once per thread (XPath objects are not shared across threads)."""
    xpath = getattr(_LOCAL, "count", None)
    if xpath is None:
        xpath = _LOCAL.count = etree.XPath("count(//*)")
    return xpath(root)


_RFC2253_KEYWORDS = frozenset(
    {
        NameOID.COMMON_NAME,
        NameOID.COUNTRY_NAME,
        NameOID.LOCALITY_NAME,
        NameOID.STATE_OR_PROVINCE_NAME,
        NameOID.STREET_ADDRESS,
        NameOID.ORGANIZATION_NAME,
        NameOID.ORGANIZATIONAL_UNIT_NAME,
        NameOID.DOMAIN_COMPONENT,
        NameOID.USER_ID,
    }
)
_VALUE_CODECS = {30: "utf-16-be", 28: "utf-32-be"}  # BMPString, UniversalString; the rest is 8-bit text


def _issuer_name_as_java(name: x509.Name) -> str:
    """RFC 2253 as Java's X500Principal writes it, the form of Hacienda's own signature: attributes without
    an RFC 2253 keyword (serialNumber) as ``OID=#<hex of the DER value>``
    (``2.5.4.5=#131043504a2d342d3030302d303034303137``)."""
    rdns: list[str] = []
    for rdn in reversed(name.rdns):
        parts: list[str] = []
        for attr in rdn:
            if attr.oid in _RFC2253_KEYWORDS:
                parts.append(x509.Name([x509.RelativeDistinguishedName([attr])]).rfc4514_string())
                continue
            tag = int(getattr(getattr(attr, "_type", None), "value", 12))
            raw = attr.value
            body = raw if isinstance(raw, bytes) else raw.encode(_VALUE_CODECS.get(tag, "utf-8"))
            n = len(body)
            length = (
                bytes([n])
                if n < 0x80
                else bytes([0x80 | ((n.bit_length() + 7) // 8)])
                + n.to_bytes((n.bit_length() + 7) // 8, "big")
            )
            parts.append(f"{attr.oid.dotted_string}=#{(bytes([tag]) + length + body).hex()}")
        rdns.append("+".join(parts))
    return ",".join(rdns)


def _splice(data: bytes, root: etree._Element, signature: str, *, encoding: str | None = None) -> bytes:
    """Insert ``signature`` as the last child of the root, keeping every other byte of ``data`` (whose
    encoding is ``encoding``, by default the one ``root`` was parsed with)."""
    docinfo = root.getroottree().docinfo
    declared_encoding = encoding or docinfo.encoding or "UTF-8"
    encoding = declared_encoding.lower()
    if encoding in _FAST_ENCODINGS:
        prefix = root.prefix
        local = etree.QName(root).localname
        qname = (f"{prefix}:{local}" if prefix else local).encode("utf-8")
        end = data.rfind(b"</" + qname)
        if end > 0:
            after = data[end + 2 + len(qname) :].lstrip()
            if after[:1] == b">" and not after[1:].strip():
                codec = "utf-8" if encoding.startswith("utf") else encoding
                try:
                    fragment = signature.encode(codec, "xmlcharrefreplace")
                except LookupError:
                    fragment = None
                if fragment is not None:
                    view = memoryview(data)
                    return b"".join((view[:end], fragment, view[end:]))
    # Unusual layout (empty root element, trailing comment, UTF-16, ...): insert through lxml. The canonical
    # form, and so the signature, is the same; only the untouched parts may be re-encoded.
    try:
        element = etree.fromstring(signature.encode("utf-8"))
    except etree.XMLSyntaxError as exc:  # pragma: no cover - the templates are well-formed
        raise SignatureError(f"internal error building the signature: {exc}") from None
    declared = data.lstrip(b"\xef\xbb\xbf").startswith(b"<?xml") or encoding not in _FAST_ENCODINGS
    root.append(element)
    try:
        out = etree.tostring(root.getroottree(), encoding=declared_encoding, xml_declaration=declared)
    finally:
        root.remove(element)  # the tree stays as it was (Signer.sign_element's caller keeps theirs)
    assert isinstance(out, bytes)
    return out
