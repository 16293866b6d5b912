"""Durable e-mail delivery of the vouchers: who gets which e-mail when, and sending them, exactly once.

Planning (:meth:`Deliverer.plan`) looks at our own vouchers (never a MensajeReceptor) and, per the mode:

``one`` (the default)
    one e-mail (stage ``single``) once Hacienda accepted the voucher: signed XML, PDF and Hacienda's answer;
``two``
    one e-mail at issue (stage ``issue``: signed XML and PDF, sent before Hacienda answers, as DGT-R-48-2016
    allows) and one after acceptance (stage ``answer``: the XML, the PDF and Hacienda's answer).

The recipients are the receptor's e-mail address from the signed voucher plus the configured copies; a
voucher without a receptor address (a tiquete to an anonymous buyer) has none, and a rejected voucher is
never sent to anyone (its stages are planned empty, so it is not looked at again). Each recipient gets a
:class:`~cr_einvoice.outbox.store.DeliveryRecord` with a stable Message-ID.

Sending (:meth:`Deliverer.run_due`): each due delivery is claimed (``sending``) before the SMTP transaction,
marked *handed over* just before the end of the message, and finished ``sent``, ``bounced`` (the server
refused the recipient or the message for good; an address that is not a plain e-mail address too),
``failed`` (our side must change, or ``max_attempts`` transient failures) or ``uncertain``; a transient
failure makes it due again after an exponential backoff. A sender that dies is recovered by
:meth:`Deliverer.recover` (see :mod:`cr_einvoice.outbox.store.deliveries`): nothing handed over is repeated
on its own.
"""

from __future__ import annotations

import logging
import os
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol

from cr_einvoice.core.errors import ConfigError, CrEinvoiceError, ExitCode, StoreError, ValidationError
from cr_einvoice.core.mailaddr import mail_address, mail_addresses
from cr_einvoice.delivery.mail import message_id, render_mail, voucher_facts
from cr_einvoice.delivery.smtp import Outcome, SendResult
from cr_einvoice.outbox.store import (
    DeliveryRecord,
    DeliveryStage,
    DeliveryState,
    NewDelivery,
    Store,
    VoucherKind,
    VoucherRecord,
    VoucherState,
)
from cr_einvoice.transport.http import backoff_delay

__all__ = [
    "Deliverer",
    "DeliveryRefusedError",
    "DeliveryReport",
    "DeliverySettings",
    "MailSender",
    "PdfRenderer",
    "force",
    "summarize",
]

log = logging.getLogger("cr_einvoice.delivery")

MODES = ("one", "two")
_NOT_YET_ANSWERED = (
    VoucherState.SIGNED,
    VoucherState.SENDING,
    VoucherState.SUBMITTED,
    VoucherState.PROCESSING,
)
_ESTADO = {VoucherState.ACCEPTED: "aceptado", VoucherState.REJECTED: "rechazado"}


class DeliveryRefusedError(CrEinvoiceError):
    """A voucher that is not e-mailed to anyone: Hacienda rejected it, or it is our MensajeReceptor."""

    exit_code = ExitCode.REJECTED


class MailSender(Protocol):
    """What the deliverer needs of :class:`cr_einvoice.delivery.smtp.SmtpSender`."""

    def send(
        self, message: bytes, *, sender: str, recipient: str, before_end: Callable[[], None] | None = None
    ) -> SendResult: ...

    def close(self) -> None: ...


#: Renders the PDF of a voucher: ``(signed_xml, respuesta_xml, estado) -> bytes``.
PdfRenderer = Callable[[bytes, bytes | None, str | None], bytes]


@dataclass(frozen=True, slots=True)
class DeliverySettings:
    """``[delivery]``. Times are seconds."""

    #: The From address (the emisor's name is shown with it).
    sender: str
    #: ``one`` e-mail after acceptance, or ``two``: at issue and after the answer.
    mode: str = "one"
    #: Addresses that get a copy of every e-mail sent to a receptor.
    copies: tuple[str, ...] = ()
    reply_to: str | None = None
    #: Transient failures before a delivery is given up as ``failed``.
    max_attempts: int = 8
    backoff_base: float = 60.0
    backoff_max: float = 3600.0
    #: How long a claimed delivery is held (longer than one SMTP transaction can take).
    lease: float = 300.0
    #: A sender whose heartbeat is older than this is dead: its deliveries are recovered.
    stale_after: float = 90.0
    #: Only vouchers issued within this many seconds are planned (enabling delivery on an old store does
    #: not e-mail its whole history).
    lookback: float = 7 * 86400.0
    batch: int = 100
    #: A From address per taxpayer (its identification -> address); others use ``sender``.
    senders: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        mail_address(self.sender, field="delivery.sender")
        for taxpayer, address in self.senders.items():
            mail_address(address, field=f"delivery.senders[{taxpayer}]")
        mail_addresses(list(self.copies), field="delivery.copies")
        if self.reply_to:
            mail_address(self.reply_to, field="delivery.reply_to")
        if self.mode not in MODES:
            raise ConfigError(f"delivery.mode must be 'one' or 'two', got {self.mode!r}")
        if self.max_attempts < 1:
            raise ConfigError(f"delivery.max_attempts must be at least 1, got {self.max_attempts}")
        if not 0 < self.backoff_base <= self.backoff_max:
            raise ConfigError("delivery.backoff_base must be positive and not above delivery.backoff_max")

    def sender_for(self, taxpayer: str) -> str:
        """The From address of a voucher issued by ``taxpayer`` (its identification number)."""
        return self.senders.get(taxpayer, self.sender)


