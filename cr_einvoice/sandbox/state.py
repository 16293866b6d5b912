"""What the simulator remembers: submissions, their states and answers, and the consecutivos in use."""

from __future__ import annotations

import base64
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

__all__ = ["CallbackAttempt", "DuplicateSubmission", "Party", "Submission", "SubmissionStore"]

FINAL_STATES = frozenset({"aceptado", "rechazado"})


class DuplicateSubmission(Exception):
    """The same clave (or clave-consecutivoReceptor) was already received."""


@dataclass(frozen=True, slots=True)
class Party:
    tipo_identificacion: str
    numero_identificacion: str

    def as_json(self) -> dict[str, str]:
        return {
            "tipoIdentificacion": self.tipo_identificacion,
            "numeroIdentificacion": self.numero_identificacion,
        }

    def matches_filter(self, value: str) -> bool:
        """``emisor``/``receptor`` query filters: type followed by the number, padded (``02003101123456``)
        or not (``023101123456``)."""
        if len(value) < 3 or value[:2] != self.tipo_identificacion:
            return False
        return value[2:].lstrip("0") == self.numero_identificacion.lstrip("0")


@dataclass(frozen=True, slots=True)
class CallbackAttempt:
    at: float
    status: int | None  # None: no HTTP answer (timeout, refused)
    error: str = ""


@dataclass(slots=True)
class Submission:
    key: str  # clave, or clave-consecutivoReceptor for a receptor message
    clave: str
    consecutivo_receptor: str | None
    fecha: str
    emisor: Party
    receptor: Party | None
    callback_url: str | None
    xml: bytes
    username: str
    received_at: float
    estado: str = "recibido"
    respuesta_xml: bytes | None = None
    mensaje: int | None = None
    detalle: str = ""
    callback_attempts: list[CallbackAttempt] = field(default_factory=list)
    callback_delivered: bool = False

    @property
    def final(self) -> bool:
        return self.estado in FINAL_STATES

    def status_json(self, *, camel_case: bool = False, upper_case: bool = False) -> dict[str, object]:
        """The body of ``GET /recepcion/{clave}`` and of the callback: hyphenated keys as on the wire, or the
        Anexo 3 callback example's ``indEstado``/``respuestaXml`` and upper-case states (``RECIBIDO``)."""
        estado_key, xml_key = ("indEstado", "respuestaXml") if camel_case else ("ind-estado", "respuesta-xml")
        estado = self.estado.upper() if upper_case else self.estado
        body: dict[str, object] = {"clave": self.clave, "fecha": self.fecha, estado_key: estado}
        if self.respuesta_xml is not None:
            body[xml_key] = base64.b64encode(self.respuesta_xml).decode("ascii")
        if self.callback_url:
            body["callbackUrl"] = self.callback_url
        return body

    def item_json(self) -> dict[str, object]:
        """One item of ``GET /comprobantes``."""
        body: dict[str, object] = {"clave": self.clave, "fecha": self.fecha, "emisor": self.emisor.as_json()}
        if self.receptor is not None:
            body["receptor"] = self.receptor.as_json()
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
    clone = Submission(
        key=sub.key,
        clave=sub.clave,
        consecutivo_receptor=sub.consecutivo_receptor,
        fecha=sub.fecha,
        emisor=sub.emisor,
        receptor=sub.receptor,
        callback_url=sub.callback_url,
        xml=sub.xml,
        username=sub.username,
        received_at=sub.received_at,
        estado=sub.estado,
        respuesta_xml=sub.respuesta_xml,
        mensaje=sub.mensaje,
        detalle=sub.detalle,
        callback_attempts=list(sub.callback_attempts),
        callback_delivered=sub.callback_delivered,
    )
    return clone
