"""What the mixins that write their tables once for both SQL backends use of the store that hosts them
(:class:`~cr_einvoice.outbox.store.sqlite.SQLiteStore` or :class:`~cr_einvoice.outbox.store.postgres.
PostgresStore`), and the few places where the two dialects really differ.

The mixins (:mod:`~cr_einvoice.outbox.store.service_tables`, :mod:`~cr_einvoice.outbox.store.delivery_tables`,
:mod:`~cr_einvoice.outbox.store.apikey_tables`, :mod:`~cr_einvoice.outbox.store.cache_tables`) write their SQL
with ``?`` marks and pass it through the host's ``_q`` (:class:`~cr_einvoice.outbox.store.reads.StoreReads`),
which swaps in the driver's mark. A write runs in the host's ``_tx()``, whose handle -- a
``sqlite3.Connection`` or a psycopg cursor -- answers ``execute(sql, params)`` with a cursor that has
``fetchone()``, ``fetchall()`` and ``rowcount``; rows are read by column name. Both backends understand
``ON CONFLICT``, ``RETURNING`` and the literals ``true``/``false`` (SQLite keeps them as 1/0).

Row locks are the one real difference: SQLite's write transaction (``BEGIN IMMEDIATE``) already excludes every
other writer, so its lock clauses are empty; PostgreSQL lets several nodes write at once, so a read-then-write
locks the row it read (:attr:`SqlTables._FOR_UPDATE`), and a claim skips a row another node is claiming
(:attr:`SqlTables._SKIP_LOCKED`). The PostgreSQL store sets the three clauses.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

from cr_einvoice.outbox.store.rows import Row

if TYPE_CHECKING:
    from cr_einvoice.outbox.store.base import VoucherRecord

__all__ = ["SqlTables"]


class SqlTables:
    """The host store's plumbing and dialect, as the shared write paths see them."""

    #: Appended to a SELECT that reads a row this transaction then changes (PostgreSQL: ``FOR UPDATE``).
    _FOR_UPDATE = ""
    #: Appended to a SELECT of a row that must not change or vanish until the transaction ends
    #: (PostgreSQL: ``FOR SHARE``).
    _FOR_SHARE = ""
    #: Appended to the SELECT of a claim: a row another transaction holds is skipped, not waited for
    #: (PostgreSQL: ``FOR UPDATE SKIP LOCKED``).
    _SKIP_LOCKED = ""

    if TYPE_CHECKING:

        @property
        def path(self) -> str:
            """What the store's messages call it (a file, or a URL without its password)."""
            ...

        def _q(self, sql: str) -> str: ...

        def _rows(self, sql: str, params: Sequence[Any] = ()) -> Sequence[Row]: ...

        def _vouchers_where(self, where: str, params: Sequence[Any] = ()) -> list[VoucherRecord]: ...

        def _tx(self) -> AbstractContextManager[Any]: ...

        def _event(self, tx: Any, key: str | None, kind: str, detail: Mapping[str, Any]) -> None: ...

    def _run(self, tx: Any, sql: str, params: Sequence[Any] = ()) -> Any:
        """Run ``sql`` (``?`` marks) in transaction ``tx``; the driver's cursor (``rowcount``, ``fetch*``)."""
        return tx.execute(self._q(sql), params)

    def _one(self, tx: Any, sql: str, params: Sequence[Any] = ()) -> Row | None:
        """The first row ``sql`` gives in transaction ``tx``, or None."""
        row: Row | None = self._run(tx, sql, params).fetchone()
        return row
