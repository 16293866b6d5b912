"""Fixtures of the outbox tests: one TEST PKI per session, a signer, a store, an issuer.

``store`` runs each test that takes it on every backend: SQLite (a file) and PostgreSQL (a fresh database on
the session's throwaway server, ``pg_server``). ``store_url`` is the location of that test's store, for a test
that opens more connections to it (other stores, child processes).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from cr_einvoice.outbox.issuing import Issuer, IssuerSettings
from cr_einvoice.outbox.store import Store, open_store
from cr_einvoice.signing.certs import load_p12
from cr_einvoice.signing.xades import Signer
from cr_einvoice.testing.pgserver import PgServer
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


#: The store backends every store-taking test runs on.
BACKENDS = ("sqlite", "postgres")


@pytest.fixture(scope="module", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """The backend of this module's store-taking tests (module-scoped: a module's shared simulator takes it
    too, so the numbers one backend's tests give never meet the other's at the same simulator)."""
    return str(request.param)


@pytest.fixture
def store_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Where this test's store lives: a SQLite file, or a new database on the session's PostgreSQL."""
    if backend == "sqlite":
        return str(tmp_path / "outbox.db")
    server: PgServer = request.getfixturevalue("pg_server")
    return server.create_database()


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    s = open_store(store_url, create=True)
    yield s
    s.close()


@pytest.fixture
def issuer(store: Store, signer: Signer) -> Issuer:
    return Issuer(store, signer, IssuerSettings("02", EMISOR_ID, "Empresa de Pruebas S.A."))
