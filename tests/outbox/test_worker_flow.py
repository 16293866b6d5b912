"""The continuous driver (Worker.run_forever): a slot that frees is refilled at once -- a slow voucher does
not hold back the others -- and vouchers already sent are polled while new ones are still being sent."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from outbox_fakes import FakeRecepcion, FakeStatus, FakeSubmit
from test_worker_logic import EMISOR, issue

from cr_einvoice.outbox.store import Store, VoucherState
from cr_einvoice.outbox.worker import Worker, WorkerSettings


class Timed(FakeRecepcion):
    """The fake recepción with a POST latency per voucher and a log of every call in order."""

    def __init__(self, delays: dict[str, float] | None = None, post_delay: float = 0.0) -> None:
        super().__init__(polls_to_final=1)
        self.delays = delays or {}
        self.post_delay = post_delay
        self.calls: list[tuple[str, str, float]] = []

    async def submit(self, signed_xml: bytes, **options: Any) -> FakeSubmit:
        key = self.key_of(signed_xml, None)
        await asyncio.sleep(self.delays.get(key, self.post_delay))
        self.calls.append(("post", key, time.monotonic()))
        return await super().submit(signed_xml, **options)

    async def status(self, clave: str) -> FakeStatus:
        self.calls.append(("get", clave, time.monotonic()))
        return await super().status(clave)


def count_transactions(store: Store, monkeypatch: Any) -> list[int]:
    """A one-item list counting the store's ``atomic()`` blocks opened from now on."""
    atomic = store.atomic
    count = [0]

    def counting() -> Any:
        count[0] += 1
        return atomic()

    monkeypatch.setattr(store, "atomic", counting)
    return count


async def _until(store: Store, keys: list[str], within: float) -> None:
    deadline = time.monotonic() + within
    while any(store.require(k).state is not VoucherState.ACCEPTED for k in keys):
        assert time.monotonic() < deadline, {k: store.require(k).state for k in keys}
        await asyncio.sleep(0.01)


async def test_a_slow_voucher_does_not_hold_back_the_others(store: Store) -> None:
    store.add_issuer("02", EMISOR, "X")
    [slow] = issue(store, 1)
    api = Timed(delays={slow: 1.5})
    settings = WorkerSettings(concurrency=4, poll_initial=0.01, poll_max=0.05, idle=5.0, heartbeat=0.5)
    worker = Worker(store, api, settings)
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run_forever(stop))
    try:
        await asyncio.sleep(0.2)  # the slow POST is in flight
        started = time.monotonic()
        quick = issue(store, 3)
        worker.wake()
        await _until(store, quick, within=5)
        assert time.monotonic() - started < 1.0, "the new vouchers waited for the slow one"
        assert store.require(slow).state is VoucherState.SENDING
        await _until(store, [slow], within=5)
    finally:
        stop.set()
        await asyncio.wait_for(task, 5)


async def test_polls_take_turns_with_sends(store: Store) -> None:
    store.add_issuer("02", EMISOR, "X")
    keys = issue(store, 30)
    api = Timed(post_delay=0.02)
    settings = WorkerSettings(concurrency=2, poll_initial=0.01, poll_max=0.05, idle=5.0, heartbeat=0.5)
    worker = Worker(store, api, settings)
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run_forever(stop))
    try:
        await _until(store, keys, within=20)
    finally:
        stop.set()
        await asyncio.wait_for(task, 5)
    posts = [at for kind, _, at in api.calls if kind == "post"]
    gets = [at for kind, _, at in api.calls if kind == "get"]
    assert len(posts) == len(gets) == 30
    # The first vouchers were asked about long before the last ones were sent (no send-everything-first).
    assert sum(1 for at in gets if at < posts[-1]) >= 20


