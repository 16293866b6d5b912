"""The SQLite schema migration of the store's cache of public data; the cache's reads and writes, shared with
PostgreSQL, are :class:`~cr_einvoice.outbox.store.cache_tables.CacheTables`."""

from __future__ import annotations

__all__ = ["CACHE_MIGRATION"]

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