@dataclass(frozen=True, slots=True)
class _Materials:
    """What the e-mails of one voucher's stage share: the voucher, Hacienda's answer, the estado, the PDF."""

    record: VoucherRecord
    respuesta: bytes | None
    estado: str | None
    pdf: bytes | None


@dataclass
class DeliveryReport:
    """What one run did, by outcome (delivery ids)."""

    planned: int = 0
    sent: list[int] = field(default_factory=list)
    bounced: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    retry: list[int] = field(default_factory=list)
    uncertain: list[int] = field(default_factory=list)
    recovered: int = 0

    @property
    def touched(self) -> int:
        return len(self.sent) + len(self.bounced) + len(self.failed) + len(self.retry) + len(self.uncertain)


def _stages(mode: str, state: VoucherState) -> list[tuple[DeliveryStage, bool]]:
    """The stages to plan for a voucher in ``state``: (stage, whether it has recipients)."""
    rejected = state is VoucherState.REJECTED
    if mode == "one":
        return [(DeliveryStage.SINGLE, state is VoucherState.ACCEPTED)] if state in _ESTADO else []
    stages = []
    if state in _NOT_YET_ANSWERED or state in _ESTADO:
        stages.append((DeliveryStage.ISSUE, not rejected))
    if state in _ESTADO:
        stages.append((DeliveryStage.ANSWER, not rejected))
    return stages


def _check_mailable(record: VoucherRecord) -> None:
    if record.kind is not VoucherKind.ISSUED:
        raise DeliveryRefusedError(
            f"{record.key} is our MensajeReceptor on a supplier's voucher: Hacienda's answer reaches the "
            "supplier, it is not e-mailed"
        )


