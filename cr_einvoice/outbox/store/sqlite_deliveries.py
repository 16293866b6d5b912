"""The SQLite part of the durable e-mail deliveries (:mod:`cr_einvoice.outbox.store.deliveries`): the schema
migration and the methods :class:`~cr_einvoice.outbox.store.sqlite.SQLiteStore` takes from
:class:`SQLiteDeliveries`."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
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
from cr_einvoice.outbox.store.rows import read_delivery

if TYPE_CHECKING:
    from cr_einvoice.outbox.store.base import VoucherRecord, VoucherState

__all__ = ["DELIVERIES_MIGRATION", "SQLiteDeliveries"]

#: The schema migration that adds the deliveries (``vouchers_created`` serves :meth:`vouchers_to_plan`).
DELIVERIES_MIGRATION = """
    CREATE TABLE delivery_plans (
        key TEXT NOT NULL REFERENCES vouchers(key),
        stage TEXT NOT NULL,
        planned_at TEXT NOT NULL,
        PRIMARY KEY (key, stage)
    );
    CREATE TABLE deliveries (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        key TEXT NOT NULL REFERENCES vouchers(key),
        recipient TEXT NOT NULL,
        stage TEXT NOT NULL,
        state TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        message_id TEXT NOT NULL,
        next_attempt_at REAL NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        sent_at TEXT,
        handed_over INTEGER NOT NULL DEFAULT 0,
        lease_owner TEXT,
        UNIQUE (key, recipient, stage)
    );
    CREATE INDEX deliveries_due ON deliveries(state, next_attempt_at);
    CREATE INDEX deliveries_key ON deliveries(key);
    CREATE INDEX vouchers_created ON vouchers(created_at);
