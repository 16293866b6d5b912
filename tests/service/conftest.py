"""Fixtures of the service tests: one local Hacienda simulator and one running service per module."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from service_support import Service, running_service  # noqa: E402

from cr_einvoice.app.demo import LocalSandbox  # noqa: E402
from cr_einvoice.service.settings import ServiceSettings  # noqa: E402


@pytest.fixture(scope="module")
def box(schemas_dir: Path) -> Iterator[LocalSandbox]:
    os.environ.setdefault("CR_EINVOICE_SCHEMAS", str(schemas_dir))
    with LocalSandbox(processing_delay=0.05) as sandbox:
        yield sandbox


@pytest.fixture(scope="module")
def service(box: LocalSandbox) -> Iterator[Service]:
    # Rate limits are tested on their own: here 200 concurrent requests must all be served.
    settings = ServiceSettings(rate_per_second=1000.0, rate_burst=1000, login_failures_per_minute=1000)
    with running_service(box, settings, poll_initial=0.1, poll_max=1.0) as running:
        yield running
