"""The durable store's interface: records, the voucher state machine and the :class:`Store` protocol.

A backend keeps issuers and their terminals, the consecutive counters, every voucher with the exact signed
bytes, Hacienda's respuestas, the vouchers received from suppliers and an append-only event log. The SQLite
backend (:mod:`cr_einvoice.outbox.store.sqlite`) is the embedded default; the PostgreSQL backend
(:mod:`cr_einvoice.outbox.store.postgres`) serves several nodes sharing one database.

The state machine of a voucher sent to Hacienda::

    signed ──► sending ──► submitted ──► processing ──► accepted | rejected
       │          │  ▲         │              │
       │          └──┘         └──────────────┴──────► error ──► sending (explicit retry)
       └──────────────► error
    (submitted | processing ──► sending only when Hacienda keeps answering 404: it lost the voucher)

``sending`` is written *before* the POST and means "this voucher may have reached Hacienda": a worker that
finds a voucher in ``sending`` (after a crash or an ambiguous network failure) asks for its status before it
sends it again. ``accepted`` and ``rejected`` are final.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol, Self, TypedDict, Unpack, runtime_checkable

from cr_einvoice.core.errors import StoreError
from cr_einvoice.outbox.store.deliveries import DeliveryStage, DeliveryStore

# The public names are listed once, in :mod:`cr_einvoice.outbox.store`, which re-exports them.


class VoucherState(StrEnum):
    SIGNED = "signed"
    SENDING = "sending"
    SUBMITTED = "submitted"
    PROCESSING = "processing"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    ERROR = "error"


class VoucherKind(StrEnum):
    """What a stored outgoing voucher is: one of our own vouchers or our MensajeReceptor on a supplier's."""

    ISSUED = "issued"
    RECEPTOR_MESSAGE = "receptor_message"


S = VoucherState
#: Every legal move of the state machine. A self-loop records another attempt or poll in the same state.
ALLOWED_TRANSITIONS: Mapping[VoucherState, frozenset[VoucherState]] = {
    S.SIGNED: frozenset({S.SENDING, S.ERROR}),
    S.SENDING: frozenset({S.SENDING, S.SUBMITTED, S.PROCESSING, S.ACCEPTED, S.REJECTED, S.ERROR}),
    # submitted/processing -> sending: Hacienda answers 404 long after acknowledging the POST (it lost it).
    S.SUBMITTED: frozenset({S.SUBMITTED, S.PROCESSING, S.ACCEPTED, S.REJECTED, S.ERROR, S.SENDING}),
    S.PROCESSING: frozenset({S.PROCESSING, S.ACCEPTED, S.REJECTED, S.ERROR, S.SENDING}),
    S.ERROR: frozenset({S.ERROR, S.SENDING, S.PROCESSING, S.ACCEPTED, S.REJECTED}),
    S.ACCEPTED: frozenset(),
    S.REJECTED: frozenset(),
}
FINAL_STATES = frozenset({S.ACCEPTED, S.REJECTED})
#: Transitions to these states are committed without waiting for the disk (like a lease claim): losing one in
#: a power cut leaves the voucher in ``sending`` under a lease, and the worker asks Hacienda before it sends
#: anything again (Hacienda acknowledged the POST, so the GET finds it).
RELAXED_TARGETS = frozenset({S.SUBMITTED})
del S


class IllegalTransitionError(StoreError):
    """A state change the state machine does not allow (for example leaving ``accepted``)."""

    def __init__(self, key: str, current: VoucherState, target: VoucherState) -> None:
        self.key = key
        self.current = current
        self.target = target
        super().__init__(f"voucher {key}: illegal state transition {current.value} -> {target.value}")


def check_transition(key: str, current: VoucherState, target: VoucherState) -> None:
    """Raise :class:`IllegalTransitionError` unless ``current -> target`` is allowed."""
    if target not in ALLOWED_TRANSITIONS[current]:
        raise IllegalTransitionError(key, current, target)


