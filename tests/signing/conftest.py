"""Fixtures of the signing tests: one TEST PKI per session (RSA key generation is the slow part)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path

import pytest
from lxml import etree

from cr_einvoice.certs import Credential, TestPKI, load_p12, make_test_pki
from cr_einvoice.xades import Signer

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
