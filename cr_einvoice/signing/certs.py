"""Signing credentials: the taxpayer's ``.p12`` from ATV, and generated TEST material.

:func:`load_p12` reads a PKCS#12 file (the "llave criptográfica" a taxpayer downloads from ATV, or a Firma
Digital export) with its PIN, including the legacy encryptions (RC2-40, 3DES with a SHA-1 MAC) that
OpenSSL 3's command-line tools refuse: ``cryptography``'s bundled OpenSSL loads them. It returns a
:class:`Credential`, loaded once and reused for every signature. Neither the PIN nor the key ever
appears in a repr, an error or a log line.

:func:`make_test_pki` writes a complete TEST PKI to a directory (also ``cr-einvoice certs make-test DIR``):
a taxpayer CA and a taxpayer ``.p12`` shaped like Hacienda's sandbox keys, the same key in legacy 3DES and
RC2-40 encodings, an expired taxpayer certificate, and a "Hacienda sello" certificate under its own CA for the
local Hacienda simulator. Every file name contains ``TEST``.
"""

from __future__ import annotations

import datetime as _dt
import logging
import os
import re
import secrets
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from cr_einvoice.core.catalogs import TipoIdentificacion
from cr_einvoice.core.errors import CertificateError
from cr_einvoice.core.secret import Secret

__all__ = [
    "HACIENDA_SELLO_CEDULA",
    "Cedula",
    "CertificateExpiredError",
    "CertificateNotYetValidError",
    "CertificateValidityError",
    "Credential",
    "NotPKCS12Error",
    "TestPKI",
    "UnsupportedKeyError",
    "WrongPinError",
    "format_name",
    "load_p12",
    "make_test_pki",
    "parse_cedula",
]

log = logging.getLogger("cr_einvoice.signing")

#: The serialNumber of Hacienda's "SELLO ELECTRONICO" certificate, which signs every MensajeHacienda.
HACIENDA_SELLO_CEDULA = "CPJ-2-100-042005"


class WrongPinError(CertificateError):
    """The file is PKCS#12, but the PIN does not open it."""


class NotPKCS12Error(CertificateError):
    """The file is not a PKCS#12 (.p12/.pfx) container."""


class UnsupportedKeyError(CertificateError):
    """The .p12 holds no private key or certificate, or a key type other than RSA."""


class CertificateValidityError(CertificateError):
    """The certificate is outside its validity period at the time of use."""


class CertificateExpiredError(CertificateValidityError):
    """The certificate has expired (signing refuses unless explicitly allowed)."""


class CertificateNotYetValidError(CertificateValidityError):
    """The certificate's validity period has not started yet."""


# --------------------------------------------------------------------------------------------- cédula


@dataclass(frozen=True, slots=True)
class Cedula:
    """An identification read from a certificate's serialNumber attribute.

    ``numero`` holds the digits only (``3101123456``); ``tipo`` the Hacienda identification type;
    ``raw`` the attribute as written (``CPJ-3-101-123456``).
    """

    numero: str
    tipo: TipoIdentificacion
    raw: str

    def __str__(self) -> str:
        return self.numero


_CEDULA_PREFIXES: dict[str, TipoIdentificacion] = {
    "CPF": TipoIdentificacion.CEDULA_FISICA,
    "CPJ": TipoIdentificacion.CEDULA_JURIDICA,
    "NITE": TipoIdentificacion.NITE,
    "DIMEX": TipoIdentificacion.DIMEX,
    "DIDI": TipoIdentificacion.DIMEX,
}
_CEDULA_RE = re.compile(r"^\s*([A-Za-z]+)\s*-?\s*([0-9][0-9 \-]*[0-9])\s*$")


