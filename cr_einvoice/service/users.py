"""The web console's users: people who sign in to ``/console`` with a username and a password, each scoped to
one emisor (``cr-einvoice user create|list|disable``).

Only a slow hash of each password is kept -- scrypt with a random salt, made and checked by the same helpers
as the API keys' secrets (:func:`~cr_einvoice.service.auth.hash_secret`,
:func:`~cr_einvoice.service.auth.check_secret`, compared in constant time). A sign-in with an unknown username
costs the same scrypt as one with a wrong password, so the time taken does not tell which usernames
exist.

Repeated failures lock the account: after :data:`FREE_FAILURES` failed sign-ins in a row, the account is
locked for :data:`FIRST_LOCK`, twice as long after each further failure (at most :data:`MAX_LOCK`); while it
is locked no password is checked. The count and the lock live in the store, so every process of the service
sees them; a good sign-in forgets them. (The console also slows down an address that fails too often:
:mod:`cr_einvoice.service.console.routes`.)
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cr_einvoice.core.errors import Problem, ValidationError
from cr_einvoice.core.secret import Secret
from cr_einvoice.outbox.store import ConsoleUserRecord, Store
from cr_einvoice.service.auth import check_secret, hash_secret

__all__ = [
    "FIRST_LOCK",
    "FREE_FAILURES",
    "MAX_LOCK",
    "MIN_PASSWORD",
    "ConsoleUsers",
    "SignIn",
    "normal_username",
]

log = logging.getLogger("cr_einvoice.service")

_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._@-]{2,63}$")
_EMISOR = re.compile(r"^[0-9]{9,12}$")
#: The shortest password accepted (characters) and the longest (scrypt reads it all).
MIN_PASSWORD = 12
MAX_PASSWORD = 1024
#: Failed sign-ins in a row before the account locks.
FREE_FAILURES = 5
#: How long the first lock lasts; each further failure doubles it, up to MAX_LOCK.
FIRST_LOCK = timedelta(minutes=1)
MAX_LOCK = timedelta(minutes=15)


def normal_username(text: str) -> str:
    """A username as it is stored: trimmed, lower case."""
    return text.strip().lower()


def lock_until(failures: int, now: datetime) -> datetime | None:
    """Until when an account that has just failed its ``failures``-th sign-in in a row is locked."""
    if failures < FREE_FAILURES:
        return None
    return now + min(MAX_LOCK, FIRST_LOCK * (1 << min(failures - FREE_FAILURES, 20)))


def _password_problems(password: Secret) -> list[Problem]:
    text = password.reveal()
    if MIN_PASSWORD <= len(text) <= MAX_PASSWORD and text.strip():
        return []
    return [Problem("password", f"{MIN_PASSWORD} to {MAX_PASSWORD} characters, not only spaces")]


@dataclass(frozen=True, slots=True)
class SignIn:
    """What a sign-in attempt gave: the user (signed in), or None and, when the account is locked, until
    when."""

    user: ConsoleUserRecord | None
    locked_until: datetime | None = None


class ConsoleUsers:
    """Creates, disables and signs in the console users kept in ``store``. Thread-safe."""

    def __init__(self, store: Store, *, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.store = store
        self._clock = clock
        self._decoy: str | None = None
        self._lock = threading.Lock()

    def create(self, username: str, emisor: str, password: Secret, name: str = "") -> ConsoleUserRecord:
        """A new user of ``emisor``'s console (StoreError when the username is taken)."""
        username = normal_username(username)
        problems = []
        if not _USERNAME.match(username):
            problems.append(
                Problem(
                    "username",
                    "3 to 64 characters: lower-case letters, digits and . _ @ - (starting with a letter or "
                    "digit)",
                )
            )
        if not _EMISOR.match(emisor):
            problems.append(Problem("emisor", "must be the emisor's identification number (9 to 12 digits)"))
        if len(name) > 100:
            problems.append(Problem("name", "at most 100 characters"))
        problems.extend(_password_problems(password))
        if problems:
            raise ValidationError(problems)
        record = ConsoleUserRecord(
            username=username,
            emisor=emisor,
            name=name,
            password_hash=hash_secret(password.reveal()),
            created_at=self._clock(),
        )
        return self.store.add_console_user(record)

    def disable(self, username: str) -> ConsoleUserRecord:
        """Disable the user at once: its sessions end and it cannot sign in again."""
        return self.store.disable_console_user(normal_username(username))

    def enable(self, username: str) -> ConsoleUserRecord:
        """Let a disabled user sign in again (its failed sign-ins and lock forgotten)."""
        return self.store.enable_console_user(normal_username(username))

    def set_password(self, username: str, password: Secret) -> ConsoleUserRecord:
        """A new password for the user: its failed sign-ins and lock are forgotten and its sessions end."""
        problems = _password_problems(password)
        if problems:
            raise ValidationError(problems)
        return self.store.set_console_password(normal_username(username), hash_secret(password.reveal()))

    def sign_in(self, username: str, password: Secret) -> SignIn:
        """Check ``username``'s password: the user when it is right and the account is active and not locked;
        a failure is counted (and may lock the account)."""
        username = normal_username(username)
        record = self.store.get_console_user(username) if _USERNAME.match(username) else None
        now = self._clock()
        if record is not None and record.locked_until is not None and record.locked_until > now:
            log.warning("console: sign-in of %s refused, locked until %s", username, record.locked_until)
            return SignIn(None, record.locked_until)
        # An unknown user is checked against a decoy hash: the same scrypt, the same time.
        right = check_secret(password.reveal(), record.password_hash if record else self._decoy_hash())
        if record is not None and right and record.active:
            self.store.console_login_succeeded(username, now)
            log.info("console: %s (emisor %s) signed in", username, record.emisor)
            return SignIn(record)
        if record is None or not record.active:
            log.warning("console: sign-in refused (unknown or disabled user)")
            return SignIn(None)
        after = self.store.console_login_failed(username, lambda failures: lock_until(failures, now))
        locked = after.locked_until if after is not None else None
        log.warning("console: wrong password for %s (%s in a row)", username, after and after.failed_logins)
        return SignIn(None, locked if locked is not None and locked > now else None)

    def _decoy_hash(self) -> str:
        with self._lock:
            if self._decoy is None:
                self._decoy = hash_secret("not a password of anyone")
            return self._decoy