class Deliverer:
    """Plans and sends the e-mails of the vouchers in ``store``. ``connect`` opens a :class:`MailSender`
    (one per run, closed at its end); ``render_pdf`` makes the PDF (None: no PDF attached)."""

    def __init__(
        self,
        store: Store,
        connect: Callable[[], MailSender],
        settings: DeliverySettings,
        *,
        render_pdf: PdfRenderer | None = None,
        owner: str | None = None,
    ) -> None:
        self.store = store
        self.connect = connect
        self.settings = settings
        self.render_pdf = render_pdf
        #: Who holds the deliveries this deliverer claims (a worker id: its heartbeat says it lives).
        self.owner = owner or f"mail-{os.getpid()}-{uuid.uuid4().hex[:8]}"

    # -- planning ---------------------------------------------------------------------------------
    def recipients(self, record: VoucherRecord) -> list[str]:
        """The receptor's address (from the signed XML) and the copies; none without a receptor address."""
        correo = voucher_facts(record.signed_xml).receptor_correo
        if not correo:
            return []
        try:
            customer = mail_address(correo, field="Receptor/CorreoElectronico")
        except ValidationError:
            customer = " ".join(correo.split())  # kept as written: its delivery is recorded as refused
        return list(dict.fromkeys([customer, *self.settings.copies]))

    def plan_voucher(self, record: VoucherRecord) -> list[DeliveryRecord]:
        """Plan the stages due for ``record`` now (see the module docstring)."""
        _check_mailable(record)
        planned: list[DeliveryRecord] = []
        for stage, with_recipients in _stages(self.settings.mode, record.state):
            people = self.recipients(record) if with_recipients else []
            news = [NewDelivery(to, message_id(record.key, stage.value, to)) for to in people]
            planned += self.store.plan_deliveries(record.key, stage, news)
        return planned

    def plan(self, now: float | None = None) -> int:
        """Plan every voucher that reached a stage; returns how many vouchers were planned."""
        since = datetime.fromtimestamp(now or time.time(), UTC) - timedelta(seconds=self.settings.lookback)
        count = 0
        stages = (
            [DeliveryStage.SINGLE]
            if self.settings.mode == "one"
            else [DeliveryStage.ISSUE, DeliveryStage.ANSWER]
        )
        for stage in stages:
            states = list(_ESTADO) if stage is not DeliveryStage.ISSUE else [*_NOT_YET_ANSWERED, *_ESTADO]
            for record in self.store.vouchers_to_plan(stage, states, since=since, limit=self.settings.batch):
                try:
                    self.plan_voucher(record)
                except CrEinvoiceError as exc:  # a voucher whose XML cannot be read is not e-mailed
                    log.warning(
                        "voucher %s: e-mail not planned: %s", record.key, exc, extra={"key": record.key}
                    )
                    self.store.plan_deliveries(record.key, stage, [])
                count += 1
        return count

    def add_recipient(self, key: str, recipient: str) -> DeliveryRecord:
        """One more e-mail of voucher ``key`` to ``recipient`` (``send --to``): the latest stage it has
        (``single``/``answer`` once answered, else ``issue``); idempotent per recipient and stage."""
        record = self.store.require(key)
        _check_mailable(record)
        if record.state is VoucherState.REJECTED:
            raise DeliveryRefusedError(
                f"voucher {key} was rejected by Hacienda; it is not e-mailed to anyone"
            )
        to = mail_address(recipient, field="--to")
        if record.state in _ESTADO:
            stage = DeliveryStage.SINGLE if self.settings.mode == "one" else DeliveryStage.ANSWER
        else:
            stage = DeliveryStage.ISSUE
        new = NewDelivery(to, message_id(record.key, stage.value, to))
        delivery, _ = self.store.add_delivery(record.key, stage, new, due_at=0.0)
        return delivery

    # -- sending ----------------------------------------------------------------------------------
    def recover(self, now: float | None = None) -> list[DeliveryRecord]:
        return self.store.recover_deliveries(now or time.time(), self.settings.stale_after)

    def run(self, *, now: float | None = None, key: str | None = None) -> DeliveryReport:
        """Recover, plan and send what is due: one round of the worker (``key``: that voucher only)."""
        report = DeliveryReport(recovered=len(self.recover(now)))
        report.planned = self.plan(now)
        self.run_due(report, now=now, key=key)
        if report.touched:
            log.info(
                "e-mail: %d sent, %d bounced, %d failed, %d to retry, %d uncertain",
                *(
                    len(x)
                    for x in (report.sent, report.bounced, report.failed, report.retry, report.uncertain)
                ),
            )
        return report

    def run_due(self, report: DeliveryReport, *, now: float | None = None, key: str | None = None) -> None:
        """Send the due deliveries (``key``: that voucher's only), over one connection."""
        at = now or time.time()
        due = self.store.due_deliveries(at, limit=self.settings.batch, key=key)
        if not due:
            return
        sender = self.connect()
        beat = 0.0
        try:
            cache: dict[tuple[str, str], _Materials] = {}
            for delivery in due:
                if time.monotonic() - beat > self.settings.stale_after / 3:
                    # Alive: another sender must not take what this one holds (recover_deliveries).
                    self.store.heartbeat(self.owner, time.time())
                    beat = time.monotonic()
                self._deliver(delivery, sender, cache, report, at=at)
        finally:
            sender.close()

    def _materials(self, delivery: DeliveryRecord, cache: dict[tuple[str, str], _Materials]) -> _Materials:
        """What a delivery's e-mail is made of (shared by the recipients of one stage)."""
        slot = (delivery.key, delivery.stage.value)
        if slot not in cache:
            record = self.store.require(delivery.key)
            respuesta: bytes | None = None
            estado: str | None = None
            if delivery.stage is not DeliveryStage.ISSUE:
                estado = _ESTADO.get(record.state)
                respuesta = next(
                    (r.raw_xml for r in reversed(self.store.respuestas(record.key)) if r.raw_xml), None
                )
            pdf = self.render_pdf(record.signed_xml, respuesta, estado) if self.render_pdf else None
            cache[slot] = _Materials(record, respuesta, estado, pdf)
        return cache[slot]

    def _deliver(
        self,
        delivery: DeliveryRecord,
        sender: MailSender,
        cache: dict[tuple[str, str], _Materials],
        report: DeliveryReport,
        *,
        at: float,
    ) -> None:
        owner = self.owner
        until = max(at, time.time()) + self.settings.lease
        claimed = self.store.claim_delivery(delivery.id, now=at, until=until, owner=owner)
        if claimed is None:
            return  # another sender took it
        try:
            mail_address(claimed.recipient, field="recipient")
        except ValidationError as exc:
            self._finish(claimed, DeliveryState.BOUNCED, f"not sent: {exc}", report.bounced)
            return
        try:
            got = self._materials(claimed, cache)
            from_address = self.settings.sender_for(got.record.taxpayer)
            message = render_mail(
                got.record.signed_xml,
                stage=claimed.stage.value,
                sender=from_address,
                recipient=claimed.recipient,
                msg_id=claimed.message_id,
                pdf=got.pdf,
                respuesta_xml=got.respuesta,
                estado=got.estado,
                reply_to=self.settings.reply_to,
            )
        except ValidationError as exc:  # the same voucher and answer would fail the same way again
            self._finish(
                claimed, DeliveryState.FAILED, f"the e-mail could not be composed: {exc}", report.failed
            )
            return
        except CrEinvoiceError as exc:  # e.g. the [pdf] extra missing: fixable, tried again
            self._transient(claimed, f"the e-mail could not be composed: {exc}", report)
            return
        try:
            result = sender.send(
                message,
                sender=from_address,
                recipient=claimed.recipient,
                before_end=lambda: self.store.hand_over_delivery(claimed.id, owner=owner),
            )
        except StoreError as exc:  # the lease was lost before the end: the message was not completed
            log.warning("delivery %d: %s", claimed.id, exc, extra={"key": claimed.key})
            return
        self._outcome(claimed, result, report)

    def _outcome(self, delivery: DeliveryRecord, result: SendResult, report: DeliveryReport) -> None:
        if result.outcome is Outcome.SENT:
            self._finish(delivery, DeliveryState.SENT, None, report.sent)
        elif result.outcome is Outcome.REFUSED:
            self._finish(delivery, DeliveryState.BOUNCED, result.detail, report.bounced)
        elif result.outcome is Outcome.FAILED:
            self._finish(delivery, DeliveryState.FAILED, result.detail, report.failed)
        elif result.outcome is Outcome.UNCERTAIN:
            self._finish(delivery, DeliveryState.UNCERTAIN, result.detail, report.uncertain)
        else:
            self._transient(delivery, result.detail, report)

    def _transient(self, delivery: DeliveryRecord, error: str, report: DeliveryReport) -> None:
        attempt = delivery.attempts + 1
        if attempt >= self.settings.max_attempts:
            self._finish(delivery, DeliveryState.FAILED, f"{error} (after {attempt} attempts)", report.failed)
            return
        s = self.settings
        delay = backoff_delay(attempt, s.backoff_base, s.backoff_max, floor=0.5)
        self.store.finish_delivery(
            delivery.id,
            DeliveryState.PENDING,
            error=error,
            next_attempt_at=time.time() + delay,
            owner=self.owner,
        )
        report.retry.append(delivery.id)
        log.info("delivery %d to %s: %s; again in %.0f s", delivery.id, delivery.recipient, error, delay)

    def _finish(
        self, delivery: DeliveryRecord, state: DeliveryState, error: str | None, bucket: list[int]
    ) -> None:
        self.store.finish_delivery(delivery.id, state, error=error, owner=self.owner)
        bucket.append(delivery.id)
        level = logging.INFO if state is DeliveryState.SENT else logging.WARNING
        log.log(
            level,
            "delivery %d of %s to %s: %s%s",
            delivery.id,
            delivery.key,
            delivery.recipient,
            state.value,
            f" ({error})" if error else "",
            extra={"key": delivery.key},
        )


def force(
    store: Store, key: str, *, recipient: str | None = None, now: float | None = None
) -> list[DeliveryRecord]:
    """Send again the ``failed``, ``bounced`` and ``uncertain`` deliveries of voucher ``key`` (of
    ``recipient`` only, when given): a person checked they did not arrive (``send --force``)."""
    again = []
    for delivery in store.deliveries(key):
        if delivery.state in (DeliveryState.FAILED, DeliveryState.BOUNCED, DeliveryState.UNCERTAIN) and (
            recipient is None or delivery.recipient == recipient
        ):
            again.append(store.retry_delivery(delivery.id, now=now or time.time()))
    return again


def summarize(deliveries: Sequence[DeliveryRecord]) -> str:
    """``2 sent, 1 bounced`` for a voucher's deliveries ('' when there are none)."""
    counts: dict[str, int] = {}
    for d in deliveries:
        counts[d.state.value] = counts.get(d.state.value, 0) + 1
    return ", ".join(f"{n} {state}" for state, n in counts.items())
