"""Asynchronous processing: recibido → procesando → aceptado/rechazado, the signed answer, callbacks.

A scheduler thread keeps a time-ordered queue of due actions; validation and signing run on a small pool of
worker threads, callbacks on another pool so a slow receiver never delays processing. Callbacks follow
Anexo 3: POST the status JSON; anything but HTTP 200 (or a timeout) is retried 3 times, then given up (the
status stays available through ``GET /recepcion/{clave}``). Callback delivery uses a plain httpx client
rather than :class:`cr_einvoice.transport.http.HTTPCore` because it emulates Hacienda's own retry rule, which
differs from the package's client policy.
"""

from __future__ import annotations

import heapq
import itertools
import json
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import httpx
from lxml import etree

from cr_einvoice.hacienda.wire import Estado
from cr_einvoice.sandbox.checks import Verdict, VoucherChecker
from cr_einvoice.sandbox.mensaje import MensajeHaciendaData, detalle_mensaje, render_mensaje_hacienda
from cr_einvoice.sandbox.settings import SimulatorSettings
from cr_einvoice.sandbox.state import CallbackAttempt, SubmissionStore

__all__ = ["Processor"]

log = logging.getLogger("cr_einvoice.sandbox")


@dataclass(order=True, slots=True)
class _Task:
    due: float
    seq: int
    kind: str = field(compare=False)
    key: str = field(compare=False)
    attempt: int = field(compare=False, default=0)


class Processor:
    """Owns the background threads. ``sign`` turns the unsigned MensajeHacienda into signed bytes."""

    def __init__(
        self,
        settings: SimulatorSettings,
        store: SubmissionStore,
        checker: VoucherChecker,
        sign: Callable[[bytes], bytes],
    ) -> None:
        self._settings = settings
        self._store = store
        self._checker = checker
        self._sign = sign
        self._heap: list[_Task] = []
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._stopping = False
        self._workers = ThreadPoolExecutor(settings.workers, thread_name_prefix="sandbox-worker")
        self._callbacks = ThreadPoolExecutor(8, thread_name_prefix="sandbox-callback")
        self._http = httpx.Client(timeout=settings.callback_timeout, follow_redirects=False)
        self._thread = threading.Thread(target=self._run, name="sandbox-scheduler", daemon=True)
        self._busy = 0
        #: Vouchers the recepción already read, by key, until their processing takes them.
        self._trees: dict[str, etree._Element] = {}

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        with self._cond:
            self._stopping = True
            self._heap.clear()
            self._cond.notify_all()
        self._thread.join(timeout)
        self._workers.shutdown(wait=True, cancel_futures=True)
        self._callbacks.shutdown(wait=True, cancel_futures=True)
        self._http.close()

    # -- scheduling -------------------------------------------------------------------------------------
    def _schedule(self, delay: float, kind: str, key: str, attempt: int = 0) -> None:
        with self._cond:
            if self._stopping:
                return
            heapq.heappush(self._heap, _Task(time.monotonic() + delay, next(self._seq), kind, key, attempt))
            self._cond.notify()

    def received(self, key: str, tree: etree._Element | None = None) -> None:
        """A submission was stored as ``recibido``: schedule its processing. ``tree``: the voucher as the
        recepción already read it (handed over, not read again)."""
        s = self._settings
        if tree is not None:
            self._trees[key] = tree
        procesando = s.procesando_after if s.procesando_after is not None else s.processing_delay / 2
        if procesando < s.processing_delay:  # processing at once: no "procesando" in between to show
            self._schedule(procesando, "procesando", key)
        self._schedule(s.processing_delay, "finalize", key)

    def pending(self) -> int:
        """Scheduled or running actions (for tests waiting until the simulator is quiet)."""
        with self._cond:
            return len(self._heap) + self._busy

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._stopping and (not self._heap or self._heap[0].due > time.monotonic()):
                    wait = self._heap[0].due - time.monotonic() if self._heap else None
                    self._cond.wait(timeout=wait)
                if self._stopping:
                    return
                task = heapq.heappop(self._heap)
                self._busy += 1
            pool = self._callbacks if task.kind == "callback" else self._workers
            try:
                pool.submit(self._execute, task)
            except RuntimeError:  # shut down meanwhile
                self._done()
                return

    def _done(self) -> None:
        with self._cond:
            self._busy -= 1

    def _execute(self, task: _Task) -> None:
        try:
            if task.kind == "procesando":
                self._store.transition(task.key, Estado.RECIBIDO, Estado.PROCESANDO)
            elif task.kind == "finalize":
                self._finalize(task.key)
            elif task.kind == "callback":
                self._callback(task.key, task.attempt)
        except Exception:
            log.exception("sandbox: %s of %s failed", task.kind, task.key)
            if task.kind == "finalize":
                self._store.update(task.key, estado=Estado.ERROR)
        finally:
            self._done()

    # -- processing -------------------------------------------------------------------------------------
    def _finalize(self, key: str) -> None:
        tree = self._trees.pop(key, None)
        sub = self._store.get(key)
        if sub is None or sub.final:
            return
        if self._settings.faults.take_processing_error():
            self._store.update(key, estado=Estado.ERROR)
            log.info("sandbox fault: %s ends in state error", key)
            return
        verdict = self._checker.evaluate(sub, tree)
        data = self._mensaje_data(sub.clave, verdict)
        signed = self._sign(render_mensaje_hacienda(data))
        estado = Estado.ACEPTADO if verdict.accepted else Estado.RECHAZADO
        updated = self._store.update(
            key, estado=estado, respuesta_xml=signed, mensaje=data.mensaje, detalle=data.detalle
        )
        log.info("sandbox: %s %s", key, estado)
        if updated is not None and updated.callback_url:
            self._schedule(0.0, "callback", key, 0)

    def _mensaje_data(self, clave: str, v: Verdict) -> MensajeHaciendaData:
        return MensajeHaciendaData(
            clave=clave,
            nombre_emisor=v.nombre_emisor or "DESCONOCIDO",
            tipo_identificacion_emisor=v.tipo_emisor or "",
            numero_cedula_emisor=v.numero_emisor or "",
            nombre_receptor=None if v.desconocido else v.nombre_receptor,
            tipo_identificacion_receptor=v.tipo_receptor,
            numero_cedula_receptor=v.numero_receptor,
            mensaje=1 if v.accepted else 3,
            detalle=detalle_mensaje(self._settings.detalle_prefix, v.findings, accepted=v.accepted),
            monto_total_impuesto=None if v.desconocido else v.monto_total_impuesto,
            total_factura=v.total_factura,
        )

    # -- callbacks --------------------------------------------------------------------------------------
    def _callback(self, key: str, attempt: int) -> None:
        sub = self._store.get(key)
        if sub is None or not sub.callback_url:
            return
        s = self._settings
        body = json.dumps(
            sub.answer().to_json(camel_case=s.callback_camel_case, upper_case=s.upper_case_states)
        ).encode("utf-8")
        status: int | None = None
        error = ""
        try:
            response = self._http.post(
                sub.callback_url, content=body, headers={"Content-Type": "application/json"}
            )
            status = response.status_code
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"
        delivered = status == 200
        self._store.add_callback_attempt(key, CallbackAttempt(time.time(), status, error), delivered)
        if delivered:
            return
        if attempt < self._settings.callback_retries:
            self._schedule(self._settings.callback_retry_delay, "callback", key, attempt + 1)
        else:
            log.warning(
                "sandbox: callback for %s not received after %d attempts; the result stays available "
                "through GET /recepcion/%s",
                key,
                attempt + 1,
                key,
            )
