"""Settings of the local Hacienda simulator, and the runtime fault-injection switches."""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Generic, Literal, TypeVar

from cr_einvoice.core.errors import ConfigError
from cr_einvoice.core.secret import Secret

if TYPE_CHECKING:
    from cr_einvoice.sandbox.registry import Registry
    from cr_einvoice.signing.certs import Credential
    from cr_einvoice.signing.xades import TrustStore

__all__ = ["SANDBOX_PREFIX_2026", "SANDBOX_RATE_TABLE", "FaultTarget", "Faults", "SimulatorSettings"]

#: First line of DetalleMensaje in the 2026 v4.4 sandbox.
SANDBOX_PREFIX_2026 = (
    "Este comprobante fue recibido en el ambiente de pruebas, "
    "por lo cual no tiene validez para fines tributarios."
)

#: Per-taxpayer limits per window by outcome, as one implementation encodes them for the sandbox (notes §5).
#: Enforced, on top of ``rate_limit`` for all calls together, when ``SimulatorSettings.rate_limit_table`` is
#: set to this (or another) table: past a limit, a request that would get that outcome is answered 429.
SANDBOX_RATE_TABLE: Mapping[str, int] = {
    "submit_accepted": 100,  # POST /recepcion answered 202
    "submit_auth_failed": 5,  # POST /recepcion answered 401/403
    "submit_client_error": 10,  # POST /recepcion answered another 4xx
    "get_ok": 100,  # GET answered 200/206
    "get_client_error": 20,  # GET answered 4xx
    "token_ok": 10,  # IdP token call answered 200
    "token_auth_failed": 5,  # IdP token call answered 401/403
}

#: Which requests a fault applies to: every request, only the IdP, only the recepción API, or only
#: ``POST /recepcion``.
FaultTarget = Literal["any", "idp", "recepcion", "submit"]
_TARGETS: frozenset[str] = frozenset({"any", "idp", "recepcion", "submit"})


def _check_target(target: str) -> FaultTarget:
    if target not in _TARGETS:
        raise ConfigError(f"fault target must be one of {sorted(_TARGETS)}, not {target!r}")
    return target  # type: ignore[return-value]


@dataclass(slots=True)
class _Counted:
    remaining: int
    target: FaultTarget
    status: int = 503


def _remaining(counted: list[_Counted]) -> int:
    return sum(c.remaining for c in counted)


class _PendingFaults:
    """A :class:`Faults` attribute that reads how many faults of one list are pending; assigning a number
    clears the list and arms that many again with ``arm``."""

    def __init__(self, attr: str, arm: Callable[[Faults, int], None]) -> None:
        self._attr = attr
        self._arm = arm

    def _list(self, faults: Faults) -> list[_Counted]:
        counted: list[_Counted] = getattr(faults, self._attr)
        return counted

    def __get__(self, faults: Faults, owner: type[Faults] | None = None) -> int:
        with faults._lock:
            return _remaining(self._list(faults))

    def __set__(self, faults: Faults, n: int) -> None:
        with faults._lock:
            self._list(faults).clear()
        self._arm(faults, n)


V = TypeVar("V")


class _LockedSetting(Generic[V]):
    """A :class:`Faults` switch read and assigned under its lock; ``check`` validates an assigned value."""

    def __init__(self, attr: str, check: Callable[[V], V]) -> None:
        self._attr = attr
        self._check = check

    def __get__(self, faults: Faults, owner: type[Faults] | None = None) -> V:
        with faults._lock:
            value: V = getattr(faults, self._attr)
        return value

    def __set__(self, faults: Faults, value: V) -> None:
        value = self._check(value)
        with faults._lock:
            setattr(faults, self._attr, value)


def _check_rate_limit(value: int | None) -> int | None:
    if value is not None and value < 0:
        raise ConfigError("rate_limit must be >= 0")
    return value


