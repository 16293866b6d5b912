"""Receiving Hacienda's callbacks: a parser for the body and a plain ASGI app that serves it.

When a submission carries ``callbackUrl``, Hacienda POSTs the status JSON (``clave``, ``fecha``,
``ind-estado``/``indEstado``, ``respuesta-xml``/``respuestaXml``) to that URL and retries three times unless
it gets HTTP 200. **The request is not authenticated** (no header, no signature on the JSON), so anyone who
knows the URL can post anything. What makes a callback trustworthy:

* :func:`parse_callback` accepts a body only when it carries a MensajeHacienda whose XAdES signature
  verifies (Hacienda's seal, ``expected_cedula``, chained to the bundled national PKI or the ``TrustStore``
  named) and is about the clave the JSON names; the outcome is taken from that signed document, never from
  the JSON. A signature that is valid but does not chain is refused with :class:`CallbackNotTrustedError`,
  or, with ``allow_untrusted=True``, handed over with ``trusted=False`` so that the caller confirms with
  ``GET /recepcion/{clave}`` (the worker does) and never records a final state from it;
* ``known_claves`` limits it to vouchers this system submitted;
* :func:`callback_url` puts an unguessable per-submission token (HMAC of the clave under a secret) in the URL,
  and :func:`callback_app` refuses requests whose token does not match (before reading the body);
* bodies are size-limited; when in doubt, confirm with ``Client.status``.

:func:`callback_app` is a framework-free ASGI application (serve it with uvicorn, from the ``server`` extra):
it answers 200 only for an accepted callback, after the user's handler (sync or async) returned; 4xx for a
refused one; 500 when the handler failed (Hacienda will retry).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import inspect
import logging
from collections.abc import Awaitable, Callable, Container, MutableMapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from cr_einvoice.core.errors import CrEinvoiceError, ValidationError, VerificationError, XMLParseError
from cr_einvoice.core.jsonsafe import JSONInputError
from cr_einvoice.core.jsonsafe import loads as json_loads
from cr_einvoice.core.secret import Secret
from cr_einvoice.hacienda.environments import HACIENDA_SELLO_CEDULA
from cr_einvoice.hacienda.respuesta import Respuesta, RespuestaMismatchError, decode_respuesta
from cr_einvoice.hacienda.wire import FINAL_ESTADOS, STATUS_ID_RE, StatusAnswer, parse_fecha
from cr_einvoice.signing.xades.verifier import SignatureNotTrustedError

if TYPE_CHECKING:
    from cr_einvoice.signing.xades import TrustStore

__all__ = [
    "DEFAULT_MAX_CALLBACK_BYTES",
    "CallbackError",
    "CallbackNotTrustedError",
    "CallbackResult",
    "callback_app",
    "callback_token",
    "callback_url",
    "parse_callback",
]

log = logging.getLogger("cr_einvoice.hacienda")

#: A MensajeHacienda with many findings is a few tens of KiB; Base64 and JSON add a third.
DEFAULT_MAX_CALLBACK_BYTES = 256 * 1024

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
KnownClaves = Container[str] | Callable[[str], bool]


class CallbackError(CrEinvoiceError):
    """A callback body was refused; ``http_status`` is what to answer (400, 403, 413, 422)."""

    def __init__(self, message: str, *, http_status: int = 400, clave: str | None = None) -> None:
        super().__init__(message)
        self.http_status = http_status
        self.clave = clave


class CallbackNotTrustedError(CallbackError):
    """Signature valid but not trusted: the callback's MensajeHacienda is intact and signed by the certificate
    it carries, but that certificate does not chain to the trust anchors (a forged seal, or the simulator's
    TEST seal without its CA named). Nothing may be recorded from it; confirm with ``GET /recepcion``."""


@dataclass(frozen=True, slots=True)
class CallbackResult:
    """An accepted callback. ``estado`` and ``respuesta`` come from Hacienda's verified signed answer.

    ``trusted`` is False only with ``allow_untrusted=True``, for a signature valid but not trusted: such a
    result must never move a voucher to a final state by itself (confirm with ``GET /recepcion/{clave}``).
    """

    #: As Hacienda sent it: the clave, or ``clave-consecutivoReceptor`` for a MensajeReceptor.
    clave: str
    #: ``aceptado`` / ``rechazado``, from the signed MensajeHacienda.
    estado: str
    #: ``ind-estado`` as sent (lower case; informational).
    ind_estado: str
    fecha: datetime | None
    respuesta: Respuesta
    trusted: bool = True
    #: Why the signature is not trusted (None when trusted).
    trust_problem: str | None = None


def _known(known_claves: KnownClaves, clave: str) -> bool:
    keys = {clave, clave.split("-", 1)[0]}
    if callable(known_claves):
        return any(known_claves(k) for k in keys)
    return any(k in known_claves for k in keys)


def parse_callback(
    body: bytes,
    *,
    trust: TrustStore | None = None,
    expected_cedula: str | None = HACIENDA_SELLO_CEDULA,
    known_claves: KnownClaves | None = None,
    max_bytes: int = DEFAULT_MAX_CALLBACK_BYTES,
    allow_untrusted: bool = False,
) -> CallbackResult:
    """Check and decode a callback body; raise :class:`CallbackError` (with the HTTP status to answer).

    ``trust`` is a :class:`cr_einvoice.signing.xades.TrustStore` (None: the bundled national PKI with
    Hacienda's seal as the leaf); ``known_claves`` a container or a predicate of the claves this system
    submitted. A valid signature that does not chain raises :class:`CallbackNotTrustedError` (403), or, with
    ``allow_untrusted``, returns a result with ``trusted=False`` that must be confirmed before it is acted on.
    """
    if not isinstance(body, bytes | bytearray | memoryview):
        raise CallbackError(f"callback body must be bytes, not {type(body).__name__}")
    raw = bytes(body)
    if len(raw) > max_bytes:
        raise CallbackError(
            f"callback body is {len(raw)} bytes, over the {max_bytes}-byte limit", http_status=413
        )
    try:
        data = json_loads(raw, what="callback body", max_bytes=max_bytes)
    except JSONInputError as exc:
        raise CallbackError(f"callback body is not UTF-8 JSON within the limits: {exc.reason}") from None
    if not isinstance(data, dict):
        raise CallbackError("callback body is not a JSON object")
    answer = StatusAnswer.from_json(data)
    clave = (answer.clave or "").strip()
    if not STATUS_ID_RE.fullmatch(clave):
        raise CallbackError("callback body has no valid clave")
    if known_claves is not None and not _known(known_claves, clave):
        raise CallbackError(f"callback for unknown clave {clave}", http_status=403, clave=clave)
    if answer.estado is None:
        raise CallbackError("callback body has no ind-estado", clave=clave)
    respuesta_data = answer.respuesta_xml
    if respuesta_data is None:
        raise CallbackError(
            f"callback for {clave} carries no signed respuesta-xml; it cannot be trusted (ask status())",
            http_status=422,
            clave=clave,
        )
    trust_problem: str | None = None
    try:
        respuesta = decode_respuesta(
            respuesta_data, trust=trust, verify=True, expected_cedula=expected_cedula, expected_clave=clave
        )
    except SignatureNotTrustedError as exc:
        if not allow_untrusted:
            raise CallbackNotTrustedError(
                f"callback for {clave}: {exc}; nothing recorded (confirm with GET /recepcion/{clave})",
                http_status=403,
                clave=clave,
            ) from None
        # Valid but not trusted: decoded for the caller, who must confirm with GET /recepcion.
        respuesta = replace(decode_respuesta(respuesta_data, verify=False), signature=exc.result)
        trust_problem = str(exc)
    except RespuestaMismatchError as exc:
        raise CallbackError(f"callback for {clave}: {exc}", http_status=403, clave=clave) from None
    except VerificationError as exc:
        raise CallbackError(
            f"callback for {clave}: Hacienda's signature does not verify ({exc})",
            http_status=403,
            clave=clave,
        ) from None
    except (XMLParseError, ValidationError) as exc:
        raise CallbackError(f"callback for {clave}: unusable respuesta-xml ({exc})", clave=clave) from None
    sent = answer.estado
    if sent in FINAL_ESTADOS and sent != respuesta.estado:
        raise CallbackError(
            f"callback for {clave} says {sent!r} but the signed respuesta says {respuesta.estado!r}",
            http_status=422,
            clave=clave,
        )
    return CallbackResult(
        clave=clave,
        estado=respuesta.estado,
        ind_estado=sent,
        fecha=parse_fecha(answer.fecha),
        respuesta=respuesta,
        trusted=trust_problem is None,
        trust_problem=trust_problem,
    )


def _key(secret: Secret | bytes) -> bytes:
    return secret.reveal().encode("utf-8") if isinstance(secret, Secret) else bytes(secret)


def callback_token(secret: Secret | bytes, clave: str) -> str:
    """The unguessable token for ``clave``'s callback URL: HMAC-SHA256 of the clave under ``secret``."""
    if not _key(secret):
        raise ValidationError("the callback secret is empty", path="secret")
    digest = hmac.new(_key(secret), clave.encode("ascii"), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def callback_url(base_url: str, clave: str, secret: Secret | bytes) -> str:
    """``<base_url>/<clave>/<token>``: pass it as ``submit(..., callback_url=...)``; serve ``base_url`` with
    ``callback_app(handler, secret=secret, path_prefix=<base_url's path>)``."""
    return f"{base_url.rstrip('/')}/{clave}/{callback_token(secret, clave)}"


async def _respond(
    send: Send, status: int, text: str, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    body = (text + "\n").encode("utf-8")
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    """The request body, or None when it exceeds ``limit`` (reading stops there)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return b"".join(chunks)
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _path_token(path: str, prefix: str) -> tuple[str, str] | None:
    if not path.startswith(prefix):
        return None
    parts = [p for p in path[len(prefix) :].split("/") if p]
    if len(parts) != 2:
        return None
    return parts[0], parts[1]


def callback_app(
    handler: Callable[[CallbackResult], Any],
    *,
    trust: TrustStore | None = None,
    expected_cedula: str | None = HACIENDA_SELLO_CEDULA,
    known_claves: KnownClaves | None = None,
    secret: Secret | bytes | None = None,
    path_prefix: str = "/",
    max_bytes: int = DEFAULT_MAX_CALLBACK_BYTES,
    allow_untrusted: bool = False,
) -> ASGIApp:
    """An ASGI app receiving Hacienda's callbacks and handing accepted ones to ``handler`` (sync or async).

    With ``secret``, the path must be ``<path_prefix><clave>/<callback_token(secret, clave)>`` (see
    :func:`callback_url`) and the body must be about that clave. Answers: 200 accepted (after ``handler``
    returned), 400/403/413/422 refused, 404 outside ``path_prefix``, 405 not a POST, 500 the handler raised.
    ``allow_untrusted`` hands valid-but-untrusted callbacks to ``handler`` with ``trusted=False`` (see
    :func:`parse_callback`) instead of answering 403.
    """
    prefix = path_prefix if path_prefix.endswith("/") else path_prefix + "/"
    is_async = inspect.iscoroutinefunction(handler)

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        path = str(scope.get("path") or "/")
        if not path.startswith(prefix) and path + "/" != prefix:
            await _respond(send, 404, "not found")
            return
        if scope.get("method") != "POST":
            await _respond(send, 405, "only POST", [(b"allow", b"POST")])
            return
        bound: str | None = None
        if secret is not None:
            pair = _path_token(path, prefix)
            if pair is None or not hmac.compare_digest(pair[1], callback_token(secret, pair[0])):
                log.warning("callback refused (403): bad or missing token in the URL")
                await _respond(send, 403, "forbidden")
                return
            bound = pair[0]
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > max_bytes:
            await _respond(send, 413, "body too large")
            return
        body = await _read_body(receive, max_bytes)
        if body is None:
            await _respond(send, 413, "body too large")
            return
        try:
            result = await asyncio.to_thread(
                parse_callback,
                body,
                trust=trust,
                expected_cedula=expected_cedula,
                known_claves=known_claves,
                max_bytes=max_bytes,
                allow_untrusted=allow_untrusted,
            )
            if bound is not None:
                if bound.split("-", 1)[0] != result.clave.split("-", 1)[0]:
                    raise CallbackError(f"the body is about {result.clave}, not {bound}", http_status=403)
                if bound != result.clave:
                    # A MensajeReceptor's URL is bound to ``clave-consecutivoReceptor`` while the body may
                    # name only the confirmed voucher's clave: the authenticated URL says which it is.
                    result = replace(result, clave=bound)
        except CallbackError as exc:
            log.warning("callback refused (%s): %s", exc.http_status, exc)
            await _respond(send, exc.http_status, str(exc))
            return
        try:
            if is_async:
                await handler(result)
            else:
                outcome = await asyncio.to_thread(handler, result)
                if inspect.isawaitable(outcome):
                    await outcome
        except Exception:
            log.exception(
                "callback handler failed for %s; answering 500 so that Hacienda retries", result.clave
            )
            await _respond(send, 500, "handler failed")
            return
        log.info("callback accepted: %s %s", result.clave, result.estado)
        await _respond(send, 200, "ok")

    return app
