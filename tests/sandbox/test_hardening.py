"""Issue #10 items 2 and 4 against the simulator and every reader of a signed document.

Item 2, comment injection: ``<TotalComprobante>1<!---->1300.00000</TotalComprobante>`` keeps the signature
valid (C14N without comments) while a reader taking ``.text`` would read ``1``. Every reader must read what
was signed: ``from_xml``, ``check_rules``, ``Receiver.import_voucher``, the simulator and
``decode_respuesta``.

Item 4, the simulator's request bodies: a chunk size ``-1`` or bad hex, a bad fault description and deep JSON
are answered 400 with a JSON body (never 500, never an unbounded read), and its threads are bounded.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from cr_einvoice.core.xmlsafe import parse_untrusted
from cr_einvoice.hacienda import decode_respuesta
from cr_einvoice.outbox.issuing import IssuerSettings
from cr_einvoice.outbox.receiving import Receiver
from cr_einvoice.outbox.store import open_store
from cr_einvoice.sandbox import Simulator
from cr_einvoice.signing.certs import Credential
from cr_einvoice.signing.xades import SignatureProfile, Signer, SignerConfig, TrustStore, verify
from cr_einvoice.testing.pki import TestPKI
from cr_einvoice.vouchers.rules import check_rules
from cr_einvoice.vouchers.xmlread import from_xml

EMISOR = "3101123456"
RECEPTOR = "112345678"
TOTAL = b"<TotalComprobante>11300.00000</TotalComprobante>"
INJECTED = b"<TotalComprobante>1<!---->1300.00000</TotalComprobante>"


@pytest.fixture
def injected(vouchers: Any) -> tuple[str, bytes]:
    """A supplier invoice of 11,300.00000 signed with a comment inside TotalComprobante."""
    v = vouchers.fe_xml()
    assert TOTAL in v.xml
    signed = vouchers.signer.sign(v.xml.replace(TOTAL, INJECTED))
    assert INJECTED in signed
    return v.clave, signed


def test_the_signature_stays_valid_and_every_reader_reads_the_signed_total(
    injected: tuple[str, bytes], pki: TestPKI
) -> None:
    _, signed = injected
    assert verify(signed, TrustStore.from_pem_files(pki.ca_cert_pem)).signer_cedula == EMISOR
    doc: Any = from_xml(signed)
    assert (doc.stated_resumen or doc.resumen).total_comprobante == Decimal("11300.00000")
    assert not [p for p in check_rules(parse_untrusted(signed)) if "TotalComprobante" in p.path]


def test_receiver_imports_the_signed_total(
    injected: tuple[str, bytes], signer: Signer, pki: TestPKI, tmp_path: Path
) -> None:
    store = open_store(tmp_path / "r.db", create=True)
    try:
        receiver = Receiver(
            store,
            signer,
            IssuerSettings("01", RECEPTOR, "Cliente de Pruebas"),
            trust=TrustStore.from_pem_files(pki.ca_cert_pem),
            validate_xsd=False,
        )
        record = receiver.import_voucher(injected[1])
        assert Decimal(record.total_comprobante) == Decimal("11300.00000")  # not 1
    finally:
        store.close()


def test_the_simulator_reads_the_signed_total(injected: tuple[str, bytes], api: Any, pki: TestPKI) -> None:
    clave, signed = injected
    read: Any = from_xml(signed)
    fecha = read.fecha_emision.isoformat(timespec="seconds")
    assert api.submit(SimpleNamespace(clave=clave, fecha=fecha, xml=signed)).status_code == 202
    answer = api.wait_final(clave)
    assert answer["ind-estado"] == "aceptado", answer
    respuesta = decode_respuesta(
        answer["respuesta-xml"], trust=TrustStore.from_pem_files(pki.sello_ca_cert_pem)
    )
    assert respuesta.total_factura == Decimal("11300.00000")


def test_decode_respuesta_reads_the_signed_total(sello: Credential, pki: TestPKI) -> None:
    xml = (
        b'<?xml version="1.0" encoding="UTF-8"?><MensajeHacienda xmlns="https://cdn.comprobanteselectronicos.go.cr'
        b'/xml-schemas/v4.4/mensajeHacienda"><Clave>' + b"5" * 50 + b"</Clave><NombreEmisor>E</NombreEmisor>"
        b"<TipoIdentificacionEmisor>02</TipoIdentificacionEmisor><NumeroCedulaEmisor>3101123456"
        b"</NumeroCedulaEmisor><Mensaje>3<!---->1</Mensaje><EstadoMensaje>Aceptado</EstadoMensaje>"
        b"<DetalleMensaje>ok</DetalleMensaje><TotalFactura>1<!---->1300.00000</TotalFactura></MensajeHacienda>"
    )
    signed = Signer(sello, SignerConfig(profile=SignatureProfile.HACIENDA_RESPONSE)).sign(xml)
    respuesta = decode_respuesta(signed, trust=TrustStore.from_pem_files(pki.sello_ca_cert_pem))
    assert respuesta.total_factura == Decimal("11300.00000")
    assert respuesta.mensaje == 31  # "3<!---->1" was signed as 31: not a 3 (rechazado) read from a prefix


def test_with_comments_canonicalization_is_refused(vouchers: Any) -> None:
    from cr_einvoice.signing.xades import UnsupportedAlgorithmError

    signed = vouchers.fe().xml
    exc = b"http://www.w3.org/2001/10/xml-exc-c14n#"
    assert exc + b'"' in signed
    with_comments = signed.replace(exc + b'"', exc + b'WithComments"')
    with pytest.raises(UnsupportedAlgorithmError, match="with comments"):
        verify(with_comments)


# -- item 4: request bodies and threads ----------------------------------------------------------------


def raw_request(sim: Simulator, request: bytes, *, timeout: float = 5.0) -> tuple[int, bytes]:
    """Send raw bytes, return the status and body of the answer (the connection is closed after it)."""
    with socket.create_connection(("127.0.0.1", sim.port), timeout=timeout) as conn:
        conn.sendall(request)
        data = b""
        while True:
            try:
                chunk = conn.recv(65536)
            except TimeoutError:
                break
            if not chunk:
                break
            data += chunk
            head, _, body = data.partition(b"\r\n\r\n")
            if b"content-length:" in head.lower():
                length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
                if len(body) >= length:
                    break
    status = int(data.split(b" ", 2)[1])
    return status, data.partition(b"\r\n\r\n")[2]


@pytest.mark.parametrize("size", [b"-1", b"zz", b"0x10", b"1" * 20, b""])
def test_bad_chunk_sizes_are_a_400_before_authentication(sim: Simulator, size: bytes) -> None:
    request = (
        b"POST /recepcion/v1/recepcion HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
        b"Content-Type: application/json\r\n\r\n" + size + b"\r\n" + b"A" * 4096
    )
    started = time.monotonic()
    status, body = raw_request(sim, request)
    assert status == 400
    assert "message" in json.loads(body)
    assert time.monotonic() - started < 4  # answered at once, not after reading to EOF


def test_a_chunked_body_over_the_limit_is_cut_off(make_sim: object) -> None:
    small = make_sim(max_body_bytes=1000)  # type: ignore[operator]
    request = (
        b"POST /recepcion/v1/recepcion HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        + (b"200\r\n" + b"A" * 0x200 + b"\r\n") * 3
        + b"0\r\n\r\n"
    )
    assert raw_request(small, request)[0] == 413


def test_chunked_with_content_length_is_refused(sim: Simulator) -> None:
    request = (
        b"POST /recepcion/v1/recepcion HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
        b"Content-Length: 5\r\n\r\n0\r\n\r\n"
    )
    assert raw_request(sim, request)[0] == 400


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 100_000,
        b'{"fail_next": 5}',
        b'{"drop_next": "x"}',
        b'{"fail_next": {"n": "many"}}',
        b"[1, 2]",
        b'{"delay_seconds": NaN}',
        b"\xff",
    ],
)
def test_bad_fault_descriptions_are_a_400_with_a_json_body(sim: Simulator, body: bytes) -> None:
    response = httpx.post(sim.admin_url + "faults", content=body)
    assert response.status_code == 400, response.text
    assert response.json()["message"]
    assert "Traceback" not in response.text


def test_deep_json_in_a_submission_is_a_400(sim: Simulator, api: Any) -> None:
    response = httpx.post(sim.base_url + "recepcion", content=b'{"clave":' * 100_000, headers=api.auth())
    assert response.status_code == 400
    assert "nests 100000 levels deep" in response.headers["X-Error-Cause"]
    assert response.json()["message"]


def test_threads_are_bounded(make_sim: object) -> None:
    """Idle connections beyond ``max_threads`` get no thread of their own: they are answered 503."""
    small = make_sim(max_threads=2)  # type: ignore[operator]
    before = threading.active_count()
    idle = [socket.create_connection(("127.0.0.1", small.port)) for _ in range(2)]
    try:
        time.sleep(0.3)
        assert threading.active_count() <= before + 2
        status, _ = raw_request(small, b"GET /_simulator/faults HTTP/1.1\r\nHost: x\r\n\r\n")
        assert status == 503
        assert threading.active_count() <= before + 2
    finally:
        for conn in idle:
            conn.close()
    time.sleep(0.3)
    assert (
        raw_request(small, b"GET /_simulator/faults HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")[0]
        == 200
    )
