"""The worker's foundations: what it needs of the Hacienda client, its settings, the report of a round, the
POST's parties from a stored row, and :class:`WorkerBase` (its state, backoff and connectivity helpers, the
final-state hook). The steps are in :mod:`~cr_einvoice.outbox.worker_answers`,
:mod:`~cr_einvoice.outbox.worker_callbacks`, :mod:`~cr_einvoice.outbox.worker_sending` and the drivers in
:mod:`~cr_einvoice.outbox.worker`."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import random
import socket
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, TypeGuard, Unpack

from cr_einvoice.core.catalogs import TipoDocumento
from cr_einvoice.core.errors import BadRequestError, ConfigError
from cr_einvoice.core.identifiers import Identificacion
from cr_einvoice.core.secret import Secret
from cr_einvoice.hacienda import wire
from cr_einvoice.outbox.store import Store, VoucherRecord, VoucherState
from cr_einvoice.transport.http import backoff_delay

if TYPE_CHECKING:
    from cr_einvoice.hacienda.client import SubmitOptions
    from cr_einvoice.hacienda.recepcion import Submission
    from cr_einvoice.signing.xades import TrustStore

__all__ = [
    "AsyncRecepcion",
    "RoundReport",
    "Status",
    "Submitted",
    "WorkerBase",
    "WorkerSettings",
    "is_already_received",
    "log_extra",
    "submission_of",
]

log = logging.getLogger("cr_einvoice.worker")

#: Seconds during which a worker that saw the store online after an answer does not ask it again.
ONLINE_RECHECK = 1.0


class Submitted(Protocol):
    """What the worker reads of ``submit()``'s result (:class:`cr_einvoice.hacienda.client.SubmitResult`)."""

    @property
    def already_received(self) -> bool: ...


class Status(Protocol):
    """What the worker reads of ``status()``'s result (:class:`cr_einvoice.hacienda.client.StatusResult`)."""

    @property
    def estado(self) -> str: ...

    @property
    def respuesta(self) -> Any: ...


class AsyncRecepcion(Protocol):
    """What the worker needs of :class:`cr_einvoice.hacienda.AsyncClient`."""

    async def submit(self, signed_xml: bytes, **options: Unpack[SubmitOptions]) -> Submitted: ...

    async def status(self, clave: str) -> Status: ...


def is_already_received(exc: BaseException) -> TypeGuard[BadRequestError]:
    """True for Hacienda's duplicate-submission refusal ("ya fue recibido anteriormente" and variants) raised
    as an error (the client itself answers it with an ``already_received`` result); decided by
    :func:`cr_einvoice.hacienda.wire.is_already_received`."""
    return isinstance(exc, BadRequestError) and wire.is_already_received(exc.error_cause, exc.body)


@dataclass(frozen=True, slots=True)
class WorkerSettings:
    """Tuning. Times are seconds."""

    concurrency: int = 4
    batch: int = 200
    poll_initial: float = 2.0
    poll_max: float = 60.0
    #: Backoff after a failed send or status check: ``send_backoff_base`` doubled per attempt, capped.
    send_backoff_base: float = 1.0
    send_backoff_max: float = 300.0
    #: How long a claimed voucher is reserved for this worker (must exceed one request with retries).
    lease: float = 120.0
    #: Consecutive 404s on a submitted voucher before the worker sends it again (Hacienda lost it).
    max_not_found_polls: int = 8
    #: A voucher in ``sending`` that Hacienda answers 404 for is POSTed again only after this many 404s and
    #: ``resend_after`` seconds since its last POST (longer than the server and the client take on a POST).
    sending_rechecks: int = 2
    resend_after: float = 90.0
    #: ``ind-estado: error`` / transient rejections queried again before sending the voucher again.
    max_requery: int = 3
    #: Times a voucher is sent again (error, transient rejection, lost by Hacienda) before ``error``.
    max_resends: int = 2
    #: Seconds between heartbeats of a working worker, and the age at which a heartbeat means it died.
    heartbeat: float = 1.0
    stale_after: float = 10.0
    #: Idle sleep of :meth:`Worker.run_forever` when nothing is due.
    idle: float = 5.0
    #: Base URL Hacienda should POST results to (served by :meth:`Worker.callback_app`).
    callback_url: str | None = None
    #: Secret for the per-voucher token in the callback URL (recommended whenever ``callback_url`` is set).
    callback_secret: Secret | None = None


