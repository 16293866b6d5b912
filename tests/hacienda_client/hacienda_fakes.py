"""A scriptable fake of Hacienda's IdP and recepción API for the client tests.

One request handler (:meth:`FakeHacienda.handle`) serves three ways: ``httpx.MockTransport`` (sync and async)
and a real ``ThreadingHTTPServer`` on 127.0.0.1 (port 0), so the same behaviour is exercised in memory and
over loopback HTTP.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import re
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import uvicorn
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CLIENT_ID = "api-test"


class FakeClock:
    """A wall clock the tests move by hand."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self.now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.now += seconds


@dataclass
class Reply:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    #: Seconds to wait before answering (loopback server only: triggers client read timeouts).
    delay: float = 0.0
    #: Close the connection without answering (loopback server only).
    drop: bool = False


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def form(self) -> dict[str, str]:
        return {k: v[0] if v else "" for k, v in parse_qs(self.body.decode(), keep_blank_values=True).items()}

    def json(self) -> Any:
        return json.loads(self.body)


class FakeHacienda:
    """Keycloak-style token endpoint + recepción API with counters, scripted replies and a fake clock."""

    def __init__(
        self,
        *,
        clock: FakeClock | None = None,
        users: dict[str, str] | None = None,
        access_lifetime: float = 300.0,
        refresh_lifetime: float | None = 1800.0,
        token_delay: float = 0.0,
    ) -> None:
        self.clock = clock or FakeClock()
        self.users = users if users is not None else {"cpj-3-101-123456@stag.test": "s3cret-pass"}
        self.access_lifetime = access_lifetime
        self.refresh_lifetime = refresh_lifetime
        self.token_delay = token_delay
        self.lock = threading.Lock()
        self.seen: list[Seen] = []
        self.access: dict[str, float] = {}
        self.refresh: dict[str, float | None] = {}
        self.logged_out: list[str] = []
        self.counter = 0
        #: Replies for the next recepción/comprobantes calls, consumed in order (before normal handling).
        self.script: list[Reply] = []
        #: Replies for the next token-endpoint calls.
        self.idp_script: list[Reply] = []
        self.submit_status = 202
        self.received: dict[str, dict[str, Any]] = {}
        self.states: dict[str, dict[str, Any]] = {}
        self.records: list[dict[str, Any]] = []
        self.rate = {"limit": 300, "remaining": 299, "reset": self.clock() + 60}
        self.max_page: int | None = None

    # -- helpers for the tests ---------------------------------------------------------------------------
    def count(self, method: str, path_re: str, **form: str) -> int:
        with self.lock:
            seen = list(self.seen)
        total = 0
        for s in seen:
            if s.method == method and re.fullmatch(path_re, s.path):
                data = s.form() if form else {}
                if all(data.get(k) == v for k, v in form.items()):
                    total += 1
        return total

    @property
    def logins(self) -> int:
        return self.count("POST", r".*/token", grant_type="password")

    @property
    def refreshes(self) -> int:
        return self.count("POST", r".*/token", grant_type="refresh_token")

    def requests_to(self, path_re: str) -> list[Seen]:
        with self.lock:
            return [s for s in self.seen if re.fullmatch(path_re, s.path)]

    def expire_access_tokens(self) -> None:
        with self.lock:
            for key in self.access:
                self.access[key] = 0.0

    def set_state(
        self, clave: str, estado: str, respuesta_xml: bytes | None = None, style: str = "hyphen"
    ) -> None:
        keys = {
            "hyphen": ("ind-estado", "respuesta-xml"),
            "camel": ("indEstado", "respuestaXml"),
            "pascal": ("IndEstado", "RespuestaXml"),
        }[style]
        body: dict[str, Any] = {"clave": clave, "fecha": "2026-03-01T10:00:00-0600", keys[0]: estado}
        if respuesta_xml is not None:
            body[keys[1]] = base64.b64encode(respuesta_xml).decode()
        self.states[clave] = body

    # -- the handler -------------------------------------------------------------------------------------
    def _rate_headers(self) -> dict[str, str]:
        return {
            "X-Ratelimit-Limit": str(self.rate["limit"]),
            "X-Ratelimit-Remaining": str(self.rate["remaining"]),
            "X-Ratelimit-Reset": str(int(self.rate["reset"])),
        }

    def _json(self, status: int, obj: Any, headers: dict[str, str] | None = None) -> Reply:
        h = {"Content-Type": "application/json", **self._rate_headers(), **(headers or {})}
        return Reply(status, h, json.dumps(obj).encode())

    def _new_tokens(self) -> dict[str, Any]:
        self.counter += 1
        now = self.clock()
        access = f"access-{self.counter}-{now:.0f}"
        refresh = f"refresh-{self.counter}"
        self.access[access] = now + self.access_lifetime
        self.refresh[refresh] = None if self.refresh_lifetime is None else now + self.refresh_lifetime
        return {
            "access_token": access,
            "expires_in": self.access_lifetime,
            "refresh_token": refresh,
            "refresh_expires_in": self.refresh_lifetime or 0,
            "token_type": "bearer",
        }

    def handle(self, method: str, url: str, headers: dict[str, str], body: bytes) -> Reply:
        parts = urlsplit(url)
        seen = Seen(
            method, parts.path, parse_qs(parts.query), {k.lower(): v for k, v in headers.items()}, body
        )
        with self.lock:
            self.seen.append(seen)
        if parts.path.endswith("/token"):
            if self.token_delay:
                time.sleep(self.token_delay)
            with self.lock:
                if self.idp_script:
                    return self.idp_script.pop(0)
                return self._token(seen)
        if parts.path.endswith("/logout"):
            form = seen.form()
            with self.lock:
                self.logged_out.append(form.get("refresh_token", ""))
                self.refresh.pop(form.get("refresh_token", ""), None)
            return Reply(204)
        with self.lock:
            auth = seen.headers.get("authorization", "")
            token = auth[7:] if auth.lower().startswith("bearer ") else ""
            expiry = self.access.get(token)
            if expiry is None or self.clock() >= expiry:
                return Reply(401, self._rate_headers())
            if self.script:
                return self.script.pop(0)
            return self._recepcion(seen)

    def _token(self, seen: Seen) -> Reply:
        form = seen.form()
        if form.get("client_id") != CLIENT_ID:
            return self._json(401, {"error": "unauthorized_client", "error_description": "UNKNOWN_CLIENT"})
        grant = form.get("grant_type")
        if grant == "password":
            if self.users.get(form.get("username", "")) != form.get("password"):
                return self._json(
                    401, {"error": "invalid_grant", "error_description": "Invalid user credentials"}
                )
            return self._json(200, self._new_tokens())
        if grant == "refresh_token":
            token = form.get("refresh_token", "")
            if token not in self.refresh:
                return self._json(
                    400, {"error": "invalid_grant", "error_description": "Invalid refresh token"}
                )
            expiry = self.refresh[token]
            if expiry is not None and self.clock() >= expiry:
                return self._json(400, {"error": "invalid_grant", "error_description": "Token is not active"})
            return self._json(200, self._new_tokens())
        return self._json(400, {"error": "unsupported_grant_type"})

    def _recepcion(self, seen: Seen) -> Reply:
        path = seen.path
        if seen.method == "POST" and path.endswith("/recepcion"):
            data = seen.json()
            key = data["clave"] + (f"-{data['consecutivoReceptor']}" if "consecutivoReceptor" in data else "")
            if key in self.received:
                return Reply(
                    400,
                    {"X-Error-Cause": "El comprobante ya fue recibido anteriormente", **self._rate_headers()},
                )
            self.received[key] = data
            self.set_state(key, "recibido")
            return Reply(self.submit_status, {"Location": f"{path}/{key}", **self._rate_headers()})
        match = re.search(r"/recepcion/([0-9-]+)$", path)
        if seen.method == "GET" and match:
            state = self.states.get(match.group(1))
            if state is None:
                return Reply(404, {"X-Error-Cause": "El comprobante no existe", **self._rate_headers()})
            return self._json(200, state)
        if seen.method == "GET" and path.endswith("/comprobantes"):
            offset = int(seen.query.get("offset", ["0"])[0])
            limit = int(seen.query.get("limit", ["50"])[0])
            if self.max_page is not None:
                limit = min(limit, self.max_page)
            items = self.records[offset : offset + limit]
            total = len(self.records)
            if offset == 0 and len(items) == total:
                return self._json(200, items)
            extra = {"Content-Range": f"{offset}-{offset + len(items) - 1}/{total}"}
            if self.max_page is not None:
                extra["Accept-Range"] = str(self.max_page)
            return self._json(206, items, extra)
        match = re.search(r"/comprobantes/([0-9-]+)$", path)
        if seen.method == "GET" and match:
            for record in self.records:
                if record.get("clave") == match.group(1):
                    return self._json(200, record)
            return Reply(404, {"X-Error-Cause": "No existe", **self._rate_headers()})
        return Reply(404)

    # -- adapters ----------------------------------------------------------------------------------------
    def _mock_reply(self, request: httpx.Request, reply: Reply) -> httpx.Response:
        headers = [(k.encode(), v.encode("utf-8")) for k, v in reply.headers.items()]
        return httpx.Response(reply.status, headers=headers, content=reply.body, request=request)

    def transport(self) -> httpx.MockTransport:
        def handler(request: httpx.Request) -> httpx.Response:
            reply = self.handle(request.method, str(request.url), dict(request.headers), request.read())
            return self._mock_reply(request, reply)

        return httpx.MockTransport(handler)

    def async_transport(self) -> httpx.MockTransport:
        async def handler(request: httpx.Request) -> httpx.Response:
            body = await request.aread()
            reply = self.handle(request.method, str(request.url), dict(request.headers), body)
            return self._mock_reply(request, reply)

        return httpx.MockTransport(handler)


