"""The store's cache of public data: the contract every backend keeps, and the SQLite migration that adds it.

The contract tests take the ``cache_store`` fixture; a new backend adds itself to its ``params``.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from cr_einvoice.core.errors import StoreError
from cr_einvoice.outbox.store import SCHEMA_VERSION, CacheEntry, Store, open_store
from cr_einvoice.outbox.store.sqlite import MIGRATIONS


@pytest.fixture
def cache_store(store: Store) -> Store:
    """The store of every backend (``store`` in tests/outbox/conftest.py)."""
    return store


def test_missing_entry_is_none(cache_store: Store) -> None:
    assert cache_store.cache_get("taxpayer", "3101123456") is None


def test_put_then_get_round_trips_bytes_and_time(cache_store: Store) -> None:
    when = datetime(2026, 3, 1, 9, 30, 15, 123456, tzinfo=timezone(timedelta(hours=-6)))
    value = '{"nombre": "EMPRESA ÑANDÚ S.A."}'.encode()
    cache_store.cache_put("taxpayer", "3101123456", value, fetched_at=when)
    entry = cache_store.cache_get("taxpayer", "3101123456")
    assert entry == CacheEntry("taxpayer", "3101123456", value, when)
    assert entry is not None and entry.fetched_at == when and entry.fetched_at.utcoffset() == when.utcoffset()


def test_namespaces_are_separate(cache_store: Store) -> None:
    cache_store.cache_put("taxpayer", "K", b"1")
    cache_store.cache_put("cabys", "K", b"2")
    assert (e := cache_store.cache_get("taxpayer", "K")) is not None and e.value == b"1"
    assert (e := cache_store.cache_get("cabys", "K")) is not None and e.value == b"2"
    assert cache_store.cache_get("tc", "K") is None


def test_put_replaces_value_and_time(cache_store: Store) -> None:
    old = datetime(2026, 1, 1, tzinfo=UTC)
    new = datetime(2026, 2, 1, tzinfo=UTC)
    cache_store.cache_put("cabys", "2101000000000", b"[1]", fetched_at=old)
    cache_store.cache_put("cabys", "2101000000000", b"[2]", fetched_at=new)
    expected = CacheEntry("cabys", "2101000000000", b"[2]", new)
    assert cache_store.cache_get("cabys", "2101000000000") == expected


def test_default_fetched_at_is_now_and_aware(cache_store: Store) -> None:
    before = datetime.now(UTC)
    cache_store.cache_put("tc", "USD:2026-03-01", b"{}")
    after = datetime.now(UTC)
    entry = cache_store.cache_get("tc", "USD:2026-03-01")
    assert entry is not None and before <= entry.fetched_at <= after


def test_bad_arguments_are_refused(cache_store: Store) -> None:
    with pytest.raises(StoreError, match="timezone-aware"):
        cache_store.cache_put("tc", "x", b"{}", fetched_at=datetime(2026, 1, 1))
    with pytest.raises(StoreError, match="namespace"):
        cache_store.cache_put("", "x", b"{}")
    with pytest.raises(StoreError, match="key"):
        cache_store.cache_get("tc", "")
    with pytest.raises(StoreError, match="must be bytes"):
        cache_store.cache_put("tc", "x", "{}")  # type: ignore[arg-type]
    assert cache_store.cache_get("tc", "x") is None


def test_entries_survive_reopening(tmp_path: Path) -> None:
    path = tmp_path / "outbox.db"
    with open_store(path, create=True) as store:
        store.cache_put("ex", "AL-00460853-20", b'{"porcentajeExoneracion": 13}')
    with open_store(path) as store:
        entry = store.cache_get("ex", "AL-00460853-20")
    assert entry is not None and entry.value == b'{"porcentajeExoneracion": 13}'


def test_a_version_2_database_gains_the_cache_and_keeps_its_data(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    for migration in MIGRATIONS[:2]:
        conn.executescript(migration)
    conn.execute("INSERT INTO issuers VALUES ('3101123456', '02', 'Vieja S.A.', '2025-01-01T00:00:00+00:00')")
    conn.execute("PRAGMA user_version = 2")
    conn.commit()
    conn.close()
    with open_store(path) as store:
        assert store.schema_version == SCHEMA_VERSION
        issuer = store.get_issuer("3101123456")
        assert issuer is not None and issuer.nombre == "Vieja S.A."
        store.cache_put("taxpayer", "3101123456", b"{}")
        assert store.cache_get("taxpayer", "3101123456") is not None