def parse_cedula(serial_number: str) -> Cedula | None:
    """Parse ``CPF-01-0632-0395``, ``CPJ-3-101-123456``, ``NITE-…``, ``DIMEX-…`` into a :class:`Cedula`.

    A physical person's cédula is normalised to Hacienda's 9 digits (``CPF-01-0632-0395`` → ``106320395``:
    the province digit and two 4-digit groups, leading zeros of each group kept). Returns None when the value
    has none of these forms.
    """
    m = _CEDULA_RE.match(serial_number)
    if not m:
        return None
    prefix = m.group(1).upper()
    tipo = _CEDULA_PREFIXES.get(prefix)
    if tipo is None:
        return None
    groups = [g for g in re.split(r"[ \-]+", m.group(2)) if g]
    if tipo is TipoIdentificacion.CEDULA_FISICA and len(groups) == 3:
        # CPF-0P-TTTT-AAAA: province (written with a leading zero) + tomo + asiento = 9 digits.
        numero = str(int(groups[0])) + groups[1].zfill(4) + groups[2].zfill(4)
    else:
        numero = "".join(groups)
    return Cedula(numero=numero, tipo=tipo, raw=serial_number.strip())


_NAME_OVERRIDES = {
    NameOID.SERIAL_NUMBER: "serialNumber",
    NameOID.GIVEN_NAME: "GN",
    NameOID.SURNAME: "SN",
}


def format_name(name: x509.Name) -> str:
    """RFC 4514 rendering (most specific RDN first) with ``serialNumber`` spelled out."""
    return name.rfc4514_string(_NAME_OVERRIDES)


def _name_serial(name: x509.Name) -> str | None:
    attrs = name.get_attributes_for_oid(NameOID.SERIAL_NUMBER)
    if not attrs:
        return None
    value = attrs[0].value
    return value if isinstance(value, str) else value.decode("utf-8", "replace")


# ------------------------------------------------------------------------------------------ credential


def _utc(value: _dt.datetime) -> _dt.datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=_dt.UTC)


class Credential:
    """A signing key with its certificate. Load once (:func:`load_p12`), sign many times.

    The private key is held in memory only; ``repr`` shows the subject, the cédula and the validity, never
    the key or the PIN. A Credential pickles (for worker processes) as the original ``.p12`` bytes and PIN,
    or as the key's DER when it was built from key objects: do not persist pickles.
    """

    __slots__ = ("_cedula", "_chain", "_key", "_origin", "certificate")

    certificate: x509.Certificate

    def __init__(
        self,
        private_key: rsa.RSAPrivateKey,
        certificate: x509.Certificate,
        chain: tuple[x509.Certificate, ...] = (),
        *,
        _origin: tuple[bytes, Secret] | None = None,
    ) -> None:
        if not isinstance(private_key, rsa.RSAPrivateKey):
            raise UnsupportedKeyError(
                "only RSA keys are supported (Hacienda requires RSA 2048/4096), "
                f"got {type(private_key).__name__}"
            )
        cert_key = certificate.public_key()
        if (
            not isinstance(cert_key, rsa.RSAPublicKey)
            or private_key.public_key().public_numbers() != cert_key.public_numbers()
        ):
            raise UnsupportedKeyError("the private key does not belong to the certificate")
        self._key = private_key
        self.certificate = certificate
        self._chain = tuple(chain)
        self._origin = _origin
        serial = _name_serial(certificate.subject)
        self._cedula = parse_cedula(serial) if serial else None

    @classmethod
    def from_key(
        cls,
        private_key: rsa.RSAPrivateKey,
        certificate: x509.Certificate,
        chain: tuple[x509.Certificate, ...] = (),
    ) -> Credential:
        """Build a credential from key and certificate objects (for HSM-less tests and tools)."""
        return cls(private_key, certificate, chain)

    # -- identity
    @property
    def private_key(self) -> rsa.RSAPrivateKey:
        """The RSA key object (its repr shows no key material). Used by the signer."""
        return self._key

    @property
    def chain(self) -> tuple[x509.Certificate, ...]:
        """Other certificates found in the .p12 (issuer CAs), possibly empty."""
        return self._chain

    @property
    def subject(self) -> str:
        return format_name(self.certificate.subject)

    @property
    def issuer(self) -> str:
        return format_name(self.certificate.issuer)

    @property
    def cedula(self) -> str | None:
        """The identification digits from the subject's serialNumber (``3101123456``), or None."""
        return self._cedula.numero if self._cedula else None

    @property
    def identification_type(self) -> TipoIdentificacion | None:
        return self._cedula.tipo if self._cedula else None

    @property
    def cedula_info(self) -> Cedula | None:
        return self._cedula

    @property
    def serial_number(self) -> int:
        return int(self.certificate.serial_number)

    @property
    def not_before(self) -> _dt.datetime:
        return _utc(self.certificate.not_valid_before_utc)

    @property
    def not_after(self) -> _dt.datetime:
        return _utc(self.certificate.not_valid_after_utc)

    def is_valid_at(self, when: _dt.datetime | None = None) -> bool:
        moment = _utc(when) if when is not None else _dt.datetime.now(_dt.UTC)
        return self.not_before <= moment <= self.not_after

    def check_valid(self, when: _dt.datetime | None = None) -> None:
        """Raise :class:`CertificateExpiredError` / :class:`CertificateNotYetValidError` if not valid."""
        moment = _utc(when) if when is not None else _dt.datetime.now(_dt.UTC)
        if moment > self.not_after:
            raise CertificateExpiredError(
                f"the certificate of {self.subject} expired on {self.not_after.isoformat()}; get a new key "
                "from ATV (or pass allow_expired=True to sign anyway)"
            )
        if moment < self.not_before:
            raise CertificateNotYetValidError(
                f"the certificate of {self.subject} is valid only from {self.not_before.isoformat()}"
            )

    def describe(self) -> dict[str, Any]:
        """A JSON-ready summary (no secret material)."""
        return {
            "subject": self.subject,
            "issuer": self.issuer,
            "cedula": self.cedula,
            "identification_type": self.identification_type.value if self.identification_type else None,
            "serial_number": str(self.serial_number),
            "not_before": self.not_before.isoformat(),
            "not_after": self.not_after.isoformat(),
            "valid_now": self.is_valid_at(),
            "key_size": self._key.key_size,
            "chain": [format_name(c.subject) for c in self._chain],
        }

    def __repr__(self) -> str:
        return (
            f"Credential(subject={self.subject!r}, cedula={self.cedula!r}, "
            f"not_after={self.not_after.isoformat()!r})"
        )

    def __reduce__(self) -> tuple[Any, ...]:
        if self._origin is not None:
            return (_rebuild_from_p12, self._origin)
        key_der = self._key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        certs = tuple(c.public_bytes(serialization.Encoding.DER) for c in (self.certificate, *self._chain))
        return (_rebuild_from_der, (key_der, certs))


