"""Belvo Chile invoices client against the fake Belvo server (real loopback HTTP)."""

from __future__ import annotations

import base64
import itertools
import json
from datetime import date, timedelta
from decimal import Decimal

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cr_einvoice.chile._common import UnexpectedResponseError
from cr_einvoice.chile.belvo import (
    INVOICES_PATH,
    MAX_RANGE_DAYS,
    AsyncBelvoClient,
    BelvoAuth,
    BelvoAuthenticationError,
    BelvoBadRequestError,
    BelvoClient,
    BelvoNotFoundError,
    BelvoRequestTimeoutError,
    BelvoServerError,
    BelvoWebhookError,
    InvoiceStatus,
    InvoiceType,
    check_date_range,
    parse_belvo_webhook,
    split_date_range,
)
from cr_einvoice.core.errors import (
    AuthenticationError,
    BadRequestError,
    ConfigError,
    TransportError,
    ValidationError,
)
from cr_einvoice.core.secret import Secret
from cr_einvoice.testing.chile_fakes import FakeBelvo, LoopbackReceiver, dumps, sample_belvo_invoice
from cr_einvoice.transport.http import RetryPolicy

from .conftest import LINK, OTHER_LINK, TODAY, belvo_invoices

FAST = RetryPolicy(max_attempts=4, backoff_base=0.01, backoff_max=0.02)


def client(fake: FakeBelvo, auth: BelvoAuth, **kwargs: object) -> BelvoClient:
    kwargs.setdefault("retry", FAST)
    return BelvoClient(auth, base_url=fake.base_url, today=lambda: TODAY, **kwargs)  # type: ignore[arg-type]


def posts(fake: FakeBelvo) -> list[object]:
    return [r for r in fake.requests if r.method == "POST"]


# -- date ranges -------------------------------------------------------------------------------------------
def test_date_range_checks_report_every_problem() -> None:
    with pytest.raises(ValidationError) as err:
        check_date_range("2025-07-02", "2025-07-01", today=TODAY)
    messages = [str(p) for p in err.value.problems]
    assert any("date_from" in m and "future" in m for m in messages)
    assert any("date_to" in m and "future" in m for m in messages)
    assert any("after date_to" in m for m in messages)
    with pytest.raises(ValidationError, match="date_to"):
        check_date_range("2025-01-01", "2025-13-01", today=TODAY)
    assert check_date_range("2025-01-01", TODAY, today=TODAY) == (date(2025, 1, 1), TODAY)


def test_split_exact_boundaries() -> None:
    assert split_date_range(date(2024, 1, 1), date(2024, 12, 30)) == [(date(2024, 1, 1), date(2024, 12, 30))]
    assert split_date_range(date(2024, 1, 1), date(2024, 12, 31)) == [
        (date(2024, 1, 1), date(2024, 12, 30)),
        (date(2024, 12, 31), date(2024, 12, 31)),
    ]


