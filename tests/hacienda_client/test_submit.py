"""POST /recepcion: body, success codes, duplicates, error classes, retries, ambiguity, rate limits."""

from __future__ import annotations

import base64
import socket

import httpx
import pytest
from hacienda_fakes import FakeClock, FakeHacienda, Reply, loopback
from hc_support import (
    CLAVE,
    CLAVE2,
    CONSECUTIVO_MR,
    FAST_RETRY,
    environment_for,
    mensaje_receptor_xml,
    voucher_xml,
)

from cr_einvoice.core.errors import (
    AuthenticationError,
    BadRequestError,
    ForbiddenError,
    NotFoundError,
    RateLimitedError,
    ServerError,
    TransportError,
    ValidationError,
)
from cr_einvoice.hacienda import (
    AlreadyReceived,
    AsyncClient,
    Client,
    Credentials,
    Environment,
    InvalidRequestBodyError,
    SubmitResult,
    submission_from_xml,
)
from cr_einvoice.transport.http import RateLimit, RetryPolicy


def client_for(fake: FakeHacienda, env: Environment, creds: Credentials, **kw: object) -> Client:
    kw.setdefault("retry", FAST_RETRY)
    return Client(env, creds, transport=fake.transport(), clock=fake.clock, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize("status", [201, 202])
def test_submit_success_statuses(
    status: int, fake: FakeHacienda, mock_env: Environment, credentials: Credentials
) -> None:
    fake.submit_status = status
    xml = voucher_xml()
    with client_for(fake, mock_env, credentials) as client:
        result = client.submit(xml, callback_url="https://me.example/cb/tok123")
    assert type(result) is SubmitResult
    assert result.status_code == status
    assert result.already_received is False
    assert result.clave == result.status_id == CLAVE
    assert result.location == f"/recepcion/v1/recepcion/{CLAVE}"
    assert result.rate_limit == RateLimit(300, 299, fake.rate["reset"])
    body = fake.received[CLAVE]
    assert base64.b64decode(body["comprobanteXml"]) == xml  # the exact bytes, not a re-serialisation
    assert body["clave"] == CLAVE
    assert body["fecha"] == "2026-03-01T10:00:00-06:00"
    assert body["emisor"] == {"tipoIdentificacion": "02", "numeroIdentificacion": "3101123456"}
    assert body["receptor"] == {"tipoIdentificacion": "01", "numeroIdentificacion": "112345678"}
    assert body["callbackUrl"] == "https://me.example/cb/tok123"
    assert "consecutivoReceptor" not in body
    post = fake.requests_to(r".*/recepcion")[0]
    assert post.headers["content-type"] == "application/json"


def test_fecha_is_sent_in_costa_rica_time_and_receptor_is_optional(
    fake: FakeHacienda, mock_env: Environment, credentials: Credentials
) -> None:
    xml = voucher_xml(fecha="2026-07-16T01:30:00Z", receptor=False)
    with client_for(fake, mock_env, credentials) as client:
        client.submit(xml)
    body = fake.received[CLAVE]
    assert body["fecha"] == "2026-07-15T19:30:00-06:00"
    assert "receptor" not in body
    assert "callbackUrl" not in body


def test_mensaje_receptor_submission(
    fake: FakeHacienda, mock_env: Environment, credentials: Credentials
) -> None:
    xml = mensaje_receptor_xml()
    with client_for(fake, mock_env, credentials) as client:
        result = client.submit(xml)
        assert result.status_id == f"{CLAVE}-{CONSECUTIVO_MR}"
        fake.set_state(result.status_id, "aceptado")
        assert client.status(result.status_id).estado == "aceptado"
    body = fake.received[result.status_id]
    assert body["clave"] == CLAVE  # the confirmed voucher's clave
    assert body["emisor"] == {"tipoIdentificacion": "02", "numeroIdentificacion": "3101123456"}  # the seller
    assert body["receptor"] == {"tipoIdentificacion": "01", "numeroIdentificacion": "112345678"}  # confirming
    assert body["consecutivoReceptor"] == CONSECUTIVO_MR
    assert body["fecha"] == "2026-03-02T09:30:00-06:00"
    assert fake.requests_to(rf".*/recepcion/{CLAVE}-{CONSECUTIVO_MR}")


def test_mensaje_receptor_consecutivo_must_agree_and_types_can_be_given() -> None:
    xml = mensaje_receptor_xml()
    with pytest.raises(ValidationError, match="differs"):
        submission_from_xml(xml, consecutivo_receptor="00100001050000000099")
    sub = submission_from_xml(xml, emisor_tipo="04")
    assert sub.emisor.tipo == "04"
    with pytest.raises(ValidationError, match="only to a MensajeReceptor"):
        submission_from_xml(voucher_xml(), consecutivo_receptor=CONSECUTIVO_MR)


def test_unsigned_or_foreign_documents_are_refused_before_sending() -> None:
    with pytest.raises(ValidationError, match="not signed"):
        submission_from_xml(voucher_xml(signed=False))
    with pytest.raises(ValidationError, match="50-digit"):
        submission_from_xml(voucher_xml(clave="123"))
    with pytest.raises(TypeError):
        submission_from_xml(voucher_xml().decode())  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="not a document"):
        submission_from_xml(b'<Other><ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"/></Other>')


