"""The worker against the real async client and the local simulator on loopback."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from outbox_docs import EMISOR_ID, factura, ticket

from cr_einvoice.core.secret import Secret
from cr_einvoice.hacienda import AsyncClient, Credentials
from cr_einvoice.outbox.issuing import Issuer, IssuerSettings
from cr_einvoice.outbox.store import Store, VoucherState
from cr_einvoice.outbox.worker import Worker, WorkerSettings
from cr_einvoice.sandbox import Simulator, SimulatorSettings
from cr_einvoice.signing.xades import Signer, TrustStore
from cr_einvoice.testing.pki import TestPKI

USER = "cpj-3-101-123456@stag.comprobanteselectronicos.go.cr"
FAST = WorkerSettings(concurrency=4, poll_initial=0.05, poll_max=0.2, send_backoff_base=0.05, lease=5.0)


@pytest.fixture(scope="module")
def sim(pki: TestPKI, backend: str) -> Iterator[Simulator]:
    """One simulator per store backend (``backend``: the tests of each reuse the same numbers)."""
    settings = SimulatorSettings(
        users={USER: "pw"},
        processing_delay=0.05,
        trust=TrustStore.from_pem_files(pki.ca_cert_pem),
        callback_retry_delay=0.05,
    )
    with Simulator(settings) as s:
        yield s


def client(sim: Simulator) -> AsyncClient:
    assert sim.sello_ca_cert_pem is not None
    return AsyncClient(
        sim.environment(),
        Credentials(USER, Secret("pw")),
        trust=TrustStore.from_pem_files(sim.sello_ca_cert_pem),
    )


async def test_issue_submit_poll_to_accepted(sim: Simulator, issuer: Issuer, store: Store) -> None:
    issued = [issuer.issue(ticket()) for _ in range(3)] + [issuer.issue(factura())]
    async with client(sim) as api:
        await Worker(store, api, FAST).drain(within=30)
    for v in issued:
        rec = store.require(v.key)
        assert rec.state is VoucherState.ACCEPTED, rec.last_error
        [resp] = store.respuestas(v.key)
        assert resp.mensaje == 1 and resp.raw_xml is not None and b"MensajeHacienda" in resp.raw_xml
        assert sim.store.get(v.key) is not None


async def test_duplicate_consecutivo_is_rejected_with_hacienda_message(
    sim: Simulator,
    issuer: Issuer,
    store: Store,
    signer: Signer,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    from cr_einvoice.outbox.store import open_store

    first = issuer.issue(ticket(), sucursal=7)
    restored = open_store(tmp_path_factory.mktemp("restored") / "old-backup.db", create=True)
    again = Issuer(restored, signer, IssuerSettings("02", EMISOR_ID, "X", sucursal=7)).issue(ticket())
    assert again.consecutivo == first.consecutivo and again.clave != first.clave
    async with client(sim) as api:
        await Worker(store, api, FAST).drain(within=30)
        await Worker(restored, api, FAST).drain(within=30)
    rec = restored.require(again.key)
    assert rec.state is VoucherState.REJECTED
    assert rec.last_error is not None and "-99" in rec.last_error
    [resp] = restored.respuestas(again.key)
    assert resp.mensaje == 3 and any(e["codigo"] == -99 for e in resp.errores)


async def test_ambiguous_drop_after_body_is_resolved_without_a_second_post(
    sim: Simulator, issuer: Issuer, store: Store
) -> None:
    v = issuer.issue(ticket(), sucursal=2)
    posts: list[str] = []
    original = sim.submit

    def recording_submit(claims, body, *, drop_after=False):  # type: ignore[no-untyped-def]
        posts.append(body.decode()[:80])
        return original(claims, body, drop_after=drop_after)

    sim.submit = recording_submit  # type: ignore[method-assign]
    try:
        sim.faults.drop_next(1, after_body=True)
        async with client(sim) as api:
            await Worker(store, api, FAST).drain(within=30)
    finally:
        del sim.submit  # type: ignore[method-assign]
    rec = store.require(v.key)
    assert rec.state is VoucherState.ACCEPTED
    assert len(posts) == 1, posts  # the status check found it: never sent twice
    kinds = [e.kind for e in store.events(v.key)]
    assert kinds[:2] == ["issued", "send"] and "submitted" not in kinds  # answered by the status check
    assert store.connectivity()[0] is True  # a lost answer is not "Hacienda unreachable"


async def test_unreachable_hacienda_contingency_then_drain(
    issuer: Issuer, store: Store, pki: TestPKI
) -> None:
    settings = SimulatorSettings(
        users={USER: "pw"}, processing_delay=0.02, trust=TrustStore.from_pem_files(pki.ca_cert_pem)
    )
    down = Simulator(settings)
    down.start()  # bound, not serving yet: a closed port would be refused; use a port nobody listens on
    port = down.port
    down.stop()
    online_v = issuer.issue(ticket())
    assert online_v.situacion == "1"
    from cr_einvoice.hacienda import Environment

    env = Environment.custom(
        token_url=f"http://127.0.0.1:{port}/auth/realms/rut-stag/protocol/openid-connect/token",
        recepcion_url=f"http://127.0.0.1:{port}/recepcion/v1/",
        client_id="api-stag",
    )
    from cr_einvoice.transport.http import RetryPolicy

    async with AsyncClient(env, Credentials(USER, Secret("pw")), retry=RetryPolicy(max_attempts=1)) as api:
        await Worker(store, api, FAST).run_once()
    assert store.connectivity()[0] is False
    offline_v = [issuer.issue(ticket()) for _ in range(3)]
    assert {v.situacion for v in offline_v} == {"3"}
    settings.port = port
    with Simulator(settings) as back:
        assert back.sello_ca_cert_pem is not None
        async with AsyncClient(
            back.environment(),
            Credentials(USER, Secret("pw")),
            trust=TrustStore.from_pem_files(back.sello_ca_cert_pem),
        ) as api:
            await Worker(store, api, FAST).drain(within=30)
    assert store.connectivity()[0] is True
    assert {store.require(v.key).state for v in [online_v, *offline_v]} == {VoucherState.ACCEPTED}


async def test_callbacks_deliver_the_answer_without_polling(
    sim: Simulator, issuer: Issuer, store: Store
) -> None:
    from cr_einvoice.outbox.worker import CallbackServer

    server = CallbackServer()
    secret = Secret("callback-secret-for-tests")
    tuning = WorkerSettings(poll_initial=60.0, poll_max=60.0, callback_url=server.url, callback_secret=secret)
    issued = [issuer.issue(ticket(), sucursal=3) for _ in range(3)]
    async with client(sim) as api:
        worker = Worker(store, api, tuning)
        async with server.serving(worker.callback_app()):
            report = await worker.run_once()
            assert report.sent == 3
            for _ in range(300):
                if all(store.require(v.key).is_final for v in issued):
                    break
                await asyncio.sleep(0.02)
    for v in issued:
        rec = store.require(v.key)
        assert rec.state is VoucherState.ACCEPTED
        assert rec.polls == 1  # the callback counts as the one answer; no GET was needed
        assert [r.source for r in store.respuestas(v.key)] == ["callback"]
        sub = sim.store.get(v.key)
        assert sub is not None and sub.callback_delivered
        assert sub.callback_url is not None and sub.callback_url.startswith(server.url + v.clave + "/")


async def test_forged_callback_is_refused(sim: Simulator, issuer: Issuer, store: Store) -> None:
    import httpx

    from cr_einvoice.outbox.worker import CallbackServer

    server = CallbackServer()
    v = issuer.issue(ticket(), sucursal=4)
    tuning = WorkerSettings(callback_url=server.url, callback_secret=Secret("s3"))
    async with client(sim) as api:
        worker = Worker(store, api, tuning)
        async with server.serving(worker.callback_app()), httpx.AsyncClient() as http:
            body = {"clave": v.key, "ind-estado": "aceptado"}
            wrong_token = await http.post(f"{server.url}{v.key}/not-the-token", json=body)
            assert wrong_token.status_code == 403
            from cr_einvoice.hacienda.callbacks import callback_url

            unsigned = await http.post(callback_url(server.url, v.key, Secret("s3")), json=body)
            assert unsigned.status_code == 422  # no signed respuesta-xml: not trusted
    assert store.require(v.key).state is VoucherState.SIGNED
