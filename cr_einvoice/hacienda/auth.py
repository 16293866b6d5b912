"""Tokens for the recepción API: OAuth 2.0 password grant and refresh against Hacienda's Keycloak IdP.

One :class:`TokenManager` (sync) or :class:`AsyncTokenManager` (async) per client holds the current token
pair and is shared by every request that client makes:

* the first request logs in (``grant_type=password``, ``client_id``, empty ``client_secret`` and ``scope``);
* the access token (5 minutes at Hacienda) is refreshed ``refresh_margin`` seconds (30) before it expires,
  with ``grant_type=refresh_token``;
* only one refresh runs at a time: concurrent callers wait on a lock (a ``threading.Lock`` for the sync
  manager, an ``asyncio.Lock`` for the async one) and then use the token the winner obtained;
* when the refresh token has expired, or the refresh is refused or fails, a new password login follows;
* :meth:`TokenManager.logout` posts ``client_id`` and ``refresh_token`` to the logout endpoint on close.

The IdP conversation itself goes through authlib's httpx integration (``OAuth2Client`` /
``AsyncOAuth2Client``: ``fetch_token`` and ``refresh_token``). authlib is untyped; it is confined to the
``_authlib_*`` helpers below. The IdP's answers are checked in a compliance hook, which turns error statuses
into this package's exceptions before authlib parses them.

:class:`BearerAuth` is the ``httpx.Auth`` flow that puts the token on each recepción request and, on a 401,
forces one refresh (deduplicated the same way) and retries the request once.

Tokens and the password are held in :class:`~cr_einvoice.core.secret.Secret` objects: they never appear in a
repr, a log line or an exception message.
"""

from __future__ import annotations

import asyncio
import logging
import random
import threading
import time
import warnings
from collections.abc import AsyncGenerator, Callable, Generator
from dataclasses import dataclass
from functools import partial
from typing import Any, Literal, TypedDict, TypeVar, Unpack

import authlib.deprecate  # noqa: F401  (installs authlib's "always" filter now, so ours below overrides it)
import httpx

from cr_einvoice.core.errors import (
    APIError,
    AuthenticationError,
    ConfigError,
    CrEinvoiceError,
    RateLimitedError,
    ServerError,
    TransportError,
)
from cr_einvoice.core.jsonsafe import JSONInputError
from cr_einvoice.core.jsonsafe import loads as json_loads
from cr_einvoice.core.secret import Secret
from cr_einvoice.hacienda.environments import Environment
from cr_einvoice.transport.flow import Retry, Steps, drive, drive_async, retrying
from cr_einvoice.transport.http import DEFAULT_TIMEOUT, RetryPolicy

with warnings.catch_warnings():
    # authlib warns when it falls back to the "httpx" package ("httpx2" absent); httpx is our dependency.
    warnings.filterwarnings("ignore", message=".*httpx module is deprecated.*")
    from authlib.integrations.httpx_client import AsyncOAuth2Client, OAuth2Client

__all__ = [
    "AsyncTokenManager",
    "BearerAuth",
    "Credentials",
    "TokenManager",
    "TokenStats",
]

log = logging.getLogger("cr_einvoice.hacienda")
T = TypeVar("T")

#: Lifetime assumed when the IdP omits ``expires_in`` (Hacienda documents 5 minutes).
DEFAULT_ACCESS_LIFETIME = 300.0
#: Seconds between renewal attempts while the IdP fails and the current token is still valid.
RENEWAL_BACKOFF = 5.0


@dataclass(frozen=True, slots=True)
class Credentials:
    """The ATV user name (``cpj-3-101-123456@stag.comprobanteselectronicos.go.cr``) and its password."""

    username: str
    password: Secret

    def __post_init__(self) -> None:
        given: object = self.password
        if not isinstance(given, Secret):
            if not isinstance(given, str):
                raise ConfigError("Hacienda credentials: the password must be a str or a Secret")
            object.__setattr__(self, "password", Secret(given))
        if not self.username or not self.username.strip():
            raise ConfigError("Hacienda credentials: the user name is empty")
        if not self.password:
            raise ConfigError(f"Hacienda credentials for {self.username}: the password is empty")


