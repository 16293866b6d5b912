"""GET /recepcion/{clave}, GET /comprobantes (pagination) and GET /comprobantes/{clave}."""

from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta, timezone

import pytest
from hacienda_fakes import FakeHacienda, Reply, loopback
from hc_support import CLAVE, CLAVE2, FAST_RETRY, environment_for, mensaje_hacienda_xml

from cr_einvoice.core.errors import NotFoundError, ValidationError
from cr_einvoice.hacienda import (
    AsyncClient,
    Client,
    Credentials,
    Environment,
    RespuestaMismatchError,
    UnexpectedResponseError,
)


def client_for(fake: FakeHacienda, env: Environment, creds: Credentials, **kw: object) -> Client:
    return Client(env, creds, transport=fake.transport(), clock=fake.clock, retry=FAST_RETRY, **kw)  # type: ignore[arg-type]


def async_client_for(fake: FakeHacienda, env: Environment, creds: Credentials, **kw: object) -> AsyncClient:
    return AsyncClient(env, creds, transport=fake.async_transport(), clock=fake.clock, retry=FAST_RETRY, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize("style", ["hyphen", "camel", "pascal"])
@pytest.mark.parametrize("estado", ["RECIBIDO", "procesando", "Aceptado", "rechazado", "error"])
def test_status_key_spellings_and_estado_case(
    style: str, estado: str, fake: FakeHacienda, mock_env: Environment, credentials: Credentials
) -> None:
    fake.set_state(CLAVE, estado, style=style)
    with client_for(fake, mock_env, credentials) as client:
        result = client.status(CLAVE)
    assert result.estado == estado.lower()
    assert result.final is (estado.lower() in {"aceptado", "rechazado"})
    assert result.clave == CLAVE
    assert result.fecha == datetime(2026, 3, 1, 10, 0, tzinfo=timezone(timedelta(hours=-6)))
    assert result.respuesta is None
    assert result.rate_limit is not None
    assert result.rate_limit.limit == 300


@pytest.mark.parametrize("style", ["hyphen", "camel", "pascal"])
def test_status_decodes_the_respuesta(
    style: str, fake: FakeHacienda, mock_env: Environment, credentials: Credentials
) -> None:
    xml = mensaje_hacienda_xml(mensaje=3, estado="Rechazado")
    fake.set_state(CLAVE, "rechazado", xml, style=style)
    with client_for(fake, mock_env, credentials, verify_respuestas=False) as client:
        result = client.status(CLAVE)
    assert result.respuesta is not None
    assert result.respuesta.xml == xml
    assert result.respuesta.mensaje == 3
    assert result.respuesta.estado == "rechazado"
    assert result.respuesta.signature is None


def test_status_refuses_a_respuesta_about_another_clave(
    fake: FakeHacienda, mock_env: Environment, credentials: Credentials
) -> None:
    fake.set_state(CLAVE, "aceptado", mensaje_hacienda_xml(CLAVE2))
    client = client_for(fake, mock_env, credentials, verify_respuestas=False)
    with client, pytest.raises(RespuestaMismatchError, match=CLAVE2):
        client.status(CLAVE)


def test_status_rejects_bad_claves_before_sending(
    fake: FakeHacienda, mock_env: Environment, credentials: Credentials
) -> None:
    with client_for(fake, mock_env, credentials) as client:
        for bad in ["123", CLAVE + "/../../x", CLAVE + "-12", f"{CLAVE}?x=1"]:
            with pytest.raises(ValidationError):
                client.status(bad)
            with pytest.raises(ValidationError):
                client.get(bad)
    assert fake.seen == []


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        (Reply(200, {"Content-Type": "text/html"}, b"<html>gateway</html>"), "not JSON"),
        (Reply(200, {}, b"[1, 2]"), "not a JSON object"),
        (Reply(200, {}, json.dumps({"clave": CLAVE}).encode()), "no ind-estado"),
        (Reply(204, {}, b""), "unexpected HTTP 204"),
    ],
)
def test_status_unexpected_bodies(
    reply: Reply, message: str, fake: FakeHacienda, mock_env: Environment, credentials: Credentials
) -> None:
    fake.script = [reply]
    with (
        client_for(fake, mock_env, credentials) as client,
        pytest.raises(UnexpectedResponseError, match=message),
    ):
        client.status(CLAVE)


def _records(n: int) -> list[dict[str, object]]:
    return [{"clave": f"{i:050d}", "fecha": "2026-03-01T10:00:00-06:00", "n": i} for i in range(n)]