def test_callback_url_must_be_https(
    fake: FakeHacienda, mock_env: Environment, credentials: Credentials
) -> None:
    with client_for(fake, mock_env, credentials) as client, pytest.raises(Exception, match="plain http"):
        client.submit(voucher_xml(), callback_url="http://me.example/cb")
    assert fake.requests_to(r".*/recepcion") == []


@pytest.mark.parametrize(
    "cause",
    [
        "El comprobante ya fue recibido anteriormente",
        f"El comprobante {CLAVE} ya fue recibido anteriormente.",
        "La numeración consecutiva del comprobante ... XML ya existe en nuestras bases de datos",
        "YA FUE RECIBIDO",
    ],
)
def test_already_received_is_a_distinct_outcome(
    cause: str, fake: FakeHacienda, mock_env: Environment, credentials: Credentials
) -> None:
    fake.script = [
        Reply(
            400,
            {
                "X-Error-Cause": cause,
                "X-Ratelimit-Limit": "10",
                "X-Ratelimit-Remaining": "3",
                "X-Ratelimit-Reset": "99",
            },
        )
    ]
    with client_for(fake, mock_env, credentials) as client:
        result = client.submit(voucher_xml())
    assert isinstance(result, AlreadyReceived)
    assert result.already_received is True
    assert result.error_cause == cause
    assert result.status_id == CLAVE
    assert result.rate_limit == RateLimit(10, 3, 99.0)


def test_resubmission_against_the_fake_is_already_received(
    fake: FakeHacienda, mock_env: Environment, credentials: Credentials
) -> None:
    with client_for(fake, mock_env, credentials) as client:
        first = client.submit(voucher_xml())
        second = client.submit(voucher_xml())
    assert not first.already_received
    assert isinstance(second, AlreadyReceived)


def test_validation_exception_means_invalid_json(
    fake: FakeHacienda, mock_env: Environment, credentials: Credentials
) -> None:
    fake.script = [Reply(400, {"validation-exception": "true", "X-Error-Cause": "fecha invalida"})]
    with client_for(fake, mock_env, credentials) as client, pytest.raises(InvalidRequestBodyError) as info:
        client.submit(voucher_xml())
    err = info.value
    assert isinstance(err, BadRequestError)
    assert "JSON body is invalid" in str(err)
    assert err.status == 400
    assert err.error_cause == "fecha invalida"
    assert err.clave == CLAVE
    assert len(fake.requests_to(r".*/recepcion")) == 1  # not retried


def test_plain_400_is_bad_request_with_cause(
    fake: FakeHacienda, mock_env: Environment, credentials: Credentials
) -> None:
    fake.script = [Reply(400, {"X-Error-Cause": "El emisor no existe"})]
    with client_for(fake, mock_env, credentials) as client, pytest.raises(BadRequestError) as info:
        client.submit(voucher_xml())
    assert type(info.value) is BadRequestError
    assert info.value.error_cause == "El emisor no existe"
    assert "X-Error-Cause: El emisor no existe" in str(info.value)


