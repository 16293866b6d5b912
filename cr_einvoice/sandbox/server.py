"""The HTTP side of the simulator (IdP, recepción API, faults, admin endpoint) and :class:`Simulator`.

One :class:`http.server.ThreadingHTTPServer` on the loopback interface serves everything:

* ``POST /auth/realms/<realm>/protocol/openid-connect/token`` and ``…/logout`` (Keycloak-like IdP);
* ``/recepcion/v1/recepcion`` (POST), ``/recepcion/v1/recepcion/{clave}[-{consecutivoReceptor}]`` (GET),
  ``/recepcion/v1/comprobantes`` and ``/recepcion/v1/comprobantes/{clave}`` (GET);
* ``/_simulator/faults`` (GET/POST) and ``/_simulator/submissions`` (GET; DELETE forgets every submission):
  control and inspection of a simulator running in another process (``cr-einvoice sandbox serve``); never
  part of Hacienda's API.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import logging
import re
import socket
import struct
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from lxml import etree

from cr_einvoice.core.errors import ConfigError, CrEinvoiceError, XMLParseError
from cr_einvoice.core.jsonsafe import loads as json_loads
from cr_einvoice.core.secret import Secret
from cr_einvoice.core.xmlsafe import parse_untrusted
from cr_einvoice.hacienda.environments import Environment
from cr_einvoice.hacienda.wire import Estado, RecepcionRequest, WireFormatError
from cr_einvoice.sandbox.checks import SIGNUM_ONE, VoucherChecker, child_text
from cr_einvoice.sandbox.idp import IdentityProvider, IdPError, TokenClaims
from cr_einvoice.sandbox.processing import Processor
from cr_einvoice.sandbox.public import PUBLIC_PREFIXES, PublicAPI
from cr_einvoice.sandbox.ratelimit import RateDecision, WindowRateLimiter
from cr_einvoice.sandbox.registry import load_registry
from cr_einvoice.sandbox.settings import Faults, SimulatorSettings
from cr_einvoice.sandbox.state import DuplicateSubmission, Submission, SubmissionStore
from cr_einvoice.signing.certs import HACIENDA_SELLO_CEDULA, load_p12
from cr_einvoice.signing.xades import SignatureProfile, Signer, SignerConfig
from cr_einvoice.testing.pki import make_test_pki

__all__ = ["Simulator"]

log = logging.getLogger("cr_einvoice.sandbox")

RECEPCION_PREFIX = "/recepcion/v1/"
ADMIN_PREFIX = "/_simulator/"
ALREADY_RECEIVED = "El comprobante ya fue recibido anteriormente"


def _resend_allowed(sub: Submission) -> bool:
    """Whether a new POST of ``sub`` is processed again: it ended in ``error`` or in a transient rejection."""
    transient = sub.estado == Estado.RECHAZADO and SIGNUM_ONE in (sub.detalle or "")
    return sub.estado == Estado.ERROR or transient


class _DropConnection(Exception):
    """Close the connection without answering."""


class _Reply:
    """A response under construction."""

    def __init__(self, status: int, body: bytes = b"", content_type: str | None = None) -> None:
        self.status = status
        self.body = body
        self.headers: dict[str, str] = {}
        if content_type:
            self.headers["Content-Type"] = content_type

    @classmethod
    def json(cls, status: int, data: object) -> _Reply:
        return cls(status, json.dumps(data, ensure_ascii=False).encode("utf-8"), "application/json")

    @classmethod
    def message(cls, status: int, text: str, cause: str | None = None) -> _Reply:
        reply = cls.json(status, {"message": text})
        if cause is not None:
            reply.headers["X-Error-Cause"] = cause
        return reply


#: A chunk-size line: hex digits, optionally chunk extensions (RFC 9112 7.1).
_CHUNK_SIZE = re.compile(rb"([0-9A-Fa-f]{1,8})[ \t]*(?:;[^\r\n]*)?\r?\n")
#: How long a new connection waits for a free thread before it is answered 503.
_SLOT_WAIT = 2.0
_BUSY = (
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\nRetry-After: 1\r\n\r\n"
)


class _Server(ThreadingHTTPServer):
    """A thread per connection, at most ``max_threads`` at once (a bounded number of threads)."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 1024
    sim: Simulator

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler], max_threads: int):
        super().__init__(address, handler)
        self.slots = threading.BoundedSemaphore(max_threads)

    def server_bind(self) -> None:
        # Answers go out at once (Nagle off; the accepted sockets inherit it): a response written in two
        # parts would otherwise wait for the client's delayed ACK, about 40 ms on every keep-alive request.
        self.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().server_bind()

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self.slots.acquire(timeout=_SLOT_WAIT):
            log.warning("sandbox: every one of its threads is busy; answering 503 to %s", client_address)
            with contextlib.suppress(OSError):
                request.sendall(_BUSY)
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self.slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.slots.release()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that vanished mid-request (reset, broken pipe, idle timeout) is routine for a server:
        log it quietly. Anything else is a simulator bug and is logged with its traceback."""
        exc = sys.exc_info()[1]
        if isinstance(exc, ConnectionError | TimeoutError):
            log.debug("sandbox: client %s went away: %r", client_address, exc)
            return
        log.error("sandbox: error while serving %s", client_address, exc_info=exc)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "cr-einvoice-sandbox"
    sys_version = ""
    timeout = 30.0  # idle keep-alive connections give their thread back after this
    server: _Server
    #: This request's headers and the claims of its token (see _claims).
    _checked: tuple[Any, TokenClaims | None] | None = None

    # -- plumbing ---------------------------------------------------------------------------------------
    def log_message(self, format: str, *args: Any) -> None:
        log.debug("sandbox %s - %s", self.address_string(), format % args)

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")

    def _read_body(self) -> bytes:
        """The request body, at most ``max_body_bytes`` (read before authentication: nothing unbounded)."""
        length_text = self.headers.get("Content-Length")
        encoding = self.headers.get("Transfer-Encoding")
        if encoding is not None:
            self.close_connection = True  # whatever happens, this connection is not reused
            if length_text is not None or encoding.strip().lower() != "chunked":
                raise _BadRequest("Transfer-Encoding no soportado o junto con Content-Length")
            return self._read_chunked()
        if length_text is None:
            return b""
        if not length_text.strip().isdigit():
            self.close_connection = True
            raise _BadRequest("Content-Length inválido")
        length = int(length_text)
        if length > self.server.sim.settings.max_body_bytes:
            self.close_connection = True
            raise _TooLarge()
        return self.rfile.read(length)

    def _read_chunked(self) -> bytes:
        """A chunked body: every size strictly hex, the total and the trailer bounded."""
        limit = self.server.sim.settings.max_body_bytes
        data = bytearray()
        while True:
            match = _CHUNK_SIZE.fullmatch(self.rfile.readline(1024))
            if match is None:
                raise _BadRequest("Tamaño de bloque (chunk) inválido")
            size = int(match.group(1), 16)
            if size == 0:
                for _ in range(64):  # the trailer: a few header lines at most
                    if self.rfile.readline(1024) in (b"\r\n", b"\n", b""):
                        return bytes(data)
                raise _BadRequest("Trailer demasiado largo")
            if len(data) + size > limit:
                raise _TooLarge()
            chunk = self.rfile.read(size)
            if len(chunk) != size or self.rfile.readline(8) not in (b"\r\n", b"\n"):
                raise _BadRequest("Bloque (chunk) incompleto")
            data += chunk

    def _drop(self) -> None:
        """Abort the connection: an RST, no status line."""
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
        except OSError:
            pass

    def _send(self, reply: _Reply) -> None:
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(reply.body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD" and reply.body:
            self.wfile.write(reply.body)

    # -- dispatch ---------------------------------------------------------------------------------------
    def _dispatch(self, method: str) -> None:
        sim = self.server.sim
        path = urlsplit(self.path).path
        if path.startswith(ADMIN_PREFIX):
            kinds: frozenset[str] = frozenset()
        elif path.startswith("/auth/"):
            kinds = frozenset({"idp"})
        elif method == "POST" and path.rstrip("/") == RECEPCION_PREFIX + "recepcion":
            kinds = frozenset({"recepcion", "submit"})
        elif path.startswith(RECEPCION_PREFIX):
            kinds = frozenset({"recepcion"})
        elif path.startswith(PUBLIC_PREFIXES):
            kinds = frozenset({"public"})
        else:
            kinds = frozenset({"other"})
        faults = sim.faults
        try:
            if kinds and faults.take_drop_before(kinds):
                log.info("sandbox fault: dropping %s %s before reading it", method, path)
                self._drop()
                return
            delay = faults.delay_for(kinds) if kinds else 0.0
            if delay > 0:
                time.sleep(min(delay, 600.0))
            body = self._read_body()  # also for a GET that carries one, so keep-alive stays in step
            status = faults.take_failure(kinds) if kinds else None
            if status is not None:
                reply = _Reply.message(status, _phrase(status))
                if "recepcion" in kinds:
                    reply.headers.update(sim.rate_peek(self._rate_key()).headers())
                self._send(reply)
                return
            if "idp" in kinds:
                reply = sim.handle_idp(
                    method, path, self.headers.get("Content-Type", ""), body, client=self.client_address[0]
                )
            elif "recepcion" in kinds:
                reply = self._recepcion(method, path, body)
            elif "public" in kinds:
                status, data, headers = sim.public.handle(
                    method, path, parse_qs(urlsplit(self.path).query), self.client_address[0]
                )
                reply = _Reply(status, data, "application/json")
                reply.headers.update(headers)
            elif not kinds:
                reply = sim.handle_admin(method, path, body)
            else:
                reply = _Reply.message(404, "Not Found")
        except _DropConnection:
            self._drop()
            return
        except _TooLarge:
            reply = _Reply.message(413, "Request Entity Too Large")
        except _BadRequest as exc:
            self.close_connection = True
            reply = _Reply.message(400, str(exc), str(exc))
        except (ConnectionError, TimeoutError):
            self.close_connection = True
            return
        except Exception:
            log.exception("sandbox: %s %s failed", method, path)
            self.close_connection = True
            reply = _Reply.message(500, "Internal server error")
        try:
            self._send(reply)
        except (ConnectionError, TimeoutError):
            self.close_connection = True

    def _rate_key(self) -> str:
        claims = self._claims()
        return f"user:{claims.username}" if claims is not None else f"ip:{self.client_address[0]}"

    def _claims(self) -> TokenClaims | None:
        """The bearer token's claims, checked once per request (a keep-alive connection's next request
        checks its token again: it may have expired or its session ended)."""
        if self._checked is not None and self._checked[0] is self.headers:
            return self._checked[1]
        header = self.headers.get("Authorization", "")
        m = re.fullmatch(r"\s*[Bb][Ee][Aa][Rr][Ee][Rr]\s+(\S+)\s*", header)
        claims = self.server.sim.idp.verify_access(m.group(1)) if m else None
        self._checked = (self.headers, claims)
        return claims

    def _recepcion(self, method: str, path: str, body: bytes) -> _Reply:
        sim = self.server.sim
        decision = sim.rate_hit(self._rate_key())
        if not decision.allowed:
            reply = _too_many(decision)
        else:
            reply = self._recepcion_authorized(method, path, body)
            category = _outcome("submit" if method == "POST" else "get", reply.status)
            reply = sim.rate_table_check(self._rate_key(), category, reply, committed=reply.status == 202)
        reply.headers.update(decision.headers())
        return reply

    def _recepcion_authorized(self, method: str, path: str, body: bytes) -> _Reply:
        sim = self.server.sim
        header = self.headers.get("Authorization")
        if not header or not header.strip():
            reply = _Reply(401)
            reply.headers["WWW-Authenticate"] = 'Bearer realm="recepcion"'
            return reply
        if re.fullmatch(r"\s*[Bb][Ee][Aa][Rr][Ee][Rr]\s+\S+\s*", header) is None:
            digest = base64.b64encode(hashlib.sha256(header.encode("utf-8", "replace")).digest()).decode()
            return _Reply.json(
                403,
                {
                    "message": "Invalid key=value pair (missing equal-sign) in Authorization header (hashed "
                    f"with SHA-256 and encoded with Base64): '{digest}'."
                },
            )
        claims = self._claims()
        if claims is None:
            reply = _Reply(401)
            reply.headers["WWW-Authenticate"] = 'Bearer realm="recepcion", error="invalid_token"'
            return reply
        rest = path[len(RECEPCION_PREFIX) :].strip("/")
        parts = [unquote(p) for p in rest.split("/")] if rest else []
        query = parse_qs(urlsplit(self.path).query)
        if parts == ["recepcion"]:
            if method != "POST":
                return _Reply.message(405, "Method Not Allowed")
            return sim.submit(claims, body, drop_after=self._should_drop_after())
        if len(parts) == 2 and parts[0] == "recepcion":
            if method != "GET":
                return _Reply.message(405, "Method Not Allowed")
            return sim.status(parts[1])
        if parts == ["comprobantes"]:
            if method != "GET":
                return _Reply.message(405, "Method Not Allowed")
            return sim.list_comprobantes(claims, query)
        if len(parts) == 2 and parts[0] == "comprobantes":
            if method != "GET":
                return _Reply.message(405, "Method Not Allowed")
            return sim.get_comprobante(claims, parts[1])
        return _Reply.message(404, "Not Found")

    def _should_drop_after(self) -> bool:
        return self.server.sim.faults.take_drop_after({"recepcion", "submit"})


def _too_many(decision: RateDecision) -> _Reply:
    reply = _Reply.message(429, "Too Many Requests")
    reply.headers["Retry-After"] = str(max(1, decision.reset - int(time.time())))
    return reply


def _outcome(call: str, status: int) -> str | None:
    """The rate-table outcome of an answer (``submit_accepted``, ``get_client_error`` …), or None."""
    if call == "token":
        return {200: "token_ok", 401: "token_auth_failed", 403: "token_auth_failed"}.get(status)
    if call == "submit":
        if status == 202:
            return "submit_accepted"
        if status in (401, 403):
            return "submit_auth_failed"
        return "submit_client_error" if 400 <= status < 500 and status != 429 else None
    if status in (200, 206):
        return "get_ok"
    return "get_client_error" if 400 <= status < 500 and status != 429 else None


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Server Error"


class _BadRequest(Exception):
    pass


class _TooLarge(Exception):
    pass


def _require_schemas() -> None:
    """Refuse to start a simulator that checks schemas without them (every voucher would fail)."""
    from cr_einvoice.core.errors import SchemaNotFoundError
    from cr_einvoice.vouchers.schemas import find_schemas_dir

    try:
        find_schemas_dir()
    except SchemaNotFoundError as exc:
        raise SchemaNotFoundError(
            f"the simulator validates vouchers against the official schemas and cannot find them: {exc} "
            "Or start it without the XSD check: 'cr-einvoice sandbox serve --no-schema-check' "
            "(SimulatorSettings(check_schema=False))."
        ) from None


class Simulator:
    """A local, faithful Hacienda: IdP + recepción API + asynchronous validation + callbacks + faults.

    Use as a context manager (serves in a background thread) or call :meth:`serve_forever`.
    """

    def __init__(self, settings: SimulatorSettings | None = None) -> None:
        self.settings = settings if settings is not None else SimulatorSettings()
        self.settings.validate()
        self.faults: Faults = self.settings.faults
        self.store = SubmissionStore(self.settings.max_submissions)
        self.registry = load_registry(self.settings.registry)
        self.public = PublicAPI(
            self.registry,
            windows=self.settings.public_rate_limits,
            block_seconds=self.settings.public_block_seconds,
        )
        self._limiter = WindowRateLimiter(self.settings.rate_limit_window)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._serving: threading.Thread | None = None
        self._stop_lock = threading.Lock()
        self._processor: Processor | None = None
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self.sello_cert_pem: Path | None = None
        self.sello_ca_cert_pem: Path | None = None
        self.idp: IdentityProvider  # set in start()

    # -- lifecycle --------------------------------------------------------------------------------------
    def start(self) -> Simulator:
        if self._server is not None:
            return self
        s = self.settings
        if s.check_schema:
            _require_schemas()
        sign = self._make_signer()
        checker = VoucherChecker(s, self.store, self.registry if s.registry_checks else None)
        server = _Server((s.host, s.port), _Handler, s.max_threads)
        server.sim = self
        self._server = server
        self.idp = IdentityProvider(
            issuer=self.idp_base + f"/realms/{s.realm}",
            client_id=s.client_id,
            users=s.users,
            access_lifetime=s.access_token_lifetime,
            refresh_lifetime=s.refresh_token_lifetime,
        )
        self.faults._bind_expiry(self.idp.expire_all_access_tokens)
        self._processor = Processor(s, self.store, checker, sign)
        self._processor.start()
        log.info("sandbox listening on %s", self.root_url)
        return self

    def __enter__(self) -> Simulator:
        self.start()
        assert self._server is not None
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="sandbox-http",
            daemon=True,
        )
        self._serving = self._thread
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def serve_forever(self) -> None:
        """Serve in the calling thread until interrupted (Ctrl-C) or :meth:`stop` from another thread."""
        self.start()
        assert self._server is not None
        self._serving = threading.current_thread()
        try:
            self._server.serve_forever(poll_interval=0.5)
        finally:
            self.stop()

    def stop(self) -> None:
        """Stop serving and processing (idempotent, callable from any thread)."""
        with self._stop_lock:
            server, self._server = self._server, None
            serving, self._serving = self._serving, None
            if server is not None:
                if serving is not None and serving is not threading.current_thread():
                    server.shutdown()  # returns once serve_forever has left its loop
                if self._thread is not None:
                    self._thread.join(10)
                    self._thread = None
                server.server_close()
            if self._processor is not None:
                self._processor.stop()
                self._processor = None
            if self._tmp is not None:
                self._tmp.cleanup()
                self._tmp = None

    def _make_signer(self) -> Callable[[bytes], bytes]:
        s = self.settings
        credential = s.sello_credential
        if credential is None:
            p12: Path | bytes | None = s.sello_p12
            pin = Secret.coerce(s.sello_pin)
            if p12 is None:
                if s.certs_dir is not None and (s.certs_dir / "TEST-sello-hacienda.p12").is_file():
                    folder = s.certs_dir
                else:
                    if s.certs_dir is None:
                        self._tmp = tempfile.TemporaryDirectory(prefix="cr-einvoice-sandbox-")
                        folder = Path(self._tmp.name)
                    else:
                        folder = s.certs_dir
                    make_test_pki(folder, pin=pin.reveal())
                p12 = folder / "TEST-sello-hacienda.p12"
                self.sello_cert_pem = folder / "TEST-sello-hacienda.pem"
                self.sello_ca_cert_pem = folder / "TEST-ca-sello-hacienda.pem"
            credential = load_p12(p12 if isinstance(p12, bytes) else str(p12), pin)
        signer = Signer(credential, SignerConfig(profile=SignatureProfile.HACIENDA_RESPONSE))
        return signer.sign

    # -- URLs -------------------------------------------------------------------------------------------
    @property
    def port(self) -> int:
        if self._server is None:
            raise ConfigError("the simulator is not running")
        return int(self._server.server_address[1])

    @property
    def root_url(self) -> str:
        host = self.settings.host
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{self.port}"

    @property
    def idp_base(self) -> str:
        return self.root_url + "/auth"

    @property
    def base_url(self) -> str:
        """The recepción base (ends with ``/recepcion/v1/``)."""
        return self.root_url + RECEPCION_PREFIX

    @property
    def token_url(self) -> str:
        return f"{self.idp_base}/realms/{self.settings.realm}/protocol/openid-connect/token"

    @property
    def logout_url(self) -> str:
        return f"{self.idp_base}/realms/{self.settings.realm}/protocol/openid-connect/logout"

    @property
    def admin_url(self) -> str:
        return self.root_url + ADMIN_PREFIX

    def environment(self) -> Environment:
        """The client's :class:`cr_einvoice.hacienda.Environment` for this simulator."""
        return Environment.custom(
            token_url=self.token_url,
            recepcion_url=self.base_url,
            client_id=self.settings.client_id,
            logout_url=self.logout_url,
            name="sandbox-local",
            sello_cedula=HACIENDA_SELLO_CEDULA,
        )

    # -- helpers for tests ------------------------------------------------------------------------------
    def wait_final(self, key: str, timeout: float = 10.0) -> Submission:
        """Wait (bounded) until the submission reaches aceptado/rechazado/error and return it."""
        deadline = time.monotonic() + timeout
        while True:
            sub = self.store.get(key)
            if sub is not None and (sub.final or sub.estado == Estado.ERROR):
                return sub
            if time.monotonic() >= deadline:
                raise TimeoutError(f"{key} not final after {timeout} s (state {sub.estado if sub else None})")
            time.sleep(0.02)

    def wait_idle(self, timeout: float = 10.0) -> None:
        """Wait (bounded) until no processing or callback is scheduled or running."""
        deadline = time.monotonic() + timeout
        while self._processor is not None and self._processor.pending() > 0:
            if time.monotonic() >= deadline:
                raise TimeoutError(f"simulator still busy after {timeout} s")
            time.sleep(0.02)

    # -- rate limit -------------------------------------------------------------------------------------
    def _limit(self) -> int:
        override = self.faults.rate_limit
        return self.settings.rate_limit if override is None else override

    def rate_hit(self, key: str) -> RateDecision:
        return self._limiter.hit(key, self._limit())

    def rate_peek(self, key: str) -> RateDecision:
        return self._limiter.peek(key, self._limit())

    # -- IdP --------------------------------------------------------------------------------------------
    def rate_table_check(self, key: str, outcome: str | None, reply: _Reply, *, committed: bool) -> _Reply:
        """Count ``reply`` against its outcome's limit (``rate_limit_table``); past the limit answer 429
        instead, unless the request already had its effect (``committed``: a voucher was registered)."""
        table = self.settings.rate_limit_table
        if table is None or outcome is None or outcome not in table:
            return reply
        decision = self._limiter.hit(f"{key}|{outcome}", table[outcome])
        return reply if decision.allowed or committed else _too_many(decision)

    def rate_table_full(self, key: str, outcome: str) -> RateDecision | None:
        """The decision when ``outcome``'s limit is already used up for ``key``, else None."""
        table = self.settings.rate_limit_table
        if table is None or outcome not in table:
            return None
        decision = self._limiter.peek(f"{key}|{outcome}", table[outcome])
        return None if decision.allowed else decision

    def handle_idp(
        self, method: str, path: str, content_type: str, body: bytes, *, client: str = ""
    ) -> _Reply:
        m = re.fullmatch(r"/auth/realms/([^/]+)/protocol/openid-connect/(token|logout)/?", path)
        if m is None:
            return _Reply.json(404, {"error": "RESTEASY003210: Could not find resource for full path"})
        if m.group(1) != self.settings.realm:
            return _Reply.json(404, {"error": "Realm does not exist"})
        if method != "POST":
            return _Reply.json(405, {"error": "HTTP 405 Method Not Allowed"})
        if self.faults.idp_down:
            return _Reply(503, b"Service Unavailable", "text/plain")
        form: dict[str, str] = {}
        if "application/x-www-form-urlencoded" in content_type:
            parsed = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
            form = {k: v[0] for k, v in parsed.items()}
        key = f"user:{form['username']}" if form.get("username") else f"ip:{client}"
        try:
            if m.group(2) == "token":
                # Past the limit the tokens are issued but never delivered (an orphan session, harmless).
                reply = _Reply.json(200, self.idp.token(form))
            else:
                self.idp.logout(form)
                return _Reply(204)
        except IdPError as exc:
            reply = _Reply.json(exc.status, exc.body())
        return self.rate_table_check(key, _outcome("token", reply.status), reply, committed=False)

    # -- recepción --------------------------------------------------------------------------------------
    def submit(self, claims: TokenClaims, body: bytes, *, drop_after: bool = False) -> _Reply:
        def refuse(status: int, cause: str, *, validation: bool = False) -> _Reply:
            if drop_after:  # the fault drops the connection whatever the answer would have been
                raise _DropConnection()
            reply = _Reply.message(
                status, "Ocurrió algún error de validación" if status == 400 else "Forbidden"
            )
            reply.headers["X-Error-Cause"] = cause
            if validation:
                reply.headers["validation-exception"] = cause
            return reply

        try:
            sub = Submission.received(RecepcionRequest.from_body(body), claims.username, time.time())
        except WireFormatError as exc:
            return refuse(400, exc.cause, validation=True)
        allowed = self.settings.user_emisores.get(claims.username)
        if allowed is not None and sub.emisor.numero not in allowed:
            return refuse(403, "El usuario no está autorizado para enviar comprobantes de este emisor")
        try:
            root: etree._Element | None = parse_untrusted(sub.xml, what="comprobante")
        except XMLParseError:
            root = None  # processing rejects it with the parser's message
        if root is not None:
            doc_clave = child_text(root, "Clave")
            if doc_clave is not None and doc_clave != sub.clave:
                return refuse(
                    400, "La clave del comprobante no coincide con la clave indicada en la solicitud"
                )
            doc_receptor = child_text(root, "NumeroConsecutivoReceptor")
            if sub.consecutivo_receptor is not None and doc_receptor not in (None, sub.consecutivo_receptor):
                return refuse(
                    400,
                    "El consecutivoReceptor no coincide con el NumeroConsecutivoReceptor del mensaje",
                )
        # A voucher that ended in ind-estado error or a transient rejection may be sent again ("valorar
        # reenvío"): it is processed anew; any other known clave is a duplicate.
        self.store.forget_retryable(sub.key, _resend_allowed)
        if self.store.get(sub.key) is not None:
            return refuse(400, ALREADY_RECEIVED)
        full = self.rate_table_full(f"user:{claims.username}", "submit_accepted")
        if full is not None:
            if drop_after:
                raise _DropConnection()
            return _too_many(full)
        try:
            self.store.add(sub)
        except DuplicateSubmission:
            return refuse(400, ALREADY_RECEIVED)
        if root is not None and sub.consecutivo_receptor is None:
            consecutivo = child_text(root, "NumeroConsecutivo")
            emisor = child_text(root, "Emisor", "Identificacion", "Numero") or sub.emisor.numero
            if consecutivo:
                self.store.claim_consecutivo(emisor, consecutivo, sub.clave, sub.received_at)
        assert self._processor is not None
        self._processor.received(sub.key, root)
        log.info("sandbox: received %s from %s", sub.key, claims.username)
        if drop_after:
            log.info("sandbox fault: dropping the connection after receiving %s", sub.key)
            raise _DropConnection()
        reply = _Reply(202)
        reply.headers["Location"] = self.base_url + "recepcion/" + sub.key
        return reply

    def status(self, key: str) -> _Reply:
        sub = self.store.get(key)
        if sub is None or time.time() - sub.received_at < self.settings.not_found_for:
            return _Reply.message(404, "Not Found", f"El comprobante {key} no ha sido recibido")
        return _Reply.json(200, sub.answer().to_json(upper_case=self.settings.upper_case_states))

    def list_comprobantes(self, claims: TokenClaims, query: Mapping[str, list[str]]) -> _Reply:
        def number(name: str, default: int) -> int:
            raw = query.get(name, [str(default)])[0]
            if not raw.isdigit():
                raise _BadRequest(f"El parámetro {name} no es válido")
            return int(raw)

        offset, limit = number("offset", 0), number("limit", 50)
        limit = max(1, min(limit, self.settings.page_max))
        items = [s for s in self.store.all() if s.username == claims.username]
        emisor = query.get("emisor", [""])[0]
        if emisor:
            items = [s for s in items if s.emisor.matches_filter(emisor)]
        receptor = query.get("receptor", [""])[0]
        if receptor:
            items = [s for s in items if s.receptor is not None and s.receptor.matches_filter(receptor)]
        items.sort(key=lambda s: s.received_at, reverse=True)
        page = items[offset : offset + limit]
        reply = _Reply.json(206 if len(page) < len(items) else 200, [s.item_json() for s in page])
        reply.headers["Accept-Range"] = str(self.settings.page_max)
        if reply.status == 206:
            reply.headers["Content-Range"] = f"{offset}-{limit}/{len(items)}"
        return reply

    def get_comprobante(self, claims: TokenClaims, key: str) -> _Reply:
        sub = self.store.get(key)
        if sub is None or sub.username != claims.username:
            return _Reply.message(404, "Not Found", f"El comprobante {key} no existe")
        body = sub.item_json()
        if sub.respuesta_xml is not None:
            body["respuesta-xml"] = sub.answer().respuesta_xml
        return _Reply.json(200, body)

    # -- admin ------------------------------------------------------------------------------------------
    def handle_admin(self, method: str, path: str, body: bytes) -> _Reply:
        what = path[len(ADMIN_PREFIX) :].strip("/")
        if what == "faults" and method == "GET":
            return _Reply.json(200, self.faults.snapshot())
        if what == "faults" and method == "POST":
            try:
                self.apply_faults(
                    json_loads(body or b"{}", what="the fault description", max_bytes=64 * 1024)
                )
            except (ValueError, TypeError, CrEinvoiceError) as exc:
                return _Reply.json(400, {"message": str(exc)})
            return _Reply.json(200, self.faults.snapshot())
        if what == "submissions" and method == "DELETE":
            # Like Hacienda's sandbox database, which "se puede limpiar en cualquier momento".
            self.store.clear()
            return _Reply(204)
        if what == "submissions" and method == "GET":
            return _Reply.json(
                200,
                [
                    {
                        "key": s.key,
                        "ind-estado": s.estado,
                        "callback_attempts": [a.status for a in s.callback_attempts],
                        "callback_delivered": s.callback_delivered,
                    }
                    for s in sorted(self.store.all(), key=lambda s: s.received_at)
                ],
            )
        return _Reply.message(404, "Not Found")

    def apply_faults(self, spec: Mapping[str, Any]) -> None:
        """Apply a JSON fault description (the admin endpoint and ``sandbox serve --fault``)::

        {"reset": true, "fail_next": {"n": 2, "status": 503, "target": "submit"}, "error_next": 1,
         "signum_error_next": 1,
         "drop_next": {"n": 1, "after_body": true}, "delay_seconds": 1.5, "idp_down": true,
         "rate_limit": 5, "expire_tokens_now": true}
        """
        if not isinstance(spec, Mapping):
            raise ConfigError("the fault description must be a JSON object")
        for name in ("fail_next", "drop_next"):
            if name in spec and not isinstance(spec[name], Mapping):
                raise ConfigError(f'{name} must be a JSON object such as {{"n": 1}}')
        known = {
            "reset",
            "fail_next",
            "drop_next",
            "error_next",
            "signum_error_next",
            "delay_seconds",
            "idp_down",
            "rate_limit",
            "expire_tokens_now",
        }
        unknown = set(spec) - known
        if unknown:
            raise ConfigError(f"unknown fault settings: {sorted(unknown)} (known: {sorted(known)})")
        f = self.faults
        if spec.get("reset"):
            f.reset()
        if "fail_next" in spec:
            item = spec["fail_next"]
            f.fail_next(int(item.get("n", 1)), int(item.get("status", 503)), target=item.get("target", "any"))
        if "drop_next" in spec:
            item = spec["drop_next"]
            f.drop_next(
                int(item.get("n", 1)),
                after_body=bool(item.get("after_body", False)),
                target=item.get("target", "any"),
            )
        if "error_next" in spec:
            f.error_next(int(spec["error_next"]))
        if "signum_error_next" in spec:
            f.signum_error_next(int(spec["signum_error_next"]))
        if "delay_seconds" in spec:
            f.set_delay(float(spec["delay_seconds"]))
        if "idp_down" in spec:
            f.idp_down = bool(spec["idp_down"])
        if "rate_limit" in spec:
            f.rate_limit = None if spec["rate_limit"] is None else int(spec["rate_limit"])
        if spec.get("expire_tokens_now"):
            f.expire_tokens_now()