@dataclass(frozen=True, slots=True)
class IssuerRecord:
    """A taxpayer that issues vouchers from this store (``tipo_identificacion`` is Nota 4's code)."""

    tipo_identificacion: str
    numero_identificacion: str
    nombre: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class TerminalRecord:
    emisor: str
    sucursal: int
    terminal: int
    descripcion: str


@dataclass(frozen=True, slots=True)
class CounterKey:
    """One consecutive sequence: per emisor, establecimiento (sucursal), terminal and document type."""

    emisor: str
    sucursal: int
    terminal: int
    tipo: str

    def __post_init__(self) -> None:
        if not 1 <= self.sucursal <= 999:
            raise StoreError(f"sucursal must be 1..999, got {self.sucursal}")
        if not 1 <= self.terminal <= 99999:
            raise StoreError(f"terminal must be 1..99999, got {self.terminal}")
        if len(self.tipo) != 2 or not self.tipo.isdigit():
            raise StoreError(f"tipo must be a two-digit document type code, got {self.tipo!r}")


@dataclass(frozen=True, slots=True)
class NewVoucher:
    """What the numbering pipeline hands to the store once a number has been given and the XML signed.

    ``emisor_*`` is the taxpayer that issued the voucher and ``receptor_*`` its counterpart; for a
    MensajeReceptor, the confirmed voucher's seller and this taxpayer (:mod:`cr_einvoice.outbox.numbering`).
    """

    key: str
    clave: str
    consecutivo: str
    kind: VoucherKind
    tipo: str
    situacion: str
    fecha_emision: datetime
    emisor_tipo: str
    emisor_numero: str
    receptor_tipo: str | None
    receptor_numero: str | None
    signed_xml: bytes
    total_comprobante: str | None = None
    consecutivo_receptor: str | None = None
    external_ref: str | None = None
    #: Free-form facts about the voucher (a MensajeReceptor's decision and reason); not compared.
    detail: Mapping[str, Any] = field(default_factory=dict, compare=False)


#: Builds the voucher for the number (and the situación) the store draws, inside its transaction.
Builder = Callable[[int, str], NewVoucher]


@dataclass(frozen=True, slots=True, kw_only=True)
class VoucherRecord(NewVoucher):
    """A stored outgoing voucher: what was issued (:class:`NewVoucher`) and where it stands with Hacienda.

    ``key`` is the clave, or ``clave-consecutivoReceptor`` for a MensajeReceptor.
    """

    state: VoucherState
    attempts: int
    polls: int
    created_at: datetime
    updated_at: datetime
    submitted_at: datetime | None
    finished_at: datetime | None
    next_action_at: float
    last_error: str | None
    sucursal: int
    terminal: int
    numero: int
    #: Consecutive ``GET /recepcion`` answers 404 since the last POST (persisted: a restart remembers).
    not_found: int = 0
    #: Consecutive ``ind-estado: error`` or transient rejections since the last POST.
    troubles: int = 0
    #: POSTs sent again because Hacienda lost the voucher or answered ``error``/a transient rejection.
    resends: int = 0
    #: When the voucher was last POSTed (epoch s), None when the last attempt surely did not reach Hacienda.
    sent_at: float | None = None
    #: The worker holding the voucher for the step in progress (its heartbeat tells whether it lives).
    lease_owner: str | None = None

    @property
    def is_final(self) -> bool:
        return self.state in FINAL_STATES

    @property
    def taxpayer(self) -> str:
        """The identification of the taxpayer that issued the voucher and sends it (the receptor of a
        MensajeReceptor's row, else the emisor)."""
        if self.kind is VoucherKind.RECEPTOR_MESSAGE and self.receptor_numero:
            return self.receptor_numero
        return self.emisor_numero

    @property
    def status_key(self) -> str:
        """What ``GET /recepcion/{...}`` takes for this voucher."""
        return self.key

    def summary(self) -> dict[str, Any]:
        """The record as plain JSON-ready values (without the signed XML)."""
        return {
            "key": self.key,
            "clave": self.clave,
            "consecutivo": self.consecutivo,
            "kind": self.kind.value,
            "tipo": self.tipo,
            "situacion": self.situacion,
            "fecha_emision": self.fecha_emision.isoformat(),
            "emisor": self.emisor_numero,
            "receptor": self.receptor_numero,
            "state": self.state.value,
            "attempts": self.attempts,
            "polls": self.polls,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "submitted_at": self.submitted_at.isoformat() if self.submitted_at else None,
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "last_error": self.last_error,
            "not_found": self.not_found,
            "troubles": self.troubles,
            "resends": self.resends,
            "total_comprobante": self.total_comprobante,
            "consecutivo_receptor": self.consecutivo_receptor,
            "external_ref": self.external_ref,
        }