@dataclass(frozen=True, slots=True)
class _Tokens:
    access: Secret
    refresh: Secret | None
    expires_at: float
    refresh_at: float
    refresh_expires_at: float | None
    generation: int

    def __repr__(self) -> str:
        return f"_Tokens(generation={self.generation}, expires_at={self.expires_at:.0f})"


@dataclass(slots=True)
class TokenStats:
    """How often the IdP was called (for monitoring and tests)."""

    logins: int = 0
    refreshes: int = 0
    failed_refreshes: int = 0
    logouts: int = 0


_Action = Literal["login", "refresh"]


class _IdPRetryable(Exception):
    """An IdP failure worth retrying (5xx, 429, transport); carries the error to raise if retries run out."""

    def __init__(self, error: CrEinvoiceError) -> None:
        super().__init__(str(error))
        self.error = error


def _idp_check(response: httpx.Response, what: str) -> httpx.Response:
    """Compliance hook: map the IdP's error statuses to this package's exceptions (never echo the form)."""
    status = response.status_code
    response.read()
    if status < 400:
        try:
            token = json_loads(response.content, what="the identity provider's answer")
        except JSONInputError:
            token = None
        if not isinstance(token, dict) or not token.get("access_token") or "error" in token:
            raise AuthenticationError(
                f"Hacienda's identity provider answered the {what} with HTTP {status} but no usable token",
                status=status,
                headers=dict(response.headers),
            )
        return response
    headers = dict(response.headers)
    body = response.text[:500]
    detail = ""
    try:
        data = json_loads(response.content, what="the identity provider's answer")
    except JSONInputError:
        data = None
    if isinstance(data, dict):
        error = str(data.get("error") or "")
        description = str(data.get("error_description") or "")
        detail = ": " + ", ".join(x for x in (error, description) if x) if (error or description) else ""
    # APIError appends "(HTTP <status>)" itself: the status is named once.
    message = f"Hacienda's identity provider refused the {what}{detail}"
    if status == 429:
        raise _IdPRetryable(RateLimitedError(message, status=status, headers=headers, body=body))
    if status >= 500:
        raise _IdPRetryable(ServerError(message, status=status, headers=headers, body=body))
    raise AuthenticationError(message, status=status, headers=headers, body=body)


class _TokenCore:
    """The state and the decisions shared by the sync and async managers (no I/O here)."""

    def __init__(
        self,
        environment: Environment,
        credentials: Credentials,
        *,
        refresh_margin: float,
        clock: Callable[[], float],
    ) -> None:
        if refresh_margin < 0:
            raise ConfigError("refresh_margin must not be negative")
        self.environment = environment
        self.credentials = credentials
        self.refresh_margin = refresh_margin
        self.clock = clock
        self.tokens: _Tokens | None = None
        self.stats = TokenStats()
        self._generation = 0
        #: After a failed renewal, a still-unexpired token is used until then instead of asking again.
        self.backoff_until = 0.0

    def usable(self, stale_generation: int | None) -> _Tokens | None:
        """The current tokens if they can be used now without calling the IdP."""
        tokens = self.tokens
        if tokens is None:
            return None
        if stale_generation is not None and tokens.generation == stale_generation:
            return None
        now = self.clock()
        if now >= tokens.refresh_at and not (now < self.backoff_until and now < tokens.expires_at):
            return None
        return tokens

    def fallback(self, forced: bool) -> _Tokens | None:
        """After a failed renewal: the current tokens if they have not expired and were not refused (a 401),
        with a short back-off before the next renewal attempt."""
        tokens = self.tokens
        now = self.clock()
        if forced or tokens is None or now >= tokens.expires_at:
            return None
        self.backoff_until = now + min(RENEWAL_BACKOFF, tokens.expires_at - now)
        return tokens

    def plan(self) -> _Action:
        tokens = self.tokens
        if tokens is None or tokens.refresh is None:
            return "login"
        if tokens.refresh_expires_at is not None and self.clock() >= tokens.refresh_expires_at:
            return "login"
        return "refresh"

    def login_args(self) -> dict[str, str]:
        return {
            "username": self.credentials.username,
            "password": self.credentials.password.reveal(),
            "grant_type": "password",
            # Anexo 3: client_secret and scope "se dejan vacíos".
            "body": "client_secret=&scope=",
        }

    def store(self, token: dict[str, Any], issued_at: float, previous_refresh: Secret | None) -> _Tokens:
        access = token.get("access_token")
        if not isinstance(access, str) or not access:
            raise AuthenticationError(
                "Hacienda's identity provider answered without an access_token", status=200
            )
        expires_in = _seconds(token.get("expires_in")) or DEFAULT_ACCESS_LIFETIME
        refresh_value = token.get("refresh_token")
        refresh = (
            Secret(refresh_value) if isinstance(refresh_value, str) and refresh_value else previous_refresh
        )
        refresh_in = _seconds(token.get("refresh_expires_in"))
        margin = min(self.refresh_margin, expires_in / 2)
        self._generation += 1
        tokens = _Tokens(
            access=Secret(access),
            refresh=refresh,
            expires_at=issued_at + expires_in,
            refresh_at=issued_at + expires_in - margin,
            refresh_expires_at=(issued_at + refresh_in) if refresh_in else None,
            generation=self._generation,
        )
        self.tokens = tokens
        return tokens


