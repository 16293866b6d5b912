"""The recepción wire types are one definition shared by the client and the simulator: the POST body the
client builds is what the simulator reads, the status answer the simulator produces is what the client reads;
and the one "already received" decision on Hacienda's texts."""

from __future__ import annotations

import json

import httpx
import pytest
from hc_support import CLAVE, CONSECUTIVO_MR, environment_for, mensaje_receptor_xml, voucher_xml

from cr_einvoice.core.identifiers import Identificacion
from cr_einvoice.hacienda.callbacks import parse_callback
from cr_einvoice.hacienda.recepcion import (
    build_status_request,
    build_submit_request,
    parse_status_response,
    submission_from_xml,
)
from cr_einvoice.hacienda.wire import (
    Estado,
    RecepcionRequest,
    StatusAnswer,
    WireFormatError,
    is_already_received,
)
from cr_einvoice.sandbox.mensaje import MensajeHaciendaData, render_mensaje_hacienda
from cr_einvoice.sandbox.state import Submission
from cr_einvoice.signing.xades import Signer, TrustStore

ENV = environment_for("http://127.0.0.1:9/recepcion/v1/")
CALLBACK = "https://pos.example/hacienda/callback"


def _over_the_wire(body: object) -> bytes:
    """What an HTTP client puts on the wire for a JSON body."""
    return json.dumps(body).encode("utf-8")


@pytest.mark.parametrize("kind", ["voucher", "mensaje_receptor"])
def test_post_body_built_by_the_client_is_read_by_the_simulator(kind: str) -> None:
    xml = voucher_xml() if kind == "voucher" else mensaje_receptor_xml()
    submission = submission_from_xml(xml)
    request = build_submit_request(ENV, xml, submission, CALLBACK)

    received = RecepcionRequest.from_body(_over_the_wire(request.json))
    sub = Submission.received(received, "user", 0.0)

    assert received.clave == submission.clave == CLAVE
    assert received.emisor == submission.emisor
    assert received.receptor == submission.receptor
    assert received.comprobante_xml == xml  # the exact signed bytes
    assert received.callback_url == CALLBACK
    assert received.consecutivo_receptor == submission.consecutivo_receptor
    assert received.key == submission.status_id == sub.key
    if kind == "mensaje_receptor":
        assert sub.key == f"{CLAVE}-{CONSECUTIVO_MR}"
    assert received.to_json() == request.json  # and back, unchanged


def test_post_body_identifications_are_the_one_identificacion() -> None:
    body = build_submit_request(ENV, voucher_xml(), submission_from_xml(voucher_xml()), None).json
    received = RecepcionRequest.from_json(body)
    assert received.emisor == Identificacion.of("02", "3101123456")
    assert received.receptor == Identificacion.of("01", "112345678")
    assert "callbackUrl" not in body and received.callback_url is None


@pytest.mark.parametrize(
    ("change", "cause"),
    [
        ({"clave": "123"}, "El campo clave es requerido y debe tener 50 dígitos"),
        ({"emisor": None}, "El campo emisor es requerido"),
        ({"emisor": {"tipoIdentificacion": "99", "numeroIdentificacion": "3101123456"}}, "emisor.tipo"),
        ({"receptor": {"tipoIdentificacion": "01", "numeroIdentificacion": "12"}}, "receptor.numero"),
        ({"comprobanteXml": "@@"}, "no está codificado en Base64"),
        ({"consecutivoReceptor": "12"}, "consecutivoReceptor debe tener 20 dígitos"),
    ],
)
def test_simulator_refuses_bodies_that_break_the_wire_contract(change: dict[str, object], cause: str) -> None:
    body = build_submit_request(ENV, voucher_xml(), submission_from_xml(voucher_xml()), None).json
    body = {k: v for k, v in {**body, **change}.items() if v is not None}
    with pytest.raises(WireFormatError, match=cause) as info:
        RecepcionRequest.from_json(body)
    assert info.value.cause == str(info.value)