@given(
    start=st.dates(min_value=date(2000, 1, 1), max_value=date(2030, 1, 1)),
    length=st.integers(min_value=0, max_value=4000),
)
def test_split_covers_the_range_in_consecutive_chunks(start: date, length: int) -> None:
    end = start + timedelta(days=length)
    chunks = split_date_range(start, end)
    assert chunks[0][0] == start
    assert chunks[-1][1] == end
    for (_, a_end), (b_start, _) in itertools.pairwise(chunks):
        assert b_start == a_end + timedelta(days=1)
    assert all(1 <= (e - s).days + 1 <= MAX_RANGE_DAYS for s, e in chunks)
    assert len(chunks) == -(-(length + 1) // MAX_RANGE_DAYS)


def test_invalid_range_is_refused_before_any_request(fake_belvo: FakeBelvo, belvo_auth: BelvoAuth) -> None:
    with client(fake_belvo, belvo_auth) as c, pytest.raises(ValidationError) as err:
        c.retrieve_invoices("", "2025-07-01", "2025-06-01", type="SENT")
    assert {p.path for p in err.value.problems} == {"link", "date_from", "type"}
    assert fake_belvo.requests == []


# -- synchronous retrieval ----------------------------------------------------------------------------------
def test_retrieve_typed_invoices_with_exact_amounts(fake_belvo: FakeBelvo, belvo_auth: BelvoAuth) -> None:
    with client(fake_belvo, belvo_auth) as c:
        invoices = c.retrieve_invoices(LINK, "2024-01-01", "2024-06-30")
    assert [i.issue_date for i in invoices] == sorted(i.issue_date for i in invoices)
    assert len(invoices) == 6
    first = invoices[0]
    assert isinstance(first.net_amount, Decimal)
    assert first.net_amount == Decimal("100012.10")
    assert first.vat_amount == Decimal("19002.30")
    assert first.total_amount == first.net_amount + first.vat_amount
    assert first.status is InvoiceStatus.REGISTERED
    assert first.created_at is not None and first.created_at.tzinfo is not None
    assert first.document_code == "33"
    inflow = [i for i in invoices if i.type is InvoiceType.INFLOW]
    outflow = [i for i in invoices if i.type is InvoiceType.OUTFLOW]
    assert inflow and outflow
    for invoice in inflow:
        assert invoice.purchase_invoice_details is not None
        assert invoice.purchase_invoice_details.vat_refundable_amount == invoice.vat_amount
        assert invoice.sales_invoice_details is None
    for invoice in outflow:
        assert invoice.sales_invoice_details is not None
        assert invoice.sales_invoice_details.amount("exempt_amount") == Decimal("0.00")
        assert invoice.purchase_invoice_details is None
    assert all(i.summary_invoice_details is not None for i in invoices)
    (request,) = fake_belvo.requests
    assert request.json() == {
        "link": LINK,
        "date_from": "2024-01-01",
        "date_to": "2024-06-30",
        "type": None,
        "save_data": True,
    }
    assert "x-belvo-request-mode" not in request.headers
    expected = (
        "Basic " + base64.b64encode(f"{fake_belvo.secret_id}:{fake_belvo.secret_password}".encode()).decode()
    )
    assert request.headers["authorization"] == expected


def test_long_range_is_split_and_concatenated(fake_belvo: FakeBelvo, belvo_auth: BelvoAuth) -> None:
    with client(fake_belvo, belvo_auth) as c:
        invoices = c.retrieve_invoices(LINK, "2023-01-01", TODAY, type=InvoiceType.INFLOW)
    assert fake_belvo.retrievals == [
        (LINK, "2023-01-01", "2023-12-31"),
        (LINK, "2024-01-01", "2024-12-30"),
        (LINK, "2024-12-31", "2025-06-30"),
    ]
    expected = sorted(
        inv["id"]
        for inv in belvo_invoices()
        if inv["link"] == LINK and inv["type"] == "INFLOW" and str(inv["issue_date"]) <= TODAY.isoformat()
    )
    assert [i.id for i in invoices] == [
        i.id for i in sorted(invoices, key=lambda i: i.issue_date or date.min)
    ]
    assert sorted(i.id for i in invoices) == expected
    assert all(r.json()["type"] == "INFLOW" for r in fake_belvo.requests)


def test_save_data_false_and_omit_fields(fake_belvo: FakeBelvo, belvo_auth: BelvoAuth) -> None:
    with client(fake_belvo, belvo_auth) as c:
        invoices = c.retrieve_invoices(
            LINK, "2024-01-01", "2024-03-31", save_data=False, omit=["collected_at"], fields="id,link"
        )
    assert invoices
    assert fake_belvo.stored == {}
    (request,) = fake_belvo.requests
    assert request.query == {"omit": "collected_at", "fields": "id,link"}
    assert request.json()["save_data"] is False


async def test_async_client_retrieve_and_list(fake_belvo: FakeBelvo, belvo_auth: BelvoAuth) -> None:
    async with AsyncBelvoClient(belvo_auth, base_url=fake_belvo.base_url, today=lambda: TODAY) as c:
        invoices = await c.retrieve_invoices(LINK, "2023-01-01", "2024-12-30")  # 730 days
        listed = [invoice async for invoice in c.list_invoices(LINK, page_size=7)]
        one = await c.get_invoice(invoices[0].id)
        await c.delete_invoice(invoices[0].id)
        with pytest.raises(BelvoNotFoundError):
            await c.get_invoice(invoices[0].id)
    assert len(fake_belvo.retrievals) == 2
    assert sorted(i.id for i in listed) == sorted(i.id for i in invoices)
    assert one == invoices[0]


# -- asynchronous retrieval and webhooks ---------------------------------------------------------------------
def test_async_mode_202_then_webhook_then_list(
    fake_belvo: FakeBelvo, belvo_auth: BelvoAuth, receiver: LoopbackReceiver
) -> None:
    fake_belvo.webhook_url = receiver.url("/belvo/webhook")
    fake_belvo.webhook_authorization = "Bearer webhook-shared-token"
    with client(fake_belvo, belvo_auth) as c:
        accepted = c.request_invoices(LINK, "2024-01-01", "2025-06-30")
        assert len(accepted) == 2
        assert [(a.date_from, a.date_to) for a in accepted] == [
            (date(2024, 1, 1), date(2024, 12, 30)),
            (date(2024, 12, 31), date(2025, 6, 30)),
        ]
        assert all(r.headers["x-belvo-request-mode"] == "async" for r in posts(fake_belvo))
        calls = receiver.wait(2)
        ids = {a.request_id for a in accepted}
        hooks = [
            parse_belvo_webhook(
                call.body,
                authorization=call.headers.get("authorization"),
                expected_authorization=Secret("Bearer webhook-shared-token"),
                expected_request_ids=ids,
            )
            for call in calls
        ]
        assert {h.request_id for h in hooks} == ids
        assert all(h.link_id == LINK and h.webhook_type == "INVOICES" for h in hooks)
        total = sum(int(h.data["total_invoices"]) for h in hooks)
        listed = list(c.list_invoices(LINK))
    assert len(listed) == total > 0


def test_webhook_authentication_and_shape() -> None:
    body = json.dumps(
        {
            "webhook_id": "a" * 32,
            "webhook_type": "INVOICES",
            "webhook_code": "historical_update",
            "request_id": "r1",
        }
    ).encode()
    token = Secret("Basic dXNlcjpwYXNz")
    with pytest.raises(BelvoWebhookError, match="Authorization"):
        parse_belvo_webhook(body, authorization="Basic wrong", expected_authorization=token)
    with pytest.raises(BelvoWebhookError, match="Authorization"):
        parse_belvo_webhook(body, authorization=None, expected_authorization=token)
    hook = parse_belvo_webhook(body, authorization="Basic dXNlcjpwYXNz", expected_authorization=token)
    assert hook.webhook_code == "historical_update"
    with pytest.raises(BelvoWebhookError, match="request_id"):
        parse_belvo_webhook(body, expected_request_ids={"other"})
    with pytest.raises(BelvoWebhookError) as err:
        parse_belvo_webhook(b'{"webhook_id": 1}')
    assert {p.path for p in err.value.problems} == {"webhook_id", "webhook_type", "webhook_code"}
    with pytest.raises(BelvoWebhookError, match="JSON"):
        parse_belvo_webhook(b"nope")


# -- listing -----------------------------------------------------------------------------------------------
def test_list_is_lazy_and_follows_next(fake_belvo: FakeBelvo, belvo_auth: BelvoAuth) -> None:
    fake_belvo.store([inv for inv in belvo_invoices() if inv["link"] == LINK][:5])
    fake_belvo.store([inv for inv in belvo_invoices() if inv["link"] == OTHER_LINK])
    with client(fake_belvo, belvo_auth) as c:
        iterator = c.list_invoices(LINK, page_size=2)
        assert fake_belvo.requests == []
        first = next(iterator)
        assert len(fake_belvo.requests) == 1
        rest = list(iterator)
    assert len([first, *rest]) == 5
    assert all(i.link == LINK for i in [first, *rest])
    pages = [r.query for r in fake_belvo.requests]
    assert pages == [
        {"page": "1", "page_size": "2", "link": LINK},
        {"page": "2", "page_size": "2", "link": LINK},
        {"page": "3", "page_size": "2", "link": LINK},
    ]


def test_list_page_size_is_checked(fake_belvo: FakeBelvo, belvo_auth: BelvoAuth) -> None:
    with client(fake_belvo, belvo_auth) as c, pytest.raises(ValidationError, match="page_size"):
        next(c.list_invoices(LINK, page_size=1001))


def test_next_link_to_another_host_is_not_followed() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200, json={"count": 3, "next": "https://evil.example/api/cl/invoices/?page=2", "results": []}
        )

    auth = BelvoAuth("id", Secret("pw"))
    with (
        BelvoClient(
            auth, base_url="sandbox", http_client=httpx.Client(transport=httpx.MockTransport(handler))
        ) as c,
        pytest.raises(UnexpectedResponseError, match=r"evil\.example"),
    ):
        list(c.list_invoices(LINK))


