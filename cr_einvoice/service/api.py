"""The ``/v1`` routes of the issuing service (JSON in and out; errors as problem documents).

Authentication: ``Authorization: Bearer crk_...`` (an API key, :mod:`cr_einvoice.service.auth`); each key sees
and issues only its emisor's vouchers (another emisor's voucher is answered 404, as an unknown one). Each key
is rate limited (:class:`~cr_einvoice.service.guards.RateLimiter`). A route hands its work to the thread
pool once (:func:`as_caller`): the key is checked there, with the work, so the event loop never waits for the
store.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from cr_einvoice.core import jsonsafe
from cr_einvoice.core.errors import ValidationError
from cr_einvoice.outbox.store import ReceivedRecord, RespuestaRecord, VoucherRecord
from cr_einvoice.service.context import Caller, ServiceContext
from cr_einvoice.service.problems import HTTPProblem

if TYPE_CHECKING:
    from cr_einvoice.outbox.issuing import IssuedVoucher

__all__ = [
    "JSON_TYPES",
    "XML_TYPES",
    "as_caller",
    "authenticate",
    "context",
    "received_json",
    "routes",
    "verified",
    "voucher_json",
]

_T = TypeVar("_T")

JSON_TYPES = ("application/json",)
XML_TYPES = ("application/xml", "text/xml")


def context(request: Request) -> ServiceContext:
    ctx: ServiceContext = request.app.state.ctx
    return ctx


def _bearer(request: Request) -> str:
    """The API key the request presents (401 without one)."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise HTTPProblem(
            401,
            "unauthenticated",
            "API key required",
            "send 'Authorization: Bearer <API key>' (cr-einvoice apikey create)",
            headers={"WWW-Authenticate": 'Bearer realm="cr-einvoice"'},
        )
    return token.strip()


def verified(ctx: ServiceContext, token: str) -> Caller:
    """The caller whose API key ``token`` is (401 for a key that is unknown, wrong or revoked), once its rate
    allows (429). Reads the store: run it in a thread (a key verified before costs a primary-key read and a
    SHA-256; a new one, scrypt once)."""
    record = ctx.keys.authenticate(token)
    if record is None:
        raise HTTPProblem(
            401,
            "unauthenticated",
            "Invalid API key",
            "the API key is unknown, malformed or revoked",
            headers={"WWW-Authenticate": 'Bearer realm="cr-einvoice", error="invalid_token"'},
        )
    ctx.limiter.check(record.key_id)
    return Caller.of(record)


async def as_caller(request: Request, work: Callable[[Caller], _T]) -> _T:
    """``work(caller)`` run in the service's threads (:meth:`ServiceContext.in_thread`) after the request's
    API key is verified there: one hand-off per request, and the event loop never waits for the store."""
    token = _bearer(request)
    ctx = context(request)
    return await ctx.in_thread(lambda: work(verified(ctx, token)))


async def authenticate(request: Request) -> Caller:
    """The caller of an API request (401 without a valid key), once its rate allows (429)."""
    return await as_caller(request, lambda caller: caller)


