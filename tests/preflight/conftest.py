"""Fixtures of the preflight tests: a TEST PKI, the voucher factory, running simulators."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from cr_einvoice.sandbox import Simulator, SimulatorSettings
from cr_einvoice.signing.certs import Credential, load_p12
from cr_einvoice.testing.pki import TestPKI, make_test_pki

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from preflight_helpers import EMISOR, PASSWORD, USER, Factory, Hacienda  # noqa: E402


@pytest.fixture(scope="session", autouse=True)
def _schemas_env(schemas_dir: Path) -> None:
    os.environ.setdefault("CR_EINVOICE_SCHEMAS", str(schemas_dir))


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> TestPKI:
    return make_test_pki(tmp_path_factory.mktemp("preflight-pki"), taxpayer_id=EMISOR, rc2=False)


@pytest.fixture(scope="session")
def credential(pki: TestPKI) -> Credential:
    return load_p12(pki.taxpayer_p12, pki.pin)


@pytest.fixture(scope="session")
def factory(credential: Credential, pki: TestPKI) -> Factory:
    return Factory(credential, pki)


@pytest.fixture(scope="session")
def sello(pki: TestPKI) -> Credential:
    return load_p12(pki.sello_p12, pki.pin)


@pytest.fixture(scope="session")
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=httpx.Timeout(10.0)) as client:
        yield client


@pytest.fixture
def make_hacienda(sello: Credential, http: httpx.Client) -> Iterator[Callable[..., Hacienda]]:
    started: list[Simulator] = []

    def start(**overrides: Any) -> Hacienda:
        values: dict[str, Any] = {
            "users": {USER: PASSWORD},
            "processing_delay": 0.05,
            "sello_credential": sello,
        }
        values.update(overrides)
        sim = Simulator(SimulatorSettings(**values))
        sim.__enter__()
        started.append(sim)
        return Hacienda(sim, http)

    yield start
    for sim in started:
        sim.stop()


@pytest.fixture
def hacienda(make_hacienda: Callable[..., Hacienda]) -> Hacienda:
    return make_hacienda()
