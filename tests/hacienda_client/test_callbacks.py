"""Callbacks: body parsing and verification, URL tokens, the ASGI app in memory and under uvicorn."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from pathlib import Path
from typing import Any

import httpx
import pytest
from hacienda_fakes import uvicorn_server
from hc_support import CLAVE, CLAVE2, CONSECUTIVO_MR, mensaje_hacienda_xml

from cr_einvoice.core.secret import Secret
from cr_einvoice.hacienda import (
    CallbackError,
    CallbackResult,
    callback_app,
    callback_token,
    callback_url,
    parse_callback,
)
from cr_einvoice.signing.xades import Signer, TrustStore
from cr_einvoice.testing.pki import make_test_pki

SECRET = Secret("callback-secret-for-tests")


@pytest.fixture(scope="module")
def signed_ok(sello_signer: Signer) -> bytes:
    return sello_signer.sign(mensaje_hacienda_xml())


@pytest.fixture(scope="module")
def signed_rejected(sello_signer: Signer) -> bytes:
    return sello_signer.sign(mensaje_hacienda_xml(mensaje=3, estado="Rechazado"))


def body(
    respuesta: bytes | None, *, clave: str = CLAVE, estado: str = "aceptado", style: str = "hyphen"
) -> bytes:
    keys = {"hyphen": ("ind-estado", "respuesta-xml"), "camel": ("indEstado", "respuestaXml")}[style]
    data: dict[str, Any] = {"clave": clave, "fecha": "2026-03-01T10:00:05-0600", keys[0]: estado}
    if respuesta is not None:
        data[keys[1]] = base64.b64encode(respuesta).decode()
    return json.dumps(data).encode()


# -- parse_callback ------------------------------------------------------------------------------------


@pytest.mark.parametrize("style", ["hyphen", "camel"])
def test_accepted_callback(style: str, signed_ok: bytes, sello_trust: TrustStore) -> None:
    result = parse_callback(
        body(signed_ok, style=style, estado="ACEPTADO"), trust=sello_trust, known_claves={CLAVE}
    )
    assert isinstance(result, CallbackResult)
    assert result.clave == CLAVE
    assert result.estado == "aceptado"
    assert result.ind_estado == "aceptado"
    assert result.fecha is not None and result.fecha.utcoffset() is not None
    assert result.respuesta.verified
    assert result.respuesta.signature is not None and result.respuesta.signature.trusted


def test_known_claves_as_predicate_and_mensaje_receptor_keys(
    signed_ok: bytes, sello_trust: TrustStore
) -> None:
    mr = f"{CLAVE}-{CONSECUTIVO_MR}"
    result = parse_callback(body(signed_ok, clave=mr), trust=sello_trust, known_claves=lambda k: k == mr)
    assert result.clave == mr
    with pytest.raises(CallbackError) as info:
        parse_callback(body(signed_ok), known_claves=lambda k: k == CLAVE2)
    assert info.value.http_status == 403


@pytest.mark.parametrize(
    ("payload", "status", "message"),
    [
        (b"x" * 300_000, 413, "over the"),
        (b"\xff\xfe", 400, "not UTF-8 JSON"),
        (b"{not json", 400, "not UTF-8 JSON"),
        (b"[1, 2]", 400, "not a JSON object"),
        (json.dumps({"ind-estado": "aceptado"}).encode(), 400, "no valid clave"),
        (json.dumps({"clave": "../../etc", "ind-estado": "aceptado"}).encode(), 400, "no valid clave"),
        (json.dumps({"clave": CLAVE, "respuesta-xml": "PD94"}).encode(), 400, "no ind-estado"),
        (body(None), 422, "no signed respuesta-xml"),
        (
            json.dumps({"clave": CLAVE, "ind-estado": "aceptado", "respuesta-xml": "%%%"}).encode(),
            400,
            "unusable",
        ),
    ],
)
def test_malformed_oversize_and_unsigned_bodies(payload: bytes, status: int, message: str) -> None:
    with pytest.raises(CallbackError, match=message) as info:
        parse_callback(payload)
    assert info.value.http_status == status


def test_unsigned_respuesta_is_refused() -> None:
    with pytest.raises(CallbackError, match="signature does not verify") as info:
        parse_callback(body(mensaje_hacienda_xml()))
    assert info.value.http_status == 403


def test_forged_outcome_is_refused(signed_rejected: bytes) -> None:
    forged = signed_rejected.replace(b"<Mensaje>3</Mensaje>", b"<Mensaje>1</Mensaje>").replace(
        b"Rechazado", b"Aceptado"
    )
    with pytest.raises(CallbackError, match="signature does not verify"):
        parse_callback(body(forged))


def test_json_outcome_must_agree_with_the_signed_one(signed_rejected: bytes, sello_trust: TrustStore) -> None:
    with pytest.raises(CallbackError, match="signed respuesta says 'rechazado'") as info:
        parse_callback(body(signed_rejected, estado="aceptado"), trust=sello_trust)
    assert info.value.http_status == 422
    assert parse_callback(body(signed_rejected, estado="rechazado"), trust=sello_trust).estado == "rechazado"
    # A non-final ind-estado is informational: the signed answer decides.
    assert parse_callback(body(signed_rejected, estado="procesando"), trust=sello_trust).estado == "rechazado"


def test_respuesta_about_another_clave_is_refused(signed_ok: bytes) -> None:
    with pytest.raises(CallbackError, match=f"respuesta is about clave {CLAVE}, not {CLAVE2}") as info:
        parse_callback(body(signed_ok, clave=CLAVE2))
    assert info.value.http_status == 403


def test_untrusted_or_wrong_signer(signed_ok: bytes, tmp_path: Path) -> None:
    with pytest.raises(CallbackError) as info:
        parse_callback(body(signed_ok), expected_cedula="CPJ-3-101-999999")
    assert info.value.http_status == 403
    other = make_test_pki(tmp_path, rc2=False)  # another CA than the one that issued the sello
    with pytest.raises(CallbackError, match="does not chain"):
        parse_callback(body(signed_ok), trust=TrustStore.from_pem_files(other.sello_ca_cert_pem))


def test_callback_tokens() -> None:
    token = callback_token(SECRET, CLAVE)
    assert token == callback_token(SECRET, CLAVE)
    assert token != callback_token(SECRET, CLAVE2)
    assert token != callback_token(Secret("other"), CLAVE)
    assert len(token) >= 43
    assert callback_url("https://me.example/hacienda/cb/", CLAVE, SECRET) == (
        f"https://me.example/hacienda/cb/{CLAVE}/{token}"
    )
    assert SECRET.reveal() not in token


# -- the ASGI app --------------------------------------------------------------------------------------


async def post(app: Any, path: str, content: bytes, method: str = "POST") -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://callbacks.test") as client:
        return await client.request(method, path, content=content)


async def test_app_accepts_and_hands_over_sync_and_async(signed_ok: bytes, sello_trust: TrustStore) -> None:
    seen: list[CallbackResult] = []

    async def async_handler(result: CallbackResult) -> None:
        await asyncio.sleep(0)
        seen.append(result)

    for handler in (seen.append, async_handler):
        app = callback_app(handler, trust=sello_trust, secret=SECRET, path_prefix="/cb")
        path = f"/cb/{CLAVE}/{callback_token(SECRET, CLAVE)}"
        response = await post(app, path, body(signed_ok))
        assert response.status_code == 200
        assert response.text == "ok\n"
    assert [r.clave for r in seen] == [CLAVE, CLAVE]


async def test_app_refusals(signed_ok: bytes, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    seen: list[CallbackResult] = []
    app = callback_app(seen.append, secret=SECRET, path_prefix="/cb/", max_bytes=64 * 1024)
    good = f"/cb/{CLAVE}/{callback_token(SECRET, CLAVE)}"
    assert (await post(app, good, b"", method="GET")).status_code == 405
    assert (await post(app, "/other", body(signed_ok))).status_code == 404
    assert (await post(app, f"/cb/{CLAVE}/wrong-token", body(signed_ok))).status_code == 403
    assert (await post(app, f"/cb/{CLAVE}", body(signed_ok))).status_code == 403
    # The token is for CLAVE2 but the body is about CLAVE.
    other = f"/cb/{CLAVE2}/{callback_token(SECRET, CLAVE2)}"
    assert (await post(app, other, body(signed_ok))).status_code == 403
    assert (await post(app, good, b"{" + b" " * 70_000 + b"}")).status_code == 413
    assert (await post(app, good, body(None))).status_code == 422
    assert (await post(app, good, b"garbage")).status_code == 400
    assert seen == []
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("cr_einvoice"))
    assert "callback refused" in ours
    assert callback_token(SECRET, CLAVE) not in ours  # the app never logs tokens (the test client does)
    assert SECRET.reveal() not in caplog.text


async def test_app_hands_a_mensaje_receptor_callback_over_under_its_bound_key(
    signed_ok: bytes, sello_trust: TrustStore
) -> None:
    """The URL token is bound to ``clave-consecutivoReceptor``; a body naming only the confirmed voucher's
    clave is accepted there and handed over under the bound key. Another voucher's body is still refused."""
    seen: list[CallbackResult] = []
    app = callback_app(seen.append, trust=sello_trust, secret=SECRET, path_prefix="/cb/")
    key = f"{CLAVE}-00100001050000000007"
    response = await post(app, f"/cb/{key}/{callback_token(SECRET, key)}", body(signed_ok))
    assert response.status_code == 200
    assert [r.clave for r in seen] == [key]
    other = f"{CLAVE2}-00100001050000000007"
    response = await post(app, f"/cb/{other}/{callback_token(SECRET, other)}", body(signed_ok))
    assert response.status_code == 403
    assert len(seen) == 1


