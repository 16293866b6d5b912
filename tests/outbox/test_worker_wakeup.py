"""An idle worker wakes when work comes, without waiting out its idle time: on PostgreSQL when any node
issues (LISTEN/NOTIFY), on SQLite when its own process issues."""

from __future__ import annotations

import asyncio
import time

from outbox_fakes import FakeRecepcion
from test_worker_logic import EMISOR, issue

from cr_einvoice.outbox.store import Store, VoucherState, open_store
from cr_einvoice.outbox.worker import Worker, WorkerSettings

LAZY = WorkerSettings(idle=30.0, poll_initial=0.01, poll_max=0.05, heartbeat=0.5)


async def test_an_idle_worker_sends_a_voucher_issued_elsewhere_at_once(store: Store, store_url: str) -> None:
    store.add_issuer("02", EMISOR, "X")
    # PostgreSQL: another connection (another node) issues; SQLite: the worker's own store object does
    issuing = open_store(store_url) if store_url.startswith("postgresql://") else store
    api = FakeRecepcion(polls_to_final=1)
    worker = Worker(store, api, LAZY)
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run_forever(stop))
    try:
        await asyncio.sleep(0.6)  # the worker has looked, found nothing and gone idle for 30 s
        started = time.monotonic()
        [key] = await asyncio.to_thread(issue, issuing, 1)
        while store.require(key).state is VoucherState.SIGNED:
            assert time.monotonic() - started < 5, "the idle worker did not wake"
            await asyncio.sleep(0.02)
        assert [k for k, _ in api.posts] == [key]
    finally:
        stop.set()
        await asyncio.wait_for(task, 5)
        if issuing is not store:
            issuing.close()


async def test_a_stop_is_not_delayed_by_listening(store: Store) -> None:
    worker = Worker(store, FakeRecepcion(), LAZY)
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run_forever(stop))
    await asyncio.sleep(0.5)
    started = time.monotonic()
    stop.set()
    await asyncio.wait_for(task, 5)
    assert time.monotonic() - started < 1.0
