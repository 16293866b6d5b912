"""The ``/v1`` routes of the issuing service (JSON in and out; errors as problem documents).

Authentication: ``Authorization: Bearer crk_...`` (an API key, :mod:`cr_einvoice.service.auth`); each key sees
and issues only its emisor's vouchers (another emisor's voucher is answered 404, as an unknown one). Each key
is rate limited (:class:`~cr_einvoice.service.guards.RateLimiter`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from cr_einvoice.core import jsonsafe
from cr_einvoice.core.errors import ValidationError
from cr_einvoice.outbox.store import ReceivedRecord, RespuestaRecord, VoucherRecord
from cr_einvoice.service.auth import Unverified
from cr_einvoice.service.context import Caller, ServiceContext
from cr_einvoice.service.problems import HTTPProblem

__all__ = ["JSON_TYPES", "XML_TYPES", "authenticate", "context", "received_json", "routes", "voucher_json"]

_T = TypeVar("_T")

JSON_TYPES = ("application/json",)
XML_TYPES = ("application/xml", "text/xml")


def context(request: Request) -> ServiceContext:
    ctx: ServiceContext = request.app.state.ctx
    return ctx


async def authenticate(request: Request) -> Caller:
    """The caller of an API request (401 without a valid key), once its rate allows (429)."""
    ctx = context(request)
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise HTTPProblem(
            401,
            "unauthenticated",
            "API key required",
            "send 'Authorization: Bearer <API key>' (cr-einvoice apikey create)",
            headers={"WWW-Authenticate": 'Bearer realm="cr-einvoice"'},
        )
    # A key verified before is recognised in the event loop (one primary-key read); scrypt runs in a thread.
    found = ctx.keys.recognise(token.strip())
    if isinstance(found, Unverified):
        found = await run_in_threadpool(ctx.keys.authenticate, token.strip())
    record = found
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


async def call(func: Callable[..., _T], *args: Any) -> _T:
    return await run_in_threadpool(func, *args)


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
    caller = await authenticate(request)
    require_media(request, JSON_TYPES)
    ctx = context(request)
    body = await request.body()
    issued = await call(ctx.issue, caller, body, request.headers.get("idempotency-key"))
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
    caller = await authenticate(request)
    ctx = context(request)
    query = _page_query(request, frozenset({"state"}))

    def page() -> tuple[list[VoucherRecord], str | None]:
        return ctx.page(caller, **query)

    rows, cursor = await call(page)
    return _page_answer(request, [voucher_json(r) for r in rows], cursor)


async def get_voucher(request: Request) -> Response:
    caller = await authenticate(request)
    ctx = context(request)

    def look() -> dict[str, Any]:
        record = ctx.voucher(caller, request.path_params["key"])
        return voucher_json(record, ctx.respuestas(record))

    return JSONResponse(await call(look))


async def get_xml(request: Request) -> Response:
    caller = await authenticate(request)
    record = await call(context(request).voucher, caller, request.path_params["key"])
    return Response(record.signed_xml, media_type="application/xml")


async def get_pdf(request: Request) -> Response:
    """The graphic representation; ``?format=a4`` (default), ``letter``, ``80mm`` or ``58mm``."""
    caller = await authenticate(request)
    page = request.query_params.get("format", "a4")
    pdf = await call(context(request).render_pdf, caller, request.path_params["key"], page)
    return Response(pdf, media_type="application/pdf")


async def get_respuesta(request: Request) -> Response:
    caller = await authenticate(request)
    xml = await call(context(request).respuesta_xml, caller, request.path_params["key"])
    return Response(xml, media_type="application/xml")


async def post_reissue(request: Request) -> Response:
    caller = await authenticate(request)
    ctx = context(request)
    issued = await call(ctx.reissue, caller, request.path_params["key"])
    ctx.wake()
    return JSONResponse(voucher_json(issued), status_code=201 if issued.created else 200)


async def post_refresh(request: Request) -> Response:
    """Ask Hacienda for the voucher's status now (needs the worker of this process)."""
    caller = await authenticate(request)
    ctx = context(request)
    record = await call(ctx.voucher, caller, request.path_params["key"])
    if ctx.worker is None:
        raise HTTPProblem(
            409, "no-worker", "No worker in this service", "the worker runs as a separate process here"
        )
    updated, estado = await ctx.worker.refresh(record.key)
    return JSONResponse(voucher_json(updated, ctx.respuestas(updated)) | {"ind_estado": estado})


# -- received vouchers ----------------------------------------------------------------------------
async def post_received(request: Request) -> Response:
    """Import a supplier's signed voucher (the XML body); ``?decision=accept|partial|reject&reason=...``
    answers it at once with the taxpayer's MensajeReceptor."""
    caller = await authenticate(request)
    require_media(request, XML_TYPES)
    ctx = context(request)
    body = await request.body()
    decision = request.query_params.get("decision")
    reason = request.query_params.get("reason")

    def work() -> dict[str, Any]:
        received = ctx.import_received(caller, body)
        out: dict[str, Any] = {"received": received_json(received), "answer": None}
        if decision:
            mr = ctx.answer_received(caller, received.clave, decision, reason)
            out["received"] = received_json(ctx.received(caller, received.clave))
            out["answer"] = voucher_json(mr)
        return out

    out = await call(work)
    ctx.wake()
    return JSONResponse(out, status_code=201)


async def list_received(request: Request) -> Response:
    """The received vouchers, a page at a time: ``?decision=pending|answered|accept|partial|reject``,
    ``tipo``, ``emisor`` (the supplier), ``since``/``until`` (FechaEmision), ``limit``, ``cursor``."""
    caller = await authenticate(request)
    ctx = context(request)
    query = _page_query(request, frozenset({"decision", "emisor"}))

    def page() -> tuple[list[ReceivedRecord], str | None]:
        return ctx.received_page(caller, **query)

    rows, cursor = await call(page)
    return _page_answer(request, [received_json(r) for r in rows], cursor)


async def get_received(request: Request) -> Response:
    caller = await authenticate(request)
    record = await call(context(request).received, caller, request.path_params["clave"])
    return JSONResponse(received_json(record))


async def post_decision(request: Request) -> Response:
    caller = await authenticate(request)
    require_media(request, JSON_TYPES)
    ctx = context(request)
    try:
        data = jsonsafe.loads(await request.body(), what="the decision")
    except jsonsafe.JSONInputError as exc:
        raise ValidationError(exc.reason, path="$") from None
    if not isinstance(data, dict) or set(data) - {"decision", "reason"} or "decision" not in data:
        raise ValidationError('expected {"decision": "accept|partial|reject", "reason": "..."}', path="$")
    decision, reason = data.get("decision"), data.get("reason")
    if not isinstance(decision, str) or not (reason is None or isinstance(reason, str)):
        raise ValidationError("decision and reason are strings", path="decision")
    clave = request.path_params["clave"]
    mr = await call(ctx.answer_received, caller, clave, decision, reason)
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
