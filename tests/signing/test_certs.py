"""Loading .p12 files (modern and legacy encryptions), cédula parsing, errors that never leak the PIN."""

from __future__ import annotations

import datetime as dt
import logging
import pickle
import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import pkcs12

from cr_einvoice.core.catalogs import TipoIdentificacion
from cr_einvoice.core.errors import CertificateError
from cr_einvoice.core.secret import Secret
from cr_einvoice.signing.certs import (
    HACIENDA_SELLO_CEDULA,
    CertificateExpiredError,
    CertificateNotYetValidError,
    Credential,
    NotPKCS12Error,
    UnsupportedKeyError,
    WrongPinError,
    load_p12,
    parse_cedula,
)
from cr_einvoice.testing.pki import TestPKI, make_test_pki

# DER of the algorithm OIDs: pbeWithSHAAnd40BitRC2-CBC and pbeWithSHAAnd3-KeyTripleDES-CBC.
RC2_40_OID = bytes.fromhex("060a2a864886f70d010c0106")
TDES_OID = bytes.fromhex("060a2a864886f70d010c0103")
PBES2_OID = bytes.fromhex("06092a864886f70d01050d")


@pytest.mark.parametrize(
    ("raw", "numero", "tipo"),
    [
        ("CPF-01-0632-0395", "106320395", TipoIdentificacion.CEDULA_FISICA),
        ("CPF-01-1266-0102", "112660102", TipoIdentificacion.CEDULA_FISICA),
        ("CPF-07-0123-0456", "701230456", TipoIdentificacion.CEDULA_FISICA),
        ("CPJ-3-101-123456", "3101123456", TipoIdentificacion.CEDULA_JURIDICA),
        ("CPJ-2-100-042005", "2100042005", TipoIdentificacion.CEDULA_JURIDICA),
        ("NITE-3001234567", "3001234567", TipoIdentificacion.NITE),
        ("DIMEX-155812345678", "155812345678", TipoIdentificacion.DIMEX),
        (" cpj-3-101-682711 ", "3101682711", TipoIdentificacion.CEDULA_JURIDICA),
    ],
)
def test_parse_cedula(raw: str, numero: str, tipo: TipoIdentificacion) -> None:
    ced = parse_cedula(raw)
    assert ced is not None
    assert (ced.numero, ced.tipo, str(ced)) == (numero, tipo, numero)


@pytest.mark.parametrize("raw", ["", "123456789", "PAS-123", "CPJ-", "CPJ-abc"])
def test_parse_cedula_rejects_other_forms(raw: str) -> None:
    assert parse_cedula(raw) is None


def test_taxpayer_p12_subject_like_sandbox(pki: TestPKI, cred: Credential) -> None:
    assert cred.cedula == "3101123456"
    assert cred.identification_type is TipoIdentificacion.CEDULA_JURIDICA
    assert "serialNumber=CPJ-3-101-123456" in cred.subject
    assert "O=PERSONA JURIDICA" in cred.subject and "OU=CPJ" in cred.subject
    assert "SANDBOX TEST" in cred.issuer
    assert cred.not_before < dt.datetime.now(dt.UTC) < cred.not_after
    assert 10**12 <= cred.serial_number < 10**13
    assert cred.private_key.key_size == 2048
    assert len(cred.chain) == 1
    for path in pki.directory.iterdir():
        assert "TEST" in path.name


def test_sello_is_like_hacienda_seal(pki: TestPKI, sello_cred: Credential) -> None:
    assert f"serialNumber={HACIENDA_SELLO_CEDULA}" in sello_cred.subject
    assert "SELLO ELECTRONICO" in sello_cred.subject
    assert sello_cred.cedula == "2100042005"
    assert "CA SINPE - PERSONA JURIDICA v2 TEST" in sello_cred.issuer
    assert sello_cred.serial_number > 10**40  # long serial, rendered in full decimal
    assert pki.sello_ca_cert_pem.read_bytes().startswith(b"-----BEGIN CERTIFICATE-----")


def test_legacy_3des_p12_loads(pki: TestPKI, cred: Credential) -> None:
    data = pki.taxpayer_p12_3des.read_bytes()
    assert TDES_OID in data and PBES2_OID not in data
    legacy = load_p12(data, pki.pin)
    assert legacy.certificate == cred.certificate


def test_legacy_rc2_40_p12_loads(pki: TestPKI, cred: Credential) -> None:
    assert pki.taxpayer_p12_rc2 is not None, "openssl with the legacy provider is needed to write RC2-40"
    data = pki.taxpayer_p12_rc2.read_bytes()
    assert RC2_40_OID in data  # certificates encrypted with pbeWithSHAAnd40BitRC2-CBC
    legacy = load_p12(pki.taxpayer_p12_rc2, Secret(pki.pin))
    assert legacy.certificate == cred.certificate
    assert legacy.private_key.private_numbers() == cred.private_key.private_numbers()