def test_get_and_delete(fake_belvo: FakeBelvo, belvo_auth: BelvoAuth) -> None:
    stored = belvo_invoices()[0]
    fake_belvo.store([stored])
    with client(fake_belvo, belvo_auth) as c:
        invoice = c.get_invoice(str(stored["id"]), fields=["id", "folio"])
        assert invoice.folio == stored["folio"]
        c.delete_invoice(invoice.id)
        with pytest.raises(BelvoNotFoundError) as err:
            c.get_invoice(invoice.id)
    assert err.value.code == "not_found"
    assert err.value.request_id is not None and len(err.value.request_id) == 32
    assert [r.method for r in fake_belvo.requests] == ["GET", "DELETE", "GET"]
    assert fake_belvo.requests[0].query == {"fields": "id,folio"}


# -- errors ------------------------------------------------------------------------------------------------
def test_wrong_credentials(fake_belvo: FakeBelvo) -> None:
    auth = BelvoAuth(fake_belvo.secret_id, Secret("not-the-password"))
    with client(fake_belvo, auth) as c, pytest.raises(BelvoAuthenticationError) as err:
        c.retrieve_invoices(LINK, "2024-01-01", "2024-01-31")
    assert isinstance(err.value, AuthenticationError)
    assert err.value.code == "authentication_failed"
    assert err.value.status == 401
    assert "not-the-password" not in str(err.value)


