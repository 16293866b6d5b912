"""What the simulator remembers: submissions, their states and answers, and the consecutivos in use."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace

from cr_einvoice.core.identifiers import Identificacion
from cr_einvoice.hacienda.wire import FINAL_ESTADOS, Estado, RecepcionRequest, StatusAnswer, parties_json

__all__ = ["CallbackAttempt", "DuplicateSubmission", "Submission", "SubmissionStore"]


class DuplicateSubmission(Exception):
    """The same clave (or clave-consecutivoReceptor) was already received."""


@dataclass(frozen=True, slots=True)
class CallbackAttempt:
    at: float
    status: int | None  # None: no HTTP answer (timeout, refused)
    error: str = ""


#: The fields of a :class:`RecepcionRequest` a :class:`Submission` keeps under the same names.
_KEPT_OF_REQUEST = ("clave", "consecutivo_receptor", "fecha", "emisor", "receptor", "callback_url")


@dataclass(slots=True)
class Submission:
    key: str  # clave, or clave-consecutivoReceptor for a receptor message
    clave: str
    consecutivo_receptor: str | None
    fecha: str
    emisor: Identificacion
    receptor: Identificacion | None
    callback_url: str | None
    xml: bytes
    username: str
    received_at: float
    estado: str = Estado.RECIBIDO
    respuesta_xml: bytes | None = None
    mensaje: int | None = None
    detalle: str = ""
    callback_attempts: list[CallbackAttempt] = field(default_factory=list)
    callback_delivered: bool = False

    @classmethod
    def received(cls, request: RecepcionRequest, username: str, at: float) -> Submission:
        """A new submission (``recibido``) from a checked POST body."""
        kept = {name: getattr(request, name) for name in _KEPT_OF_REQUEST}
        return cls(key=request.key, xml=request.comprobante_xml, username=username, received_at=at, **kept)

    @property
    def final(self) -> bool:
        return self.estado in FINAL_ESTADOS

    def answer(self) -> StatusAnswer:
        """The body of ``GET /recepcion/{clave}`` and of the callback (see :meth:`StatusAnswer.to_json`)."""
        xml = self.respuesta_xml
        return StatusAnswer(
            clave=self.clave,
            estado=self.estado,
            fecha=self.fecha,
            respuesta_xml=StatusAnswer.encode_xml(xml) if xml is not None else None,
            callback_url=self.callback_url,
        )

    def item_json(self) -> dict[str, object]:
        """One item of ``GET /comprobantes``."""
        body: dict[str, object] = parties_json(self.clave, self.fecha, self.emisor, self.receptor)
        if self.consecutivo_receptor:
            body["consecutivoReceptor"] = self.consecutivo_receptor
        body["ind-estado"] = self.estado
        return body


@dataclass(frozen=True, slots=True)
class ConsecutivoUse:
    clave: str
    received_at: float


class SubmissionStore:
    """Thread-safe in-memory store. Every read returns a snapshot copy, so callers never race the worker."""

    def __init__(self, max_items: int = 50_000) -> None:
        self._lock = threading.Lock()
        self._max_items = max_items
        self._items: dict[str, Submission] = {}
        self._consecutivos: dict[tuple[str, str], ConsecutivoUse] = {}

    def add(self, sub: Submission) -> None:
        with self._lock:
            if sub.key in self._items:
                raise DuplicateSubmission(sub.key)
            self._items[sub.key] = sub
            if len(self._items) > self._max_items:
                # Like Hacienda's sandbox database, old answered submissions may disappear.
                excess = len(self._items) - self._max_items
                for old in [k for k, s in self._items.items() if s.final][:excess]:
                    del self._items[old]

    def get(self, key: str) -> Submission | None:
        with self._lock:
            sub = self._items.get(key)
            return _copy(sub) if sub is not None else None

    def forget_retryable(self, key: str, is_retryable: Callable[[Submission], bool]) -> bool:
        """Forget ``key`` when ``is_retryable`` says a new POST may replace it (``ind-estado`` error, a
        transient rejection); True when it was forgotten."""
        with self._lock:
            sub = self._items.get(key)
            if sub is None or not is_retryable(sub):
                return False
            del self._items[key]
            return True

    def update(self, key: str, **changes: object) -> Submission | None:
        with self._lock:
            sub = self._items.get(key)
            if sub is None:
                return None
            for name, value in changes.items():
                setattr(sub, name, value)
            return _copy(sub)

    def transition(self, key: str, expected: str, new: str) -> bool:
        """Move ``key`` from state ``expected`` to ``new`` atomically; False when it was in another state."""
        with self._lock:
            sub = self._items.get(key)
            if sub is None or sub.estado != expected:
                return False
            sub.estado = new
            return True

    def add_callback_attempt(self, key: str, attempt: CallbackAttempt, delivered: bool) -> None:
        with self._lock:
            sub = self._items.get(key)
            if sub is not None:
                sub.callback_attempts.append(attempt)
                sub.callback_delivered = sub.callback_delivered or delivered

    def claim_consecutivo(
        self, emisor: str, consecutivo: str, clave: str, at: float
    ) -> ConsecutivoUse | None:
        """Record that ``clave`` uses ``consecutivo`` for ``emisor``; return another clave's earlier use."""
        with self._lock:
            key = (emisor.lstrip("0"), consecutivo)
            earlier = self._consecutivos.get(key)
            if earlier is not None and earlier.clave != clave:
                return earlier
            if earlier is None:
                self._consecutivos[key] = ConsecutivoUse(clave, at)
            return None

    def all(self) -> list[Submission]:
        with self._lock:
            return [_copy(s) for s in self._items.values()]

    def __iter__(self) -> Iterator[Submission]:
        return iter(self.all())

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    def clear(self) -> None:
        """Forget everything (Hacienda: the sandbox database "se puede limpiar en cualquier momento")."""
        with self._lock:
            self._items.clear()
            self._consecutivos.clear()


def _copy(sub: Submission) -> Submission:
    return replace(sub, callback_attempts=list(sub.callback_attempts))
