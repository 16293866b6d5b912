"""The service over the PostgreSQL store ([store] url): concurrent idempotent issuing without duplicates or
gaps, the listing's cursor, a key revoked at once, the in-process worker following a voucher to Hacienda's
answer."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from dataclasses import replace

import httpx
import pytest
from service_support import Service, running_service, ticket_json

from cr_einvoice.app.config import StoreSettings
from cr_einvoice.app.demo import LocalSandbox
from cr_einvoice.app.runtime import Runtime
from cr_einvoice.core.clave import Clave
from cr_einvoice.service.auth import ApiKeys
from cr_einvoice.service.settings import ServiceSettings
from cr_einvoice.testing.pgserver import PgServer


@pytest.fixture(scope="module")
def pg_runtime(box: LocalSandbox, pg_server: PgServer) -> Iterator[Runtime]:
    assert box.config is not None
    config = replace(box.config, store=StoreSettings(url=pg_server.create_database()))
    with Runtime(config, create_store=True) as runtime:
        assert "postgres" in type(runtime.store).__name__.lower()
        yield runtime


@pytest.fixture(scope="module")
def pg_service(box: LocalSandbox, pg_runtime: Runtime) -> Iterator[Service]:
    settings = ServiceSettings(rate_per_second=1000.0, rate_burst=1000, login_failures_per_minute=1000)
    with running_service(box, settings, runtime=pg_runtime, poll_initial=0.1, poll_max=1.0) as service:
        yield service


def test_concurrent_idempotent_posts_on_postgres(pg_service: Service, pg_runtime: Runtime) -> None:
    body = json.dumps(ticket_json()).encode()

    async def run() -> list[httpx.Response]:
        limits = httpx.Limits(max_connections=100)
        async with httpx.AsyncClient(base_url=pg_service.url, timeout=120, limits=limits) as client:
            headers = {"Content-Type": "application/json", **pg_service.auth()}
            return await asyncio.gather(
                *(
                    client.post(
                        "/v1/vouchers", content=body, headers={**headers, "Idempotency-Key": f"pg-{i // 2}"}
                    )
                    for i in range(100)
                )
            )

    responses = asyncio.run(run())
    assert {r.status_code for r in responses} <= {200, 201}
    pairs: dict[int, set[str]] = {}
    for i, r in enumerate(responses):
        pairs.setdefault(i // 2, set()).add(r.json()["clave"])
    assert all(len(c) == 1 for c in pairs.values())
    claves = {next(iter(c)) for c in pairs.values()}
    numbers = sorted(int(Clave.parse(c).consecutivo.numero) for c in claves)
    assert numbers == list(range(numbers[0], numbers[0] + 50))

    seen: list[str] = []
    url: str | None = "/v1/vouchers?limit=7"
    while url:
        page = httpx.get(pg_service.url + url, headers=pg_service.auth()).json()
        seen += [item["clave"] for item in page["items"]]
        url = page.get("next")
    assert len(seen) == len(set(seen)) and claves <= set(seen)

    key = next(iter(claves))
    deadline = time.monotonic() + 30
    while pg_runtime.store.require(key).state.value != "accepted" and time.monotonic() < deadline:
        time.sleep(0.1)
    shown = httpx.get(f"{pg_service.url}/v1/vouchers/{key}", headers=pg_service.auth()).json()
    assert shown["state"] == "accepted" and shown["hacienda"]["estado"] == "aceptado"


def test_a_revoked_key_stops_at_once_on_postgres(pg_service: Service, pg_runtime: Runtime) -> None:
    assert httpx.get(pg_service.url + "/v1/vouchers", headers=pg_service.auth()).status_code == 200
    ApiKeys(pg_runtime.store).revoke(pg_service.key_id)
    assert httpx.get(pg_service.url + "/v1/vouchers", headers=pg_service.auth()).status_code == 401


def test_console_users_sign_in_lock_and_page_received_on_postgres(
    pg_service: Service, pg_runtime: Runtime
) -> None:
    from test_console import Browserless, csrf_of, sign_in

    from cr_einvoice.app.demo import EMISOR
    from cr_einvoice.core.secret import Secret
    from cr_einvoice.service.users import FREE_FAILURES, ConsoleUsers

    key, _ = ApiKeys(pg_runtime.store).create(EMISOR)  # the module's key may have been revoked
    auth = pg_service.auth(key.reveal())
    xml = pg_service.box.supplier_invoice(numero=9301)
    headers = {"Content-Type": "application/xml", **auth}
    imported = httpx.post(pg_service.url + "/v1/received", content=xml, headers=headers)
    assert imported.status_code == 201, imported.text
    clave = imported.json()["received"]["clave"]
    with Browserless(pg_service.url) as client:
        assert sign_in(client, pg_service.user).status_code == 303
        received = client.get("/console/recibidos", params={"respuesta": "pending"})
        assert received.status_code == 200 and clave in received.text
        listed = httpx.get(pg_service.url + "/v1/received?decision=pending&limit=1", headers=auth)
        assert [r["clave"] for r in listed.json()["items"]] == [clave]
        assert client.post("/console/salir", data={"csrf": csrf_of(received.text)}).status_code == 303
        ConsoleUsers(pg_runtime.store).create("pg.lock", EMISOR, Secret("una clave bastante larga"))
        for _ in range(FREE_FAILURES - 1):
            assert sign_in(client, "pg.lock", "mala").status_code == 401
        assert sign_in(client, "pg.lock", "mala").status_code == 429
        assert sign_in(client, "pg.lock", "una clave bastante larga").status_code == 429
    locked = pg_runtime.store.get_console_user("pg.lock")
    assert locked is not None and locked.failed_logins == FREE_FAILURES and locked.locked_until is not None