def test_field_error_carries_code_field_and_request_id(fake_belvo: FakeBelvo, belvo_auth: BelvoAuth) -> None:
    with client(fake_belvo, belvo_auth) as c, pytest.raises(BelvoBadRequestError) as err:
        c.retrieve_invoices("00000000-0000-4000-8000-000000000000", "2024-01-01", "2024-01-31")
    error = err.value
    assert isinstance(error, BadRequestError)
    assert (error.code, error.field) == ("does_not_exist", "link")
    assert error.request_id is not None and len(error.request_id) == 32
    assert error.request_id in str(error)
    assert not error.retry_later


def test_every_error_of_the_array_is_kept(fake_belvo: FakeBelvo, belvo_auth: BelvoAuth) -> None:
    fake_belvo.faults.errors.append(
        (
            400,
            [
                {
                    "request_id": "f" * 32,
                    "code": "required",
                    "message": "This field is required.",
                    "field": "link",
                },
                {
                    "request_id": "f" * 32,
                    "code": "null",
                    "message": "This field may not be null.",
                    "field": "date_to",
                },
            ],
        )
    )
    fake_belvo.faults.errors.append(
        (400, [{"request_id": "e" * 32, "code": "too_many_sessions", "message": "Impossible to login"}])
    )
    with client(fake_belvo, belvo_auth) as c:
        with pytest.raises(BelvoBadRequestError) as err:
            c.retrieve_invoices(LINK, "2024-01-01", "2024-01-31")
        assert [(e.code, e.field) for e in err.value.errors] == [("required", "link"), ("null", "date_to")]
        with pytest.raises(BelvoBadRequestError) as err2:
            c.retrieve_invoices(LINK, "2024-01-01", "2024-01-31")
    assert err2.value.retry_later


