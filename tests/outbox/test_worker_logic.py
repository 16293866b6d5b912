"""The worker's state logic against an in-memory recepción API, one error class at a time."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from outbox_fakes import FakeRecepcion, FakeSubmit

from cr_einvoice.outbox.store import (
    CounterKey,
    NewVoucher,
    Store,
    VoucherKind,
    VoucherState,
    open_store,
)
from cr_einvoice.outbox.worker import Worker, WorkerSettings

EMISOR = "3101123456"
FAST = WorkerSettings(
    concurrency=4,
    poll_initial=0.01,
    poll_max=0.05,
    send_backoff_base=0.01,
    send_backoff_max=0.05,
    lease=5.0,
    resend_after=0.05,
)


def issue(store: Store, n: int = 1, tipo: str = "01") -> list[str]:
    key = CounterKey(EMISOR, 1, 1, tipo)
    keys = []
    for _ in range(n):

        def build(numero: int, situacion: str) -> NewVoucher:
            consecutivo = f"0010000101{numero:010d}"
            clave = f"506010126{'00' + EMISOR}{consecutivo}{situacion}12345678"
            return NewVoucher(
                key=clave,
                clave=clave,
                consecutivo=consecutivo,
                kind=VoucherKind.ISSUED,
                tipo=tipo,
                situacion=situacion,
                fecha_emision=datetime.now(UTC),
                emisor_tipo="02",
                emisor_numero=EMISOR,
                receptor_tipo=None,
                receptor_numero=None,
                signed_xml=f"<v clave={clave}/>".encode(),
            )

        keys.append(store.issue(key, build)[0].key)
    return keys


@pytest.fixture
def store(store: Store) -> Store:
    """The store of every backend (tests/outbox/conftest.py) with this file's issuer."""
    store.add_issuer("02", EMISOR, "X")
    return store


def no_post_after_acceptance(api: FakeRecepcion) -> None:
    assert not [k for k, accepted_before in api.posts if accepted_before]


async def test_happy_path_sends_polls_and_stores_respuestas(store: Store) -> None:
    keys = issue(store, 3)
    api = FakeRecepcion(polls_to_final=2)
    worker = Worker(store, api, FAST)
    first = await worker.run_once()
    assert first.sent == 3
    assert {store.require(k).state for k in keys} == {VoucherState.SUBMITTED}
    await worker.drain(within=10)
    for k in keys:
        rec = store.require(k)
        assert rec.state is VoucherState.ACCEPTED and rec.attempts == 1 and rec.polls == 2
        assert store.respuestas(k)[-1].raw_xml == b"<MH>1</MH>"
    assert len(api.posts) == 3
    no_post_after_acceptance(api)


async def test_rejection_keeps_hacienda_errors(store: Store) -> None:
    [k] = issue(store)
    api = FakeRecepcion(verdicts={k: "rechazado"})
    await Worker(store, api, FAST).drain(within=10)
    rec = store.require(k)
    assert rec.state is VoucherState.REJECTED
    assert rec.last_error is not None and "-52" in rec.last_error
    [resp] = store.respuestas(k)
    assert resp.mensaje == 3 and resp.errores[0]["codigo"] == -52


async def test_validation_refusal_is_an_error_and_not_retried(store: Store) -> None:
    [k] = issue(store)
    api = FakeRecepcion(submit_faults=[("400", False)])
    await Worker(store, api, FAST).drain(within=5)
    rec = store.require(k)
    assert rec.state is VoucherState.ERROR and "no es válido" in (rec.last_error or "")
    assert len(api.posts) == 1


async def test_ambiguous_failure_after_registration_checks_status_instead_of_resending(
    store: Store,
) -> None:
    [k] = issue(store)
    api = FakeRecepcion(submit_faults=[("timeout", True)])
    worker = Worker(store, api, FAST)
    await worker.run_once()
    assert store.require(k).state is VoucherState.SENDING
    await worker.drain(within=10)
    assert store.require(k).state is VoucherState.ACCEPTED
    assert len(api.posts) == 1  # the status said it arrived: never sent twice
    assert api.gets[0] == k


async def test_ambiguous_failure_before_registration_resends_after_404(store: Store) -> None:
    [k] = issue(store)
    api = FakeRecepcion(submit_faults=[("timeout", False)])
    await Worker(store, api, FAST).drain(within=10)
    assert store.require(k).state is VoucherState.ACCEPTED
    assert [p for p, _ in api.posts] == [k, k]
    assert store.require(k).attempts == 2


