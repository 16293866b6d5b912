"""Tokens: password login, caching, refresh before expiry, 401 → one refresh + retry, concurrency, logout."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import httpx
import pytest
from hacienda_fakes import FakeClock, FakeHacienda, Reply, loopback, run_threads, tls_material
from hc_support import CLAVE, FAST_RETRY, PASSWORD, USERNAME, environment_for

from cr_einvoice.core.errors import AuthenticationError, ConfigError, ServerError, TransportError
from cr_einvoice.core.secret import Secret
from cr_einvoice.hacienda import AsyncClient, Client, Credentials, Environment


def sync_client(fake: FakeHacienda, env: Environment, creds: Credentials, **kw: object) -> Client:
    return Client(env, creds, transport=fake.transport(), clock=fake.clock, retry=FAST_RETRY, **kw)  # type: ignore[arg-type]


def async_client(fake: FakeHacienda, env: Environment, creds: Credentials, **kw: object) -> AsyncClient:
    return AsyncClient(env, creds, transport=fake.async_transport(), clock=fake.clock, retry=FAST_RETRY, **kw)  # type: ignore[arg-type]


def test_password_login_form_matches_anexo3(
    fake: FakeHacienda, mock_env: Environment, credentials: Credentials
) -> None:
    fake.set_state(CLAVE, "procesando")
    with sync_client(fake, mock_env, credentials) as client:
        assert client.status(CLAVE).estado == "procesando"
    login = fake.requests_to(r".*/token")[0]
    assert login.headers["content-type"].startswith("application/x-www-form-urlencoded")
    assert login.form() == {
        "grant_type": "password",
        "client_id": "api-test",
        "username": USERNAME,
        "password": PASSWORD,
        "client_secret": "",
        "scope": "",
    }
    recepcion = fake.requests_to(r".*/recepcion/\d+")[0]
    assert recepcion.headers["authorization"].lower().startswith("bearer access-")


def test_one_login_for_many_calls(
    fake: FakeHacienda, mock_env: Environment, credentials: Credentials
) -> None:
    fake.set_state(CLAVE, "aceptado")
    with sync_client(fake, mock_env, credentials) as client:
        for _ in range(25):
            client.status(CLAVE)
        assert client.token_stats.logins == 1
    assert fake.logins == 1
    assert fake.refreshes == 0
    assert len(fake.requests_to(r".*/recepcion/\d+")) == 25


def test_refresh_about_30s_before_expiry(
    fake: FakeHacienda, clock: FakeClock, mock_env: Environment, credentials: Credentials
) -> None:
    fake.set_state(CLAVE, "recibido")
    with sync_client(fake, mock_env, credentials) as client:
        client.status(CLAVE)
        clock.advance(265)  # 35 s left: still used as is
        client.status(CLAVE)
        assert fake.refreshes == 0
        clock.advance(10)  # 25 s left: refreshed before use, no 401 seen
        client.status(CLAVE)
        assert fake.refreshes == 1
        first_refresh = fake.requests_to(r".*/token")[1].form()
        assert first_refresh["grant_type"] == "refresh_token"
        assert first_refresh["client_id"] == "api-test"
        assert first_refresh["refresh_token"] == "refresh-1"
    assert fake.logins == 1
    assert len(fake.requests_to(r".*/recepcion/\d+")) == 3  # no 401 was needed


def test_token_expiring_mid_run_gets_one_refresh_and_one_retry(
    fake: FakeHacienda, mock_env: Environment, credentials: Credentials
) -> None:
    fake.set_state(CLAVE, "procesando")
    with sync_client(fake, mock_env, credentials) as client:
        client.status(CLAVE)
        fake.expire_access_tokens()  # the server forgets the token before its announced expiry
        assert client.status(CLAVE).estado == "procesando"
    calls = fake.requests_to(r".*/recepcion/\d+")
    assert len(calls) == 3  # ok, 401, retry
    assert calls[1].headers["authorization"] != calls[2].headers["authorization"]
    assert fake.logins == 1
    assert fake.refreshes == 1


def test_401_twice_raises_authentication_error_after_one_refresh(
    fake: FakeHacienda, mock_env: Environment, credentials: Credentials
) -> None:
    fake.script = [
        Reply(401, {"X-Error-Cause": "token invalido"}),
        Reply(401, {"X-Error-Cause": "token invalido"}),
    ]
    with sync_client(fake, mock_env, credentials) as client, pytest.raises(AuthenticationError) as info:
        client.status(CLAVE)
    assert info.value.status == 401
    assert info.value.error_cause == "token invalido"
    assert info.value.clave == CLAVE
    assert fake.refreshes == 1
    assert len(fake.requests_to(r".*/recepcion/\d+")) == 2


def test_refresh_token_expired_means_new_login(
    clock: FakeClock, mock_env: Environment, credentials: Credentials
) -> None:
    fake = FakeHacienda(clock=clock, users={USERNAME: PASSWORD}, refresh_lifetime=600)
    fake.set_state(CLAVE, "recibido")
    with sync_client(fake, mock_env, credentials) as client:
        client.status(CLAVE)
        clock.advance(601)
        client.status(CLAVE)
        assert client.token_stats.logins == 2
        assert client.token_stats.refreshes == 0
    assert fake.logins == 2
    assert fake.refreshes == 0


def test_refused_refresh_falls_back_to_login(
    fake: FakeHacienda, clock: FakeClock, mock_env: Environment, credentials: Credentials
) -> None:
    fake.set_state(CLAVE, "recibido")
    with sync_client(fake, mock_env, credentials) as client:
        client.status(CLAVE)
        fake.refresh.clear()  # e.g. the IdP session was ended elsewhere
        clock.advance(290)
        client.status(CLAVE)
        assert client.token_stats.failed_refreshes == 1
    assert fake.refreshes == 1
    assert fake.logins == 2


def test_logout_on_close(fake: FakeHacienda, mock_env: Environment, credentials: Credentials) -> None:
    fake.set_state(CLAVE, "recibido")
    client = sync_client(fake, mock_env, credentials)
    client.status(CLAVE)
    client.close()
    logout = fake.requests_to(r".*/logout")
    assert len(logout) == 1
    assert logout[0].form() == {"client_id": "api-test", "refresh_token": "refresh-1"}
    assert client.token_stats.logouts == 1


def test_close_without_login_does_not_call_logout(
    fake: FakeHacienda, mock_env: Environment, credentials: Credentials
) -> None:
    with sync_client(fake, mock_env, credentials):
        pass
    assert fake.seen == []


def test_wrong_password_is_an_authentication_error_without_the_password(
    fake: FakeHacienda, mock_env: Environment
) -> None:
    creds = Credentials(USERNAME, Secret("wrong-password-123"))
    with sync_client(fake, mock_env, creds) as client, pytest.raises(AuthenticationError) as info:
        client.status(CLAVE)
    assert info.value.status == 401
    assert "invalid_grant" in str(info.value)
    assert "wrong-password-123" not in str(info.value)
    assert fake.logins == 1  # a refusal is not retried


def test_idp_5xx_is_retried_then_succeeds(
    fake: FakeHacienda, mock_env: Environment, credentials: Credentials
) -> None:
    fake.idp_script = [Reply(503), Reply(502)]
    fake.set_state(CLAVE, "recibido")
    with sync_client(fake, mock_env, credentials) as client:
        assert client.status(CLAVE).estado == "recibido"
    assert len(fake.requests_to(r".*/token")) == 3


def test_idp_5xx_exhausted_raises_server_error(
    fake: FakeHacienda, mock_env: Environment, credentials: Credentials
) -> None:
    fake.idp_script = [Reply(503)] * 4
    with sync_client(fake, mock_env, credentials) as client, pytest.raises(ServerError) as info:
        client.status(CLAVE)
    assert info.value.status == 503
    assert len(fake.requests_to(r".*/token")) == 4
    assert fake.requests_to(r".*/recepcion/.*") == []


def test_idp_outage_inside_the_refresh_margin_keeps_the_valid_token(
    fake: FakeHacienda, clock: FakeClock, mock_env: Environment, credentials: Credentials
) -> None:
    fake.set_state(CLAVE, "recibido")
    with sync_client(fake, mock_env, credentials, sleep=lambda _: None) as client:
        client.status(CLAVE)
        clock.advance(280)  # 20 s before expiry: time to refresh, but the IdP is down
        fake.idp_script = [Reply(503)] * 8  # refresh (4 attempts) and the fallback login (4) both fail
        assert client.status(CLAVE).estado == "recibido"
        assert len(fake.requests_to(r".*/token")) == 9
        client.status(CLAVE)  # backing off: no new IdP attempt for a few seconds
        assert len(fake.requests_to(r".*/token")) == 9
        clock.advance(6)  # the IdP is back
        client.status(CLAVE)
        assert fake.refreshes == 5  # 4 failed + 1 successful
        clock.advance(300)
        fake.idp_script = [Reply(503)] * 8
        with pytest.raises(ServerError):  # expired: nothing to fall back on
            client.status(CLAVE)
        fake.idp_script = []
        client.status(CLAVE)
        fake.expire_access_tokens()
        fake.idp_script = [Reply(503)] * 8
        with pytest.raises(ServerError):  # refused with a 401: no fallback to the refused token
            client.status(CLAVE)


def test_concurrent_threads_share_one_login_and_one_refresh(
    clock: FakeClock, credentials: Credentials
) -> None:
    fake = FakeHacienda(clock=clock, users={USERNAME: PASSWORD}, token_delay=0.05)
    fake.set_state(CLAVE, "recibido")
    with loopback(fake) as base:
        env = environment_for(base)
        with Client(env, credentials, clock=clock, retry=FAST_RETRY) as client:
            errors = run_threads(16, lambda _: client.status(CLAVE))
            assert errors == []
            assert fake.logins == 1
            clock.advance(280)
            errors = run_threads(16, lambda _: client.status(CLAVE))
            assert errors == []
            assert fake.refreshes == 1
            fake.expire_access_tokens()
            errors = run_threads(16, lambda _: client.status(CLAVE))
            assert errors == []
            # 16 requests saw a 401 with the same token: exactly one forced refresh among them.
            assert fake.refreshes == 2
    assert fake.logins == 1
    assert len(fake.requests_to(r".*/logout")) == 1


async def test_concurrent_tasks_share_one_login_and_one_refresh(
    fake: FakeHacienda, clock: FakeClock, mock_env: Environment, credentials: Credentials
) -> None:
    fake.set_state(CLAVE, "recibido")
    async with async_client(fake, mock_env, credentials) as client:
        results = await asyncio.gather(*(client.status(CLAVE) for _ in range(50)))
        assert {r.estado for r in results} == {"recibido"}
        assert fake.logins == 1
        clock.advance(280)
        await asyncio.gather(*(client.status(CLAVE) for _ in range(50)))
        assert fake.refreshes == 1
        fake.expire_access_tokens()
        await asyncio.gather(*(client.status(CLAVE) for _ in range(50)))
        assert fake.refreshes == 2
        assert client.token_stats.logins == 1
    assert fake.logins == 1
    assert len(fake.requests_to(r".*/logout")) == 1


async def test_async_concurrent_refresh_over_loopback(clock: FakeClock, credentials: Credentials) -> None:
    fake = FakeHacienda(clock=clock, users={USERNAME: PASSWORD}, token_delay=0.05)
    fake.set_state(CLAVE, "recibido")
    with loopback(fake) as base:
        async with AsyncClient(environment_for(base), credentials, clock=clock, retry=FAST_RETRY) as client:
            await asyncio.gather(*(client.status(CLAVE) for _ in range(20)))
            clock.advance(300)  # fully expired
            await asyncio.gather(*(client.status(CLAVE) for _ in range(20)))
    assert fake.logins == 1
    assert fake.refreshes == 1


async def test_async_refresh_token_expiry_and_logout(
    clock: FakeClock, mock_env: Environment, credentials: Credentials
) -> None:
    fake = FakeHacienda(clock=clock, users={USERNAME: PASSWORD}, refresh_lifetime=400)
    fake.set_state(CLAVE, "recibido")
    async with async_client(fake, mock_env, credentials) as client:
        await client.status(CLAVE)
        clock.advance(401)
        await client.status(CLAVE)
    assert fake.logins == 2
    assert fake.refreshes == 0
    assert fake.logged_out == ["refresh-2"]


def test_secrets_never_in_logs_or_reprs(
    fake: FakeHacienda,
    clock: FakeClock,
    mock_env: Environment,
    credentials: Credentials,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    fake.set_state(CLAVE, "recibido")
    with sync_client(fake, mock_env, credentials) as client:
        client.status(CLAVE)
        clock.advance(290)
        client.status(CLAVE)
        fake.expire_access_tokens()
        client.status(CLAVE)
        reprs = " ".join(repr(x) for x in (client, client.tokens, credentials, client._http.auth))
    issued = list(fake.access) + list(fake.refresh) + ["refresh-1", "refresh-2", "refresh-3"]
    assert len(issued) >= 3
    text = caplog.text + reprs
    assert "401" in caplog.text  # the retry was logged ...
    assert PASSWORD not in text  # ... but never a secret
    for token in issued:
        assert token not in text
    assert "********" in repr(credentials)


def test_tls_cannot_be_disabled_and_plain_http_only_on_loopback(credentials: Credentials) -> None:
    with pytest.raises(ConfigError, match="plain http"):
        Environment.custom(
            token_url="http://idp.example.com/t", recepcion_url="https://x.example/r/", client_id="c"
        )
    Environment.custom(token_url="http://127.0.0.1:1/t", recepcion_url="http://[::1]:2/r/", client_id="c")
    Environment.custom(token_url="http://localhost:1/t", recepcion_url="https://x.example/r/", client_id="c")
    with pytest.raises(TypeError):
        Client(Environment.named("sandbox"), credentials, verify=False)  # type: ignore[call-arg]


def test_tls_is_verified_and_a_private_ca_can_be_added(
    fake: FakeHacienda, credentials: Credentials, tmp_path: Path
) -> None:
    ca_pem, server_tls = tls_material(tmp_path)
    fake.set_state(CLAVE, "recibido")
    with loopback(fake, tls=server_tls) as base:
        assert base.startswith("https://")
        env = environment_for(base)
        # Unknown CA: the TLS handshake fails (verification is always on), nothing is sent.
        with Client(env, credentials, retry=FAST_RETRY) as client, pytest.raises(TransportError):
            client.status(CLAVE)
        assert fake.seen == []
        with Client(env, credentials, retry=FAST_RETRY, ca_bundle=ca_pem) as client:
            assert client.status(CLAVE).estado == "recibido"
    with pytest.raises(ConfigError, match="ca_bundle"):
        Client(Environment.named("sandbox"), credentials, ca_bundle=tmp_path / "missing.pem")


def test_bearer_auth_type_mismatch_is_explained(mock_env: Environment, credentials: Credentials) -> None:
    fake = FakeHacienda()
    with sync_client(fake, mock_env, credentials) as client:
        auth = client._http.auth
        assert auth is not None

        async def go() -> None:
            async with httpx.AsyncClient(auth=auth, transport=fake.async_transport()) as other:
                await other.get("https://hacienda.test/recepcion/v1/x")

        with pytest.raises(ConfigError, match=r"use it with httpx\.Client"):
            asyncio.run(go())
