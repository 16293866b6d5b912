"""Issue #10 item 6 against the real simulator on loopback: every voucher has a bounded, persisted path.

* ``ind-estado: error`` answered again and again ends, bounded, in ``error`` with the reason on the record;
* consecutive 404s are counted in the store: a new worker on a new connection continues the count;
* a POST whose answer timed out is asked about, and a 404 then does not make the worker POST again before
  ``resend_after``: the voucher, registered late by Hacienda, is POSTed once;
* a transient "Error al comunicarse con el Signum One" rejection is queried again and resent, not final.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from outbox_docs import ticket

from cr_einvoice.core.secret import Secret
from cr_einvoice.hacienda import AsyncClient, Credentials
from cr_einvoice.outbox.issuing import Issuer
from cr_einvoice.outbox.store import Store, VoucherState, open_store
from cr_einvoice.outbox.worker import Worker, WorkerSettings
from cr_einvoice.sandbox import Simulator, SimulatorSettings
from cr_einvoice.signing.xades import TrustStore
from cr_einvoice.testing.pki import TestPKI
from cr_einvoice.transport.http import RetryPolicy

USER = "cpj-3-101-123456@stag.comprobanteselectronicos.go.cr"
FAST = WorkerSettings(
    concurrency=2,
    poll_initial=0.02,
    poll_max=0.05,
    send_backoff_base=0.02,
    send_backoff_max=0.05,
    lease=5.0,
    idle=0.02,
    resend_after=0.05,
    max_requery=2,
    max_resends=1,
)


@pytest.fixture(scope="module")
def sim(pki: TestPKI, backend: str) -> Iterator[Simulator]:
    """One simulator per store backend (``backend``: the tests of each reuse the same numbers)."""
    settings = SimulatorSettings(
        users={USER: "pw"}, processing_delay=0.02, trust=TrustStore.from_pem_files(pki.ca_cert_pem)
    )
    with Simulator(settings) as s:
        yield s


@pytest.fixture
def posts(sim: Simulator) -> Iterator[list[str]]:
    """The claves POSTed to the simulator during the test (its faults are cleared afterwards)."""
    seen: list[str] = []
    original = sim.submit

    def recording(claims: Any, body: bytes, *, drop_after: bool = False) -> Any:
        seen.append(str(json.loads(body)["clave"]))
        return original(claims, body, drop_after=drop_after)

    sim.submit = recording  # type: ignore[method-assign]
    yield seen
    del sim.submit
    sim.faults.reset()


def client(sim: Simulator, **options: Any) -> AsyncClient:
    assert sim.sello_ca_cert_pem is not None
    return AsyncClient(
        sim.environment(),
        Credentials(USER, Secret("pw")),
        trust=TrustStore.from_pem_files(sim.sello_ca_cert_pem),
        **options,
    )


async def test_ind_estado_error_again_and_again_ends_in_error_with_the_reason(
    sim: Simulator, issuer: Issuer, store: Store, posts: list[str]
) -> None:
    v = issuer.issue(ticket())
    sim.faults.error_next(1000)  # every processing of it ends in ind-estado error
    async with client(sim) as api:
        await Worker(store, api, FAST).drain(within=20)  # returns: the voucher is no longer pending
    rec = store.require(v.key)
    assert rec.state is VoucherState.ERROR
    assert rec.last_error is not None and "ind-estado 'error'" in rec.last_error
    assert "submit --retry-errors" in rec.last_error  # says what to do
    assert rec.summary()["last_error"] == rec.last_error  # what 'show' prints
    # bounded: queried again max_requery times per POST, sent again max_resends times, then given up
    assert posts == [v.clave] * (1 + FAST.max_resends)
    kinds = [e.kind for e in store.events(v.key)]
    assert kinds.count("requery") == FAST.max_requery * (1 + FAST.max_resends)
    assert kinds.count("resend") == FAST.max_resends and kinds[-1] == "gave_up"


async def test_consecutive_404s_are_counted_across_a_restart(
    sim: Simulator, issuer: Issuer, store: Store, posts: list[str], tmp_path: Path
) -> None:
    tuning = replace(FAST, max_not_found_polls=4)
    v = issuer.issue(ticket(), sucursal=3)
    async with client(sim) as api:
        worker = Worker(store, api, tuning)
        await worker.run_once()  # POSTed
        assert store.require(v.key).state is VoucherState.SUBMITTED
        sim.store.clear()  # Hacienda loses it: GET answers 404 from now on
        while store.require(v.key).not_found < 2:
            await asyncio.sleep(0.06)
            await worker.run_once()
    assert store.require(v.key).not_found == 2
    # A restart: a new worker on a new connection to the same file continues the count.
    with open_store(store.path) as reopened:
        assert reopened.require(v.key).not_found == 2
        polls = 0
        async with client(sim) as api:
            worker = Worker(reopened, api, tuning)
            while reopened.require(v.key).resends == 0:
                await asyncio.sleep(0.06)
                polls += (await worker.run_once()).polls
                assert polls <= tuning.max_not_found_polls, "the count restarted from 0"
            assert polls == tuning.max_not_found_polls - 2
            await worker.drain(within=10)
        rec = reopened.require(v.key)
        assert rec.state is VoucherState.ACCEPTED
        assert posts == [v.clave, v.clave]  # sent again once Hacienda had said 404 four times in all
        lost = [e for e in reopened.events(v.key) if e.kind == "lost_by_hacienda"]
        assert len(lost) == 1 and "404 4 times" in str(lost[0].detail["error"])


async def test_a_404_after_a_post_timeout_waits_before_posting_again(
    sim: Simulator, issuer: Issuer, store: Store, posts: list[str]
) -> None:
    v = issuer.issue(ticket(), sucursal=4)
    server_delay, client_timeout = 1.2, 0.4
    gets: list[tuple[float, int]] = []  # (seconds since the POST, status) of GET /recepcion/{clave}
    started = time.monotonic()

    def first_post_only(claims: Any, body: bytes, *, drop_after: bool = False) -> Any:
        sim.faults.set_delay(0.0)  # later requests are answered at once
        return recording(claims, body, drop_after=drop_after)

    def status(key: str) -> Any:
        reply = original_status(key)
        gets.append((time.monotonic() - started, reply.status))
        return reply

    recording, original_status = sim.submit, sim.status
    sim.submit, sim.status = first_post_only, status  # type: ignore[method-assign]
    sim.faults.set_delay(server_delay, target="submit")  # the POST is registered after the client gave up
    # resend_after leaves the delayed POST ample time to be registered even on a loaded machine
    tuning = replace(FAST, resend_after=server_delay + 2.3, sending_rechecks=2)
    try:
        async with client(
            sim, timeout=httpx.Timeout(client_timeout), retry=RetryPolicy(1, 0.01, 0.01)
        ) as api:
            await Worker(store, api, tuning).drain(within=20)
    finally:
        sim.submit, sim.status = recording, original_status  # type: ignore[method-assign]
    rec = store.require(v.key)
    assert rec.state is VoucherState.ACCEPTED, rec.last_error
    # the worker asked while the POST was still on its way and was told 404 ...
    assert any(status == 404 and at < server_delay for at, status in gets), gets
    # ... and did not POST again: it asked later, found the voucher and followed it
    events = store.events(v.key)
    assert [e.kind for e in events].count("send") == 1, [(e.kind, dict(e.detail)) for e in events]
    assert any(e.detail.get("source") == "status" and e.detail.get("from") == "sending" for e in events)
    sim.wait_idle(5)
    assert posts == [v.clave]


async def test_a_transient_signum_one_rejection_is_queried_then_resent(
    sim: Simulator, issuer: Issuer, store: Store, posts: list[str]
) -> None:
    v = issuer.issue(ticket(), sucursal=5)
    sim.faults.signum_error_next(1)
    async with client(sim) as api:
        await Worker(store, api, FAST).drain(within=20)
    rec = store.require(v.key)
    assert rec.state is VoucherState.ACCEPTED, rec.last_error
    assert posts == [v.clave, v.clave]  # resent once, as Hacienda's guidance says
    kinds = [e.kind for e in store.events(v.key)]
    assert kinds.count("requery") == FAST.max_requery and kinds.count("resend") == 1
    rechazos = [r for r in store.respuestas(v.key) if r.estado == "rechazado"]
    assert rechazos and "Signum One" in (rechazos[0].detalle or "")
    assert store.respuestas(v.key)[-1].estado == "aceptado"
