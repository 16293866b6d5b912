"""Certificate trust for signature verification: configured CA certificates, chain building, validity.

:func:`hacienda_trust` is the default trust for Hacienda's signed answers: the Costa Rica national PKI
bundled in ``cr_einvoice/signing/trust/`` (public CA certificates, listed with their SHA-256 in
``manifest.json``), the root pinned by :data:`NATIONAL_ROOT_SHA256`, and the leaf required to be Hacienda's
seal (serialNumber ``CPJ-2-100-042005``).
"""

from __future__ import annotations

import datetime as _dt
import functools
import hashlib
import json
import os
from collections.abc import Iterable, Sequence
from importlib import resources
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization

from cr_einvoice.core.errors import ConfigError
from cr_einvoice.signing.certs import HACIENDA_SELLO_CEDULA, format_name
from cr_einvoice.signing.xades.errors import CertificateNotValidAtSigningTimeError, UntrustedCertificateError

__all__ = ["NATIONAL_ROOT_SHA256", "TrustStore", "hacienda_trust", "load_certificates", "national_pki"]

#: SHA-256 of the DER "CA RAIZ NACIONAL - COSTA RICA v2" (2015-2039): the one pinned root.
NATIONAL_ROOT_SHA256 = "fd9ea730948ec25875fd3c4a778815f57f2261f739be898dd720fa2e07ef7c42"

_MAX_DEPTH = 8
#: Chains a TrustStore remembers (a few signers: Hacienda's seal, the taxpayers of one installation).
_MAX_CHAINS = 256


def load_certificates(data: bytes) -> list[x509.Certificate]:
    """Certificates from PEM (one or several) or a single DER certificate."""
    if b"-----BEGIN" in data:
        try:
            return list(x509.load_pem_x509_certificates(data))
        except ValueError as exc:
            raise ConfigError(f"cannot read the PEM certificates: {exc}") from None
    try:
        return [x509.load_der_x509_certificate(data)]
    except ValueError as exc:
        raise ConfigError(f"not a PEM or DER certificate: {exc}") from None


def _is_self_signed(cert: x509.Certificate) -> bool:
    if cert.subject != cert.issuer:
        return False
    try:
        cert.verify_directly_issued_by(cert)
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        bc = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        return True  # v1 roots
    return bool(bc.ca)


def _valid_at(cert: x509.Certificate, when: _dt.datetime) -> bool:
    return cert.not_valid_before_utc <= when <= cert.not_valid_after_utc


