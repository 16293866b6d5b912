"""Fake Khipu, Belvo and Flow servers for tests, examples and CLI demonstrations.

Each fake is a real HTTP server (``http.server.ThreadingHTTPServer`` on 127.0.0.1, port 0 by default) run in a
background thread by its context manager; point a client at ``fake.base_url``. They implement the documented
behaviour of the endpoints this package uses -- authentication, validation, the synchronous and asynchronous
modes (the fake POSTs the callback or webhook to the URL given), pagination -- and take faults
(``fake.faults``): provider error answers, 5xx bursts, and delays longer than a client's read timeout.

Everything here is made up (identifiers, amounts, the PDF); no real provider data.
"""

from __future__ import annotations

import abc
import base64
import hashlib
import hmac
import json
import logging
import re
import secrets
import threading
import uuid
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx

from cr_einvoice.chile.belvo import INVOICES_PATH
from cr_einvoice.chile.khipu import BILL_DOCUMENT_PATH

__all__ = [
    "BelvoFaults",
    "FakeBelvo",
    "FakeFlow",
    "FakeKhipu",
    "FlowFaults",
    "KhipuFaults",
    "LoopbackReceiver",
    "ReceivedCall",
    "RecordedRequest",
    "dumps",
    "make_pdf",
    "sample_belvo_invoice",
    "sample_flow_invoice",
]

log = logging.getLogger("cr_einvoice.testing.chile_fakes")

Response = tuple[int, dict[str, str], bytes]


def dumps(obj: Any) -> bytes:
    """JSON with ``Decimal`` written as a JSON number, digit for digit (as the providers send amounts)."""

    def enc(value: Any) -> str:
        if isinstance(value, Decimal):
            return format(value, "f")
        if isinstance(value, Mapping):
            return "{" + ",".join(json.dumps(str(k)) + ":" + enc(v) for k, v in value.items()) + "}"
        if isinstance(value, list | tuple):
            return "[" + ",".join(enc(v) for v in value) + "]"
        return json.dumps(value, ensure_ascii=False)

    return enc(obj).encode("utf-8")


def make_pdf(text: str) -> bytes:
    """A small, valid one-page PDF showing ``text`` (ASCII)."""
    safe = (
        text.encode("ascii", "replace").decode().replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
    )
    stream = f"BT /F1 14 Tf 72 720 Td ({safe}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body, parse_float=Decimal)


def _json_response(status: int, payload: Any, headers: Mapping[str, str] | None = None) -> Response:
    return status, {"Content-Type": "application/json", **(headers or {})}, dumps(payload)


class _Server(abc.ABC):
    """Common part: a threaded loopback server dispatching to :meth:`_dispatch`, recording every request."""

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self._host, self._port = host, port
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._background: list[threading.Thread] = []
        self.requests: list[RecordedRequest] = []

    # lifecycle
    def start(self) -> Self:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                log.debug("%s: " + format, type(owner).__name__, *args)

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                recorded = RecordedRequest(
                    self.command,
                    parts.path,
                    dict(parse_qsl(parts.query, keep_blank_values=True)),
                    {k.lower(): v for k, v in self.headers.items()},
                    body,
                )
                with owner._lock:
                    owner.requests.append(recorded)
                try:
                    status, headers, payload = owner._dispatch(recorded, parts.query)
                except Exception:
                    log.exception("fake server failure")
                    status, headers, payload = 500, {"Content-Type": "text/plain"}, b"fake server failure"
                try:
                    self.send_response(status)
                    for key, value in headers.items():
                        self.send_header(key, value)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    if payload and self.command != "HEAD":
                        self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (its read timeout) -- expected with the delay fault

            do_GET = do_POST = do_DELETE = do_PUT = do_PATCH = _serve  # noqa: N815

        httpd = ThreadingHTTPServer((self._host, self._port), Handler)
        httpd.daemon_threads = True
        httpd.block_on_close = False
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, name=type(self).__name__, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        for thread in list(self._background):
            thread.join(timeout=5)
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def origin(self) -> str:
        assert self._httpd is not None, "start the fake first (use it as a context manager)"
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def base_url(self) -> str:
        return self.origin

    # helpers for subclasses
    def _delay(self, seconds: float) -> None:
        if seconds > 0:
            self._stopping.wait(seconds)

    def _later(self, delay: float, action: Callable[[], None]) -> None:
        """Run ``action`` in the background after ``delay`` seconds (callbacks and webhooks)."""

        def run() -> None:
            if self._stopping.wait(delay):
                return
            try:
                action()
            except Exception:
                log.exception("%s: background delivery failed", type(self).__name__)

        thread = threading.Thread(target=run, daemon=True)
        with self._lock:
            self._background.append(thread)
        thread.start()

    @staticmethod
    def _post(url: str, body: bytes, headers: Mapping[str, str]) -> int:
        with httpx.Client(timeout=10.0) as client:
            response = client.post(url, content=body, headers={"Content-Type": "application/json", **headers})
            return response.status_code

    @abc.abstractmethod
    def _dispatch(self, request: RecordedRequest, raw_query: str) -> Response:
        """Answer one recorded request (each fake implements its provider's endpoints)."""


