"""Khipu Enel bill client against the fake Khipu server (real loopback HTTP)."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from cr_einvoice.chile.khipu import (
    BILL_DOCUMENT_PATH,
    AsyncKhipuClient,
    EnelBillResult,
    KhipuAccepted,
    KhipuAuth,
    KhipuAuthenticationError,
    KhipuCallbackError,
    KhipuCallbacks,
    KhipuClient,
    KhipuClientCredentials,
    KhipuDeferred,
    KhipuDoNotRetryError,
    KhipuErrorType,
    KhipuInvalidDocumentError,
    KhipuLegacyError,
    KhipuNoDataError,
    KhipuRetriesExhaustedError,
    bill_request_data,
    check_client_identifier,
    check_email,
    parse_khipu_callback,
)
from cr_einvoice.core.errors import AuthenticationError, ConfigError, TransportError, ValidationError
from cr_einvoice.core.secret import Secret
from cr_einvoice.testing.chile_fakes import FakeKhipu, LoopbackReceiver, make_pdf
from cr_einvoice.transport.http import RetryPolicy

EMAIL = "ana.perez@example.cl"
NOW = datetime(2025, 6, 30, 12, 0, tzinfo=UTC)


def client(fake: FakeKhipu, auth: KhipuAuth, **kwargs: object) -> KhipuClient:
    kwargs.setdefault("retry", RetryPolicy(backoff_base=0.01, backoff_max=0.02))
    return KhipuClient(auth, base_url=fake.base_url, clock=lambda: NOW, **kwargs)  # type: ignore[arg-type]


def bill_requests(fake: FakeKhipu) -> list[object]:
    return [r for r in fake.requests if r.path == BILL_DOCUMENT_PATH]


# -- inputs ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "value", ["1234567", "1234567-8", "1234567-k", "12345678901234567890", "123456789012345678-9"]
)
def test_client_identifier_accepted_with_or_without_check_digit(value: str) -> None:
    assert check_client_identifier(value) == value.upper()


@pytest.mark.parametrize(
    "value",
    ["", "123456789012345678901", "1234567-", "1234567-89", "12a4567", "1234567 8", "-8", "1234567-X"],
)
def test_client_identifier_format_is_checked(value: str) -> None:
    with pytest.raises(ValidationError) as err:
        check_client_identifier(value)
    assert err.value.problems[0].path == "RequestData.ClientIdentifier"


@pytest.mark.parametrize("value", ["a@b.cl", "ana.perez@example.com", "a-b_c@sub.domain.info", "x1@y-z.co"])
def test_email_accepted_by_the_api_pattern(value: str) -> None:
    assert check_email(value) == value


@pytest.mark.parametrize(
    "value",
    [
        "ana+bills@example.cl",
        "ana@example.online",
        "ana@localhost",
        "añá@example.cl",
        "ana@example.cl\n",
        "@x.cl",
    ],
)
def test_email_refused_as_the_api_pattern_refuses_it(value: str) -> None:
    with pytest.raises(ValidationError) as err:
        check_email(value)
    assert err.value.problems[0].path == "RequestData.Email"


def test_all_input_problems_are_reported_together() -> None:
    with pytest.raises(ValidationError) as err:
        bill_request_data("12-345", "not-an-email", "ftp://x/" + "a" * 300)
    assert {p.path for p in err.value.problems} == {
        "RequestData.ClientIdentifier",
        "RequestData.Email",
        "CallbackUrl",
    }


def test_invalid_input_is_refused_before_any_request(fake_khipu: FakeKhipu, khipu_auth: KhipuAuth) -> None:
    with client(fake_khipu, khipu_auth) as c, pytest.raises(ValidationError):
        c.enel_bill("1234567", "ana+x@example.cl")
    assert fake_khipu.requests == []


# -- authentication configuration -------------------------------------------------------------------------
def test_api_key_and_bearer_together_are_refused() -> None:
    with pytest.raises(ConfigError, match="never both"):
        KhipuAuth(api_key=Secret("k"), bearer_token=Secret("t"))
    cc = KhipuClientCredentials("https://auth.example/token", "id", Secret("s"))
    with pytest.raises(ConfigError, match="never both"):
        KhipuAuth(api_key=Secret("k"), client_credentials=cc)
    with pytest.raises(ConfigError):
        KhipuAuth()


def test_auth_from_environment() -> None:
    assert KhipuAuth.from_env(environ={"KHIPU_API_KEY": "k"}).api_key == Secret("k")
    assert KhipuAuth.from_env(environ={"MY_JWT": "t"}, token_env="MY_JWT").bearer_token == Secret("t")
    with pytest.raises(ConfigError, match="never both"):
        KhipuAuth.from_env(environ={"KHIPU_API_KEY": "k", "KHIPU_ACCESS_TOKEN": "t"})
    with pytest.raises(ConfigError, match="KHIPU_TOKEN_URL"):
        KhipuAuth.from_env(environ={"KHIPU_CLIENT_ID": "i", "KHIPU_CLIENT_SECRET": "s"})
    with pytest.raises(ConfigError, match="KHIPU_API_KEY"):
        KhipuAuth.from_env(environ={})


# -- synchronous bill --------------------------------------------------------------------------------------
def test_sync_bill_with_api_key(fake_khipu: FakeKhipu, khipu_auth: KhipuAuth, tmp_path: Path) -> None:
    with client(fake_khipu, khipu_auth) as c:
        result = c.enel_bill("1234567-8", EMAIL)
    assert isinstance(result, EnelBillResult)
    assert result.pdf == fake_khipu.bills["1234567"]
    assert result.pdf.startswith(b"%PDF-")
    assert result.bill.client_identifier == "1234567-8"
    assert len(result.operation_id) == 36
    saved = result.save_pdf(tmp_path / "out" / "bill.pdf")
    assert saved.read_bytes() == result.pdf
    (request,) = fake_khipu.requests
    assert request.headers["x-api-key"] == fake_khipu.api_key
    assert "authorization" not in request.headers
    assert request.json() == {"RequestData": {"ClientIdentifier": "1234567-8", "Email": EMAIL}}


async def test_async_client_bill(fake_khipu: FakeKhipu, khipu_auth: KhipuAuth) -> None:
    async with AsyncKhipuClient(khipu_auth, base_url=fake_khipu.base_url) as c:
        result = await c.enel_bill("1234567", EMAIL)
    assert isinstance(result, EnelBillResult)
    assert result.pdf == fake_khipu.bills["1234567"]


def test_static_bearer_token_is_sent_as_authorization(fake_khipu: FakeKhipu) -> None:
    fake_khipu.tokens.add("static-jwt")
    with client(fake_khipu, KhipuAuth(bearer_token=Secret("static-jwt"))) as c:
        assert isinstance(c.enel_bill("1234567", EMAIL), EnelBillResult)
    (request,) = fake_khipu.requests
    assert request.headers["authorization"] == "Bearer static-jwt"
    assert "x-api-key" not in request.headers


def test_client_credentials_token_is_cached_and_refreshed_once_on_401(fake_khipu: FakeKhipu) -> None:
    cc = KhipuClientCredentials(fake_khipu.token_url, fake_khipu.client_id, Secret(fake_khipu.client_secret))
    with client(fake_khipu, KhipuAuth(client_credentials=cc)) as c:
        c.enel_bill("1234567", EMAIL)
        c.enel_bill("1234567", EMAIL)
        assert [r.path for r in fake_khipu.requests].count("/oauth/token") == 1
        fake_khipu.revoke_tokens()  # the cached JWT is now refused: 401 A000
        assert isinstance(c.enel_bill("1234567", EMAIL), EnelBillResult)
    paths = [r.path for r in fake_khipu.requests]
    assert paths.count("/oauth/token") == 2
    assert paths[-3:] == [BILL_DOCUMENT_PATH, "/oauth/token", BILL_DOCUMENT_PATH]


def test_client_credentials_refused(fake_khipu: FakeKhipu) -> None:
    cc = KhipuClientCredentials(fake_khipu.token_url, fake_khipu.client_id, Secret("wrong"))
    with client(fake_khipu, KhipuAuth(client_credentials=cc)) as c, pytest.raises(KhipuAuthenticationError):
        c.enel_bill("1234567", EMAIL)
    assert bill_requests(fake_khipu) == []


def test_wrong_api_key_is_an_authentication_error(fake_khipu: FakeKhipu) -> None:
    wrong = KhipuAuth(api_key=Secret("wrong-key"))
    with client(fake_khipu, wrong) as c, pytest.raises(KhipuAuthenticationError) as err:
        c.enel_bill("1234567", EMAIL)
    assert isinstance(err.value, AuthenticationError)
    assert err.value.status == 401
    assert err.value.code == "A000"
    assert "wrong-key" not in str(err.value)
    assert len(fake_khipu.requests) == 1


# -- Error.Type behaviour -----------------------------------------------------------------------------------
def test_retry_immediately_is_retried_then_succeeds(fake_khipu: FakeKhipu, khipu_auth: KhipuAuth) -> None:
    fake_khipu.faults.errors.extend([("E201", "RETRY_IMMEDIATELY", "Enel is slow")] * 2)
    with client(fake_khipu, khipu_auth, immediate_retries=2) as c:
        result = c.enel_bill("1234567", EMAIL)
    assert isinstance(result, EnelBillResult)
    assert len(fake_khipu.requests) == 3


def test_retry_immediately_is_bounded(fake_khipu: FakeKhipu, khipu_auth: KhipuAuth) -> None:
    fake_khipu.faults.errors.extend([("T000", "RETRY_IMMEDIATELY", "Timeout scraping")] * 5)
    with (
        client(fake_khipu, khipu_auth, immediate_retries=2) as c,
        pytest.raises(KhipuRetriesExhaustedError) as err,
    ):
        c.enel_bill("1234567", EMAIL)
    assert err.value.code == "T000"
    assert err.value.error_type == "RETRY_IMMEDIATELY"
    assert len(fake_khipu.requests) == 3
    assert len(fake_khipu.faults.errors) == 2


def test_wait_4_hours_is_reported_with_the_earliest_retry(
    fake_khipu: FakeKhipu, khipu_auth: KhipuAuth
) -> None:
    fake_khipu.faults.errors.append(("E202", "WAIT_4_HOURS_BEFORE_RETRY", "Site under maintenance"))
    with client(fake_khipu, khipu_auth) as c:
        outcome = c.enel_bill("1234567", EMAIL)
    assert isinstance(outcome, KhipuDeferred)
    assert outcome.earliest_retry == NOW + timedelta(hours=4)
    assert outcome.error.kind is KhipuErrorType.WAIT_4_HOURS_BEFORE_RETRY
    assert outcome.error.code == "E202"
    assert not outcome.wait_for_notification
    assert len(fake_khipu.requests) == 1


def test_retry_after_notification_is_reported(fake_khipu: FakeKhipu, khipu_auth: KhipuAuth) -> None:
    fake_khipu.faults.errors.append(("E203", "RETRY_AFTER_NOTIFICATION", "Service down"))
    with client(fake_khipu, khipu_auth) as c:
        outcome = c.enel_bill("1234567", EMAIL)
    assert isinstance(outcome, KhipuDeferred)
    assert outcome.wait_for_notification
    assert outcome.earliest_retry is None
    assert outcome.operation_id
    assert len(fake_khipu.requests) == 1


@pytest.mark.parametrize("error_type", ["DO_NOT_RETRY", "SOMETHING_NEW"])
def test_do_not_retry_raises(fake_khipu: FakeKhipu, khipu_auth: KhipuAuth, error_type: str) -> None:
    fake_khipu.faults.errors.append(("E101", error_type, "Invalid credentials at the site"))
    with client(fake_khipu, khipu_auth) as c, pytest.raises(KhipuDoNotRetryError) as err:
        c.enel_bill("1234567", EMAIL)
    assert err.value.code == "E101"
    assert err.value.description == "Invalid credentials at the site"
    assert err.value.operation_id
    assert "E101" in str(err.value)
    assert len(fake_khipu.requests) == 1


def test_unknown_client_has_no_data_error(fake_khipu: FakeKhipu, khipu_auth: KhipuAuth) -> None:
    with client(fake_khipu, khipu_auth) as c, pytest.raises(KhipuDoNotRetryError) as err:
        c.enel_bill("7654321", EMAIL)
    assert err.value.code == "E300"


@pytest.mark.parametrize("reason", ["TASK_FINISHED", "LIFESPAN_EXCEEDED"])
def test_legacy_envelope_is_accepted(fake_khipu: FakeKhipu, khipu_auth: KhipuAuth, reason: str) -> None:
    fake_khipu.faults.legacy.append((reason, "the old way of failing"))
    with client(fake_khipu, khipu_auth) as c, pytest.raises(KhipuLegacyError) as err:
        c.enel_bill("1234567", EMAIL)
    assert err.value.failure_reason == reason
    assert "the old way of failing" in str(err.value)


def test_ok_without_data(fake_khipu: FakeKhipu, khipu_auth: KhipuAuth) -> None:
    fake_khipu.faults.no_data = 1
    with client(fake_khipu, khipu_auth) as c, pytest.raises(KhipuNoDataError) as err:
        c.enel_bill("1234567", EMAIL)
    assert err.value.additional_information == "The site returned no bill for this client"


def test_document_that_is_not_a_pdf_is_refused(fake_khipu: FakeKhipu, khipu_auth: KhipuAuth) -> None:
    fake_khipu.faults.not_pdf = 1
    with client(fake_khipu, khipu_auth) as c, pytest.raises(KhipuInvalidDocumentError, match="%PDF-"):
        c.enel_bill("1234567", EMAIL)


def test_document_must_be_strict_base64() -> None:
    envelope = FakeKhipu.envelope("op-1", data={"Bill": {"ClientIdentifier": "1", "Document": "JVBERi0x$$$"}})
    with pytest.raises(KhipuInvalidDocumentError, match="base64"):
        parse_khipu_callback(json.dumps(envelope).encode())


def test_http_500_is_retried_with_backoff(fake_khipu: FakeKhipu, khipu_auth: KhipuAuth) -> None:
    fake_khipu.faults.http_500 = 2
    with client(fake_khipu, khipu_auth) as c:
        assert isinstance(c.enel_bill("1234567", EMAIL), EnelBillResult)
    assert len(fake_khipu.requests) == 3


def test_read_timeout_is_a_transport_error_and_not_resent(
    fake_khipu: FakeKhipu, khipu_auth: KhipuAuth
) -> None:
    fake_khipu.faults.delay_seconds = 2.0
    with client(fake_khipu, khipu_auth, timeout=0.3) as c, pytest.raises(TransportError) as err:
        c.enel_bill("1234567", EMAIL)
    # A billed POST that may have reached Khipu is not sent again blindly.
    assert err.value.request_sent
    assert "timed out" in str(err.value)
    assert len(fake_khipu.requests) == 1


# -- asynchronous mode and callbacks ------------------------------------------------------------------------
def test_async_request_then_callback_matched_by_operation_id(
    fake_khipu: FakeKhipu, khipu_auth: KhipuAuth, receiver: LoopbackReceiver
) -> None:
    pending = KhipuCallbacks()
    with client(fake_khipu, khipu_auth) as c:
        accepted = c.request_enel_bill("1234567-8", EMAIL, callback_url=receiver.url("/khipu/abc"))
    assert isinstance(accepted, KhipuAccepted)
    assert accepted.life_span is not None and accepted.life_span > datetime.now(UTC)
    assert accepted.callback_url == receiver.url("/khipu/abc")
    assert fake_khipu.requests[0].json()["CallbackUrl"] == receiver.url("/khipu/abc")
    pending.expect(accepted)
    (call,) = receiver.wait(1)
    assert call.path == "/khipu/abc"
    matched = pending.match(call.body)
    assert matched.operation_id == accepted.operation_id
    assert isinstance(matched.outcome, EnelBillResult)
    assert matched.outcome.pdf == fake_khipu.bills["1234567"]
    assert pending.pending == ()
    with pytest.raises(KhipuCallbackError, match="already handled"):
        pending.match(call.body)


async def test_async_client_async_request_and_error_callback(
    fake_khipu: FakeKhipu, khipu_auth: KhipuAuth, receiver: LoopbackReceiver
) -> None:
    fake_khipu.faults.errors.append(("E202", "WAIT_4_HOURS_BEFORE_RETRY", "maintenance"))
    fake_khipu.faults.errors.append(("E401", "DO_NOT_RETRY", "bad client number"))
    pending = KhipuCallbacks(clock=lambda: NOW)
    async with AsyncKhipuClient(khipu_auth, base_url=fake_khipu.base_url) as c:
        first = await c.request_enel_bill("1234567", EMAIL, callback_url=receiver.url())
        assert isinstance(first, KhipuAccepted)
        pending.expect(first)
        calls = receiver.wait(1)
        second = await c.request_enel_bill("1234567", EMAIL, callback_url=receiver.url())
        assert isinstance(second, KhipuAccepted)
        pending.expect(second)
        calls = receiver.wait(2)
    deferred = pending.match(calls[0].body)
    assert isinstance(deferred.outcome, KhipuDeferred)
    assert deferred.outcome.earliest_retry == NOW + timedelta(hours=4)
    with pytest.raises(KhipuDoNotRetryError) as err:
        pending.match(calls[1].body)
    assert err.value.operation_id == second.operation_id


def test_callback_for_unknown_operation_is_refused(fake_khipu: FakeKhipu) -> None:
    pending = KhipuCallbacks()
    body = json.dumps(FakeKhipu.envelope("not-ours", status="OK", data=None)).encode()
    with pytest.raises(KhipuCallbackError, match="unknown"):
        pending.match(body)
    with pytest.raises(KhipuCallbackError, match="JSON"):
        pending.match(b"<html>")
    with pytest.raises(KhipuCallbackError, match="larger"):
        pending.match(b"{}" * 10, max_bytes=5)


def test_callback_retry_immediately_becomes_a_deferral_due_now() -> None:
    body = json.dumps(FakeKhipu.envelope("op-9", status="ERROR", error=("E201", "RETRY_IMMEDIATELY", "x")))
    op, outcome = parse_khipu_callback(body.encode(), now=NOW)
    assert op == "op-9"
    assert isinstance(outcome, KhipuDeferred)
    assert outcome.earliest_retry == NOW


def test_overdue_operations_after_life_span() -> None:
    now = [NOW]
    pending = KhipuCallbacks(clock=lambda: now[0])
    accepted = KhipuAccepted("op-1", NOW + timedelta(minutes=15), "x", None, "http://cb", "1")
    pending.expect(accepted)
    assert pending.overdue() == []
    now[0] = NOW + timedelta(minutes=16)
    assert pending.overdue() == [accepted]


def test_callback_pdf_round_trip() -> None:
    pdf = make_pdf("hello")
    body = FakeKhipu.envelope(
        "op-2", data={"Bill": {"ClientIdentifier": "42", "Document": base64.b64encode(pdf).decode()}}
    )
    _, outcome = parse_khipu_callback(json.dumps(body).encode())
    assert isinstance(outcome, EnelBillResult)
    assert outcome.pdf == pdf


def test_async_request_settled_at_once_by_error_type() -> None:
    """An ERROR envelope instead of the 202: RETRY_IMMEDIATELY is re-sent, a deferral is returned."""
    answers = [
        (200, FakeKhipu.envelope("op-1", status="ERROR", error=("E201", "RETRY_IMMEDIATELY", "busy"))),
        (202, FakeKhipu.envelope("op-2", info="Data will be sent to the callback URL.")),
        (
            200,
            FakeKhipu.envelope("op-3", status="ERROR", error=("E203", "WAIT_4_HOURS_BEFORE_RETRY", "later")),
        ),
    ]
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        status, payload = answers.pop(0)
        return httpx.Response(status, json=payload)

    auth = KhipuAuth(api_key=Secret("k"))
    http = httpx.Client(transport=httpx.MockTransport(handler))
    retry = RetryPolicy(backoff_base=0.01)
    with KhipuClient(auth, http_client=http, retry=retry, clock=lambda: NOW) as c:
        accepted = c.request_enel_bill("1234567", EMAIL, callback_url="https://me.example/cb")
        assert isinstance(accepted, KhipuAccepted)
        assert accepted.operation_id == "op-2"
        assert accepted.life_span is None
        deferred = c.request_enel_bill("1234567", EMAIL, callback_url="https://me.example/cb")
    assert isinstance(deferred, KhipuDeferred)
    assert deferred.earliest_retry == NOW + timedelta(hours=4)
    assert len(sent) == 3
    assert str(sent[0].url) == "https://api.khipu.com" + BILL_DOCUMENT_PATH
