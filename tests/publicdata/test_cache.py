"""The cache: a POS keeps its lookups in its outbox store and works offline; each kind stays fresh for its
own time (taxpayers and exonerations a day, CABYS a month, rates of a date forever); stale data says so."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from pd_support import Clock, make_client

from cr_einvoice.core.errors import TransportError, ValidationError
from cr_einvoice.hacienda.publicdata import (
    MemoryCache,
    NotCachedError,
    PublicDataClient,
    SlidingWindowLimiter,
)
from cr_einvoice.outbox.store import SQLiteStore, open_store
from cr_einvoice.sandbox import Simulator


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SQLiteStore]:
    s = open_store(tmp_path / "outbox.db", create=True)
    yield s
    s.close()


def _hits(sim: Simulator, route: str) -> int:
    return sim.public.hits.get(route, 0)


def _closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def test_the_store_is_a_cache_and_answers_again(sim: Simulator, store: SQLiteStore, clock: Clock) -> None:
    with make_client(sim, store, clock=clock) as client:
        first = client.taxpayer("3101123456")
        before = _hits(sim, "/fe/ae")
        again = client.taxpayer("3101123456")
    assert _hits(sim, "/fe/ae") == before  # no request the second time
    assert (first.source, again.source, again.stale) == ("network", "cache", False)
    assert again.fetched_at == first.fetched_at == clock.now
    assert again.nombre == first.nombre and again.actividades == first.actividades
    entry = store.cache_get("taxpayer", "3101123456")
    assert entry is not None and b"SOLUCIONES" in entry.value


#: lookup -> (its argument, the route it asks, still fresh after, expired after)
_KINDS = {
    "taxpayer": ("3101123456", "/fe/ae", timedelta(hours=23), timedelta(days=1, minutes=1)),
    "exoneration": ("AL-00460853-20", "/fe/ex", timedelta(hours=23), timedelta(days=1, minutes=1)),
    "cabys": ("4527100000100", "/fe/cabys", timedelta(days=29), timedelta(days=31)),
}


@pytest.mark.parametrize("lookup", sorted(_KINDS))
def test_freshness_per_kind(sim: Simulator, clock: Clock, lookup: str) -> None:
    arg, route, fresh, expired = _KINDS[lookup]
    start = clock.now
    with make_client(sim, MemoryCache(), clock=clock) as client:
        getattr(client, lookup)(arg)
        count = _hits(sim, route)
        clock.now = start + fresh
        assert getattr(client, lookup)(arg).source == "cache"
        assert _hits(sim, route) == count
        clock.now = start + expired
        refreshed = getattr(client, lookup)(arg)
    assert refreshed.source == "network" and refreshed.fetched_at == start + expired
    assert _hits(sim, route) == count + 1


def test_a_rate_of_a_date_is_kept_forever(sim: Simulator, clock: Clock) -> None:
    day = date(2026, 7, 15)
    with make_client(sim, MemoryCache(), clock=clock) as client:
        client.exchange_rate("USD", day)
        count = _hits(sim, "/indicadores/tc/dolar/historico")
        clock.advance(days=3650)
        again = client.exchange_rate("USD", day)
    assert (again.source, again.stale) == ("cache", False)
    assert _hits(sim, "/indicadores/tc/dolar/historico") == count


def test_history_fills_the_cache_day_by_day(sim: Simulator, clock: Clock) -> None:
    cache = MemoryCache()
    with make_client(sim, cache, clock=clock) as client:
        client.exchange_history(date(2026, 7, 13), date(2026, 7, 16))
    with make_client(sim, cache, clock=clock, offline=True) as offline:
        assert (
            offline.exchange_rate("USD", date(2026, 7, 14)).venta
            == offline.exchange_history(date(2026, 7, 13), date(2026, 7, 14)).rates[1].venta
        )
        with pytest.raises(NotCachedError, match="USD:2026-07-17"):
            offline.exchange_history(date(2026, 7, 16), date(2026, 7, 17))


def test_offline_uses_only_the_cache(sim: Simulator, store: SQLiteStore, clock: Clock) -> None:
    with make_client(sim, store, clock=clock) as online:
        online.cabys("4527100000100")
    count = sum(sim.public.hits.values())
    with make_client(sim, store, clock=clock, offline=True) as offline:
        assert offline.cabys("4527100000100").source == "cache"
        with pytest.raises(NotCachedError, match=r"3101123456.*offline"):
            offline.taxpayer("3101123456")
        with pytest.raises(NotCachedError):
            offline.exchange_rate("EUR")
    assert sum(sim.public.hits.values()) == count  # nothing was asked


def test_stale_data_is_reported_offline(sim: Simulator, store: SQLiteStore, clock: Clock) -> None:
    start = clock.now
    with make_client(sim, store, clock=clock) as online:
        online.taxpayer("3101123456")
    clock.advance(days=3)
    with make_client(sim, store, clock=clock, offline=True) as offline:
        t = offline.taxpayer("3101123456")
    assert (t.source, t.stale, t.fetched_at) == ("cache", True, start)


def test_stale_data_when_hacienda_is_unreachable(sim: Simulator, clock: Clock) -> None:
    cache = MemoryCache()
    with make_client(sim, cache, clock=clock) as online:
        online.exoneration("AL-00460853-20")
    clock.advance(days=2)
    url = _closed_port_url()
    with PublicDataClient(
        url, cache=cache, clock=clock, limiter=SlidingWindowLimiter(), sleep=lambda s: None
    ) as c:
        ex = c.exoneration("AL-00460853-20")
        assert (ex.source, ex.stale) == ("cache", True)
        with pytest.raises(TransportError):  # nothing cached: the failure itself
            c.taxpayer("3101123456")


def test_euro_of_a_past_date_comes_from_the_cache_only(sim: Simulator, clock: Clock) -> None:
    cache = MemoryCache()
    with make_client(sim, cache, clock=clock) as client:
        today = client.exchange_rate("EUR")
        clock.advance(days=40)
        kept = client.exchange_rate("EUR", today.fecha)
        assert (kept.source, kept.venta) == ("cache", today.venta)
        with pytest.raises(ValidationError, match="current day only"):
            client.exchange_rate("EUR", today.fecha - timedelta(days=400))
