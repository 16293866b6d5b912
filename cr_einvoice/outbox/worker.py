"""The outbox worker: sends stored vouchers to Hacienda, follows them to a final answer, drains contingency.

For each voucher that is due, by state:

``signed``
    Claimed by moving it to ``sending`` (written *before* the POST), then ``POST /recepcion`` with the exact
    stored bytes. 2xx -> ``submitted`` (first poll after ``poll_initial``). "ya fue recibido" ->
    ``submitted`` and poll at once (the answer comes from the status, never from a second send). A 400 for
    any other cause is a validation refusal -> ``error`` with Hacienda's cause. A transport failure, 5xx or
    429 (after the HTTP core's own retries) leaves it in ``sending`` with a backoff.
``sending``
    The voucher *may* have reached Hacienda (an ambiguous failure, or a crash after claiming it): first
    ``GET /recepcion/{clave}``. Known -> follow that answer; 404 -> asked again (the count is persisted) and
    sent again only after ``sending_rechecks`` 404s *and* ``resend_after`` seconds since the last POST --
    longer than Hacienda or the client may still be working on a POST that timed out -- never right away.
``submitted`` / ``processing``
    Poll with exponential backoff (``poll_initial`` doubled per poll up to ``poll_max``) until ``aceptado`` or
    ``rechazado``; each MensajeHacienda is stored as a respuesta (raw bytes + decoded fields).

Every voucher has a bounded path to a final state or ``error`` (the reason in ``last_error`` and the events,
shown by ``cr-einvoice show``), with the counters persisted in the store: ``ind-estado: error`` and the
transient rejections (:data:`TRANSIENT_TEXTS`, "Error al comunicarse con el Signum One", "valorar reenvío")
are queried again ``max_requery`` times, then the voucher is sent again (Hacienda's own guidance), at most
``max_resends`` times, then it goes to ``error``; ``max_not_found_polls`` consecutive 404s after the POST
send it again, bounded by the same ``max_resends``.

Callbacks: with ``callback_url`` (and ``callback_secret``) set, each voucher is submitted with its own
``<callback_url>/<key>/<token>`` URL (:func:`cr_einvoice.hacienda.callbacks.callback_url`).
:meth:`Worker.callback_app` is the ASGI receiver for it (:func:`cr_einvoice.hacienda.callbacks.callback_app`:
token checked, Hacienda's signature verified, only our claves), and :meth:`Worker.apply_callback` -- the
function the receiver calls -- applies the verified answer like a poll answer. Polling goes on as a fallback.

Contingency: when Hacienda cannot be reached the store's connectivity flag goes offline (new vouchers get
situación 3) and the worker only probes with one voucher per round until a call succeeds; then it marks the
store online and drains the backlog with bounded concurrency.

Several workers (processes) may run against one store: every voucher is claimed with a lease in the store
before any network call, so two workers never work on the same voucher at the same time. The lease names the
worker (:attr:`Worker.worker_id`), which writes a heartbeat every ``heartbeat`` seconds while it works; a
worker that died is found by its stale heartbeat (``stale_after``) and its vouchers are due again at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import random
import socket
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, TypeGuard, Unpack

from cr_einvoice.core.catalogs import TipoDocumento
from cr_einvoice.core.errors import (
    AuthenticationError,
    BadRequestError,
    CrEinvoiceError,
    ForbiddenError,
    NotFoundError,
    RateLimitedError,
    StoreError,
    TransportError,
    ValidationError,
)
from cr_einvoice.core.identifiers import Identificacion
from cr_einvoice.core.secret import Secret
from cr_einvoice.hacienda import wire
from cr_einvoice.hacienda.wire import Estado
from cr_einvoice.outbox.answers import TRANSIENT_TEXTS, detalle, errores, raw_xml, summary, transient
from cr_einvoice.outbox.callback_server import CallbackServer
from cr_einvoice.outbox.store import Store, VoucherRecord, VoucherState
from cr_einvoice.transport.http import backoff_delay

if TYPE_CHECKING:
    from cr_einvoice.hacienda.callbacks import CallbackResult
    from cr_einvoice.hacienda.client import SubmitOptions
    from cr_einvoice.hacienda.recepcion import Submission
    from cr_einvoice.signing.xades import TrustStore

__all__ = [
    "TRANSIENT_TEXTS",
    "AsyncRecepcion",
    "CallbackServer",
    "RoundReport",
    "Status",
    "Submitted",
    "Worker",
    "WorkerSettings",
    "is_already_received",
]

log = logging.getLogger("cr_einvoice.worker")


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


def _extra(record: VoucherRecord) -> dict[str, Any]:
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


class Worker:
    """Drives stored vouchers through Hacienda. ``client`` is a :class:`cr_einvoice.hacienda.AsyncClient`."""

    def __init__(
        self,
        store: Store,
        client: AsyncRecepcion,
        settings: WorkerSettings | None = None,
        *,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
        on_final: Callable[[VoucherRecord], None] | None = None,
        trust: TrustStore | None = None,
    ) -> None:
        self.store = store
        self.client = client
        self.settings = settings or WorkerSettings()
        self._clock = clock
        self._rng = rng or random.Random()
        self._on_final = on_final
        #: Trust anchors for Hacienda's signed answers (taken from the client when it has them).
        self.trust: TrustStore | None = trust if trust is not None else getattr(client, "trust", None)
        self._sem = asyncio.Semaphore(self.settings.concurrency)
        self._wake = asyncio.Event()
        self._paused_until = 0.0
        #: This worker's name on its leases and heartbeats (host, process, a random part).
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._beating = False

    # -- scheduling helpers -----------------------------------------------------------------------
    def _poll_delay(self, polls: int) -> float:
        s = self.settings
        return min(s.poll_max, s.poll_initial * 2.0 ** max(0, polls))

    def _send_delay(self, attempts: int) -> float:
        """Exponential backoff with equal jitter (never less than half the ceiling)."""
        s = self.settings
        return backoff_delay(attempts, s.send_backoff_base, s.send_backoff_max, rng=self._rng, floor=0.5)

    def callback_url_for(self, record: VoucherRecord) -> str | None:
        """The callback URL for one voucher: ``<callback_url>/<key>/<token>`` with a secret, else the base."""
        base = self.settings.callback_url
        if not base:
            return None
        if self.settings.callback_secret is None:
            return base
        from cr_einvoice.hacienda.callbacks import callback_url

        # Keyed by the record's key (``clave-consecutivoReceptor`` for a MensajeReceptor): the receiver hands
        # the result over under that key even when Hacienda's body names only the confirmed voucher's clave.
        return callback_url(base, record.key, self.settings.callback_secret)

    def _submit_options(self, record: VoucherRecord) -> SubmitOptions:
        """What ``submit()`` needs beyond the signed bytes, from the stored row (not parsed again)."""
        return {"callback_url": self.callback_url_for(record), "submission": submission_of(record)}

    def wake(self) -> None:
        """Make :meth:`run_forever` look for work now (call it after issuing)."""
        self._wake.set()

    def _went_online(self) -> None:
        if self.store.set_connectivity(True):
            log.warning("Hacienda reachable again: draining the contingency backlog")

    def _went_offline(self, reason: str) -> None:
        self.store.set_connectivity(False, reason=reason)

    # -- applying answers -------------------------------------------------------------------------
    def _apply_status(
        self, record: VoucherRecord, estado: str, respuesta: Any, *, source: str, report: RoundReport
    ) -> VoucherRecord:
        """Move ``record`` according to Hacienda's ``ind-estado`` and store the MensajeHacienda if any."""
        with self.store.atomic():  # the answer and the state change: one transaction
            new = self._apply_status_tx(record, estado, respuesta, source=source, report=report)
        if new.is_final:
            self._final(new)  # the user's hook runs after the commit
        return new

    def _apply_status_tx(
        self, record: VoucherRecord, estado: str, respuesta: Any, *, source: str, report: RoundReport
    ) -> VoucherRecord:
        key = record.key
        estado = (estado or "").strip().lower()
        if respuesta is not None:
            self.store.add_respuesta(
                key,
                source=source,
                estado=estado,
                mensaje=getattr(respuesta, "mensaje", None),
                detalle=detalle(respuesta),
                errores=errores(respuesta),
                raw_xml=raw_xml(respuesta),
            )
        mensaje = getattr(respuesta, "mensaje", None)
        if estado not in wire.FINAL_ESTADOS and mensaje in (1, 3):
            # A signed MensajeHacienda is the answer, whatever ind-estado still says.
            estado = Estado.ACEPTADO if mensaje == 1 else Estado.RECHAZADO
        passing = transient(respuesta) if estado == Estado.RECHAZADO else None
        if estado == Estado.ERROR or passing is not None:
            what = f"transient rejection {passing!r}" if passing else "ind-estado 'error'"
            return self._trouble(record, what, source=source, report=report)
        if estado in wire.FINAL_ESTADOS:
            accepted = estado == Estado.ACEPTADO
            target = VoucherState.ACCEPTED if accepted else VoucherState.REJECTED
            new = self.store.transition(
                key,
                target,
                count_poll=True,
                error=None if accepted else summary(respuesta),
                detail={"source": source},
            )
            if accepted:
                report.accepted += 1
            else:
                report.rejected += 1
            report.outcomes[key] = target.value
            return new
        # recibido, procesando or anything unexpected.
        delay = self._poll_delay(record.polls)
        note = None if estado in (Estado.RECIBIDO, Estado.PROCESANDO) else f"ind-estado {estado!r}"
        return self.store.transition(
            key,
            VoucherState.PROCESSING,
            count_poll=True,
            next_action_at=self._clock() + delay,
            error=note,
            event="poll" if record.state is VoucherState.PROCESSING else None,
            detail={"estado": estado, "source": source},
        )

    def _trouble(
        self, record: VoucherRecord, what: str, *, source: str, report: RoundReport
    ) -> VoucherRecord:
        """``ind-estado: error`` or a transient rejection: query again (``max_requery``), then send again
        (``max_resends``), then ``error`` with the reason; every count persisted."""
        s = self.settings
        troubles = record.troubles + 1
        now = self._clock()
        if troubles <= s.max_requery:
            return self.store.transition(
                record.key,
                VoucherState.PROCESSING,
                count_poll=True,
                next_action_at=now + self._poll_delay(troubles - 1),
                error=f"Hacienda answered {what} (query {troubles} of {s.max_requery}, then send again)",
                event="requery",
                detail={"source": source, "troubles": troubles},
                troubles=troubles,
            )
        if record.resends < s.max_resends:
            new = self.store.transition(
                record.key,
                VoucherState.SENDING,
                next_action_at=now + s.lease,
                error=f"Hacienda answered {what} {record.troubles + 1} times: sending it again "
                f"({record.resends + 1} of {s.max_resends})",
                event="resend",
                detail={"source": source, "reason": what},
                count_attempt=True,
                troubles=0,
                not_found=0,
                resends=record.resends + 1,
                sent_at=now,
                lease_owner=self.worker_id,
            )
            log.info("%s: sending again after %s", record.key, what, extra=_extra(new))
            return new
        reason = (
            f"Hacienda answered {what} {troubles} times, also after sending it again {record.resends} "
            "times; ask Hacienda about it, then 'cr-einvoice submit --retry-errors' sends it again"
        )
        new = self.store.transition(
            record.key, VoucherState.ERROR, error=reason, event="gave_up", troubles=troubles
        )
        report.errors += 1
        report.outcomes[record.key] = "error"
        log.warning("%s: error: %s", record.key, reason, extra=_extra(new))
        return new

    def _final(self, record: VoucherRecord) -> None:
        log.info("%s: %s", record.key, record.state.value, extra=_extra(record))
        if self._on_final is not None:
            try:
                self._on_final(record)
            except Exception:  # a user hook must not stop the worker
                log.exception("on_final hook failed for %s", record.key)

    def apply_callback(self, result: CallbackResult) -> VoucherRecord | None:
        """Apply a verified callback (what :func:`~cr_einvoice.hacienda.callbacks.callback_app` hands over).
        Only a callback whose signature chains to the trust anchors (``result.trusted``) moves the voucher;
        another is confirmed with ``GET /recepcion/{clave}`` first.

        Returns the updated record, or None when the clave is not one of ours.
        """
        record = self.store.find(result.clave)
        if record is None:
            log.warning("callback for unknown clave %s ignored", result.clave)
            return None
        if record.is_final:
            return record
        if record.state is VoucherState.SIGNED:
            log.warning("callback for %s, which was never sent, ignored", result.clave)
            return record
        if not getattr(result, "trusted", True):
            return self._untrusted_callback(record, result)
        try:
            new = self._apply_status(
                record, result.estado, result.respuesta, source="callback", report=RoundReport()
            )
            return self._leave_resend(new)
        except StoreError as exc:
            # A poll got there first (or another process moved it): nothing to do.
            log.info("callback for %s not applied: %s", result.clave, exc)
            return self.store.get(record.key)

    def _untrusted_callback(self, record: VoucherRecord, result: CallbackResult) -> VoucherRecord:
        """A callback whose signature is valid but not trusted never moves a voucher by itself: it is
        recorded as an event and the voucher is asked about with ``GET /recepcion/{clave}`` at once (a voucher
        in ``sending`` is asked anyway before anything else happens to it)."""
        reason = result.trust_problem or "signature valid but not trusted"
        log.warning(
            "%s: callback not trusted (%s); confirming with GET /recepcion before recording anything",
            record.key,
            reason,
        )
        try:
            detail = {"estado": result.estado, "reason": reason}
            self.store.log_event(record.key, "callback_untrusted", detail)
            if record.state is not VoucherState.SENDING:
                return self.store.reschedule(record.key, self._clock())
        except StoreError as exc:
            log.info("untrusted callback for %s: not rescheduled: %s", record.key, exc)
        return self.store.get(record.key) or record

    def apply_callback_body(self, body: bytes) -> VoucherRecord | None:
        """Verify and apply a raw callback body (raises CallbackError when it cannot be used; a signature
        valid but not trusted only makes the worker ask Hacienda, see :meth:`apply_callback`)."""
        from cr_einvoice.hacienda.callbacks import parse_callback

        result = parse_callback(body, trust=self.trust, known_claves=self._known, allow_untrusted=True)
        return self.apply_callback(result)

    def _known(self, key: str) -> bool:
        return self.store.find(key) is not None

    def callback_app(self, *, path_prefix: str | None = None) -> Any:
        """The ASGI app that receives Hacienda's callbacks for this worker (serve it with uvicorn).

        ``path_prefix`` defaults to the path of ``settings.callback_url``.
        """
        from urllib.parse import urlsplit

        from cr_einvoice.hacienda.callbacks import callback_app

        prefix = path_prefix
        if prefix is None:
            prefix = urlsplit(self.settings.callback_url or "/").path or "/"
        return callback_app(
            self.apply_callback,
            trust=self.trust,
            known_claves=self._known,
            secret=self.settings.callback_secret,
            path_prefix=prefix,
            allow_untrusted=True,
        )

    # -- the per-state steps ----------------------------------------------------------------------
    async def _send(self, record: VoucherRecord, report: RoundReport, **counters: Any) -> None:
        key = record.key
        now = self._clock()
        try:
            record = self.store.transition(
                key,
                VoucherState.SENDING,
                expected=(record.state,),
                count_attempt=True,
                next_action_at=now + self.settings.lease,
                event="send",
                sent_at=now,
                not_found=0,
                lease_owner=self.worker_id,
                **counters,
            )
        except StoreError as exc:
            log.debug("%s: not claimed (%s)", key, exc)
            report.skipped += 1
            return
        await self._post(record, report)

    async def _post(self, record: VoucherRecord, report: RoundReport) -> None:
        """POST the claimed ``record`` (already in ``sending``, its lease ours)."""
        key = record.key
        report.sent += 1
        try:
            result = await self.client.submit(record.signed_xml, **self._submit_options(record))
        except CrEinvoiceError as exc:
            if is_already_received(exc):
                self._went_online()
                self.store.transition(
                    key,
                    VoucherState.SUBMITTED,
                    next_action_at=self._clock(),
                    event="already_received",
                    detail={"cause": str(exc.error_cause or exc)},
                )
                return
            self._send_failed(record, exc, report)
            return
        self._went_online()
        already = result.already_received
        delay = 0.0 if already else self.settings.poll_initial
        new = self.store.transition(
            key,
            VoucherState.SUBMITTED,
            next_action_at=self._clock() + delay,
            event="already_received" if already else "submitted",
        )
        log.info("%s: submitted", key, extra=_extra(new))

    def _send_failed(self, record: VoucherRecord, exc: CrEinvoiceError, report: RoundReport) -> None:
        key = record.key
        if isinstance(exc, BadRequestError | ValidationError):
            # Hacienda refused the request itself (not "ya fue recibido"), or the stored document cannot even
            # be put in a request: sending the same bytes again cannot help.
            if isinstance(exc, BadRequestError):
                self._went_online()
                reason = f"HTTP 400: {exc.error_cause or exc}"
            else:
                reason = f"cannot be submitted: {exc}"
            self.store.transition(key, VoucherState.ERROR, error=reason, event="refused")
            report.errors += 1
            report.outcomes[key] = "error"
            self._final(record)
            return
        self._defer(record, exc, report)

    def _defer(self, record: VoucherRecord, exc: CrEinvoiceError, report: RoundReport) -> None:
        """Keep ``record`` in its state and retry later; note connectivity and rate limits."""
        if isinstance(exc, TransportError) and not exc.request_sent:
            # Could not connect at all: Hacienda is unreachable (an answer lost after sending is not).
            self._went_offline(str(exc))
        elif isinstance(exc, RateLimitedError):
            self._paused_until = max(
                self._paused_until, self._clock() + self._send_delay(record.attempts + 1)
            )
        elif isinstance(exc, AuthenticationError | ForbiddenError):
            log.error("Hacienda refused the credentials (%s); fix the configuration", exc)
        delay = self._send_delay(max(1, record.attempts))
        error = f"{type(exc).__name__}: {exc}"
        # A request refused before Hacienda looked at it surely did not register the voucher.
        surely_not = (isinstance(exc, TransportError) and not exc.request_sent) or isinstance(
            exc, RateLimitedError | AuthenticationError | ForbiddenError
        )
        if surely_not and record.state is VoucherState.SENDING:
            new = self.store.reschedule(record.key, self._clock() + delay, error=error, sent_at=None)
        else:
            new = self.store.reschedule(record.key, self._clock() + delay, error=error)
        report.deferred += 1
        log.info("%s: deferred %.1fs after %s", record.key, delay, type(exc).__name__, extra=_extra(new))

    def _claim(self, record: VoucherRecord, report: RoundReport) -> VoucherRecord | None:
        """Reserve ``record`` for one lease (None, counted as skipped, when someone else has it)."""
        now = self._clock()
        claimed = self.store.claim(
            record.key, record.state, now, now + self.settings.lease, owner=self.worker_id
        )
        if claimed is None:
            report.skipped += 1
        return claimed

    async def _check_then_send(self, record: VoucherRecord, report: RoundReport) -> None:
        """A voucher in ``sending`` may have reached Hacienda: ask before sending it again."""
        report.status_checks += await self._ask(record, report, "status", self._not_found_while_sending)

    async def _not_found_while_sending(self, record: VoucherRecord, report: RoundReport) -> None:
        """404 for a voucher in ``sending``: a POST that timed out may still be on its way (Hacienda registers
        it when it is done with it). Ask again at the polling pace -- it is found as soon as Hacienda has it
        -- and send it again only after ``sending_rechecks`` 404s and ``resend_after`` seconds since the last
        POST."""
        s = self.settings
        misses = record.not_found + 1
        now = self._clock()
        earliest = (record.sent_at or 0.0) + s.resend_after
        if misses < s.sending_rechecks or now < earliest:
            wait = min(self._poll_delay(misses - 1), max(earliest - now, s.poll_initial))
            self.store.reschedule(
                record.key,
                now + wait,
                error=f"GET /recepcion answered 404 {misses} time(s) after a POST that may still arrive",
                not_found=misses,
            )
            report.deferred += 1
            log.info("%s: 404 while sending (%d); asking again in %.1fs", record.key, misses, wait)
            return
        await self._send(record, report)

    async def _poll(self, record: VoucherRecord, report: RoundReport) -> None:
        report.polls += await self._ask(record, report, "poll", self._lost)

    async def _ask(
        self,
        record: VoucherRecord,
        report: RoundReport,
        source: str,
        not_found: Callable[[VoucherRecord, RoundReport], Awaitable[None] | None],
    ) -> int:
        """Claim ``record``, ask Hacienda for its status and apply the answer (``not_found`` handles a 404);
        returns 1 when the question was asked, 0 when someone else holds the voucher."""
        claimed = self._claim(record, report)
        if claimed is None:
            return 0
        try:
            result = await self.client.status(claimed.status_key)
        except NotFoundError:
            self._went_online()
            pending = not_found(claimed, report)
            if pending is not None:
                await pending
            return 1
        except CrEinvoiceError as exc:
            self._defer(claimed, exc, report)
            return 1
        self._went_online()
        new = self._apply_status(claimed, str(result.estado), result.respuesta, source=source, report=report)
        await self._resend_if_due(new, report)
        return 1

    def _lost(self, record: VoucherRecord, report: RoundReport) -> None:
        """404 after Hacienda acknowledged the POST: counted in the store; after ``max_not_found_polls`` the
        voucher is sent again (at most ``max_resends`` times), then ``error``."""
        s = self.settings
        misses = record.not_found + 1
        if misses < s.max_not_found_polls:
            self.store.reschedule(record.key, self._clock() + self._poll_delay(misses), not_found=misses)
            return
        if record.resends >= s.max_resends:
            reason = (
                f"Hacienda does not know the voucher ({misses} times 404 after the POST), also after sending "
                f"it again {record.resends} times; ask Hacienda, then 'cr-einvoice submit --retry-errors'"
            )
            new = self.store.transition(record.key, VoucherState.ERROR, error=reason, event="gave_up")
            report.errors += 1
            report.outcomes[record.key] = "error"
            log.warning("%s: error: %s", record.key, reason, extra=_extra(new))
            return
        # Hacienda acknowledged the POST but does not know the clave: send it again (a duplicate is answered
        # "ya fue recibido", which brings us back to polling).
        self.store.transition(
            record.key,
            VoucherState.SENDING,
            next_action_at=self._clock(),
            error=f"GET /recepcion answered 404 {misses} times after the POST",
            event="lost_by_hacienda",
            not_found=0,
            resends=record.resends + 1,
            sent_at=None,
        )

    def _leave_resend(self, record: VoucherRecord) -> VoucherRecord:
        """Outside a worker step (a callback, ``status``): a resend decided now is left to the next round."""
        if record.state is VoucherState.SENDING and record.lease_owner == self.worker_id:
            return self.store.reschedule(record.key, self._clock())
        return record

    async def _resend_if_due(self, record: VoucherRecord, report: RoundReport) -> None:
        """POST now a voucher :meth:`_trouble` decided to send again (it is ``sending``, its lease ours)."""
        if record.state is VoucherState.SENDING and record.lease_owner == self.worker_id:
            await self._post(record, report)

    async def _step(self, record: VoucherRecord, report: RoundReport) -> None:
        async with self._sem:
            try:
                if record.state is VoucherState.SIGNED:
                    if self._clock() < self._paused_until:
                        report.deferred += 1
                        return
                    await self._send(record, report)
                elif record.state is VoucherState.SENDING:
                    await self._check_then_send(record, report)
                elif record.state in (VoucherState.SUBMITTED, VoucherState.PROCESSING):
                    await self._poll(record, report)
            except StoreError as exc:
                # Another worker moved the voucher between our read and our write.
                log.info("%s: %s", record.key, exc)
                report.skipped += 1

    async def refresh(self, key: str) -> tuple[VoucherRecord, str]:
        """Ask Hacienda for one voucher's status now and apply it; never sends anything.

        Returns the (possibly updated) record and Hacienda's ``ind-estado`` (``"desconocido"`` for a 404,
        ``"no enviado"`` when the voucher was never sent).
        """
        record = self.store.find(key)
        if record is None:
            raise StoreError(f"no voucher {key} in the store")
        if record.state is VoucherState.SIGNED:
            return record, "no enviado"
        try:
            result = await self.client.status(record.status_key)
        except NotFoundError:
            return record, "desconocido"
        self._went_online()
        estado = str(result.estado)
        if record.is_final:
            return record, estado
        try:
            record = self._leave_resend(
                self._apply_status(record, estado, result.respuesta, source="status", report=RoundReport())
            )
        except StoreError as exc:
            log.info("%s: status not applied: %s", key, exc)
            record = self.store.require(record.key)
        return record, estado

    async def poll_now(self) -> RoundReport:
        """Ask for the status of every sent voucher without a final answer, whatever its schedule."""
        report = RoundReport()
        pending = [
            v
            for state in (VoucherState.SENDING, VoucherState.SUBMITTED, VoucherState.PROCESSING)
            for v in self.store.list_vouchers(state=state, limit=1_000_000)
        ]

        async def one(record: VoucherRecord) -> None:
            async with self._sem:
                try:
                    new, _ = await self.refresh(record.key)
                except CrEinvoiceError as exc:
                    report.deferred += 1
                    log.info("%s: %s", record.key, exc)
                    return
                report.polls += 1
                if new.state is VoucherState.ACCEPTED:
                    report.accepted += 1
                elif new.state is VoucherState.REJECTED:
                    report.rejected += 1

        await asyncio.gather(*(one(v) for v in pending))
        return report

    # -- public drivers ---------------------------------------------------------------------------
    async def run_once(self, *, limit: int | None = None) -> RoundReport:
        """One round over every voucher that is due now (this worker's heartbeat beating meanwhile; the
        vouchers of workers that died are taken back first). Returns what was done."""
        async with self.alive():
            return await self._round(limit)

    @contextlib.asynccontextmanager
    async def alive(self) -> AsyncIterator[None]:
        """Beat this worker's heartbeat every ``heartbeat`` seconds while the block runs (re-entrant)."""
        if self._beating:
            yield
            return
        self._beating = True
        self.store.heartbeat(self.worker_id, time.time(), info={"pid": os.getpid()})

        async def beat() -> None:
            while True:
                await asyncio.sleep(self.settings.heartbeat)
                with contextlib.suppress(StoreError):
                    self.store.heartbeat(self.worker_id, time.time())

        task = asyncio.ensure_future(beat())
        try:
            yield
        finally:
            task.cancel()
            self._beating = False

    def retire(self) -> None:
        """Say this worker stopped: its leases are released at once (call it when shutting down)."""
        with contextlib.suppress(StoreError):
            self.store.retire(self.worker_id)

    async def _round(self, limit: int | None) -> RoundReport:
        report = RoundReport()
        for key in self.store.recover_leases(time.time(), self.settings.stale_after):
            log.warning("%s: taken back from a worker that stopped beating", key)
        due = self.store.due(self._clock(), limit=limit or self.settings.batch)
        if not due:
            return report
        online, _ = self.store.connectivity()
        if not online:
            # Contingency: probe with one voucher; only when it gets through, go on with the rest.
            await self._step(due[0], report)
            online, _ = self.store.connectivity()
            if not online:
                return report
            due = due[1:]
        await asyncio.gather(*(self._step(record, report) for record in due))
        return report

    async def drain(self, *, within: float = 60.0, keys: Sequence[str] | None = None) -> RoundReport:
        """Run rounds until every voucher (or every one of ``keys``) is final or in ``error``.

        Raises :class:`TimeoutError` when ``within`` seconds pass first.
        """
        deadline = time.monotonic() + within
        total = RoundReport()
        while True:
            total.merge(await self.run_once())
            pending = self._pending(keys)
            if not pending:
                return total
            if time.monotonic() >= deadline:
                raise TimeoutError(f"{len(pending)} voucher(s) still pending after {within:.0f}s")
            nxt = min(v.next_action_at for v in pending)
            wait = min(
                max(0.0, nxt - self._clock()), max(0.0, deadline - time.monotonic()), self.settings.idle
            )
            await self._sleep(wait)

    def _pending(self, keys: Sequence[str] | None) -> list[VoucherRecord]:
        idle = (VoucherState.ACCEPTED, VoucherState.REJECTED, VoucherState.ERROR)
        if keys is None:
            return [v for v in self.store.due(float("inf"), limit=1_000_000) if v.state not in idle]
        out = []
        for key in keys:
            v = self.store.get(key)
            if v is not None and v.state not in idle:
                out.append(v)
        return out

    async def _sleep(self, seconds: float) -> None:
        self._wake.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout=max(0.001, seconds))

    async def run_forever(self, stop: asyncio.Event | None = None) -> None:
        """Work until ``stop`` is set (or the task is cancelled). A round in progress is abandoned when
        ``stop`` is set -- a voucher interrupted in ``sending`` is asked about before it is sent again -- so
        the worker stops within a fraction of a second; its leases are released."""
        stop = stop or asyncio.Event()
        stop_task = asyncio.ensure_future(stop.wait())
        try:
            async with self.alive():
                while not stop.is_set():
                    round_task = asyncio.ensure_future(self._round(None))
                    await asyncio.wait({stop_task, round_task}, return_when=asyncio.FIRST_COMPLETED)
                    if not round_task.done():
                        round_task.cancel()
                        with contextlib.suppress(asyncio.CancelledError):
                            await round_task
                        break
                    report = round_task.result()
                    if report.touched:
                        log.info(
                            "round: sent %d, checked %d, polled %d, accepted %d, rejected %d, errors %d, "
                            "deferred %d",
                            report.sent,
                            report.status_checks,
                            report.polls,
                            report.accepted,
                            report.rejected,
                            report.errors,
                            report.deferred,
                            extra={"round": dataclasses.asdict(report) | {"outcomes": len(report.outcomes)}},
                        )
                    nxt = self.store.next_due_at()
                    idle = self.settings.idle
                    wait = idle if nxt is None else min(idle, max(0.0, nxt - self._clock()))
                    if wait > 0:
                        sleep_task = asyncio.ensure_future(self._sleep(wait))
                        await asyncio.wait({stop_task, sleep_task}, return_when=asyncio.FIRST_COMPLETED)
                        sleep_task.cancel()
        finally:
            stop_task.cancel()
            self.retire()
