"""``/v1/lookups``: Hacienda's public data (api.hacienda.go.cr) for the service's callers -- a taxpayer by
identification, a CABYS code or a search, an exchange rate, an exoneration -- through the runtime's
:class:`~cr_einvoice.hacienda.publicdata.PublicDataClient` (``[publicdata]``: its URL, ``offline``,
``max_wait``; the outbox store is its cache; the process's limiter keeps under the public API's limits).
Answers are the results' JSON (``as_json``: amounts as strings), with ``source`` (network or cache) and
``stale``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from cr_einvoice.core.errors import ValidationError
from cr_einvoice.hacienda.publicdata import PublicDataClient, as_json
from cr_einvoice.service.api import as_caller, context

__all__ = ["routes"]


def _day(text: str | None, name: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValidationError(f"must be a date YYYY-MM-DD, got {text!r}", path=name) from None


async def _lookup(request: Request, ask: Callable[[PublicDataClient], Any]) -> Response:
    """``ask(client)`` run in a thread once the caller is authenticated there (the client waits for the
    limiter)."""
    backend = context(request).backend
    result = await as_caller(request, lambda caller: ask(backend.public_data()))
    return JSONResponse(as_json(result))


async def taxpayer(request: Request) -> Response:
    identificacion = request.path_params["identificacion"]
    return await _lookup(request, lambda client: client.taxpayer(identificacion))


async def cabys(request: Request) -> Response:
    codigo = request.path_params["codigo"]
    return await _lookup(request, lambda client: client.cabys(codigo))


async def cabys_search(request: Request) -> Response:
    text = request.query_params.get("q", "").strip()
    top_text = request.query_params.get("top")
    if not text:
        raise ValidationError("the text to search for is missing", path="q")
    if top_text is not None and not top_text.isdigit():
        raise ValidationError(f"must be a positive integer, got {top_text!r}", path="top")
    top = int(top_text) if top_text else None
    return await _lookup(request, lambda client: client.search_cabys(text, top=top))


async def exchange_rate(request: Request) -> Response:
    day = _day(request.query_params.get("date"), "date")
    currency = request.path_params["currency"]
    return await _lookup(request, lambda client: client.exchange_rate(currency, day))


async def exoneration(request: Request) -> Response:
    authorization = request.path_params["authorization"]
    return await _lookup(request, lambda client: client.exoneration(authorization))


def routes() -> list[Route]:
    return [
        Route("/v1/lookups/taxpayers/{identificacion}", taxpayer, methods=["GET"]),
        Route("/v1/lookups/cabys", cabys_search, methods=["GET"]),
        Route("/v1/lookups/cabys/{codigo}", cabys, methods=["GET"]),
        Route("/v1/lookups/exchange-rates/{currency}", exchange_rate, methods=["GET"]),
        Route("/v1/lookups/exonerations/{authorization}", exoneration, methods=["GET"]),
    ]
