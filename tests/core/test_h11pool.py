"""The lean HTTP/1.1 transport (transport.h11pool) against a real server on loopback: keep-alive reuse, a
connection the server closed is not reused, the pool bound, and each failure as the httpx exception that
says whether the request may have left."""

from __future__ import annotations

import asyncio
import gzip
import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from cr_einvoice.transport.h11pool import AsyncH11Transport, CookielessAsyncClient


class Server:
    """A raw HTTP/1.1 server on 127.0.0.1 (a thread per connection) whose paths misbehave on purpose."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self.open_now = 0
        self.most_open = 0
        self.lock = threading.Lock()
        self.requests: list[tuple[str, str, bytes]] = []
        self.headers: list[str] = []
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with self.lock:
                self.connections += 1
                self.open_now += 1
                self.most_open = max(self.most_open, self.open_now)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        reader = conn.makefile("rb")
        try:
            while True:
                line = reader.readline()
                if not line:
                    return
                method, path, _ = line.decode().split(" ", 2)
                length = 0
                while (header := reader.readline()) not in (b"\r\n", b""):
                    name, _, value = header.decode().partition(":")
                    self.headers.append(name.lower())
                    if name.lower() == "content-length":
                        length = int(value)
                body = reader.read(length) if length else b""
                with self.lock:
                    self.requests.append((method, path, body))
                if not self._answer(conn, path, body):
                    return
        finally:
            with self.lock:
                self.open_now -= 1
            conn.close()

    def _answer(self, conn: socket.socket, path: str, body: bytes) -> bool:
        """Reply to one request; False closes the connection."""
        if path == "/drop":
            return False
        if path == "/slow":
            time.sleep(1.0)
        if path == "/busy":
            time.sleep(0.1)
        if path == "/chunked":
            conn.sendall(
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
            )
            return True
        if path == "/cookie":
            conn.sendall(b"HTTP/1.1 200 OK\r\nSet-Cookie: session=abc; Path=/\r\nContent-Length: 0\r\n\r\n")
            return True
        if path == "/gzip":
            packed = gzip.compress(b"compressed hello")
            conn.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: "
                + str(len(packed)).encode()
                + b"\r\n\r\n"
                + packed
            )
            return True
        reply = b"echo " + body if body else b"hello"
        close = path == "/close"
        conn.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Length: "
            + str(len(reply)).encode()
            + (b"\r\nConnection: close" if close else b"")
            + b"\r\n\r\n"
            + reply
        )
        if path == "/then-hang-up":  # answer as keep-alive, then close the idle connection
            time.sleep(0.05)
            return False
        return not close

    def stop(self) -> None:
        self.sock.close()


@pytest.fixture
def server() -> Iterator[Server]:
    s = Server()
    yield s
    s.stop()


def _client(server: Server, **options: object) -> httpx.AsyncClient:
    timeout = options.pop("timeout", httpx.Timeout(5.0))
    return httpx.AsyncClient(
        base_url=server.url,
        transport=AsyncH11Transport(**options),  # type: ignore[arg-type]
        timeout=timeout,  # type: ignore[arg-type]
    )


async def test_keep_alive_reuses_one_connection(server: Server) -> None:
    async with _client(server) as client:
        for _ in range(3):
            response = await client.get("/ok")
            assert (response.status_code, response.text) == (200, "hello")
        posted = await client.post("/echo", content=b"x" * 20_000)
        assert posted.content == b"echo " + b"x" * 20_000
        assert response.http_version == "HTTP/1.1"
    assert server.connections == 1
    assert [m for m, _, _ in server.requests] == ["GET", "GET", "GET", "POST"]


async def test_a_connection_the_server_closed_is_not_reused(server: Server) -> None:
    async with _client(server) as client:
        assert (await client.get("/close")).text == "hello"  # Connection: close
        assert (await client.get("/then-hang-up")).text == "hello"  # keep-alive, then closed while idle
        await asyncio.sleep(0.3)  # the close reaches the client while the connection is idle
        assert (await client.get("/ok")).text == "hello"
    assert server.connections == 3


async def test_idle_connections_expire(server: Server) -> None:
    async with _client(server, keepalive_expiry=0.1) as client:
        await client.get("/ok")
        await asyncio.sleep(0.3)
        await client.get("/ok")
    assert server.connections == 2


async def test_chunked_and_compressed_bodies(server: Server) -> None:
    async with _client(server) as client:
        assert (await client.get("/chunked")).text == "hello world"
        assert (await client.get("/gzip")).text == "compressed hello"
        assert (await client.get("/ok")).text == "hello"
    assert server.connections == 1


async def test_the_pool_bounds_open_connections(server: Server) -> None:
    async with _client(server, max_connections=2) as client:
        answers = await asyncio.gather(*(client.get("/busy") for _ in range(6)))
    assert [a.text for a in answers] == ["hello"] * 6
    assert server.most_open <= 2


async def test_a_full_pool_times_out_as_not_sent(server: Server) -> None:
    timeout = httpx.Timeout(5.0, pool=0.1)
    async with _client(server, max_connections=1, timeout=timeout) as client:
        slow = asyncio.ensure_future(client.get("/slow"))
        await asyncio.sleep(0.1)
        with pytest.raises(httpx.PoolTimeout):
            await client.get("/ok")
        assert (await slow).text == "hello"
        assert (await client.get("/ok")).text == "hello"  # the slot came back


async def test_failures_say_whether_the_request_may_have_left(server: Server) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    async with httpx.AsyncClient(transport=AsyncH11Transport(), timeout=2.0) as client:
        with pytest.raises(httpx.ConnectError):  # nothing listens: surely not sent
            await client.get(f"http://127.0.0.1:{closed_port}/")
    async with _client(server, timeout=httpx.Timeout(5.0, read=0.2)) as client:
        with pytest.raises(httpx.ReadTimeout):  # sent, no answer in time
            await client.get("/slow")
        with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):  # read, then the line dropped
            await client.post("/drop", content=b"voucher")
        assert (await client.get("/ok")).text == "hello"  # the broken connections were not pooled
    assert ("POST", "/drop", b"voucher") in server.requests


async def test_a_cancelled_request_does_not_leave_its_connection_in_the_pool(server: Server) -> None:
    async with _client(server, max_connections=1) as client:
        task = asyncio.ensure_future(client.get("/slow"))
        await asyncio.sleep(0.1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert (await client.get("/ok")).text == "hello"  # a new connection, the slot given back
    assert server.connections == 2


async def test_only_http_and_verified_tls() -> None:
    with pytest.raises(ValueError, match="cannot be switched off"):
        AsyncH11Transport(verify=False)
    async with httpx.AsyncClient(transport=AsyncH11Transport()) as client:
        with pytest.raises(httpx.UnsupportedProtocol):
            await client.get("ftp://127.0.0.1/")


async def test_the_cookieless_client_keeps_no_cookie(server: Server) -> None:
    async with CookielessAsyncClient(base_url=server.url, transport=AsyncH11Transport()) as client:
        assert (await client.get("/cookie")).headers["set-cookie"].startswith("session=")
        await client.get("/ok")
        assert not client.cookies
    assert "cookie" not in server.headers
    async with httpx.AsyncClient(base_url=server.url, transport=AsyncH11Transport()) as plain:
        await plain.get("/cookie")
        await plain.get("/ok")
    assert "cookie" in server.headers  # what a plain client would have sent back


def test_it_runs_on_uvloop(server: Server) -> None:
    """The service runs on uvloop, whose transports are not asyncio.Transport subclasses."""
    import uvloop

    async def three() -> list[str]:
        async with _client(server) as client:
            return [(await client.get("/ok")).text for _ in range(3)]

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        assert runner.run(three()) == ["hello"] * 3
    assert server.connections == 1
