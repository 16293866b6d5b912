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

Several taxpayers: given a mapping ``{numero_identificacion: client}`` instead of one client, the worker sends
and asks about each voucher with the client of its taxpayer (:attr:`VoucherRecord.taxpayer
<cr_einvoice.outbox.store.VoucherRecord.taxpayer>`: its own token and rate limiter), pauses only that
taxpayer's sending after a 429, and leaves the vouchers of taxpayers it has no client for alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import itertools
import logging
import os
import time
from collections.abc import AsyncIterator, Callable, Sequence

from cr_einvoice.core.errors import CrEinvoiceError, NotFoundError, StoreError
from cr_einvoice.outbox.answers import TRANSIENT_TEXTS
from cr_einvoice.outbox.callback_server import CallbackServer
from cr_einvoice.outbox.store import VoucherRecord, VoucherState
from cr_einvoice.outbox.worker_base import (
    AsyncRecepcion,
    RoundReport,
    Status,
    Submitted,
    WorkerSettings,
    is_already_received,
    submission_of,
)
from cr_einvoice.outbox.worker_sending import Sending

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
    "submission_of",
]

log = logging.getLogger("cr_einvoice.worker")

#: The longest one call of the store's wait_for_work lasts while the worker idles (seconds).
LISTEN_SLICE = 0.25


def _quiet(task: asyncio.Future[bool]) -> None:
    """Take a finished wait's outcome: one the worker stopped waiting for must not be reported as lost."""
    if not task.cancelled() and task.exception() is not None:
        log.debug("waiting for work failed: %s", task.exception())