@pytest.mark.parametrize(
    ("status", "cls"),
    [(401, AuthenticationError), (403, ForbiddenError), (404, NotFoundError)],
)
def test_error_classes_carry_status_headers_cause_and_clave(
    status: int, cls: type[Exception], fake: FakeHacienda, mock_env: Environment, credentials: Credentials
) -> None:
    reply = Reply(status, {"X-Error-Cause": f"cause {status}", "X-Custom": "v"}, b'{"message":"no"}')
    fake.script = [reply, reply]
    with client_for(fake, mock_env, credentials) as client, pytest.raises(cls) as info:
        client.status(CLAVE2)
    err = info.value
    assert err.status == status  # type: ignore[attr-defined]
    assert err.headers["x-custom"] == "v"  # type: ignore[attr-defined]
    assert err.error_cause == f"cause {status}"  # type: ignore[attr-defined]
    assert err.clave == CLAVE2  # type: ignore[attr-defined]
    assert err.body == '{"message":"no"}'  # type: ignore[attr-defined]
    assert "authorization" not in {k.lower() for k in err.headers}  # type: ignore[attr-defined]


def test_404_from_the_fake_for_an_unknown_clave(
    fake: FakeHacienda, mock_env: Environment, credentials: Credentials
) -> None:
    with client_for(fake, mock_env, credentials) as client, pytest.raises(NotFoundError) as info:
        client.status(CLAVE2)
    assert info.value.error_cause == "El comprobante no existe"
    assert "keep polling" in str(info.value)


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_429_and_5xx_are_retried_then_succeed(
    status: int, fake: FakeHacienda, mock_env: Environment, credentials: Credentials
) -> None:
    fake.script = [Reply(status), Reply(status)]
    delays: list[float] = []
    with client_for(fake, mock_env, credentials, sleep=delays.append) as client:
        result = client.submit(voucher_xml())
    assert result.status_code == 202
    assert len(fake.requests_to(r".*/recepcion")) == 3
    assert len(delays) == 2
    assert all(0 <= d <= FAST_RETRY.backoff_max for d in delays)


@pytest.mark.parametrize(("status", "cls"), [(429, RateLimitedError), (503, ServerError)])
def test_429_and_5xx_exhausted(
    status: int, cls: type[Exception], fake: FakeHacienda, mock_env: Environment, credentials: Credentials
) -> None:
    fake.script = [Reply(status, {"X-Error-Cause": "ocupado"})] * 4
    with client_for(fake, mock_env, credentials, sleep=lambda _: None) as client, pytest.raises(cls) as info:
        client.submit(voucher_xml())
    assert info.value.status == status  # type: ignore[attr-defined]
    assert info.value.clave == CLAVE  # type: ignore[attr-defined]
    assert len(fake.requests_to(r".*/recepcion")) == FAST_RETRY.max_attempts


def test_backoff_is_exponential_with_jitter_and_honours_retry_after(
    fake: FakeHacienda, mock_env: Environment, credentials: Credentials
) -> None:
    policy = RetryPolicy(max_attempts=4, backoff_base=1.0, backoff_max=8.0)
    fake.script = [Reply(503), Reply(503), Reply(429, {"Retry-After": "7"})]
    delays: list[float] = []
    with client_for(fake, mock_env, credentials, retry=policy, sleep=delays.append) as client:
        client.submit(voucher_xml())
    assert len(delays) == 3
    assert 0 <= delays[0] <= 1.0
    assert 0 <= delays[1] <= 2.0
    assert delays[2] >= 7.0


def test_rate_limit_headers_are_exposed_and_honoured(
    fake: FakeHacienda, clock: FakeClock, mock_env: Environment, credentials: Credentials
) -> None:
    fake.rate = {"limit": 100, "remaining": 0, "reset": clock() + 12}
    slept: list[float] = []
    with client_for(fake, mock_env, credentials, sleep=slept.append) as client:
        first = client.submit(voucher_xml())
        assert first.rate_limit == RateLimit(100, 0, clock() + 12)
        assert client.rate_limit == first.rate_limit
        assert slept == []
        client.submit(voucher_xml(CLAVE2))  # the window is used up: wait for its reset first
    assert slept == [pytest.approx(12.0)]


def test_post_timeout_after_sending_is_not_resent(fake: FakeHacienda, credentials: Credentials) -> None:
    fake.set_state(CLAVE, "recibido")
    with loopback(fake) as base:
        env = environment_for(base)
        timeout = httpx.Timeout(connect=2.0, read=0.3, write=2.0, pool=2.0)
        with Client(env, credentials, clock=fake.clock, retry=FAST_RETRY, timeout=timeout) as client:
            fake.script = [Reply(202, delay=1.0)]
            with pytest.raises(TransportError) as info:
                client.submit(voucher_xml())
            assert info.value.request_sent is True
            assert "check its status" in str(info.value)
            assert len(fake.requests_to(r".*/recepcion")) == 1
            # A GET is idempotent: it is retried after a read timeout.
            fake.script = [Reply(200, delay=1.0)]
            assert client.status(CLAVE).estado == "recibido"
            assert len(fake.requests_to(rf".*/recepcion/{CLAVE}")) == 2


