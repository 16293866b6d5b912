"""One driver for sync and async callers: a conversation is a generator of steps (sans-I/O).

A *flow* is a generator that yields the steps to perform -- a :class:`Sleep`, or a step its driver knows how
to perform (an HTTP attempt, an IdP call) -- and receives each step's reply; when a step fails, the exception
is thrown into the flow, which handles it or lets it propagate. Its return value is the conversation's result.

:func:`drive` performs the steps synchronously, :func:`drive_async` asynchronously; the flow is the same
object, so the sync and async callers of a flow cannot behave differently -- only the performing differs.
:func:`retrying` is the one bounded retry loop written as a flow (the HTTP core and the token manager use it).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Generator
from contextlib import closing
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, cast

__all__ = ["Retry", "Sleep", "Steps", "drive", "drive_async", "retrying"]

S = TypeVar("S")
R = TypeVar("R")
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Sleep:
    """A step of a flow: wait this long before the next step."""

    seconds: float


@dataclass(frozen=True, slots=True)
class Retry:
    """A retry decision: wait ``delay`` seconds, then perform the step again."""

    delay: float


#: A flow whose steps are ``S`` (or pauses), whose replies are ``R`` and whose result is ``T``.
Steps = Generator[S | Sleep, R | None, T]


@dataclass(frozen=True, slots=True)
class _Done(Generic[T]):
    value: T


def _resume(flow: Steps[S, R, T], reply: Any = None, error: Exception | None = None) -> S | Sleep | _Done[T]:
    """Hand the last step's reply (or its failure) to the flow; its next step, or its result."""
    try:
        return flow.throw(error) if error is not None else flow.send(reply)
    except StopIteration as stop:
        return _Done(stop.value)


def drive(flow: Steps[S, R, T], perform: Callable[[S], R], sleep: Callable[[float], None] = time.sleep) -> T:
    """Run ``flow`` to its result, performing each step with ``perform`` (a blocking call)."""
    with closing(flow):
        step = _resume(flow)
        while not isinstance(step, _Done):
            reply, error = None, None
            if isinstance(step, Sleep):
                sleep(step.seconds)
            else:
                try:
                    reply = perform(step)
                except Exception as exc:  # handed to the flow, which re-raises what it cannot use
                    error = exc
            step = _resume(flow, reply, error)
        return step.value


async def drive_async(
    flow: Steps[S, R, T],
    perform: Callable[[S], Awaitable[R]],
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> T:
    """The asynchronous twin of :func:`drive`: ``perform`` and ``sleep`` are awaited."""
    with closing(flow):
        step = _resume(flow)
        while not isinstance(step, _Done):
            reply, error = None, None
            if isinstance(step, Sleep):
                await sleep(step.seconds)
            else:
                try:
                    reply = await perform(step)
                except Exception as exc:  # handed to the flow, like drive() does
                    error = exc
            step = _resume(flow, reply, error)
        return step.value


def retrying(
    step: S,
    decide: Callable[[int, R | Exception], R | Retry],
    pace: Callable[[], float] | None = None,
) -> Steps[S, R, R]:
    """Perform ``step`` until ``decide`` accepts an outcome.

    ``decide(attempt, outcome)`` gets the attempt number (from 1) and the reply or the exception the step
    raised; it returns the reply to keep, a :class:`Retry`, or raises. ``pace`` (a rate limiter) says how long
    to wait before each attempt.
    """
    attempt = 0
    while True:
        attempt += 1
        wait = pace() if pace is not None else 0.0
        if wait > 0:
            yield Sleep(wait)
        outcome: R | Exception
        try:
            outcome = cast(R, (yield step))  # a performed step always replies
        except Exception as exc:
            outcome = exc
        decision = decide(attempt, outcome)
        if not isinstance(decision, Retry):
            return decision
        yield Sleep(decision.delay)
