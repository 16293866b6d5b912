"""Fixtures of the outbox tests: one TEST PKI per session, a signer, a store, an issuer."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from cr_einvoice.outbox.issuing import Issuer, IssuerSettings
from cr_einvoice.outbox.store import SQLiteStore, open_store
from cr_einvoice.signing.certs import load_p12
from cr_einvoice.signing.xades import Signer
from cr_einvoice.testing.pki import TestPKI, make_test_pki

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:  # the crash-test child imports these helpers by file path too
    sys.path.insert(0, str(HERE))

from outbox_docs import CLIENTE_ID, EMISOR_ID  # noqa: E402


@pytest.fixture(scope="session", autouse=True)
def _schemas_env(schemas_dir: Path) -> None:
    os.environ.setdefault("CR_EINVOICE_SCHEMAS", str(schemas_dir))


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> TestPKI:
    return make_test_pki(tmp_path_factory.mktemp("pki"), taxpayer_id=EMISOR_ID)


@pytest.fixture(scope="session")
def supplier_pki(tmp_path_factory: pytest.TempPathFactory) -> TestPKI:
    return make_test_pki(
        tmp_path_factory.mktemp("supplier-pki"),
        taxpayer_id=CLIENTE_ID,
        taxpayer_name="PROVEEDOR DE PRUEBAS SA",
    )


@pytest.fixture(scope="session")
def signer(pki: TestPKI) -> Signer:
    return Signer(load_p12(str(pki.taxpayer_p12), pki.pin))


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SQLiteStore]:
    s = open_store(tmp_path / "outbox.db", create=True)
    yield s
    s.close()


@pytest.fixture
def issuer(store: SQLiteStore, signer: Signer) -> Issuer:
    return Issuer(store, signer, IssuerSettings("02", EMISOR_ID, "Empresa de Pruebas S.A."))