def _rebuild_from_p12(data: bytes, pin: Secret) -> Credential:
    return load_p12(data, pin)


def _rebuild_from_der(key_der: bytes, certs: tuple[bytes, ...]) -> Credential:
    key = serialization.load_der_private_key(key_der, password=None)
    loaded = [x509.load_der_x509_certificate(c) for c in certs]
    assert isinstance(key, rsa.RSAPrivateKey)
    return Credential(key, loaded[0], tuple(loaded[1:]))


# ------------------------------------------------------------------------------------------- load_p12


def _looks_like_pkcs12(data: bytes) -> bool:
    """True when ``data`` starts like a DER PFX: SEQUENCE { INTEGER 3, ContentInfo { OID … } }."""
    try:
        tag, _, body_start, _ = _der_header(data, 0)
        if tag != 0x30:
            return False
        tag, length, start, _ = _der_header(data, body_start)
        if tag != 0x02 or data[start : start + length] != b"\x03":
            return False
        tag, _, start, _ = _der_header(data, start + length)
        if tag != 0x30:
            return False
        tag, _, _, _ = _der_header(data, start)
        return tag == 0x06
    except (IndexError, ValueError):
        return False


def _der_header(data: bytes, pos: int) -> tuple[int, int, int, int]:
    """(tag, length, content start, content end) of the DER TLV at ``pos``."""
    tag = data[pos]
    first = data[pos + 1]
    if first < 0x80:
        return tag, first, pos + 2, pos + 2 + first
    n = first & 0x7F
    if n == 0 or n > 4:
        raise ValueError("unsupported DER length")
    length = int.from_bytes(data[pos + 2 : pos + 2 + n], "big")
    start = pos + 2 + n
    return tag, length, start, start + length


