"""Flow signer (published test vectors) and client against the fake Flow server (real loopback HTTP)."""

from __future__ import annotations

import hashlib
import hmac
from datetime import date, datetime
from decimal import Decimal

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cr_einvoice.chile.flow import (
    AsyncFlowClient,
    FlowAuth,
    FlowBusinessError,
    FlowClient,
    FlowError,
    FlowInvalidSignatureError,
    FlowRequestError,
    FlowServerError,
    InvoiceItemType,
    InvoiceStatus,
    encode_params,
    parse_invoice,
    sign_params,
    string_to_sign,
)
from cr_einvoice.core.errors import BadRequestError, ConfigError, TransportError, ValidationError
from cr_einvoice.core.secret import Secret
from cr_einvoice.testing.chile_fakes import FakeFlow, dumps, sample_flow_invoice
from cr_einvoice.transport.http import RetryPolicy

FAST = RetryPolicy(max_attempts=3, backoff_base=0.01, backoff_max=0.02)


def client(fake: FakeFlow, auth: FlowAuth, **kwargs: object) -> FlowClient:
    kwargs.setdefault("retry", FAST)
    return FlowClient(auth, base_url=fake.base_url, **kwargs)  # type: ignore[arg-type]


# -- the signature: the test vectors of chile-apis.md / Flow's documentation --------------------------------
def test_published_vector_payment_example() -> None:
    params = {"apiKey": "XXXX-XXXX-XXXX", "currency": "CLP", "amount": 5000}
    assert string_to_sign(params) == "amount5000apiKeyXXXX-XXXX-XXXXcurrencyCLP"
    assert sign_params(params, Secret("my secret")) == (
        "dc3f67215dc89404aedc1deed0be7c2b49d810ca1a6e3feab3b799d77c4a9950"
    )


def test_published_vector_invoice_get() -> None:
    params = {"invoiceId": 1034, "apiKey": "XXXX-XXXX-XXXX"}
    assert string_to_sign(params) == "apiKeyXXXX-XXXX-XXXXinvoiceId1034"
    assert (
        sign_params(params, "my secret") == "56ecb3495e3703283837e4a21d61498ac66d9437f64e3022291d38f4742a10e8"
    )


def test_signature_excludes_s_and_sorts_by_code_point() -> None:
    assert string_to_sign({"b": "1", "B": "2", "a": "3", "s": "old"}) == "B2a3b1"
    assert string_to_sign({"email": "a+b@x.cl", "amount": Decimal("10.50")}) == "amount10.50emaila+b@x.cl"


def test_values_are_encoded_exactly_once() -> None:
    assert encode_params({"n": 5000, "d": Decimal("1.10"), "day": date(2025, 1, 2), "x": None, "e": ""}) == {
        "n": "5000",
        "d": "1.10",
        "day": "2025-01-02",
        "e": "",
    }
    assert encode_params({"t": datetime(2025, 1, 2, 3, 4, 5)}) == {"t": "2025-01-02 03:04:05"}
    with pytest.raises(ValidationError, match="float"):
        encode_params({"amount": 5000.0})
    with pytest.raises(ValidationError, match="boolean"):
        encode_params({"flag": True})


@given(
    st.dictionaries(
        st.text(alphabet="abcdefghijABCDEFGHIJ_", min_size=1, max_size=8).filter(lambda k: k != "s"),
        st.text(max_size=12),
        min_size=1,
        max_size=8,
    )
)
def test_signature_ignores_insertion_order_and_s(params: dict[str, str]) -> None:
    reversed_params = dict(reversed(list(params.items())))
    assert sign_params(params, "k") == sign_params(reversed_params, "k")
    assert sign_params({**params, "s": "anything"}, "k") == sign_params(params, "k")
    expected = hmac.new(
        b"k", "".join(f"{k}{params[k]}" for k in sorted(params)).encode(), hashlib.sha256
    ).hexdigest()
    assert sign_params(params, "k") == expected


