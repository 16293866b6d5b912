"""The store's durable e-mail deliveries: planning, claiming, handing over, finishing, recovery, retries."""

from __future__ import annotations

import sqlite3
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from outbox_docs import factura, ticket

from cr_einvoice.core.errors import StoreError
from cr_einvoice.outbox.issuing import Issuer
from cr_einvoice.outbox.store import (
    SCHEMA_VERSION,
    DeliveryStage,
    DeliveryState,
    NewDelivery,
    Store,
    VoucherState,
    open_store,
)
from cr_einvoice.outbox.store.sqlite import MIGRATIONS
from cr_einvoice.outbox.store.sqlite_deliveries import DELIVERIES_MIGRATION

A = NewDelivery("compras@example.com", "<a@cr-einvoice>")
B = NewDelivery("copia@example.com", "<b@cr-einvoice>")
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


@pytest.fixture
def key(issuer: Issuer) -> str:
    return issuer.issue(factura()).clave


def test_plan_is_idempotent_and_remembers_an_empty_plan(store: Store, issuer: Issuer, key: str) -> None:
    first = store.plan_deliveries(key, DeliveryStage.ISSUE, [A, B])
    assert [(d.recipient, d.state, d.message_id) for d in first] == [
        ("compras@example.com", DeliveryState.PENDING, "<a@cr-einvoice>"),
        ("copia@example.com", DeliveryState.PENDING, "<b@cr-einvoice>"),
    ]
    again = store.plan_deliveries(key, DeliveryStage.ISSUE, [A, B, NewDelivery("x@example.com", "<x@y>")])
    assert [d.id for d in again] == [d.id for d in first]
    states = [VoucherState.SIGNED]
    assert store.vouchers_to_plan(DeliveryStage.ISSUE, states, since=EPOCH) == []
    assert [v.key for v in store.vouchers_to_plan(DeliveryStage.ANSWER, states, since=EPOCH)] == [key]
    tiquete = issuer.issue(ticket()).clave
    assert store.plan_deliveries(tiquete, DeliveryStage.SINGLE, []) == []
    assert [v.key for v in store.vouchers_to_plan(DeliveryStage.SINGLE, states, since=EPOCH)] == [key]
    later = datetime.now(UTC) + timedelta(minutes=1)
    assert store.vouchers_to_plan(DeliveryStage.ANSWER, states, since=later) == []
    assert store.vouchers_to_plan(DeliveryStage.ANSWER, [VoucherState.ACCEPTED], since=EPOCH) == []
    kinds = [e.kind for e in store.events(key)]
    assert kinds.count("delivery_planned") == 1


def test_unknown_voucher_is_refused(store: Store) -> None:
    with pytest.raises(StoreError, match="no voucher nope"):
        store.plan_deliveries("nope", DeliveryStage.ISSUE, [A])
    with pytest.raises(StoreError, match="no voucher nope"):
        store.add_delivery("nope", DeliveryStage.SINGLE, A)


def test_add_delivery_is_idempotent_per_recipient_and_stage(store: Store, key: str) -> None:
    record, added = store.add_delivery(key, DeliveryStage.SINGLE, A)
    assert added
    again, added_again = store.add_delivery(key, DeliveryStage.SINGLE, A)
    assert (again.id, added_again) == (record.id, False)
    other, added_other = store.add_delivery(key, DeliveryStage.ANSWER, A)
    assert added_other and other.id != record.id
    assert [d.id for d in store.deliveries(key)] == [record.id, other.id]


def test_claim_hand_over_and_finish(store: Store, key: str) -> None:
    (d,) = store.plan_deliveries(key, DeliveryStage.SINGLE, [A], due_at=100.0)
    assert store.due_deliveries(99.0) == []
    assert [x.id for x in store.due_deliveries(100.0)] == [d.id]
    assert store.due_deliveries(100.0, key="other") == []
    claimed = store.claim_delivery(d.id, now=100.0, until=160.0, owner="w1")
    assert claimed is not None
    assert (claimed.state, claimed.lease_owner, claimed.next_attempt_at) == (
        DeliveryState.SENDING,
        "w1",
        160.0,
    )
    assert store.claim_delivery(d.id, now=100.0, until=160.0, owner="w2") is None  # taken
    with pytest.raises(StoreError, match="no longer held"):
        store.hand_over_delivery(d.id, owner="w2")
    store.hand_over_delivery(d.id, owner="w1")
    got = store.get_delivery(d.id)
    assert got is not None and got.handed_over
    with pytest.raises(StoreError, match="not being sent by this sender"):
        store.finish_delivery(d.id, DeliveryState.SENT, owner="w2")
    sent = store.finish_delivery(d.id, DeliveryState.SENT, owner="w1")
    assert (sent.state, sent.attempts, sent.lease_owner, sent.handed_over) == (
        DeliveryState.SENT,
        1,
        None,
        False,
    )
    assert sent.sent_at is not None and sent.is_final
    with pytest.raises(StoreError, match="is sent"):
        store.finish_delivery(d.id, DeliveryState.SENT, owner="w1")
    with pytest.raises(StoreError, match="cannot end in state sending"):
        store.finish_delivery(d.id, DeliveryState.SENDING)
    assert store.delivery_counts([key, key, "other"]) == {key: {DeliveryState.SENT: 1}}
    assert "delivery_sent" in [e.kind for e in store.events(key)]