async def test_crash_after_marking_sending_asks_first(store: Store) -> None:
    [k] = issue(store)
    store.transition(k, VoucherState.SENDING, next_action_at=0.0)  # a worker died mid-POST
    api = FakeRecepcion()
    api.known[k] = 0  # ... and the POST had arrived
    await Worker(store, api, FAST).drain(within=10)
    assert store.require(k).state is VoucherState.ACCEPTED
    assert api.posts == []


async def test_already_received_resolves_by_polling(store: Store) -> None:
    [k] = issue(store)
    api = FakeRecepcion()
    api.known[k] = 0  # Hacienda has it, our store does not know (e.g. restored backup)
    await Worker(store, api, FAST).drain(within=10)
    rec = store.require(k)
    assert rec.state is VoucherState.ACCEPTED
    assert len(api.posts) == 1
    assert "already_received" in [e.kind for e in store.events(k)]


@pytest.mark.parametrize("fault", ["5xx", "429", "401", "refused"])
async def test_retryable_failures_are_deferred_then_succeed(store: Store, fault: str) -> None:
    [k] = issue(store)
    api = FakeRecepcion(submit_faults=[(fault, False), (fault, False)])
    worker = Worker(store, api, FAST)
    report = await worker.run_once()
    assert report.deferred == 1
    assert store.require(k).last_error is not None
    await worker.drain(within=10)
    assert store.require(k).state is VoucherState.ACCEPTED


async def test_unreachable_hacienda_switches_to_contingency_and_drains(store: Store) -> None:
    keys = issue(store, 3)
    api = FakeRecepcion(submit_faults=[("refused", False)] * 3)
    worker = Worker(store, api, FAST)
    await worker.run_once()
    online, since = store.connectivity()
    assert not online and since is not None
    offline_keys = issue(store, 2)
    assert {store.require(k).situacion for k in offline_keys} == {"3"}
    # still unreachable: one probe per round, not a storm
    api.submit_faults = [("refused", False)]
    api.status_faults = ["refused"]
    await asyncio.sleep(0.1)
    posts_before, gets_before = len(api.posts), len(api.gets)
    await worker.run_once()
    assert len(api.posts) + len(api.gets) - posts_before - gets_before == 1
    api.status_faults = []
    await worker.drain(within=10)
    assert store.connectivity()[0]
    assert {store.require(k).state for k in keys + offline_keys} == {VoucherState.ACCEPTED}
    no_post_after_acceptance(api)


async def test_concurrency_is_bounded(store: Store) -> None:
    issue(store, 12)
    api = FakeRecepcion()
    in_flight = peak = 0
    real_submit = api.submit

    async def slow_submit(signed_xml: bytes, **kw: object) -> object:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.02)
        in_flight -= 1
        return await real_submit(signed_xml, **kw)  # type: ignore[arg-type]

    api.submit = slow_submit  # type: ignore[method-assign]
    await Worker(store, api, WorkerSettings(concurrency=3, poll_initial=0.01)).run_once()
    assert peak == 3


async def test_two_workers_on_one_store_never_double_send(store_url: str) -> None:
    a = open_store(store_url, create=True)
    a.add_issuer("02", EMISOR, "X")
    b = open_store(store_url)
    keys = issue(a, 20)
    api = FakeRecepcion(polls_to_final=2)
    w1, w2 = Worker(a, api, FAST), Worker(b, api, FAST)
    await asyncio.gather(w1.drain(within=20), w2.drain(within=20))
    assert {a.require(k).state for k in keys} == {VoucherState.ACCEPTED}
    assert sorted(p for p, _ in api.posts) == sorted(keys)


async def test_voucher_lost_by_hacienda_is_sent_again(store: Store) -> None:
    [k] = issue(store)
    api = FakeRecepcion()
    worker = Worker(store, api, WorkerSettings(poll_initial=0.01, poll_max=0.01, max_not_found_polls=3))
    await worker.run_once()
    api.known.clear()  # the sandbox database was cleaned
    await worker.drain(within=10)
    assert store.require(k).state is VoucherState.ACCEPTED
    assert len(api.posts) == 2
    assert "lost_by_hacienda" in [e.kind for e in store.events(k)]


async def test_a_document_that_cannot_be_put_in_a_request_is_an_error(store: Store) -> None:
    from cr_einvoice.core.errors import ValidationError

    [k] = issue(store)

    class Refusing(FakeRecepcion):
        async def submit(self, signed_xml: bytes, **kw: object) -> FakeSubmit:  # type: ignore[override]
            raise ValidationError("the FacturaElectronica is not signed", path="FacturaElectronica")

    api = Refusing()
    await Worker(store, api, FAST).drain(within=5)
    rec = store.require(k)
    assert rec.state is VoucherState.ERROR and "not signed" in (rec.last_error or "")
