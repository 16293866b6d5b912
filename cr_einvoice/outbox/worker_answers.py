"""Applying Hacienda's answer (a poll, a status check or a callback) to a stored voucher: the final states,
``ind-estado: error`` and the transient rejections (query again, send again, then ``error``)."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from cr_einvoice.core.errors import StoreError
from cr_einvoice.hacienda import wire
from cr_einvoice.hacienda.wire import Estado
from cr_einvoice.outbox.answers import detalle, errores, raw_xml, summary, transient
from cr_einvoice.outbox.store import VoucherRecord, VoucherState
from cr_einvoice.outbox.worker_base import RoundReport, WorkerBase, log_extra

__all__ = ["AnswerApplying"]


@dataclass(slots=True)
class _Pending:
    """An answer waiting for the group's transaction (:meth:`AnswerApplying._apply_grouped`)."""

    record: VoucherRecord
    estado: str
    respuesta: Any
    source: str
    report: RoundReport
    future: asyncio.Future[VoucherRecord]


log = logging.getLogger("cr_einvoice.worker")


class AnswerApplying(WorkerBase):
    """Moves a voucher according to Hacienda's answer; every count persisted in the store."""

    #: Answers waiting for their group's transaction (:meth:`_apply_grouped`).
    _answers: list[_Pending]

    def _apply_status(
        self, record: VoucherRecord, estado: str, respuesta: Any, *, source: str, report: RoundReport
    ) -> VoucherRecord:
        """Move ``record`` according to Hacienda's ``ind-estado`` and store the MensajeHacienda if any."""
        with self.store.atomic():  # the answer and the state change: one transaction
            new = self._apply_status_tx(record, estado, respuesta, source=source, report=report)
        if new.is_final:
            self._final(new)  # the user's hook runs after the commit
        return new

    async def _apply_grouped(
        self, record: VoucherRecord, estado: str, respuesta: Any, *, source: str, report: RoundReport
    ) -> VoucherRecord:
        """:meth:`_apply_status`, in one transaction with the other answers that arrived in the same turn of
        the event loop: one commit (one wait for the disk, one turn at the store) for them all. Each is
        final only once that transaction committed; if any of them fails, all are rolled back and each is
        applied on its own."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[VoucherRecord] = loop.create_future()
        self._answers.append(_Pending(record, estado, respuesta, source, report, future))
        if len(self._answers) == 1:
            loop.call_soon(self._commit_answers)
        return await future

    def _commit_answers(self) -> None:
        batch, self._answers = self._answers, []
        try:
            self._commit_batch(batch)
        finally:  # whatever happened, no caller waits for ever
            for p in batch:
                if not p.future.done():
                    p.future.set_exception(StoreError(f"{p.record.key}: Hacienda's answer was not stored"))

    def _commit_batch(self, batch: list[_Pending]) -> None:
        done: list[tuple[VoucherRecord, RoundReport]] = []
        applied: list[tuple[VoucherRecord, RoundReport]] | None = done
        try:
            with self.store.atomic():
                for p in batch:
                    scratch = RoundReport()  # merged into the caller's report once committed
                    new = self._apply_status_tx(
                        p.record, p.estado, p.respuesta, source=p.source, report=scratch
                    )
                    done.append((new, scratch))
        except Exception as exc:  # rolled back: each on its own below
            log.debug("answers of %d voucher(s) applied one by one: %s", len(batch), exc)
            applied = None
        for i, p in enumerate(batch):
            if applied is not None:
                new, scratch = applied[i]
                p.report.merge(scratch)
                if new.is_final:
                    self._final(new)  # the user's hook runs after the commit
                if not p.future.cancelled():
                    p.future.set_result(new)
                continue
            if p.future.cancelled():
                continue  # the worker is stopping: its lease is released, the voucher asked about again
            try:
                p.future.set_result(
                    self._apply_status(p.record, p.estado, p.respuesta, source=p.source, report=p.report)
                )
            except Exception as exc:
                p.future.set_exception(exc)

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
            log.info("%s: sending again after %s", record.key, what, extra=log_extra(new))
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
        log.warning("%s: error: %s", record.key, reason, extra=log_extra(new))
        return new
