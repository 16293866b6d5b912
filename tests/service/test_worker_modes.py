"""Where the worker runs: in the service's process (Hacienda's answers arriving by callback at the service's
own /hacienda/callbacks/) or as a separate worker over the same store (``--no-worker``)."""

from __future__ import annotations

import asyncio
import time

import httpx
from service_support import post_ticket, running_service

from cr_einvoice.app.demo import LocalSandbox


def test_hacienda_s_answers_arrive_by_callback_at_the_service(box: LocalSandbox) -> None:
    # polling held back far beyond the test: only a callback can bring the answer in time
    with running_service(box, callbacks=True, poll_initial=60.0, poll_max=60.0) as service:
        key = post_ticket(service.url, service.key)
        deadline = time.monotonic() + 20
        while box.runtime.store.require(key).state.value != "accepted" and time.monotonic() < deadline:
            time.sleep(0.1)
        assert box.runtime.store.require(key).state.value == "accepted"
        assert [r.source for r in box.runtime.store.respuestas(key)] == ["callback"]
        forged = httpx.post(f"{service.url}/hacienda/callbacks/{key}/not-the-token", content=b"{}")
        assert forged.status_code == 403


def test_without_a_worker_in_the_process_a_separate_worker_sends(box: LocalSandbox) -> None:
    with running_service(box, run_worker=False) as service:
        key = post_ticket(service.url, service.key)
        time.sleep(0.5)
        assert box.runtime.store.require(key).state.value == "signed"  # nobody sends it in the service
        assert httpx.get(service.url + "/readyz").json()["worker"] == "separate process"
        refresh = httpx.post(
            f"{service.url}/v1/vouchers/{key}/refresh", headers={"Authorization": f"Bearer {service.key}"}
        )
        assert refresh.status_code == 409 and refresh.json()["type"].endswith("/no-worker")
        asyncio.run(box.runtime.drain([key], within=20))  # as 'cr-einvoice worker' would, over the same store
        shown = httpx.get(
            f"{service.url}/v1/vouchers/{key}", headers={"Authorization": f"Bearer {service.key}"}
        ).json()
        assert shown["state"] == "accepted" and shown["hacienda"]["estado"] == "aceptado"
