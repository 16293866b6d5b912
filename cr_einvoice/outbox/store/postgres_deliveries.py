"""The PostgreSQL part of the durable e-mail deliveries (:mod:`cr_einvoice.outbox.store.deliveries`): a mixin
of :class:`~cr_einvoice.outbox.store.postgres.PostgresStore` over its transactions.

Several nodes run deliveries at once, so every read-then-write locks the delivery's row (``FOR UPDATE``), a
claim skips a row another node is claiming (``SKIP LOCKED``), and a recovery re-checks, under the lock, that
the delivery is still ``sending`` by the worker it judged dead -- a delivery another node claimed meanwhile is
left alone (never sent twice).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from psycopg.rows import DictRow

from cr_einvoice.core.errors import StoreError
from cr_einvoice.outbox.store.deliveries import (
    FINISH_STATES,
    RETRY_STATES,
    DeliveryRecord,
    DeliveryStage,
    DeliveryState,
    NewDelivery,
)
from cr_einvoice.outbox.store.postgres_host import Cursor, PgHost
from cr_einvoice.outbox.store.rows import read_delivery

if TYPE_CHECKING:
    from cr_einvoice.outbox.store.base import VoucherRecord, VoucherState

__all__ = ["PG_DELIVERIES_MIGRATION", "PostgresDeliveries"]


#: The schema migration that adds the deliveries.
PG_DELIVERIES_MIGRATION = """
    CREATE TABLE delivery_plans (
        key text COLLATE "C" NOT NULL REFERENCES vouchers(key),
        stage text COLLATE "C" NOT NULL,
        planned_at text COLLATE "C" NOT NULL,
        PRIMARY KEY (key, stage)
    );
    CREATE TABLE deliveries (
        id bigserial PRIMARY KEY,
        key text COLLATE "C" NOT NULL REFERENCES vouchers(key),
        recipient text COLLATE "C" NOT NULL,
        stage text COLLATE "C" NOT NULL,
        state text COLLATE "C" NOT NULL,
        attempts integer NOT NULL DEFAULT 0,
        last_error text COLLATE "C",
        message_id text COLLATE "C" NOT NULL,
        next_attempt_at double precision NOT NULL DEFAULT 0,
        created_at text COLLATE "C" NOT NULL,
        updated_at text COLLATE "C" NOT NULL,
        sent_at text COLLATE "C",
        handed_over boolean NOT NULL DEFAULT false,
        lease_owner text COLLATE "C",
        UNIQUE (key, recipient, stage)
    );
    CREATE INDEX deliveries_due ON deliveries(state, next_attempt_at);
    CREATE INDEX deliveries_key ON deliveries(key);
    CREATE INDEX vouchers_created ON vouchers(created_at);
"""

_SENDING = DeliveryState.SENDING.value

_UNCERTAIN = (
    "the sender stopped after handing the message to the SMTP server: it may have been delivered; "
    "not sent again unless asked ('cr-einvoice send CLAVE --force')"
)


def _stamp() -> str:
    return datetime.now(UTC).isoformat()


def _locked(cur: Cursor, delivery_id: int) -> DictRow | None:
    """The delivery's row, locked until the transaction ends (None when there is none)."""
    cur.execute("SELECT * FROM deliveries WHERE id = %s FOR UPDATE", (delivery_id,))
    return cur.fetchone()


