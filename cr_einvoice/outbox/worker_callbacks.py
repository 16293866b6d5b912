"""The worker's side of Hacienda's callbacks: the per-voucher callback URL, applying a verified callback (an
untrusted one only makes the worker ask), and the ASGI receiver
(:func:`cr_einvoice.hacienda.callbacks.callback_app`)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from cr_einvoice.core.errors import StoreError
from cr_einvoice.outbox.store import VoucherRecord, VoucherState
from cr_einvoice.outbox.worker_answers import AnswerApplying
from cr_einvoice.outbox.worker_base import RoundReport

if TYPE_CHECKING:
    from cr_einvoice.hacienda.callbacks import CallbackResult

__all__ = ["CallbackHandling"]

log = logging.getLogger("cr_einvoice.worker")


class CallbackHandling(AnswerApplying):
    """Callback URLs and the receiver's hand-over (:meth:`apply_callback`)."""

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
