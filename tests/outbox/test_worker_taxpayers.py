"""A worker with one client per taxpayer: each voucher goes with its taxpayer's client, a 429 pauses only
that taxpayer, and a worker for some taxpayers leaves the others' vouchers alone."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from pathlib import Path

import pytest
from outbox_fakes import FakeRecepcion

from cr_einvoice.core.errors import ConfigError
from cr_einvoice.outbox.store import (
    CounterKey,
    NewVoucher,
    SQLiteStore,
    VoucherKind,
    VoucherState,
    open_store,
)
from cr_einvoice.outbox.worker import Worker, WorkerSettings

ALFA = "3101111111"
BETA = "3101222222"
FAST = WorkerSettings(concurrency=1, poll_initial=0.01, poll_max=0.05, lease=5.0, send_backoff_base=30.0)


def issue(store: SQLiteStore, emisor: str, n: int) -> list[str]:
    keys = []
    for _ in range(n):

        def build(numero: int, situacion: str) -> NewVoucher:
            consecutivo = f"0010000101{numero:010d}"
            clave = f"506010126{'00' + emisor}{consecutivo}{situacion}12345678"
            return NewVoucher(
                key=clave,
                clave=clave,
                consecutivo=consecutivo,
                kind=VoucherKind.ISSUED,
                tipo="01",
                situacion=situacion,
                fecha_emision=datetime.now(UTC),
                emisor_tipo="02",
                emisor_numero=emisor,
                receptor_tipo=None,
                receptor_numero=None,
                signed_xml=f"<v clave={clave}/>".encode(),
            )

        keys.append(store.issue(CounterKey(emisor, 1, 1, "01"), build)[0].key)
    return keys


@pytest.fixture
def store(tmp_path: Path) -> SQLiteStore:
    s = open_store(tmp_path / "w.db", create=True)
    s.add_issuer("02", ALFA, "Alfa")
    s.add_issuer("02", BETA, "Beta")
    return s


async def test_each_voucher_is_sent_and_asked_about_with_its_taxpayer_s_client(store: SQLiteStore) -> None:
    alfa, beta = issue(store, ALFA, 3), issue(store, BETA, 2)
    api_a, api_b = FakeRecepcion(), FakeRecepcion()
    await Worker(store, {ALFA: api_a, BETA: api_b}, FAST).drain(within=10)
    assert {store.require(k).state for k in alfa + beta} == {VoucherState.ACCEPTED}
    assert sorted(k for k, _ in api_a.posts) == sorted(alfa) and set(api_a.gets) == set(alfa)
    assert sorted(k for k, _ in api_b.posts) == sorted(beta) and set(api_b.gets) == set(beta)


async def test_a_429_pauses_only_the_taxpayer_that_got_it(store: SQLiteStore) -> None:
    alfa, beta = issue(store, ALFA, 3), issue(store, BETA, 2)
    api_a, api_b = FakeRecepcion(submit_faults=[("429", False)]), FakeRecepcion()
    report = await Worker(store, {ALFA: api_a, BETA: api_b}, FAST).run_once()
    # Alfa's first POST was answered 429: its other vouchers wait (pause of at least 15 s) ...
    assert len(api_a.posts) == 1 and report.deferred == 3
    states = sorted(store.require(k).state.value for k in alfa)
    assert states == ["sending", "signed", "signed"]
    # ... while Beta's went out in the same round.
    assert sorted(k for k, _ in api_b.posts) == sorted(beta)
    assert {store.require(k).state for k in beta} == {VoucherState.SUBMITTED}


async def test_one_client_for_everything_pauses_everything_after_a_429(store: SQLiteStore) -> None:
    """The single-taxpayer worker (one client, one account) keeps its one pause: same account, same limit."""
    issue(store, ALFA, 2)
    beta = issue(store, BETA, 1)
    api = FakeRecepcion(submit_faults=[("429", False)])
    await Worker(store, api, FAST).run_once()
    assert len(api.posts) == 1 and store.require(beta[0]).state is VoucherState.SIGNED


async def test_a_worker_for_one_taxpayer_leaves_the_others_alone(store: SQLiteStore) -> None:
    alfa, beta = issue(store, ALFA, 2), issue(store, BETA, 2)
    api_a = FakeRecepcion()
    worker = Worker(store, {ALFA: api_a}, FAST)
    await worker.drain(within=10)  # returns: Beta's vouchers are not waited for
    assert {store.require(k).state for k in alfa} == {VoucherState.ACCEPTED}
    for key in beta:
        record = store.require(key)
        assert record.state is VoucherState.SIGNED and record.attempts == 0 and record.lease_owner is None
    assert {k for k, _ in api_a.posts} == set(alfa)
    with pytest.raises(ConfigError, match=f"taxpayer {BETA} is not one this worker sends for"):
        worker.client_for(store.require(beta[0]))
    with pytest.raises(ConfigError, match="at least one Hacienda client"):
        Worker(store, {}, FAST)


def test_the_taxpayer_of_a_receptor_message_is_its_receptor(store: SQLiteStore) -> None:
    record = store.require(issue(store, ALFA, 1)[0])
    assert record.taxpayer == ALFA
    message = dataclasses.replace(
        record, kind=VoucherKind.RECEPTOR_MESSAGE, receptor_tipo="02", receptor_numero=BETA
    )
    assert message.taxpayer == BETA


async def test_others_due_vouchers_do_not_make_an_idle_worker_spin(
    store: SQLiteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Beta's vouchers are due at once, for ever, for a worker that serves only Alfa: it must still sleep
    between rounds (``idle``), not loop."""
    import asyncio

    issue(store, BETA, 3)
    rounds = 0
    due = store.due

    def counting(now: float, *, limit: int = 100) -> list:  # type: ignore[type-arg]
        nonlocal rounds
        rounds += 1
        return due(now, limit=limit)

    monkeypatch.setattr(store, "due", counting)
    worker = Worker(store, {ALFA: FakeRecepcion()}, dataclasses.replace(FAST, idle=0.2))
    stop = asyncio.Event()
    task = asyncio.ensure_future(worker.run_forever(stop))
    await asyncio.sleep(1.0)
    stop.set()
    await task
    assert 1 <= rounds <= 10  # about one round per idle period, not thousands
