"""Fixtures for the Hacienda client tests: a fake Hacienda (in memory and on loopback), a fake clock, and
synthetic signed documents."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from hacienda_fakes import FakeClock, FakeHacienda, loopback
from hc_support import PASSWORD, USERNAME, environment_for

from cr_einvoice.hacienda import Credentials, Environment
from cr_einvoice.signing.certs import load_p12
from cr_einvoice.signing.xades import SignatureProfile, Signer, SignerConfig, TrustStore
from cr_einvoice.testing.pki import TestPKI, make_test_pki


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def fake(clock: FakeClock) -> FakeHacienda:
    return FakeHacienda(clock=clock, users={USERNAME: PASSWORD})


@pytest.fixture
def credentials() -> Credentials:
    return Credentials(USERNAME, PASSWORD)  # type: ignore[arg-type]


@pytest.fixture
def mock_env() -> Environment:
    return environment_for("https://hacienda.test")


@pytest.fixture
def loopback_url(fake: FakeHacienda) -> Iterator[str]:
    with loopback(fake) as url:
        yield url


@pytest.fixture(scope="session")
def test_pki(tmp_path_factory: pytest.TempPathFactory) -> TestPKI:
    """TEST certificates (taxpayer and a simulated Hacienda sello) from the signing area's generator."""
    return make_test_pki(tmp_path_factory.mktemp("pki"), rc2=False)


@pytest.fixture(scope="session")
def sello_signer(test_pki: TestPKI) -> Signer:
    """Signs like Hacienda signs its MensajeHacienda (XAdES-BES), with the TEST sello."""
    cred = load_p12(test_pki.sello_p12, test_pki.pin)
    return Signer(cred, SignerConfig(profile=SignatureProfile.HACIENDA_RESPONSE))


@pytest.fixture(scope="session")
def sello_trust(test_pki: TestPKI) -> TrustStore:
    return TrustStore.from_pem_files(test_pki.sello_ca_cert_pem)
