"""Certificate trust for signature verification: configured CA certificates, chain building, validity."""

from __future__ import annotations

import datetime as _dt
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization

from cr_einvoice.core.errors import ConfigError
from cr_einvoice.signing.certs import format_name
from cr_einvoice.signing.xades.errors import CertificateNotValidAtSigningTimeError, UntrustedCertificateError

__all__ = ["TrustStore", "load_certificates"]

_MAX_DEPTH = 8


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
    """

    __slots__ = ("_anchors", "_der", "_intermediates")

    def __init__(
        self, anchors: Iterable[x509.Certificate], intermediates: Iterable[x509.Certificate] = ()
    ) -> None:
        self._anchors = tuple(anchors)
        self._intermediates = tuple(intermediates)
        if not self._anchors:
            raise ConfigError("a TrustStore needs at least one trusted certificate")
        self._der = frozenset(c.public_bytes(serialization.Encoding.DER) for c in self._anchors)

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
                    f"(no trusted issuer for {format_name(current.issuer)})"
                )
            chain.append(issuer)
            current = issuer
        else:
            raise UntrustedCertificateError("certificate chain too long")
        for cert in chain:
            if not _valid_at(cert, when):
                raise CertificateNotValidAtSigningTimeError(
                    f"the certificate {format_name(cert.subject)} (valid "
                    f"{cert.not_valid_before_utc.isoformat()} to {cert.not_valid_after_utc.isoformat()}) "
                    f"was not valid at {when.isoformat()}"
                )
        return tuple(chain)
