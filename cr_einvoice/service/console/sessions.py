"""Console sessions: who signed in (with an API key), kept in this process's memory.

A session is a random 256-bit id in a cookie (``HttpOnly``, ``SameSite=Strict``, ``Secure``, path
``/console``) that maps to the key's id and emisor, a CSRF token (every form carries it; a POST without it is
refused) and an expiry. The key itself is never kept: each request reads the key's row again, so revoking the
key ends its console sessions at once. Sessions do not survive a restart (sign in again).
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["COOKIE", "LOGIN_COOKIE", "Session", "Sessions"]

COOKIE = "cre_session"
#: The sign-in form's CSRF token (double submit: the cookie and the form field must match).
LOGIN_COOKIE = "cre_login"


@dataclass(frozen=True, slots=True)
class Session:
    sid: str
    key_id: str
    emisor: str
    csrf: str
    expires: float

    def csrf_ok(self, presented: str | None) -> bool:
        return presented is not None and hmac.compare_digest(presented.encode(), self.csrf.encode())


class Sessions:
    """The console's sessions of this process. Thread-safe."""

    def __init__(self, lifetime: float, *, clock: Callable[[], float] = time.time) -> None:
        self.lifetime = lifetime
        self._clock = clock
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()

    def open(self, key_id: str, emisor: str) -> Session:
        now = self._clock()
        session = Session(
            secrets.token_urlsafe(32), key_id, emisor, secrets.token_urlsafe(32), now + self.lifetime
        )
        with self._lock:
            for sid in [s.sid for s in self._sessions.values() if s.expires <= now]:
                del self._sessions[sid]
            self._sessions[session.sid] = session
        return session

    def get(self, sid: str | None) -> Session | None:
        if not sid:
            return None
        with self._lock:
            session = self._sessions.get(sid)
            if session is not None and session.expires <= self._clock():
                del self._sessions[sid]
                return None
        return session

    def close(self, sid: str | None) -> None:
        with self._lock:
            self._sessions.pop(sid or "", None)
