"""The simulator's identity provider over real loopback HTTP: grants, refresh, logout, expiry, errors."""

from __future__ import annotations

import base64
import json
import time

USER = "cpj-3-101-123456@stag.comprobanteselectronicos.go.cr"


def _claims(token: str) -> dict:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def _refresh(http, sim, token):
    form = {"grant_type": "refresh_token", "client_id": "api-stag", "refresh_token": token}
    return http.post(sim.token_url, data=form)


def test_password_grant_returns_keycloak_shaped_jwt(api):
    r = api.token_response()
    assert r.status_code == 200
    body = r.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 300
    assert body["refresh_expires_in"] == 1800
    assert {"access_token", "refresh_token", "session_state"} <= set(body)
    claims = _claims(body["access_token"])
    assert claims["preferred_username"] == USER
    assert claims["azp"] == "api-stag"
    assert claims["exp"] - claims["iat"] in (300, 301)
    assert claims["iss"].endswith("/auth/realms/rut-stag")


def test_unknown_client_is_keycloak_unknown_client(api):
    r = api.token_response(client_id="api_stag")
    assert r.status_code == 401
    assert r.json() == {
        "error": "unauthorized_client",
        "error_description": "UNKNOWN_CLIENT: Client was not identified by any client authenticator",
    }


def test_bad_password_and_unknown_user_are_invalid_grant(api):
    for form in ({"password": "wrong"}, {"username": "nadie@stag.comprobanteselectronicos.go.cr"}):
        r = api.token_response(**form)
        assert r.status_code == 401
        assert r.json()["error"] == "invalid_grant"
        assert r.json()["error_description"] == "Invalid user credentials"


def test_unsupported_grant_and_missing_grant(api, http, sim):
    assert api.token_response(grant_type="client_credentials").json()["error"] == "unsupported_grant_type"
    r = http.post(sim.token_url, data={"client_id": "api-stag"})
    assert r.status_code == 400
    assert r.json()["error"] == "invalid_request"


def test_unknown_realm_and_wrong_method(api, http, sim):
    r = http.post(sim.token_url.replace("rut-stag", "rut"), data={"grant_type": "password"})
    assert r.status_code == 404
    assert r.json() == {"error": "Realm does not exist"}
    assert http.get(sim.token_url).status_code == 405


def test_refresh_grant_issues_a_working_token(api, http, sim):
    first = api.token_response().json()
    r = _refresh(http, sim, first["refresh_token"])
    assert r.status_code == 200
    fresh = r.json()
    assert fresh["access_token"] != first["access_token"]
    assert fresh["session_state"] == first["session_state"]
    assert api.status("5" * 50, fresh["access_token"]).status_code == 404  # authenticated, unknown clave


def test_refresh_with_garbage_or_access_token_is_invalid_grant(api, http, sim):
    first = api.token_response().json()
    for bad in ("not-a-token", first["access_token"], first["refresh_token"][:-2] + "xx"):
        r = _refresh(http, sim, bad)
        assert r.status_code == 400
        assert r.json() == {"error": "invalid_grant", "error_description": "Invalid refresh token"}


def test_logout_revokes_the_session(api, http, sim):
    tokens = api.token_response().json()
    r = http.post(sim.logout_url, data={"client_id": "api-stag", "refresh_token": tokens["refresh_token"]})
    assert r.status_code == 204
    r = _refresh(http, sim, tokens["refresh_token"])
    assert r.status_code == 400
    assert r.json()["error_description"] == "Session not active"
    assert api.status("5" * 50, tokens["access_token"]).status_code == 401
    # Logging out without a refresh token is a request error.
    assert http.post(sim.logout_url, data={"client_id": "api-stag"}).status_code == 400


def test_access_token_expires_and_refresh_token_has_its_own_expiry(make_sim, api_for, http):
    sim = make_sim(access_token_lifetime=2, refresh_token_lifetime=4)
    api = api_for(sim)
    tokens = api.token_response().json()
    assert tokens["expires_in"] == 2
    assert tokens["refresh_expires_in"] == 4
    assert api.status("5" * 50, tokens["access_token"]).status_code == 404
    deadline = time.monotonic() + 5
    while api.status("5" * 50, tokens["access_token"]).status_code != 401:
        assert time.monotonic() < deadline, "the access token never expired"
        time.sleep(0.1)
    # The refresh token still works after the access token expired ...
    r = _refresh(http, sim, tokens["refresh_token"])
    assert r.status_code == 200
    # ... until its own expiry.
    deadline = time.monotonic() + 6
    while True:
        r = _refresh(http, sim, tokens["refresh_token"])
        if r.status_code == 400:
            assert r.json() == {"error": "invalid_grant", "error_description": "Token is not active"}
            break
        assert time.monotonic() < deadline, "the refresh token never expired"
        time.sleep(0.2)