class PostgresDeliveries(PgHost):
    """The :class:`~cr_einvoice.outbox.store.deliveries.DeliveryStore` methods of the PostgreSQL store."""

    # -- planning ---------------------------------------------------------------------------------
    def vouchers_to_plan(
        self, stage: DeliveryStage, states: Sequence[VoucherState], *, since: datetime, limit: int = 100
    ) -> list[VoucherRecord]:
        if not states:
            return []
        return self._vouchers(
            "WHERE kind = 'issued' AND created_at >= %s AND state = ANY(%s) AND NOT EXISTS "
            "(SELECT 1 FROM delivery_plans p WHERE p.key = vouchers.key AND p.stage = %s) "
            "ORDER BY created_at, seq LIMIT %s",
            [since.astimezone(UTC).isoformat(), [s.value for s in states], stage.value, limit],
        )

    def plan_deliveries(
        self, key: str, stage: DeliveryStage, recipients: Sequence[NewDelivery], *, due_at: float = 0.0
    ) -> list[DeliveryRecord]:
        with self._tx() as cur:
            self._lock_voucher(cur, key)  # two nodes planning the same voucher: one after the other
            cur.execute(
                "INSERT INTO delivery_plans VALUES (%s, %s, %s) ON CONFLICT DO NOTHING RETURNING key",
                (key, stage.value, _stamp()),
            )
            if cur.fetchone() is not None:
                for new in recipients:
                    self._insert_delivery(cur, key, stage, new, due_at=due_at)
                info = {"stage": stage.value, "recipients": [n.recipient for n in recipients]}
                self._event(cur, key, "delivery_planned", info)
            cur.execute(
                "SELECT * FROM deliveries WHERE key = %s AND stage = %s ORDER BY id", (key, stage.value)
            )
            return [read_delivery(r) for r in cur.fetchall()]

    def add_delivery(
        self, key: str, stage: DeliveryStage, recipient: NewDelivery, *, due_at: float = 0.0
    ) -> tuple[DeliveryRecord, bool]:
        with self._tx() as cur:
            self._lock_voucher(cur, key)
            added = self._insert_delivery(cur, key, stage, recipient, due_at=due_at)
            if added:
                self._event(cur, key, "delivery_added", {"stage": stage.value, "to": recipient.recipient})
            cur.execute(
                "SELECT * FROM deliveries WHERE key = %s AND recipient = %s AND stage = %s",
                (key, recipient.recipient, stage.value),
            )
            row = cur.fetchone()
            assert row is not None
            return read_delivery(row), added

    def _lock_voucher(self, cur: Cursor, key: str) -> None:
        cur.execute("SELECT 1 FROM vouchers WHERE key = %s FOR SHARE", (key,))
        if cur.fetchone() is None:
            raise StoreError(f"no voucher {key} in the store {self.path}")

    @staticmethod
    def _insert_delivery(
        cur: Cursor, key: str, stage: DeliveryStage, new: NewDelivery, *, due_at: float
    ) -> bool:
        now = _stamp()
        cur.execute(
            "INSERT INTO deliveries (key, recipient, stage, state, message_id, next_attempt_at, created_at, "
            "updated_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) "
            "ON CONFLICT (key, recipient, stage) DO NOTHING",
            (key, new.recipient, stage.value, DeliveryState.PENDING.value, new.message_id, due_at, now, now),
        )
        return cur.rowcount > 0

    # -- reading ----------------------------------------------------------------------------------
    def delivery_counts(self, keys: Sequence[str]) -> dict[str, dict[DeliveryState, int]]:
        counts: dict[str, dict[DeliveryState, int]] = {}
        rows = self._read(
            "SELECT key, state, COUNT(*) AS n FROM deliveries WHERE key = ANY(%s) GROUP BY key, state",
            (list(dict.fromkeys(keys)),),
        )
        for row in rows:
            counts.setdefault(row["key"], {})[DeliveryState(row["state"])] = int(row["n"])
        return counts

    # -- one attempt ------------------------------------------------------------------------------
    def claim_delivery(
        self, delivery_id: int, *, now: float, until: float, owner: str | None = None
    ) -> DeliveryRecord | None:
        with self._tx() as cur:
            cur.execute(
                "UPDATE deliveries SET state = %s, handed_over = false, lease_owner = %s, "
                "next_attempt_at = %s, updated_at = %s WHERE id = (SELECT id FROM deliveries WHERE id = %s "
                "AND state = %s AND next_attempt_at <= %s FOR UPDATE SKIP LOCKED) RETURNING *",
                (_SENDING, owner, until, _stamp(), delivery_id, DeliveryState.PENDING.value, now),
            )
            row = cur.fetchone()
            return None if row is None else read_delivery(row)

    def hand_over_delivery(self, delivery_id: int, *, owner: str | None = None) -> None:
        with self._tx() as cur:
            cur.execute(
                "UPDATE deliveries SET handed_over = true, updated_at = %s "
                "WHERE id = %s AND state = %s AND lease_owner IS NOT DISTINCT FROM %s",
                (_stamp(), delivery_id, _SENDING, owner),
            )
            if cur.rowcount == 0:
                raise StoreError(
                    f"delivery {delivery_id} is no longer held by this sender (recovered by another "
                    "worker?); the message is not completed"
                )

    def finish_delivery(
        self,
        delivery_id: int,
        state: DeliveryState,
        *,
        error: str | None = None,
        next_attempt_at: float = 0.0,
        owner: str | None = None,
    ) -> DeliveryRecord:
        if state not in FINISH_STATES:
            raise StoreError(f"a delivery attempt cannot end in state {state.value}")
        now = _stamp()
        with self._tx() as cur:
            row = _locked(cur, delivery_id)
            if row is None:
                raise StoreError(f"no delivery {delivery_id} in the store {self.path}")
            held = row["state"] in (_SENDING, DeliveryState.UNCERTAIN.value) and row["lease_owner"] == owner
            if not held:
                raise StoreError(
                    f"delivery {delivery_id} is {row['state']}, not being sent by this sender; "
                    f"cannot record it as {state.value}"
                )
            cur.execute(
                "UPDATE deliveries SET state = %s, attempts = attempts + 1, last_error = %s, "
                "next_attempt_at = %s, updated_at = %s, sent_at = %s, handed_over = false, "
                "lease_owner = NULL WHERE id = %s RETURNING *",
                (
                    state.value,
                    error,
                    next_attempt_at,
                    now,
                    now if state is DeliveryState.SENT else None,
                    delivery_id,
                ),
            )
            done = _fetch(cur)
            info: dict[str, Any] = {
                "to": row["recipient"],
                "stage": row["stage"],
                "attempt": row["attempts"] + 1,
            }
            if error:
                info["error"] = error
            kind = "delivery_retry" if state is DeliveryState.PENDING else f"delivery_{state.value}"
            self._event(cur, row["key"], kind, info)
            return read_delivery(done)

    def recover_deliveries(self, now: float, stale_after: float) -> list[DeliveryRecord]:
        recovered: list[DeliveryRecord] = []
        with self._tx() as cur:
            cur.execute(
                "SELECT * FROM deliveries WHERE state = %s AND (next_attempt_at <= %s OR (lease_owner IS NOT "
                "NULL AND lease_owner NOT IN (SELECT id FROM workers WHERE heartbeat >= %s))) "
                "ORDER BY id FOR UPDATE SKIP LOCKED",
                (_SENDING, now, now - stale_after),
            )
            for row in cur.fetchall():
                recovered.append(self._recover_one(cur, row, now))
        return recovered

    def _recover_one(self, cur: Cursor, row: DictRow, now: float) -> DeliveryRecord:
        info = {"to": row["recipient"], "stage": row["stage"], "worker": row["lease_owner"]}
        if row["handed_over"]:
            cur.execute(
                "UPDATE deliveries SET state = %s, updated_at = %s, last_error = %s "
                "WHERE id = %s RETURNING *",
                (DeliveryState.UNCERTAIN.value, _stamp(), _UNCERTAIN, row["id"]),
            )
            kind = "delivery_uncertain"
        else:
            cur.execute(
                "UPDATE deliveries SET state = %s, updated_at = %s, next_attempt_at = %s, lease_owner = NULL "
                "WHERE id = %s RETURNING *",
                (DeliveryState.PENDING.value, _stamp(), now, row["id"]),
            )
            kind = "delivery_recovered"
        done = _fetch(cur)
        self._event(cur, row["key"], kind, info)
        return read_delivery(done)

    def retry_delivery(self, delivery_id: int, *, now: float) -> DeliveryRecord:
        with self._tx() as cur:
            row = _locked(cur, delivery_id)
            if row is None:
                raise StoreError(f"no delivery {delivery_id} in the store {self.path}")
            if DeliveryState(row["state"]) not in RETRY_STATES:
                raise StoreError(
                    f"delivery {delivery_id} to {row['recipient']} is {row['state']}; only a failed, bounced "
                    "or uncertain delivery is sent again"
                )
            cur.execute(
                "UPDATE deliveries SET state = %s, next_attempt_at = %s, updated_at = %s, "
                "handed_over = false, lease_owner = NULL WHERE id = %s RETURNING *",
                (DeliveryState.PENDING.value, now, _stamp(), delivery_id),
            )
            done = _fetch(cur)
            info = {"to": row["recipient"], "stage": row["stage"], "from": row["state"]}
            self._event(cur, row["key"], "delivery_forced", info)
            return read_delivery(done)


def _fetch(cur: Cursor) -> DictRow:
    row = cur.fetchone()
    assert row is not None
    return row