def _media(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


def require_media(request: Request, accepted: tuple[str, ...]) -> None:
    if _media(request) not in accepted:
        raise HTTPProblem(
            415,
            "unsupported-media-type",
            "Unsupported media type",
            f"send the body as {' or '.join(accepted)}",
        )


def links(record: VoucherRecord) -> dict[str, str]:
    base = f"/v1/vouchers/{record.key}"
    return {"self": base, "xml": f"{base}/xml", "respuesta": f"{base}/respuesta", "pdf": f"{base}/pdf"}


def respuesta_json(answer: RespuestaRecord) -> dict[str, Any]:
    return {
        "received_at": answer.received_at.isoformat(),
        "source": answer.source,
        "estado": answer.estado,
        "mensaje": answer.mensaje,
        "detalle": answer.detalle,
        "errores": [dict(e) for e in answer.errores],
    }


def voucher_json(record: VoucherRecord, answers: list[RespuestaRecord] | None = None) -> dict[str, Any]:
    body = record.summary() | {"links": links(record)}
    if answers is not None:
        body["respuestas"] = [respuesta_json(a) for a in answers]
        last = next((a for a in reversed(answers) if a.estado), None)
        body["hacienda"] = respuesta_json(last) if last is not None else None
    return body


def received_json(record: ReceivedRecord) -> dict[str, Any]:
    return {
        "clave": record.clave,
        "tipo": record.tipo,
        "emisor": {
            "tipo": record.emisor_tipo,
            "numero": record.emisor_numero,
            "nombre": record.emisor_nombre,
        },
        "fecha_emision": record.fecha_emision.isoformat(),
        "total_comprobante": record.total_comprobante,
        "total_impuesto": record.total_impuesto,
        "signer_subject": record.signer_subject,
        "received_at": record.received_at.isoformat(),
        "decision": record.decision,
        "answer": f"/v1/vouchers/{record.mr_key}" if record.mr_key else None,
    }


# -- vouchers -------------------------------------------------------------------------------------
async def post_voucher(request: Request) -> Response:
    ctx = context(request)
    body = await request.body()
    idempotency_key = request.headers.get("idempotency-key")

    def work(caller: Caller) -> IssuedVoucher:
        require_media(request, JSON_TYPES)
        return ctx.issue(caller, body, idempotency_key)

    issued = await as_caller(request, work)
    ctx.wake()
    out = {
        "key": issued.key,
        "clave": issued.clave,
        "consecutivo": issued.consecutivo,
        "tipo": issued.tipo,
        "state": issued.state.value,
        "fecha_emision": issued.fecha_emision.isoformat(),
        "created": issued.created,
        "links": links(issued),
        "notes": [{"path": p.path, "message": p.message, "code": p.code} for p in issued.notes],
    }
    headers = {"Location": f"/v1/vouchers/{issued.key}"}
    if not issued.created:
        headers["Idempotent-Replayed"] = "true"
    return JSONResponse(out, status_code=201 if issued.created else 200, headers=headers)


def _int_param(request: Request, name: str, default: int) -> int:
    text = request.query_params.get(name)
    if text is None or text == "":
        return default
    try:
        return int(text)
    except ValueError:
        raise ValidationError(f"must be an integer, got {text!r}", path=name) from None


_PAGE_PARAMS = frozenset({"tipo", "since", "until", "cursor", "limit"})


def _page_query(request: Request, filters: frozenset[str]) -> dict[str, Any]:
    """A listing's query parameters as keyword arguments (unknown ones refused, ``limit`` an integer)."""
    q = request.query_params
    unknown = sorted(set(q) - filters - _PAGE_PARAMS)
    if unknown:
        raise ValidationError(f"unknown query parameter {unknown[0]!r}", path=unknown[0])
    names = (filters | _PAGE_PARAMS) - {"limit"}
    return {name: q.get(name) for name in names} | {"limit": _int_param(request, "limit", 50)}


def _page_answer(request: Request, items: list[dict[str, Any]], cursor: str | None) -> Response:
    """One page and, when there is more, the cursor and URL of the next (the same filters)."""
    out: dict[str, Any] = {"items": items, "next_cursor": cursor}
    if cursor:
        kept = {k: v for k, v in request.query_params.items() if k != "cursor"}
        out["next"] = f"{request.url.path}?" + urlencode({**kept, "cursor": cursor})
    return JSONResponse(out)


async def list_vouchers(request: Request) -> Response:
    ctx = context(request)

    def page(caller: Caller) -> tuple[list[VoucherRecord], str | None]:
        return ctx.page(caller, **_page_query(request, frozenset({"state"})))

    rows, cursor = await as_caller(request, page)
    return _page_answer(request, [voucher_json(r) for r in rows], cursor)


async def get_voucher(request: Request) -> Response:
    ctx = context(request)

    def look(caller: Caller) -> dict[str, Any]:
        record = ctx.voucher(caller, request.path_params["key"])
        return voucher_json(record, ctx.respuestas(record))

    return JSONResponse(await as_caller(request, look))


async def get_xml(request: Request) -> Response:
    ctx = context(request)
    record = await as_caller(request, lambda caller: ctx.voucher(caller, request.path_params["key"]))
    return Response(record.signed_xml, media_type="application/xml")


async def get_pdf(request: Request) -> Response:
    """The graphic representation; ``?format=a4`` (default), ``letter``, ``80mm`` or ``58mm``."""
    ctx = context(request)
    key, page = request.path_params["key"], request.query_params.get("format", "a4")
    pdf = await as_caller(request, lambda caller: ctx.render_pdf(caller, key, page))
    return Response(pdf, media_type="application/pdf")


async def get_respuesta(request: Request) -> Response:
    ctx = context(request)
    xml = await as_caller(request, lambda caller: ctx.respuesta_xml(caller, request.path_params["key"]))
    return Response(xml, media_type="application/xml")


async def post_reissue(request: Request) -> Response:
    ctx = context(request)
    issued = await as_caller(request, lambda caller: ctx.reissue(caller, request.path_params["key"]))
    ctx.wake()
    return JSONResponse(voucher_json(issued), status_code=201 if issued.created else 200)


async def post_refresh(request: Request) -> Response:
    """Ask Hacienda for the voucher's status now (needs the worker of this process)."""
    ctx = context(request)
    record = await as_caller(request, lambda caller: ctx.voucher(caller, request.path_params["key"]))
    if ctx.worker is None:
        raise HTTPProblem(
            409, "no-worker", "No worker in this service", "the worker runs as a separate process here"
        )
    updated, estado = await ctx.worker.refresh(record.key)
    answers = await ctx.in_thread(lambda: ctx.respuestas(updated))
    return JSONResponse(voucher_json(updated, answers) | {"ind_estado": estado})


# -- received vouchers ----------------------------------------------------------------------------
async def post_received(request: Request) -> Response:
    """Import a supplier's signed voucher (the XML body); ``?decision=accept|partial|reject&reason=...``
    answers it at once with the taxpayer's MensajeReceptor."""
    ctx = context(request)
    body = await request.body()
    decision = request.query_params.get("decision")
    reason = request.query_params.get("reason")

    def work(caller: Caller) -> dict[str, Any]:
        require_media(request, XML_TYPES)
        received = ctx.import_received(caller, body)
        out: dict[str, Any] = {"received": received_json(received), "answer": None}
        if decision:
            mr = ctx.answer_received(caller, received.clave, decision, reason)
            out["received"] = received_json(ctx.received(caller, received.clave))
            out["answer"] = voucher_json(mr)
        return out

    out = await as_caller(request, work)
    ctx.wake()
    return JSONResponse(out, status_code=201)


async def list_received(request: Request) -> Response:
    """The received vouchers, a page at a time: ``?decision=pending|answered|accept|partial|reject``,
    ``tipo``, ``emisor`` (the supplier), ``since``/``until`` (FechaEmision), ``limit``, ``cursor``."""
    ctx = context(request)

    def page(caller: Caller) -> tuple[list[ReceivedRecord], str | None]:
        return ctx.received_page(caller, **_page_query(request, frozenset({"decision", "emisor"})))

    rows, cursor = await as_caller(request, page)
    return _page_answer(request, [received_json(r) for r in rows], cursor)


async def get_received(request: Request) -> Response:
    ctx = context(request)
    record = await as_caller(request, lambda caller: ctx.received(caller, request.path_params["clave"]))
    return JSONResponse(received_json(record))


def _decision(body: bytes) -> tuple[str, str | None]:
    """``{"decision": "accept|partial|reject", "reason": "..."}`` read from ``body``."""
    try:
        data = jsonsafe.loads(body, what="the decision")
    except jsonsafe.JSONInputError as exc:
        raise ValidationError(exc.reason, path="$") from None
    if not isinstance(data, dict) or set(data) - {"decision", "reason"} or "decision" not in data:
        raise ValidationError('expected {"decision": "accept|partial|reject", "reason": "..."}', path="$")
    decision, reason = data.get("decision"), data.get("reason")
    if not isinstance(decision, str) or not (reason is None or isinstance(reason, str)):
        raise ValidationError("decision and reason are strings", path="decision")
    return decision, reason


async def post_decision(request: Request) -> Response:
    ctx = context(request)
    body = await request.body()
    clave = request.path_params["clave"]

    def work(caller: Caller) -> IssuedVoucher:
        require_media(request, JSON_TYPES)
        decision, reason = _decision(body)
        return ctx.answer_received(caller, clave, decision, reason)

    mr = await as_caller(request, work)
    ctx.wake()
    return JSONResponse(voucher_json(mr), status_code=201)


def routes() -> list[Route]:
    return [
        Route("/v1/vouchers", post_voucher, methods=["POST"]),
        Route("/v1/vouchers", list_vouchers, methods=["GET"]),
        Route("/v1/vouchers/{key}", get_voucher, methods=["GET"]),
        Route("/v1/vouchers/{key}/xml", get_xml, methods=["GET"]),
        Route("/v1/vouchers/{key}/respuesta", get_respuesta, methods=["GET"]),
        Route("/v1/vouchers/{key}/pdf", get_pdf, methods=["GET"]),
        Route("/v1/vouchers/{key}/reissue", post_reissue, methods=["POST"]),
        Route("/v1/vouchers/{key}/refresh", post_refresh, methods=["POST"]),
        Route("/v1/received", post_received, methods=["POST"]),
        Route("/v1/received", list_received, methods=["GET"]),
        Route("/v1/received/{clave}", get_received, methods=["GET"]),
        Route("/v1/received/{clave}/decision", post_decision, methods=["POST"]),
    ]
