"""The read-only part of the :class:`~cr_einvoice.outbox.store.base.Store` protocol, written once for both SQL
backends (a mixin of :class:`~cr_einvoice.outbox.store.sqlite.SQLiteStore` and
:class:`~cr_einvoice.outbox.store.postgres.PostgresStore`).

The SQL here is written with ``?`` marks; a backend whose driver takes ``%s`` sets :attr:`StoreReads._MARK`.
The host gives :meth:`_read` (rows readable by column name) and :meth:`_vouchers` (vouchers matching a
constant WHERE/ORDER fragment of the store's modules), and names its insertion-order column (``rowid`` in
SQLite, ``seq`` in PostgreSQL).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from cr_einvoice.outbox.store.base import (
    CounterKey,
    EventRecord,
    IssuerRecord,
    ReceivedRecord,
    RespuestaRecord,
    TerminalRecord,
    VoucherKind,
    VoucherRecord,
    VoucherState,
)
from cr_einvoice.outbox.store.deliveries import DeliveryRecord, DeliveryState
from cr_einvoice.outbox.store.rows import (
    IDLE_STATES,
    MAX_SEQUENCE,
    Row,
    event_record,
    issuer,
    parse_dt,
    read_delivery,
    received,
    respuesta,
    terminal,
)

__all__ = ["StoreReads"]


class StoreReads:
    """Lookups and listings over the host store's reads."""

    #: The driver's parameter mark (``?``: sqlite3; ``%s``: psycopg).
    _MARK = "?"
    #: The column that orders vouchers as they were inserted.
    _SEQ = "rowid"

    if TYPE_CHECKING:

        def _read(self, sql: str, params: Sequence[Any] = ()) -> Sequence[Row]: ...

        def _vouchers(self, where: str, params: Sequence[Any] = ()) -> list[VoucherRecord]: ...

    def _q(self, sql: str) -> str:
        """``sql`` (written with ``?`` marks and ``{seq}``) for this backend."""
        text = sql.replace("{seq}", self._SEQ)
        return text if self._MARK == "?" else text.replace("?", self._MARK)

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> Sequence[Row]:
        return self._read(self._q(sql), params)

    def _vouchers_where(self, where: str, params: Sequence[Any] = ()) -> list[VoucherRecord]:
        return self._vouchers(self._q(where), params)

    # -- issuers, terminals, counters -------------------------------------------------------------
    def get_issuer(self, numero_identificacion: str) -> IssuerRecord | None:
        rows = self._rows("SELECT * FROM issuers WHERE numero_identificacion = ?", (numero_identificacion,))
        return issuer(rows[0]) if rows else None

    def terminals(self, emisor: str) -> list[TerminalRecord]:
        rows = self._rows("SELECT * FROM terminals WHERE emisor = ? ORDER BY sucursal, terminal", (emisor,))
        return [terminal(r) for r in rows]

    def peek_next_number(self, key: CounterKey) -> int:
        rows = self._rows(
            "SELECT last_number FROM counters "
            "WHERE emisor = ? AND sucursal = ? AND terminal = ? AND tipo = ?",
            (key.emisor, key.sucursal, key.terminal, key.tipo),
        )
        last = int(rows[0]["last_number"]) if rows else 0
        return 1 if last >= MAX_SEQUENCE else last + 1

    # -- vouchers ---------------------------------------------------------------------------------
    def find_by_ref(self, external_ref: str) -> VoucherRecord | None:
        found = self._vouchers_where("WHERE external_ref = ?", (external_ref,))
        return found[0] if found else None

    def get(self, key: str) -> VoucherRecord | None:
        found = self._vouchers_where("WHERE key = ?", (key,))
        return found[0] if found else None

    def find(self, clave_or_key: str) -> VoucherRecord | None:
        """Look up by store key, or by clave when exactly one voucher carries it."""
        record = self.get(clave_or_key)
        if record is not None:
            return record
        found = self._vouchers_where("WHERE clave = ? LIMIT 2", (clave_or_key,))
        return found[0] if len(found) == 1 else None

    def list_vouchers(
        self, *, state: VoucherState | None = None, kind: VoucherKind | None = None, limit: int = 100
    ) -> list[VoucherRecord]:
        where, params = [], []
        if state is not None:
            where.append("state = ?")
            params.append(state.value)
        if kind is not None:
            where.append("kind = ?")
            params.append(kind.value)
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        return self._vouchers_where(
            f"{clause} ORDER BY created_at DESC, {{seq}} DESC LIMIT ?", [*params, limit]
        )

    def iter_vouchers(self) -> Iterator[VoucherRecord]:
        return iter(self._vouchers_where("ORDER BY {seq}"))

    def with_consecutivo(self, consecutivo: str) -> list[VoucherRecord]:
        return self._vouchers_where("WHERE consecutivo = ? ORDER BY {seq}", (consecutivo,))

    # -- e-mail deliveries ------------------------------------------------------------------------
    def get_delivery(self, delivery_id: int) -> DeliveryRecord | None:
        rows = self._rows("SELECT * FROM deliveries WHERE id = ?", (delivery_id,))
        return read_delivery(rows[0]) if rows else None

    def deliveries(self, key: str) -> list[DeliveryRecord]:
        return [
            read_delivery(r) for r in self._rows("SELECT * FROM deliveries WHERE key = ? ORDER BY id", (key,))
        ]

    def due_deliveries(self, now: float, *, limit: int = 100, key: str | None = None) -> list[DeliveryRecord]:
        sql = "SELECT * FROM deliveries WHERE state = ? AND next_attempt_at <= ?"
        params: list[Any] = [DeliveryState.PENDING.value, now]
        if key is not None:
            sql += " AND key = ?"
            params.append(key)
        rows = self._rows(sql + " ORDER BY next_attempt_at, id LIMIT ?", [*params, limit])
        return [read_delivery(r) for r in rows]

    def count_by_state(self) -> dict[VoucherState, int]:
        rows = self._rows("SELECT state, COUNT(*) AS n FROM vouchers GROUP BY state")
        counts = dict.fromkeys(VoucherState, 0)
        counts.update({VoucherState(r["state"]): int(r["n"]) for r in rows})
        return counts

    def due(self, now: float, *, limit: int = 100, signed: bool | None = None) -> list[VoucherRecord]:
        states: tuple[str, ...]
        if signed is None:
            where, states = "state NOT IN (?, ?, ?)", IDLE_STATES
        elif signed:
            where, states = "state = ?", (VoucherState.SIGNED.value,)
        else:
            where, states = "state NOT IN (?, ?, ?, ?)", (*IDLE_STATES, VoucherState.SIGNED.value)
        # The due rows are picked (sorted, limited) by their sequence number alone, then read whole: sorting
        # whole rows would copy every due voucher's signed XML into the sorter for the few kept.
        return self._vouchers_where(
            f"WHERE {{seq}} IN (SELECT {{seq}} FROM vouchers WHERE {where} AND next_action_at <= ? "  # noqa: S608
            "ORDER BY next_action_at, {seq} LIMIT ?) ORDER BY next_action_at, {seq}",
            [*states, now, limit],
        )

    def next_due_at(self) -> float | None:
        """When the earliest non-final, non-error voucher needs attention (epoch s), or None."""
        rows = self._rows(
            "SELECT MIN(next_action_at) AS at FROM vouchers WHERE state NOT IN (?, ?, ?)", IDLE_STATES
        )
        value = rows[0]["at"]
        return None if value is None else float(value)

    # -- respuestas, received vouchers, events ----------------------------------------------------
    def respuestas(self, key: str) -> list[RespuestaRecord]:
        return [
            respuesta(r) for r in self._rows("SELECT * FROM respuestas WHERE key = ? ORDER BY id", (key,))
        ]

    def get_received(self, clave: str) -> ReceivedRecord | None:
        rows = self._rows("SELECT * FROM received WHERE clave = ?", (clave,))
        return received(rows[0]) if rows else None

    def list_received(self, *, limit: int = 100) -> list[ReceivedRecord]:
        rows = self._rows("SELECT * FROM received ORDER BY received_at DESC LIMIT ?", (limit,))
        return [received(r) for r in rows]

    def events(self, key: str | None = None, *, limit: int = 1000) -> list[EventRecord]:
        if key is None:
            rows = self._rows("SELECT * FROM events ORDER BY id DESC LIMIT ?", (limit,))
        else:
            rows = self._rows("SELECT * FROM events WHERE key = ? ORDER BY id DESC LIMIT ?", (key, limit))
        return [event_record(r) for r in reversed(rows)]

    # -- contingency ------------------------------------------------------------------------------
    def connectivity(self) -> tuple[bool, datetime | None]:
        rows = self._rows("SELECT value FROM settings WHERE name = 'offline_since'")
        if not rows:
            return True, None
        return False, parse_dt(rows[0]["value"])