class Counters(TypedDict, total=False):
    """The persisted counters of a voucher a change may set (:class:`VoucherRecord`)."""

    not_found: int
    troubles: int
    resends: int
    #: The time of this POST (epoch s), or None: it surely did not reach Hacienda.
    sent_at: float | None
    #: The worker that holds the voucher for the step now starting (cleared by every other change).
    lease_owner: str


class Change(Counters, total=False):
    """What a state transition changes besides the state (:meth:`Store.transition`)."""

    #: Refuse (StoreError) unless the current state is one of these: an optimistic guard between processes
    #: working on the same voucher.
    expected: VoucherState | Sequence[VoucherState] | None
    #: When the worker should look at the voucher next (epoch s).
    next_action_at: float | None
    #: The voucher's last error (cleared when it becomes final without one).
    error: str | None
    #: Count one more send attempt / status poll.
    count_attempt: bool
    count_poll: bool
    #: The event's kind (default ``state_<target>``) and extra detail.
    event: str | None
    detail: Mapping[str, Any] | None


class Answer(TypedDict):
    """One answer from Hacienda as :meth:`Store.add_respuesta` records it."""

    #: ``poll``, ``status`` or ``callback``.
    source: str
    estado: str
    mensaje: int | None
    detalle: str | None
    errores: Sequence[Mapping[str, Any]]
    raw_xml: bytes | None


@dataclass(frozen=True, slots=True)
class RespuestaRecord:
    """One answer from Hacienda (from a poll or a callback): the raw bytes and what was decoded from them."""

    id: int
    key: str
    received_at: datetime
    source: str
    estado: str
    mensaje: int | None
    detalle: str | None
    errores: tuple[Mapping[str, Any], ...]
    raw_xml: bytes | None


@dataclass(frozen=True, slots=True)
class ReceivedRecord:
    """A supplier's voucher imported for confirmation, with our decision once taken."""

    clave: str
    tipo: str
    emisor_tipo: str
    emisor_numero: str
    emisor_nombre: str
    receptor_numero: str | None
    fecha_emision: datetime
    total_comprobante: str
    total_impuesto: str | None
    xml: bytes
    signer_subject: str
    received_at: datetime
    decision: str | None
    mr_key: str | None


@dataclass(frozen=True, slots=True)
class ApiKeyRecord:
    """An API key of the issuing service (:mod:`cr_einvoice.service.auth`), scoped to one emisor.

    Only a slow hash of the key's secret is kept (``secret_hash``: ``scrypt$n$r$p$salt$hash``, base64); the
    key itself is shown once, when it is created. ``key_id`` is the public part of the key that finds the row.
    """

    key_id: str
    emisor: str
    name: str
    secret_hash: str = field(repr=False)
    created_at: datetime
    revoked_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


@dataclass(frozen=True, slots=True)
class ConsoleUserRecord:
    """A person who signs in to the service's web console (:mod:`cr_einvoice.service.users`), scoped to one
    emisor. Only a slow hash of the password is kept (``password_hash``, as an API key's secret).

    ``failed_logins`` counts the failed sign-ins since the last good one; ``locked_until`` refuses sign-ins
    until then (repeated failures)."""

    username: str
    emisor: str
    name: str
    password_hash: str = field(repr=False)
    created_at: datetime
    disabled_at: datetime | None = None
    failed_logins: int = 0
    locked_until: datetime | None = None
    last_login_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.disabled_at is None


