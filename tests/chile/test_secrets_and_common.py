"""Secrets never leak (reprs, logs, errors); base URLs by name; exact JSON numbers; the flow drivers."""

from __future__ import annotations

import base64
import logging
from decimal import Decimal

import httpx
import pytest

from cr_einvoice.chile._common import (
    UnexpectedResponseError,
    load_json,
    resolve_base_url,
    to_jsonable,
)
from cr_einvoice.chile.belvo import BelvoAuth, BelvoClient
from cr_einvoice.chile.flow import FlowAuth, FlowClient
from cr_einvoice.chile.khipu import (
    KHIPU_ENVIRONMENTS,
    KhipuAuth,
    KhipuClient,
    KhipuClientCredentials,
    KhipuError,
)
from cr_einvoice.core.errors import APIError, ConfigError, CrEinvoiceError
from cr_einvoice.core.secret import Secret
from cr_einvoice.testing.chile_fakes import FakeBelvo, FakeFlow, FakeKhipu, LoopbackReceiver
from cr_einvoice.transport.flow import Sleep, drive, drive_async
from cr_einvoice.transport.http import Request, RetryPolicy

from .conftest import LINK, TODAY

FAST = RetryPolicy(max_attempts=2, backoff_base=0.01, backoff_max=0.02)


def test_secrets_never_in_reprs_logs_or_errors(
    caplog: pytest.LogCaptureFixture,
    fake_khipu: FakeKhipu,
    fake_belvo: FakeBelvo,
    fake_flow: FakeFlow,
    receiver: LoopbackReceiver,
) -> None:
    caplog.set_level(logging.DEBUG)
    texts: list[str] = []
    khipu_key = KhipuAuth(api_key=Secret(fake_khipu.api_key))
    cc = KhipuClientCredentials(fake_khipu.token_url, fake_khipu.client_id, Secret(fake_khipu.client_secret))
    khipu_cc = KhipuAuth(client_credentials=cc)
    belvo = BelvoAuth(fake_belvo.secret_id, Secret(fake_belvo.secret_password))
    flow = FlowAuth(fake_flow.api_key, Secret(fake_flow.secret_key))

    fake_khipu.faults.http_500 = 1
    with KhipuClient(khipu_key, base_url=fake_khipu.base_url, retry=FAST) as c:
        texts.append(repr(c))
        c.enel_bill("1234567", "a@b.cl")
        c.request_enel_bill("1234567", "a@b.cl", callback_url=receiver.url())
        receiver.wait(1)
    with KhipuClient(khipu_cc, base_url=fake_khipu.base_url, retry=FAST) as c:
        texts.append(repr(c))
        c.enel_bill("1234567", "a@b.cl")
        fake_khipu.revoke_tokens()
        c.enel_bill("1234567", "a@b.cl")
        fake_khipu.faults.errors.append(("E101", "DO_NOT_RETRY", "refused"))
        with pytest.raises(KhipuError) as khipu_error:
            c.enel_bill("1234567", "a@b.cl")
        texts.append(str(khipu_error.value))
    fake_belvo.faults.unexpected_error = 1
    with BelvoClient(belvo, base_url=fake_belvo.base_url, retry=FAST, today=lambda: TODAY) as c:
        texts.append(repr(c))
        c.retrieve_invoices(LINK, "2024-01-01", "2024-02-01")
        fake_belvo.faults.unexpected_error = 5
        with pytest.raises(APIError) as belvo_error:
            c.retrieve_invoices(LINK, "2024-01-01", "2024-02-01")
        texts.append(str(belvo_error.value))
        texts.append(repr(belvo_error.value.headers))
    with FlowClient(flow, base_url=fake_flow.base_url, retry=FAST) as c:
        texts.append(repr(c))
        c.get_invoice(1034)
        with pytest.raises(APIError) as flow_error:
            c.get_invoice(5)
        texts.append(str(flow_error.value))
    texts += [repr(khipu_key), repr(khipu_cc), repr(belvo), repr(flow), caplog.text]
    basic = base64.b64encode(f"{fake_belvo.secret_id}:{fake_belvo.secret_password}".encode()).decode()
    secrets = [
        fake_khipu.api_key,
        fake_khipu.client_secret,
        fake_belvo.secret_id,
        fake_belvo.secret_password,
        basic,
        fake_flow.secret_key,
        *fake_khipu.tokens,
    ]
    assert fake_khipu.tokens, "a JWT was issued"
    assert "retry" in caplog.text  # the clients did log (retries), so the check below means something
    for text in texts:
        for secret in secrets:
            assert secret not in text
    # Flow's apiKey travels in GET query strings (httpx logs URLs at INFO, the fake server logs its request
    # lines), but never appears in what the clients themselves say.
    for text in texts[:-1]:
        assert fake_flow.api_key not in text
    client_records = [
        r.getMessage()
        for r in caplog.records
        if r.name.startswith("cr_einvoice") and not r.name.startswith("cr_einvoice.testing.chile_fakes")
    ]
    assert client_records
    assert all(fake_flow.api_key not in message for message in client_records)


def test_base_urls_by_name_or_custom() -> None:
    assert resolve_base_url("Khipu", KHIPU_ENVIRONMENTS, "production") == "https://api.khipu.com"
    assert resolve_base_url("Khipu", KHIPU_ENVIRONMENTS, "http://127.0.0.1:8080/") == "http://127.0.0.1:8080"
    with pytest.raises(ConfigError, match="production"):
        resolve_base_url("Khipu", KHIPU_ENVIRONMENTS, "sandbox")
    with pytest.raises(ConfigError):
        resolve_base_url("Khipu", KHIPU_ENVIRONMENTS, "ftp://x")


def test_json_numbers_are_exact_decimals() -> None:
    payload = load_json(b'{"a": 0.1, "b": 18499.5000, "c": 20000, "d": [1e2]}', what="test")
    assert payload == {"a": Decimal("0.1"), "b": Decimal("18499.5000"), "c": 20000, "d": [Decimal("1e2")]}
    assert str(payload["b"]) == "18499.5000"
    with pytest.raises(UnexpectedResponseError, match="not valid JSON"):
        load_json(b'{"a": NaN}', what="test")
    with pytest.raises(UnexpectedResponseError, match="not valid JSON") as err:
        load_json(b"<html>", what="test", status=502)
    assert err.value.status == 502
    assert isinstance(err.value, CrEinvoiceError)
    assert to_jsonable({"x": Decimal("1.50"), "y": (1, Secret)}) == {"x": "1.50", "y": [1, Secret]}


def _steps() -> object:
    response = yield Request("GET", "http://x/1")
    assert response is not None
    yield Sleep(0.0)
    try:
        yield Request("GET", "http://x/fail")
    except KeyError as exc:
        return f"{response.status_code} then caught {exc.args[0]}"
    raise AssertionError("the send error should have been thrown into the flow")


def _send(request: Request) -> httpx.Response:
    if request.url.endswith("fail"):
        raise KeyError("boom")
    return httpx.Response(204)


async def test_sync_and_async_drivers_run_the_same_flow() -> None:
    slept: list[float] = []
    assert drive(_steps(), _send, slept.append) == "204 then caught boom"  # type: ignore[arg-type]
    assert slept == [0.0]

    async def send_async(request: Request) -> httpx.Response:
        return _send(request)

    assert await drive_async(_steps(), send_async) == "204 then caught boom"  # type: ignore[arg-type]
