"""Verification of enveloped XAdES signatures on untrusted documents.

Accepts the layouts seen in Costa Rica: this package's own output (exclusive C14N, enveloped), Hacienda's
MensajeHacienda signature (XAdES-BES, XPath filter, SHA-1 CertDigest), CRLibre-style vouchers (inclusive
C14N, three references including KeyInfo) and Anexo-2-style ones (XPath filter, exclusive C14N). Every
reference digest and the signature value are checked; the document reference must cover the whole document,
other references must point inside the signature, Ids must be unique and every signature must be a child of
the root, so signature-wrapping tricks fail. The SigningCertificate must match the KeyInfo certificate.
Optionally the certificate must chain to a :class:`TrustStore`, valid at the SigningTime.
"""

from __future__ import annotations

import base64
import binascii
import datetime as _dt
import hashlib
import hmac
import logging
import re
from dataclasses import dataclass
from enum import Enum
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from lxml import etree

from cr_einvoice.core.catalogs import TipoIdentificacion
from cr_einvoice.core.xmlsafe import DEFAULT_MAX_BYTES, child_text, parse_untrusted
from cr_einvoice.signing.certs import format_name, parse_cedula
from cr_einvoice.signing.xades._c14n import (
    UnsupportedC14NError,
    c14n_element,
    c14n_tree,
    detached,
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
from cr_einvoice.signing.xades.errors import (
    INVALID_SIGNATURE,
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
from cr_einvoice.signing.xades.policies import match_policy
from cr_einvoice.signing.xades.trust import TrustStore

__all__ = ["SignatureNotTrustedError", "SignatureStyle", "VerificationResult", "verify", "verify_tree"]

log = logging.getLogger("cr_einvoice.signing")

_DS = f"{{{DS_NS}}}"
_XA = f"{{{XADES_NS}}}"
_EC_NS = "http://www.w3.org/2001/10/xml-exc-c14n#"
_ID_ATTRS = ("Id", "ID", "id")
_WS = re.compile(r"\s+")


class SignatureStyle(Enum):
    """The signature layout recognised (informational)."""

    #: exclusive C14N, enveloped + exclusive C14N document reference (2026 v4.4 traffic, this package).
    EMISOR_V44 = "emisor-v4.4"
    #: Hacienda's MensajeHacienda signature: XPath filter, XAdES-BES.
    HACIENDA_RESPONSE = "hacienda-response"
    #: CRLibre signer: inclusive C14N, three references including KeyInfo.
    CRLIBRE = "crlibre"
    #: Anexo 2 / xades4j: XPath filter, XAdES-EPES.
    ANEXO2 = "anexo2"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class VerificationResult:
    """What a valid signature says. ``policy_known`` compares the policy with Hacienda's published ones.

    ``trusted`` is True only when the certificate chained to the given trust anchors; a valid signature
    that does not is raised as :class:`SignatureNotTrustedError` carrying this result with ``trusted``
    False and ``trust_problem`` saying why.
    """

    signer_subject: str
    signer_cedula: str | None
    signer_identification_type: TipoIdentificacion | None
    signing_time: _dt.datetime | None
    policy_identifier: str | None
    policy_digest: str | None
    policy_known: bool
    policy_era: str | None
    level: str
    style: SignatureStyle
    canonicalization: str
    signature_algorithm: str
    certificate: x509.Certificate
    chain: tuple[x509.Certificate, ...]
    trusted: bool
    signature_count: int
    trust_problem: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "valid": True,
            "signer_subject": self.signer_subject,
            "signer_cedula": self.signer_cedula,
            "signer_identification_type": (
                self.signer_identification_type.value if self.signer_identification_type else None
            ),
            "signing_time": self.signing_time.isoformat() if self.signing_time else None,
            "policy_identifier": self.policy_identifier,
            "policy_digest": self.policy_digest,
            "policy_known": self.policy_known,
            "policy_era": self.policy_era,
            "level": self.level,
            "style": self.style.value,
            "canonicalization": self.canonicalization,
            "signature_algorithm": self.signature_algorithm,
            "certificate_serial": str(self.certificate.serial_number),
            "certificate_issuer": format_name(self.certificate.issuer),
            "certificate_not_after": self.certificate.not_valid_after_utc.isoformat(),
            "chain": [format_name(c.subject) for c in self.chain],
            "trusted": self.trusted,
            "trust_problem": self.trust_problem,
            "signature_count": self.signature_count,
        }


class SignatureNotTrustedError(UntrustedCertificateError):
    """Signature valid but not trusted: the document is intact and signed with the certificate it names, but
    that certificate does not chain to the trust anchors (or is not the leaf they accept). ``result`` holds
    what the valid signature says (``result.trusted`` is False, ``result.trust_problem`` the reason)."""

    def __init__(self, message: str, *, result: VerificationResult) -> None:
        super().__init__(message)
        self.result = result


@dataclass(frozen=True, slots=True)
class _Ref:
    element: etree._Element
    uri: str
    type: str
    transforms: tuple[tuple[str, etree._Element], ...]
    digest_method: str
    digest_value: str


def verify(
    data: bytes | str,
    trust: TrustStore | None = None,
    *,
    expected_cedula: str | None = None,
    require_policy: bool | None = None,
    allow_sha1: bool = False,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> VerificationResult:
    """Verify every signature of an untrusted signed document; describe the first (the emisor's).

    - ``trust``: when given, the signer's certificate must chain to it, every certificate valid at the
      SigningTime; a signature that is valid but does not chain raises :class:`SignatureNotTrustedError`
      (its ``result`` describes the signature). Without it ``result.trusted`` is False (not checked).
    - ``expected_cedula``: the signer's identification digits must equal it (:class:`SignerMismatchError`).
    - ``require_policy``: XAdES-EPES required (:class:`MissingPolicyError` for BES). ``None`` (default) means
      required for vouchers and not for ``MensajeHacienda``, which Hacienda signs XAdES-BES.
    - ``allow_sha1``: accept RSA-SHA1 signatures and SHA-1 reference digests (refused by default: Hacienda
      requires SHA-256 or SHA-512, and SHA-1 collisions are practical). A SHA-1 *certificate* digest, as in
      Hacienda's own signature, is always accepted.

    Raises :class:`~cr_einvoice.core.errors.XMLParseError` for hostile or malformed XML and a
    :class:`~cr_einvoice.core.errors.VerificationError` subclass naming the reason otherwise.
    """
    root = parse_untrusted(data, max_bytes=max_bytes, what="signed document")
    return verify_tree(
        root, trust, expected_cedula=expected_cedula, require_policy=require_policy, allow_sha1=allow_sha1
    )


def verify_tree(
    root: etree._Element,
    trust: TrustStore | None = None,
    *,
    expected_cedula: str | None = None,
    require_policy: bool | None = None,
    allow_sha1: bool = False,
) -> VerificationResult:
    """:func:`verify` on a document the caller already read with
    :func:`~cr_einvoice.core.xmlsafe.parse_untrusted` (and does not change): its bytes are not parsed
    twice."""
    signatures = list(root.iter(f"{_DS}Signature"))
    if not signatures:
        raise NoSignatureError("El documento no está firmado: no tiene ds:Signature")
    top: list[etree._Element] = []
    for sig in signatures:
        parent = sig.getparent()
        if parent is root:
            top.append(sig)
            continue
        anc = parent
        while anc is not None and anc.tag != f"{_DS}Signature":
            anc = anc.getparent()
        if anc is None:
            where = etree.QName(parent).localname if parent is not None else "?"
            raise SignatureWrappingError(
                f"a ds:Signature sits inside <{where}>: an enveloped signature must be a child of the root"
            )
    ids = _collect_ids(root)
    if require_policy is None:
        require_policy = etree.QName(root).localname != "MensajeHacienda"
    results = [
        _verify_one(
            root, sig, ids, trust=trust, require_policy=require_policy, allow_sha1=allow_sha1, count=len(top)
        )
        for sig in top
    ]
    first = results[0]
    if expected_cedula is not None:
        want = re.sub(r"\D", "", expected_cedula) or expected_cedula
        if first.signer_cedula != want:
            raise SignerMismatchError(
                f"the document is signed by {first.signer_subject} (cédula {first.signer_cedula}), "
                f"not by {expected_cedula}"
            )
    return first


def _collect_ids(root: etree._Element) -> dict[str, etree._Element]:
    ids: dict[str, etree._Element] = {}
    found = root.xpath("//@*[name()='Id' or name()='ID' or name()='id']")
    assert isinstance(found, list)
    for attr in found:
        value = str(attr)
        owner = attr.getparent()  # type: ignore[union-attr]
        assert owner is not None
        if value in ids and ids[value] is not owner:
            raise SignatureWrappingError(
                f"the Id {value!r} appears more than once: references to it would be ambiguous"
            )
        ids[value] = owner
    return ids


def _required(parent: etree._Element, tag: str, what: str) -> etree._Element:
    el = parent.find(tag)
    if el is None:
        raise MalformedSignatureError(f"the signature has no {what}")
    return el


def _b64decode(value: str | None, what: str) -> bytes:
    try:
        return base64.b64decode(_WS.sub("", (value or "").replace("&#13;", "")), validate=True)
    except (binascii.Error, ValueError):
        raise MalformedSignatureError(f"{what} is not valid base64") from None


def _digest(alg_uri: str, data: bytes) -> bytes:
    try:
        alg = DigestAlgorithm(alg_uri)
    except ValueError:
        raise UnsupportedAlgorithmError(f"unsupported digest algorithm {alg_uri!r}") from None
    return hashlib.new(alg.hashlib_name, data).digest()


def _parse_refs(signed_info: etree._Element) -> list[_Ref]:
    refs: list[_Ref] = []
    for ref in signed_info.iterchildren(f"{_DS}Reference"):
        transforms: list[tuple[str, etree._Element]] = []
        tr = ref.find(f"{_DS}Transforms")
        if tr is not None:
            for t in tr.iterchildren(f"{_DS}Transform"):
                transforms.append((t.get("Algorithm", ""), t))
        dm = ref.find(f"{_DS}DigestMethod")
        dv = ref.find(f"{_DS}DigestValue")
        if dm is None or dv is None:
            raise MalformedSignatureError("a ds:Reference lacks DigestMethod or DigestValue")
        uri = ref.get("URI")
        if uri is None:
            raise MalformedSignatureError("a ds:Reference without URI is not supported")
        refs.append(
            _Ref(
                ref,
                uri,
                ref.get("Type", ""),
                tuple(transforms),
                dm.get("Algorithm", ""),
                (child_text(dv) or ""),
            )
        )
    if not refs:
        raise MalformedSignatureError("SignedInfo has no ds:Reference")
    return refs


def _is_within(el: etree._Element, ancestor: etree._Element) -> bool:
    node: etree._Element | None = el
    while node is not None:
        if node is ancestor:
            return True
        node = node.getparent()
    return False


def _c14n_of(uri: str) -> CanonicalizationMethod:
    try:
        method = CanonicalizationMethod(uri)
    except ValueError:
        raise UnsupportedAlgorithmError(f"unsupported canonicalization {uri!r}") from None
    if method.with_comments:
        # Untrusted XML is parsed without comments (so that what is read is what was signed): a signature
        # over comments cannot be checked against that, and Hacienda's profile never signs them.
        raise UnsupportedAlgorithmError(f"canonicalization with comments ({uri}) is refused")
    return method


def _prefix_list(transform: etree._Element) -> list[str] | None:
    inc = transform.find(f"{{{_EC_NS}}}InclusiveNamespaces")
    if inc is None:
        return None
    return (inc.get("PrefixList") or "").split() or None  # libxml2 understands "#default"


def _reference_octets(
    root: etree._Element, sig: etree._Element, ref: _Ref, target: etree._Element, whole_doc: bool
) -> bytes:
    """Dereference + transforms + canonicalisation of one reference, as bytes to digest."""
    remove: list[etree._Element] = []
    method = CanonicalizationMethod.C14N  # XML-DSig default when the result is a node-set
    prefixes: list[str] | None = None
    n = len(ref.transforms)
    for i, (alg, el) in enumerate(ref.transforms):
        if alg == TransformAlgorithm.ENVELOPED_SIGNATURE.value:
            if _is_within(sig, target) and sig not in remove:
                remove.append(sig)
        elif alg == TransformAlgorithm.XPATH.value:
            xp = el.find(f"{_DS}XPath")
            expr = _WS.sub("", xp.text or "") if xp is not None else ""
            if expr != XPATH_NOT_SIGNATURE.replace(" ", "") or xp is None or xp.nsmap.get("ds") != DS_NS:
                raise UnsupportedAlgorithmError(
                    "only the XPath transform not(ancestor-or-self::ds:Signature) is supported"
                )
            for s in outermost_signatures(target):
                if s not in remove:
                    remove.append(s)
        elif alg in CanonicalizationMethod._value2member_map_:
            if i != n - 1:
                raise UnsupportedAlgorithmError("a canonicalization transform must be the last transform")
            method = _c14n_of(alg)
            prefixes = _prefix_list(el)
        else:
            raise UnsupportedAlgorithmError(f"unsupported transform {alg!r}")
    if target is root and root in remove:  # pragma: no cover - a root cannot be a ds:Signature here
        raise SignatureWrappingError("the reference removes the whole document")
    try:
        with detached(remove):
            if whole_doc:
                return c14n_tree(root.getroottree(), method, prefixes)
            return c14n_element(target, method, prefixes=prefixes)
    except etree.C14NError:
        raise MalformedSignatureError(f"reference {ref.uri!r}: the content cannot be canonicalised") from None
    except UnsupportedC14NError as exc:
        raise UnsupportedAlgorithmError(f"reference {ref.uri!r}: {exc}") from None


def _parse_time(value: str) -> _dt.datetime:
    text = value.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    try:
        moment = _dt.datetime.fromisoformat(text)
    except ValueError:
        raise MalformedSignatureError(f"SigningTime {value!r} is not an xs:dateTime") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=_dt.UTC)
    return moment


def _verify_one(
    root: etree._Element,
    sig: etree._Element,
    ids: dict[str, etree._Element],
    *,
    trust: TrustStore | None,
    require_policy: bool,
    allow_sha1: bool,
    count: int,
) -> VerificationResult:
    signed_info = _required(sig, f"{_DS}SignedInfo", "ds:SignedInfo")
    value_el = _required(sig, f"{_DS}SignatureValue", "ds:SignatureValue")
    cm = _required(signed_info, f"{_DS}CanonicalizationMethod", "CanonicalizationMethod")
    sm = _required(signed_info, f"{_DS}SignatureMethod", "SignatureMethod")
    c14n_method = _c14n_of(cm.get("Algorithm", ""))
    try:
        sig_alg = SignatureAlgorithm(sm.get("Algorithm", ""))
    except ValueError:
        raise UnsupportedAlgorithmError(f"unsupported signature method {sm.get('Algorithm')!r}") from None
    refs = _parse_refs(signed_info)
    if not allow_sha1:
        if sig_alg is SignatureAlgorithm.RSA_SHA1:
            raise UnsupportedAlgorithmError("RSA-SHA1 signatures are refused (Hacienda requires SHA-256/512)")
        if any(r.digest_method == DigestAlgorithm.SHA1.value for r in refs):
            raise UnsupportedAlgorithmError(
                "SHA-1 reference digests are refused (Hacienda requires SHA-256/512)"
            )

    # --- XAdES: QualifyingProperties / SignedProperties, covered by a reference
    qp = None
    for obj in sig.iterchildren(f"{_DS}Object"):
        qp = obj.find(f"{_XA}QualifyingProperties")
        if qp is not None:
            break
    if qp is None:
        raise NotXadesError(
            "La firma del documento no es XAdES: no tiene xades:QualifyingProperties "
            "(es una firma XML-DSig simple)"
        )
    sp = qp.find(f"{_XA}SignedProperties")
    if sp is None:
        raise NotXadesError("La firma del documento no es XAdES: no tiene xades:SignedProperties")
    sig_id = sig.get("Id")
    target_attr = qp.get("Target")
    if sig_id and target_attr and target_attr != f"#{sig_id}":
        raise SignatureWrappingError(
            f"QualifyingProperties Target {target_attr!r} does not name this signature ({sig_id!r})"
        )
    sp_id = next((sp.get(a) for a in _ID_ATTRS if sp.get(a)), None)
    sp_ref = next((r for r in refs if sp_id and r.uri == f"#{sp_id}"), None)
    if sp_ref is None:
        raise NotXadesError(
            "La firma del documento no es XAdES: ninguna referencia de SignedInfo "
            "cubre xades:SignedProperties"
        )
    if sp_ref.type and sp_ref.type != SIGNED_PROPERTIES_TYPE:
        raise MalformedSignatureError(f"the SignedProperties reference has Type {sp_ref.type!r}")

    # --- references: exactly one covers the document; the others point inside this signature
    resolved: list[tuple[_Ref, etree._Element, bool]] = []
    doc_refs = 0
    for ref in refs:
        if ref.uri == "":
            resolved.append((ref, root, True))
            doc_refs += 1
            continue
        if not ref.uri.startswith("#") or ref.uri.startswith("#xpointer("):
            raise SignatureWrappingError(f"reference {ref.uri!r}: only same-document references are accepted")
        target = ids.get(ref.uri[1:])
        if target is None:
            raise SignatureWrappingError(f"reference {ref.uri!r} points to no element of the document")
        if target is root:
            resolved.append((ref, root, False))
            doc_refs += 1
        elif _is_within(target, sig):
            resolved.append((ref, target, False))
        else:
            raise SignatureWrappingError(
                f"reference {ref.uri!r} covers <{etree.QName(target).localname}> only, not the whole document"
            )
    if doc_refs == 0:
        raise SignatureWrappingError("no reference of the signature covers the whole document")
    data_ref = next(r for r, t, whole in resolved if t is root)

    # --- signed signature properties
    ssp = sp.find(f"{_XA}SignedSignatureProperties")
    if ssp is None:
        raise NotXadesError("La firma del documento no es XAdES: no tiene SignedSignatureProperties")
    st_el = ssp.find(f"{_XA}SigningTime")
    signing_time = _parse_time(st_el.text or "") if st_el is not None else None
    policy_id = policy_digest = policy_alg = None
    spi = ssp.find(f"{_XA}SignaturePolicyIdentifier")
    if spi is not None:
        spid = spi.find(f"{_XA}SignaturePolicyId")
        if spid is not None:
            policy_id = child_text(spid.find(f"{_XA}SigPolicyId/{_XA}Identifier"))
            h = spid.find(f"{_XA}SigPolicyHash")
            if h is not None:
                dm = h.find(f"{_DS}DigestMethod")
                policy_alg = dm.get("Algorithm") if dm is not None else None
                policy_digest = child_text(h.find(f"{_DS}DigestValue"))
        elif spi.find(f"{_XA}SignaturePolicyImplied") is not None:
            policy_id = "implied"
    if require_policy and not policy_id:
        raise MissingPolicyError(
            "La firma del documento no tiene el Policy Id (XAdES-BES sin SignaturePolicyIdentifier; "
            "Hacienda exige XAdES-EPES)"
        )
    policy_known, policy_era = match_policy(policy_id, policy_alg, policy_digest)

    # --- certificates: KeyInfo must hold the certificate SigningCertificate names
    key_info = sig.find(f"{_DS}KeyInfo")
    if key_info is None:
        raise MalformedSignatureError("the signature has no ds:KeyInfo with the signer's certificate")
    certs: list[tuple[bytes, x509.Certificate]] = []
    for el in key_info.iterfind(f"{_DS}X509Data/{_DS}X509Certificate"):
        der = _b64decode(el.text or "", "X509Certificate")
        try:
            certs.append((der, x509.load_der_x509_certificate(der)))
        except ValueError:
            raise MalformedSignatureError("an X509Certificate in KeyInfo cannot be parsed") from None
    if not certs:
        raise MalformedSignatureError("KeyInfo carries no X509Certificate")
    sc = ssp.find(f"{_XA}SigningCertificate")
    if sc is None:
        sc = ssp.find(f"{_XA}SigningCertificateV2")
    if sc is None:
        raise NotXadesError("La firma del documento no es XAdES: no tiene SigningCertificate")
    cert_el = sc.find(f"{_XA}Cert")
    cd = cert_el.find(f"{_XA}CertDigest") if cert_el is not None else None
    if cert_el is None or cd is None:
        raise MalformedSignatureError("SigningCertificate has no Cert/CertDigest")
    cd_method = cd.find(f"{_DS}DigestMethod")
    cd_alg = cd_method.get("Algorithm", "") if cd_method is not None else ""
    cd_value = _b64decode(child_text(cd.find(f"{_DS}DigestValue")), "CertDigest")
    signer_cert = None
    for der, cert in certs:
        if hmac.compare_digest(_digest(cd_alg, der), cd_value):
            signer_cert = cert
            break
    if signer_cert is None:
        raise CertificateMismatchError(
            "the SigningCertificate digest matches no certificate in KeyInfo (the certificate was replaced "
            "or the digest is wrong)"
        )
    serial_el = cert_el.find(f"{_XA}IssuerSerial/{_DS}X509SerialNumber")
    if serial_el is not None:
        try:
            serial = int(child_text(serial_el) or "")
        except ValueError:
            raise MalformedSignatureError("X509SerialNumber is not a decimal integer") from None
        if serial != signer_cert.serial_number:
            raise CertificateMismatchError(
                f"SigningCertificate names serial {serial}, the certificate's is {signer_cert.serial_number}"
            )
    public_key = signer_cert.public_key()
    if not isinstance(public_key, rsa.RSAPublicKey):
        raise UnsupportedAlgorithmError("only RSA signer certificates are supported")
    rsa_kv = key_info.find(f"{_DS}KeyValue/{_DS}RSAKeyValue")
    if rsa_kv is not None:
        mod = int.from_bytes(_b64decode(child_text(rsa_kv.find(f"{_DS}Modulus")), "Modulus"), "big")
        exp = int.from_bytes(_b64decode(child_text(rsa_kv.find(f"{_DS}Exponent")), "Exponent"), "big")
        nums = public_key.public_numbers()
        if (mod, exp) != (nums.n, nums.e):
            raise CertificateMismatchError("KeyInfo KeyValue is not the certificate's public key")

    # --- reference digests
    for ref, target, whole in resolved:
        octets = _reference_octets(root, sig, ref, target, whole)
        want = _b64decode(ref.digest_value, "DigestValue")
        if not hmac.compare_digest(_digest(ref.digest_method, octets), want):
            if ref is data_ref:
                msg = (
                    "La firma del comprobante electrónico no es válida (El XML fue modificado luego de haber "
                    "sido firmado): the document digest does not match"
                )
            else:
                msg = (
                    f"the digest of the signed element {ref.uri!r} does not match (it changed after signing)"
                )
            raise DigestMismatchError(msg, reference_uri=ref.uri)

    # --- signature value over SignedInfo
    try:
        si_octets = c14n_element(
            signed_info, c14n_method, with_comments=c14n_method.with_comments, prefixes=_prefix_list(cm)
        )
    except etree.C14NError:
        raise MalformedSignatureError("SignedInfo cannot be canonicalised") from None
    except UnsupportedC14NError as exc:
        raise UnsupportedAlgorithmError(f"SignedInfo: {exc}") from None
    sig_value = _b64decode(value_el.text or "", "SignatureValue")
    try:
        public_key.verify(sig_value, si_octets, padding.PKCS1v15(), sig_alg.digest.hash_algorithm())
    except InvalidSignature:
        raise SignatureValueError(
            f"{INVALID_SIGNATURE}: the SignatureValue does not verify with the certificate's key"
        ) from None

    # --- validity at signing time, trust
    at = signing_time or _dt.datetime.now(_dt.UTC)
    if not (signer_cert.not_valid_before_utc <= at <= signer_cert.not_valid_after_utc):
        raise CertificateNotValidAtSigningTimeError(
            f"the signer's certificate is valid from {signer_cert.not_valid_before_utc.isoformat()} to "
            f"{signer_cert.not_valid_after_utc.isoformat()}, but the signature is dated {at.isoformat()}"
        )
    chain: tuple[x509.Certificate, ...] = ()
    problem: str | None = None
    if trust is not None:
        try:
            chain = trust.build_chain(signer_cert, [c for _, c in certs if c is not signer_cert], at=at)
        except UntrustedCertificateError as exc:
            problem = str(exc)

    serial_attr = signer_cert.subject.get_attributes_for_oid(x509.NameOID.SERIAL_NUMBER)
    cedula = parse_cedula(str(serial_attr[0].value)) if serial_attr else None
    result = VerificationResult(
        signer_subject=format_name(signer_cert.subject),
        signer_cedula=cedula.numero if cedula else None,
        signer_identification_type=cedula.tipo if cedula else None,
        signing_time=signing_time,
        policy_identifier=policy_id,
        policy_digest=policy_digest,
        policy_known=policy_known,
        policy_era=policy_era,
        level="XAdES-EPES" if policy_id else "XAdES-BES",
        style=_style(refs, data_ref, c14n_method, key_info, policy_id),
        canonicalization=c14n_method.value,
        signature_algorithm=sig_alg.value,
        certificate=signer_cert,
        chain=chain,
        trusted=trust is not None and problem is None,
        signature_count=count,
        trust_problem=problem,
    )
    if problem is not None:
        raise SignatureNotTrustedError(f"signature valid but not trusted: {problem}", result=result)
    return result


def _style(
    refs: list[_Ref],
    data_ref: _Ref,
    c14n: CanonicalizationMethod,
    key_info: etree._Element,
    policy_id: str | None,
) -> SignatureStyle:
    algs = [a for a, _ in data_ref.transforms]
    if TransformAlgorithm.XPATH.value in algs:
        return SignatureStyle.ANEXO2 if policy_id else SignatureStyle.HACIENDA_RESPONSE
    ki_id = next((key_info.get(a) for a in _ID_ATTRS if key_info.get(a)), None)
    if ki_id and any(r.uri == f"#{ki_id}" for r in refs) and not c14n.exclusive:
        return SignatureStyle.CRLIBRE
    if c14n.exclusive and TransformAlgorithm.ENVELOPED_SIGNATURE.value in algs:
        return SignatureStyle.EMISOR_V44
    return SignatureStyle.OTHER