async def test_app_streams_body_limit_without_content_length(signed_ok: bytes) -> None:
    app = callback_app(lambda r: None, max_bytes=1000)
    sent: list[dict[str, Any]] = []
    chunks = [{"type": "http.request", "body": b"x" * 600, "more_body": True}] * 3

    async def receive() -> dict[str, Any]:
        return chunks.pop(0)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/", "headers": []}
    await app(scope, receive, send)
    assert sent[0]["status"] == 413
    assert len(chunks) == 1  # it stopped reading once over the limit


async def test_app_answers_500_when_the_handler_fails(signed_ok: bytes, sello_trust: TrustStore) -> None:
    def broken(result: CallbackResult) -> None:
        raise RuntimeError("database down")

    response = await post(callback_app(broken, trust=sello_trust), "/", body(signed_ok))
    assert response.status_code == 500


async def test_app_lifespan() -> None:
    app = callback_app(lambda r: None)
    messages = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return messages.pop(0)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app({"type": "lifespan"}, receive, send)
    assert [m["type"] for m in sent] == ["lifespan.startup.complete", "lifespan.shutdown.complete"]


def test_app_under_uvicorn_on_loopback(
    signed_ok: bytes, signed_rejected: bytes, sello_trust: TrustStore
) -> None:
    seen: list[CallbackResult] = []
    app = callback_app(
        seen.append, trust=sello_trust, known_claves={CLAVE}, secret=SECRET, path_prefix="/hacienda"
    )
    with uvicorn_server(app) as base:
        url = callback_url(f"{base}/hacienda", CLAVE, SECRET)
        assert (
            httpx.post(url, content=body(signed_ok), headers={"Content-Type": "application/json"}).status_code
            == 200
        )
        assert httpx.post(url, content=body(signed_rejected, estado="aceptado")).status_code == 422
        assert httpx.post(url, content=body(mensaje_hacienda_xml())).status_code == 403
        assert (
            httpx.post(callback_url(f"{base}/hacienda", CLAVE2, SECRET), content=body(signed_ok)).status_code
            == 403
        )
    assert len(seen) == 1
    assert seen[0].estado == "aceptado"