@dataclass(slots=True)
class RoundReport:
    """What one :meth:`Worker.run_once` did."""

    sent: int = 0
    status_checks: int = 0
    polls: int = 0
    accepted: int = 0
    rejected: int = 0
    errors: int = 0
    deferred: int = 0
    skipped: int = 0
    outcomes: dict[str, str] = field(default_factory=dict)

    @property
    def touched(self) -> int:
        return self.sent + self.status_checks + self.polls

    def merge(self, other: RoundReport) -> None:
        for f in dataclasses.fields(self):
            if f.name != "outcomes":
                setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))
        self.outcomes.update(other.outcomes)


def log_extra(record: VoucherRecord) -> dict[str, Any]:
    """The fields a JSON log line carries about a voucher (``--log-json``)."""
    return {"key": record.key, "state": record.state.value, "attempts": record.attempts}


def submission_of(record: VoucherRecord) -> Submission:
    """The clave, date and parties of the POST, from the stored row: the signed XML is not parsed again.

    The row names the taxpayer as emisor (a MensajeReceptor's row: the confirmed voucher's seller as emisor,
    the taxpayer as receptor, as the POST does); a FacturaCompra's POST names the seller, kept as the row's
    receptor, as emisor.
    """
    from cr_einvoice.hacienda.recepcion import Submission

    first = Identificacion.of(record.emisor_tipo, record.emisor_numero)
    second = (
        Identificacion.of(record.receptor_tipo, record.receptor_numero)
        if record.receptor_tipo and record.receptor_numero
        else None
    )
    tipo = TipoDocumento(record.tipo)
    if tipo is TipoDocumento.FACTURA_COMPRA and second is not None:
        first, second = second, first
    return Submission(
        clave=record.clave,
        fecha=record.fecha_emision,
        emisor=first,
        receptor=second,
        document=tipo.root,
        consecutivo_receptor=record.consecutivo_receptor if tipo.is_mensaje_receptor else None,
    )


