"""Fixtures for the Chile area: the three fake servers, a callback receiver, fast retry policies."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal

import pytest

from cr_einvoice.chile.belvo import BelvoAuth
from cr_einvoice.chile.flow import FlowAuth
from cr_einvoice.chile.khipu import KhipuAuth
from cr_einvoice.core.secret import Secret
from cr_einvoice.testing.chile_fakes import (
    FakeBelvo,
    FakeFlow,
    FakeKhipu,
    LoopbackReceiver,
    sample_belvo_invoice,
)
from cr_einvoice.transport.http import RetryPolicy

LINK = "3fa85f64-5717-4562-b3fc-2c963f66afa6"
OTHER_LINK = "9b2c1e0a-1111-4222-8333-444455556666"
TODAY = date(2025, 6, 30)


@pytest.fixture
def fast_retry() -> RetryPolicy:
    return RetryPolicy(max_attempts=4, backoff_base=0.01, backoff_max=0.02)


def belvo_invoices() -> list[dict[str, object]]:
    """Invoices every 30 days from 2023-01-10 (about 30 months), alternating INFLOW / OUTFLOW."""
    invoices = []
    for n in range(30):
        issued = date(2023, 1, 10) + timedelta(days=30 * n)
        invoices.append(
            sample_belvo_invoice(
                LINK,
                issued,
                type="INFLOW" if n % 2 == 0 else "OUTFLOW",
                folio=1000 + n,
                net_amount=Decimal("100000.10") + n,
            )
        )
    invoices.append(sample_belvo_invoice(OTHER_LINK, date(2024, 5, 5), folio=7))
    return invoices


@pytest.fixture
def fake_khipu() -> Iterator[FakeKhipu]:
    with FakeKhipu() as fake:
        yield fake


@pytest.fixture
def khipu_auth(fake_khipu: FakeKhipu) -> KhipuAuth:
    return KhipuAuth(api_key=Secret(fake_khipu.api_key))


@pytest.fixture
def fake_belvo() -> Iterator[FakeBelvo]:
    with FakeBelvo(invoices=belvo_invoices(), today=lambda: TODAY) as fake:
        yield fake


@pytest.fixture
def belvo_auth(fake_belvo: FakeBelvo) -> BelvoAuth:
    return BelvoAuth(fake_belvo.secret_id, Secret(fake_belvo.secret_password))


@pytest.fixture
def fake_flow() -> Iterator[FakeFlow]:
    with FakeFlow() as fake:
        yield fake


@pytest.fixture
def flow_auth(fake_flow: FakeFlow) -> FlowAuth:
    return FlowAuth(fake_flow.api_key, Secret(fake_flow.secret_key))


@pytest.fixture
def receiver() -> Iterator[LoopbackReceiver]:
    with LoopbackReceiver() as rec:
        yield rec