def test_post_connection_dropped_after_sending_is_ambiguous(
    fake: FakeHacienda, credentials: Credentials
) -> None:
    with (
        loopback(fake) as base,
        Client(environment_for(base), credentials, clock=fake.clock, retry=FAST_RETRY) as c,
    ):
        fake.script = [Reply(202, drop=True)]
        with pytest.raises(TransportError) as info:
            c.submit(voucher_xml())
        assert info.value.request_sent is True
        assert len(fake.requests_to(r".*/recepcion")) == 1


def _dead_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_connection_refused_is_retried_and_reported_as_not_sent(
    fake: FakeHacienda, credentials: Credentials
) -> None:
    with loopback(fake) as base:
        port = _dead_port()
        env = Environment.custom(
            token_url=f"{base}/auth/realms/test/protocol/openid-connect/token",
            recepcion_url=f"http://127.0.0.1:{port}/recepcion/v1/",
            client_id="api-test",
        )
        delays: list[float] = []
        client = Client(env, credentials, clock=fake.clock, retry=FAST_RETRY, sleep=delays.append)
        with client, pytest.raises(TransportError) as info:
            client.submit(voucher_xml())
        assert info.value.request_sent is False
        assert len(delays) == FAST_RETRY.max_attempts - 1  # a POST that never left is safe to retry


async def test_async_submit_errors_and_duplicates(
    fake: FakeHacienda, mock_env: Environment, credentials: Credentials
) -> None:
    async with AsyncClient(
        mock_env, credentials, transport=fake.async_transport(), clock=fake.clock, retry=FAST_RETRY
    ) as client:
        fake.script = [Reply(503), Reply(500)]
        first = await client.submit(voucher_xml())
        assert first.status_code == 202
        assert first.rate_limit is not None
        again = await client.submit(voucher_xml())
        assert isinstance(again, AlreadyReceived)
        fake.script = [Reply(400, {"validation-exception": "1"})]
        with pytest.raises(InvalidRequestBodyError):
            await client.submit(voucher_xml(CLAVE2))
        fake.script = [Reply(403, {"X-Error-Cause": "emisor ajeno"})]
        with pytest.raises(ForbiddenError) as info:
            await client.submit(voucher_xml(CLAVE2))
        assert info.value.error_cause == "emisor ajeno"
        fake.script = [Reply(503)] * 4
        with pytest.raises(ServerError):
            await client.status(CLAVE)


async def test_async_post_timeout_is_ambiguous(fake: FakeHacienda, credentials: Credentials) -> None:
    with loopback(fake) as base:
        timeout = httpx.Timeout(connect=2.0, read=0.3, write=2.0, pool=2.0)
        async with AsyncClient(
            environment_for(base), credentials, clock=fake.clock, retry=FAST_RETRY, timeout=timeout
        ) as client:
            fake.script = [Reply(202, delay=1.0)]
            with pytest.raises(TransportError) as info:
                await client.submit(voucher_xml())
    assert info.value.request_sent is True
    assert len(fake.requests_to(r".*/recepcion")) == 1


async def test_async_over_loopback_end_to_end(fake: FakeHacienda, credentials: Credentials) -> None:
    with loopback(fake) as base:
        async with AsyncClient(
            environment_for(base), credentials, clock=fake.clock, retry=FAST_RETRY
        ) as client:
            result = await client.submit(voucher_xml(), callback_url="http://127.0.0.1:9/cb")
            status = await client.status(result.status_id)
    assert status.estado == "recibido"
    assert status.respuesta is None
    assert fake.received[CLAVE]["callbackUrl"] == "http://127.0.0.1:9/cb"


def test_misspelt_submit_and_list_options_are_refused_at_run_time(
    fake: FakeHacienda, mock_env: Environment, credentials: Credentials
) -> None:
    with client_for(fake, mock_env, credentials) as client:
        with pytest.raises(TypeError, match="callbackurl"):
            client.submit(voucher_xml(), callbackurl="https://me.example/cb")  # type: ignore[call-arg]
        with pytest.raises(TypeError, match="pagesize"):
            client.list(pagesize=3)  # type: ignore[call-arg]
    assert not fake.received  # nothing was sent