def test_transient_failure_comes_back_with_the_error_and_counts(store: Store, key: str) -> None:
    (d,) = store.plan_deliveries(key, DeliveryStage.SINGLE, [A])
    store.claim_delivery(d.id, now=1.0, until=60.0)
    back = store.finish_delivery(d.id, DeliveryState.PENDING, error="421 busy", next_attempt_at=30.0)
    assert (back.state, back.attempts, back.last_error, back.next_attempt_at) == (
        DeliveryState.PENDING,
        1,
        "421 busy",
        30.0,
    )
    assert store.due_deliveries(29.0) == []
    store.claim_delivery(d.id, now=30.0, until=90.0)
    bounced = store.finish_delivery(d.id, DeliveryState.BOUNCED, error="550 no such user")
    assert (bounced.state, bounced.attempts, bounced.last_error) == (
        DeliveryState.BOUNCED,
        2,
        "550 no such user",
    )
    with pytest.raises(StoreError, match="only a failed, bounced or uncertain"):
        store.retry_delivery(store.plan_deliveries(key, DeliveryStage.ISSUE, [B])[0].id, now=1.0)
    again = store.retry_delivery(d.id, now=5.0)
    assert (again.state, again.next_attempt_at, again.message_id) == (
        DeliveryState.PENDING,
        5.0,
        A.message_id,
    )


def test_recovery_never_repeats_a_handed_over_message(store: Store, key: str) -> None:
    early, late, alive = store.plan_deliveries(
        key, DeliveryStage.SINGLE, [A, B, NewDelivery("vivo@example.com", "<v@cr-einvoice>")]
    )
    now = time.time()
    store.heartbeat("live", now)
    store.heartbeat("dead", now - 100)
    for d, owner in ((early, "dead"), (late, "dead"), (alive, "live")):
        assert store.claim_delivery(d.id, now=now, until=now + 600, owner=owner) is not None
    store.hand_over_delivery(late.id, owner="dead")
    recovered = {d.id: d for d in store.recover_deliveries(now, stale_after=30)}
    assert set(recovered) == {early.id, late.id}
    assert recovered[early.id].state is DeliveryState.PENDING
    assert recovered[early.id].lease_owner is None
    assert recovered[late.id].state is DeliveryState.UNCERTAIN
    assert "may have been delivered" in (recovered[late.id].last_error or "")
    assert [d.id for d in store.due_deliveries(now + 1)] == [early.id]  # uncertain is never due by itself
    # the "dead" sender was only slow: what the server answered is recorded
    assert store.finish_delivery(late.id, DeliveryState.SENT, owner="dead").state is DeliveryState.SENT
    # a lease that ran out is recovered whoever holds it
    assert [d.id for d in store.recover_deliveries(now + 601, stale_after=1e9)] == [alive.id]
    assert store.recover_deliveries(now + 601, stale_after=1e9) == []
    kinds = [e.kind for e in store.events(key)]
    assert kinds.count("delivery_recovered") == 2 and kinds.count("delivery_uncertain") == 1


def test_uncertain_is_sent_again_only_when_forced(store: Store, key: str) -> None:
    (d,) = store.plan_deliveries(key, DeliveryStage.SINGLE, [A])
    store.claim_delivery(d.id, now=1.0, until=2.0, owner=None)
    store.hand_over_delivery(d.id)
    (u,) = store.recover_deliveries(3.0, stale_after=60)
    assert u.state is DeliveryState.UNCERTAIN
    assert store.due_deliveries(1e12) == []
    forced = store.retry_delivery(d.id, now=4.0)
    assert (forced.state, forced.handed_over, forced.message_id) == (
        DeliveryState.PENDING,
        False,
        A.message_id,
    )
    assert "delivery_forced" in [e.kind for e in store.events(key)]


def test_a_store_of_the_previous_schema_is_migrated_keeping_its_vouchers(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    index = MIGRATIONS.index(DELIVERIES_MIGRATION)
    for script in MIGRATIONS[:index]:
        conn.executescript(script)
    conn.execute(
        "INSERT INTO vouchers (key, clave, consecutivo, kind, tipo, situacion, fecha_emision, emisor_tipo, "
        "emisor_numero, sucursal, terminal, numero, signed_xml, state, created_at, updated_at) VALUES "
        "('k', 'k', '00100001010000000001', 'issued', '01', '1', '2026-01-01T00:00:00+00:00', '02', '1', 1, "
        "1, 1, x'00', 'accepted', '2026-01-01T00:00:00+00:00', '2026-01-01T00:00:00+00:00')"
    )
    conn.execute(f"PRAGMA user_version = {index}")
    conn.commit()
    conn.close()
    with open_store(path) as store:
        assert store.schema_version == SCHEMA_VERSION
        assert store.require("k").signed_xml == b"\x00"
        (d,) = store.plan_deliveries("k", DeliveryStage.SINGLE, [A])
        assert store.deliveries("k") == [d]