# -- invoice/get -------------------------------------------------------------------------------------------
def test_get_invoice_typed_with_flow_names(fake_flow: FakeFlow, flow_auth: FlowAuth) -> None:
    with client(fake_flow, flow_auth) as c:
        invoice = c.get_invoice(1034)
    assert invoice.id == 1034
    assert invoice.subscriptionId == "sus_azcyjj9ycd"
    assert invoice.customerId == "cus_eblcbsua2g"
    assert invoice.amount == Decimal("20000")
    assert isinstance(invoice.amount, Decimal)
    assert invoice.status is InvoiceStatus.UNPAID
    assert not invoice.is_paid
    assert invoice.created == datetime(2018, 6, 26, 17, 29, 6)
    assert invoice.attemp_count == invoice.attempt_count == 1
    assert invoice.attemped == 1
    assert invoice.next_attemp_date == invoice.next_attempt_date == datetime(2018, 7, 27)
    assert invoice.errorDescription == "The minimum amount is 350 CLP"
    assert [item.type for item in invoice.items] == [InvoiceItemType.PLAN_CHARGE, InvoiceItemType.DISCOUNT]
    assert invoice.items[1].amount == Decimal("-1500.50")
    (attempt,) = invoice.chargeAttemps
    assert attempt is invoice.charge_attempts[0]
    assert attempt.amount == Decimal("18499.5000")
    assert str(attempt.amount) == "18499.5000"
    assert attempt.errorCode == 1605
    (request,) = fake_flow.requests
    assert request.method == "GET"
    assert request.path == "/api/invoice/get"
    assert set(request.query) == {"apiKey", "invoiceId", "s"}
    assert request.query["s"] == sign_params(
        {"apiKey": fake_flow.api_key, "invoiceId": "1034"}, fake_flow.secret_key
    )


async def test_async_client(fake_flow: FakeFlow, flow_auth: FlowAuth) -> None:
    async with AsyncFlowClient(flow_auth, base_url=fake_flow.base_url) as c:
        invoice = await c.get_invoice("1034")
        answer = await c.call("GET", "invoice/get", {"invoiceId": 1034})
    assert invoice.id == 1034
    assert answer["amount"] == 20000


def test_generic_post_call_is_signed_in_the_form_body(fake_flow: FakeFlow, flow_auth: FlowAuth) -> None:
    with client(fake_flow, flow_auth) as c:
        answer = c.call("POST", "invoice/cancel", {"invoiceId": 1034})
        assert parse_invoice(answer).status is InvoiceStatus.VOIDED
        assert c.get_invoice(1034).status is InvoiceStatus.VOIDED
    post = fake_flow.requests[0]
    assert post.method == "POST"
    assert post.headers["content-type"] == "application/x-www-form-urlencoded"
    assert post.query == {}
    assert b"invoiceId=1034" in post.body and b"s=" in post.body


def test_wrong_secret_is_invalid_signature(fake_flow: FakeFlow) -> None:
    auth = FlowAuth(fake_flow.api_key, Secret("not-the-secret"))
    with client(fake_flow, auth) as c, pytest.raises(FlowInvalidSignatureError) as err:
        c.get_invoice(1034)
    assert err.value.code == 108
    assert err.value.status == 400
    assert isinstance(err.value, BadRequestError)
    assert "Invalid Signature" in str(err.value)
    assert "not-the-secret" not in str(err.value)
    assert len(fake_flow.requests) == 1


def test_business_errors(fake_flow: FakeFlow, flow_auth: FlowAuth) -> None:
    with client(fake_flow, flow_auth) as c:
        with pytest.raises(FlowBusinessError) as err:
            c.get_invoice(999)
        assert err.value.status == 401
        assert err.value.flow_message == "Invoice 999 not found"
        c.call("POST", "invoice/cancel", {"invoiceId": 1034})
        with pytest.raises(FlowBusinessError, match="not pending"):
            c.call("POST", "invoice/cancel", {"invoiceId": 1034})
    other = FlowAuth("other-key", Secret(fake_flow.secret_key))
    with client(fake_flow, other) as c, pytest.raises(FlowBusinessError, match="apiKey"):
        c.get_invoice(1034)


