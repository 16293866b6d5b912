"""The recepción API over real loopback HTTP: authentication, validation of the request, every path and
status code, the processing states, receptor messages, listing."""

from __future__ import annotations

import base64
import hashlib
import time

EMISOR = "3101123456"


def test_submit_answers_202_with_location_and_rate_headers(api, vouchers, sim):
    v = vouchers.fe()
    r = api.submit(v)
    assert r.status_code == 202
    assert r.content == b""
    assert r.headers["Location"] == f"{sim.base_url}recepcion/{v.clave}"
    assert int(r.headers["X-Ratelimit-Limit"]) == 300
    assert int(r.headers["X-Ratelimit-Remaining"]) < 300
    assert int(r.headers["X-Ratelimit-Reset"]) > time.time()


def test_missing_token_is_401_and_malformed_authorization_is_403(api, vouchers, http, sim):
    body = api.body(vouchers.fe())
    assert http.post(sim.base_url + "recepcion", json=body).status_code == 401
    token = api.token()
    r = http.post(sim.base_url + "recepcion", json=body, headers={"Authorization": token})
    assert r.status_code == 403
    digest = base64.b64encode(hashlib.sha256(token.encode()).digest()).decode()
    assert r.json() == {
        "message": "Invalid key=value pair (missing equal-sign) in Authorization header (hashed with SHA-256 "
        f"and encoded with Base64): '{digest}'."
    }
    r = http.post(sim.base_url + "recepcion", json=body, headers={"Authorization": "bearer " + token + "x"})
    assert r.status_code == 401
    # Upper-case "Bearer" is accepted like Hacienda's lower-case "bearer".
    r = http.post(sim.base_url + "recepcion", json=body, headers={"Authorization": "Bearer " + token})
    assert r.status_code == 202
    # Every recepción answer carries the rate-limit headers, errors included.
    r = http.get(sim.base_url + "recepcion/" + "1" * 50)
    assert r.status_code == 401
    assert "X-Ratelimit-Remaining" in r.headers


def test_invalid_json_bodies_are_400_with_validation_exception(api, vouchers, http, sim):
    headers = api.auth()
    good = api.body(vouchers.fe())
    cases = [
        b"{not json",
        {**good, "clave": "123"},
        {**good, "fecha": "15/07/2026"},
        {k: v for k, v in good.items() if k != "emisor"},
        {**good, "emisor": {"tipoIdentificacion": "99", "numeroIdentificacion": EMISOR}},
        {**good, "comprobanteXml": "@@no es base64@@"},
        {**good, "consecutivoReceptor": "12"},
        {**good, "callbackUrl": "ftp://example.invalid/x"},
    ]
    for case in cases:
        if isinstance(case, bytes):
            r = http.post(
                sim.base_url + "recepcion",
                content=case,
                headers={**headers, "Content-Type": "application/json"},
            )
        else:
            r = http.post(sim.base_url + "recepcion", json=case, headers=headers)
        assert r.status_code == 400, case
        assert r.headers.get("validation-exception"), case
        assert r.headers.get("X-Error-Cause"), case
    assert len(sim.store) == 0


def test_clave_of_request_must_match_the_document(api, vouchers):
    v = vouchers.fe()
    r = api.submit(v, clave="5" * 50)
    assert r.status_code == 400
    assert "no coincide" in r.headers["X-Error-Cause"]


def test_unknown_clave_is_404_with_error_cause(api):
    r = api.status("50601010100310112345600100001010000000001199999999")
    assert r.status_code == 404
    assert "X-Error-Cause" in r.headers


def test_not_found_window_right_after_post(make_sim, api_for, vouchers):
    sim = make_sim(not_found_for=1.5, processing_delay=0.2)
    api = api_for(sim)
    token = api.token()
    v = vouchers.fe()
    assert api.submit(v, token).status_code == 202
    assert api.status(v.clave, token).status_code == 404
    assert api.wait_final(v.clave, token)["ind-estado"] == "aceptado"


def test_states_go_recibido_procesando_aceptado(make_sim, api_for, vouchers):
    sim = make_sim(processing_delay=1.8, procesando_after=1.0)
    api = api_for(sim)
    token = api.token()
    v = vouchers.fe()
    assert api.submit(v, token, callbackUrl="http://127.0.0.1:9/nowhere").status_code == 202
    first = api.status(v.clave, token).json()
    assert first["ind-estado"] == "recibido"
    assert first["clave"] == v.clave
    assert first["fecha"] == v.fecha
    assert first["callbackUrl"] == "http://127.0.0.1:9/nowhere"
    assert "respuesta-xml" not in first
    seen = ["recibido"]
    deadline = time.monotonic() + 10
    while seen[-1] not in {"aceptado", "rechazado"}:
        assert time.monotonic() < deadline
        state = api.status(v.clave, token).json()["ind-estado"]
        if state != seen[-1]:
            seen.append(state)
        time.sleep(0.03)
    assert seen == ["recibido", "procesando", "aceptado"]
    final = api.status(v.clave, token).json()
    assert set(final) == {"clave", "fecha", "ind-estado", "respuesta-xml", "callbackUrl"}
    assert base64.b64decode(final["respuesta-xml"]).startswith(b'<?xml version="1.0" encoding="UTF-8"?>')


def test_same_clave_twice_is_400_ya_fue_recibido(api, vouchers):
    v = vouchers.fe()
    token = api.token()
    assert api.submit(v, token).status_code == 202
    r = api.submit(v, token)
    assert r.status_code == 400
    assert r.headers["X-Error-Cause"] == "El comprobante ya fue recibido anteriormente"
    # The first submission is still processed normally.
    assert api.wait_final(v.clave, token)["ind-estado"] == "aceptado"


