"""The shared request/response core: one decision path, two drivers."""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from cr_einvoice.core.errors import APIError, ServerError, TransportError
from cr_einvoice.transport.flow import Sleep
from cr_einvoice.transport.http import (
    Flow,
    HTTPCore,
    RateLimit,
    RateLimiter,
    Request,
    RetryPolicy,
    backoff_delay,
    redact_url,
    run_async,
    run_sync,
)

FAST = RetryPolicy(max_attempts=4, backoff_base=0.001, backoff_max=0.01)


def mapper(response: httpx.Response, request: Request) -> Exception | None:
    if response.status_code >= 500:
        return ServerError("server failed", status=response.status_code, headers=dict(response.headers))
    if response.status_code >= 400:
        return APIError(
            "refused", status=response.status_code, headers=dict(response.headers), clave=request.clave
        )
    return None


def scripted(statuses: list[int | Exception], seen: list[httpx.Request]) -> httpx.MockTransport:
    script = iter(statuses)

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        item = next(script)
        if isinstance(item, Exception):
            raise item
        return httpx.Response(
            item,
            headers={"X-Ratelimit-Limit": "100", "X-Ratelimit-Remaining": "99", "X-Ratelimit-Reset": "0"},
        )

    return httpx.MockTransport(handler)


def make_core(sleeps: list[float] | None = None) -> HTTPCore:
    record = sleeps if sleeps is not None else []
    return HTTPCore(map_error=mapper, retry=FAST, rng=random.Random(7), sleep=record.append)


def test_retries_5xx_then_succeeds() -> None:
    seen: list[httpx.Request] = []
    sleeps: list[float] = []
    with httpx.Client(transport=scripted([503, 502, 200], seen)) as client:
        response = make_core(sleeps).send(client, Request("GET", "http://h/x"))
    assert response.status_code == 200
    assert len(seen) == 3
    assert len(sleeps) == 2 and all(0 <= s <= 0.01 for s in sleeps)


def test_gives_up_after_max_attempts_with_mapped_error() -> None:
    seen: list[httpx.Request] = []
    with httpx.Client(transport=scripted([500] * 4, seen)) as client, pytest.raises(ServerError) as info:
        make_core().send(client, Request("GET", "http://h/x"))
    assert info.value.status == 500
    assert len(seen) == 4


def test_4xx_is_not_retried_and_carries_clave() -> None:
    seen: list[httpx.Request] = []
    with httpx.Client(transport=scripted([400], seen)) as client, pytest.raises(APIError) as info:
        make_core().send(client, Request("POST", "http://h/x", clave="5" * 50, idempotent=False))
    assert info.value.clave == "5" * 50
    assert len(seen) == 1


def test_connect_error_is_retried_even_for_post() -> None:
    seen: list[httpx.Request] = []
    transport = scripted([httpx.ConnectError("refused"), 202], seen)
    with httpx.Client(transport=transport) as client:
        assert make_core().send(client, Request("POST", "http://h/x", idempotent=False)).status_code == 202


def test_ambiguous_post_failure_is_not_resent() -> None:
    seen: list[httpx.Request] = []
    transport = scripted([httpx.ReadTimeout("slow")], seen)
    with httpx.Client(transport=transport) as client, pytest.raises(TransportError) as info:
        make_core().send(client, Request("POST", "http://h/x", idempotent=False, what="submit voucher"))
    assert info.value.request_sent is True
    assert "check its status" in str(info.value)
    assert "submit voucher" in str(info.value)
    assert len(seen) == 1


def test_ambiguous_get_failure_is_retried() -> None:
    seen: list[httpx.Request] = []
    transport = scripted([httpx.ReadTimeout("slow"), httpx.RemoteProtocolError("drop"), 200], seen)
    with httpx.Client(transport=transport) as client:
        assert make_core().send(client, Request("GET", "http://h/x")).status_code == 200
    assert len(seen) == 3


def test_connect_failures_exhausted_say_not_sent() -> None:
    seen: list[httpx.Request] = []
    transport = scripted([httpx.ConnectError("refused")] * 4, seen)
    with httpx.Client(transport=transport) as client, pytest.raises(TransportError) as info:
        make_core().send(client, Request("GET", "http://h/x"))
    assert info.value.request_sent is False


