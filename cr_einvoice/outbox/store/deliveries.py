"""Durable e-mail deliveries: the records and the part of the :class:`~cr_einvoice.outbox.store.base.Store`
protocol that keeps them (:class:`DeliveryStore`).

One :class:`DeliveryRecord` per voucher, recipient and stage (``issue``: at issue, ``answer``: after
Hacienda's answer, ``single``: one e-mail after acceptance). Its life::

    pending ──► sending ──► sent | bounced | failed
       ▲           │
       └───────────┤ (a transient failure: attempts + 1, due again after a backoff)
                   └──► uncertain (a crash after the end of the message may have been handed over)

``sending`` is written *before* the SMTP transaction starts. Just before the final ``.`` of the message is
sent -- the moment after which the server may have accepted the message -- the record is marked
``handed_over`` (:meth:`DeliveryStore.hand_over_delivery`). A ``sending`` record whose worker died (its lease
expired or its heartbeat went stale) is recovered by :meth:`DeliveryStore.recover_deliveries`:

- not handed over: the server never saw the end of the message and drops an incomplete transaction
  (RFC 5321 §4.1.1.4), so nothing was delivered: back to ``pending``, sent again with the same Message-ID;
- handed over: the message may have been delivered. It becomes ``uncertain`` and is *never* sent again on
  its own; ``cr-einvoice send CLAVE --force`` (:meth:`DeliveryStore.retry_delivery`) sends it again once a
  person has checked the recipient did not get it. Nothing is ever sent twice without someone asking.

``bounced`` is a recipient the server refused for good (5xx to ``RCPT TO`` or to the message); ``failed``
is a delivery that used up its attempts on transient failures. Both keep the last error.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

# The public names are listed once, in :mod:`cr_einvoice.outbox.store`, which re-exports them.


class DeliveryStage(StrEnum):
    """Which e-mail of a voucher: at issue, after Hacienda's answer, or the only one (after acceptance)."""

    ISSUE = "issue"
    ANSWER = "answer"
    SINGLE = "single"