def test_mensaje_receptor_is_tracked_under_clave_dash_consecutivo(api, vouchers, sim):
    token = api.token()
    v = vouchers.fe()
    assert api.submit(v, token).status_code == 202
    api.wait_final(v.clave, token)
    mr, consecutivo = vouchers.mr(v.clave)
    r = api.submit(mr, token, consecutivoReceptor=consecutivo)
    assert r.status_code == 202
    key = f"{v.clave}-{consecutivo}"
    assert r.headers["Location"].endswith("/recepcion/" + key)
    final = api.wait_final(key, token)
    assert final["ind-estado"] == "aceptado", base64.b64decode(final["respuesta-xml"]).decode()
    assert final["clave"] == v.clave
    # The voucher's own status is untouched; the same confirmation twice is a duplicate.
    assert api.status(v.clave, token).json()["ind-estado"] == "aceptado"
    assert api.submit(mr, token, consecutivoReceptor=consecutivo).status_code == 400
    respuesta = base64.b64decode(final["respuesta-xml"]).decode()
    assert "<NombreEmisor>Empresa de Pruebas Sociedad Anonima</NombreEmisor>" in respuesta
    assert "<TotalFactura>11300.00000</TotalFactura>" in respuesta


def test_comprobantes_listing_paging_and_filters(api, vouchers, http, sim):
    token = api.token()
    headers = api.auth(token)
    sent = []
    for _ in range(3):
        v = vouchers.fe()
        assert api.submit(v, token).status_code == 202
        sent.append(v.clave)
        time.sleep(0.01)
    url = sim.base_url + "comprobantes"
    r = http.get(url, headers=headers)
    assert r.status_code == 200
    assert r.headers["Accept-Range"] == "50"
    assert [item["clave"] for item in r.json()] == list(reversed(sent))  # newest first
    item = r.json()[0]
    assert item["emisor"] == {"tipoIdentificacion": "02", "numeroIdentificacion": EMISOR}
    assert item["receptor"]["numeroIdentificacion"] == "112345678"
    r = http.get(url, params={"offset": 0, "limit": 2}, headers=headers)
    assert r.status_code == 206
    assert r.headers["Content-Range"] == "0-2/3"
    assert len(r.json()) == 2
    r = http.get(url, params={"offset": 2, "limit": 2}, headers=headers)
    assert r.status_code == 206
    assert [i["clave"] for i in r.json()] == [sent[0]]
    assert http.get(url, params={"emisor": "02003101123456"}, headers=headers).json()[0]["clave"] == sent[-1]
    assert http.get(url, params={"emisor": "02003101999999"}, headers=headers).json() == []
    assert len(http.get(url, params={"receptor": "01000112345678"}, headers=headers).json()) == 3
    assert http.get(url, params={"offset": "x"}, headers=headers).status_code == 400
    one = http.get(url + "/" + sent[1], headers=headers)
    assert one.status_code == 200
    assert one.json()["clave"] == sent[1]
    missing = http.get(url + "/" + "5" * 50, headers=headers)
    assert missing.status_code == 404
    assert "X-Error-Cause" in missing.headers


def test_comprobantes_are_per_taxpayer(make_sim, api_for, vouchers, http):
    sim = make_sim(
        users={"cpj-3-101-123456@stag.comprobanteselectronicos.go.cr": "clave-de-pruebas", "otro": "x"}
    )
    api = api_for(sim)
    v = vouchers.fe()
    assert api.submit(v).status_code == 202
    other = http.post(
        sim.token_url,
        data={"grant_type": "password", "client_id": "api-stag", "username": "otro", "password": "x"},
    ).json()["access_token"]
    r = http.get(sim.base_url + "comprobantes", headers={"Authorization": "bearer " + other})
    assert r.status_code == 200
    assert r.json() == []


def test_user_restricted_to_emisores_gets_403(make_sim, api_for, vouchers):
    sim = make_sim(user_emisores={"cpj-3-101-123456@stag.comprobanteselectronicos.go.cr": ["3101999999"]})
    api = api_for(sim)
    r = api.submit(vouchers.fe())
    assert r.status_code == 403


def test_unknown_path_and_method(api, http, sim):
    headers = api.auth()
    assert http.get(sim.base_url + "nada", headers=headers).status_code == 404
    assert http.delete(sim.base_url + "recepcion/" + "1" * 50, headers=headers).status_code == 405
    assert http.get(sim.root_url + "/otra/cosa").status_code == 404


def test_body_over_the_limit_is_refused(make_sim, api_for, vouchers):
    sim = make_sim(max_body_bytes=1000)
    api = api_for(sim)
    r = api.submit(vouchers.fe())
    assert r.status_code == 413
    assert len(sim.store) == 0


def test_rejection_message_receptor_07_is_accepted(api, vouchers):
    token = api.token()
    v = vouchers.fe()
    assert api.submit(v, token).status_code == 202
    mr, consecutivo = vouchers.mr(v.clave, mensaje=3)
    assert consecutivo[8:10] == "07"
    assert api.submit(mr, token, consecutivoReceptor=consecutivo).status_code == 202
    assert api.wait_final(f"{v.clave}-{consecutivo}", token)["ind-estado"] == "aceptado"


def test_consecutivo_receptor_must_match_the_message(api, vouchers):
    v = vouchers.fe()
    mr, consecutivo = vouchers.mr(v.clave)
    other = consecutivo[:-1] + ("1" if consecutivo[-1] != "1" else "2")
    r = api.submit(mr, consecutivoReceptor=other)
    assert r.status_code == 400
    assert "NumeroConsecutivoReceptor" in r.headers["X-Error-Cause"]
