"""The worker's per-state steps: send a ``signed`` voucher, check a ``sending`` one before sending it again,
poll a ``submitted`` one; failures deferred with backoff, 404s counted, every voucher claimed by lease
first."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

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
from cr_einvoice.outbox.store import VoucherRecord, VoucherState
from cr_einvoice.outbox.worker_base import RoundReport, is_already_received, log_extra, submission_of
from cr_einvoice.outbox.worker_callbacks import CallbackHandling

if TYPE_CHECKING:
    from cr_einvoice.hacienda.client import SubmitOptions

__all__ = ["Sending"]

log = logging.getLogger("cr_einvoice.worker")


class Sending(CallbackHandling):
    """Sending, checking and polling one voucher (each step claims it first)."""

    def _submit_options(self, record: VoucherRecord) -> SubmitOptions:
        """What ``submit()`` needs beyond the signed bytes, from the stored row (not parsed again)."""
        return {"callback_url": self.callback_url_for(record), "submission": submission_of(record)}

    async def _send(self, record: VoucherRecord, report: RoundReport, **counters: Any) -> None:
        claimed = self._claim_send(record, report, **counters)
        if claimed is not None:
            await self._post(claimed, report)

    def _claim_send(
        self, record: VoucherRecord, report: RoundReport, **counters: Any
    ) -> VoucherRecord | None:
        """Move ``record`` to ``sending`` under this worker's lease (written before the POST); None, counted
        as skipped, when another worker moved it first."""
        now = self._clock()
        try:
            return self.store.transition(
                record.key,
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
            log.debug("%s: not claimed (%s)", record.key, exc)
            report.skipped += 1
            return None

    def _take(self, record: VoucherRecord, report: RoundReport) -> VoucherRecord | None:
        """Claim ``record`` for its next step (:meth:`_claimed_step` does the step): a ``signed`` one moves to
        ``sending``, any other gets this worker's lease. None when another worker has it."""
        if record.state is VoucherState.SIGNED:
            return self._claim_send(record, report)
        return self._claim(record, report)

    async def _claimed_step(self, was: VoucherState, claimed: VoucherRecord, report: RoundReport) -> None:
        """The step of a voucher :meth:`_take` claimed when it was in state ``was``."""
        if was is VoucherState.SIGNED:
            await self._post(claimed, report)
        elif was is VoucherState.SENDING:
            await self._asked(claimed, report, "status", self._not_found_while_sending)
            report.status_checks += 1
        else:
            await self._asked(claimed, report, "poll", self._lost)
            report.polls += 1

    async def _post(self, record: VoucherRecord, report: RoundReport) -> None:
        """POST the claimed ``record`` (already in ``sending``, its lease ours)."""
        key = record.key
        report.sent += 1
        try:
            result = await self.client_for(record).submit(record.signed_xml, **self._submit_options(record))
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
        log.info("%s: submitted", key, extra=log_extra(new))

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
            self._pause(record, self._send_delay(record.attempts + 1))
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
        log.info("%s: deferred %.1fs after %s", record.key, delay, type(exc).__name__, extra=log_extra(new))

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
        asked = await self._ask(record, report, "status", self._not_found_while_sending)
        report.status_checks += asked  # added after the await: steps run concurrently on one report

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
        asked = await self._ask(record, report, "poll", self._lost)
        report.polls += asked  # added after the await: steps run concurrently on one report

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
        await self._asked(claimed, report, source, not_found)
        return 1

    async def _asked(
        self,
        claimed: VoucherRecord,
        report: RoundReport,
        source: str,
        not_found: Callable[[VoucherRecord, RoundReport], Awaitable[None] | None],
    ) -> None:
        """Ask Hacienda for the status of ``claimed`` (its lease ours) and apply the answer."""
        try:
            result = await self.client_for(claimed).status(claimed.status_key)
        except NotFoundError:
            self._went_online()
            pending = not_found(claimed, report)
            if pending is not None:
                await pending
            return
        except CrEinvoiceError as exc:
            self._defer(claimed, exc, report)
            return
        self._went_online()
        new = await self._apply_grouped(
            claimed, str(result.estado), result.respuesta, source=source, report=report
        )
        await self._resend_if_due(new, report)

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
            log.warning("%s: error: %s", record.key, reason, extra=log_extra(new))
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

    async def _resend_if_due(self, record: VoucherRecord, report: RoundReport) -> None:
        """POST now a voucher :meth:`_trouble` decided to send again (it is ``sending``, its lease ours)."""
        if record.state is VoucherState.SENDING and record.lease_owner == self.worker_id:
            await self._post(record, report)
