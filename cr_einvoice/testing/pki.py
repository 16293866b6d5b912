"""TEST certificates for tests, demos and the local Hacienda simulator: :func:`make_test_pki`.

Writes a complete TEST PKI to a directory (also ``cr-einvoice certs make-test DIR``): a taxpayer CA and a
taxpayer ``.p12`` shaped like Hacienda's sandbox keys, the same key in legacy 3DES and RC2-40 encodings, an
expired taxpayer certificate, and a "Hacienda sello" certificate under its own CA for the local Hacienda
simulator. Every file name contains ``TEST``. Never use this material for real vouchers.
"""

from __future__ import annotations

import datetime as _dt
import logging
import os
import secrets
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from cr_einvoice.core.catalogs import TipoIdentificacion
from cr_einvoice.core.identifiers import infer_tipo
from cr_einvoice.signing.certs import HACIENDA_SELLO_CEDULA

__all__ = ["TestPKI", "make_test_pki", "openssl_legacy_available"]

log = logging.getLogger("cr_einvoice.testing")


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
        if len(digits) not in (9, 10, 11, 12):
            raise ValueError(f"cannot infer the identification type of a {len(digits)}-digit id; pass it")
        tipo = infer_tipo(digits)
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


def _key_usage(*, ca: bool) -> x509.KeyUsage:
    """A CA signs certificates and CRLs; a leaf signs documents (digitalSignature, nonRepudiation)."""
    return x509.KeyUsage(
        digital_signature=not ca,
        content_commitment=not ca,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


def _name(*attributes: tuple[x509.ObjectIdentifier, str]) -> x509.Name:
    return x509.Name([x509.NameAttribute(oid, value) for oid, value in attributes])


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
        .add_extension(_key_usage(ca=True), critical=True)
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
        .add_extension(_key_usage(ca=False), critical=True)
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
    ca_name = _name(
        (NameOID.COUNTRY_NAME, "CR"),
        (NameOID.ORGANIZATION_NAME, "MINISTERIO DE HACIENDA - SANDBOX TEST"),
        (NameOID.ORGANIZATIONAL_UNIT_NAME, "DGT"),
        (NameOID.COMMON_NAME, f"CA PERSONA {label} - SANDBOX TEST"),
    )
    ca = _ca_cert(ca_name, ca_key, start - _dt.timedelta(days=365), 3650, secrets.randbelow(10**12) + 10**12)

    tp_key = new_key()
    tp_name = _name(
        (NameOID.SERIAL_NUMBER, serial_attr),
        (NameOID.COUNTRY_NAME, "CR"),
        (NameOID.ORGANIZATION_NAME, ou[1]),
        (NameOID.ORGANIZATIONAL_UNIT_NAME, ou[0]),
        (NameOID.COMMON_NAME, taxpayer_name),
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
    sca_name = _name(
        (NameOID.SERIAL_NUMBER, "CPJ-4-000-004017"),
        (NameOID.COUNTRY_NAME, "CR"),
        (NameOID.ORGANIZATION_NAME, "BANCO CENTRAL DE COSTA RICA"),
        (NameOID.ORGANIZATIONAL_UNIT_NAME, "DIVISION SISTEMAS DE PAGO"),
        (NameOID.COMMON_NAME, "CA SINPE - PERSONA JURIDICA v2 TEST"),
    )
    sca = _ca_cert(sca_name, sca_key, start - _dt.timedelta(days=365), 3650, x509.random_serial_number())
    sello_key = new_key()
    sello_name = _name(
        (NameOID.SERIAL_NUMBER, HACIENDA_SELLO_CEDULA),
        (NameOID.COUNTRY_NAME, "CR"),
        (NameOID.ORGANIZATION_NAME, "PERSONA JURIDICA"),
        (NameOID.COMMON_NAME, "ESTADO-MINISTERIO DE HACIENDA (SELLO ELECTRONICO) TEST"),
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