class TrustStore:
    """The CA certificates a signer's certificate must chain to.

    ``anchors`` are trusted outright (roots, or a pinned intermediate or leaf); ``intermediates`` only help
    build the chain. :meth:`from_pem_files` sorts a file's certificates: self-signed ones become anchors, the
    rest intermediates (pass ``all_anchors=True`` to pin them all).

    ``leaf_serial_number``, when given, is the subject serialNumber the signer's certificate must carry
    (e.g. Hacienda's seal ``CPJ-2-100-042005``): a certificate that chains but names someone else is not
    trusted.
    """

    __slots__ = ("_anchors", "_chains", "_der", "_intermediates", "leaf_serial_number", "name")

    def __init__(
        self,
        anchors: Iterable[x509.Certificate],
        intermediates: Iterable[x509.Certificate] = (),
        *,
        leaf_serial_number: str | None = None,
        name: str = "",
    ) -> None:
        self._anchors = tuple(anchors)
        self._intermediates = tuple(intermediates)
        if not self._anchors:
            raise ConfigError("a TrustStore needs at least one trusted certificate")
        self._der = frozenset(c.public_bytes(serialization.Encoding.DER) for c in self._anchors)
        self.leaf_serial_number = leaf_serial_number
        #: Chains already built, by the DER of the leaf and of the certificates that came with it: the path
        #: and its issuers' signatures are checked once per certificate (the validity at each signing time,
        #: every time). Bounded: cleared when it holds _MAX_CHAINS.
        self._chains: dict[tuple[bytes, ...], tuple[x509.Certificate, ...]] = {}
        #: What the anchors are, for messages ("the Costa Rica national PKI"); empty: the anchors' names.
        self.name = name

    @classmethod
    def from_pem_files(cls, *paths: str | os.PathLike[str], all_anchors: bool = False) -> TrustStore:
        anchors: list[x509.Certificate] = []
        inter: list[x509.Certificate] = []
        for p in paths:
            path = Path(p)
            try:
                data = path.read_bytes()
            except OSError as exc:
                raise ConfigError(f"cannot read trust certificate file {path}: {exc.strerror}") from None
            for cert in load_certificates(data):
                (anchors if all_anchors or _is_self_signed(cert) else inter).append(cert)
        if not anchors and inter:
            # Only intermediates given: the user pins them.
            anchors, inter = inter, []
        return cls(anchors, inter)

    @classmethod
    def from_pem(cls, data: bytes, *, all_anchors: bool = False) -> TrustStore:
        certs = load_certificates(data)
        anchors = [c for c in certs if all_anchors or _is_self_signed(c)]
        inter = [c for c in certs if c not in anchors]
        return cls(anchors, inter) if anchors else cls(inter)

    @property
    def anchors(self) -> tuple[x509.Certificate, ...]:
        return self._anchors

    def __repr__(self) -> str:
        return f"TrustStore(anchors={[format_name(c.subject) for c in self._anchors]!r})"

    def describe(self) -> str:
        """What this store trusts, for messages."""
        return self.name or ", ".join(format_name(c.subject) for c in self._anchors)

    def build_chain(
        self,
        leaf: x509.Certificate,
        extra: Sequence[x509.Certificate] = (),
        *,
        at: _dt.datetime | None = None,
    ) -> tuple[x509.Certificate, ...]:
        """Chain from ``leaf`` to an anchor (leaf first), each certificate valid at ``at`` (default now).

        Raises :class:`UntrustedCertificateError` when no chain reaches an anchor, and
        :class:`CertificateNotValidAtSigningTimeError` when a certificate of the chain is not valid at ``at``.
        """
        when = at or _dt.datetime.now(_dt.UTC)
        if self.leaf_serial_number is not None:
            serials = [str(a.value) for a in leaf.subject.get_attributes_for_oid(x509.NameOID.SERIAL_NUMBER)]
            if serials != [self.leaf_serial_number]:
                raise UntrustedCertificateError(
                    f"the certificate of {format_name(leaf.subject)} is not the one {self.describe()} "
                    f"accepts here (subject serialNumber {', '.join(serials) or 'missing'}, not "
                    f"{self.leaf_serial_number})"
                )
        der = serialization.Encoding.DER
        key = (leaf.public_bytes(der), *(c.public_bytes(der) for c in extra))
        chain = self._chains.get(key)
        if chain is None:
            chain = self._path(leaf, extra)
            if len(self._chains) >= _MAX_CHAINS:
                self._chains.clear()
            self._chains[key] = chain
        for cert in chain:
            if not _valid_at(cert, when):
                raise CertificateNotValidAtSigningTimeError(
                    f"the certificate {format_name(cert.subject)} (valid "
                    f"{cert.not_valid_before_utc.isoformat()} to {cert.not_valid_after_utc.isoformat()}) "
                    f"was not valid at {when.isoformat()}"
                )
        return chain

    def _path(
        self, leaf: x509.Certificate, extra: Sequence[x509.Certificate]
    ) -> tuple[x509.Certificate, ...]:
        """The issuers from ``leaf`` up to an anchor, each signature checked (UntrustedCertificateError)."""
        pool = [*self._anchors, *self._intermediates, *extra]
        chain = [leaf]
        current = leaf
        for _ in range(_MAX_DEPTH):
            if current.public_bytes(serialization.Encoding.DER) in self._der:
                break
            issuer = None
            for cand in pool:
                if cand.subject != current.issuer or cand is current or not _is_ca(cand):
                    continue
                try:
                    current.verify_directly_issued_by(cand)
                except (InvalidSignature, ValueError, TypeError):
                    continue
                issuer = cand
                break
            if issuer is None:
                raise UntrustedCertificateError(
                    f"the certificate of {format_name(leaf.subject)} does not chain to a trusted CA "
                    f"({self.describe()}; no trusted issuer for {format_name(current.issuer)})"
                )
            chain.append(issuer)
            current = issuer
        else:
            raise UntrustedCertificateError("certificate chain too long")
        return tuple(chain)


_BUNDLE = "trust"


def _bundled(name: str) -> bytes:
    return resources.files("cr_einvoice.signing").joinpath(_BUNDLE, name).read_bytes()


@functools.cache
def national_pki() -> tuple[tuple[x509.Certificate, ...], tuple[x509.Certificate, ...]]:
    """The bundled Costa Rica national PKI: ``(anchors, intermediates)``.

    Every file is checked against the SHA-256 of ``manifest.json`` and the root against
    :data:`NATIONAL_ROOT_SHA256` (a modified bundle raises :class:`ConfigError`).
    """
    manifest = json.loads(_bundled("manifest.json"))
    anchors: list[x509.Certificate] = []
    intermediates: list[x509.Certificate] = []
    for entry in manifest["certificates"]:
        cert = x509.load_pem_x509_certificate(_bundled(str(entry["file"])))
        digest = hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()
        if digest != entry["sha256"]:
            raise ConfigError(f"the bundled certificate {entry['file']} does not match its manifest SHA-256")
        if entry["role"] == "root":
            if digest != NATIONAL_ROOT_SHA256 or not _is_self_signed(cert):
                raise ConfigError(f"the bundled root {entry['file']} is not the pinned national root")
            anchors.append(cert)
        else:
            intermediates.append(cert)
    if len(anchors) != 1:
        raise ConfigError("the bundled national PKI must hold exactly one root")
    return tuple(anchors), tuple(intermediates)


@functools.cache
def hacienda_trust() -> TrustStore:
    """The default trust for Hacienda's answers: the national PKI's pinned root, its bundled intermediates,
    and a leaf that is Hacienda's seal (serialNumber ``CPJ-2-100-042005``)."""
    anchors, intermediates = national_pki()
    return TrustStore(
        anchors,
        intermediates,
        leaf_serial_number=HACIENDA_SELLO_CEDULA,
        name="the Costa Rica national PKI (CA RAIZ NACIONAL - COSTA RICA v2)",
    )
