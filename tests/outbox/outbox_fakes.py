"""An in-memory stand-in for the recepción API, to test the worker's state logic on every error class.

It behaves like Hacienda as far as the worker can tell: a POST registers the clave (a second POST of a known
clave is refused "ya fue recibido"), GET answers 404 for unknown claves and the processing state otherwise,
and a voucher becomes final after ``polls_to_final`` status queries. Scripted faults make a call fail in a
chosen way, before or after the voucher was registered.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from cr_einvoice.core.errors import (
    AuthenticationError,
    BadRequestError,
    NotFoundError,
    RateLimitedError,
    ServerError,
    TransportError,
)
from cr_einvoice.hacienda.recepcion import Submission


@dataclass
class FakeDetalle:
    codigo: int | None
    mensaje: str
    fila: int | None = 0
    columna: int | None = 0


@dataclass
class FakeRespuesta:
    clave: str
    mensaje: int
    errores: tuple[FakeDetalle, ...] = ()
    detalle_mensaje: str = ""
    xml: bytes = b""


@dataclass
class FakeStatus:
    estado: str
    respuesta: FakeRespuesta | None


@dataclass
class FakeSubmit:
    already_received: bool = False


@dataclass
class FakeRecepcion:
    polls_to_final: int = 1
    #: key -> outcome: "aceptado" or "rechazado" (default aceptado)
    verdicts: dict[str, str] = field(default_factory=dict)
    #: queued faults for submit / status: callables raising, each with "after" meaning registered first
    submit_faults: list[tuple[str, bool]] = field(default_factory=list)
    status_faults: list[str] = field(default_factory=list)
    posts: list[tuple[str, bool]] = field(default_factory=list)  # (key, accepted_before)
    gets: list[str] = field(default_factory=list)
    known: dict[str, int] = field(default_factory=dict)  # key -> polls so far
    final: dict[str, str] = field(default_factory=dict)
    on_post: Callable[[str], None] | None = None

    @staticmethod
    def key_of(signed_xml: bytes, consecutivo_receptor: str | None) -> str:
        clave = signed_xml.decode().split("clave=", 1)[1][:50]
        return f"{clave}-{consecutivo_receptor}" if consecutivo_receptor else clave

    def _fault(self, kind: str, url: str) -> Exception:
        if kind == "refused":
            return TransportError("connection refused", url=url, request_sent=False)
        if kind == "timeout":
            return TransportError("read timed out", url=url, request_sent=True)
        if kind == "5xx":
            return ServerError("server error", status=503)
        if kind == "429":
            return RateLimitedError("slow down", status=429)
        if kind == "401":
            return AuthenticationError("bad credentials", status=401)
        if kind == "400":
            return BadRequestError("refused", status=400, error_cause="El XML no es válido contra el esquema")
        raise AssertionError(kind)

    async def submit(
        self,
        signed_xml: bytes,
        *,
        callback_url: str | None = None,
        consecutivo_receptor: str | None = None,
        emisor_tipo: str | None = None,
        receptor_tipo: str | None = None,
        submission: Submission | None = None,
    ) -> FakeSubmit:
        if submission is not None:  # the worker's stored row must name the document it sends
            assert submission.clave == self.key_of(signed_xml, None)[:50]
            consecutivo_receptor = submission.consecutivo_receptor
        key = self.key_of(signed_xml, consecutivo_receptor)
        self.posts.append((key, self.final.get(key) == "aceptado"))
        if self.on_post:
            self.on_post(key)
        if self.submit_faults:
            kind, registered = self.submit_faults.pop(0)
            if registered:
                self.known.setdefault(key, 0)
            raise self._fault(kind, "http://fake/recepcion")
        if key in self.known:
            raise BadRequestError(
                "refused", status=400, error_cause="El comprobante ya fue recibido anteriormente", clave=key
            )
        self.known[key] = 0
        return FakeSubmit()

    async def status(self, clave: str) -> FakeStatus:
        self.gets.append(clave)
        if self.status_faults:
            raise self._fault(self.status_faults.pop(0), "http://fake/recepcion/x")
        if clave not in self.known:
            raise NotFoundError("unknown", status=404, error_cause="no existe", clave=clave)
        self.known[clave] += 1
        if self.known[clave] < self.polls_to_final:
            return FakeStatus("procesando", None)
        verdict = self.verdicts.get(clave, "aceptado")
        self.final[clave] = verdict
        if verdict == "aceptado":
            return FakeStatus("aceptado", FakeRespuesta(clave, 1, xml=b"<MH>1</MH>"))
        errores = (FakeDetalle(-52, "El total del comprobante no coincide"),)
        return FakeStatus("rechazado", FakeRespuesta(clave, 3, errores, xml=b"<MH>3</MH>"))
