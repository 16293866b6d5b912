"""A lean asynchronous HTTP/1.1 transport for httpx: one asyncio protocol per connection feeding h11, and a
keep-alive pool per origin.

httpx's default asynchronous transport (httpcore on anyio) costs about a millisecond of CPU per request on
loopback, much of it looking at every pooled connection before each request (a ``getpeername`` and a
``poll`` system call each, which also hand the GIL to any other thread of the process). Here a connection
knows it was closed the moment the event loop hears of it (``eof_received``/``connection_lost``), so picking
one is a list pop; the request goes out in one write; the response is read whole.

It speaks HTTP/1.1 only (Hacienda's recepción API and IdP do), keeps at most ``max_connections`` open and
closes connections idle for ``keepalive_expiry`` seconds. Failures are httpx's exceptions, with the same
meaning as httpcore's: :class:`httpx.ConnectError`/:class:`httpx.ConnectTimeout`/:class:`httpx.PoolTimeout`
when the request surely did not leave, :class:`httpx.WriteError`, :class:`httpx.ReadTimeout`,
:class:`httpx.ReadError` or :class:`httpx.RemoteProtocolError` when it may have reached the server.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import ssl
import time
from typing import Any, cast

import h11
import httpx

__all__ = ["AsyncH11Transport", "CookielessAsyncClient"]

#: The largest response head h11 accepts (the body is not limited, as with httpcore).
MAX_HEAD = 64 * 1024

_Origin = tuple[str, str, int]


class _Connection(asyncio.Protocol):
    """One HTTP/1.1 connection: bytes in feed h11; the request's task waits on :attr:`_waiter`."""

    def __init__(self, origin: _Origin) -> None:
        self.origin = origin
        self.h11 = h11.Connection(h11.CLIENT, max_incomplete_event_size=MAX_HEAD)
        self.transport: asyncio.Transport | None = None
        self.busy = False
        self.closed = False
        self.lost: BaseException | None = None
        self.idle_since = 0.0
        self._waiter: asyncio.Future[None] | None = None
        self._writable = True

    # -- asyncio.Protocol ------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # A stream transport (uvloop's is not an asyncio.Transport subclass, but has the same methods).
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        if not self.busy:  # nothing asked: a server talking out of turn; this connection is not reused
            self.close()
            return
        self.h11.receive_data(data)
        self._wake()

    def eof_received(self) -> bool | None:
        self.closed = True
        with contextlib.suppress(h11.RemoteProtocolError):
            self.h11.receive_data(b"")
        self._wake()
        return None  # the transport closes itself

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.lost = self.lost or exc
        self._writable = True
        self._wake()

    def pause_writing(self) -> None:
        self._writable = False

    def resume_writing(self) -> None:
        self._writable = True
        self._wake()

    # -- the request's side ---------------------------------------------------------------------
    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    async def _wait(self, within: float | None) -> None:
        self._waiter = asyncio.get_running_loop().create_future()
        try:
            async with asyncio.timeout(within):
                await self._waiter
        finally:
            self._waiter = None

    @property
    def reusable(self) -> bool:
        return (
            not self.closed
            and self.transport is not None
            and not self.transport.is_closing()
            and self.h11.our_state is h11.IDLE
            and self.h11.their_state is h11.IDLE
        )

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    async def exchange(self, request: httpx.Request, timeouts: dict[str, Any]) -> httpx.Response:
        """Send ``request`` and read its whole response (the connection is left ready for the next one, or
        closed)."""
        self.busy = True
        assert self.transport is not None
        body = await request.aread()
        head = h11.Request(
            method=request.method, target=request.url.raw_path, headers=list(request.headers.raw)
        )
        data = self.h11.send(head) or b""
        if body:
            data += self.h11.send(h11.Data(data=body)) or b""
        data += self.h11.send(h11.EndOfMessage()) or b""
        try:
            if self.closed:
                raise ConnectionResetError("the connection was closed")
            self.transport.write(data)
            while not self._writable and not self.closed:
                await self._wait(timeouts.get("write"))
        except TimeoutError:
            raise httpx.WriteTimeout("timed out sending the request", request=request) from None
        except OSError as exc:
            raise httpx.WriteError(str(exc) or type(exc).__name__, request=request) from None
        response = await self._read_response(request, timeouts.get("read"))
        self.busy = False
        if self.h11.our_state is h11.DONE and self.h11.their_state is h11.DONE:
            self.h11.start_next_cycle()
        else:
            self.close()
        return response

    async def _read_response(self, request: httpx.Request, within: float | None) -> httpx.Response:
        head: h11.Response | None = None
        chunks: list[bytes] = []
        while True:
            try:
                event = self.h11.next_event()
            except h11.RemoteProtocolError as exc:
                raise httpx.RemoteProtocolError(str(exc), request=request) from None
            if event is h11.NEED_DATA:
                if self.closed:
                    raise self._lost_error(request)
                try:
                    await self._wait(within)
                except TimeoutError:
                    raise httpx.ReadTimeout("timed out waiting for the response", request=request) from None
                continue
            if isinstance(event, h11.Response):
                head = event
            elif isinstance(event, h11.Data):
                chunks.append(bytes(event.data))
            elif isinstance(event, h11.EndOfMessage):
                break
            elif isinstance(event, h11.ConnectionClosed):
                raise self._lost_error(request)
            # h11.InformationalResponse (1xx): skipped
        assert head is not None
        return httpx.Response(
            head.status_code,
            headers=list(head.headers.raw_items()),
            stream=httpx.ByteStream(b"".join(chunks)),
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": bytes(head.reason)},
        )

    def _lost_error(self, request: httpx.Request) -> httpx.HTTPError:
        if isinstance(self.lost, OSError) and not isinstance(self.lost, ConnectionAbortedError):
            return httpx.ReadError(str(self.lost) or type(self.lost).__name__, request=request)
        return httpx.RemoteProtocolError(
            "Server disconnected without sending a complete response.", request=request
        )


