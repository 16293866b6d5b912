"""A Keycloak-like identity provider: password and refresh_token grants, logout, JWT-shaped tokens."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from cr_einvoice.core.secret import Secret

__all__ = ["IdPError", "IdentityProvider", "TokenClaims"]


class IdPError(Exception):
    """A Keycloak-style error answer: HTTP ``status`` with ``{"error": ..., "error_description": ...}``."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(f"{status} {error}: {description}")
        self.status = status
        self.error = error
        self.description = description

    def body(self) -> dict[str, str]:
        return {"error": self.error, "error_description": self.description}


_MAX_SESSIONS = 10_000
UNKNOWN_CLIENT = "UNKNOWN_CLIENT: Client was not identified by any client authenticator"


@dataclass(frozen=True, slots=True)
class TokenClaims:
    """What the recepción API learns from a valid access token."""

    username: str
    session: str
    issued_at: float
    expires_at: float


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64url(text: str) -> bytes:
    pad = "=" * (-len(text) % 4)
    return base64.urlsafe_b64decode(text + pad)


@dataclass(slots=True)
class _Session:
    username: str
    last_issued: float
    active: bool = True


class IdentityProvider:
    """Issues and checks tokens. Thread-safe.

    Access tokens are HS256 JWTs signed with a per-process random key, so they look like Keycloak's and can
    be decoded by clients that peek at ``exp``; they are only ever checked here. Logging out ends the session,
    which invalidates its refresh tokens and its access tokens.
    """

    def __init__(
        self,
        *,
        issuer: str,
        client_id: str,
        users: Mapping[str, str | Secret],
        access_lifetime: float,
        refresh_lifetime: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._issuer = issuer
        self._client_id = client_id
        self._users = {u: Secret.coerce(p) for u, p in users.items()}
        self._access_lifetime = access_lifetime
        self._refresh_lifetime = refresh_lifetime
        self._clock = clock
        self._key = secrets.token_bytes(32)
        self._lock = threading.Lock()
        self._sessions: dict[str, _Session] = {}
        self._not_before = 0.0
        self.tokens_issued = 0

    # -- grants -----------------------------------------------------------------------------------------
    def token(self, form: Mapping[str, str]) -> dict[str, object]:
        """Handle a token request (form fields already decoded)."""
        self._check_client(form)
        grant = form.get("grant_type", "")
        if grant == "password":
            username, password = form.get("username", ""), form.get("password", "")
            known = self._users.get(username)
            # Constant-time comparison; unknown users and wrong passwords look the same.
            expected = known.reveal() if known is not None else secrets.token_hex(16)
            if known is None or not hmac.compare_digest(expected.encode(), password.encode()):
                raise IdPError(401, "invalid_grant", "Invalid user credentials")
            session_id = str(uuid.uuid4())
            with self._lock:
                if len(self._sessions) >= _MAX_SESSIONS:
                    self._prune()
                self._sessions[session_id] = _Session(username, self._clock())
            return self._issue(username, session_id)
        if grant == "refresh_token":
            claims = self._check_refresh(form.get("refresh_token", ""))
            return self._issue(str(claims["preferred_username"]), str(claims["session_state"]))
        if not grant:
            raise IdPError(400, "invalid_request", "Missing form parameter: grant_type")
        raise IdPError(400, "unsupported_grant_type", "Unsupported grant_type")

    def logout(self, form: Mapping[str, str]) -> None:
        self._check_client(form)
        token = form.get("refresh_token", "")
        if not token:
            raise IdPError(400, "invalid_request", "refresh_token form parameter is required")
        claims = self._check_refresh(token)
        with self._lock:
            session = self._sessions.get(str(claims["session_state"]))
            if session is not None:
                session.active = False

    def expire_all_access_tokens(self) -> None:
        """Every access token issued up to now becomes invalid (refresh tokens keep working)."""
        with self._lock:
            # Tokens carry whole-second iat values; anything issued in this second or before is out.
            self._not_before = float(int(self._clock()) + 1)

    # -- verification -----------------------------------------------------------------------------------
    def verify_access(self, token: str) -> TokenClaims | None:
        """Return the claims of a valid, unexpired access token, else None."""
        claims = self._decode(token)
        if claims is None or claims.get("typ") != "Bearer":
            return None
        now = self._clock()
        exp, iat = _num(claims.get("exp")), _num(claims.get("iat"))
        with self._lock:
            session = self._sessions.get(str(claims.get("session_state", "")))
            not_before = self._not_before
        if now >= exp or iat < not_before or session is None or not session.active:
            return None
        return TokenClaims(str(claims.get("preferred_username", "")), session_id_of(claims), iat, exp)

    # -- internals --------------------------------------------------------------------------------------
    def _check_client(self, form: Mapping[str, str]) -> None:
        if form.get("client_id", "") != self._client_id:
            raise IdPError(401, "unauthorized_client", UNKNOWN_CLIENT)

    def _check_refresh(self, token: str) -> dict[str, object]:
        if not token:
            raise IdPError(400, "invalid_request", "Missing form parameter: refresh_token")
        claims = self._decode(token)
        if claims is None or claims.get("typ") != "Refresh":
            raise IdPError(400, "invalid_grant", "Invalid refresh token")
        if self._clock() >= _num(claims.get("exp")):
            raise IdPError(400, "invalid_grant", "Token is not active")
        with self._lock:
            session = self._sessions.get(str(claims.get("session_state", "")))
        if session is None or not session.active:
            raise IdPError(400, "invalid_grant", "Session not active")
        return claims

    def _prune(self) -> None:
        """Forget ended sessions and those whose last refresh token has expired (lock held)."""
        horizon = self._clock() - self._refresh_lifetime
        for key in [k for k, s in self._sessions.items() if not s.active or s.last_issued < horizon]:
            del self._sessions[key]

    def _issue(self, username: str, session_id: str) -> dict[str, object]:
        precise = self._clock()
        with self._lock:
            session = self._sessions.get(session_id)
            if session is not None:
                session.last_issued = precise  # a refresh extends the session like Keycloak's idle timeout
            now = max(int(precise), int(self._not_before))
            self.tokens_issued += 1
        base = {
            "iat": now,
            "iss": self._issuer,
            "sub": str(uuid.uuid5(uuid.NAMESPACE_URL, self._issuer + "/" + username)),
            "azp": self._client_id,
            "session_state": session_id,
            "preferred_username": username,
        }
        access = dict(
            base, jti=str(uuid.uuid4()), exp=math.ceil(precise + self._access_lifetime), typ="Bearer"
        )
        access["aud"] = "account"
        access["scope"] = "profile email"
        refresh = dict(
            base, jti=str(uuid.uuid4()), exp=math.ceil(precise + self._refresh_lifetime), typ="Refresh"
        )
        refresh["aud"] = self._issuer
        return {
            "access_token": self._encode(access),
            "expires_in": math.ceil(self._access_lifetime),
            "refresh_expires_in": math.ceil(self._refresh_lifetime),
            "refresh_token": self._encode(refresh),
            "token_type": "bearer",
            "not-before-policy": 0,
            "session_state": session_id,
            "scope": "profile email",
        }

    def _encode(self, claims: Mapping[str, object]) -> str:
        header = {"alg": "HS256", "typ": "JWT", "kid": hashlib.sha256(self._key).hexdigest()[:16]}
        signing_input = (
            _b64url(json.dumps(header, separators=(",", ":")).encode())
            + "."
            + _b64url(json.dumps(claims, separators=(",", ":")).encode())
        )
        mac = hmac.new(self._key, signing_input.encode("ascii"), hashlib.sha256).digest()
        return signing_input + "." + _b64url(mac)

    def _decode(self, token: str) -> dict[str, object] | None:
        parts = token.split(".")
        if len(parts) != 3:
            return None
        signing_input = (parts[0] + "." + parts[1]).encode("ascii", "replace")
        expected = hmac.new(self._key, signing_input, hashlib.sha256).digest()
        try:
            given = _unb64url(parts[2])
            if not hmac.compare_digest(expected, given):
                return None
            claims = json.loads(_unb64url(parts[1]))
        except (ValueError, UnicodeDecodeError):
            return None
        return claims if isinstance(claims, dict) else None


def _num(value: object) -> float:
    return float(value) if isinstance(value, int | float) else 0.0


def session_id_of(claims: Mapping[str, object]) -> str:
    return str(claims.get("session_state", ""))
