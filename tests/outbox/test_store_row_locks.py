"""The row locks of the write paths both SQL backends share (``sql_tables``), on PostgreSQL where several
nodes write at once: two stores on one database, one of them inside a transaction it has not committed yet.

A claim or a recovery must skip a row the other node holds (answering at once, not after the other commits);
a read-then-write must wait for the other node and then see what it committed (never act on a stale read)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from typing import TypeVar

import pytest
from outbox_docs import EMISOR_ID, factura

from cr_einvoice.core.errors import StoreError
from cr_einvoice.outbox.issuing import Issuer, IssuerSettings
from cr_einvoice.outbox.store import ApiKeyRecord, DeliveryState, NewDelivery, Store, open_store
from cr_einvoice.outbox.store.deliveries import DeliveryStage
from cr_einvoice.signing.xades import Signer
from cr_einvoice.testing.pgserver import PgServer

_T = TypeVar("_T")
A = NewDelivery("compras@example.com", "<a@cr-einvoice>")
#: Long enough for the other node's statement to reach the server and wait on a lock it does not skip.
SETTLE = 0.5


@pytest.fixture
def nodes(pg_server: PgServer) -> Iterator[tuple[Store, Store]]:
    url = pg_server.create_database()
    first = open_store(url, create=True)
    second = open_store(url)
    yield first, second
    second.close()
    first.close()


@pytest.fixture
def key(nodes: tuple[Store, Store], signer: Signer) -> str:
    issuer = Issuer(nodes[0], signer, IssuerSettings("02", EMISOR_ID, "Empresa de Pruebas S.A."))
    return issuer.issue(factura()).clave


@pytest.fixture
def other_thread() -> Iterator[ThreadPoolExecutor]:
    with ThreadPoolExecutor(max_workers=1) as pool:
        yield pool


def _answers_at_once(pool: ThreadPoolExecutor, call: Callable[[], _T]) -> _T:
    """``call``'s result on another thread, which must come while this thread's transaction is open."""
    try:
        return pool.submit(call).result(timeout=10)
    except TimeoutError:
        pytest.fail("the other node waited for the row this transaction holds instead of skipping it")


def _waits(pool: ThreadPoolExecutor, call: Callable[[], _T]) -> Future[_T]:
    """``call`` started on another thread, still waiting (for this thread's transaction) a moment later."""
    future = pool.submit(call)
    time.sleep(SETTLE)
    assert not future.done(), "the other node did not wait for the row this transaction holds"
    return future


def test_a_claim_skips_a_delivery_another_node_is_claiming(
    nodes: tuple[Store, Store], key: str, other_thread: ThreadPoolExecutor
) -> None:
    first, second = nodes
    (d,) = first.plan_deliveries(key, DeliveryStage.SINGLE, [A])
    with first.atomic():
        assert first.claim_delivery(d.id, now=1.0, until=60.0, owner="w1") is not None
        claim = lambda: second.claim_delivery(d.id, now=1.0, until=60.0, owner="w2")  # noqa: E731
        assert _answers_at_once(other_thread, claim) is None
    held = second.get_delivery(d.id)
    assert held is not None and (held.state, held.lease_owner) == (DeliveryState.SENDING, "w1")


def test_a_recovery_leaves_alone_a_delivery_another_node_holds(
    nodes: tuple[Store, Store], key: str, other_thread: ThreadPoolExecutor
) -> None:
    first, second = nodes
    (d,) = first.plan_deliveries(key, DeliveryStage.SINGLE, [A])
    first.claim_delivery(d.id, now=1.0, until=2.0, owner="w1")  # w1 has no heartbeat: judged dead
    with first.atomic():
        first.hand_over_delivery(d.id, owner="w1")
        assert _answers_at_once(other_thread, lambda: second.recover_deliveries(3.0, stale_after=60)) == []
    (recovered,) = second.recover_deliveries(3.0, stale_after=60)
    assert (recovered.id, recovered.state) == (d.id, DeliveryState.UNCERTAIN)


def test_a_retry_waits_for_another_nodes_retry_and_sees_it(
    nodes: tuple[Store, Store], key: str, other_thread: ThreadPoolExecutor
) -> None:
    first, second = nodes
    (d,) = first.plan_deliveries(key, DeliveryStage.SINGLE, [A])
    first.claim_delivery(d.id, now=1.0, until=60.0, owner="w1")
    first.finish_delivery(d.id, DeliveryState.FAILED, error="421 busy", owner="w1")
    with first.atomic():
        assert first.retry_delivery(d.id, now=5.0).state is DeliveryState.PENDING
        late = _waits(other_thread, lambda: second.retry_delivery(d.id, now=6.0))
    with pytest.raises(StoreError, match="is pending; only a failed, bounced or uncertain"):
        late.result(timeout=10)
    assert [e.kind for e in first.events(key)].count("delivery_forced") == 1


def test_an_api_key_is_revoked_once_when_two_nodes_revoke_it(
    nodes: tuple[Store, Store], other_thread: ThreadPoolExecutor
) -> None:
    first, second = nodes
    made = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
    first.add_api_key(ApiKeyRecord("k1", "3101123456", "caja", "scrypt$x", made, None))
    with first.atomic():
        revoked = first.revoke_api_key("k1").revoked_at
        late = _waits(other_thread, lambda: second.revoke_api_key("k1"))
    assert late.result(timeout=10).revoked_at == revoked
    assert [e.kind for e in first.events()].count("api_key_revoked") == 1
