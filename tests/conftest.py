"""Fixtures shared by every test area: where ../shared is. Missing material fails loudly, never skips."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from cr_einvoice.testing.pgserver import PgServer, PgServerError, start_postgres

REPO = Path(__file__).resolve().parents[1]


def shared_root() -> Path:
    return Path(os.environ.get("CR_EINVOICE_SHARED") or REPO.parent / "shared")


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    root = shared_root()
    if not (root / "hacienda").is_dir():
        pytest.fail(
            f"the shared reference material was not found at {root}. Clone the project with ../shared beside "
            "it or set CR_EINVOICE_SHARED to its path (make test does this)."
        )
    return root


@pytest.fixture(scope="session")
def samples_dir(shared_dir: Path) -> Path:
    return shared_dir / "hacienda" / "samples"


@pytest.fixture(scope="session")
def schemas_dir(shared_dir: Path) -> Path:
    env = os.environ.get("CR_EINVOICE_SCHEMAS")
    path = Path(env) if env else shared_dir / "hacienda" / "schemas"
    if not (path / "2024" / "v4.4").is_dir():
        pytest.fail(
            f"official XSD schemas not found at {path}: set CR_EINVOICE_SCHEMAS, run "
            "'cr-einvoice schemas fetch', or keep ../shared beside the project (make test sets it up)."
        )
    return path


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """One throwaway PostgreSQL server on loopback for the session (installed with apt-get when missing and
    allowed); a test takes a fresh database with ``pg_server.create_database()``. Fails, never skips."""
    try:
        server = start_postgres()
    except PgServerError as exc:
        pytest.fail(f"the PostgreSQL tests need a server: {exc}")
    yield server
    server.stop()