def _seconds(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float) and value > 0:
        return float(value)
    if isinstance(value, str):
        try:
            parsed = float(value)
        except ValueError:
            return None
        return parsed if parsed > 0 else None
    return None


def _transport_error(exc: httpx.HTTPError, what: str, url: str) -> _IdPRetryable:
    kind = "timed out" if isinstance(exc, httpx.TimeoutException) else "failed"
    return _IdPRetryable(
        TransportError(
            f"Hacienda's identity provider: {what} at {url} {kind} ({type(exc).__name__})", url=url
        )
    )


def _hooked(client: Any) -> Any:
    client.register_compliance_hook("access_token_response", lambda r: _idp_check(r, "login"))
    client.register_compliance_hook("refresh_token_response", lambda r: _idp_check(r, "token refresh"))
    return client


def _as_dict(token: Any) -> dict[str, Any]:
    return dict(token) if isinstance(token, dict) else {}


class _Call:
    """A step of a token flow: one call to the IdP."""

    __slots__ = ()


@dataclass(frozen=True, slots=True)
class _Login(_Call):
    """Password grant."""


@dataclass(frozen=True, slots=True)
class _Refresh(_Call):
    """refresh_token grant."""

    token: Secret


@dataclass(frozen=True, slots=True)
class _Logout(_Call):
    """End the IdP session of this refresh token."""

    url: str
    token: Secret


#: A token flow (:mod:`cr_einvoice.transport.flow`): yields the IdP calls and waits to make, receives each
#: call's answer (or has the call's exception thrown in). The sync and async managers only perform the steps.
_Flow = Steps[_Call, Any, T]


class _ManagerOptions(TypedDict, total=False):
    """The options the sync and async managers share (see :class:`TokenManager`)."""

    timeout: httpx.Timeout
    verify: Any
    refresh_margin: float
    clock: Callable[[], float]
    retry: RetryPolicy | None
    rng: random.Random | None


class _SyncOptions(_ManagerOptions, total=False):
    transport: httpx.BaseTransport | None


class _AsyncOptions(_ManagerOptions, total=False):
    transport: httpx.AsyncBaseTransport | None