# -- a receiver for callbacks and webhooks -------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ReceivedCall:
    path: str
    headers: dict[str, str]
    body: bytes


class LoopbackReceiver(_Server):
    """A loopback HTTP endpoint that records the POSTs it receives (Khipu callbacks, Belvo webhooks) and
    answers ``status`` (200). :meth:`wait` blocks until ``count`` calls have arrived."""

    def __init__(self, *, status: int = 200, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(host=host, port=port)
        self.status = status
        self.calls: list[ReceivedCall] = []
        self._arrived = threading.Condition(self._lock)

    def url(self, path: str = "/callback") -> str:
        return self.origin + path

    def _dispatch(self, request: RecordedRequest, raw_query: str) -> Response:
        with self._arrived:
            self.calls.append(ReceivedCall(request.path, request.headers, request.body))
            self._arrived.notify_all()
        return self.status, {"Content-Type": "text/plain"}, b"ok"

    def wait(self, count: int = 1, timeout: float = 10.0) -> list[ReceivedCall]:
        with self._arrived:
            if not self._arrived.wait_for(lambda: len(self.calls) >= count, timeout=timeout):
                raise TimeoutError(f"expected {count} call(s), got {len(self.calls)} in {timeout}s")
            return list(self.calls)


# -- Khipu ---------------------------------------------------------------------------------------------------
_KHIPU_EMAIL = re.compile(r"[\w.-]+@(?:[\w-]+\.)+[\w-]{2,4}", re.ASCII)


@dataclass
class KhipuFaults:
    """Faults for :class:`FakeKhipu` (mutate them between calls; they are consumed in order)."""

    #: ``(Code, Type, Description)`` answered (Status ERROR) instead of the next bills.
    errors: deque[tuple[str, str, str]] = field(default_factory=deque)
    #: ``(FailureReason, Message)`` answered in the legacy envelope.
    legacy: deque[tuple[str, str]] = field(default_factory=deque)
    #: Answer ``Status: OK`` with ``Data: null`` this many times.
    no_data: int = 0
    #: Send a Document that is not a PDF this many times.
    not_pdf: int = 0
    #: Answer HTTP 500 (no envelope) this many times.
    http_500: int = 0
    #: Wait this long before answering the bill endpoint (beyond a client's read timeout: a timeout).
    delay_seconds: float = 0.0
    #: Wait this long before POSTing an asynchronous answer to the callback URL.
    callback_delay: float = 0.05


class FakeKhipu(_Server):
    """Khipu's Enel bill endpoint, plus an OAuth 2.0 client-credentials token endpoint at ``token_url``.

    Accepts ``x-api-key: api_key`` or ``Authorization: Bearer <token from token_url>`` (both at once: 400).
    ``bills`` maps an Enel client number (without check digit) to its PDF; unknown numbers get ``E300``.
    """

    def __init__(
        self,
        *,
        api_key: str = "fake-khipu-api-key",
        client_id: str = "fake-khipu-client",
        client_secret: str = "fake-khipu-client-secret",  # noqa: S107 (fake credentials)
        bills: Mapping[str, bytes] | None = None,
        token_lifetime: int = 3600,
        life_span: timedelta = timedelta(minutes=15),
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.api_key = api_key
        self.client_id = client_id
        self.client_secret = client_secret
        self.bills = (
            dict(bills) if bills is not None else {"1234567": make_pdf("Enel boleta 1234567-8 (fake)")}
        )
        self.token_lifetime = token_lifetime
        self.life_span = life_span
        self.faults = KhipuFaults()
        self.tokens: set[str] = set()
        self.callbacks_sent: list[tuple[str, int]] = []

    @property
    def token_url(self) -> str:
        return self.origin + "/oauth/token"

    def revoke_tokens(self) -> None:
        """Make every issued JWT invalid (the next call gets 401 / A000)."""
        with self._lock:
            self.tokens.clear()

    @staticmethod
    def envelope(
        operation_id: str,
        *,
        status: str = "OK",
        data: Any = None,
        error: tuple[str, str, str] | None = None,
        info: str | None = None,
        life_span: str | None = None,
    ) -> dict[str, Any]:
        return {
            "OperationId": operation_id,
            "Status": status,
            "Data": data,
            "AdditionalInformation": info,
            "Error": {"Code": error[0], "Type": error[1], "Description": error[2]} if error else None,
            "LifeSpan": life_span,
        }

    def _dispatch(self, request: RecordedRequest, raw_query: str) -> Response:
        if request.method == "POST" and request.path == "/oauth/token":
            return self._token(request)
        if request.method == "POST" and request.path == BILL_DOCUMENT_PATH:
            return self._bill(request)
        return _json_response(404, {"message": "Not Found"})

    def _token(self, request: RecordedRequest) -> Response:
        form = dict(parse_qsl(request.body.decode("utf-8"), keep_blank_values=True))
        if form.get("grant_type") != "client_credentials":
            return _json_response(400, {"error": "unsupported_grant_type"})
        if form.get("client_id") != self.client_id or not hmac.compare_digest(
            form.get("client_secret", ""), self.client_secret
        ):
            return _json_response(401, {"error": "invalid_client"})
        token = "fake-jwt." + secrets.token_urlsafe(24)
        with self._lock:
            self.tokens.add(token)
        return _json_response(
            200, {"access_token": token, "token_type": "Bearer", "expires_in": self.token_lifetime}
        )

    def _bill(self, request: RecordedRequest) -> Response:
        operation_id = str(uuid.uuid4())
        api_key = request.headers.get("x-api-key")
        authorization = request.headers.get("authorization")
        if api_key and authorization:
            error = ("P001", "DO_NOT_RETRY", "Use the API key or the JWT, not both")
            return _json_response(400, self.envelope(operation_id, status="ERROR", error=error))
        bearer = authorization[7:] if authorization and authorization.startswith("Bearer ") else None
        with self._lock:
            token_ok = bearer is not None and bearer in self.tokens
        if not (api_key == self.api_key or token_ok):
            error = (
                "A000",
                "DO_NOT_RETRY",
                "Problem with the JWT token or API key: expired, revoked or invalid",
            )
            return _json_response(401, self.envelope(operation_id, status="ERROR", error=error))
        faults = self.faults
        self._delay(faults.delay_seconds)
        if faults.http_500 > 0:
            faults.http_500 -= 1
            return 500, {"Content-Type": "text/plain"}, b"Internal Server Error"
        try:
            body = json.loads(request.body)
        except ValueError:
            return _json_response(400, {"message": "malformed payload"})
        data = body.get("RequestData") if isinstance(body, dict) else None
        problems = self._validate(data, body.get("CallbackUrl") if isinstance(body, dict) else None)
        if problems:
            error = ("E400", "DO_NOT_RETRY", "; ".join(problems))
            return _json_response(400, self.envelope(operation_id, status="ERROR", error=error))
        assert isinstance(data, dict) and isinstance(body, dict)
        final = self._final_answer(operation_id, data["ClientIdentifier"])
        callback = body.get("CallbackUrl")
        if callback:
            life = (datetime.now(UTC) + self.life_span).isoformat(timespec="seconds").replace("+00:00", "Z")

            def deliver() -> None:
                status = self._post(callback, dumps(final), {})
                with self._lock:
                    self.callbacks_sent.append((operation_id, status))

            self._later(faults.callback_delay, deliver)
            return _json_response(
                202,
                self.envelope(operation_id, info="Data will be sent to the callback URL.", life_span=life),
            )
        return _json_response(200, final)

    @staticmethod
    def _validate(data: Any, callback: Any) -> list[str]:
        if not isinstance(data, dict):
            return ["RequestData is required"]
        problems = []
        ident = data.get("ClientIdentifier")
        if not isinstance(ident, str) or not ident or len(ident) > 20:
            problems.append("ClientIdentifier is required (at most 20 characters)")
        email = data.get("Email")
        if not isinstance(email, str) or not _KHIPU_EMAIL.fullmatch(email):
            problems.append("Email is not valid")
        if callback is not None and (not isinstance(callback, str) or len(callback) > 255):
            problems.append("CallbackUrl must be at most 255 characters")
        return problems

    def _final_answer(self, operation_id: str, client_identifier: str) -> dict[str, Any]:
        faults = self.faults
        if faults.legacy:
            reason, message = faults.legacy.popleft()
            return {
                "OperationId": operation_id,
                "Status": "ERROR",
                "FailureReason": reason,
                "Message": message,
            }
        if faults.errors:
            return self.envelope(operation_id, status="ERROR", error=faults.errors.popleft())
        if faults.no_data > 0:
            faults.no_data -= 1
            return self.envelope(operation_id, info="The site returned no bill for this client")
        pdf = self.bills.get(client_identifier.split("-", maxsplit=1)[0])
        if pdf is None:
            error = ("E300", "DO_NOT_RETRY", "No bill was found for this client identifier")
            return self.envelope(operation_id, status="ERROR", error=error)
        if faults.not_pdf > 0:
            faults.not_pdf -= 1
            pdf = b"<html>not a pdf</html>"
        document = base64.b64encode(pdf).decode("ascii")
        return self.envelope(
            operation_id, data={"Bill": {"ClientIdentifier": client_identifier, "Document": document}}
        )


# -- Belvo ---------------------------------------------------------------------------------------------------
def sample_belvo_invoice(
    link: str,
    issue_date: date,
    *,
    type: str = "INFLOW",
    folio: int = 1,
    net_amount: Decimal = Decimal("100000.00"),
    invoice_id: str | None = None,
) -> dict[str, Any]:
    """A Chilean invoice shaped like Belvo's (made-up parties, VAT 19 %)."""
    vat = (net_amount * Decimal("0.19")).quantize(Decimal("0.01"))
    total = net_amount + vat
    inflow = type == "INFLOW"
    stamp = datetime.combine(issue_date, datetime.min.time(), UTC) + timedelta(hours=15)
    return {
        "id": invoice_id or str(uuid.uuid5(uuid.NAMESPACE_URL, f"{link}/{type}/{folio}/{issue_date}")),
        "link": link,
        "created_at": stamp.isoformat().replace("+00:00", "Z"),
        "collected_at": stamp.isoformat().replace("+00:00", "Z"),
        "issue_date": issue_date.isoformat(),
        "received_at": (stamp + timedelta(hours=1)).isoformat().replace("+00:00", "Z"),
        "acknowledged_at": None,
        "claim_date": None,
        "type": type,
        "status": "REGISTERED",
        "document_code": 33,
        "category": "Del Giro",
        "folio": str(folio),
        "sender_id": "76123456-7" if inflow else "77654321-K",
        "sender_name": "Proveedora Ejemplo SpA" if inflow else "Mi Empresa Ltda",
        "receiver_id": "77654321-K" if inflow else "76123456-7",
        "receiver_name": "Mi Empresa Ltda" if inflow else "Cliente Ejemplo SpA",
        "currency": "CLP",
        "net_amount": net_amount,
        "vat_amount": vat,
        "total_amount": total,
        "purchase_invoice_details": (
            {
                "vat_refundable_amount": vat,
                "vat_non_refundable_amount": Decimal("0.00"),
                "fixed_asset_amount": 0,
            }
            if inflow
            else None
        ),
        "sales_invoice_details": None if inflow else {"exempt_amount": Decimal("0.00"), "vat_retained": 0},
        "summary_invoice_details": {"exempt_amount": Decimal("0.00"), "other_taxes_amount": Decimal("0.00")},
    }


@dataclass
class BelvoFaults:
    """Faults for :class:`FakeBelvo` (consumed in order)."""

    #: Answer 408 ``request_timeout`` to this many retrievals.
    request_timeout: int = 0
    #: Answer 500 ``unexpected_error`` this many times (any endpoint).
    unexpected_error: int = 0
    #: ``(status, error array)`` answered as is to the next calls.
    errors: deque[tuple[int, list[dict[str, Any]]]] = field(default_factory=deque)
    #: Wait this long before answering (beyond a client's read timeout: a timeout).
    delay_seconds: float = 0.0
    #: Wait this long before POSTing the webhook of an asynchronous retrieval.
    webhook_delay: float = 0.05


class FakeBelvo(_Server):
    """Belvo's Chile invoice endpoints. ``invoices`` are what the institution (SII) has: a retrieval copies
    those of the link within the range into the stored set (``save_data``), which the list, detail and
    delete endpoints serve. An asynchronous retrieval POSTs a webhook to ``webhook_url`` (with the optional
    static ``webhook_authorization`` header)."""

    def __init__(
        self,
        *,
        secret_id: str = "fake-belvo-secret-id",  # noqa: S107 (fake credentials)
        secret_password: str = "fake-belvo-secret-password",  # noqa: S107 (fake credentials)
        invoices: list[dict[str, Any]] | None = None,
        links: set[str] | None = None,
        webhook_url: str | None = None,
        webhook_authorization: str | None = None,
        today: Callable[[], date] = lambda: datetime.now(UTC).date(),
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.secret_id = secret_id
        self.secret_password = secret_password
        self.institution = list(invoices or [])
        self.links = set(links or ()) | {str(inv["link"]) for inv in self.institution}
        self.stored: dict[str, dict[str, Any]] = {}
        self.webhook_url = webhook_url
        self.webhook_authorization = webhook_authorization
        self.today = today
        self.faults = BelvoFaults()
        self.retrievals: list[tuple[str, str, str]] = []
        self.webhooks_sent: list[tuple[str, int]] = []

    def store(self, invoices: list[dict[str, Any]]) -> None:
        with self._lock:
            for invoice in invoices:
                self.stored[str(invoice["id"])] = invoice

    @staticmethod
    def _error(status: int, code: str, message: str, field: str | None = None) -> Response:
        item: dict[str, Any] = {"request_id": uuid.uuid4().hex, "message": message, "code": code}
        if field is not None:
            item["field"] = field
        return _json_response(status, [item])

    def _authorized(self, request: RecordedRequest) -> bool:
        expected = "Basic " + base64.b64encode(f"{self.secret_id}:{self.secret_password}".encode()).decode()
        return hmac.compare_digest(request.headers.get("authorization", ""), expected)

    def _dispatch(self, request: RecordedRequest, raw_query: str) -> Response:
        if not self._authorized(request):
            return self._error(401, "authentication_failed", "Invalid Secret Keys")
        faults = self.faults
        self._delay(faults.delay_seconds)
        if faults.errors:
            status, errors = faults.errors.popleft()
            return _json_response(status, errors)
        if faults.unexpected_error > 0:
            faults.unexpected_error -= 1
            return self._error(
                500,
                "unexpected_error",
                "Belvo is unable to process the request due to an internal system issue or to an "
                "unsupported response from an institution",
            )
        path = request.path
        if path == INVOICES_PATH and request.method == "POST":
            return self._retrieve(request)
        if path == INVOICES_PATH and request.method == "GET":
            return self._list(request)
        if path.startswith(INVOICES_PATH) and path.endswith("/") and path.count("/") == 5:
            invoice_id = path[len(INVOICES_PATH) : -1]
            with self._lock:
                invoice = self.stored.get(invoice_id)
                if invoice is not None and request.method == "DELETE":
                    del self.stored[invoice_id]
            if invoice is None:
                return self._error(404, "not_found", "Not found")
            if request.method == "DELETE":
                return 204, {}, b""
            if request.method == "GET":
                return _json_response(200, invoice)
        return self._error(405, "method_not_allowed", f'Method "{request.method}" not allowed.')

    def _retrieve(self, request: RecordedRequest) -> Response:
        try:
            body = request.json()
        except ValueError:
            return self._error(400, "parse_error", "JSON parse error")
        if not isinstance(body, dict):
            return self._error(400, "invalid", "Invalid data.")
        for name in ("link", "date_from", "date_to"):
            if not body.get(name):
                return self._error(400, "required", "This field is required.", name)
        link = str(body["link"])
        if link not in self.links:
            return self._error(400, "does_not_exist", f'Invalid pk "{link}" - object does not exist.', "link")
        try:
            start, end = date.fromisoformat(body["date_from"]), date.fromisoformat(body["date_to"])
        except (TypeError, ValueError):
            return self._error(400, "invalid", "Date has wrong format. Use YYYY-MM-DD.", "date_from")
        if end > self.today():
            return self._error(400, "invalid", "date_to cannot be in the future.", "date_to")
        if start > end:
            return self._error(400, "invalid", "date_from must be before date_to.", "date_from")
        if (end - start).days + 1 > 365:
            return self._error(400, "invalid", "The date range cannot be longer than 365 days.", "date_to")
        kind = body.get("type")
        if kind not in (None, "INFLOW", "OUTFLOW"):
            return self._error(400, "invalid", f'"{kind}" is not a valid choice.', "type")
        if self.faults.request_timeout > 0:
            self.faults.request_timeout -= 1
            return self._error(
                408,
                "request_timeout",
                "The request timed out, you can retry asking for less data by changing your query parameters",
            )
        self.retrievals.append((link, start.isoformat(), end.isoformat()))
        found = sorted(
            (
                inv
                for inv in self.institution
                if inv["link"] == link
                and start <= date.fromisoformat(inv["issue_date"]) <= end
                and (kind is None or inv["type"] == kind)
            ),
            key=lambda inv: (inv["issue_date"], inv["id"]),
        )
        save = body.get("save_data", True) is not False
        if save:
            self.store(found)
        if request.headers.get("x-belvo-request-mode") == "async":
            request_id = uuid.uuid4().hex
            self._later(self.faults.webhook_delay, lambda: self._send_webhook(link, request_id, found))
            return _json_response(202, {"request_id": request_id})
        return _json_response(201 if save else 200, found)

    def _send_webhook(self, link: str, request_id: str, found: list[dict[str, Any]]) -> None:
        if not self.webhook_url:
            return
        dates = sorted(inv["issue_date"] for inv in found)
        payload = {
            "webhook_id": uuid.uuid4().hex,
            "webhook_type": "INVOICES",
            "webhook_code": "historical_update",
            "process_type": "historical",
            "link_id": link,
            "request_id": request_id,
            "external_id": None,
            "data": {
                "total_invoices": len(found),
                "first_invoice_date": dates[0] if dates else None,
                "last_invoice_date": dates[-1] if dates else None,
            },
        }
        headers = {"Authorization": self.webhook_authorization} if self.webhook_authorization else {}
        status = self._post(self.webhook_url, dumps(payload), headers)
        with self._lock:
            self.webhooks_sent.append((request_id, status))

    def _list(self, request: RecordedRequest) -> Response:
        query = request.query
        try:
            page = int(query.get("page", "1"))
            page_size = min(1000, max(1, int(query.get("page_size", "100"))))
        except ValueError:
            return self._error(404, "not_found", "Invalid page.")
        with self._lock:
            rows = [
                inv
                for inv in self.stored.values()
                if ("link" not in query or inv["link"] == query["link"])
                and ("id" not in query or inv["id"] == query["id"])
            ]
        rows.sort(key=lambda inv: (inv["issue_date"], inv["id"]))
        pages = max(1, -(-len(rows) // page_size))
        if page < 1 or page > pages:
            return self._error(404, "not_found", "Invalid page.")

        def page_url(number: int) -> str:
            return f"{self.origin}{INVOICES_PATH}?" + urlencode({**query, "page": str(number)})

        chunk = rows[(page - 1) * page_size : page * page_size]
        return _json_response(
            200,
            {
                "count": len(rows),
                "next": page_url(page + 1) if page < pages else None,
                "previous": page_url(page - 1) if page > 1 else None,
                "results": chunk,
            },
        )


# -- Flow ----------------------------------------------------------------------------------------------------
def sample_flow_invoice(invoice_id: int = 1034, *, status: int = 0) -> dict[str, Any]:
    """A Flow subscription invoice shaped like ``invoice/get``'s answer (made-up values)."""
    return {
        "id": invoice_id,
        "subscriptionId": "sus_azcyjj9ycd",
        "customerId": "cus_eblcbsua2g",
        "created": "2018-06-26 17:29:06",
        "subject": "PlanPesos - periodo 2018-06-27 / 2018-07-26",
        "currency": "CLP",
        "amount": Decimal("20000"),
        "period_start": "2018-06-27 00:00:00",
        "period_end": "2018-07-26 00:00:00",
        "attemp_count": 1,
        "attemped": 1,
        "next_attemp_date": "2018-07-27 00:00:00",
        "due_date": "2018-06-30 00:00:00",
        "status": status,
        "error": 1,
        "errorDate": "2018-06-28 00:00:00",
        "errorDescription": "The minimum amount is 350 CLP",
        "items": [
            {"id": 567, "subject": "PlanPesos", "type": 1, "currency": "CLP", "amount": Decimal("20000")},
            {"id": 568, "subject": "Descuento", "type": 2, "currency": "CLP", "amount": Decimal("-1500.50")},
        ],
        "payment": None,
        "outsidePayment": None,
        "paymentLink": f"https://sandbox.flow.cl/app/web/pay.php?token=FAKE{invoice_id}",
        "chargeAttemps": [
            {
                "id": 901,
                "date": "2018-06-28 15:03:33",
                "customerId": "cus_eblcbsua2g",
                "invoiceId": invoice_id,
                "commerceOrder": "1883",
                "currency": "CLP",
                "amount": Decimal("18499.5000"),
                "errorCode": 1605,
                "errorDescription": "This commerceOrder 1883 has been previously paid",
            }
        ],
    }


@dataclass
class FlowFaults:
    """Faults for :class:`FakeFlow`."""

    #: Answer HTTP 500 this many times.
    http_500: int = 0
    #: Wait this long before answering (beyond a client's read timeout: a timeout).
    delay_seconds: float = 0.0


class FakeFlow(_Server):
    """Flow's ``GET /invoice/get`` and ``POST /invoice/cancel``, checking ``apiKey`` and the signature ``s``.

    ``base_url`` ends with ``/api`` like Flow's. Wrong signature: 400 code 108; unknown apiKey or invoice:
    401 (Flow's "error de negocio").
    """

    def __init__(
        self,
        *,
        api_key: str = "fake-flow-api-key",
        secret_key: str = "fake-flow-secret-key",  # noqa: S107 (fake credentials)
        invoices: Mapping[int, dict[str, Any]] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.api_key = api_key
        self.secret_key = secret_key
        self.invoices = dict(invoices) if invoices is not None else {1034: sample_flow_invoice(1034)}
        self.faults = FlowFaults()

    @property
    def base_url(self) -> str:
        return self.origin + "/api"

    def _signature_ok(self, params: Mapping[str, str]) -> bool:
        # Written independently of cr_einvoice.chile.flow.sign_params, so the fake can catch a broken signer.
        message = "".join(f"{k}{params[k]}" for k in sorted(k for k in params if k != "s"))
        digest = hmac.new(self.secret_key.encode(), message.encode(), hashlib.sha256).hexdigest()
        return hmac.compare_digest(digest, params.get("s", ""))

    def _dispatch(self, request: RecordedRequest, raw_query: str) -> Response:
        self._delay(self.faults.delay_seconds)
        if self.faults.http_500 > 0:
            self.faults.http_500 -= 1
            return 500, {"Content-Type": "text/html"}, b"<html>Internal Server Error</html>"
        if request.method == "GET":
            params = dict(parse_qsl(raw_query, keep_blank_values=True))
        else:
            params = dict(parse_qsl(request.body.decode("utf-8"), keep_blank_values=True))
        service = request.path.removeprefix("/api/")
        if (request.method, service) not in (("GET", "invoice/get"), ("POST", "invoice/cancel")):
            return _json_response(404, {"code": 404, "message": "Service not found"})
        if "apiKey" not in params or "s" not in params:
            return _json_response(400, {"code": 400, "message": "There's some missing params"})
        if params["apiKey"] != self.api_key:
            return _json_response(401, {"code": 401, "message": "Invalid apiKey"})
        if not self._signature_ok(params):
            return _json_response(400, {"code": 108, "message": "Invalid Signature"})
        try:
            invoice_id = int(params.get("invoiceId", ""))
        except ValueError:
            return _json_response(400, {"code": 400, "message": "invoiceId must be a number"})
        with self._lock:
            invoice = self.invoices.get(invoice_id)
            if invoice is not None and service == "invoice/cancel":
                if invoice["status"] != 0:
                    return _json_response(401, {"code": 401, "message": "The invoice is not pending"})
                invoice = {**invoice, "status": 2, "paymentLink": None}
                self.invoices[invoice_id] = invoice
        if invoice is None:
            return _json_response(401, {"code": 401, "message": f"Invoice {invoice_id} not found"})
        return _json_response(200, invoice)
