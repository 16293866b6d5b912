"""Fault injection and rate limiting, over real loopback HTTP."""

from __future__ import annotations

import time

import httpx
import pytest

from cr_einvoice.core.errors import ConfigError


def test_next_n_requests_fail_with_5xx(api, sim, http):
    token = api.token()
    sim.faults.fail_next(2, 503)
    assert sim.faults.next_n_5xx == 2
    first, second, third = (api.status("1" * 50, token) for _ in range(3))
    assert (first.status_code, second.status_code, third.status_code) == (503, 503, 404)
    assert "X-Ratelimit-Limit" in first.headers
    assert sim.faults.next_n_5xx == 0
    sim.faults.next_n_5xx = 1
    assert api.token_response().status_code == 503  # "any" target covers the IdP too


def test_failures_can_target_only_submissions(api, sim, vouchers):
    token = api.token()
    sim.faults.fail_next(1, 500, target="submit")
    assert api.status("1" * 50, token).status_code == 404  # not a submission: unaffected
    v = vouchers.fe()
    assert api.submit(v, token).status_code == 500
    assert sim.store.get(v.clave) is None  # nothing was received
    assert api.submit(v, token).status_code == 202


def test_delay_before_answering(api, sim):
    token = api.token()
    sim.faults.delay_seconds = 1.0
    start = time.monotonic()
    assert api.status("1" * 50, token).status_code == 404
    assert time.monotonic() - start >= 1.0
    sim.faults.set_delay(0.0)
    start = time.monotonic()
    api.status("1" * 50, token)
    assert time.monotonic() - start < 1.0


def test_delay_longer_than_the_client_timeout_is_a_read_timeout(api, sim):
    token = api.token()
    sim.faults.set_delay(1.0, target="recepcion")
    with httpx.Client(timeout=httpx.Timeout(5.0, read=0.2)) as impatient, pytest.raises(httpx.ReadTimeout):
        impatient.get(sim.base_url + "recepcion/" + "1" * 50, headers=api.auth(token))


def test_dropped_connection_before_the_body_registers_nothing(api, sim, vouchers):
    token = api.token()
    sim.faults.drop_connections = 1
    v = vouchers.fe()
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)):
        api.submit(v, token)
    assert sim.store.get(v.clave) is None
    assert api.status(v.clave, token).status_code == 404
    assert api.submit(v, token).status_code == 202  # one drop only


def test_dropped_connection_after_the_body_is_an_ambiguous_failure(api, sim, vouchers):
    token = api.token()
    sim.faults.drop_next(1, after_body=True)
    v = vouchers.fe()
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        api.submit(v, token)
    # The voucher WAS received and is processed; sending it again is a duplicate.
    assert api.wait_final(v.clave, token)["ind-estado"] == "aceptado"
    again = api.submit(v, token)
    assert again.status_code == 400
    assert again.headers["X-Error-Cause"] == "El comprobante ya fue recibido anteriormente"


def test_expire_tokens_now_invalidates_access_tokens_but_not_refresh(api, sim, http):
    tokens = api.token_response().json()
    assert api.status("1" * 50, tokens["access_token"]).status_code == 404
    sim.faults.expire_tokens_now()
    assert api.status("1" * 50, tokens["access_token"]).status_code == 401
    r = http.post(
        sim.token_url,
        data={
            "grant_type": "refresh_token",
            "client_id": "api-stag",
            "refresh_token": tokens["refresh_token"],
        },
    )
    assert r.status_code == 200
    assert api.status("1" * 50, r.json()["access_token"]).status_code == 404


def test_idp_down(api, sim):
    token = api.token()
    sim.faults.idp_down = True
    assert api.token_response().status_code == 503
    assert api.status("1" * 50, token).status_code == 404  # the recepción API keeps working
    sim.faults.idp_down = False
    assert api.token_response().status_code == 200


def test_rate_limit_headers_count_down_then_429(make_sim, api_for):
    sim = make_sim(rate_limit=3)
    api = api_for(sim)
    token = api.token()
    seen = []
    for _ in range(4):
        r = api.status("1" * 50, token)
        seen.append((r.status_code, int(r.headers["X-Ratelimit-Remaining"])))
        assert int(r.headers["X-Ratelimit-Limit"]) == 3
        reset = int(r.headers["X-Ratelimit-Reset"])
        assert time.time() < reset <= time.time() + 61
    assert seen == [(404, 2), (404, 1), (404, 0), (429, 0)]
    assert int(r.headers["Retry-After"]) >= 1


def test_rate_limit_window_resets(make_sim, api_for):
    sim = make_sim(rate_limit=1, rate_limit_window=1.0)
    api = api_for(sim)
    token = api.token()
    assert api.status("1" * 50, token).status_code == 404
    assert api.status("1" * 50, token).status_code == 429
    deadline = time.monotonic() + 5
    while api.status("1" * 50, token).status_code == 429:
        assert time.monotonic() < deadline, "the window never reset"
        time.sleep(0.1)


def test_rate_limit_tightened_at_runtime(api, sim):
    token = api.token()
    assert api.status("1" * 50, token).status_code == 404
    sim.faults.rate_limit = 1
    r = api.status("1" * 50, token)
    assert r.status_code == 429
    assert r.headers["X-Ratelimit-Limit"] == "1"
    sim.faults.rate_limit = None
    assert api.status("1" * 50, token).status_code == 404


