"""Helpers of the service tests: the issuing service over the local Hacienda simulator, on loopback."""

from __future__ import annotations

import copy
import json
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

import httpx

from cr_einvoice.app.demo import EMISOR, LocalSandbox
from cr_einvoice.app.publicdata import PublicDataConfig
from cr_einvoice.app.runtime import Runtime
from cr_einvoice.core.secret import Secret
from cr_einvoice.service.app import CALLBACK_PATH, create_app
from cr_einvoice.service.auth import ApiKeys
from cr_einvoice.service.server import BackgroundServer
from cr_einvoice.service.settings import ServiceSettings
from cr_einvoice.service.users import ConsoleUsers
from cr_einvoice.testing.examples import example_json

NOMBRE = "Soluciones Tecnológicas del Valle S.A."
OTHER_EMISOR = "3101999888"
#: The console users running_service creates: one of the TEST company, one of another emisor.
USER, OTHER_USER = "ana.mora", "beto@otra"
PASSWORD = "clave de prueba 2026"


def ticket_json(**changes: Any) -> dict[str, Any]:
    """The TE example as the sandbox's TEST company sells it."""
    data = copy.deepcopy(example_json("te"))
    data["emisor"]["nombre"] = NOMBRE
    data["emisor"]["identificacion"] = {"tipo": "02", "numero": EMISOR}
    data.update(changes)
    return data


def post_ticket(url: str, key: str, **headers: str) -> str:
    """POST the TE example (:func:`ticket_json`) to the service at ``url`` with API key ``key`` (and
    ``headers``); the key of the voucher it issued (asserting 201)."""
    response = httpx.post(
        url + "/v1/vouchers",
        content=json.dumps(ticket_json()).encode(),
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json", **headers},
        timeout=30,
    )
    assert response.status_code == 201, response.text
    return str(response.json()["key"])


@dataclass
class Service:
    box: LocalSandbox
    url: str
    key: str
    other_key: str
    key_id: str
    #: The console users (of the TEST company, of another emisor), both with PASSWORD.
    user: str = USER
    other_user: str = OTHER_USER

    def auth(self, key: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {key or self.key}"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def running_service(
    box: LocalSandbox,
    settings: ServiceSettings | None = None,
    *,
    run_worker: bool = True,
    callbacks: bool = False,
    runtime: Runtime | None = None,
    **options: Any,
) -> Iterator[Service]:
    """The service over ``box``'s runtime, on a free loopback port, with a key for the TEST company and one
    for another emisor (and a console user of each); with ``callbacks`` its worker gives Hacienda the
    service's callback URL; ``runtime`` replaces ``box``'s (another store)."""
    own = None
    if runtime is None:  # the box's taxpayer and store, with the simulator's public data
        assert box.config is not None
        own = runtime = Runtime(replace(box.config, publicdata=PublicDataConfig(base_url=box.sim.root_url)))
    keys = ApiKeys(runtime.store)
    key, record = keys.create(EMISOR, "tests")
    other, _ = keys.create(OTHER_EMISOR, "another company")
    users = ConsoleUsers(runtime.store)
    for username, emisor in ((USER, EMISOR), (OTHER_USER, OTHER_EMISOR)):
        if runtime.store.get_console_user(username) is None:
            users.create(username, emisor, Secret(PASSWORD), "Ana Mora")
    settings = settings or ServiceSettings()
    port = free_port() if callbacks else 0
    if callbacks:
        options |= {
            "callback_url": f"http://127.0.0.1:{port}{CALLBACK_PATH}",
            "callback_secret": Secret("s3cr3t"),
        }
    app = create_app(runtime, settings, run_worker=run_worker, worker_options=options or None)
    try:
        with BackgroundServer(app, port=port) as server:
            yield Service(box, server.url, key.reveal(), other.reveal(), record.key_id)
    finally:
        if own is not None:
            own.close()
