"""Fixtures of the signing tests: one TEST PKI per session (RSA key generation is the slow part)."""

from __future__ import annotations

import copy
import datetime as dt
import random
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from lxml import etree

from cr_einvoice.signing.certs import Credential, load_p12
from cr_einvoice.signing.xades import Signer
from cr_einvoice.testing.pki import TestPKI, make_test_pki

DATA = Path(__file__).parent / "data"
GOLDEN = Path(__file__).parent / "golden"


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> TestPKI:
    return make_test_pki(tmp_path_factory.mktemp("pki"), pin="s3cr3t-PIN")


@pytest.fixture(scope="session")
def cred(pki: TestPKI) -> Credential:
    return load_p12(pki.taxpayer_p12, pki.pin)


@pytest.fixture(scope="session")
def sello_cred(pki: TestPKI) -> Credential:
    return load_p12(pki.sello_p12, pki.pin)


@pytest.fixture(scope="session")
def signer(cred: Credential) -> Signer:
    return Signer(cred)


@pytest.fixture(scope="session")
def invoice() -> bytes:
    """A small v4.4-shaped FacturaElectronica (3 lines, accents, escaped characters)."""
    return (DATA / "factura_v44_3lineas.xml").read_bytes()


@pytest.fixture(scope="session")
def invoice_with_lines(invoice: bytes) -> Callable[[int], bytes]:
    """Build the same invoice with ``n`` lines (copies of the first one, renumbered)."""

    def build(n: int) -> bytes:
        root = etree.fromstring(invoice)
        ns = etree.QName(root).namespace
        detalle = root.find(f"{{{ns}}}DetalleServicio")
        assert detalle is not None
        first = detalle[0]
        tail = first.tail
        for line in list(detalle):
            detalle.remove(line)
        for i in range(1, n + 1):
            line = copy.deepcopy(first)
            num = line.find(f"{{{ns}}}NumeroLinea")
            assert num is not None
            num.text = str(i)
            line.tail = tail
            detalle.append(line)
        return etree.tostring(root.getroottree(), xml_declaration=True, encoding="utf-8")

    return build


# --------------------------------------------------------------------------- deterministic TEST key


def _probable_prime(n: int, rng: random.Random) -> bool:
    if n < 2:
        return False
    for p in _SMALL_PRIMES:
        if n % p == 0:
            return n == p
    d, s = n - 1, 0
    while d % 2 == 0:
        d //= 2
        s += 1
    for _ in range(24):
        x = pow(rng.randrange(2, n - 1), d, n)
        if x in (1, n - 1):
            continue
        for _ in range(s - 1):
            x = pow(x, 2, n)
            if x == n - 1:
                break
        else:
            return False
    return True


_SMALL_PRIMES = [p for p in range(3, 2000, 2) if all(p % q for q in range(3, int(p**0.5) + 1, 2))]


def deterministic_rsa_key(seed: str, bits: int = 2048) -> rsa.RSAPrivateKey:
    """An RSA key derived from a public seed: the golden files are byte-for-byte reproducible without a
    committed private key. TEST ONLY -- anyone can rebuild this key from the seed."""
    rng = random.Random(seed)  # deliberately reproducible: never for real keys
    e = 65537
    primes: list[int] = []
    while len(primes) < 2:
        candidate = rng.getrandbits(bits // 2) | (3 << (bits // 2 - 2)) | 1
        if (candidate - 1) % e and _probable_prime(candidate, rng) and candidate not in primes:
            primes.append(candidate)
    p, q = primes
    d = pow(e, -1, (p - 1) * (q - 1))
    numbers = rsa.RSAPrivateNumbers(
        p=p,
        q=q,
        d=d,
        dmp1=rsa.rsa_crt_dmp1(d, p),
        dmq1=rsa.rsa_crt_dmq1(d, q),
        iqmp=rsa.rsa_crt_iqmp(p, q),
        public_numbers=rsa.RSAPublicNumbers(e, p * q),
    )
    return numbers.private_key()


def _self_signed(key: rsa.RSAPrivateKey, subject: x509.Name, serial: int) -> x509.Certificate:
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=365 * 30))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )


@pytest.fixture(scope="session")
def golden_creds() -> tuple[Credential, Credential]:
    """(taxpayer, sello) credentials from seeded keys and fixed certificates: deterministic signatures."""
    key = deterministic_rsa_key("cr-einvoice golden TEST key 1")
    tp = x509.Name(
        [
            x509.NameAttribute(NameOID.SERIAL_NUMBER, "CPJ-3-101-123456"),
            x509.NameAttribute(NameOID.COUNTRY_NAME, "CR"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "PERSONA JURIDICA"),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "CPJ"),
            x509.NameAttribute(NameOID.COMMON_NAME, "GOLDEN TEST, EMPRESA & <CIA>"),
        ]
    )
    sello = x509.Name(
        [
            x509.NameAttribute(NameOID.SERIAL_NUMBER, "CPJ-2-100-042005"),
            x509.NameAttribute(NameOID.COUNTRY_NAME, "CR"),
            x509.NameAttribute(NameOID.COMMON_NAME, "GOLDEN TEST SELLO ELECTRONICO"),
        ]
    )
    return (
        Credential.from_key(key, _self_signed(key, tp, 1531262771989)),
        Credential.from_key(key, _self_signed(key, sello, 1605653657074860149031926172554884987230355991)),
    )