def test_retry_after_is_honoured() -> None:
    sleeps: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if len(sleeps) == 0:
            return httpx.Response(429, headers={"Retry-After": "2"})
        return httpx.Response(200)

    with httpx.Client(transport=httpx.MockTransport(handler)) as client:
        make_core(sleeps).send(client, Request("GET", "http://h/x"))
    assert sleeps == [2.0]


def test_server_delay_beyond_limit_gives_up() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(429, headers={"Retry-After": "9999"})

    core = HTTPCore(map_error=mapper, retry=RetryPolicy(max_server_delay=5), sleep=lambda s: None)
    with httpx.Client(transport=httpx.MockTransport(handler)) as client, pytest.raises(APIError) as info:
        core.send(client, Request("GET", "http://h/x"))
    assert info.value.status == 429


async def test_async_driver_shares_the_decisions() -> None:
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return httpx.Response(503 if calls < 3 else 200)

    core = make_core()
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        response = await core.send_async(client, Request("GET", "http://h/x"))
    assert response.status_code == 200 and calls == 3


async def test_async_ambiguous_post() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.WriteTimeout("slow")

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        with pytest.raises(TransportError) as info:
            await make_core().send_async(client, Request("POST", "http://h/x", idempotent=False))
    assert info.value.request_sent is True


def test_rate_limit_parsing() -> None:
    assert RateLimit.from_headers(
        {"X-Ratelimit-Limit": "10", "x-ratelimit-remaining": "3", "X-RateLimit-Reset": "1700000000"}
    ) == RateLimit(10, 3, 1700000000.0)
    assert RateLimit.from_headers({"X-Ratelimit-Limit": "ten"}) is None


def test_rate_limiter_waits_for_reset_when_exhausted() -> None:
    now = [1000.0]
    limiter = RateLimiter(clock=lambda: now[0])
    assert limiter.reserve() == 0.0
    limiter.update(RateLimit(limit=100, remaining=50, reset=1060.0))
    assert limiter.reserve() == 0.0
    limiter.update(RateLimit(limit=100, remaining=0, reset=1030.0))
    assert limiter.reserve() == pytest.approx(30.0)
    now[0] = 1031.0
    assert limiter.reserve() == 0.0


def test_rate_limiter_spreads_requests_when_low() -> None:
    now = [0.0]
    limiter = RateLimiter(clock=lambda: now[0])
    limiter.update(RateLimit(limit=100, remaining=5, reset=10.0))
    waits = [limiter.reserve() for _ in range(4)]
    assert waits[0] == 0.0
    assert waits == sorted(waits) and waits[-1] > 0
    assert waits[-1] <= 10.0


# -- over real loopback HTTP ------------------------------------------------------------------


class _Flaky(BaseHTTPRequestHandler):
    failures = 0
    posts = 0
    lock = threading.Lock()

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with _Flaky.lock:
            _Flaky.posts += 1
        # The body was received, then the connection dies: the client cannot know the outcome.
        self.close_connection = True
        self.connection.close()

    def do_GET(self) -> None:
        with _Flaky.lock:
            fail = _Flaky.failures > 0
            _Flaky.failures -= 1
        if fail:
            # drop the connection without an answer
            self.close_connection = True
            self.connection.close()
            return
        body = b'{"ok": true}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def flaky_server() -> Iterator[Callable[[int], str]]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Flaky)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    def configure(failures: int) -> str:
        _Flaky.failures = failures
        _Flaky.posts = 0
        return f"http://127.0.0.1:{server.server_address[1]}/x"

    yield configure
    server.shutdown()
    server.server_close()


def test_dropped_connections_over_loopback_are_retried(flaky_server: Callable[[int], str]) -> None:
    url = flaky_server(2)
    with httpx.Client(timeout=2) as client:
        response = make_core().send(client, Request("GET", url))
    assert response.json() == {"ok": True}