class DeliveryState(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    BOUNCED = "bounced"
    UNCERTAIN = "uncertain"


#: The states a finished SMTP attempt may record (:meth:`DeliveryStore.finish_delivery`); ``uncertain`` when
#: the connection broke after the end of the message was sent and before the server's reply.
FINISH_STATES = frozenset(
    {
        DeliveryState.PENDING,
        DeliveryState.SENT,
        DeliveryState.FAILED,
        DeliveryState.BOUNCED,
        DeliveryState.UNCERTAIN,
    }
)
#: The states :meth:`DeliveryStore.retry_delivery` sends again from (a person asked for it).
RETRY_STATES = frozenset({DeliveryState.FAILED, DeliveryState.BOUNCED, DeliveryState.UNCERTAIN})


@dataclass(frozen=True, slots=True)
class NewDelivery:
    """One recipient of a planned e-mail: the address and the Message-ID every attempt carries."""

    recipient: str
    message_id: str


@dataclass(frozen=True, slots=True)
class DeliveryRecord:
    """One e-mail to one recipient for one voucher and stage, with where its delivery stands."""

    id: int
    key: str
    recipient: str
    stage: DeliveryStage
    state: DeliveryState
    attempts: int
    last_error: str | None
    #: Stable across attempts: a receiving system can tell a second copy from a new e-mail.
    message_id: str
    #: When a pending delivery is due (epoch s); while ``sending``, when its lease ends.
    next_attempt_at: float
    created_at: datetime
    updated_at: datetime
    sent_at: datetime | None
    #: Whether the end of the message was (about to be) handed to the SMTP server in the current attempt.
    handed_over: bool = False
    #: The worker (or command) holding the delivery while ``sending``.
    lease_owner: str | None = None

    @property
    def is_final(self) -> bool:
        return self.state in (DeliveryState.SENT, DeliveryState.FAILED, DeliveryState.BOUNCED)

    def summary(self) -> dict[str, Any]:
        """The record as plain JSON-ready values."""
        return {
            "id": self.id,
            "key": self.key,
            "recipient": self.recipient,
            "stage": self.stage.value,
            "state": self.state.value,
            "attempts": self.attempts,
            "last_error": self.last_error,
            "message_id": self.message_id,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "sent_at": self.sent_at.isoformat() if self.sent_at else None,
        }


class DeliveryStore(Protocol):
    """What the delivery runner (:mod:`cr_einvoice.outbox.delivering`) needs of a store. Every method is
    atomic; every change is also logged as an event of the voucher (``delivery_<state>``)."""

    def plan_deliveries(
        self, key: str, stage: DeliveryStage, recipients: Sequence[NewDelivery], *, due_at: float = 0.0
    ) -> list[DeliveryRecord]:
        """Record that ``stage`` of voucher ``key`` was planned and add one pending delivery per recipient
        (due at ``due_at``), in one transaction. Planning the same stage again adds nothing and returns the
        existing records (a plan with no recipient is remembered too)."""
        ...

    def add_delivery(
        self, key: str, stage: DeliveryStage, recipient: NewDelivery, *, due_at: float = 0.0
    ) -> tuple[DeliveryRecord, bool]:
        """One more pending delivery (``send --to``); idempotent on (key, recipient, stage): returns the
        existing record and False when there is one."""
        ...

    def get_delivery(self, delivery_id: int) -> DeliveryRecord | None: ...

    def deliveries(self, key: str) -> list[DeliveryRecord]:
        """The deliveries of voucher ``key``, oldest first."""
        ...

    def delivery_counts(self, keys: Sequence[str]) -> dict[str, dict[DeliveryState, int]]:
        """For each of ``keys`` that has deliveries: how many are in each state (for ``list``)."""
        ...

    def due_deliveries(self, now: float, *, limit: int = 100, key: str | None = None) -> list[DeliveryRecord]:
        """Pending deliveries due at ``now`` (epoch s), oldest first; only voucher ``key``'s when given."""
        ...

    def claim_delivery(
        self, delivery_id: int, *, now: float, until: float, owner: str | None = None
    ) -> DeliveryRecord | None:
        """Move a due pending delivery to ``sending`` for ``owner`` (lease until ``until``), *before* any
        SMTP traffic; None when it is not pending and due any more (someone else took it)."""
        ...

    def hand_over_delivery(self, delivery_id: int, *, owner: str | None = None) -> None:
        """Record, before the end of the message is sent, that the server may accept it from now on.
        Raises :class:`~cr_einvoice.core.errors.StoreError` when ``owner`` no longer holds the delivery (it
        was recovered): the sender must then abandon the message without ending it."""
        ...

    def finish_delivery(
        self,
        delivery_id: int,
        state: DeliveryState,
        *,
        error: str | None = None,
        next_attempt_at: float = 0.0,
        owner: str | None = None,
    ) -> DeliveryRecord:
        """End ``owner``'s attempt: ``sent``, ``bounced``/``failed`` (with ``error``), ``uncertain`` (the
        reply to the end of the message never came) or back to ``pending`` due at ``next_attempt_at`` (a
        transient failure). Counts the attempt; the lease ends. The delivery
        must be ``sending`` held by ``owner`` -- or ``uncertain`` after a recovery that judged ``owner`` dead
        too early (what the server said is then the truth) -- else :class:`~cr_einvoice.core.errors.
        StoreError`."""
        ...

    def recover_deliveries(self, now: float, stale_after: float) -> list[DeliveryRecord]:
        """Recover the ``sending`` deliveries whose lease ended or whose owner's heartbeat is older than
        ``stale_after`` s: ``pending`` (due now) when not handed over, else ``uncertain``. Returns them."""
        ...

    def retry_delivery(self, delivery_id: int, *, now: float) -> DeliveryRecord:
        """A person asked to send a ``failed``, ``bounced`` or ``uncertain`` delivery again: ``pending``, due
        at ``now``, same Message-ID. StoreError for any other state."""
        ...