@dataclass(frozen=True, slots=True)
class ConsoleSessionRecord:
    """A signed-in console session: the SHA-256 (hex) of the cookie's random token -- the token itself is
    never stored -- the user, its emisor and when the session ends."""

    token_hash: str = field(repr=False)
    username: str
    emisor: str
    created_at: datetime
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class ReceivedPage:
    """What :meth:`Store.page_received` filters on; every field optional but ``owner``."""

    #: The taxpayer who received the vouchers (their receptor).
    owner: str
    #: True: only answered ones; False: only those still waiting for a decision.
    answered: bool | None = None
    #: Only those answered with this Mensaje (``05``, ``06``, ``07``).
    decision: str | None = None
    tipo: str | None = None
    #: Only this supplier's (its identification number).
    emisor: str | None = None
    #: FechaEmision from this day (``YYYY-MM-DD``, the date the voucher states), inclusive.
    since: str | None = None
    #: FechaEmision up to this day, inclusive.
    until: str | None = None
    #: The (received_at ISO text, clave) of the last row of the previous page: the page starts after it.
    after: tuple[str, str] | None = None
    limit: int = 50


@dataclass(frozen=True, slots=True)
class VoucherPage:
    """What :meth:`Store.page_vouchers` filters on; every field optional but ``owner``."""

    #: The taxpayer whose vouchers are listed: the emisor of its own vouchers, the receptor of its
    #: MensajeReceptor answers.
    owner: str
    state: VoucherState | None = None
    tipo: str | None = None
    #: FechaEmision from this day (``YYYY-MM-DD``, Costa Rica time), inclusive.
    since: str | None = None
    #: FechaEmision up to this day, inclusive.
    until: str | None = None
    #: The (created_at ISO text, key) of the last row of the previous page: the page starts after it.
    after: tuple[str, str] | None = None
    limit: int = 50


@dataclass(frozen=True, slots=True)
class EventRecord:
    id: int
    key: str | None
    at: datetime
    kind: str
    detail: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class CacheEntry:
    """One cached answer of a public service (api.hacienda.go.cr): JSON bytes and when they were fetched.

    ``namespace`` names the kind of data (``taxpayer``, ``cabys``, ``tc`` ...) and ``key`` the query within
    it; the reader decides from ``fetched_at`` whether the entry is still fresh.
    """

    namespace: str
    key: str
    value: bytes
    fetched_at: datetime


