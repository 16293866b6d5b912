"""Fixtures of the public-data tests: the simulator serving api.hacienda.go.cr's lookups on loopback, a
movable clock, and clients with their own limiter (tests never share the process-wide one)."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from pd_support import Clock, make_client

from cr_einvoice.hacienda.publicdata import PublicDataClient
from cr_einvoice.sandbox import Simulator, SimulatorSettings


@pytest.fixture(scope="session")
def sim(schemas_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Simulator]:
    os.environ.setdefault("CR_EINVOICE_SCHEMAS", str(schemas_dir))
    settings = SimulatorSettings(certs_dir=tmp_path_factory.mktemp("sim-certs"), processing_delay=0.1)
    with Simulator(settings) as simulator:
        yield simulator


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def client(sim: Simulator) -> Iterator[PublicDataClient]:
    with make_client(sim) as c:
        yield c
