"""The SQLite store's cache of public data (:meth:`~cr_einvoice.outbox.store.base.Store.cache_get` and
``cache_put``): one row per (namespace, key) holding the JSON bytes of an answer and when it was fetched.

Kept beside :mod:`cr_einvoice.outbox.store.sqlite` as a mixin of :class:`SQLiteStore`; the table comes with
schema migration :data:`CACHE_MIGRATION`. The store keeps whatever it is given; freshness is the reader's
business (:mod:`cr_einvoice.hacienda.publicdata.cache`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from cr_einvoice.core.errors import StoreError
from cr_einvoice.outbox.store.base import CacheEntry

__all__ = ["CACHE_MIGRATION", "SQLiteCacheMixin"]

#: The migration that adds the cache table.
CACHE_MIGRATION = """
    CREATE TABLE cache (
        namespace TEXT NOT NULL,
        key TEXT NOT NULL,
        value BLOB NOT NULL,
        fetched_at TEXT NOT NULL,
        PRIMARY KEY (namespace, key)
    );
    """


def _check(namespace: str, key: str) -> None:
    if not isinstance(namespace, str) or not namespace:
        raise StoreError("the cache namespace must be a non-empty string")
    if not isinstance(key, str) or not key:
        raise StoreError(f"the cache key in namespace {namespace!r} must be a non-empty string")


class SQLiteCacheMixin:
    """``cache_get``/``cache_put`` on the store's connection and transactions."""

    if TYPE_CHECKING:

        def _tx(self) -> AbstractContextManager[sqlite3.Connection]: ...

        def _read(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]: ...

    def cache_get(self, namespace: str, key: str) -> CacheEntry | None:
        _check(namespace, key)
        rows = self._read(
            "SELECT value, fetched_at FROM cache WHERE namespace = ? AND key = ?", (namespace, key)
        )
        if not rows:
            return None
        return CacheEntry(namespace, key, bytes(rows[0][0]), datetime.fromisoformat(rows[0][1]))

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
        with self._tx() as conn:
            conn.execute(
                "INSERT INTO cache (namespace, key, value, fetched_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (namespace, key) DO UPDATE SET value = excluded.value, "
                "fetched_at = excluded.fetched_at",
                (namespace, key, bytes(value), when.isoformat()),
            )
