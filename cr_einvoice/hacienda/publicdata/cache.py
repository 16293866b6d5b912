"""Where public data is kept between lookups, and for how long it counts as fresh.

:class:`Cache` is the two methods the client needs; the outbox's ``Store`` (SQLite, PostgreSQL) has them, so a
POS keeps its lookups in its outbox and works offline. This package does not import the outbox: the Store
satisfies the protocol structurally. :class:`MemoryCache` is a process-local one.

:class:`CachePolicy` says how long each kind stays fresh: taxpayers and exonerations a day, CABYS codes a
month (the catalogue changes rarely), an exchange rate of a past date forever (it never changes). What
``cr-einvoice lookup import`` loads (:mod:`.imported`: a taxpayer's registered data with its address, the
economic-activity catalogue) never expires: it stays until imported again.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol

__all__ = [
    "DEFAULT_TTL",
    "NS_ACTIVITIES",
    "NS_CABYS",
    "NS_CABYS_SEARCH",
    "NS_EXONERATION",
    "NS_RATE",
    "NS_REGISTERED",
    "NS_TAXPAYER",
    "Cache",
    "CachePolicy",
    "CachedEntry",
    "MemoryCache",
]

NS_TAXPAYER = "taxpayer"
NS_CABYS = "cabys"
NS_CABYS_SEARCH = "cabys_search"
NS_RATE = "tc"
NS_EXONERATION = "exoneration"
#: Imported (``cr-einvoice lookup import``): a taxpayer's registered data, and the activity catalogue.
NS_REGISTERED = "registered"
NS_ACTIVITIES = "activity_catalogue"

#: Freshness per namespace (None: forever).
DEFAULT_TTL: Mapping[str, timedelta | None] = {
    NS_TAXPAYER: timedelta(days=1),
    NS_EXONERATION: timedelta(days=1),
    NS_CABYS: timedelta(days=30),
    NS_CABYS_SEARCH: timedelta(days=30),
    NS_RATE: None,
    NS_REGISTERED: None,
    NS_ACTIVITIES: None,
}


class CachedEntry(Protocol):
    """One cached answer (``outbox.store.CacheEntry`` is one)."""

    @property
    def value(self) -> bytes: ...

    @property
    def fetched_at(self) -> datetime: ...


class Cache(Protocol):
    """Keeps JSON bytes per (namespace, key) with the time they were fetched."""

    def cache_get(self, namespace: str, key: str) -> CachedEntry | None: ...

    def cache_put(
        self, namespace: str, key: str, value: bytes, *, fetched_at: datetime | None = None
    ) -> None: ...


@dataclass(frozen=True, slots=True)
class _Entry:
    value: bytes
    fetched_at: datetime


class MemoryCache:
    """A :class:`Cache` in this process's memory (thread-safe); gone when the process ends."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[tuple[str, str], _Entry] = {}

    def cache_get(self, namespace: str, key: str) -> _Entry | None:
        with self._lock:
            return self._entries.get((namespace, key))

    def cache_put(
        self, namespace: str, key: str, value: bytes, *, fetched_at: datetime | None = None
    ) -> None:
        when = fetched_at if fetched_at is not None else datetime.now(UTC)
        with self._lock:
            self._entries[(namespace, key)] = _Entry(bytes(value), when)


@dataclass(frozen=True, slots=True)
class CachePolicy:
    """How long an entry of each namespace is fresh (``ttl``; None: forever; a namespace not listed: never
    fresh, always asked again)."""

    ttl: Mapping[str, timedelta | None] = field(default_factory=lambda: dict(DEFAULT_TTL))

    def fresh(self, namespace: str, fetched_at: datetime, now: datetime) -> bool:
        if namespace not in self.ttl:
            return False
        ttl = self.ttl[namespace]
        return ttl is None or now - fetched_at < ttl
