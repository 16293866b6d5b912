"""The durable e-mail deliveries' write path (:class:`~cr_einvoice.outbox.store.deliveries.DeliveryStore`),
written once for both SQL backends: a mixin of :class:`~cr_einvoice.outbox.store.sqlite.SQLiteStore` and
:class:`~cr_einvoice.outbox.store.postgres.PostgresStore` over their transactions (see
:mod:`~cr_einvoice.outbox.store.sql_tables`; the tables come with ``DELIVERIES_MIGRATION`` in
:mod:`~cr_einvoice.outbox.store.sqlite_deliveries` and ``PG_DELIVERIES_MIGRATION`` in
:mod:`~cr_einvoice.outbox.store.postgres_deliveries`; the lookups are in
:class:`~cr_einvoice.outbox.store.reads.StoreReads`).

Several PostgreSQL nodes may run deliveries at once, so every read-then-write locks the delivery's row
(``FOR UPDATE``), a claim skips a row another node is claiming (``SKIP LOCKED``), a recovery takes only the
rows no other transaction holds -- a delivery another node claimed meanwhile is left alone (never sent twice)
-- and planning locks the voucher's row so that two nodes plan one voucher one after the other. In SQLite the
write transaction already excludes every other writer.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from cr_einvoice.core.errors import StoreError
from cr_einvoice.outbox.store.deliveries import (
    FINISH_STATES,
    RETRY_STATES,
    DeliveryRecord,
    DeliveryStage,
    DeliveryState,
    NewDelivery,
)
from cr_einvoice.outbox.store.rows import Row, read_delivery
from cr_einvoice.outbox.store.sql_tables import SqlTables

if TYPE_CHECKING:
    from cr_einvoice.outbox.store.base import VoucherRecord, VoucherState

__all__ = ["DeliveryTables"]

_SENDING = DeliveryState.SENDING.value
_PENDING = DeliveryState.PENDING.value
#: How many keys one ``IN (...)`` of :meth:`DeliveryTables.delivery_counts` names.
_CHUNK = 500
_UNCERTAIN = (
    "the sender stopped after handing the message to the SMTP server: it may have been delivered; "
    "not sent again unless asked ('cr-einvoice send CLAVE --force')"
)


def _stamp() -> str:
    return datetime.now(UTC).isoformat()


def _marks(values: Sequence[object]) -> str:
    return ", ".join("?" for _ in values)


def _returned(row: Row | None) -> DeliveryRecord:
    """The record an UPDATE ... RETURNING of a row known to exist gave."""
    assert row is not None
    return read_delivery(row)


class DeliveryTables(SqlTables):
    """The :class:`~cr_einvoice.outbox.store.deliveries.DeliveryStore` writes (and the planner's query)."""

    # -- planning ---------------------------------------------------------------------------------
    def vouchers_to_plan(
        self, stage: DeliveryStage, states: Sequence[VoucherState], *, since: datetime, limit: int = 100
    ) -> list[VoucherRecord]:
        if not states:
            return []
        return self._vouchers_where(
            f"WHERE kind = 'issued' AND created_at >= ? AND state IN ({_marks(states)}) AND NOT EXISTS "  # noqa: S608
            "(SELECT 1 FROM delivery_plans p WHERE p.key = vouchers.key AND p.stage = ?) "
            "ORDER BY created_at, {seq} LIMIT ?",
            [since.astimezone(UTC).isoformat(), *(s.value for s in states), stage.value, limit],
        )

    def plan_deliveries(
        self, key: str, stage: DeliveryStage, recipients: Sequence[NewDelivery], *, due_at: float = 0.0
    ) -> list[DeliveryRecord]:
        with self._tx() as tx:
            self._require_voucher(tx, key)  # locked: two nodes planning the same voucher, one after the other
            now = _stamp()
            planned = self._one(
                tx,
                "INSERT INTO delivery_plans (key, stage, planned_at) VALUES (?, ?, ?) "
                "ON CONFLICT (key, stage) DO NOTHING RETURNING key",
                (key, stage.value, now),
            )
            if planned is not None:
                for new in recipients:
                    self._insert_delivery(tx, key, stage, new, due_at=due_at, now=now)
                info = {"stage": stage.value, "recipients": [n.recipient for n in recipients]}
                self._event(tx, key, "delivery_planned", info)
            rows = self._run(
                tx, "SELECT * FROM deliveries WHERE key = ? AND stage = ? ORDER BY id", (key, stage.value)
            ).fetchall()
            return [read_delivery(r) for r in rows]

    def add_delivery(
        self, key: str, stage: DeliveryStage, recipient: NewDelivery, *, due_at: float = 0.0
    ) -> tuple[DeliveryRecord, bool]:
        with self._tx() as tx:
            self._require_voucher(tx, key)
            added = self._insert_delivery(tx, key, stage, recipient, due_at=due_at, now=_stamp())
            if added:
                self._event(tx, key, "delivery_added", {"stage": stage.value, "to": recipient.recipient})
            row = self._one(
                tx,
                "SELECT * FROM deliveries WHERE key = ? AND recipient = ? AND stage = ?",
                (key, recipient.recipient, stage.value),
            )
            return _returned(row), added

    def _require_voucher(self, tx: Any, key: str) -> None:
        """The voucher exists (its row kept from changing until the transaction ends), else StoreError."""
        locked = f"SELECT 1 FROM vouchers WHERE key = ?{self._FOR_SHARE}"  # noqa: S608 (a constant)
        if self._one(tx, locked, (key,)) is None:
            raise StoreError(f"no voucher {key} in the store {self.path}")

    def _insert_delivery(
        self, tx: Any, key: str, stage: DeliveryStage, new: NewDelivery, *, due_at: float, now: str
    ) -> bool:
        cur = self._run(
            tx,
            "INSERT INTO deliveries (key, recipient, stage, state, message_id, next_attempt_at, created_at, "
            "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (key, recipient, stage) DO NOTHING",
            (key, new.recipient, stage.value, _PENDING, new.message_id, due_at, now, now),
        )
        return bool(cur.rowcount > 0)

    # -- reading ----------------------------------------------------------------------------------
    def delivery_counts(self, keys: Sequence[str]) -> dict[str, dict[DeliveryState, int]]:
        counts: dict[str, dict[DeliveryState, int]] = {}
        unique = list(dict.fromkeys(keys))
        for start in range(0, len(unique), _CHUNK):
            chunk = unique[start : start + _CHUNK]
            rows = self._rows(
                f"SELECT key, state, COUNT(*) AS n FROM deliveries WHERE key IN ({_marks(chunk)}) "  # noqa: S608
                "GROUP BY key, state",
                chunk,
            )
            for row in rows:
                counts.setdefault(row["key"], {})[DeliveryState(row["state"])] = int(row["n"])
        return counts

    # -- one attempt ------------------------------------------------------------------------------
    def claim_delivery(
        self, delivery_id: int, *, now: float, until: float, owner: str | None = None
    ) -> DeliveryRecord | None:
        with self._tx() as tx:
            row = self._one(
                tx,
                "UPDATE deliveries SET state = ?, handed_over = false, lease_owner = ?, "  # noqa: S608
                "next_attempt_at = ?, updated_at = ? WHERE id = (SELECT id FROM deliveries WHERE id = ? "
                f"AND state = ? AND next_attempt_at <= ?{self._SKIP_LOCKED}) RETURNING *",
                (_SENDING, owner, until, _stamp(), delivery_id, _PENDING, now),
            )
            return None if row is None else read_delivery(row)

    def hand_over_delivery(self, delivery_id: int, *, owner: str | None = None) -> None:
        held = "lease_owner IS NULL" if owner is None else "lease_owner = ?"
        with self._tx() as tx:
            cur = self._run(
                tx,
                "UPDATE deliveries SET handed_over = true, updated_at = ? "  # noqa: S608
                f"WHERE id = ? AND state = ? AND {held}",
                (_stamp(), delivery_id, _SENDING, *(() if owner is None else (owner,))),
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
        with self._tx() as tx:
            row = self._locked(tx, delivery_id)
            held = row["state"] in (_SENDING, DeliveryState.UNCERTAIN.value) and row["lease_owner"] == owner
            if not held:
                raise StoreError(
                    f"delivery {delivery_id} is {row['state']}, not being sent by this sender; "
                    f"cannot record it as {state.value}"
                )
            done = self._one(
                tx,
                "UPDATE deliveries SET state = ?, attempts = attempts + 1, last_error = ?, "
                "next_attempt_at = ?, updated_at = ?, sent_at = ?, handed_over = false, lease_owner = NULL "
                "WHERE id = ? RETURNING *",
                (
                    state.value,
                    error,
                    next_attempt_at,
                    now,
                    now if state is DeliveryState.SENT else None,
                    delivery_id,
                ),
            )
            info: dict[str, Any] = {
                "to": row["recipient"],
                "stage": row["stage"],
                "attempt": row["attempts"] + 1,
            }
            if error:
                info["error"] = error
            kind = "delivery_retry" if state is DeliveryState.PENDING else f"delivery_{state.value}"
            self._event(tx, row["key"], kind, info)
            return _returned(done)

    def _locked(self, tx: Any, delivery_id: int) -> Row:
        """The delivery's row, locked until the transaction ends; StoreError when there is none."""
        locked = f"SELECT * FROM deliveries WHERE id = ?{self._FOR_UPDATE}"  # noqa: S608 (a constant)
        row = self._one(tx, locked, (delivery_id,))
        if row is None:
            raise StoreError(f"no delivery {delivery_id} in the store {self.path}")
        return row

    # -- recovery ---------------------------------------------------------------------------------
    def recover_deliveries(self, now: float, stale_after: float) -> list[DeliveryRecord]:
        with self._tx() as tx:
            rows = self._run(
                tx,
                "SELECT * FROM deliveries WHERE state = ? AND (next_attempt_at <= ? OR (lease_owner IS NOT "  # noqa: S608
                "NULL AND lease_owner NOT IN (SELECT id FROM workers WHERE heartbeat >= ?))) "
                f"ORDER BY id{self._SKIP_LOCKED}",
                (_SENDING, now, now - stale_after),
            ).fetchall()
            return [self._recover_one(tx, row, now) for row in rows]

    def _recover_one(self, tx: Any, row: Row, now: float) -> DeliveryRecord:
        info = {"to": row["recipient"], "stage": row["stage"], "worker": row["lease_owner"]}
        if row["handed_over"]:
            done = self._one(
                tx,
                "UPDATE deliveries SET state = ?, updated_at = ?, last_error = ? WHERE id = ? RETURNING *",
                (DeliveryState.UNCERTAIN.value, _stamp(), _UNCERTAIN, row["id"]),
            )
            kind = "delivery_uncertain"
        else:
            done = self._one(
                tx,
                "UPDATE deliveries SET state = ?, updated_at = ?, next_attempt_at = ?, lease_owner = NULL "
                "WHERE id = ? RETURNING *",
                (_PENDING, _stamp(), now, row["id"]),
            )
            kind = "delivery_recovered"
        self._event(tx, row["key"], kind, info)
        return _returned(done)

    def retry_delivery(self, delivery_id: int, *, now: float) -> DeliveryRecord:
        with self._tx() as tx:
            row = self._locked(tx, delivery_id)
            if DeliveryState(row["state"]) not in RETRY_STATES:
                raise StoreError(
                    f"delivery {delivery_id} to {row['recipient']} is {row['state']}; only a failed, bounced "
                    "or uncertain delivery is sent again"
                )
            done = self._one(
                tx,
                "UPDATE deliveries SET state = ?, next_attempt_at = ?, updated_at = ?, handed_over = false, "
                "lease_owner = NULL WHERE id = ? RETURNING *",
                (_PENDING, now, _stamp(), delivery_id),
            )
            info = {"to": row["recipient"], "stage": row["stage"], "from": row["state"]}
            self._event(tx, row["key"], "delivery_forced", info)
            return _returned(done)
