"""Helpers of the public-data tests (imported by path, like tests/hacienda_client's)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from cr_einvoice.hacienda.publicdata import PublicDataClient, SlidingWindowLimiter
from cr_einvoice.hacienda.publicdata.cache import Cache
from cr_einvoice.sandbox import Simulator


class Clock:
    """An aware "now" the tests move by hand (the cache's freshness)."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def make_client(sim: Simulator, cache: Cache | None = None, **options: object) -> PublicDataClient:
    options.setdefault("limiter", SlidingWindowLimiter())
    return PublicDataClient(sim.root_url, cache=cache, sleep=lambda s: None, **options)  # type: ignore[arg-type]
