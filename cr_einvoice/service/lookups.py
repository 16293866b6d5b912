"""``/v1/lookups``: Hacienda's public data (api.hacienda.go.cr) for the service's callers -- a taxpayer by
identification, a CABYS code or a search, an exchange rate, an exoneration -- through
:class:`~cr_einvoice.hacienda.publicdata.AsyncPublicDataClient` with the outbox store as its cache and the
process's limiter under the public API's limits. Answers are the results' JSON (``as_json``: amounts as
strings), with ``source`` (network or cache) and ``stale``.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from cr_einvoice.core.errors import ValidationError
from cr_einvoice.hacienda.publicdata import AsyncPublicDataClient, as_json
from cr_einvoice.service.api import authenticate
from cr_einvoice.service.problems import HTTPProblem

__all__ = ["routes"]


def _client(request: Request) -> AsyncPublicDataClient:
    client: AsyncPublicDataClient | None = request.app.state.public_data
    if client is None:
        raise HTTPProblem(
            503, "no-public-data", "Public data unavailable", "the service is starting or stopping"
        )
    return client


def _day(text: str | None, name: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValidationError(f"must be a date YYYY-MM-DD, got {text!r}", path=name) from None


def _answer(result: Any) -> Response:
    return JSONResponse(as_json(result))


async def taxpayer(request: Request) -> Response:
    await authenticate(request)
    return _answer(await _client(request).taxpayer(request.path_params["identificacion"]))


async def cabys(request: Request) -> Response:
    await authenticate(request)
    return _answer(await _client(request).cabys(request.path_params["codigo"]))


async def cabys_search(request: Request) -> Response:
    await authenticate(request)
    text = request.query_params.get("q", "").strip()
    if not text:
        raise ValidationError("the text to search for is missing", path="q")
    top_text = request.query_params.get("top")
    if top_text is not None and not top_text.isdigit():
        raise ValidationError(f"must be a positive integer, got {top_text!r}", path="top")
    top = int(top_text) if top_text else None
    return _answer(await _client(request).search_cabys(text, top=top))


async def exchange_rate(request: Request) -> Response:
    await authenticate(request)
    day = _day(request.query_params.get("date"), "date")
    currency = request.path_params["currency"]
    return _answer(await _client(request).exchange_rate(currency, day))


async def exoneration(request: Request) -> Response:
    await authenticate(request)
    return _answer(await _client(request).exoneration(request.path_params["authorization"]))


def routes() -> list[Route]:
    return [
        Route("/v1/lookups/taxpayers/{identificacion}", taxpayer, methods=["GET"]),
        Route("/v1/lookups/cabys", cabys_search, methods=["GET"]),
        Route("/v1/lookups/cabys/{codigo}", cabys, methods=["GET"]),
        Route("/v1/lookups/exchange-rates/{currency}", exchange_rate, methods=["GET"]),
        Route("/v1/lookups/exonerations/{authorization}", exoneration, methods=["GET"]),
    ]