def test_request_timeout_suggests_a_narrower_range(fake_belvo: FakeBelvo, belvo_auth: BelvoAuth) -> None:
    fake_belvo.faults.request_timeout = 1
    with client(fake_belvo, belvo_auth) as c, pytest.raises(BelvoRequestTimeoutError) as err:
        c.retrieve_invoices(LINK, "2024-01-01", "2024-12-30")
    message = str(err.value)
    assert err.value.code == "request_timeout"
    assert err.value.status == 408
    assert "narrower date range" in message
    assert "2024-01-01..2024-12-30 (365 days)" in message
    assert len(fake_belvo.requests) == 1


def test_unexpected_error_retried_at_most_three_times(fake_belvo: FakeBelvo, belvo_auth: BelvoAuth) -> None:
    fake_belvo.faults.unexpected_error = 2
    with client(fake_belvo, belvo_auth) as c:
        assert c.retrieve_invoices(LINK, "2024-01-01", "2024-01-31")
    assert len(fake_belvo.requests) == 3
    fake_belvo.requests.clear()
    fake_belvo.faults.unexpected_error = 10
    with client(fake_belvo, belvo_auth) as c, pytest.raises(BelvoServerError) as err:
        c.retrieve_invoices(LINK, "2024-01-01", "2024-01-31")
    assert err.value.code == "unexpected_error"
    assert len(fake_belvo.requests) == 4


def test_read_timeout_on_list_is_retried_then_a_transport_error(
    fake_belvo: FakeBelvo, belvo_auth: BelvoAuth
) -> None:
    fake_belvo.faults.delay_seconds = 2.0
    retry = RetryPolicy(max_attempts=2, backoff_base=0.01)
    with client(fake_belvo, belvo_auth, timeout=0.25, retry=retry) as c, pytest.raises(TransportError):
        list(c.list_invoices(LINK))
    assert len(fake_belvo.requests) == 2


def test_auth_configuration() -> None:
    with pytest.raises(ConfigError, match="BELVO_SECRET_PASSWORD"):
        BelvoAuth.from_env(environ={"BELVO_SECRET_ID": "x"})
    auth = BelvoAuth.from_env(
        environ={"ID": "id-a", "PW": "pw-b"}, secret_id_env="ID", secret_password_env="PW"
    )
    assert (auth.secret_id, auth.secret_password) == (Secret("id-a"), Secret("pw-b"))
    assert "id-a" not in repr(auth) and "pw-b" not in repr(auth)
    assert BelvoAuth("id-a", "pw-b") == auth
    with pytest.raises(ConfigError):
        BelvoAuth("", Secret("x"))
    with pytest.raises(ConfigError, match="neither"):
        BelvoClient(auth, base_url="staging")


@pytest.mark.parametrize(
    ("name", "url"), [("sandbox", "https://sandbox.belvo.com"), ("production", "https://api.belvo.com")]
)
def test_environments_by_name(name: str, url: str) -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(200, json=[])

    auth = BelvoAuth("id", Secret("pw"))
    transport = httpx.Client(transport=httpx.MockTransport(handler))
    with BelvoClient(auth, base_url=name, http_client=transport, today=lambda: TODAY) as c:
        assert c.retrieve_invoices(LINK, "2025-01-01", "2025-01-31") == []
    assert seen == [url + INVOICES_PATH]


def test_failure_in_a_later_chunk_keeps_the_earlier_invoices() -> None:
    first_chunk = [sample_belvo_invoice(LINK, date(2023, 3, 1), folio=1)]
    answers = [
        httpx.Response(201, content=dumps(first_chunk)),
        httpx.Response(
            408,
            json=[{"request_id": "a" * 32, "code": "request_timeout", "message": "The request timed out"}],
        ),
    ]

    def handler(request: httpx.Request) -> httpx.Response:
        return answers.pop(0)

    auth = BelvoAuth("id", Secret("pw"))
    http = httpx.Client(transport=httpx.MockTransport(handler))
    with (
        BelvoClient(auth, http_client=http, today=lambda: TODAY) as c,
        pytest.raises(BelvoRequestTimeoutError) as err,
    ):
        c.retrieve_invoices(LINK, "2023-01-01", "2024-06-30")
    assert [i.folio for i in err.value.partial_invoices] == ["1"]
    assert err.value.failed_range == (date(2024, 1, 1), date(2024, 6, 30))
    assert "2024-01-01..2024-06-30 (182 days)" in str(err.value)
