"""The ASGI application of ``cr-einvoice serve``: the ``/v1`` API, the console (``console=False``: none),
Hacienda's callbacks, health.

Built on Starlette (routes, requests, the thread pool for the synchronous store and signer) with Jinja2 for
the console; served by uvicorn (:mod:`cr_einvoice.service.server`). :func:`create_app` takes a
:class:`~cr_einvoice.service.backend.Backend` (a :class:`~cr_einvoice.app.runtime.Runtime`)::

    app = create_app(runtime, ServiceSettings(), run_worker=True)

With ``run_worker`` the worker runs in the same process (started and stopped with the application: issuing
wakes it at once); without, workers run as separate processes (``cr-einvoice worker``; ``cr-einvoice serve``
runs one as its child by default, ``worker_process``) over the same store. Hacienda's callbacks are received
at ``/hacienda/callbacks/`` by a worker object of this process.

No CORS headers are sent (browsers refuse cross-origin calls); no request body larger than
``max_body_bytes`` reaches a route (413).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Mapping
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from cr_einvoice.core.errors import ConfigError, CrEinvoiceError
from cr_einvoice.service import api, lookups
from cr_einvoice.service.context import ServiceContext
from cr_einvoice.service.guards import BodyLimit, Receive, Scope, Send, send_problem
from cr_einvoice.service.problems import PROBLEM_TYPE, HTTPProblem, problem_body, problem_of
from cr_einvoice.service.settings import ServiceSettings

if TYPE_CHECKING:
    from cr_einvoice.service.backend import Backend

__all__ = ["CALLBACK_PATH", "ServiceApp", "create_app"]

log = logging.getLogger("cr_einvoice.service")

#: Where Hacienda's callbacks arrive (``[hacienda] callback_url`` should end with it).
CALLBACK_PATH = "/hacienda/callbacks/"


def _problem_response(problem: HTTPProblem, request: Request) -> Response:
    return Response(
        problem_body(problem, request.url.path),
        status_code=problem.status,
        media_type=PROBLEM_TYPE,
        headers=problem.headers,
    )


async def _on_problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPProblem)
    console = request.app.state.console
    if console is not None and request.url.path.startswith("/console"):
        response: Response = console.problem_page(request, exc)
        return response
    return _problem_response(exc, request)


async def _on_library_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, CrEinvoiceError)
    problem = problem_of(exc)
    if problem.status >= 500:
        log.error("%s %s failed: %s", request.method, request.url.path, exc)
    return await _on_problem(request, problem)


async def _on_http(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    titles = {404: ("not-found", "Not found"), 405: ("method-not-allowed", "Method not allowed")}
    slug, title = titles.get(exc.status_code, ("http-error", "HTTP error"))
    headers = dict(exc.headers or {})
    return await _on_problem(
        request, HTTPProblem(exc.status_code, slug, title, str(exc.detail), headers=headers)
    )


async def _on_unexpected(request: Request, exc: Exception) -> Response:
    log.exception("%s %s failed", request.method, request.url.path)
    problem = HTTPProblem(500, "internal", "Internal error", "the request failed; the service log says why")
    return _problem_response(problem, request)


async def healthz(request: Request) -> Response:
    """The process answers (liveness)."""
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    """The store answers and, when the worker runs here, it is running (readiness)."""
    ctx: ServiceContext = request.app.state.ctx
    checks: dict[str, Any] = {}
    ready = True
    try:
        counts = await run_in_threadpool(ctx.store.count_by_state)
        checks["store"] = "ok"
        checks["pending"] = sum(n for state, n in counts.items() if state.value in ("signed", "sending"))
    except CrEinvoiceError as exc:
        checks["store"] = str(exc)
        ready = False
    running = request.app.state.worker_task
    process = request.app.state.worker_process
    if request.app.state.run_worker:
        alive = running is not None and not running.done()
        checks["worker"] = "running" if alive else "stopped"
        ready = ready and alive
    elif process is not None:
        shown = process()
        checks["worker"] = shown or "stopped"
        ready = ready and shown is not None
    else:
        checks["worker"] = "separate process"
    return JSONResponse(
        {"status": "ready" if ready else "not ready", **checks}, status_code=200 if ready else 503
    )


async def openapi_json(request: Request) -> Response:
    from cr_einvoice.service.openapi import openapi_document

    return JSONResponse(openapi_document())


class ServiceApp:
    """The outermost ASGI callable: the body limit, then Hacienda's callbacks or the Starlette routes."""

    def __init__(self, starlette: Starlette, ctx: ServiceContext) -> None:
        self.starlette = starlette
        self.ctx = ctx
        self._inner = BodyLimit(self._dispatch, ctx.settings.max_body_bytes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._inner(scope, receive, send)

    async def _dispatch(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and str(scope.get("path", "")).startswith(CALLBACK_PATH):
            receiver = self.ctx.callbacks
            if receiver is None:
                problem = HTTPProblem(
                    503, "no-worker", "Callbacks are not received here", "no worker in this process"
                )
                await send_problem(send, problem, str(scope.get("path")))
                return
            await receiver(scope, receive, send)
            return
        await self.starlette(scope, receive, send)


def create_app(
    backend: Backend,
    settings: ServiceSettings | None = None,
    *,
    run_worker: bool = True,
    worker_options: Mapping[str, Any] | None = None,
    console: bool = True,
    worker_process: Callable[[], str | None] | None = None,
) -> ServiceApp:
    """The service over ``backend``; ``worker_options`` are passed to ``backend.worker(...)`` (for example
    ``callback_url`` and ``callback_secret``). ``worker_process``: the worker runs as a process of this
    service (:class:`cr_einvoice.app.workerproc.WorkerProcess`); it tells what runs (None: nothing now), for
    ``/readyz``, and the worker object here only receives callbacks and asks for one voucher's status."""
    ctx = ServiceContext(backend, settings or ServiceSettings())
    options = dict(worker_options or {})

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        stop = asyncio.Event()
        async with contextlib.AsyncExitStack() as stack:
            try:
                worker = await stack.enter_async_context(backend.worker(**options))
            except ConfigError as exc:
                if run_worker:
                    raise
                log.warning("no callback receiver in this process: %s", exc)
                worker = None
            if worker is not None:
                ctx.callbacks = worker.callback_app(path_prefix=CALLBACK_PATH)
            if (run_worker or worker_process is not None) and worker is not None:
                ctx.worker = worker
            if run_worker and worker is not None:
                app.state.worker_task = asyncio.create_task(worker.run_forever(stop))
            try:
                yield
            finally:
                stop.set()
                task = app.state.worker_task
                if task is not None:
                    await asyncio.gather(task, return_exceptions=True)
                ctx.worker = None
                ctx.callbacks = None

    routes: list[Any] = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/openapi.json", openapi_json, methods=["GET"]),
        *api.routes(),
        *lookups.routes(),
    ]
    shown = None
    if console:
        from cr_einvoice.service.console.routes import Console

        shown = Console(ctx)
        routes.extend(shown.routes())
    starlette = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={
            HTTPProblem: _on_problem,
            CrEinvoiceError: _on_library_error,
            HTTPException: _on_http,
            Exception: _on_unexpected,
        },
    )
    starlette.state.ctx = ctx
    starlette.state.console = shown
    starlette.state.run_worker = run_worker
    starlette.state.worker_process = worker_process
    starlette.state.worker_task = None
    return ServiceApp(starlette, ctx)
