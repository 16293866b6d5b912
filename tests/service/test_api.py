"""The /v1 API over real HTTP (uvicorn on loopback) with the worker in the process, against the local Hacienda
simulator: issuing, idempotency under 200 concurrent POSTs, reading, listing, received vouchers, and the
refusals (auth, sizes, bodies, media types, rate), as problem documents."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any

import httpx
import pytest
from service_support import OTHER_EMISOR, Service, running_service, ticket_json

from cr_einvoice.app.demo import EMISOR, LocalSandbox
from cr_einvoice.core.clave import Clave
from cr_einvoice.service.settings import ServiceSettings


def post(service: Service, body: Any, **headers: str) -> httpx.Response:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return httpx.post(
        service.url + "/v1/vouchers",
        content=data,
        headers={"Content-Type": "application/json", **service.auth(), **headers},
        timeout=30,
    )


def post_xml(service: Service, path: str, content: bytes) -> httpx.Response:
    headers = {"Content-Type": "application/xml", **service.auth()}
    return httpx.post(service.url + path, content=content, headers=headers, timeout=30)


def problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status and body["type"].startswith("https://") and body["title"]
    assert isinstance(body["problems"], list)
    return body


def wait_final(service: Service, key: str, within: float = 30.0) -> dict[str, Any]:
    deadline = time.monotonic() + within
    while True:
        got = httpx.get(f"{service.url}/v1/vouchers/{key}", headers=service.auth(), timeout=10).json()
        if got["state"] in ("accepted", "rejected", "error") or time.monotonic() > deadline:
            return dict(got)
        time.sleep(0.1)


def test_issue_answers_at_once_and_the_worker_of_the_process_gets_hacienda_s_answer(service: Service) -> None:
    started = time.monotonic()
    response = post(service, ticket_json())
    assert response.status_code == 201, response.text
    issued = response.json()
    assert time.monotonic() - started < 5  # not waiting for Hacienda
    assert issued["state"] == "signed" and issued["created"] is True
    Clave.parse(issued["clave"])
    assert issued["consecutivo"] == issued["clave"][21:41]
    assert response.headers["location"] == f"/v1/vouchers/{issued['key']}"
    assert set(issued["links"]) == {"self", "xml", "respuesta", "pdf"}

    final = wait_final(service, issued["key"])
    assert final["state"] == "accepted"
    assert final["hacienda"]["estado"] == "aceptado"
    assert final["respuestas"] and final["respuestas"][-1]["errores"] == []

    xml = httpx.get(service.url + issued["links"]["xml"], headers=service.auth())
    assert xml.status_code == 200 and xml.headers["content-type"].startswith("application/xml")
    assert xml.content == service.box.runtime.store.require(issued["key"]).signed_xml  # the signed bytes
    respuesta = httpx.get(service.url + issued["links"]["respuesta"], headers=service.auth())
    assert respuesta.status_code == 200 and b"MensajeHacienda" in respuesta.content
    pdf = httpx.get(service.url + issued["links"]["pdf"], headers=service.auth(), timeout=30)
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF-") and pdf.content.rstrip().endswith(b"%%EOF")
    ticket = httpx.get(
        service.url + issued["links"]["pdf"] + "?format=80mm", headers=service.auth(), timeout=30
    )
    assert ticket.status_code == 200 and ticket.content.startswith(b"%PDF-") and ticket.content != pdf.content
    bad = problem(httpx.get(service.url + issued["links"]["pdf"] + "?format=A0", headers=service.auth()), 422)
    assert bad["problems"][0]["path"] == "format"
    refreshed = httpx.post(f"{service.url}/v1/vouchers/{issued['key']}/refresh", headers=service.auth())
    assert refreshed.status_code == 200 and refreshed.json()["ind_estado"] == "aceptado"
    ready = httpx.get(service.url + "/readyz")
    assert ready.status_code == 200 and ready.json()["worker"] == "running"
    assert httpx.get(service.url + "/healthz").json() == {"status": "ok"}


def test_200_concurrent_posts_make_no_duplicate_and_retries_return_the_same_voucher(service: Service) -> None:
    store = service.box.runtime.store
    before = len(store.list_vouchers(limit=1_000_000))
    body = json.dumps(ticket_json()).encode()

    async def run() -> list[httpx.Response]:
        limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
        async with httpx.AsyncClient(base_url=service.url, timeout=120, limits=limits) as client:

            async def one(i: int) -> httpx.Response:
                headers = {
                    "Content-Type": "application/json",
                    "Idempotency-Key": f"venta-{i // 2}",  # every sale sent twice at the same time
                    **service.auth(),
                }
                return await client.post("/v1/vouchers", content=body, headers=headers)

            return await asyncio.gather(*(one(i) for i in range(200)))

    responses = asyncio.run(run())
    assert [r.status_code for r in responses if r.status_code not in (200, 201)] == []
    by_sale: dict[int, set[str]] = {}
    for i, r in enumerate(responses):
        by_sale.setdefault(i // 2, set()).add(r.json()["clave"])
    assert all(len(claves) == 1 for claves in by_sale.values())  # a retry is the same voucher
    claves = {next(iter(c)) for c in by_sale.values()}
    assert len(claves) == 100
    assert sum(1 for r in responses if r.status_code == 201) == 100
    assert sum(1 for r in responses if r.headers.get("idempotent-replayed") == "true") == 100
    assert len(store.list_vouchers(limit=1_000_000)) == before + 100
    numbers = sorted(int(Clave.parse(c).consecutivo.numero) for c in claves)
    assert numbers == list(range(numbers[0], numbers[0] + 100))  # gapless, none repeated

    again = post(service, json.loads(body), **{"Idempotency-Key": "venta-7"})
    assert again.status_code == 200 and again.json()["clave"] in claves
    other_body = ticket_json(codigo_actividad_emisor="620100")
    reused = problem(post(service, other_body, **{"Idempotency-Key": "venta-7"}), 422)
    assert reused["problems"][0]["path"] == "Idempotency-Key"


def test_an_invalid_document_is_answered_422_naming_each_field(service: Service) -> None:
    data = ticket_json()
    data["lineas"][0]["cantidad"] = "-2"
    data["lineas"][1]["unidad_medida"] = "Furlong"
    body = problem(post(service, data), 422)
    paths = {p["path"] for p in body["problems"]}
    assert "lineas[0].cantidad" in paths and "lineas[1].unidad_medida" in paths
    assert all(set(p) == {"path", "message", "code"} for p in body["problems"])
    assert body["instance"] == "/v1/vouchers"


@pytest.mark.parametrize(
    "raw", [b"{not json", b'{"tipo": "te", "lineas": [', b"[1, 2]", b"\xff\xfe{}", b"[" * 5000 + b"]" * 5000]
)
def test_malformed_bodies_are_answered_422(service: Service, raw: bytes) -> None:
    body = problem(post(service, raw), 422)
    assert body["problems"][0]["path"] == "$"


def test_a_body_that_is_not_json_is_answered_415(service: Service) -> None:
    problem(post_xml(service, "/v1/vouchers", b"<FacturaElectronica/>"), 415)


def test_oversized_bodies_are_answered_413_announced_or_streamed(service: Service) -> None:
    big = b"{" + b" " * (3 * 1024 * 1024) + b"}"
    problem(post(service, big), 413)

    def chunks() -> Any:
        for _ in range(40):
            yield b" " * 100_000

    streamed = httpx.post(
        service.url + "/v1/vouchers",
        content=chunks(),
        headers={"Content-Type": "application/json", **service.auth()},
        timeout=30,
    )
    assert "content-length" not in streamed.request.headers
    problem(streamed, 413)


def test_without_a_valid_key_nothing_is_issued_or_shown(service: Service) -> None:
    store = service.box.runtime.store
    before = len(store.list_vouchers(limit=1_000_000))
    plain = {"Content-Type": "application/json"}
    data = json.dumps(ticket_json()).encode()
    for headers in (
        plain,
        {**plain, "Authorization": "Basic dXNlcjpwYXNz"},
        {**plain, "Authorization": "Bearer crk_000000000000_" + "A" * 43},
        {**plain, "Authorization": "Bearer " + service.key[:-1] + ("B" if service.key[-1] != "B" else "C")},
        {**plain, "Authorization": "Bearer not-a-key"},
    ):
        response = httpx.post(service.url + "/v1/vouchers", content=data, headers=headers)
        body = problem(response, 401)
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert service.key not in response.text and service.key not in json.dumps(body)
    assert problem(httpx.get(service.url + "/v1/vouchers"), 401)
    assert len(store.list_vouchers(limit=1_000_000)) == before


def test_a_key_sees_and_issues_only_its_emisor_s_vouchers(service: Service) -> None:
    issued = post(service, ticket_json()).json()
    theirs = {"Authorization": f"Bearer {service.other_key}"}
    for suffix in ("", "/xml", "/respuesta"):
        problem(httpx.get(f"{service.url}/v1/vouchers/{issued['key']}{suffix}", headers=theirs), 404)
    listing = httpx.get(service.url + "/v1/vouchers", headers=theirs).json()
    assert listing["items"] == []
    refused = problem(post(service, ticket_json(), Authorization=f"Bearer {service.other_key}"), 403)
    assert OTHER_EMISOR in refused["detail"] and "not a taxpayer configured here" in refused["detail"]


def test_a_revoked_key_stops_working_at_once(box: LocalSandbox) -> None:
    from cr_einvoice.service.auth import ApiKeys

    with running_service(box) as service:
        assert httpx.get(service.url + "/v1/vouchers", headers=service.auth()).status_code == 200
        ApiKeys(box.runtime.store).revoke(service.key_id)  # another ApiKeys: as 'cr-einvoice apikey revoke'
        problem(httpx.get(service.url + "/v1/vouchers", headers=service.auth()), 401)


def test_each_key_is_rate_limited(box: LocalSandbox) -> None:
    settings = ServiceSettings(rate_per_second=0.5, rate_burst=3)
    with running_service(box, settings) as service:
        codes = [
            httpx.get(service.url + "/v1/vouchers", headers=service.auth()).status_code for _ in range(4)
        ]
        assert codes[:3] == [200, 200, 200]
        limited = httpx.get(service.url + "/v1/vouchers", headers=service.auth())
        body = problem(limited, 429)
        assert int(limited.headers["retry-after"]) >= 1 and "0.5" in body["detail"]
        # another key has its own bucket
        other = httpx.get(service.url + "/v1/vouchers", headers=service.auth(service.other_key))
        assert other.status_code == 200


def test_listing_pages_with_a_cursor_and_filters(service: Service) -> None:
    for _ in range(5):
        assert post(service, ticket_json()).status_code == 201
    seen: list[str] = []
    url: str | None = "/v1/vouchers?limit=3&tipo=te"
    pages = 0
    while url is not None:
        page = httpx.get(service.url + url, headers=service.auth()).json()
        assert len(page["items"]) <= 3
        seen.extend(item["key"] for item in page["items"])
        assert all(item["tipo"] == "04" for item in page["items"])
        url = page.get("next")
        pages += 1
    assert len(seen) == len(set(seen)) >= 5 and pages >= 2
    everything = [
        r.key for r in service.box.runtime.store.list_vouchers(limit=1_000_000) if r.emisor_numero == EMISOR
    ]
    assert set(seen) == set(everything)
    created = [service.box.runtime.store.require(k).created_at for k in seen]
    assert created == sorted(created, reverse=True)

    today = service.box.runtime.store.require(seen[0]).fecha_emision.date().isoformat()
    dated = httpx.get(
        service.url + f"/v1/vouchers?since={today}&until={today}&limit=200", headers=service.auth()
    ).json()
    assert {i["key"] for i in dated["items"]} >= set(seen[:5])
    assert (
        httpx.get(service.url + "/v1/vouchers?until=2000-01-01", headers=service.auth()).json()["items"] == []
    )

    bad = problem(httpx.get(service.url + "/v1/vouchers?state=lost&since=ayer", headers=service.auth()), 422)
    assert {p["path"] for p in bad["problems"]} == {"state", "since"}
    problem(httpx.get(service.url + "/v1/vouchers?cursor=!!!", headers=service.auth()), 422)
    problem(httpx.get(service.url + "/v1/vouchers?color=red", headers=service.auth()), 422)


def test_a_supplier_s_voucher_is_imported_and_answered(service: Service) -> None:
    xml = service.box.supplier_invoice(numero=7001)
    response = post_xml(service, "/v1/received?decision=accept", xml)
    assert response.status_code == 201, response.text
    out = response.json()
    assert out["received"]["decision"] == "05"  # the MensajeReceptor type of an acceptance
    answer = out["answer"]
    assert answer["kind"] == "receptor_message" and answer["key"].startswith(out["received"]["clave"])
    assert wait_final(service, answer["key"])["state"] == "accepted"
    listed = httpx.get(service.url + "/v1/received", headers=service.auth()).json()["items"]
    assert out["received"]["clave"] in {r["clave"] for r in listed}
    again = httpx.post(
        f"{service.url}/v1/received/{out['received']['clave']}/decision",
        json={"decision": "reject", "reason": "Ya fue aceptada antes"},
        headers=service.auth(),
    )
    problem(again, 409)
    hostile = b"<?xml version='1.0'?><!DOCTYPE x [<!ENTITY e SYSTEM 'file:///etc/passwd'>]><x>&e;</x>"
    problem(post_xml(service, "/v1/received", hostile), 422)


def test_received_vouchers_page_with_a_cursor_and_filters(service: Service) -> None:
    claves = []
    for numero in (7101, 7102, 7103, 7104):
        response = post_xml(service, "/v1/received", service.box.supplier_invoice(numero=numero))
        assert response.status_code == 201, response.text
        claves.append(response.json()["received"]["clave"])
    reject = "/v1/received?decision=reject&reason=No+fue+pedido"
    answered = post_xml(service, reject, service.box.supplier_invoice(numero=7105))
    assert answered.status_code == 201
    rejected = answered.json()["received"]["clave"]

    def listed(query: str) -> list[dict[str, Any]]:
        seen: list[dict[str, Any]] = []
        url: str | None = "/v1/received?" + query
        while url is not None:
            page = httpx.get(service.url + url, headers=service.auth())
            assert page.status_code == 200, page.text
            assert len(page.json()["items"]) <= 2
            seen.extend(page.json()["items"])
            url = page.json().get("next")
            assert (url is None) == (page.json()["next_cursor"] is None)
        return seen

    every = listed("limit=2")
    assert [r["clave"] for r in every if r["clave"] in [*claves, rejected]] == [rejected, *claves[::-1]]
    assert len({r["clave"] for r in every}) == len(every)
    received_at = [r["received_at"] for r in every]
    assert received_at == sorted(received_at, reverse=True)
    pending = {r["clave"] for r in listed("limit=2&decision=pending")}
    assert set(claves) <= pending and rejected not in pending
    assert {r["clave"] for r in listed("limit=2&decision=reject")} >= {rejected}
    assert all(r["decision"] == "07" for r in listed("limit=2&decision=reject"))
    today = every[0]["fecha_emision"][:10]
    mine = listed(f"limit=2&tipo=fe&emisor=3101654321&since={today}&until={today}")
    assert {r["clave"] for r in mine} >= set(claves)
    assert listed("limit=2&emisor=3101000000") == [] and listed("until=2000-01-01&limit=2") == []
    other = httpx.get(service.url + "/v1/received", headers=service.auth(service.other_key)).json()
    assert not {r["clave"] for r in other["items"]} & set(claves)

    bad = problem(
        httpx.get(service.url + "/v1/received?decision=maybe&since=ayer&emisor=x", headers=service.auth()),
        422,
    )
    assert {p["path"] for p in bad["problems"]} == {"decision", "since", "emisor"}
    problem(httpx.get(service.url + "/v1/received?cursor=!!!", headers=service.auth()), 422)
    problem(httpx.get(service.url + "/v1/received?state=accepted", headers=service.auth()), 422)
    problem(httpx.get(service.url + "/v1/received?limit=0", headers=service.auth()), 422)


def test_no_cors_headers_are_sent(service: Service) -> None:
    origin = {"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}
    preflight = httpx.options(service.url + "/v1/vouchers", headers=origin)
    assert preflight.status_code in (401, 405)
    assert not any(h.lower().startswith("access-control-") for h in preflight.headers)
    got = httpx.get(service.url + "/v1/vouchers", headers={**origin, **service.auth()})
    assert not any(h.lower().startswith("access-control-") for h in got.headers)


def test_the_key_never_reaches_the_log(box: LocalSandbox, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with running_service(box) as service:
        post(service, ticket_json())
        post(service, b"{bad")
        httpx.get(service.url + "/v1/vouchers", headers=service.auth())
    assert service.key not in caplog.text
    assert service.key.split("_", 2)[2] not in caplog.text


def test_public_data_lookups_through_the_store_s_cache(service: Service) -> None:
    def get(path: str) -> httpx.Response:
        return httpx.get(service.url + path, headers=service.auth(), timeout=30)

    taxpayer = get("/v1/lookups/taxpayers/3-101-123456")
    assert taxpayer.status_code == 200, taxpayer.text
    assert taxpayer.json()["nombre"] == "SOLUCIONES TECNOLOGICAS DEL VALLE SOCIEDAD ANONIMA"
    again = get("/v1/lookups/taxpayers/3101123456").json()
    assert again["source"] == "cache" and again["identificacion"] == "3101123456"
    assert get("/v1/lookups/cabys/4527100000100").json()["impuesto"] == "13"
    found = get("/v1/lookups/cabys?q=jugo%20de%20tomate&top=1").json()
    assert found["cantidad"] == 1 and found["items"][0]["codigo"].startswith("21321")
    assert get("/v1/lookups/exchange-rates/USD?date=2026-07-20").json()["venta"] == "511.70"
    assert get("/v1/lookups/exonerations/AL-00460853-20").json()["porcentaje_exoneracion"] == "13"
    problem(get("/v1/lookups/taxpayers/3101999999"), 404)
    assert problem(get("/v1/lookups/cabys/12345"), 422)["problems"]
    problem(get("/v1/lookups/exchange-rates/USD?date=ayer"), 422)
    problem(get("/v1/lookups/cabys?q="), 422)
    problem(httpx.get(service.url + "/v1/lookups/cabys/4527100000100"), 401)