def test_openssl3_without_legacy_refuses_rc2(pki: TestPKI) -> None:
    """What taxpayers hit with PHP/Node/openssl 3: the same file fails without the legacy provider."""
    exe = shutil.which("openssl")
    assert exe is not None and pki.taxpayer_p12_rc2 is not None
    env = {"PATH": "/usr/bin:/bin", "P": pki.pin}
    base = [exe, "pkcs12", "-in", str(pki.taxpayer_p12_rc2), "-passin", "env:P", "-nokeys", "-noout"]
    refused = subprocess.run(base, capture_output=True, env=env, check=False)
    assert refused.returncode != 0
    accepted = subprocess.run([*base, "-legacy"], capture_output=True, env=env, check=False)
    assert accepted.returncode == 0, accepted.stderr


def test_wrong_pin(pki: TestPKI) -> None:
    for path in (pki.taxpayer_p12, pki.taxpayer_p12_3des, pki.taxpayer_p12_rc2):
        assert path is not None
        with pytest.raises(WrongPinError) as info:
            load_p12(path, "0000-wrong-pin")
        assert "0000-wrong-pin" not in str(info.value)
        assert pki.pin not in str(info.value)
        assert isinstance(info.value, CertificateError)


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"not a p12 at all",
        b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
        b"\x30\x03\x02\x01\x05",
    ],
)
def test_not_pkcs12(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "file.p12"
    path.write_bytes(content)
    with pytest.raises(NotPKCS12Error):
        load_p12(path, "1234")


def test_pem_hint_and_missing_file(pki: TestPKI, tmp_path: Path) -> None:
    with pytest.raises(NotPKCS12Error, match="PEM"):
        load_p12(pki.ca_cert_pem, "1234")
    with pytest.raises(CertificateError, match="not found"):
        load_p12(tmp_path / "missing.p12", "1234")


def test_p12_without_key(pki: TestPKI, cred: Credential) -> None:
    data = pkcs12.serialize_key_and_certificates(
        b"x",
        None,
        None,
        [cred.certificate],
        __import__("cryptography").hazmat.primitives.serialization.BestAvailableEncryption(b"1234"),
    )
    with pytest.raises(UnsupportedKeyError):
        load_p12(data, "1234")


def test_expired_certificate(pki: TestPKI) -> None:
    expired = load_p12(pki.expired_p12, pki.pin)
    assert not expired.is_valid_at()
    with pytest.raises(CertificateExpiredError, match="expired"):
        expired.check_valid()
    with pytest.raises(CertificateNotYetValidError):
        expired.check_valid(expired.not_before - dt.timedelta(days=1))
    expired.check_valid(expired.not_before + dt.timedelta(days=1))


def test_repr_and_logs_never_show_pin_or_key(pki: TestPKI, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="cr_einvoice")
    c = load_p12(pki.taxpayer_p12, Secret(pki.pin))
    text = repr(c) + str(c) + caplog.text + repr(c.describe())
    assert pki.pin not in text
    assert "PRIVATE" not in text and str(c.private_key.private_numbers().d) not in text
    assert "3101123456" in repr(c)


def test_credential_pickles(pki: TestPKI, cred: Credential) -> None:
    again = pickle.loads(pickle.dumps(cred))
    assert again.certificate == cred.certificate
    assert again.private_key.private_numbers() == cred.private_key.private_numbers()
    built = Credential.from_key(cred.private_key, cred.certificate)
    again2 = pickle.loads(pickle.dumps(built))
    assert again2.certificate == cred.certificate


def test_mismatched_key_rejected(pki: TestPKI, cred: Credential, sello_cred: Credential) -> None:
    with pytest.raises(UnsupportedKeyError, match="does not belong"):
        Credential.from_key(sello_cred.private_key, cred.certificate)


@pytest.mark.parametrize(
    ("taxpayer_id", "serial", "tipo"),
    [
        ("106320395", "CPF-01-0632-0395", TipoIdentificacion.CEDULA_FISICA),
        ("155812345678", "DIMEX-155812345678", TipoIdentificacion.DIMEX),
    ],
)
def test_make_test_pki_other_ids(
    tmp_path: Path, taxpayer_id: str, serial: str, tipo: TipoIdentificacion
) -> None:
    pki = make_test_pki(tmp_path, taxpayer_id=taxpayer_id, pin="9999", rc2=False, key_size=1024)
    assert pki.taxpayer_p12_rc2 is None
    assert pki.taxpayer_serial == serial
    c = load_p12(pki.taxpayer_p12, "9999")
    assert (c.cedula, c.identification_type) == (taxpayer_id, tipo)
    assert oct(pki.taxpayer_p12.stat().st_mode & 0o777) == "0o600"