class Worker(Sending):
    """Drives stored vouchers through Hacienda. ``client`` is a :class:`cr_einvoice.hacienda.AsyncClient`.

    The constructor is :class:`~cr_einvoice.outbox.worker_base.WorkerBase`'s; the steps come from
    :class:`~cr_einvoice.outbox.worker_sending.Sending` (answers, callbacks and sending by inheritance).
    """

    @contextlib.asynccontextmanager
    async def _slot(self, key: str, report: RoundReport) -> AsyncIterator[None]:
        """One of the worker's concurrent steps, on voucher ``key``: a voucher another worker moved between
        our read and our write (StoreError) is counted as skipped, not raised."""
        async with self._sem:
            try:
                yield
            except StoreError as exc:
                log.info("%s: %s", key, exc)
                report.skipped += 1

    async def _step(self, record: VoucherRecord, report: RoundReport) -> None:
        """The step of a voucher a round read (:meth:`run_once`, :meth:`drain`)."""
        async with self._slot(record.key, report):
            if record.state is VoucherState.SIGNED:
                if self._paused(record):
                    report.deferred += 1
                    return
                await self._send(record, report)
            elif record.state is VoucherState.SENDING:
                await self._check_then_send(record, report)
            elif record.state in (VoucherState.SUBMITTED, VoucherState.PROCESSING):
                await self._poll(record, report)

    async def _claimed(self, was: VoucherState, claimed: VoucherRecord, report: RoundReport) -> None:
        """The step of a voucher the continuous driver claimed (in state ``was`` before)."""
        async with self._slot(claimed.key, report):
            await self._claimed_step(was, claimed, report)

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
            result = await self.client_for(record).status(record.status_key)
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
            if self.serves(v)
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

    #: Sends the vouchers' e-mails after every round, in a thread (``Deliverer.run``; set by
    #: :meth:`cr_einvoice.app.runtime.Runtime.worker` when ``[delivery] enabled`` is true).
    mailer: Callable[[], object] | None = None

    async def _round(self, limit: int | None) -> RoundReport:
        report = await self._voucher_round(limit)
        if self.mailer is not None:
            try:
                await asyncio.to_thread(self.mailer)
            except CrEinvoiceError as exc:  # the vouchers go on; the e-mails are tried again next round
                log.warning("e-mail delivery: %s", exc)
        return report

    async def _voucher_round(self, limit: int | None) -> RoundReport:
        report = RoundReport()
        for key in self.store.recover_leases(time.time(), self.settings.stale_after):
            log.warning("%s: taken back from a worker that stopped beating", key)
        due = self._due(limit or self.settings.batch)
        if not due:
            return report
        if not self._is_online():
            # Contingency: probe with one voucher; only when it gets through, go on with the rest.
            await self._step(due[0], report)
            if not self._is_online():
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

    def _due(self, limit: int, signed: bool | None = None) -> list[VoucherRecord]:
        """Up to ``limit`` due vouchers this worker serves (``signed``: see
        :meth:`~cr_einvoice.outbox.store.base.Store.due`); other taxpayers' are left alone (not claimed)."""
        now, ask = self._clock(), limit
        while True:
            due = (
                self.store.due(now, limit=ask)
                if signed is None
                else self.store.due(now, limit=ask, signed=signed)
            )
            mine = [r for r in due if self.serves(r)]
            self._others_due = len(mine) < len(due)
            if len(mine) >= limit or len(due) < ask:
                return mine[:limit]
            ask *= 4

    def _pending(self, keys: Sequence[str] | None) -> list[VoucherRecord]:
        idle = (VoucherState.ACCEPTED, VoucherState.REJECTED, VoucherState.ERROR)
        if keys is None:
            return [
                v
                for v in self.store.due(float("inf"), limit=1_000_000)
                if v.state not in idle and self.serves(v)
            ]
        out = []
        for key in keys:
            v = self.store.get(key)
            if v is not None and v.state not in idle and self.serves(v):
                out.append(v)
        return out

    async def _sleep(self, seconds: float) -> None:
        """Sleep up to ``seconds``; woken early by :meth:`wake` (this process) or by the store
        (:meth:`~cr_einvoice.outbox.store.base.Store.wait_for_work`: on PostgreSQL, a voucher issued on any
        node). The store is asked in slices of :data:`LISTEN_SLICE` s, so a stop never waits long for it."""
        self._wake.clear()
        deadline = time.monotonic() + max(0.001, seconds)
        woken = asyncio.ensure_future(self._wake.wait())
        try:
            while (left := deadline - time.monotonic()) > 0 and not woken.done():
                heard = asyncio.ensure_future(
                    asyncio.to_thread(self.store.wait_for_work, min(left, LISTEN_SLICE))
                )
                heard.add_done_callback(_quiet)
                await asyncio.wait({woken, heard}, return_when=asyncio.FIRST_COMPLETED)
                if heard.done() and not heard.cancelled() and heard.exception() is None and heard.result():
                    return
        finally:
            woken.cancel()

    async def run_forever(self, stop: asyncio.Event | None = None) -> None:
        """Work until ``stop`` is set (or the task is cancelled).

        Up to ``concurrency`` vouchers are in flight at once, and a slot that frees is refilled at once with
        the voucher due next -- one just issued, or one whose poll time came -- without waiting for the
        others in flight (no rounds). The worker wakes when a voucher in flight lands, when the store hears
        of new work (:meth:`~cr_einvoice.outbox.store.base.Store.wait_for_work`), at the next due time, and
        at least every ``idle`` seconds. Offline, one voucher at a time probes Hacienda. Work in progress is
        abandoned when ``stop`` is set -- a voucher interrupted in ``sending`` is asked about before it is
        sent again -- so the worker stops within a fraction of a second; its leases are released."""
        stop = stop or asyncio.Event()
        stop_task = asyncio.ensure_future(stop.wait())
        flight = _Flight(self)
        listener = asyncio.ensure_future(self._listen())
        try:
            async with self.alive():
                while not stop.is_set():
                    self._wake.clear()
                    wait = flight.refill()
                    flight.raise_failure()
                    wake_task = asyncio.ensure_future(self._wake.wait())
                    await asyncio.wait(
                        {stop_task, wake_task}, timeout=wait, return_when=asyncio.FIRST_COMPLETED
                    )
                    wake_task.cancel()
                    flight.raise_failure()
        finally:
            stop_task.cancel()
            listener.cancel()
            await flight.abandon()
            self.retire()

    async def _listen(self) -> None:
        """Wake the driver whenever the store hears of new work (asked in slices of :data:`LISTEN_SLICE` s,
        in a thread)."""
        while True:
            try:
                heard = await asyncio.to_thread(self.store.wait_for_work, LISTEN_SLICE)
            except Exception as exc:  # a listening connection lost: looked at again at the next slice
                log.debug("waiting for work failed: %s", exc)
                await asyncio.sleep(LISTEN_SLICE)
                continue
            if heard:
                self._wake.set()


#: The fewest vouchers the continuous driver asks the store for when it looks for due ones.
LOOK_AHEAD = 8

_COUNTS = [f.name for f in dataclasses.fields(RoundReport) if f.name != "outcomes"]

#: How often the continuous driver logs what it did (seconds), and looks for vouchers of dead workers.
REPORT_EVERY = 5.0