def test_dropped_connection_after_post_body_is_ambiguous_and_not_resent(
    flaky_server: Callable[[int], str],
) -> None:
    url = flaky_server(0)
    with httpx.Client(timeout=2) as client, pytest.raises(TransportError) as info:
        make_core().send(client, Request("POST", url, idempotent=False, content=b"{}"))
    assert info.value.request_sent is True
    assert _Flaky.posts == 1


def test_credentials_in_query_strings_never_reach_httpx_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with httpx.Client(transport=httpx.MockTransport(lambda r: httpx.Response(200))) as client:
        make_core().send(
            client, Request("GET", "http://h/invoice/get", params={"apiKey": "K-SECRET", "s": "SIG1"})
        )
    assert "HTTP Request" in caplog.text
    assert "K-SECRET" not in caplog.text
    assert "SIG1" not in caplog.text
    assert redact_url("http://h/x?apiKey=a&id=7") == "http://h/x?apiKey=%3Credacted%3E&id=7"


# -- one flow, two runners ---------------------------------------------------------------------


def _flaky_then_ok() -> Callable[[httpx.Request], httpx.Response]:
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(str(request.url))
        if len(calls) == 1:
            return httpx.Response(503, headers={"Retry-After": "0"})
        return httpx.Response(200, json={"attempt": len(calls), "path": request.url.path})

    return handler


def _two_calls(core: HTTPCore) -> Flow[list[object]]:
    """A conversation: a GET retried after a 503, then a second request built from the first answer."""
    first = yield from core.exchange(Request("GET", "http://h/first"))
    yield Sleep(0.0)
    second = yield from core.exchange(
        Request("GET", "http://h/second", params={"after": first.json()["attempt"]})
    )
    return [first.status_code, first.json(), second.json(), str(second.request.url)]


async def test_the_same_flow_gives_the_same_result_sync_and_async() -> None:
    sync_sleeps: list[float] = []
    with httpx.Client(transport=httpx.MockTransport(_flaky_then_ok())) as client:
        sync_result = run_sync(_two_calls(make_core()), client, sleep=sync_sleeps.append)
    async with httpx.AsyncClient(transport=httpx.MockTransport(_flaky_then_ok())) as aclient:
        async_result = await run_async(_two_calls(make_core()), aclient)
    assert (
        sync_result
        == async_result
        == [
            200,
            {"attempt": 2, "path": "/first"},
            {"attempt": 3, "path": "/second"},
            "http://h/second?after=2",
        ]
    )
    assert len(sync_sleeps) == 2  # the backoff after the 503, then the flow's own pause


async def test_send_and_send_async_are_runners_of_one_retry_flow() -> None:
    seen: list[httpx.Request] = []
    sleeps: list[float] = []
    with httpx.Client(transport=scripted([503, 200], seen)) as client:
        assert make_core(sleeps).send(client, Request("GET", "http://h/x")).status_code == 200
    async with httpx.AsyncClient(transport=scripted([503, 200], seen)) as aclient:
        assert (await make_core().send_async(aclient, Request("GET", "http://h/x"))).status_code == 200
    assert len(seen) == 4
    steps = make_core().exchange(Request("GET", "http://h/x"))
    first = next(steps)
    assert isinstance(first, Request) and first.url == "http://h/x"  # each step is one attempt


def test_backoff_delay_is_capped_exponential_with_jitter() -> None:
    rng = random.Random(3)
    delays = [backoff_delay(n, 0.5, 4.0, rng=rng) for n in range(1, 8)]
    assert all(0 <= d <= min(4.0, 0.5 * 2 ** (n - 1)) for n, d in enumerate(delays, start=1))
    equal = [backoff_delay(n, 1.0, 8.0, rng=rng, floor=0.5) for n in range(1, 6)]
    assert all(min(8.0, 2.0 ** (n - 1)) / 2 <= d <= min(8.0, 2.0 ** (n - 1)) for n, d in enumerate(equal, 1))
    policy = RetryPolicy(backoff_base=0.5, backoff_max=4.0)
    assert policy.backoff(3, random.Random(5)) == backoff_delay(3, 0.5, 4.0, rng=random.Random(5))
