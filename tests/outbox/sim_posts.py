"""What the simulator was sent: every ``POST /recepcion`` recorded with what the simulator held for its key
before it (None: the first copy), for tests that prove nothing was sent twice."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from test_crash import _key_of

from cr_einvoice.sandbox import Simulator


@contextmanager
def recorded_posts(sim: Simulator) -> Iterator[list[tuple[str, str | None]]]:
    """``(key, estado before)`` per POST while the block runs (key ``?``: a body cut short by a kill)."""
    posts: list[tuple[str, str | None]] = []
    lock = threading.Lock()
    original = sim.submit

    def recording_submit(claims: Any, body: bytes, *, drop_after: bool = False) -> Any:
        try:
            key = _key_of(body)
        except (ValueError, KeyError):
            key = "?"
        before = sim.store.get(key)
        with lock:
            posts.append((key, before.estado if before is not None else None))
        return original(claims, body, drop_after=drop_after)

    sim.submit = recording_submit  # type: ignore[method-assign]
    try:
        yield posts
    finally:
        del sim.submit  # type: ignore[method-assign]