class _ManagerBase:
    _idp: Any  # authlib's OAuth2Client or AsyncOAuth2Client (untyped)

    def __init__(
        self,
        environment: Environment,
        credentials: Credentials,
        *,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        verify: Any = True,
        refresh_margin: float = 30.0,
        clock: Callable[[], float] = time.time,
        retry: RetryPolicy | None = None,
        rng: random.Random | None = None,
        transport: object = None,
    ) -> None:
        self._core = _TokenCore(environment, credentials, refresh_margin=refresh_margin, clock=clock)
        self._retry = retry or RetryPolicy()
        self._rng = rng or random.Random()
        self._idp_options: dict[str, Any] = {
            "client_id": environment.client_id,
            "token_endpoint_auth_method": "none",  # client_id goes in the form, no secret
            "timeout": timeout,
            "verify": verify,
            "trust_env": False,
        }
        if transport is not None:
            self._idp_options["transport"] = transport

    @property
    def stats(self) -> TokenStats:
        return self._core.stats

    @property
    def environment(self) -> Environment:
        return self._core.environment

    def __repr__(self) -> str:
        tokens = self._core.tokens
        state = "no token" if tokens is None else f"token generation {tokens.generation}"
        return f"{type(self).__name__}({self._core.credentials.username!r}, {self.environment.name}, {state})"

    # -- the shared renewal flow ---------------------------------------------------------------------
    def _renewal(self, forced: bool) -> _Flow[_Tokens]:
        """Refresh (or log in); when the IdP fails and the current token is still valid and was not refused,
        keep using it for a few seconds rather than failing the request."""
        try:
            return (yield from self._renew())
        except (APIError, TransportError) as exc:
            tokens = self._core.fallback(forced)
            if tokens is None:
                raise
            log.warning("renewing the access token failed (%s); using the current one until it expires", exc)
            return tokens

    def _renew(self) -> _Flow[_Tokens]:
        core = self._core
        tokens = core.tokens
        if core.plan() == "refresh" and tokens is not None and tokens.refresh is not None:
            issued = core.clock()
            try:
                token = yield from retrying(_Refresh(tokens.refresh), partial(self._decide, "token refresh"))
            except (APIError, TransportError) as exc:
                core.stats.failed_refreshes += 1
                log.info("token refresh failed (%s); logging in again", exc)
            else:
                core.stats.refreshes += 1
                log.debug("access token refreshed for %s", core.credentials.username)
                return core.store(token, issued, tokens.refresh)
        issued = core.clock()
        token = yield from retrying(_Login(), partial(self._decide, "login"))
        core.stats.logins += 1
        log.debug("logged in to Hacienda's identity provider as %s", core.credentials.username)
        return core.store(token, issued, None)

    def _decide(self, what: str, attempt: int, outcome: Any) -> dict[str, Any] | Retry:
        """One IdP call's outcome: the token dict, a retry (5xx, 429, transport failure) or the error."""
        if isinstance(outcome, httpx.HTTPError):
            outcome = _transport_error(outcome, what, self.environment.token_url)
        if not isinstance(outcome, Exception):
            return _as_dict(outcome)
        if not isinstance(outcome, _IdPRetryable):
            raise outcome
        if attempt >= self._retry.max_attempts:
            raise outcome.error
        delay = self._retry.backoff(attempt, self._rng)
        log.info("identity provider: %s; retry %d in %.2fs", outcome.error, attempt, delay)
        return Retry(delay)

    def _call(self, step: _Call) -> Callable[[], Any]:
        """The authlib call that performs ``step`` (awaitable for the async client)."""
        if isinstance(step, _Logout):
            form = {"client_id": self.environment.client_id, "refresh_token": step.token.reveal()}
            return partial(self._idp.request, "POST", step.url, data=form, withhold_token=True)
        if isinstance(step, _Refresh):
            return partial(
                self._idp.refresh_token, self.environment.token_url, refresh_token=step.token.reveal()
            )
        return partial(self._idp.fetch_token, self.environment.token_url, **self._core.login_args())

    # -- logout --------------------------------------------------------------------------------------
    def _logout_step(self) -> _Logout | None:
        """Forget the tokens; the logout call to make, if there is a session to end (under the lock)."""
        tokens = self._core.tokens
        self._core.tokens = None
        url = self.environment.logout_url
        if tokens is None or tokens.refresh is None or url is None:
            return None
        return _Logout(url, tokens.refresh)

    def _logout(self, step: _Logout | None) -> _Flow[None]:
        """Best effort: a failure is logged, never raised."""
        if step is None:
            return
        try:
            response = yield step
        except httpx.HTTPError as exc:
            log.warning("logout from Hacienda's identity provider failed (%s)", type(exc).__name__)
            return
        assert response is not None
        self._core.stats.logouts += 1
        if response.status_code >= 400:
            log.warning("logout from Hacienda's identity provider answered HTTP %s", response.status_code)