def load_p12(source: str | os.PathLike[str] | bytes, pin: str | Secret) -> Credential:
    """Load a taxpayer's PKCS#12 file (path or bytes) with its PIN.

    Accepts modern (AES/PBKDF2) and legacy (RC2-40, 3DES, SHA-1 MAC) encryptions. Raises
    :class:`NotPKCS12Error`, :class:`WrongPinError` or :class:`UnsupportedKeyError` (all
    :class:`~cr_einvoice.core.errors.CertificateError`); messages never contain the PIN. Validity is not
    checked
    here (an expired key can still be inspected): the signer refuses to use it.
    """
    secret = Secret.coerce(pin)
    what = "the PKCS#12 data"
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
    else:
        path = Path(source)
        what = str(path)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise CertificateError(f"{what}: file not found") from None
        except OSError as exc:
            raise CertificateError(f"{what}: cannot read ({exc.strerror})") from None
    if not _looks_like_pkcs12(data):
        hint = (
            " (it looks like PEM text; a .p12 is binary)" if data.lstrip().startswith(b"-----BEGIN") else ""
        )
        raise NotPKCS12Error(f"{what} is not a PKCS#12 (.p12) file{hint}")
    try:
        loaded = pkcs12.load_pkcs12(data, secret.reveal().encode("utf-8"))
    except ValueError:
        raise WrongPinError(
            f"the PIN does not open {what} (wrong PIN, or a damaged file); the PIN is the one chosen "
            "when the key was generated in ATV"
        ) from None
    except Exception as exc:  # unsupported algorithm in a system OpenSSL without the legacy provider
        raise CertificateError(
            f"cannot decrypt {what}: {type(exc).__name__}. If it uses legacy RC2/3DES encryption and this "
            "cryptography build lacks the legacy provider, re-export it with 'openssl pkcs12 -legacy'"
        ) from None
    if loaded.key is None or loaded.cert is None:
        raise UnsupportedKeyError(f"{what} does not contain both a private key and its certificate")
    key = loaded.key
    if not isinstance(key, rsa.RSAPrivateKey):
        raise UnsupportedKeyError(f"{what} holds a {type(key).__name__}; Hacienda requires RSA keys")
    chain = tuple(c.certificate for c in loaded.additional_certs)
    cred = Credential(key, loaded.cert.certificate, chain, _origin=(data, secret))
    log.debug("loaded credential %s (cedula %s)", cred.subject, cred.cedula)
    return cred


# ------------------------------------------------------------------------------------------- test PKI


@dataclass(frozen=True, slots=True)
class TestPKI:
    """Paths of the TEST material written by :func:`make_test_pki` (all files names contain ``TEST``)."""

    __test__ = False  # not a pytest test class

    directory: Path
    pin: str
    taxpayer_id: str
    taxpayer_serial: str
    ca_cert_pem: Path
    taxpayer_p12: Path
    taxpayer_cert_pem: Path
    taxpayer_p12_3des: Path
    taxpayer_p12_rc2: Path | None
    expired_p12: Path
    sello_ca_cert_pem: Path
    sello_p12: Path
    sello_cert_pem: Path


def _serial_attr_for(taxpayer_id: str, tipo: TipoIdentificacion | None) -> tuple[str, TipoIdentificacion]:
    digits = taxpayer_id.strip()
    if not digits.isdigit():
        raise ValueError(f"taxpayer_id must be digits only, got {taxpayer_id!r}")
    if tipo is None:
        if len(digits) == 9:
            tipo = TipoIdentificacion.CEDULA_FISICA
        elif len(digits) == 10:
            tipo = TipoIdentificacion.CEDULA_JURIDICA
        elif len(digits) in (11, 12):
            tipo = TipoIdentificacion.DIMEX
        else:
            raise ValueError(f"cannot infer the identification type of a {len(digits)}-digit id; pass it")
    if tipo is TipoIdentificacion.CEDULA_FISICA and len(digits) == 9:
        return f"CPF-0{digits[0]}-{digits[1:5]}-{digits[5:]}", tipo
    if tipo is TipoIdentificacion.CEDULA_JURIDICA and len(digits) == 10:
        return f"CPJ-{digits[0]}-{digits[1:4]}-{digits[4:]}", tipo
    if tipo is TipoIdentificacion.NITE:
        return f"NITE-{digits}", tipo
    if tipo is TipoIdentificacion.DIMEX:
        return f"DIMEX-{digits}", tipo
    if tipo is TipoIdentificacion.CEDULA_JURIDICA:
        return f"CPJ-{digits}", tipo
    return f"CPF-{digits}", tipo


