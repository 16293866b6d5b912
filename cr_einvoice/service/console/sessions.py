"""Console sessions: who signed in (a console user), kept in the store so that every process of the service
knows them and they outlive a restart.

The cookie carries an opaque random token (256 bits; ``HttpOnly``, ``SameSite=Strict``, ``Secure``, path
``/console``); the store keeps only its SHA-256, the user, the user's emisor and when the session ends (the
server decides: an old cookie replayed after that is refused). Each request reads the session and its user
again, so disabling a user or signing out ends the session at once. Every form carries the session's CSRF
token, derived from the session's token (an HMAC), so it is never stored and cannot be guessed without the
cookie.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from cr_einvoice.outbox.store import ConsoleSessionRecord, ConsoleUserRecord, Store

__all__ = ["COOKIE", "LOGIN_COOKIE", "Session", "Sessions"]

COOKIE = "cre_session"
#: The sign-in form's CSRF token (double submit: the cookie and the form field must match).
LOGIN_COOKIE = "cre_login"

_TOKEN = re.compile(r"^[A-Za-z0-9_-]{43}$")


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("ascii")).hexdigest()


@dataclass(frozen=True, slots=True)
class Session:
    """A signed-in session as a request sees it (``token``: the cookie's value, never stored)."""

    token: str = field(repr=False)
    username: str
    emisor: str
    expires: datetime

    @property
    def csrf(self) -> str:
        """The token every form of this session carries."""
        return hmac.new(self.token.encode("ascii"), b"cr-einvoice console csrf", hashlib.sha256).hexdigest()

    def csrf_ok(self, presented: str | None) -> bool:
        return presented is not None and hmac.compare_digest(presented.encode(), self.csrf.encode())


class Sessions:
    """Opens, finds and closes console sessions in ``store``; each lasts ``lifetime`` seconds."""

    def __init__(
        self, store: Store, lifetime: float, *, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    ) -> None:
        self.store = store
        self.lifetime = lifetime
        self._clock = clock

    def open(self, user: ConsoleUserRecord) -> Session:
        token = secrets.token_urlsafe(32)
        now = self._clock()
        expires = now + timedelta(seconds=self.lifetime)
        self.store.open_console_session(
            ConsoleSessionRecord(_digest(token), user.username, user.emisor, now, expires)
        )
        return Session(token, user.username, user.emisor, expires)

    def get(self, token: str | None) -> Session | None:
        """The live session of ``token`` whose user is still active, or None."""
        if not token or not _TOKEN.match(token):
            return None
        record = self.store.get_console_session(_digest(token))
        if record is None:
            return None
        user = self.store.get_console_user(record.username)
        if record.expires_at <= self._clock() or user is None or not user.active:
            self.store.close_console_session(record.token_hash)
            return None
        return Session(token, record.username, record.emisor, record.expires_at)

    def close(self, token: str | None) -> None:
        if token and _TOKEN.match(token):
            self.store.close_console_session(_digest(token))
