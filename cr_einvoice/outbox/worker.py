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
    ``GET /recepcion/{clave}``. Known -> follow that answer; 404 -> it never arrived, send it again.
``submitted`` / ``processing``
    Poll with exponential backoff (``poll_initial`` doubled per poll up to ``poll_max``) until ``aceptado`` or
    ``rechazado``; each MensajeHacienda is stored as a respuesta (raw bytes + decoded fields).

Callbacks: with ``callback_url`` (and ``callback_secret``) set, each voucher is submitted with its own
``<callback_url>/<key>/<token>`` URL (:func:`cr_einvoice.hacienda.callbacks.callback_url`).
:meth:`Worker.callback_app` is the ASGI receiver for it (:func:`cr_einvoice.hacienda.callbacks.callback_app`:
token checked, Hacienda's signature verified, only our claves), and :meth:`Worker.apply_callback` -- the
function the receiver calls -- applies the verified answer like a poll answer. Polling goes on as a fallback.

Contingency: when Hacienda cannot be reached the store's connectivity flag goes offline (new vouchers get
situación 3) and the worker only probes with one voucher per round until a call succeeds; then it marks the
store online and drains the backlog with bounded concurrency.

Several workers (processes) may run against one store: every voucher is claimed with a short lease in the
store before any network call, so two workers never work on the same voucher at the same time.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import random
import time
from collections.abc import Callable, Sequence
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
from cr_einvoice.outbox.callback_server import CallbackServer
from cr_einvoice.outbox.store import Store, VoucherRecord, VoucherState
from cr_einvoice.transport.http import backoff_delay

if TYPE_CHECKING:
    from cr_einvoice.hacienda.callbacks import CallbackResult
    from cr_einvoice.hacienda.client import SubmitOptions
    from cr_einvoice.hacienda.recepcion import Submission
    from cr_einvoice.signing.xades import TrustStore