class _Flight:
    """The vouchers :meth:`Worker.run_forever` has in flight, its running report and e-mail runs."""

    def __init__(self, worker: Worker) -> None:
        self.worker = worker
        self.tasks: dict[str, asyncio.Task[None]] = {}
        self.report = RoundReport()
        self.logged = RoundReport()
        self.failure: BaseException | None = None
        self.reported = time.monotonic()
        self.recovered = float("-inf")
        self.mail: asyncio.Future[object] | None = None
        self.mail_started = float("-inf")
        self.mail_finals = 0

    def refill(self) -> float:
        """Launch due vouchers into the free slots; the longest wait before looking again (seconds)."""
        w, now = self.worker, time.monotonic()
        if now - self.recovered >= w.settings.heartbeat:
            self.recovered = now
            for key in w.store.recover_leases(time.time(), w.settings.stale_after):
                log.warning("%s: taken back from a worker that stopped beating", key)
        concurrency = w.settings.concurrency
        free = concurrency - len(self.tasks)
        launched = others = 0
        # Slots are refilled a few at a time (each look is a query), at once when nothing is in flight.
        if free >= max(1, concurrency // 4) or not self.tasks:
            candidates, others = self._candidates(free)
            for was, record in self._take(candidates[:free]):
                task = asyncio.ensure_future(w._claimed(was, record, self.report))
                self.tasks[record.key] = task
                task.add_done_callback(functools.partial(self._landed, record.key))
                launched += 1
        self._mail(now)
        self._log(now)
        idle = w.settings.idle
        if self.tasks and concurrency - len(self.tasks) < max(1, concurrency // 4):
            return idle  # a landing wakes the driver
        nxt = w.store.next_due_at()
        wait = idle if nxt is None else min(idle, max(0.0, nxt - w._clock()))
        if wait == 0 and not launched:
            # What is due cannot be taken now (another taxpayer's, paused, already in flight).
            wait = idle if others else min(idle, LISTEN_SLICE)
        return wait

    def _candidates(self, free: int) -> tuple[list[VoucherRecord], bool]:
        """Due vouchers for ``free`` slots, those already sent (checks, polls) taking turns with those to send
        so that neither waits for the other; and whether other taxpayers' were due."""
        w = self.worker
        if not w._is_online(recent=True):  # contingency: one voucher at a time probes Hacienda
            return ([] if self.tasks else w._due(1)), w._others_due
        due = [r for r in w._due(max(free + 1, LOOK_AHEAD)) if r.key not in self.tasks]
        others = w._others_due
        to_send = [r for r in due if r.state is VoucherState.SIGNED]
        sent = [r for r in due if r.state is not VoucherState.SIGNED]
        if len(to_send) > free:  # never sent ones come first: ask for the checks and polls due too
            sent = [r for r in w._due(free, signed=False) if r.key not in self.tasks]
            others = others or w._others_due
        to_send = [r for r in to_send if not w._paused(r)]  # paused after a 429: looked at again later
        mixed = [r for pair in itertools.zip_longest(sent, to_send) for r in pair if r is not None]
        return mixed, others

    def _take(self, records: list[VoucherRecord]) -> list[tuple[VoucherState, VoucherRecord]]:
        """Claim ``records`` in one transaction -- one commit, one wait for the disk, one turn at the store
        for them all (the ``sending`` moves are durable before any POST) -- as (state before, claimed)."""
        w = self.worker
        taken: list[tuple[VoucherState, VoucherRecord]] = []
        if not records:
            return taken
        try:
            with w.store.atomic():
                for record in records:
                    claimed = w._take(record, self.report)
                    if claimed is not None:
                        taken.append((record.state, claimed))
        except StoreError as exc:  # nothing was claimed; looked at again at the next refill
            log.warning("claiming %d voucher(s) failed: %s", len(records), exc)
            return []
        return taken

    def _landed(self, key: str, task: asyncio.Task[None]) -> None:
        self.tasks.pop(key, None)
        if not task.cancelled() and task.exception() is not None and self.failure is None:
            self.failure = task.exception()
        self.worker._wake.set()

    def raise_failure(self) -> None:
        """A step failed with an unexpected exception: the driver stops with it (as a round did)."""
        if self.failure is not None:
            raise self.failure

    def _mail(self, now: float) -> None:
        """Run the mailer in a thread when vouchers became final since its last run, or every ``idle``."""
        w = self.worker
        if w.mailer is None or (self.mail is not None and not self.mail.done()):
            return
        if self.mail is not None:
            done, self.mail = self.mail, None
            exc = done.exception()
            if isinstance(exc, CrEinvoiceError):  # the vouchers go on; the e-mails are tried again
                log.warning("e-mail delivery: %s", exc)
            elif exc is not None:
                self.failure = self.failure or exc
        r = self.report
        finals = r.accepted + r.rejected + r.errors
        if finals != self.mail_finals or now - self.mail_started >= w.settings.idle:
            self.mail_finals, self.mail_started = finals, now
            self.mail = asyncio.ensure_future(asyncio.to_thread(w.mailer))
            self.mail.add_done_callback(lambda _: w._wake.set())

    def _log(self, now: float) -> None:
        """Log what was done since the last line (when the flight empties, at most every REPORT_EVERY s)."""
        r = self.report
        done = RoundReport(**{f: getattr(r, f) - getattr(self.logged, f) for f in _COUNTS})
        if not done.touched or (self.tasks and now - self.reported < REPORT_EVERY):
            return
        log.info(
            "worked: sent %d, checked %d, polled %d, accepted %d, rejected %d, errors %d, deferred %d",
            done.sent,
            done.status_checks,
            done.polls,
            done.accepted,
            done.rejected,
            done.errors,
            done.deferred,
            extra={"round": dataclasses.asdict(done) | {"outcomes": len(r.outcomes)}},
        )
        self.logged = dataclasses.replace(r, outcomes={})
        self.reported = now
        r.outcomes.clear()  # a worker that runs for months keeps no list of every voucher

    async def abandon(self) -> None:
        """Cancel what is in flight (leases are released by :meth:`Worker.retire`)."""
        tasks = list(self.tasks.values())
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