def make_handler(fake: FakeHacienda) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            url = f"http://{self.headers.get('Host')}{self.path}"
            reply = fake.handle(self.command, url, dict(self.headers.items()), body)
            if reply.delay:
                time.sleep(reply.delay)
            if reply.drop:
                self.close_connection = True
                self.connection.close()
                return
            try:
                self.send_response(reply.status)
                for key, value in reply.headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True  # the client gave up waiting (a timeout test)

        do_GET = _serve  # noqa: N815
        do_POST = _serve  # noqa: N815

    return Handler


@contextmanager
def loopback(fake: FakeHacienda, tls: ssl.SSLContext | None = None) -> Iterator[str]:
    """Serve ``fake`` on 127.0.0.1 (port 0), over TLS when ``tls`` is given; yields the base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(fake))
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"{'https' if tls else 'http'}://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def run_threads(n: int, target: Callable[[int], None]) -> list[BaseException]:
    errors: list[BaseException] = []
    barrier = threading.Barrier(n)

    def wrapped(i: int) -> None:
        barrier.wait()
        try:
            target(i)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=wrapped, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return errors


@contextmanager
def uvicorn_server(app: Any) -> Iterator[str]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on", access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


def tls_material(directory: Path) -> tuple[Path, ssl.SSLContext]:
    """A private CA (its PEM path is returned) and a server context for 127.0.0.1 signed by it."""
    now = datetime.now(UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "TEST loopback CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    ca_pem = directory / "ca.pem"
    ca_pem.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    chain = directory / "server.pem"
    chain.write_bytes(
        leaf.public_bytes(serialization.Encoding.PEM)
        + key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(chain)
    return ca_pem, context
