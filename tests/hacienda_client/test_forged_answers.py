"""Issue #10 items 1 and 4 at the Hacienda edge: forged answers and hostile JSON.

The forgery: a MensajeHacienda signed by a self-made certificate carrying ``serialNumber=CPJ-2-100-042005``
(the TEST seal, whose CA nobody named). With the default trust (the bundled national PKI) it is "signature
valid but not trusted" in ``decode_respuesta``, ``cr-einvoice decode``, ``parse_callback`` and
``callback_app``, and the client's status parsing refuses it.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import pytest
from hc_support import CLAVE, mensaje_hacienda_xml

from cr_einvoice.app.cli import main
from cr_einvoice.core.errors import ValidationError
from cr_einvoice.hacienda import CallbackError, CallbackResult, callback_app, decode_respuesta, parse_callback
from cr_einvoice.hacienda.callbacks import CallbackNotTrustedError
from cr_einvoice.hacienda.recepcion import parse_status_response
from cr_einvoice.signing.xades import SignatureNotTrustedError, Signer, TrustStore
from cr_einvoice.testing.pki import TestPKI
from cr_einvoice.transport.http import Request


@pytest.fixture(scope="module")
def forged(sello_signer: Signer) -> bytes:
    """A rejection 'signed by Hacienda' while Hacienda said aceptado."""
    return sello_signer.sign(mensaje_hacienda_xml(mensaje=3, estado="Rechazado"))


def callback_body(respuesta: bytes, estado: str = "rechazado") -> bytes:
    data = {"clave": CLAVE, "ind-estado": estado, "respuesta-xml": base64.b64encode(respuesta).decode()}
    return json.dumps(data).encode()


def test_decode_respuesta_reports_valid_but_not_trusted(forged: bytes, sello_trust: TrustStore) -> None:
    with pytest.raises(SignatureNotTrustedError, match="signature valid but not trusted") as info:
        decode_respuesta(forged)
    assert info.value.result.signer_cedula == "2100042005" and not info.value.result.trusted
    named = decode_respuesta(forged, trust=sello_trust)  # the simulator's CA, named: trusted
    assert named.trusted and named.estado == "rechazado"


def test_cli_decode_exits_non_zero_for_an_untrusted_answer(
    forged: bytes, test_pki: TestPKI, tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "forged.xml"
    path.write_bytes(forged)
    assert main(["decode", str(path)]) == 1
    out = json.loads(capsys.readouterr().out)
    assert out["estado"] == "rechazado"  # still printed
    assert out["signature"]["valid"] is True
    assert out["signature"]["trusted"] is False
    assert out["signature"]["error"] == "SignatureNotTrustedError"
    assert main(["decode", str(path), "--trust", str(test_pki.sello_ca_cert_pem)]) == 0
    assert json.loads(capsys.readouterr().out)["signature"]["trusted"] is True


def test_parse_callback_refuses_a_forged_callback_distinctly(forged: bytes) -> None:
    with pytest.raises(CallbackNotTrustedError, match="signature valid but not trusted") as info:
        parse_callback(callback_body(forged), known_claves={CLAVE})
    assert info.value.http_status == 403
    assert "GET /recepcion" in str(info.value)
    # Handed over only when asked, marked untrusted: the caller confirms before acting on it.
    result = parse_callback(callback_body(forged), known_claves={CLAVE}, allow_untrusted=True)
    assert (result.trusted, result.estado) == (False, "rechazado")
    assert result.trust_problem and "not trusted" in result.trust_problem


async def test_callback_app_does_not_hand_a_forged_callback_over(forged: bytes) -> None:
    seen: list[CallbackResult] = []
    transport = httpx.ASGITransport(app=callback_app(seen.append))
    async with httpx.AsyncClient(transport=transport, base_url="http://cb.test") as client:
        response = await client.post("/", content=callback_body(forged))
    assert response.status_code == 403
    assert "not trusted" in response.text
    assert seen == []


def test_status_parsing_refuses_an_untrusted_answer(forged: bytes, sello_trust: TrustStore) -> None:
    body = {"clave": CLAVE, "ind-estado": "rechazado", "respuesta-xml": base64.b64encode(forged).decode()}
    request = Request("GET", f"https://api.test/recepcion/v1/recepcion/{CLAVE}", clave=CLAVE)
    response = httpx.Response(200, json=body, request=httpx.Request("GET", request.url))
    with pytest.raises(SignatureNotTrustedError):
        parse_status_response(response, request, trust=None, verify=True, expected_cedula="CPJ-2-100-042005")
    result = parse_status_response(
        response, request, trust=sello_trust, verify=True, expected_cedula="CPJ-2-100-042005"
    )
    assert result.respuesta is not None and result.respuesta.trusted


# -- item 4: hostile JSON ------------------------------------------------------------------------------


def test_deeply_nested_callback_is_a_400_not_a_recursion_error() -> None:
    with pytest.raises(CallbackError, match="nests 100000 levels deep") as info:
        parse_callback(b"[" * 100_000 + b"]" * 100_000, max_bytes=10**6)
    assert info.value.http_status == 400
    with pytest.raises(CallbackError, match="NaN is not JSON"):
        parse_callback(b'{"clave": NaN}')


async def test_callback_app_answers_400_to_deep_json() -> None:
    transport = httpx.ASGITransport(app=callback_app(lambda r: None, max_bytes=10**6))
    async with httpx.AsyncClient(transport=transport, base_url="http://cb.test") as client:
        response = await client.post("/", content=b"{" + b'"a":[' * 50_000)
    assert response.status_code == 400


def test_deep_status_answer_and_decode_file(tmp_path: Any, capsys: pytest.CaptureFixture[str]) -> None:
    request = Request("GET", f"https://api.test/recepcion/v1/recepcion/{CLAVE}", clave=CLAVE)
    deep = httpx.Response(200, content=b"[" * 100_000, request=httpx.Request("GET", request.url))
    with pytest.raises(Exception, match="nests 100000 levels deep") as info:
        parse_status_response(deep, request, trust=None, verify=True, expected_cedula=None)
    assert not isinstance(info.value, RecursionError)
    path = tmp_path / "deep.json"
    path.write_bytes(b'{"a":' * 100_000)
    assert main(["decode", str(path)]) == ValidationError.exit_code
    assert "nests 100000 levels deep" in capsys.readouterr().err