def _ca_cert(
    name: x509.Name, key: rsa.RSAPrivateKey, start: _dt.datetime, days: int, serial: int
) -> x509.Certificate:
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(start)
        .not_valid_after(start + _dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=1), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ski, critical=False)
        .sign(key, hashes.SHA256())
    )


def _leaf_cert(  # noqa: PLR0917
    subject: x509.Name,
    public_key: rsa.RSAPublicKey,
    ca_cert: x509.Certificate,
    ca_key: rsa.RSAPrivateKey,
    start: _dt.datetime,
    end: _dt.datetime,
    serial: int,
) -> x509.Certificate:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca_cert.subject)
        .public_key(public_key)
        .serial_number(serial)
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )


def _p12(  # noqa: PLR0917
    name: str,
    key: rsa.RSAPrivateKey,
    cert: x509.Certificate,
    cas: list[x509.Certificate],
    pin: str,
    pbes: pkcs12.PBES,
) -> bytes:
    legacy_mac = hashes.SHA1()  # noqa: S303 - the SHA-1 MAC of the legacy layout ATV files use
    encryption = (
        serialization.PrivateFormat.PKCS12.encryption_builder()
        .kdf_rounds(2048 if pbes is pkcs12.PBES.PBESv1SHA1And3KeyTripleDESCBC else 20000)
        .key_cert_algorithm(pbes)
        .hmac_hash(legacy_mac if pbes is pkcs12.PBES.PBESv1SHA1And3KeyTripleDESCBC else hashes.SHA256())
        .build(pin.encode("utf-8"))
    )
    return pkcs12.serialize_key_and_certificates(name.encode("utf-8"), key, cert, cas, encryption)


def _write(path: Path, data: bytes, *, private: bool = False) -> Path:
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    tmp.replace(path)
    return path


def openssl_legacy_available() -> bool:
    """True when an ``openssl`` command with the legacy provider (RC2-40) is on PATH."""
    exe = shutil.which("openssl")
    if exe is None:
        return False
    try:
        res = subprocess.run(
            [exe, "list", "-providers", "-provider", "legacy"], capture_output=True, timeout=20, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return res.returncode == 0 and b"legacy" in res.stdout.lower()


def _rc2_p12_with_openssl(  # noqa: PLR0917
    key: rsa.RSAPrivateKey,
    cert: x509.Certificate,
    cas: list[x509.Certificate],
    pin: str,
    name: str,
    out: Path,
) -> bool:
    """Write an RC2-40 (certificates) + 3DES (key) + SHA-1 MAC PKCS#12, the classic legacy layout.

    ``cryptography`` cannot write RC2-40 (its RC2 only takes 128-bit keys), so this uses the ``openssl``
    command with its legacy provider; the key travels over a pipe, never through a file. Returns False when
    no such openssl is available.
    """
    exe = shutil.which("openssl")
    if exe is None or not openssl_legacy_available():
        return False
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ) + b"".join(c.public_bytes(serialization.Encoding.PEM) for c in (cert, *cas))
    env_name = "CR_EINVOICE_TEST_P12_PIN"
    env = {**os.environ, env_name: pin}
    tmp = out.with_name(out.name + ".tmp")
    res = subprocess.run(
        [
            exe,
            "pkcs12",
            "-export",
            "-legacy",
            "-certpbe",
            "PBE-SHA1-RC2-40",
            "-keypbe",
            "PBE-SHA1-3DES",
            "-macalg",
            "sha1",
            "-name",
            name,
            "-passout",
            f"env:{env_name}",
            "-out",
            str(tmp),
        ],
        input=pem,
        capture_output=True,
        env=env,
        timeout=60,
        check=False,
    )
    if res.returncode != 0 or not tmp.is_file():
        tmp.unlink(missing_ok=True)
        log.warning("openssl could not write the RC2-40 test .p12 (exit %s)", res.returncode)
        return False
    os.chmod(tmp, 0o644)
    tmp.replace(out)
    return True