__all__ = [
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


def _errores(respuesta: Any) -> list[dict[str, Any]]:
    out = []
    for item in getattr(respuesta, "errores", None) or ():
        out.append(
            {
                "codigo": getattr(item, "codigo", None),
                "mensaje": getattr(item, "mensaje", str(item)),
                "fila": getattr(item, "fila", None),
                "columna": getattr(item, "columna", None),
            }
        )
    return out


def _raw_xml(respuesta: Any) -> bytes | None:
    for name in ("raw_xml", "xml", "raw"):
        value = getattr(respuesta, name, None)
        if isinstance(value, bytes):
            return value
    return None


def _detalle(respuesta: Any) -> str | None:
    for name in ("detalle_mensaje", "detalle"):
        value = getattr(respuesta, name, None)
        if isinstance(value, str):
            return value
    return None


def _summary(respuesta: Any) -> str:
    errs = _errores(respuesta)
    if not errs:
        return _detalle(respuesta) or "rechazado"
    parts = [
        f"[{e['codigo']}] {e['mensaje']}" if e["codigo"] is not None else str(e["mensaje"]) for e in errs
    ]
    return "; ".join(parts)


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
        self._not_found: dict[str, int] = {}
        self._paused_until = 0.0

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
                detalle=_detalle(respuesta),
                errores=_errores(respuesta),
                raw_xml=_raw_xml(respuesta),
            )
        mensaje = getattr(respuesta, "mensaje", None)
        if estado not in wire.FINAL_ESTADOS and mensaje in (1, 3):
            # A signed MensajeHacienda is the answer, whatever ind-estado still says.
            estado = Estado.ACEPTADO if mensaje == 1 else Estado.RECHAZADO
        if estado in wire.FINAL_ESTADOS:
            accepted = estado == Estado.ACEPTADO
            target = VoucherState.ACCEPTED if accepted else VoucherState.REJECTED
            new = self.store.transition(
                key,
                target,
                count_poll=True,
                error=None if accepted else _summary(respuesta),
                detail={"source": source},
            )
            if accepted:
                report.accepted += 1
            else:
                report.rejected += 1
            report.outcomes[key] = target.value
            return new
        # recibido, procesando, error (undocumented: keep following it) or anything unexpected.
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

    def _final(self, record: VoucherRecord) -> None:
        self._not_found.pop(record.key, None)
        if self._on_final is not None:
            try:
                self._on_final(record)
            except Exception:  # a user hook must not stop the worker
                log.exception("on_final hook failed for %s", record.key)

    def apply_callback(self, result: CallbackResult) -> VoucherRecord | None:
        """Apply a verified callback (what :func:`~cr_einvoice.hacienda.callbacks.callback_app` hands over).

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
        try:
            return self._apply_status(
                record, result.estado, result.respuesta, source="callback", report=RoundReport()
            )
        except StoreError as exc:
            # A poll got there first (or another process moved it): nothing to do.
            log.info("callback for %s not applied: %s", result.clave, exc)
            return self.store.get(record.key)

    def apply_callback_body(self, body: bytes) -> VoucherRecord | None:
        """Verify and apply a raw callback body (raises CallbackError when it cannot be trusted)."""
        from cr_einvoice.hacienda.callbacks import parse_callback

        result = parse_callback(body, trust=self.trust, known_claves=self._known)
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
        )

    # -- the per-state steps ----------------------------------------------------------------------
    async def _send(self, record: VoucherRecord, report: RoundReport) -> None:
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
            )
        except StoreError as exc:
            log.debug("%s: not claimed (%s)", key, exc)
            report.skipped += 1
            return
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
        self.store.transition(
            key,
            VoucherState.SUBMITTED,
            next_action_at=self._clock() + delay,
            event="already_received" if already else "submitted",
        )

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
        self.store.reschedule(record.key, self._clock() + delay, error=f"{type(exc).__name__}: {exc}")
        report.deferred += 1
        log.info("%s: deferred %.1fs after %s", record.key, delay, type(exc).__name__)

    def _claim(self, record: VoucherRecord, report: RoundReport) -> VoucherRecord | None:
        """Reserve ``record`` for one lease (None, counted as skipped, when someone else has it)."""
        now = self._clock()
        claimed = self.store.claim(record.key, record.state, now, now + self.settings.lease)
        if claimed is None:
            report.skipped += 1
        return claimed

    async def _check_then_send(self, record: VoucherRecord, report: RoundReport) -> None:
        """A voucher in ``sending`` may have reached Hacienda: ask before sending it again."""
        claimed = self._claim(record, report)
        if claimed is None:
            return
        report.status_checks += 1
        try:
            result = await self.client.status(record.status_key)
        except NotFoundError:
            self._went_online()
            await self._send(claimed, report)
            return
        except CrEinvoiceError as exc:
            self._defer(claimed, exc, report)
            return
        self._went_online()
        self._apply_status(claimed, str(result.estado), result.respuesta, source="status", report=report)

    async def _poll(self, record: VoucherRecord, report: RoundReport) -> None:
        claimed = self._claim(record, report)
        if claimed is None:
            return
        report.polls += 1
        try:
            result = await self.client.status(claimed.status_key)
        except NotFoundError:
            self._went_online()
            misses = self._not_found.get(claimed.key, 0) + 1
            self._not_found[claimed.key] = misses
            if misses >= self.settings.max_not_found_polls:
                # Hacienda acknowledged the POST but does not know the clave: send it again (a duplicate
                # is answered "ya fue recibido", which brings us back to polling).
                self._not_found.pop(claimed.key, None)
                self.store.transition(
                    claimed.key,
                    VoucherState.SENDING,
                    next_action_at=self._clock(),
                    error=f"GET /recepcion answered 404 {misses} times after the POST",
                    event="lost_by_hacienda",
                )
                return
            self.store.reschedule(claimed.key, self._clock() + self._poll_delay(misses))
            return
        except CrEinvoiceError as exc:
            self._defer(claimed, exc, report)
            return
        self._went_online()
        self._not_found.pop(claimed.key, None)
        self._apply_status(claimed, str(result.estado), result.respuesta, source="poll", report=report)

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
            record = self._apply_status(
                record, estado, result.respuesta, source="status", report=RoundReport()
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
        """One round over every voucher that is due now. Returns what was done."""
        report = RoundReport()
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
        """Work until ``stop`` is set (or the task is cancelled)."""
        stop = stop or asyncio.Event()
        while not stop.is_set():
            report = await self.run_once()
            if report.touched:
                log.info(
                    "round: sent %d, checked %d, polled %d, accepted %d, rejected %d, deferred %d",
                    report.sent,
                    report.status_checks,
                    report.polls,
                    report.accepted,
                    report.rejected,
                    report.deferred,
                )
            nxt = self.store.next_due_at()
            wait = (
                self.settings.idle if nxt is None else min(self.settings.idle, max(0.0, nxt - self._clock()))
            )
            if wait > 0:
                stop_task = asyncio.ensure_future(stop.wait())
                sleep_task = asyncio.ensure_future(self._sleep(wait))
                _done, pending = await asyncio.wait(
                    {stop_task, sleep_task}, return_when=asyncio.FIRST_COMPLETED
                )
                for task in pending:
                    task.cancel()
