"""The app layer's tests run with the official schemas, like ``make test`` (set even when run alone)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


@pytest.fixture(scope="session", autouse=True)
def _schemas_env(schemas_dir: Path) -> None:
    os.environ.setdefault("CR_EINVOICE_SCHEMAS", str(schemas_dir))
