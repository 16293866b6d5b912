"""The client-side limiter: a burst then a sustained pace stay under every window; a 429 with Retry-After
holds every caller of the limiter; a long block fails fast (or serves the cache)."""

from __future__ import annotations

import http.server
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import ClassVar

import pytest

from cr_einvoice.core.errors import RateLimitedError
from cr_einvoice.hacienda.publicdata import (
    MemoryCache,
    PublicDataBlockedError,
    PublicDataClient,
    SlidingWindowLimiter,
)
from cr_einvoice.sandbox import Simulator, SimulatorSettings


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def _max_in_window(times: list[float], seconds: float) -> int:
    return max(sum(1 for u in times if t <= u < t + seconds) for t in times)


def test_burst_then_sustained_stays_under_every_window() -> None:
    clock = FakeTime()
    limiter = SlidingWindowLimiter(((18, 1.0), (90, 5.0), (1080, 120.0)), clock=clock)
    sent = []
    for _ in range(2500):
        clock.sleep(limiter.reserve())
        sent.append(clock.now)
    assert sent[17] == sent[0]  # the first 18 go at once (a burst)
    assert _max_in_window(sent, 1.0) <= 18
    assert _max_in_window(sent, 5.0) <= 90
    assert _max_in_window(sent, 120.0) <= 1080
    # sustained: 2,500 requests need a little over two 120 s windows at 9/s, not 2500/18 s
    assert sent[-1] - sent[0] >= 240.0


def test_hold_after_429_delays_everyone() -> None:
    clock = FakeTime()
    limiter = SlidingWindowLimiter(((100, 1.0),), clock=clock)
    assert limiter.reserve() == 0.0
    limiter.hold(7.0)
    assert limiter.blocked_for() == pytest.approx(7.0)
    assert limiter.reserve() == pytest.approx(7.0)
    assert limiter.throttled == 1


def test_limited_client_is_never_refused_by_the_simulator(schemas_dir: object, tmp_path: object) -> None:
    settings = SimulatorSettings(
        check_schema=False, public_rate_limits=((10, 1.0), (25, 5.0)), public_block_seconds=600.0
    )
    with Simulator(settings) as sim:
        limiter = SlidingWindowLimiter(((9, 1.0), (22, 5.0)))
        started = time.monotonic()
        with PublicDataClient(sim.root_url, limiter=limiter) as client:
            for _ in range(30):
                client.cabys("4527100000100")
        elapsed = time.monotonic() - started
        assert elapsed >= 5.0  # the 5-second window paced the last 8
        assert limiter.throttled == 0
        # Without pacing the simulator blocks the address, as Hacienda does.
        with (
            PublicDataClient(sim.root_url, limiter=SlidingWindowLimiter(((1000, 1.0),))) as greedy,
            pytest.raises(RateLimitedError) as blocked,
        ):
            _hammer(greedy, 30)
        assert blocked.value.status == 429 and blocked.value.headers.get("retry-after") == "600"


def _hammer(client: PublicDataClient, times: int) -> None:
    for _ in range(times):
        client.cabys("4527100000100")


class _Scripted(http.server.BaseHTTPRequestHandler):
    """Answers 429 (Retry-After: 1) to the first request, then a CABYS answer."""

    script: ClassVar[list[tuple[int, dict[str, str], bytes]]] = []
    seen: ClassVar[list[float]] = []

    def do_GET(self) -> None:
        _Scripted.seen.append(time.monotonic())
        status, headers, body = _Scripted.script.pop(0) if _Scripted.script else (200, {}, _CABYS)
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


_CABYS = b'[{"codigo": "4527100000100", "descripcion": "Computadoras", "categorias": [], "impuesto": 13}]'


@pytest.fixture
def scripted() -> Iterator[str]:
    _Scripted.script, _Scripted.seen = [], []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Scripted)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_429_retry_after_is_honoured_and_shared(scripted: str) -> None:
    _Scripted.script = [(429, {"Retry-After": "1"}, b'{"message": "Too Many Requests"}')]
    limiter = SlidingWindowLimiter()
    with PublicDataClient(scripted, limiter=limiter) as client:
        got = client.cabys("4527100000100")
    assert got.codigo == "4527100000100"
    assert limiter.throttled == 1
    assert _Scripted.seen[1] - _Scripted.seen[0] >= 1.0  # waited as asked before the retry


def test_a_long_block_fails_fast_or_serves_the_cache(scripted: str) -> None:
    _Scripted.script = [(429, {"Retry-After": "600"}, b"{}")]
    limiter = SlidingWindowLimiter()
    cache = MemoryCache()
    cache.cache_put(
        "cabys", "4527100000100", _CABYS, fetched_at=datetime(2020, 1, 1, tzinfo=UTC)
    )  # long expired
    with PublicDataClient(scripted, limiter=limiter, cache=cache, max_wait=30.0) as client:
        stale = client.cabys("4527100000100")
        assert (stale.source, stale.stale) == ("cache", True)
        assert limiter.blocked_for() > 500
        with pytest.raises(PublicDataBlockedError, match="429"):
            client.taxpayer("3101123456")  # not cached: fails at once, nothing sent
    assert len(_Scripted.seen) == 1


def test_the_async_client_waits_for_retry_after_too(scripted: str) -> None:
    import asyncio

    from cr_einvoice.hacienda.publicdata import AsyncPublicDataClient

    _Scripted.script = [(429, {"Retry-After": "1"}, b"{}")]
    limiter = SlidingWindowLimiter()

    async def lookup() -> str:
        async with AsyncPublicDataClient(scripted, limiter=limiter) as client:
            return (await client.cabys("4527100000100")).codigo

    assert asyncio.run(lookup()) == "4527100000100"
    assert limiter.throttled == 1
    assert _Scripted.seen[1] - _Scripted.seen[0] >= 1.0
