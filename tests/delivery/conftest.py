"""Fixtures of the graphic-representation tests: every example voucher, numbered, signed with a TEST key."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from cr_einvoice.signing.certs import load_p12
from cr_einvoice.signing.xades import Signer
from cr_einvoice.testing.pki import TestPKI, make_test_pki

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from delivery_docs import KINDS, signed_voucher  # noqa: E402


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> TestPKI:
    return make_test_pki(tmp_path_factory.mktemp("pki"), taxpayer_id="3101123456", rc2=False)


@pytest.fixture(scope="session")
def signer(pki: TestPKI) -> Signer:
    return Signer(load_p12(str(pki.taxpayer_p12), pki.pin))


@pytest.fixture(scope="session")
def signed(signer: Signer) -> dict[str, bytes]:
    """kind (fe nd nc te fec fee rep mr and the variants of delivery_docs.KINDS) → signed XML."""
    return {kind: signed_voucher(kind, signer) for kind in KINDS}