class Faults:
    """Failures to inject, changeable at any time from any thread (tests, the admin endpoint, the CLI).

    * ``next_n_5xx`` / :meth:`fail_next`: the next N matching requests are answered with a 5xx status;
    * ``delay_seconds`` / :meth:`set_delay`: every matching request waits this long before being answered;
    * ``drop_connections`` / :meth:`drop_next`: the next N matching requests get their connection closed
      without any response, either before the body is read (nothing was received) or, with
      ``after_body=True``, after the body was read and the voucher registered (an ambiguous failure: the
      voucher *was* received);
    * :meth:`error_next`: the next N processed submissions end in ``ind-estado`` ``error``;
    * :meth:`signum_error_next`: the next N are rejected with ``Error al comunicarse con el Signum One``;
    * ``idp_down``: the token and logout endpoints answer 503;
    * ``rate_limit``: overrides the configured per-window limit (tighten it at runtime);
    * :meth:`expire_tokens_now`: every access token issued so far stops working (refresh tokens still do).

    A request consumes at most one counted fault of each kind; counted faults are consumed in the order they
    were added.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._fail: list[_Counted] = []
        self._drop_before: list[_Counted] = []
        self._drop_after: list[_Counted] = []
        self._processing = dict.fromkeys(("error_next", "signum_error_next"), 0)
        self._delay: float = 0.0
        self._delay_target: FaultTarget = "any"
        self._idp_down = False
        self._rate_limit: int | None = None
        self._expire_hook: Callable[[], None] | None = None
        self._pending_expiry = False

    # -- counted faults ---------------------------------------------------------------------------------
    def fail_next(self, n: int, status: int = 503, *, target: FaultTarget = "any") -> None:
        """Answer the next ``n`` matching requests with ``status`` (500-599)."""
        if not 500 <= status <= 599:
            raise ConfigError(f"fail_next status must be a 5xx code, not {status}")
        if n < 0:
            raise ConfigError("fail_next count must be >= 0")
        with self._lock:
            if n:
                self._fail.append(_Counted(n, _check_target(target), status))

    def drop_next(self, n: int, *, after_body: bool = False, target: FaultTarget = "any") -> None:
        """Close the connection of the next ``n`` matching requests without answering.

        ``after_body=True`` applies only to ``POST /recepcion``: the body is read and the voucher registered
        (and processed) before the connection is closed.
        """
        if n < 0:
            raise ConfigError("drop_next count must be >= 0")
        with self._lock:
            if not n:
                return
            if after_body:
                self._drop_after.append(_Counted(n, _check_target(target)))
            else:
                self._drop_before.append(_Counted(n, _check_target(target)))

    def error_next(self, n: int) -> None:
        """The next ``n`` submissions to be processed end in ``ind-estado`` ``error`` with no answer (the
        undocumented state Hacienda sometimes reports; clients must treat it as not final)."""
        self._add_processing_fault("error_next", n)

    def signum_error_next(self, n: int) -> None:
        """The next ``n`` processed submissions are rejected with Hacienda's transient signature-backend line
        ``Error al comunicarse con el Signum One`` (clients should query again or resend, not give up)."""
        self._add_processing_fault("signum_error_next", n)

    def take_signum_error(self) -> bool:
        return self._take_processing_fault("signum_error_next")

    def take_processing_error(self) -> bool:
        return self._take_processing_fault("error_next")

    def _add_processing_fault(self, name: str, n: int) -> None:
        if n < 0:
            raise ConfigError(f"{name} count must be >= 0")
        with self._lock:
            self._processing[name] += n

    def _take_processing_fault(self, name: str) -> bool:
        with self._lock:
            if self._processing[name] > 0:
                self._processing[name] -= 1
                return True
            return False

    def set_delay(self, seconds: float, *, target: FaultTarget = "any") -> None:
        if seconds < 0:
            raise ConfigError("delay must be >= 0 seconds")
        with self._lock:
            self._delay = float(seconds)
            self._delay_target = _check_target(target)

    # -- simple properties ------------------------------------------------------------------------------
    #: Pending injected failures / drops; assigning replaces them (``faults.next_n_5xx = 2``).
    next_n_5xx = _PendingFaults("_fail", lambda f, n: f.fail_next(n))
    drop_connections = _PendingFaults("_drop_before", lambda f, n: f.drop_next(n))
    drop_after_body = _PendingFaults(
        "_drop_after", lambda f, n: f.drop_next(n, after_body=True, target="submit")
    )

    @property
    def delay_seconds(self) -> float:
        with self._lock:
            return self._delay

    @delay_seconds.setter
    def delay_seconds(self, seconds: float) -> None:
        self.set_delay(seconds)

    idp_down = _LockedSetting[bool]("_idp_down", bool)
    rate_limit = _LockedSetting[int | None]("_rate_limit", _check_rate_limit)

    def expire_tokens_now(self) -> None:
        """Invalidate every access token issued so far (clients must refresh or log in again)."""
        with self._lock:
            hook = self._expire_hook
            if hook is None:
                self._pending_expiry = True
        if hook is not None:
            hook()

    def reset(self) -> None:
        """Remove every injected fault."""
        with self._lock:
            self._fail.clear()
            self._drop_before.clear()
            self._drop_after.clear()
            self._processing = dict.fromkeys(self._processing, 0)
            self._delay = 0.0
            self._delay_target = "any"
            self._idp_down = False
            self._rate_limit = None

    def snapshot(self) -> dict[str, object]:
        """The current state, for the admin endpoint and logs."""
        with self._lock:
            return {
                "next_n_5xx": _remaining(self._fail),
                "drop_connections": _remaining(self._drop_before),
                "drop_after_body": _remaining(self._drop_after),
                **self._processing,
                "delay_seconds": self._delay,
                "delay_target": self._delay_target,
                "idp_down": self._idp_down,
                "rate_limit": self._rate_limit,
            }

    # -- used by the server -----------------------------------------------------------------------------
    def _bind_expiry(self, hook: Callable[[], None]) -> None:
        with self._lock:
            self._expire_hook = hook
            pending, self._pending_expiry = self._pending_expiry, False
        if pending:
            hook()

    @staticmethod
    def _matches(target: FaultTarget, kinds: Collection[str]) -> bool:
        return target == "any" or target in kinds

    def _take(self, queue: list[_Counted], kinds: Collection[str]) -> _Counted | None:
        with self._lock:
            for item in queue:
                if item.remaining > 0 and self._matches(item.target, kinds):
                    item.remaining -= 1
                    found = _Counted(1, item.target, item.status)
                    queue[:] = [c for c in queue if c.remaining > 0]
                    return found
        return None

    def take_failure(self, kinds: Collection[str]) -> int | None:
        got = self._take(self._fail, kinds)
        return got.status if got else None

    def take_drop_before(self, kinds: Collection[str]) -> bool:
        return self._take(self._drop_before, kinds) is not None

    def take_drop_after(self, kinds: Collection[str]) -> bool:
        return self._take(self._drop_after, kinds) is not None

    def delay_for(self, kinds: Collection[str]) -> float:
        with self._lock:
            return self._delay if self._matches(self._delay_target, kinds) else 0.0


def _default_users() -> dict[str, str | Secret]:
    return {}


@dataclass(slots=True)
class SimulatorSettings:
    """How the simulator behaves. Only :attr:`faults` is meant to change while it runs.

    Times are in seconds. ``rate_limit`` counts every recepción call per taxpayer (or client address) and
    window; ``rate_limit_table`` (for example :data:`SANDBOX_RATE_TABLE`) adds the per-outcome limits.
    ``users`` maps IdP usernames to passwords. ``user_emisores`` optionally restricts
    a user to emisor identifications (``"3101123456"``); a submission for another emisor is answered 403.
    ``sello_credential`` (already loaded) or ``sello_p12``/``sello_pin`` is the certificate that signs
    MensajeHacienda; without either a test PKI is generated in ``certs_dir`` (or a temporary directory) with
    :func:`cr_einvoice.testing.pki.make_test_pki`.
    ``trust``, when given, is used to check the chain of the vouchers' signing certificates.
    ``max_clock_skew`` (seconds), when set, rejects with -53 a FechaEmision that far from the reception
    time (a FechaEmision on a later day than today is always -53).
    ``warnings`` are Hacienda codes (-37, -407, -408, -16) added to every response as warnings: the voucher
    is still accepted, and the rows are listed too when it is rejected for other reasons.
    ``max_submissions`` bounds memory: past it the oldest answered submissions are forgotten (the sandbox
    database "se puede limpiar en cualquier momento").
    ``callback_camel_case`` sends callbacks with Anexo 3's ``indEstado``/``respuestaXml`` keys instead of the
    hyphenated ones; ``upper_case_states`` writes ``RECIBIDO``/``ACEPTADO``… (the Anexo 3 example) in GET
    answers and callbacks. Both exist so clients can prove they accept every spelling seen.
    ``registry`` (a :class:`~cr_einvoice.sandbox.registry.Registry` or a JSON file; None: the bundled default)
    feeds the public endpoints (``/fe/ae``, ``/fe/cabys``, ``/indicadores/tc…``, ``/fe/ex``) and, with
    ``registry_checks``, the checks at recepción (-37, -407, -408, -400, exonerations);
    ``public_rate_limits`` ((requests, seconds) windows per client address) and ``public_block_seconds`` are
    the public API's limits (past one: 429 with Retry-After for that long).
    """

    host: str = "127.0.0.1"
    port: int = 0
    realm: str = "rut-stag"
    client_id: str = "api-stag"
    users: Mapping[str, str | Secret] = field(default_factory=_default_users)
    user_emisores: Mapping[str, Collection[str]] = field(default_factory=dict)
    access_token_lifetime: float = 300.0
    refresh_token_lifetime: float = 1800.0
    rate_limit: int = 300
    rate_limit_window: float = 60.0
    rate_limit_table: Mapping[str, int] | None = None
    processing_delay: float = 2.0
    procesando_after: float | None = None
    not_found_for: float = 0.0
    sello_p12: Path | bytes | None = None
    sello_pin: str | Secret = "1234"
    sello_credential: Credential | None = None
    certs_dir: Path | None = None
    trust: TrustStore | None = None
    check_signature: bool = True
    check_schema: bool = True
    check_rules: bool = True
    check_signer_is_emisor: bool = True
    warnings: Sequence[int] = ()
    max_clock_skew: float | None = None
    detalle_prefix: str = SANDBOX_PREFIX_2026
    callback_camel_case: bool = False
    upper_case_states: bool = False
    callback_timeout: float = 5.0
    callback_retries: int = 3
    callback_retry_delay: float = 1.0
    max_body_bytes: int = 10 * 1024 * 1024
    #: Connections served at once (one thread each); past it a new connection waits, then gets a 503.
    max_threads: int = 64
    page_max: int = 50
    max_submissions: int = 50_000
    workers: int = 2
    faults: Faults = field(default_factory=Faults)
    registry: Registry | Path | str | None = None
    registry_checks: bool = True
    public_rate_limits: Sequence[tuple[int, float]] = ((100, 5.0), (1200, 120.0))
    public_block_seconds: float = 600.0

    def validate(self) -> None:
        """Raise :class:`~cr_einvoice.core.errors.ConfigError` naming the first inconsistent setting."""
        if self.host not in {"127.0.0.1", "localhost", "::1"}:
            raise ConfigError(f"host: the simulator binds the loopback interface only, not {self.host!r}")
        if not 0 <= self.port <= 65535:
            raise ConfigError(f"port: {self.port} is not a TCP port")
        for name in (
            "access_token_lifetime",
            "refresh_token_lifetime",
            "rate_limit_window",
            "callback_timeout",
        ):
            if getattr(self, name) <= 0:
                raise ConfigError(f"{name} must be > 0")
        for name in ("processing_delay", "not_found_for", "callback_retry_delay"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name} must be >= 0")
        if self.procesando_after is not None and not 0 <= self.procesando_after <= self.processing_delay:
            raise ConfigError("procesando_after must be between 0 and processing_delay")
        if self.max_clock_skew is not None and self.max_clock_skew < 0:
            raise ConfigError("max_clock_skew must be >= 0")
        if self.rate_limit < 0:
            raise ConfigError("rate_limit must be >= 0")
        if self.rate_limit_table is not None:
            unknown = set(self.rate_limit_table) - set(SANDBOX_RATE_TABLE)
            if unknown:
                known = sorted(SANDBOX_RATE_TABLE)
                raise ConfigError(f"rate_limit_table: unknown outcomes {sorted(unknown)} (known: {known})")
        if self.callback_retries < 0:
            raise ConfigError("callback_retries must be >= 0")
        if self.page_max < 1 or self.workers < 1 or self.max_submissions < 1:
            raise ConfigError("page_max, workers and max_submissions must be >= 1")
        if self.max_threads < 1 or self.max_body_bytes < 1:
            raise ConfigError("max_threads and max_body_bytes must be >= 1")
        if any(n < 1 or s <= 0 for n, s in self.public_rate_limits) or self.public_block_seconds < 0:
            raise ConfigError(
                "public_rate_limits need requests >= 1 and seconds > 0; public_block_seconds >= 0"
            )
        if not self.realm or "/" in self.realm:
            raise ConfigError(f"realm: {self.realm!r} is not a realm name")
