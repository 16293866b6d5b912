"""The service's threads: the API's work runs in the service's own pool, with the caller's context
variables, and no more than API_THREADS at once."""

from __future__ import annotations

import asyncio
import contextvars
import threading
import time
from types import SimpleNamespace
from typing import Any, cast

from cr_einvoice.service.context import API_THREADS, ServiceContext
from cr_einvoice.service.settings import ServiceSettings

_SEEN: contextvars.ContextVar[str] = contextvars.ContextVar("seen", default="unset")


def _context() -> ServiceContext:
    return ServiceContext(cast("Any", SimpleNamespace(store=None)), ServiceSettings())


def test_work_runs_in_the_service_threads_with_the_callers_context() -> None:
    ctx = _context()

    async def call() -> tuple[str, str, str]:
        _SEEN.set("the request's")
        return await ctx.in_thread(lambda: (_SEEN.get(), threading.current_thread().name, "done"))

    seen, thread, result = asyncio.run(call())
    assert (seen, result) == ("the request's", "done")
    assert thread.startswith("cr-einvoice-api") and thread != threading.current_thread().name


def test_an_error_reaches_the_route_and_work_runs_side_by_side_up_to_the_limit() -> None:
    ctx = _context()
    running = 0
    most = 0
    lock = threading.Lock()

    def work() -> None:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        time.sleep(0.02)
        with lock:
            running -= 1

    def fail() -> None:
        raise LookupError("no such voucher")

    async def calls() -> BaseException | None:
        await asyncio.gather(*(ctx.in_thread(work) for _ in range(API_THREADS + 10)))
        try:
            await ctx.in_thread(fail)
        except LookupError as exc:
            return exc
        return None

    error = asyncio.run(calls())
    assert isinstance(error, LookupError)
    assert 1 < most <= API_THREADS