class AsyncH11Transport(httpx.AsyncBaseTransport):
    """An :class:`httpx.AsyncBaseTransport` over asyncio and h11 (HTTP/1.1, keep-alive).

    ``verify``: the :class:`ssl.SSLContext` for https (``True``: httpx's default context, made on the first
    https connection); ``max_connections``: open connections at most, a request waits (``pool`` timeout)
    for one beyond that; ``keepalive_expiry``: seconds an idle connection is kept.
    """

    def __init__(
        self,
        *,
        verify: ssl.SSLContext | bool = True,
        max_connections: int = 100,
        keepalive_expiry: float = 5.0,
    ) -> None:
        if verify is False:
            raise ValueError("TLS verification cannot be switched off")
        self._verify = verify
        self._max = max(1, max_connections)
        self._expiry = keepalive_expiry
        self._idle: dict[_Origin, collections.deque[_Connection]] = {}
        self._open = 0
        self._waiters: collections.deque[asyncio.Future[None]] = collections.deque()
        self._closed = False

    def _ssl(self) -> ssl.SSLContext:
        if not isinstance(self._verify, ssl.SSLContext):
            self._verify = httpx.create_ssl_context()
        return self._verify

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        if url.scheme not in ("http", "https"):
            raise httpx.UnsupportedProtocol(f"unsupported URL scheme {url.scheme!r}", request=request)
        if self._closed:
            raise httpx.ConnectError("the transport is closed", request=request)
        port = url.port or (443 if url.scheme == "https" else 80)
        origin: _Origin = (url.scheme, url.host, port)
        timeouts: dict[str, Any] = request.extensions.get("timeout", {})
        conn = await self._acquire(origin, request, timeouts)
        try:
            response = await conn.exchange(request, timeouts)
        except BaseException:
            conn.close()
            self._release(conn)
            raise
        self._release(conn)
        return response

    async def _acquire(
        self, origin: _Origin, request: httpx.Request, timeouts: dict[str, Any]
    ) -> _Connection:
        idle = self._idle.get(origin)
        now = time.monotonic()
        while idle:
            conn = idle.pop()  # the most recently used
            if conn.reusable and now - conn.idle_since < self._expiry:
                conn.busy = True
                return conn
            conn.close()
            self._open -= 1
        self._expire(now)
        if self._open >= self._max:
            await self._wait_for_slot(request, timeouts.get("pool"))
            return await self._acquire(origin, request, timeouts)
        self._open += 1
        try:
            return await self._connect(origin, request, timeouts.get("connect"))
        except BaseException:
            self._open -= 1
            self._notify()
            raise

    async def _wait_for_slot(self, request: httpx.Request, within: float | None) -> None:
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            async with asyncio.timeout(within):
                await waiter
        except TimeoutError:
            raise httpx.PoolTimeout("no connection free in time", request=request) from None
        finally:
            if waiter in self._waiters:
                self._waiters.remove(waiter)

    def _notify(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    def _expire(self, now: float) -> None:
        """Close every idle connection older than ``keepalive_expiry`` or closed by its server."""
        for queue in self._idle.values():
            while queue and (not queue[0].reusable or now - queue[0].idle_since >= self._expiry):
                queue.popleft().close()
                self._open -= 1

    async def _connect(self, origin: _Origin, request: httpx.Request, within: float | None) -> _Connection:
        scheme, host, port = origin
        loop = asyncio.get_running_loop()
        conn = _Connection(origin)
        tls = self._ssl() if scheme == "https" else None
        try:
            async with asyncio.timeout(within):
                await loop.create_connection(
                    lambda: conn, host, port, ssl=tls, server_hostname=host if tls is not None else None
                )
        except TimeoutError:
            raise httpx.ConnectTimeout(f"connecting to {host}:{port} timed out", request=request) from None
        except (OSError, ssl.SSLError) as exc:
            raise httpx.ConnectError(str(exc) or type(exc).__name__, request=request) from None
        conn.busy = True
        return conn

    def _release(self, conn: _Connection) -> None:
        conn.busy = False
        if conn.reusable and not self._closed:
            conn.idle_since = time.monotonic()
            self._idle.setdefault(conn.origin, collections.deque()).append(conn)
        else:
            conn.close()
            self._open -= 1
        self._notify()

    async def aclose(self) -> None:
        self._closed = True
        for queue in self._idle.values():
            while queue:
                queue.pop().close()
                self._open -= 1
        self._idle.clear()


class _NoCookies(httpx.Cookies):
    """A jar that keeps nothing."""

    def extract_cookies(self, response: httpx.Response) -> None:
        return None


class CookielessAsyncClient(httpx.AsyncClient):
    """An :class:`httpx.AsyncClient` that neither keeps nor sends cookies, for APIs that set none (Hacienda's
    recepción API): httpx would otherwise run every response through the standard library's cookie jar."""

    @property
    def cookies(self) -> httpx.Cookies:
        return _NoCookies()

    @cookies.setter
    def cookies(self, cookies: Any) -> None:
        return None