"""

_SENDING = DeliveryState.SENDING.value


def _stamp() -> str:
    return datetime.now(UTC).isoformat()


def _one(conn: sqlite3.Connection, delivery_id: int) -> DeliveryRecord:
    return read_delivery(conn.execute("SELECT * FROM deliveries WHERE id = ?", (delivery_id,)).fetchone())


class SQLiteDeliveries:
    """The :class:`~cr_einvoice.outbox.store.deliveries.DeliveryStore` methods of the SQLite store (a mixin:
    it uses the store's transaction, read, event and voucher-select plumbing)."""

    if TYPE_CHECKING:
        path: str

        def _tx(self) -> AbstractContextManager[sqlite3.Connection]: ...

        def _read(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]: ...

        def _event(
            self, conn: sqlite3.Connection, key: str | None, kind: str, detail: Mapping[str, Any]
        ) -> None: ...

        def _select(
            self, where: str, params: Sequence[Any] = (), conn: sqlite3.Connection | None = None
        ) -> list[VoucherRecord]: ...

    # -- planning ---------------------------------------------------------------------------------
    def vouchers_to_plan(
        self, stage: DeliveryStage, states: Sequence[VoucherState], *, since: datetime, limit: int = 100
    ) -> list[VoucherRecord]:
        if not states:
            return []
        marks = ", ".join("?" for _ in states)
        return self._select(
            f"WHERE kind = 'issued' AND created_at >= ? AND state IN ({marks}) AND NOT EXISTS "  # noqa: S608
            "(SELECT 1 FROM delivery_plans p WHERE p.key = vouchers.key AND p.stage = ?) "
            "ORDER BY created_at, rowid LIMIT ?",
            [since.astimezone(UTC).isoformat(), *(s.value for s in states), stage.value, limit],
        )

    def plan_deliveries(
        self, key: str, stage: DeliveryStage, recipients: Sequence[NewDelivery], *, due_at: float = 0.0
    ) -> list[DeliveryRecord]:
        with self._tx() as conn:
            planned = conn.execute(
                "SELECT 1 FROM delivery_plans WHERE key = ? AND stage = ?", (key, stage.value)
            ).fetchone()
            if planned is None:
                self._require_voucher(conn, key)
                now = _stamp()
                conn.execute("INSERT INTO delivery_plans VALUES (?, ?, ?)", (key, stage.value, now))
                for new in recipients:
                    self._insert_delivery(conn, key, stage, new, due_at=due_at, now=now)
                info = {"stage": stage.value, "recipients": [n.recipient for n in recipients]}
                self._event(conn, key, "delivery_planned", info)
            rows = conn.execute(
                "SELECT * FROM deliveries WHERE key = ? AND stage = ? ORDER BY id", (key, stage.value)
            ).fetchall()
            return [read_delivery(r) for r in rows]

    def add_delivery(
        self, key: str, stage: DeliveryStage, recipient: NewDelivery, *, due_at: float = 0.0
    ) -> tuple[DeliveryRecord, bool]:
        with self._tx() as conn:
            self._require_voucher(conn, key)
            added = self._insert_delivery(conn, key, stage, recipient, due_at=due_at, now=_stamp())
            if added:
                self._event(conn, key, "delivery_added", {"stage": stage.value, "to": recipient.recipient})
            row = conn.execute(
                "SELECT * FROM deliveries WHERE key = ? AND recipient = ? AND stage = ?",
                (key, recipient.recipient, stage.value),
            ).fetchone()
            return read_delivery(row), added

    def _require_voucher(self, conn: sqlite3.Connection, key: str) -> None:
        if conn.execute("SELECT 1 FROM vouchers WHERE key = ?", (key,)).fetchone() is None:
            raise StoreError(f"no voucher {key} in the store {self.path}")

    @staticmethod
    def _insert_delivery(
        conn: sqlite3.Connection, key: str, stage: DeliveryStage, new: NewDelivery, *, due_at: float, now: str
    ) -> bool:
        cur = conn.execute(
            "INSERT INTO deliveries (key, recipient, stage, state, message_id, next_attempt_at, created_at, "
            "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (key, recipient, stage) DO NOTHING",
            (key, new.recipient, stage.value, DeliveryState.PENDING.value, new.message_id, due_at, now, now),
        )
        return cur.rowcount > 0

    # -- reading ----------------------------------------------------------------------------------
    def delivery_counts(self, keys: Sequence[str]) -> dict[str, dict[DeliveryState, int]]:
        counts: dict[str, dict[DeliveryState, int]] = {}
        unique = list(dict.fromkeys(keys))
        for start in range(0, len(unique), 500):
            chunk = unique[start : start + 500]
            marks = ", ".join("?" for _ in chunk)
            rows = self._read(
                f"SELECT key, state, COUNT(*) FROM deliveries WHERE key IN ({marks}) "  # noqa: S608
                "GROUP BY key, state",
                chunk,
            )
            for key, state, n in rows:
                counts.setdefault(key, {})[DeliveryState(state)] = int(n)
        return counts

    # -- one attempt ------------------------------------------------------------------------------
    def claim_delivery(
        self, delivery_id: int, *, now: float, until: float, owner: str | None = None
    ) -> DeliveryRecord | None:
        with self._tx() as conn:
            cur = conn.execute(
                "UPDATE deliveries SET state = ?, handed_over = 0, lease_owner = ?, next_attempt_at = ?, "
                "updated_at = ? WHERE id = ? AND state = ? AND next_attempt_at <= ?",
                (_SENDING, owner, until, _stamp(), delivery_id, DeliveryState.PENDING.value, now),
            )
            if cur.rowcount == 0:
                return None
            return _one(conn, delivery_id)

    def hand_over_delivery(self, delivery_id: int, *, owner: str | None = None) -> None:
        with self._tx() as conn:
            cur = conn.execute(
                "UPDATE deliveries SET handed_over = 1, updated_at = ? "
                "WHERE id = ? AND state = ? AND lease_owner IS ?",
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
        with self._tx() as conn:
            row = conn.execute("SELECT * FROM deliveries WHERE id = ?", (delivery_id,)).fetchone()
            if row is None:
                raise StoreError(f"no delivery {delivery_id} in the store {self.path}")
            held = row["state"] in (_SENDING, DeliveryState.UNCERTAIN.value) and row["lease_owner"] == owner
            if not held:
                raise StoreError(
                    f"delivery {delivery_id} is {row['state']}, not being sent by this sender; "
                    f"cannot record it as {state.value}"
                )
            conn.execute(
                "UPDATE deliveries SET state = ?, attempts = attempts + 1, last_error = ?, "
                "next_attempt_at = ?, updated_at = ?, sent_at = ?, handed_over = 0, lease_owner = NULL "
                "WHERE id = ?",
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
            self._event(conn, row["key"], kind, info)
            return _one(conn, delivery_id)

    def recover_deliveries(self, now: float, stale_after: float) -> list[DeliveryRecord]:
        with self._tx() as conn:
            rows = conn.execute(
                "SELECT * FROM deliveries WHERE state = ? AND (next_attempt_at <= ? OR (lease_owner IS NOT "
                "NULL AND lease_owner NOT IN (SELECT id FROM workers WHERE heartbeat >= ?)))",
                (_SENDING, now, now - stale_after),
            ).fetchall()
            stamp = _stamp()
            for row in rows:
                info = {"to": row["recipient"], "stage": row["stage"], "worker": row["lease_owner"]}
                if row["handed_over"]:
                    conn.execute(
                        "UPDATE deliveries SET state = ?, updated_at = ?, last_error = ? WHERE id = ?",
                        (DeliveryState.UNCERTAIN.value, stamp, _UNCERTAIN, row["id"]),
                    )
                    self._event(conn, row["key"], "delivery_uncertain", info)
                else:
                    conn.execute(
                        "UPDATE deliveries SET state = ?, updated_at = ?, next_attempt_at = ?, "
                        "lease_owner = NULL WHERE id = ?",
                        (DeliveryState.PENDING.value, stamp, now, row["id"]),
                    )
                    self._event(conn, row["key"], "delivery_recovered", info)
            ids = [int(r["id"]) for r in rows]
            return [
                read_delivery(conn.execute("SELECT * FROM deliveries WHERE id = ?", (i,)).fetchone())
                for i in ids
            ]

    def retry_delivery(self, delivery_id: int, *, now: float) -> DeliveryRecord:
        with self._tx() as conn:
            row = conn.execute("SELECT * FROM deliveries WHERE id = ?", (delivery_id,)).fetchone()
            if row is None:
                raise StoreError(f"no delivery {delivery_id} in the store {self.path}")
            if DeliveryState(row["state"]) not in RETRY_STATES:
                raise StoreError(
                    f"delivery {delivery_id} to {row['recipient']} is {row['state']}; only a failed, bounced "
                    "or uncertain delivery is sent again"
                )
            conn.execute(
                "UPDATE deliveries SET state = ?, next_attempt_at = ?, updated_at = ?, handed_over = 0, "
                "lease_owner = NULL WHERE id = ?",
                (DeliveryState.PENDING.value, now, _stamp(), delivery_id),
            )
            info = {"to": row["recipient"], "stage": row["stage"], "from": row["state"]}
            self._event(conn, row["key"], "delivery_forced", info)
            return _one(conn, delivery_id)


_UNCERTAIN = (
    "the sender stopped after handing the message to the SMTP server: it may have been delivered; "
    "not sent again unless asked ('cr-einvoice send CLAVE --force')"
)