class WorkerBase:
    """The worker's state and the helpers every step uses (see :class:`~cr_einvoice.outbox.worker.Worker`)."""

    def __init__(
        self,
        store: Store,
        client: AsyncRecepcion | Mapping[str, AsyncRecepcion],
        settings: WorkerSettings | None = None,
        *,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
        on_final: Callable[[VoucherRecord], None] | None = None,
        trust: TrustStore | None = None,
    ) -> None:
        self.store = store
        #: One client per taxpayer (by numero_identificacion), or None: :attr:`client` sends every voucher.
        self.clients: dict[str, AsyncRecepcion] | None = None
        if isinstance(client, Mapping):
            if not client:
                raise ConfigError("a worker needs at least one Hacienda client")
            self.clients = dict(client)
            client = next(iter(self.clients.values()))
        self.client: AsyncRecepcion = client
        self.settings = settings or WorkerSettings()
        self._clock = clock
        self._rng = rng or random.Random()
        self._on_final = on_final
        #: Trust anchors for Hacienda's signed answers (taken from the client when it has them).
        self.trust: TrustStore | None = trust if trust is not None else getattr(client, "trust", None)
        self._sem = asyncio.Semaphore(self.settings.concurrency)
        self._wake = asyncio.Event()
        #: Sending paused after a 429, per taxpayer (Hacienda limits each taxpayer on its own).
        self._paused_until: dict[str, float] = {}
        #: Whether the last round saw due vouchers of taxpayers this worker does not serve.
        self._others_due = False
        #: This worker's name on its leases and heartbeats (host, process, a random part).
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._beating = False
        #: When this worker last saw the store online after an answer (monotonic s).
        self._online_seen = float("-inf")
        #: Hacienda's answers waiting to be applied in one transaction (worker_answers).
        self._answers: list[Any] = []

    # -- whose voucher ----------------------------------------------------------------------------
    def serves(self, record: VoucherRecord) -> bool:
        """Whether this worker sends ``record`` (it has a client for its taxpayer)."""
        return self.clients is None or record.taxpayer in self.clients

    def client_for(self, record: VoucherRecord) -> AsyncRecepcion:
        """The client that sends ``record``: its taxpayer's (own token, own rate limit)."""
        if self.clients is None:
            return self.client
        client = self.clients.get(record.taxpayer)
        if client is None:
            raise ConfigError(
                f"{record.key}: taxpayer {record.taxpayer} is not one this worker sends for "
                f"({', '.join(self.clients)})"
            )
        return client

    def _pause_key(self, record: VoucherRecord) -> str:
        return "" if self.clients is None else record.taxpayer

    def _paused(self, record: VoucherRecord) -> bool:
        """Whether sending ``record``'s taxpayer's vouchers is paused after a 429."""
        return self._clock() < self._paused_until.get(self._pause_key(record), 0.0)

    def _pause(self, record: VoucherRecord, seconds: float) -> None:
        key = self._pause_key(record)
        self._paused_until[key] = max(self._paused_until.get(key, 0.0), self._clock() + seconds)

    # -- scheduling helpers -----------------------------------------------------------------------
    def _poll_delay(self, polls: int) -> float:
        s = self.settings
        return min(s.poll_max, s.poll_initial * 2.0 ** max(0, polls))

    def _send_delay(self, attempts: int) -> float:
        """Exponential backoff with equal jitter (never less than half the ceiling)."""
        s = self.settings
        return backoff_delay(attempts, s.send_backoff_base, s.send_backoff_max, rng=self._rng, floor=0.5)

    def wake(self) -> None:
        """Make :meth:`run_forever` look for work now (call it after issuing)."""
        self._wake.set()

    def _went_online(self) -> None:
        """Hacienda answered: mark the store online (asked of the store at most every ONLINE_RECHECK s while
        it is online; at once after it was seen offline)."""
        now = time.monotonic()
        if now - self._online_seen < ONLINE_RECHECK:
            return
        if self.store.set_connectivity(True):
            log.warning("Hacienda reachable again: draining the contingency backlog")
        self._online_seen = now

    def _went_offline(self, reason: str) -> None:
        self._online_seen = float("-inf")
        self.store.set_connectivity(False, reason=reason)

    def _is_online(self, *, recent: bool = False) -> bool:
        """The store's connectivity flag (seen offline: the next answer marks it online again). ``recent``:
        True without asking the store when an answer came within the last ONLINE_RECHECK seconds."""
        if recent and time.monotonic() - self._online_seen < ONLINE_RECHECK:
            return True
        online, _ = self.store.connectivity()
        if not online:
            self._online_seen = float("-inf")
        return online

    def _final(self, record: VoucherRecord) -> None:
        log.info("%s: %s", record.key, record.state.value, extra=log_extra(record))
        if self._on_final is not None:
            try:
                self._on_final(record)
            except Exception:  # a user hook must not stop the worker
                log.exception("on_final hook failed for %s", record.key)

    def _leave_resend(self, record: VoucherRecord) -> VoucherRecord:
        """Outside a worker step (a callback, ``status``): a resend decided now is left to the next round."""
        if record.state is VoucherState.SENDING and record.lease_owner == self.worker_id:
            return self.store.reschedule(record.key, self._clock())
        return record