@runtime_checkable
class Store(DeliveryStore, Protocol):
    """The operations the issuing pipeline, the worker and the CLI need from a durable store (the e-mail
    deliveries' part is :class:`~cr_einvoice.outbox.store.deliveries.DeliveryStore`).

    Every method is atomic. :meth:`issue` runs ``build`` inside the transaction that takes the next number,
    so the counter only moves when the voucher is persisted with it: numbers are gapless and never repeated.
    """

    # -- issuers and terminals --------------------------------------------------------------------
    def add_issuer(
        self, tipo_identificacion: str, numero_identificacion: str, nombre: str
    ) -> IssuerRecord: ...

    def get_issuer(self, numero_identificacion: str) -> IssuerRecord | None: ...

    def add_terminal(
        self, emisor: str, sucursal: int, terminal: int, descripcion: str = ""
    ) -> TerminalRecord: ...

    def terminals(self, emisor: str) -> list[TerminalRecord]: ...

    # -- numbering and persistence ----------------------------------------------------------------
    def peek_next_number(self, key: CounterKey) -> int: ...

    def issue(
        self, key: CounterKey, build: Builder, *, external_ref: str | None = None
    ) -> tuple[VoucherRecord, bool]:
        """Allocate the next number of ``key`` and persist ``build(numero, situacion)`` in one transaction.

        ``situacion`` is the current contingency mode (see :meth:`connectivity`). Returns the record and True,
        or -- when ``external_ref`` was already issued -- the existing record and False, allocating nothing.
        If ``build`` raises, nothing is written and the exception propagates.
        """
        ...

    def find_by_ref(self, external_ref: str) -> VoucherRecord | None: ...

    def set_counter(self, key: CounterKey, last_number: int) -> None:
        """Continue an existing sequence (never moves a counter back)."""
        ...

    def issue_receptor_message(
        self, key: CounterKey, clave_recibida: str, decision: str, build: Builder
    ) -> VoucherRecord:
        """Number and persist a MensajeReceptor and mark the received voucher answered, atomically."""
        ...

    # -- vouchers ---------------------------------------------------------------------------------
    def get(self, key: str) -> VoucherRecord | None: ...

    def require(self, key: str) -> VoucherRecord: ...

    def list_vouchers(
        self, *, state: VoucherState | None = None, kind: VoucherKind | None = None, limit: int = 100
    ) -> list[VoucherRecord]: ...

    def count_by_state(self) -> dict[VoucherState, int]: ...

    def page_vouchers(self, page: VoucherPage) -> list[VoucherRecord]:
        """One page of ``page.owner``'s vouchers, newest first (created_at, then key, descending)."""
        ...

    def due(self, now: float, *, limit: int = 100, signed: bool | None = None) -> list[VoucherRecord]:
        """Non-final vouchers whose next action (send, status check, poll) is due at ``now`` (epoch s), the
        earliest due first; ``signed``: True for only those never sent, False for only those sent."""
        ...

    def transition(self, key: str, target: VoucherState, **change: Unpack[Change]) -> VoucherRecord:
        """Move ``key`` to ``target`` (checked against :data:`ALLOWED_TRANSITIONS`) and log an event; see
        :class:`Change` for what else changes."""
        ...

    def reschedule(
        self, key: str, next_action_at: float, *, error: str | None = None, **counters: Unpack[Counters]
    ) -> VoucherRecord:
        """Keep the state, look again at ``next_action_at``; ``counters`` sets the persisted counters; the
        lease ends."""
        ...

    def claim(
        self, key: str, state: VoucherState, now: float, until: float, *, owner: str | None = None
    ) -> VoucherRecord | None:
        """Reserve a due voucher for worker ``owner`` until ``until`` (None: someone else has it)."""
        ...

    # -- live workers ---------------------------------------------------------------------------
    def heartbeat(self, worker_id: str, now: float, *, info: Mapping[str, Any] | None = None) -> None:
        """Record that worker ``worker_id`` is alive at ``now`` (epoch s)."""
        ...

    def retire(self, worker_id: str) -> None:
        """Forget a worker that stopped cleanly and release its leases: the vouchers it held (a step it left
        unfinished) are due again at once, for any worker."""
        ...

    def recover_leases(self, now: float, stale_after: float) -> list[str]:
        """Make due again the vouchers held by workers whose last heartbeat is older than ``stale_after``
        seconds (they died); returns their keys."""
        ...

    def find(self, clave_or_key: str) -> VoucherRecord | None: ...

    def vouchers_to_plan(
        self, stage: DeliveryStage, states: Sequence[VoucherState], *, since: datetime, limit: int = 100
    ) -> list[VoucherRecord]:
        """Our own vouchers (kind ``issued``) created at or after ``since`` and now in one of ``states``
        whose e-mail ``stage`` was not planned yet (:meth:`plan_deliveries`), oldest first."""
        ...

    def next_due_at(self) -> float | None: ...

    # -- respuestas, received vouchers, events ----------------------------------------------------
    def add_respuesta(self, key: str, **answer: Unpack[Answer]) -> RespuestaRecord: ...

    def respuestas(self, key: str) -> list[RespuestaRecord]: ...

    def add_received(self, record: ReceivedRecord) -> ReceivedRecord: ...

    def get_received(self, clave: str) -> ReceivedRecord | None: ...

    def list_received(self, *, limit: int = 100) -> list[ReceivedRecord]: ...

    def set_received_decision(self, clave: str, decision: str, mr_key: str) -> ReceivedRecord: ...

    def log_event(self, key: str | None, kind: str, detail: Mapping[str, Any] | None = None) -> None: ...

    def events(self, key: str | None = None, *, limit: int = 1000) -> list[EventRecord]: ...

    # -- API keys of the issuing service ------------------------------------------------------
    def add_api_key(self, record: ApiKeyRecord) -> ApiKeyRecord: ...

    def get_api_key(self, key_id: str) -> ApiKeyRecord | None: ...

    def list_api_keys(self, emisor: str | None = None) -> list[ApiKeyRecord]: ...

    def revoke_api_key(self, key_id: str) -> ApiKeyRecord:
        """Mark the key revoked (StoreError when there is no such key); revoking again keeps the date."""
        ...

    def page_received(self, page: ReceivedPage) -> list[ReceivedRecord]:
        """One page of a taxpayer's received vouchers, newest received first (at most ``page.limit``)."""
        ...

    # -- the web console's users and sessions -----------------------------------------------------
    def add_console_user(self, record: ConsoleUserRecord) -> ConsoleUserRecord:
        """Add a user (StoreError when the username is taken)."""
        ...

    def get_console_user(self, username: str) -> ConsoleUserRecord | None: ...

    def list_console_users(self, emisor: str | None = None) -> list[ConsoleUserRecord]: ...

    def disable_console_user(self, username: str) -> ConsoleUserRecord:
        """Disable the user and end its sessions (StoreError when there is no such user); disabling again
        keeps the date."""
        ...

    def enable_console_user(self, username: str) -> ConsoleUserRecord:
        """Let a disabled user sign in again (StoreError when there is no such user)."""
        ...

    def set_console_password(self, username: str, password_hash: str) -> ConsoleUserRecord:
        """Replace the user's password hash, forget its failed sign-ins and lock, and end its sessions
        (StoreError when there is no such user)."""
        ...

    def console_login_failed(
        self, username: str, locked_until: Callable[[int], datetime | None]
    ) -> ConsoleUserRecord | None:
        """Count one more failed sign-in of ``username`` (None: no such user) in one transaction;
        ``locked_until(failures)`` says until when the user is then locked (None: not locked)."""
        ...

    def console_login_succeeded(self, username: str, at: datetime) -> None:
        """Forget the failed sign-ins and the lock; remember ``at`` as the last sign-in."""
        ...

    def open_console_session(self, record: ConsoleSessionRecord) -> None:
        """Store a new session (and forget the sessions that ended before it was created)."""
        ...

    def get_console_session(self, token_hash: str) -> ConsoleSessionRecord | None: ...

    def close_console_session(self, token_hash: str) -> None: ...

    # -- contingency ------------------------------------------------------------------------------
    def connectivity(self) -> tuple[bool, datetime | None]:
        """(online, since): whether Hacienda was last reachable, and since when it has not been."""
        ...

    def set_connectivity(self, online: bool, *, reason: str = "") -> bool:
        """Record reachability; returns True when the mode changed."""
        ...

    # -- cache of public data ---------------------------------------------------------------------
    def cache_get(self, namespace: str, key: str) -> CacheEntry | None:
        """The cached entry of ``key`` in ``namespace``, or None."""
        ...

    def cache_put(
        self, namespace: str, key: str, value: bytes, *, fetched_at: datetime | None = None
    ) -> None:
        """Store (or replace) ``value`` (JSON bytes) fetched at ``fetched_at`` (aware; default now)."""
        ...

    # -- waking idle workers ----------------------------------------------------------------------
    def wait_for_work(self, timeout: float) -> bool:
        """Block up to ``timeout`` seconds until work may be due (a voucher issued, leases released); True
        when woken, False on timeout. PostgreSQL hears every process (LISTEN/NOTIFY); SQLite hears its own
        process's issues at once and other processes' commits within a twentieth of a second (it looks at
        ``PRAGMA data_version``)."""
        ...

    def iter_vouchers(self) -> Iterator[VoucherRecord]: ...

    def with_consecutivo(self, consecutivo: str) -> list[VoucherRecord]:
        """The vouchers numbered ``consecutivo`` (of any taxpayer: a consecutivo repeats across emisores),
        oldest first."""
        ...

    def atomic(self) -> AbstractContextManager[None]:
        """Group several operations into one transaction."""
        ...

    @property
    def path(self) -> str: ...

    def close(self) -> None: ...

    def __enter__(self) -> Self: ...

    def __exit__(self, *exc: object) -> None: ...
