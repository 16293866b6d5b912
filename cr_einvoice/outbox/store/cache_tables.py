"""The store's cache of public data (:meth:`~cr_einvoice.outbox.store.base.Store.cache_get` and
``cache_put``), written once for both SQL backends: one row per (namespace, key) holding the JSON bytes of an
answer and when it was fetched.

A mixin of :class:`~cr_einvoice.outbox.store.sqlite.SQLiteStore` and
:class:`~cr_einvoice.outbox.store.postgres.PostgresStore` (see :mod:`~cr_einvoice.outbox.store.sql_tables`);
the table comes with SQLite's ``CACHE_MIGRATION`` (:mod:`~cr_einvoice.outbox.store.sqlite_cache`) and
PostgreSQL's first migration. The store keeps whatever it is given; freshness is the reader's business
(:mod:`cr_einvoice.hacienda.publicdata.cache`).
"""

from __future__ import annotations

from datetime import UTC, datetime

from cr_einvoice.core.errors import StoreError
from cr_einvoice.outbox.store.base import CacheEntry
from cr_einvoice.outbox.store.sql_tables import SqlTables

__all__ = ["CacheTables"]


def _check(namespace: str, key: str) -> None:
    if not isinstance(namespace, str) or not namespace:
        raise StoreError("the cache namespace must be a non-empty string")
    if not isinstance(key, str) or not key:
        raise StoreError(f"the cache key in namespace {namespace!r} must be a non-empty string")


class CacheTables(SqlTables):
    """``cache_get``/``cache_put`` over the host store's reads and transactions."""

    def cache_get(self, namespace: str, key: str) -> CacheEntry | None:
        _check(namespace, key)
        rows = self._rows(
            "SELECT value, fetched_at FROM cache WHERE namespace = ? AND key = ?", (namespace, key)
        )
        if not rows:
            return None
        return CacheEntry(
            namespace, key, bytes(rows[0]["value"]), datetime.fromisoformat(rows[0]["fetched_at"])
        )

    def cache_put(
        self, namespace: str, key: str, value: bytes, *, fetched_at: datetime | None = None
    ) -> None:
        _check(namespace, key)
        given: object = value  # callers without a type checker
        if not isinstance(given, bytes | bytearray | memoryview):
            got = type(given).__name__
            raise StoreError(f"the cached value of {namespace}/{key} must be bytes, got {got}")
        when = datetime.now(UTC) if fetched_at is None else fetched_at
        if when.tzinfo is None:
            raise StoreError(f"fetched_at of {namespace}/{key} must be timezone-aware")
        with self._tx() as tx:
            self._run(
                tx,
                "INSERT INTO cache (namespace, key, value, fetched_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (namespace, key) DO UPDATE SET value = excluded.value, "
                "fetched_at = excluded.fetched_at",
                (namespace, key, bytes(value), when.isoformat()),
            )