def make_test_pki(
    directory: str | os.PathLike[str],
    *,
    pin: str = "1234",
    taxpayer_id: str = "3101123456",
    taxpayer_type: TipoIdentificacion | None = None,
    taxpayer_name: str = "EMPRESA DE PRUEBAS SOCIEDAD ANONIMA",
    valid_days: int = 730,
    now: _dt.datetime | None = None,
    key_size: int = 2048,
    rc2: bool = True,
) -> TestPKI:
    """Generate TEST certificates and ``.p12`` files in ``directory`` (created if needed).

    Writes (``<id>`` is ``taxpayer_id``):

    - ``TEST-ca-contribuyentes.pem``: the taxpayer TEST CA (like "CA PERSONA JURIDICA - SANDBOX");
    - ``TEST-contribuyente-<id>.p12`` (AES-256/PBKDF2), ``…-3des.p12`` (legacy 3DES, SHA-1 MAC) and
      ``…-rc2-40.p12`` (legacy RC2-40 certificates + 3DES key; only when an ``openssl`` with the legacy
      provider is installed, else ``taxpayer_p12_rc2`` is None), all with ``pin``, plus the certificate as
      ``TEST-contribuyente-<id>.pem``. Subject like Hacienda's sandbox keys:
      ``CN=<name>,OU=CPJ,O=PERSONA JURIDICA,C=CR,serialNumber=CPJ-3-101-123456``;
    - ``TEST-contribuyente-<id>-vencido.p12``: the same key with a certificate that expired yesterday;
    - ``TEST-ca-sello-hacienda.pem``, ``TEST-sello-hacienda.p12`` and ``TEST-sello-hacienda.pem``: a
      "Hacienda sello" (serialNumber=CPJ-2-100-042005) under its own TEST CA, for the local simulator.

    Private keys are written only inside the ``.p12`` files (mode 0600); the CA keys are discarded.
    """
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    start = (now or _dt.datetime.now(_dt.UTC)).astimezone(_dt.UTC).replace(microsecond=0)
    start = start - _dt.timedelta(days=1)
    serial_attr, tipo = _serial_attr_for(taxpayer_id, taxpayer_type)
    ou = {
        TipoIdentificacion.CEDULA_FISICA: ("CPF", "PERSONA FISICA"),
        TipoIdentificacion.CEDULA_JURIDICA: ("CPJ", "PERSONA JURIDICA"),
    }.get(tipo, ("DIMEX" if tipo is TipoIdentificacion.DIMEX else "NITE", "PERSONA FISICA"))
    label = "JURIDICA" if tipo is TipoIdentificacion.CEDULA_JURIDICA else "FISICA"

    def new_key() -> rsa.RSAPrivateKey:
        return rsa.generate_private_key(public_exponent=65537, key_size=key_size)

    # Taxpayer TEST CA, shaped like Hacienda's sandbox issuer.
    ca_key = new_key()
    ca_name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "CR"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "MINISTERIO DE HACIENDA - SANDBOX TEST"),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "DGT"),
            x509.NameAttribute(NameOID.COMMON_NAME, f"CA PERSONA {label} - SANDBOX TEST"),
        ]
    )
    ca = _ca_cert(ca_name, ca_key, start - _dt.timedelta(days=365), 3650, secrets.randbelow(10**12) + 10**12)

    tp_key = new_key()
    tp_name = x509.Name(
        [
            x509.NameAttribute(NameOID.SERIAL_NUMBER, serial_attr),
            x509.NameAttribute(NameOID.COUNTRY_NAME, "CR"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, ou[1]),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, ou[0]),
            x509.NameAttribute(NameOID.COMMON_NAME, taxpayer_name),
        ]
    )
    tp_cert = _leaf_cert(
        tp_name,
        tp_key.public_key(),
        ca,
        ca_key,
        start,
        start + _dt.timedelta(days=valid_days),
        secrets.randbelow(9 * 10**12) + 10**12,  # ~13 decimal digits like ATV keys
    )
    expired_cert = _leaf_cert(
        tp_name,
        tp_key.public_key(),
        ca,
        ca_key,
        start - _dt.timedelta(days=valid_days + 1),
        start,
        secrets.randbelow(9 * 10**12) + 10**12,
    )

    # Hacienda "sello" under its own TEST CA, shaped like CA SINPE - PERSONA JURIDICA v2.
    sca_key = new_key()
    sca_name = x509.Name(
        [
            x509.NameAttribute(NameOID.SERIAL_NUMBER, "CPJ-4-000-004017"),
            x509.NameAttribute(NameOID.COUNTRY_NAME, "CR"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "BANCO CENTRAL DE COSTA RICA"),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "DIVISION SISTEMAS DE PAGO"),
            x509.NameAttribute(NameOID.COMMON_NAME, "CA SINPE - PERSONA JURIDICA v2 TEST"),
        ]
    )
    sca = _ca_cert(sca_name, sca_key, start - _dt.timedelta(days=365), 3650, x509.random_serial_number())
    sello_key = new_key()
    sello_name = x509.Name(
        [
            x509.NameAttribute(NameOID.SERIAL_NUMBER, HACIENDA_SELLO_CEDULA),
            x509.NameAttribute(NameOID.COUNTRY_NAME, "CR"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "PERSONA JURIDICA"),
            x509.NameAttribute(NameOID.COMMON_NAME, "ESTADO-MINISTERIO DE HACIENDA (SELLO ELECTRONICO) TEST"),
        ]
    )
    sello_cert = _leaf_cert(
        sello_name,
        sello_key.public_key(),
        sca,
        sca_key,
        start,
        start + _dt.timedelta(days=max(valid_days, 1460)),
        x509.random_serial_number(),  # long, like the real seal's 46-digit serial
    )

    pem = serialization.Encoding.PEM
    ca_path = _write(out / "TEST-ca-contribuyentes.pem", ca.public_bytes(pem))
    base = f"TEST-contribuyente-{taxpayer_id}"
    friendly = f"TEST {taxpayer_id}"
    aes = pkcs12.PBES.PBESv2SHA256AndAES256CBC
    tdes = pkcs12.PBES.PBESv1SHA1And3KeyTripleDESCBC
    tp_p12 = _write(out / f"{base}.p12", _p12(friendly, tp_key, tp_cert, [ca], pin, aes), private=True)
    tp_pem = _write(out / f"{base}.pem", tp_cert.public_bytes(pem))
    tp_3des = _write(out / f"{base}-3des.p12", _p12(friendly, tp_key, tp_cert, [ca], pin, tdes), private=True)
    rc2_path: Path | None = out / f"{base}-rc2-40.p12"
    assert rc2_path is not None
    if not (rc2 and _rc2_p12_with_openssl(tp_key, tp_cert, [ca], pin, friendly, rc2_path)):
        rc2_path = None
    expired = _write(
        out / f"{base}-vencido.p12", _p12(friendly, tp_key, expired_cert, [ca], pin, aes), private=True
    )
    sca_path = _write(out / "TEST-ca-sello-hacienda.pem", sca.public_bytes(pem))
    sello_p12 = _write(
        out / "TEST-sello-hacienda.p12",
        _p12("TEST sello Hacienda", sello_key, sello_cert, [sca], pin, aes),
        private=True,
    )
    sello_pem = _write(out / "TEST-sello-hacienda.pem", sello_cert.public_bytes(pem))
    return TestPKI(
        directory=out,
        pin=pin,
        taxpayer_id=taxpayer_id,
        taxpayer_serial=serial_attr,
        ca_cert_pem=ca_path,
        taxpayer_p12=tp_p12,
        taxpayer_cert_pem=tp_pem,
        taxpayer_p12_3des=tp_3des,
        taxpayer_p12_rc2=rc2_path,
        expired_p12=expired,
        sello_ca_cert_pem=sca_path,
        sello_p12=sello_p12,
        sello_cert_pem=sello_pem,
    )
