"""What the API and the console share: one caller's view of the store (only its emisor's vouchers) and the
operations both offer -- issue, list, look at a voucher and Hacienda's answers, ask Hacienda again, issue
again, import and answer a supplier's voucher.

Every method is synchronous (the store and the signer are); the routes run them in the thread pool.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextvars
import dataclasses
import hashlib
import json
import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from cr_einvoice.core.catalogs import TipoDocumento
from cr_einvoice.core.errors import Problem, ValidationError
from cr_einvoice.outbox.store import (
    ApiKeyRecord,
    ReceivedPage,
    ReceivedRecord,
    RespuestaRecord,
    Store,
    VoucherPage,
    VoucherRecord,
    VoucherState,
)
from cr_einvoice.service.auth import ApiKeys
from cr_einvoice.service.guards import RateLimiter
from cr_einvoice.service.problems import HTTPProblem
from cr_einvoice.service.settings import ServiceSettings

if TYPE_CHECKING:
    from cr_einvoice.outbox.issuing import IssuedVoucher, Issuer, IssuerSettings
    from cr_einvoice.outbox.worker import Worker
    from cr_einvoice.service.backend import Backend
    from cr_einvoice.vouchers.model import Document

__all__ = ["API_THREADS", "Caller", "ServiceContext", "decode_cursor", "encode_cursor"]

log = logging.getLogger("cr_einvoice.service")

_IDEMPOTENCY_EVENT = "api_request"
_T = TypeVar("_T")

#: How many API requests' work runs at once (the threads of :meth:`ServiceContext.in_thread`; as many as
#: Starlette's own thread pool has).
API_THREADS = 40


def encode_cursor(at: datetime, key: str) -> str:
    """The opaque cursor of a listing's last row: when it was stored and its key (or clave)."""
    raw = json.dumps([at.isoformat(), key]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(text: str) -> tuple[str, str]:
    try:
        value = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except (ValueError, binascii.Error):
        value = None
    if not (isinstance(value, list) and len(value) == 2 and all(isinstance(v, str) for v in value)):
        raise ValidationError("not a cursor this service gave", path="cursor")
    return value[0], value[1]


def not_found(what: str) -> HTTPProblem:
    return HTTPProblem(404, "not-found", "Not found", f"no {what} for this key's emisor")


def tipo_code(text: str) -> str:
    """A document type as its code (``01``): the code itself or the JSON input format's abbreviation."""
    from cr_einvoice.vouchers.jsonio import ALIASES

    code = {v: k for k, v in ALIASES.items() if k.isdigit() and len(k) == 2}.get(text.lower(), text)
    try:
        return TipoDocumento(code).value
    except ValueError:
        raise ValidationError(
            f"unknown document type {text!r} (01..10 or fe, te, nc ...)", path="tipo"
        ) from None


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is calling: an API key (``who`` is its id) or a console user (``user:NAME``), and its emisor."""

    who: str
    emisor: str

    @classmethod
    def of(cls, record: ApiKeyRecord) -> Caller:
        return cls(record.key_id, record.emisor)


class ServiceContext:
    """The service's state: the backend, its API keys, the rate limiter and the worker of this process."""

    def __init__(self, backend: Backend, settings: ServiceSettings) -> None:
        self.backend = backend
        self.settings = settings
        self.keys = ApiKeys(backend.store)
        self.limiter = RateLimiter(settings.rate_per_second, settings.rate_burst)
        #: The worker running in this process (None: workers run as separate processes).
        self.worker: Worker | None = None
        #: A worker object that receives Hacienda's callbacks (the running one, or one that only receives).
        self.callbacks: Callable[..., Any] | None = None
        self._taxpayers: dict[str, tuple[str, IssuerSettings]] = {}
        self._issuers: dict[str, Issuer] = {}
        self._lock = threading.Lock()
        #: The threads the API's work runs in (made when first needed; idle ones wait for the next request).
        self.pool = ThreadPoolExecutor(max_workers=API_THREADS, thread_name_prefix="cr-einvoice-api")

    async def in_thread(self, work: Callable[[], _T]) -> _T:
        """``work()`` run in :attr:`pool` with the caller's context variables, as Starlette's
        ``run_in_threadpool`` runs it, but handed to an idle thread directly: about 0.1 ms sooner per request
        than through anyio's worker threads (``benchmarks/bench_service.py``); submitted to the pool itself,
        which skips the checks ``loop.run_in_executor`` makes of its function on every call."""
        context = contextvars.copy_context()
        return await asyncio.wrap_future(self.pool.submit(context.run, work))

    @property
    def store(self) -> Store:
        return self.backend.store

    # -- who may do what --------------------------------------------------------------------------
    def _taxpayer(self, caller: Caller) -> tuple[str, IssuerSettings]:
        """(name, settings) of the configured taxpayer that is the caller's emisor; 403 when none is."""
        with self._lock:
            found = self._taxpayers.get(caller.emisor)
        if found is None:
            taxpayer = self.backend.config.taxpayer_of(caller.emisor)
            if taxpayer is None:
                raise HTTPProblem(
                    403,
                    "other-emisor",
                    "This service does not sign for the key's emisor",
                    f"the key belongs to emisor {caller.emisor}, which is not a taxpayer configured here",
                )
            found = (taxpayer.name, taxpayer.issuer_settings())
            with self._lock:
                self._taxpayers[caller.emisor] = found
        return found

    def taxpayer(self, caller: Caller) -> IssuerSettings:
        """Who issues for the caller's emisor (refused when this service does not sign for it); the signing
        key is not loaded."""
        return self._taxpayer(caller)[1]

    def issuer_for(self, caller: Caller) -> Issuer:
        """The issuer of the caller's emisor (refused when this service does not sign for it), one per
        taxpayer, kept."""
        name = self._taxpayer(caller)[0]
        with self._lock:
            issuer = self._issuers.get(name)
        if issuer is None:
            issuer = self.backend.issuer(name)
            with self._lock:
                issuer = self._issuers.setdefault(name, issuer)
        return issuer

    def voucher(self, caller: Caller, key: str) -> VoucherRecord:
        """The caller's voucher ``key`` (or its clave); 404 for an unknown one or another emisor's."""
        record = self.store.find(key)
        if record is None or owner_of(record) != caller.emisor:
            raise not_found(f"voucher {key}")
        return record

    # -- issuing ----------------------------------------------------------------------------------
    def issue(self, caller: Caller, body: bytes, idempotency_key: str | None) -> IssuedVoucher:
        """Issue the JSON document ``body``; with ``idempotency_key`` a retry (same key, same body) returns
        the voucher issued the first time, and the same key with another body is refused (422). What public
        data completed or says about the voucher is in its ``notes`` (``[publicdata] enabled``)."""
        issuer = self.issuer_for(caller)
        if idempotency_key is not None and (
            not 1 <= len(idempotency_key) <= 100 or not idempotency_key.isprintable()
        ):
            raise ValidationError("1 to 100 printable characters", path="Idempotency-Key")
        document, notes = issuer.prepare_json(body)
        issued = (
            issuer.issue(document)
            if idempotency_key is None
            else self._issue_once(issuer, document, caller.emisor, idempotency_key, body)
        )
        return dataclasses.replace(issued, notes=notes + issued.notes) if notes else issued

    def _issue_once(
        self, issuer: Issuer, document: Document, emisor: str, idempotency_key: str, body: bytes
    ) -> IssuedVoucher:
        """Issue ``document`` under ``idempotency_key``: the voucher issued the first time when the key was
        used before with the same ``body`` (422 with another body)."""
        digest = hashlib.sha256(body).hexdigest()

        def record(issued: IssuedVoucher) -> None:
            self.store.log_event(
                issued.key, _IDEMPOTENCY_EVENT, {"idempotency_key": idempotency_key, "body_sha256": digest}
            )

        # The voucher and the record of the body it was issued for in one transaction (one fsync): a retry
        # never finds the voucher without the record -- not after a crash, not while the first request is
        # between the two -- so it always compares its body with the first one's.
        issued = issuer.issue(document, external_ref=f"api:{emisor}:{idempotency_key}", along=record)
        if issued.created:
            return issued
        first = [
            e.detail.get("body_sha256") for e in self.store.events(issued.key) if e.kind == _IDEMPOTENCY_EVENT
        ]
        if first and first[0] != digest:
            raise HTTPProblem(
                422,
                "idempotency-key-reused",
                "Idempotency-Key reused with another body",
                f"Idempotency-Key {idempotency_key!r} was used for {issued.key} with a different body",
                problems=[Problem("Idempotency-Key", "already used with a different request body")],
            )
        return issued

    def reissue(self, caller: Caller, key: str) -> IssuedVoucher:
        record = self.voucher(caller, key)
        return self.issuer_for(caller).reissue(record.key)

    # -- reading ----------------------------------------------------------------------------------
    def page(
        self,
        caller: Caller,
        *,
        state: str | None = None,
        tipo: str | None = None,
        since: str | None = None,
        until: str | None = None,
        cursor: str | None = None,
        limit: int = 50,
    ) -> tuple[list[VoucherRecord], str | None]:
        """One page of the caller's vouchers, newest first, and the cursor of the next page (or None)."""
        problems = _page_problems(since, until, limit)
        wanted: VoucherState | None = None
        if state:
            try:
                wanted = VoucherState(state)
            except ValueError:
                choices = ", ".join(s.value for s in VoucherState)
                problems.append(Problem("state", f"unknown state {state!r} (one of {choices})"))
        if problems:
            raise ValidationError(problems)
        query = VoucherPage(
            owner=caller.emisor,
            state=wanted,
            tipo=tipo_code(tipo) if tipo else None,
            since=since or None,
            until=until or None,
            after=decode_cursor(cursor) if cursor else None,
            limit=limit + 1,
        )
        rows = self.store.page_vouchers(query)
        more = len(rows) > limit
        rows = rows[:limit]
        return rows, encode_cursor(rows[-1].created_at, rows[-1].key) if more and rows else None

    def respuestas(self, record: VoucherRecord) -> list[RespuestaRecord]:
        return list(self.store.respuestas(record.key))

    def render_pdf(self, caller: Caller, key: str, page_format: str = "a4") -> bytes:
        """The graphic representation of the caller's voucher (:func:`cr_einvoice.delivery.pdf.render_pdf`),
        with Hacienda's answer when there is one: ``a4``, ``letter``, ``80mm`` or ``58mm``."""
        from cr_einvoice.delivery.pdf import render_pdf

        record = self.voucher(caller, key)
        answer = next((a.raw_xml for a in reversed(self.respuestas(record)) if a.raw_xml), None)
        return render_pdf(
            record.signed_xml, respuesta_xml=answer, estado=record.state.value, format=page_format
        )

    def respuesta_xml(self, caller: Caller, key: str) -> bytes:
        record = self.voucher(caller, key)
        for answer in reversed(self.respuestas(record)):
            if answer.raw_xml:
                return answer.raw_xml
        raise not_found(f"answer from Hacienda for {record.key} yet")

    # -- received vouchers ------------------------------------------------------------------------
    def received(self, caller: Caller, clave: str) -> ReceivedRecord:
        record = self.store.get_received(clave)
        if record is None or record.receptor_numero != caller.emisor:
            raise not_found(f"received voucher {clave}")
        return record

    def received_page(
        self,
        caller: Caller,
        *,
        decision: str | None = None,
        tipo: str | None = None,
        emisor: str | None = None,
        since: str | None = None,
        until: str | None = None,
        cursor: str | None = None,
        limit: int = 50,
    ) -> tuple[list[ReceivedRecord], str | None]:
        """One page of the vouchers the caller's emisor received, newest first, and the cursor of the next
        page (or None). ``decision``: ``pending``, ``answered``, ``accept``, ``partial`` or ``reject``;
        ``emisor``: the supplier's identification number."""
        from cr_einvoice.outbox.receiving import DECISIONS

        problems = _page_problems(since, until, limit)
        answered: bool | None = None
        code: str | None = None
        if decision in ("pending", "answered"):
            answered = decision == "answered"
        elif decision in DECISIONS:
            code = DECISIONS[decision].tipo_documento.value
        elif decision:
            problems.append(
                Problem(
                    "decision",
                    f"unknown decision {decision!r} (pending, answered, accept, partial or reject)",
                )
            )
        if emisor and not (emisor.isdigit() and 9 <= len(emisor) <= 12):
            problems.append(
                Problem("emisor", f"must be an identification number (9 to 12 digits), got {emisor!r}")
            )
        if problems:
            raise ValidationError(problems)
        query = ReceivedPage(
            owner=caller.emisor,
            answered=answered,
            decision=code,
            tipo=tipo_code(tipo) if tipo else None,
            emisor=emisor or None,
            since=since or None,
            until=until or None,
            after=decode_cursor(cursor) if cursor else None,
            limit=limit + 1,
        )
        rows = self.store.page_received(query)
        more = len(rows) > limit
        rows = rows[:limit]
        return rows, encode_cursor(rows[-1].received_at, rows[-1].clave) if more and rows else None

    def import_received(self, caller: Caller, xml: bytes) -> ReceivedRecord:
        return self.backend.receiver(self._taxpayer(caller)[0]).import_voucher(xml)

    def answer_received(self, caller: Caller, clave: str, decision: str, reason: str | None) -> IssuedVoucher:
        self.received(caller, clave)
        return self.backend.receiver(self._taxpayer(caller)[0]).respond(
            clave, decision, reason=reason or None
        )

    # -- the worker -------------------------------------------------------------------------------
    def wake(self) -> None:
        """Tell the worker of this process that there is work (call it from the event loop)."""
        if self.worker is not None:
            self.worker.wake()


def owner_of(record: VoucherRecord) -> str | None:
    """The taxpayer a stored voucher belongs to: the emisor of its own vouchers, the receptor (this
    taxpayer) of a MensajeReceptor."""
    return record.taxpayer


def _is_day(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return len(text) == 10


def _page_problems(since: str | None, until: str | None, limit: int) -> list[Problem]:
    """What is wrong with a listing's date filters and page size."""
    problems = []
    if not 1 <= limit <= 200:
        problems.append(Problem("limit", "must be 1..200"))
    for name, value in (("since", since), ("until", until)):
        if value and not _is_day(value):
            problems.append(Problem(name, f"must be a date YYYY-MM-DD, got {value!r}"))
    return problems
