"""An idle worker wakes when work comes, without waiting out its idle time: on PostgreSQL when any node
issues (LISTEN/NOTIFY), on SQLite when its own process issues (at once) or another process commits to the
file (``PRAGMA data_version``, looked at every 50 ms)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from outbox_fakes import FakeRecepcion
from test_store import woken_by
from test_worker_logic import EMISOR, issue

from cr_einvoice.outbox.store import Store, VoucherState, open_store
from cr_einvoice.outbox.worker import Worker, WorkerSettings

LAZY = WorkerSettings(idle=30.0, poll_initial=0.01, poll_max=0.05, heartbeat=0.5)


async def test_an_idle_worker_sends_a_voucher_issued_elsewhere_at_once(store: Store, store_url: str) -> None:
    await _sends_at_once(store, open_store(store_url))  # another connection: another process, another node


async def test_an_idle_worker_sends_a_voucher_its_own_process_issued_at_once(store: Store) -> None:
    await _sends_at_once(store, store)


async def _sends_at_once(store: Store, issuing: Store) -> None:
    store.add_issuer("02", EMISOR, "X")
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


def test_sqlite_hears_other_connections_commits(tmp_path: Path) -> None:
    """``wait_for_work`` on SQLite: a timeout when nothing is committed; woken within a fraction of a second
    by another connection's commit (as by ``cr-einvoice serve`` issuing for a separate worker process), not
    by its own connection's."""
    path = f"{tmp_path}/outbox.db"
    waiting, other = open_store(path, create=True), open_store(path)
    try:
        started = time.monotonic()
        assert waiting.wait_for_work(0.3) is False
        assert 0.25 <= time.monotonic() - started < 2
        waiting.log_event(None, "own", {})  # its own commit: heard by nobody here
        assert waiting.wait_for_work(0.2) is False
        woken, took = woken_by(waiting, lambda: other.log_event(None, "elsewhere", {}))
        assert woken is True and 0.25 <= took < 1.5, took
        other.log_event(None, "while nobody waits", {})  # heard by the next wait
        assert waiting.wait_for_work(5) is True
        assert waiting.wait_for_work(0.2) is False
    finally:
        waiting.close()
        other.close()
