"""API keys of the issuing service: one key per program (a point of sale, an ERP), scoped to one emisor.

A key reads ``crk_<key_id>_<secret>``: ``key_id`` (12 hex digits) finds the stored row, ``secret`` (43
URL-safe characters, 256 random bits) is checked against the row's scrypt hash (``hashlib.scrypt``, a random
salt per key) and compared with :func:`hmac.compare_digest`. The key itself is shown once, when it is created
(``cr-einvoice apikey create``), and is never stored, logged or answered.

scrypt costs tens of milliseconds on purpose; :class:`ApiKeys` remembers, in memory, a SHA-256 of each key it
has verified, so a key pays it once per process. The stored row is read on every request (a primary-key
read), so a revoked key stops working at once, in every process.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import threading
from datetime import UTC, datetime

from cr_einvoice.core.errors import ValidationError
from cr_einvoice.core.secret import Secret
from cr_einvoice.outbox.store import ApiKeyRecord, Store

__all__ = ["KEY_PREFIX", "UNVERIFIED", "ApiKeys", "Unverified", "check_secret", "hash_secret", "split_key"]

KEY_PREFIX = "crk"
_KEY = re.compile(r"^crk_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$")
_EMISOR = re.compile(r"^[0-9]{9,12}$")
#: scrypt's cost: n (CPU/memory), r (block size), p (parallelism); 16 MiB of memory per check.
_N, _R, _P = 2**14, 8, 1


class Unverified:
    """A key :meth:`ApiKeys.recognise` cannot tell about without the slow check."""


UNVERIFIED = Unverified()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def hash_secret(secret: str, *, salt: bytes | None = None) -> str:
    """``scrypt$n$r$p$salt$hash`` (base64) of ``secret``, with a new random salt unless one is given."""
    salt = salt if salt is not None else secrets.token_bytes(16)
    digest = hashlib.scrypt(secret.encode("utf-8"), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    return f"scrypt${_N}${_R}${_P}${_b64(salt)}${_b64(digest)}"


def check_secret(secret: str, encoded: str) -> bool:
    """Whether ``secret`` is the one ``encoded`` (:func:`hash_secret`) was made from; constant time."""
    try:
        scheme, n, r, p, salt, digest = encoded.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest)
        got = hashlib.scrypt(
            secret.encode("utf-8"), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p), dklen=32
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, expected)


def split_key(text: str) -> tuple[str, str] | None:
    """``(key_id, secret)`` of a well-formed key, or None."""
    match = _KEY.match(text)
    return (match.group(1), match.group(2)) if match else None


class ApiKeys:
    """Creates, verifies and revokes the API keys kept in ``store``. Thread-safe."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._verified: dict[str, bytes] = {}
        self._lock = threading.Lock()

    def create(self, emisor: str, name: str = "") -> tuple[Secret, ApiKeyRecord]:
        """A new key for ``emisor`` (its identification number); returns the key -- show it once -- and the
        stored row."""
        if not _EMISOR.match(emisor):
            raise ValidationError(
                "must be the emisor's identification number (9 to 12 digits)", path="emisor"
            )
        if len(name) > 100:
            raise ValidationError("at most 100 characters", path="name")
        key_id = secrets.token_hex(6)
        secret = secrets.token_urlsafe(32)
        record = ApiKeyRecord(
            key_id=key_id,
            emisor=emisor,
            name=name,
            secret_hash=hash_secret(secret),
            created_at=datetime.now(UTC),
        )
        self.store.add_api_key(record)
        return Secret(f"{KEY_PREFIX}_{key_id}_{secret}"), record

    def authenticate(self, presented: str) -> ApiKeyRecord | None:
        """The active key row ``presented`` belongs to, or None (malformed, unknown, wrong or revoked)."""
        found = self.recognise(presented)
        if not isinstance(found, Unverified):
            return found
        key_id, secret = split_key(presented) or ("", "")
        record = self.store.get_api_key(key_id)
        if record is None or not record.active or not check_secret(secret, record.secret_hash):
            return None
        with self._lock:
            self._verified[key_id] = hashlib.sha256(presented.encode("ascii")).digest()
        return record

    def recognise(self, presented: str) -> ApiKeyRecord | Unverified | None:
        """The fast part of :meth:`authenticate` (a primary-key read, no scrypt): the active row of a key
        verified before in this process, None for a key that cannot be valid, or :data:`UNVERIFIED` when
        only the slow check can tell."""
        parts = split_key(presented)
        if parts is None:
            return None
        key_id = parts[0]
        record = self.store.get_api_key(key_id)
        if record is None or not record.active:
            with self._lock:
                self._verified.pop(key_id, None)
            return None
        fingerprint = hashlib.sha256(presented.encode("ascii")).digest()
        with self._lock:
            known = self._verified.get(key_id)
        if known is not None and hmac.compare_digest(known, fingerprint):
            return record
        return UNVERIFIED

    def revoke(self, key_id: str) -> ApiKeyRecord:
        with self._lock:
            self._verified.pop(key_id, None)
        return self.store.revoke_api_key(key_id)