def test_admin_endpoint_applies_faults_as_json(sim, http, api):
    r = http.post(sim.admin_url + "faults", json={"fail_next": {"n": 1, "status": 502}, "idp_down": True})
    assert r.status_code == 200
    assert r.json()["next_n_5xx"] == 1
    assert r.json()["idp_down"] is True
    assert http.post(sim.token_url, data={"grant_type": "password"}).status_code == 502
    assert http.post(sim.token_url, data={"grant_type": "password"}).status_code == 503
    assert http.post(sim.admin_url + "faults", json={"reset": True}).json()["idp_down"] is False
    bad = http.post(sim.admin_url + "faults", json={"explode": True})
    assert bad.status_code == 400
    assert "explode" in bad.json()["message"]
    assert http.get(sim.admin_url + "submissions").json() == []


def test_admin_lists_and_clears_submissions(api, sim, http, vouchers):
    v = vouchers.fe()
    assert api.submit(v).status_code == 202
    api.wait_final(v.clave)
    listed = http.get(sim.admin_url + "submissions").json()
    assert listed == [
        {"key": v.clave, "ind-estado": "aceptado", "callback_attempts": [], "callback_delivered": False}
    ]
    assert http.delete(sim.admin_url + "submissions").status_code == 204
    assert api.status(v.clave).status_code == 404
    assert api.submit(v).status_code == 202  # a cleaned sandbox accepts the same clave again


def test_fault_arguments_are_checked():
    from cr_einvoice.sandbox import Faults

    faults = Faults()
    with pytest.raises(ConfigError):
        faults.fail_next(1, 404)
    with pytest.raises(ConfigError):
        faults.drop_next(1, target="nowhere")  # type: ignore[arg-type]
    with pytest.raises(ConfigError):
        faults.set_delay(-1)
    faults.fail_next(2)
    faults.drop_next(1, after_body=True)
    faults.error_next(3)
    faults.signum_error_next(2)
    faults.idp_down = True
    faults.reset()
    assert faults.snapshot() == {
        "next_n_5xx": 0,
        "drop_connections": 0,
        "drop_after_body": 0,
        "error_next": 0,
        "signum_error_next": 0,
        "delay_seconds": 0.0,
        "delay_target": "any",
        "idp_down": False,
        "rate_limit": None,
    }


def test_error_state_fault(api, sim, vouchers):
    token = api.token()
    sim.faults.error_next(1)
    broken, fine = vouchers.fe(), vouchers.fe()
    assert api.submit(broken, token).status_code == 202
    assert api.wait_final(broken.clave, token) == {
        "clave": broken.clave,
        "fecha": broken.fecha,
        "ind-estado": "error",
    }
    assert api.submit(fine, token).status_code == 202
    assert api.wait_final(fine.clave, token)["ind-estado"] == "aceptado"


def test_signum_one_transient_rejection(api, sim, vouchers, http):
    token = api.token()
    assert http.post(sim.admin_url + "faults", json={"signum_error_next": 1}).json()["signum_error_next"] == 1
    v = vouchers.fe()
    assert api.submit(v, token).status_code == 202
    final = api.wait_final(v.clave, token)
    assert final["ind-estado"] == "rechazado"
    assert b"[&#13;\nError al comunicarse con el Signum One&#13;\n]" in api.respuesta(v.clave)
    again = vouchers.fe()
    assert api.submit(again, token).status_code == 202
    assert api.wait_final(again.clave, token)["ind-estado"] == "aceptado"


def test_error_next_through_the_admin_endpoint(api, sim, vouchers, http):
    assert http.post(sim.admin_url + "faults", json={"error_next": 1}).json()["error_next"] == 1
    v = vouchers.fe()
    assert api.submit(v).status_code == 202
    assert api.wait_final(v.clave)["ind-estado"] == "error"


def test_per_outcome_rate_table(make_sim, api_for, vouchers, http):
    from cr_einvoice.sandbox import SANDBOX_RATE_TABLE

    table = {
        **SANDBOX_RATE_TABLE,
        "token_ok": 2,
        "token_auth_failed": 1,
        "get_client_error": 2,
        "submit_accepted": 1,
        "submit_client_error": 1,
    }
    sim = make_sim(rate_limit_table=table)
    api = api_for(sim)
    # IdP: two logins per window, one failed login.
    assert api.token_response().status_code == 200
    token = api.token()
    assert api.token_response().status_code == 429
    assert api.token_response(password="mal").status_code == 401
    assert api.token_response(password="mal").status_code == 429
    # GET answered 4xx: two, then 429 (with the rate headers); GET 200 is counted separately.
    assert [api.status("1" * 50, token).status_code for _ in range(3)] == [404, 404, 429]
    # POST: one accepted voucher per window, then 429 before anything is registered.
    first, second = vouchers.fe(), vouchers.fe()
    assert api.submit(first, token).status_code == 202
    r = api.submit(second, token)
    assert r.status_code == 429
    assert int(r.headers["Retry-After"]) >= 1
    assert sim.store.get(second.clave) is None
    # POST answered 4xx: one duplicate, then 429.
    assert api.submit(first, token).status_code == 400
    assert api.submit(first, token).status_code == 429


def test_rate_table_with_unknown_outcome_is_refused():
    from cr_einvoice.sandbox import Simulator, SimulatorSettings

    with pytest.raises(ConfigError, match="bogus"):
        Simulator(SimulatorSettings(rate_limit_table={"bogus": 1}))