def _answered(sello_signer: Signer, estado: str) -> Submission:
    mensaje = 1 if estado == Estado.ACEPTADO else 3
    data = MensajeHaciendaData(
        clave=CLAVE,
        nombre_emisor="EMPRESA DE PRUEBAS",
        tipo_identificacion_emisor="02",
        numero_cedula_emisor="3101123456",
        mensaje=mensaje,
        detalle="",
        total_factura="1130.00",
    )
    request = RecepcionRequest.from_json(
        build_submit_request(ENV, voucher_xml(), submission_from_xml(voucher_xml()), CALLBACK).json
    )
    sub = Submission.received(request, "user", 0.0)
    sub.estado = estado
    sub.respuesta_xml = sello_signer.sign(render_mensaje_hacienda(data))
    return sub


@pytest.mark.parametrize("estado", [Estado.ACEPTADO, Estado.RECHAZADO])
@pytest.mark.parametrize("upper_case", [False, True])
def test_status_answer_produced_by_the_simulator_is_read_by_the_client(
    sello_signer: Signer, sello_trust: TrustStore, estado: Estado, upper_case: bool
) -> None:
    sub = _answered(sello_signer, estado)
    body = sub.answer().to_json(upper_case=upper_case)
    assert body["ind-estado"] == (estado.upper() if upper_case else estado)
    request = build_status_request(ENV, CLAVE)
    response = httpx.Response(200, content=_over_the_wire(body), headers={"Content-Type": "application/json"})

    result = parse_status_response(
        response, request, trust=sello_trust, verify=True, expected_cedula="CPJ-2-100-042005"
    )

    assert (result.clave, result.estado, result.final) == (CLAVE, estado, True)
    assert result.respuesta is not None and result.respuesta.estado == estado
    assert result.respuesta.xml == sub.respuesta_xml
    assert result.callback_url == CALLBACK
    assert result.fecha is not None and result.fecha.isoformat() == sub.fecha


def test_status_answer_round_trips_in_both_spellings(sello_signer: Signer, sello_trust: TrustStore) -> None:
    answer = _answered(sello_signer, Estado.ACEPTADO).answer()
    for camel_case in (False, True):
        body = answer.to_json(camel_case=camel_case, upper_case=camel_case)
        assert StatusAnswer.from_json(json.loads(_over_the_wire(body))) == answer
    # The Anexo 3 callback spelling is what the callback receiver reads.
    callback = parse_callback(
        _over_the_wire(answer.to_json(camel_case=True, upper_case=True)), trust=sello_trust
    )
    assert (callback.clave, callback.estado, callback.ind_estado) == (CLAVE, "aceptado", "aceptado")


def test_status_answer_before_processing_has_no_respuesta() -> None:
    request = RecepcionRequest.from_json(
        build_submit_request(ENV, voucher_xml(), submission_from_xml(voucher_xml()), None).json
    )
    answer = Submission.received(request, "user", 0.0).answer()
    assert (answer.estado, answer.respuesta_xml, answer.final) == (Estado.RECIBIDO, None, False)
    body = answer.to_json()
    assert "respuesta-xml" not in body and "callbackUrl" not in body
    result = parse_status_response(
        httpx.Response(200, json=body),
        build_status_request(ENV, CLAVE),
        trust=None,
        verify=True,
        expected_cedula=None,
    )
    assert (result.estado, result.respuesta, result.final) == ("recibido", None, False)


@pytest.mark.parametrize(
    "texts",
    [
        ("El comprobante ya fue recibido anteriormente",),
        ("El comprobante YA FUE RECIBIDO anteriormente",),
        ("El comprobante ya fué recibído anteriormente",),  # accents are folded away
        ("-99, El comprobante electrónico con la clave 506... ya existe en nuestras bases de datos",),
        ("YA EXISTE EN NUESTRAS BASES DE DATOS",),
        (None, "", '{"message": "El comprobante ya fue recibido"}'),  # any of the texts
    ],
)
def test_already_received_on_hacienda_texts(texts: tuple[str | None, ...]) -> None:
    assert is_already_received(*texts)


@pytest.mark.parametrize(
    "texts",
    [
        ("La firma del comprobante electrónico no es válida",),
        ("El comprobante no ha sido recibido",),
        ("ya existe",),  # a bare "ya existe" is not Hacienda's duplicate text
        (None,),
        (),
    ],
)
def test_plain_refusals_are_not_already_received(texts: tuple[str | None, ...]) -> None:
    assert not is_already_received(*texts)