def test_list_pages_lazily_with_content_range(
    fake: FakeHacienda, mock_env: Environment, credentials: Credentials
) -> None:
    fake.records = _records(7)
    with client_for(fake, mock_env, credentials) as client:
        iterator = client.list(emisor=("02", "3101123456"), page_size=3)
        assert fake.requests_to(r".*/comprobantes") == []  # nothing fetched yet
        first = next(iterator)
        assert first["n"] == 0
        assert len(fake.requests_to(r".*/comprobantes")) == 1
        rest = list(iterator)
    assert [r["n"] for r in [first, *rest]] == list(range(7))
    calls = fake.requests_to(r".*/comprobantes")
    assert [(c.query["offset"][0], c.query["limit"][0]) for c in calls] == [
        ("0", "3"),
        ("3", "3"),
        ("6", "3"),
    ]
    assert calls[0].query["emisor"] == ["02003101123456"]


def test_list_full_result_is_one_request(
    fake: FakeHacienda, mock_env: Environment, credentials: Credentials
) -> None:
    fake.records = _records(4)
    with client_for(fake, mock_env, credentials) as client:
        items = list(client.list(receptor="01000112345678"))
    assert len(items) == 4
    calls = fake.requests_to(r".*/comprobantes")
    assert len(calls) == 1
    assert calls[0].query["receptor"] == ["01000112345678"]


def test_list_respects_accept_range_and_offset(
    fake: FakeHacienda, mock_env: Environment, credentials: Credentials
) -> None:
    fake.records = _records(10)
    fake.max_page = 4
    with client_for(fake, mock_env, credentials) as client:
        items = list(client.list(offset=1, page_size=50))
    assert [r["n"] for r in items] == list(range(1, 10))
    calls = fake.requests_to(r".*/comprobantes")
    assert [(c.query["offset"][0], c.query["limit"][0]) for c in calls] == [
        ("1", "50"),
        ("5", "4"),
        ("9", "4"),
    ]


def test_list_empty_and_bad_arguments(
    fake: FakeHacienda, mock_env: Environment, credentials: Credentials
) -> None:
    with client_for(fake, mock_env, credentials) as client:
        assert list(client.list()) == []
        with pytest.raises(ValidationError):
            client.list(page_size=0)
        fake.script = [Reply(206, {"Content-Range": "garbage"}, b'[{"a": 1}]')]
        with pytest.raises(UnexpectedResponseError, match="Content-Range"):
            list(client.list())


def test_get_one_comprobante(fake: FakeHacienda, mock_env: Environment, credentials: Credentials) -> None:
    fake.records = [{"clave": CLAVE, "estado": "aceptado"}]
    with client_for(fake, mock_env, credentials) as client:
        assert client.get(CLAVE) == {"clave": CLAVE, "estado": "aceptado"}
        with pytest.raises(NotFoundError) as info:
            client.get(CLAVE2)
    assert info.value.clave == CLAVE2


async def test_async_list_get_and_status(
    fake: FakeHacienda, mock_env: Environment, credentials: Credentials
) -> None:
    fake.records = _records(5)
    fake.set_state(CLAVE, "aceptado", mensaje_hacienda_xml(), style="camel")
    async with async_client_for(fake, mock_env, credentials, verify_respuestas=False) as client:
        items = [item async for item in client.list(page_size=2)]
        assert [i["n"] for i in items] == list(range(5))
        assert await client.get(f"{3:050d}") == _records(5)[3]
        status = await client.status(CLAVE)
        assert status.respuesta is not None
        assert status.respuesta.aceptado
        assert client.rate_limit is not None
    assert len(fake.requests_to(r".*/comprobantes")) == 3


def test_list_over_loopback(fake: FakeHacienda, credentials: Credentials) -> None:
    fake.records = _records(12)
    with loopback(fake) as base, Client(environment_for(base), credentials, clock=fake.clock) as client:
        items = list(client.list(page_size=5))
    assert len(items) == 12
    assert len(fake.requests_to(r".*/comprobantes")) == 3


def test_status_respuesta_is_base64_of_the_exact_bytes(
    fake: FakeHacienda, mock_env: Environment, credentials: Credentials
) -> None:
    xml = mensaje_hacienda_xml(detalle="línea\r\nsegunda")
    fake.set_state(CLAVE, "aceptado", xml)
    assert base64.b64decode(fake.states[CLAVE]["respuesta-xml"]) == xml
    with client_for(fake, mock_env, credentials, verify_respuestas=False) as client:
        result = client.status(CLAVE)
    assert result.respuesta is not None
    assert result.respuesta.detalle_mensaje == "línea\r\nsegunda"