async def test_the_vouchers_launched_together_are_claimed_in_one_transaction(
    store: Store, monkeypatch: Any
) -> None:
    from cr_einvoice.outbox.worker import _Flight

    store.add_issuer("02", EMISOR, "X")
    keys = issue(store, 5)
    worker = Worker(store, Timed(post_delay=0.05), WorkerSettings(concurrency=8, heartbeat=0.5))
    transactions = count_transactions(store, monkeypatch)
    flight = _Flight(worker)
    flight.refill()
    assert transactions == [1] and len(flight.tasks) == 5
    for key in keys:  # every one in sending, this worker's lease, before any POST went out
        record = store.require(key)
        assert record.state is VoucherState.SENDING and record.lease_owner == worker.worker_id
    await flight.abandon()


async def test_answers_that_arrive_together_are_stored_in_one_transaction(
    store: Store, monkeypatch: Any
) -> None:
    store.add_issuer("02", EMISOR, "X")
    keys = issue(store, 6)
    worker = Worker(store, FakeRecepcion(polls_to_final=1), WorkerSettings(concurrency=8, poll_initial=0.0))
    assert (await worker.run_once()).sent == 6
    transactions = count_transactions(store, monkeypatch)
    report = await worker.run_once()
    assert (report.polls, report.accepted) == (6, 6)
    assert transactions == [1]
    assert all(store.require(k).state is VoucherState.ACCEPTED for k in keys)
    assert all(len(store.respuestas(k)) == 1 for k in keys)


async def test_when_one_answer_fails_the_others_are_applied_one_by_one(
    store: Store, monkeypatch: Any
) -> None:
    from cr_einvoice.core.errors import StoreError

    store.add_issuer("02", EMISOR, "X")
    keys = issue(store, 4)
    worker = Worker(store, FakeRecepcion(polls_to_final=1), WorkerSettings(concurrency=8, poll_initial=0.0))
    await worker.run_once()
    apply = worker._apply_status_tx

    def failing_for_the_first(record: Any, *args: Any, **kwargs: Any) -> Any:
        if record.key == keys[0]:
            store.add_respuesta(  # written inside the transaction, then the failure: must not remain
                record.key,
                source="poll",
                estado="aceptado",
                mensaje=1,
                detalle=None,
                errores=[],
                raw_xml=None,
            )
            raise StoreError("moved by another worker meanwhile")
        return apply(record, *args, **kwargs)

    monkeypatch.setattr(worker, "_apply_status_tx", failing_for_the_first)
    report = await worker.run_once()
    assert (report.accepted, report.skipped) == (3, 1)
    assert [store.require(k).state for k in keys] == [VoucherState.SUBMITTED] + [VoucherState.ACCEPTED] * 3
    assert [len(store.respuestas(k)) for k in keys] == [0, 1, 1, 1]


async def test_the_continuous_driver_goes_on_when_another_worker_moved_a_voucher(
    store: Store, monkeypatch: Any
) -> None:
    """A voucher whose write fails because another worker moved it meanwhile (StoreError) is skipped: the
    driver goes on with the others, and the voucher stays in the outbox for a later turn."""
    from cr_einvoice.core.errors import StoreError

    store.add_issuer("02", EMISOR, "X")
    keys = issue(store, 4)
    worker = Worker(store, FakeRecepcion(polls_to_final=1), WorkerSettings(concurrency=8, poll_initial=0.0))
    apply = worker._apply_status_tx
    failed: list[str] = []

    def failing_twice_for_the_first(record: Any, *args: Any, **kwargs: Any) -> Any:
        # twice: answers that arrive together are applied in one transaction, and again one by one when
        # that fails; the second failure reaches the step
        if record.key == keys[0] and len(failed) < 2:
            failed.append(record.key)
            raise StoreError("moved by another worker meanwhile")
        return apply(record, *args, **kwargs)

    monkeypatch.setattr(worker, "_apply_status_tx", failing_twice_for_the_first)
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run_forever(stop))
    try:
        await _until(store, keys[1:], within=10)
        await asyncio.sleep(0.2)
        assert not task.done()  # a step's StoreError did not stop the driver
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=10)  # raises what the driver raised
    assert failed == [keys[0], keys[0]]
    # still in the outbox, due again when the lease it was claimed with runs out
    assert store.require(keys[0]).state is VoucherState.SUBMITTED