def test_unexpected_statuses(fake_flow: FakeFlow, flow_auth: FlowAuth) -> None:
    with client(fake_flow, flow_auth) as c:
        with pytest.raises(FlowError) as err:
            c.call("GET", "no/such/service")
        assert err.value.status == 404
        assert not isinstance(err.value, FlowRequestError | FlowBusinessError)
        fake_flow.faults.http_500 = 1
        assert c.get_invoice(1034).id == 1034
        fake_flow.faults.http_500 = 5
        with pytest.raises(FlowServerError, match="unexpected HTTP 500"):
            c.get_invoice(1034)


def test_read_timeout(fake_flow: FakeFlow, flow_auth: FlowAuth) -> None:
    fake_flow.faults.delay_seconds = 2.0
    retry = RetryPolicy(max_attempts=2, backoff_base=0.01)
    with client(fake_flow, flow_auth, timeout=0.25, retry=retry) as c, pytest.raises(TransportError) as err:
        c.get_invoice(1034)
    assert "timed out" in str(err.value)
    assert len(fake_flow.requests) == 2  # a GET is idempotent: retried once


def test_bad_invoice_ids_and_signature_parameter(flow_auth: FlowAuth) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise AssertionError("nothing should be sent")

    with FlowClient(flow_auth, http_client=httpx.Client(transport=httpx.MockTransport(handler))) as c:
        for bad in (0, -3, "abc"):
            with pytest.raises(ValidationError, match="invoiceId"):
                c.get_invoice(bad)
        with pytest.raises(ValidationError, match="signature"):
            c.call("GET", "invoice/get", {"s": "x"})
        with pytest.raises(ValidationError):
            c.call("PUT", "invoice/get", {})


@pytest.mark.parametrize(
    ("name", "url"), [("sandbox", "https://sandbox.flow.cl/api"), ("production", "https://www.flow.cl/api")]
)
def test_environments(name: str, url: str) -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url.copy_with(query=None)))
        return httpx.Response(200, content=dumps(sample_flow_invoice(7)))

    auth = FlowAuth("k", Secret("s"))
    with FlowClient(
        auth, base_url=name, http_client=httpx.Client(transport=httpx.MockTransport(handler))
    ) as c:
        assert c.get_invoice(7).id == 7
    assert seen == [url + "/invoice/get"]


def test_auth_from_env() -> None:
    auth = FlowAuth.from_env(environ={"FLOW_API_KEY": "k", "FLOW_SECRET_KEY": "s"})
    assert auth.secret_key == Secret("s")
    with pytest.raises(ConfigError, match="FLOW_SECRET_KEY"):
        FlowAuth.from_env(environ={"FLOW_API_KEY": "k"})


def test_values_with_reserved_characters_are_signed_as_sent(fake_flow: FakeFlow, flow_auth: FlowAuth) -> None:
    """The fake recomputes the signature from what it received: '+', '&', '=', spaces and UTF-8 survive."""
    extra = {"invoiceId": 1034, "email": "ana+facturas@example.cl", "note": "ñandú & co = 100%", "empty": ""}
    with client(fake_flow, flow_auth) as c:
        assert c.call("GET", "invoice/get", extra)["id"] == 1034
        assert c.call("POST", "invoice/cancel", extra)["status"] == 2
    get, post = fake_flow.requests
    assert get.query["email"] == "ana+facturas@example.cl"
    assert get.query["note"] == "ñandú & co = 100%"
    assert get.query["empty"] == ""
    assert b"email=ana%2Bfacturas%40example.cl" in post.body