class TokenManager(_ManagerBase):
    """Token cache and refresher for the synchronous client (thread-safe).

    Options: ``timeout``, ``verify``, ``transport`` (for the IdP calls), ``refresh_margin`` (seconds before
    expiry at which the token is renewed, 30), ``clock``, ``retry`` and ``rng`` (the IdP retries), ``sleep``.
    """

    def __init__(
        self,
        environment: Environment,
        credentials: Credentials,
        *,
        sleep: Callable[[float], None] = time.sleep,
        **options: Unpack[_SyncOptions],
    ) -> None:
        super().__init__(environment, credentials, **options)
        self._sleep = sleep
        self._lock = threading.Lock()
        self._idp = _hooked(OAuth2Client(**self._idp_options))

    def access_token(self, *, stale_generation: int | None = None) -> tuple[Secret, int]:
        """A usable access token and its generation. ``stale_generation`` forces a new token unless another
        caller already replaced that generation (a 401 was seen with it)."""
        tokens = self._core.usable(stale_generation)
        if tokens is not None:
            return tokens.access, tokens.generation
        with self._lock:
            tokens = self._core.usable(stale_generation)
            if tokens is None:
                tokens = self._run(self._renewal(stale_generation is not None))
        return tokens.access, tokens.generation

    def _run(self, flow: _Flow[T]) -> T:
        return drive(flow, lambda step: self._call(step)(), self._sleep)

    def logout(self) -> None:
        """End the IdP session (best effort: a failure is logged, never raised)."""
        with self._lock:
            step = self._logout_step()
        self._run(self._logout(step))

    def close(self) -> None:
        try:
            self.logout()
        finally:
            self._idp.close()


class AsyncTokenManager(_ManagerBase):
    """Token cache and refresher for the asynchronous client (one refresh at a time per event loop)."""

    def __init__(
        self,
        environment: Environment,
        credentials: Credentials,
        **options: Unpack[_AsyncOptions],
    ) -> None:
        super().__init__(environment, credentials, **options)
        self._lock = asyncio.Lock()
        self._idp = _hooked(AsyncOAuth2Client(**self._idp_options))

    async def access_token(self, *, stale_generation: int | None = None) -> tuple[Secret, int]:
        """See :meth:`TokenManager.access_token`."""
        tokens = self._core.usable(stale_generation)
        if tokens is not None:
            return tokens.access, tokens.generation
        async with self._lock:
            tokens = self._core.usable(stale_generation)
            if tokens is None:
                tokens = await self._run(self._renewal(stale_generation is not None))
        return tokens.access, tokens.generation

    async def _run(self, flow: _Flow[T]) -> T:
        return await drive_async(flow, self._perform)

    async def _perform(self, step: _Call) -> Any:
        return await self._call(step)()

    async def logout(self) -> None:
        """End the IdP session (best effort: a failure is logged, never raised)."""
        async with self._lock:
            step = self._logout_step()
        await self._run(self._logout(step))

    async def aclose(self) -> None:
        try:
            await self.logout()
        finally:
            await self._idp.aclose()


def _bearer(token: Secret) -> str:
    # Anexo 3 writes the scheme in lower case.
    return "bearer " + token.reveal()


class BearerAuth(httpx.Auth):
    """``httpx.Auth`` flow: bearer token on every request; a 401 forces one refresh and one retry."""

    def __init__(self, tokens: TokenManager | AsyncTokenManager) -> None:
        self._tokens = tokens

    def __repr__(self) -> str:
        return f"BearerAuth({self._tokens!r})"

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        tokens = self._tokens
        if not isinstance(tokens, TokenManager):
            raise ConfigError("this BearerAuth holds an AsyncTokenManager: use it with httpx.AsyncClient")
        token, generation = tokens.access_token()
        request.headers["Authorization"] = _bearer(token)
        response = yield request
        if response.status_code == 401:
            log.info("HTTP 401 from %s: renewing the access token and retrying once", request.url)
            token, _ = tokens.access_token(stale_generation=generation)
            request.headers["Authorization"] = _bearer(token)
            yield request

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        tokens = self._tokens
        if not isinstance(tokens, AsyncTokenManager):
            raise ConfigError("this BearerAuth holds a (sync) TokenManager: use it with httpx.Client")
        token, generation = await tokens.access_token()
        request.headers["Authorization"] = _bearer(token)
        response = yield request
        if response.status_code == 401:
            log.info("HTTP 401 from %s: renewing the access token and retrying once", request.url)
            token, _ = await tokens.access_token(stale_generation=generation)
            request.headers["Authorization"] = _bearer(token)
            yield request
