"""The 50-digit clave numérica and the 20-digit NumeroConsecutivo (Anexos v4.4, Notas 3, 4 and 4.1).

Clave layout (1-based positions)::

    1-3 país "506" | 4-9 DDMMYY | 10-21 identificación (12) | 22-41 consecutivo (20)
    | 42 situación | 43-50 código de seguridad

Consecutivo layout: ``SSS`` sucursal, ``TTTTT`` terminal, ``DD`` tipo de documento, ``NNNNNNNNNN`` número.

Decisions taken here (documented because the official text leaves them open):

* **Dates.** The clave carries the Costa Rica local date (UTC-06:00 all year, no DST) of FechaEmision,
  whatever the host time zone. Aware datetimes are converted to CR time; **naive datetimes are refused**
  with a :class:`~cr_einvoice.core.errors.ClaveError` (a naive value could be host-local, UTC or CR time,
  and guessing wrong puts the wrong date in the clave around midnight). A plain :class:`datetime.date` is
  taken as a CR calendar date.
* **Identification types 05 and 06** (up to 20 alphanumerics) have no clave padding in Nota 4.1. We accept
  them only when the number is 1-12 digits, left-padded with zeros to 12 like the other types; anything else
  raises ClaveError explaining the open point instead of inventing a truncation rule.
* **Error paths** name the part, with Python slice notation over the 50 (or 20) characters:
  ``clave[3:9] fecha``, ``clave[9:21] identificacion``, ``consecutivo[8:10] tipo``; errors in the inputs of
  :meth:`Clave.build` / :class:`Consecutivo` use the argument names (``consecutivo.terminal``,
  ``numero_identificacion``).
* The security code comes from :mod:`secrets` (8 digits, leading zeros allowed).
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

from cr_einvoice.core.catalogs import Situacion, TipoDocumento, TipoIdentificacion
from cr_einvoice.core.errors import ClaveError

__all__ = [
    "CR_TZ",
    "PAIS",
    "Clave",
    "Consecutivo",
    "clave_identificacion",
    "cr_date",
    "cr_now",
    "identificacion_problem",
    "new_codigo_seguridad",
    "to_cr_time",
]

#: Costa Rica time: UTC-06:00 all year (IANA America/Costa_Rica has had no DST since 1992).
CR_TZ = timezone(timedelta(hours=-6))
#: Country code, clave positions 1-3.
PAIS = "506"

_ID_RULES: dict[TipoIdentificacion, tuple[re.Pattern[str], str]] = {
    TipoIdentificacion.CEDULA_FISICA: (re.compile(r"[1-9]\d{8}"), "9 digits without a leading zero"),
    TipoIdentificacion.CEDULA_JURIDICA: (re.compile(r"\d{10}"), "10 digits"),
    TipoIdentificacion.DIMEX: (re.compile(r"[1-9]\d{10,11}"), "11 or 12 digits without a leading zero"),
    TipoIdentificacion.NITE: (re.compile(r"\d{10}"), "10 digits"),
    TipoIdentificacion.EXTRANJERO_NO_DOMICILIADO: (
        re.compile(r"[A-Za-z0-9]{1,20}"),
        "1 to 20 letters or digits",
    ),
    TipoIdentificacion.NO_CONTRIBUYENTE: (re.compile(r"[A-Za-z0-9]{1,20}"), "1 to 20 letters or digits"),
}


def cr_now() -> datetime:
    """The current time in Costa Rica (aware, UTC-06:00), microseconds dropped (FechaEmision precision)."""
    return datetime.now(CR_TZ).replace(microsecond=0)


def to_cr_time(value: datetime, *, field: str = "fecha") -> datetime:
    """Convert an aware datetime to Costa Rica time; a naive datetime raises ClaveError naming ``field``."""
    if not isinstance(value, datetime):
        raise ClaveError(f"expected a datetime, got {type(value).__name__}", path=field)
    if value.tzinfo is None or value.utcoffset() is None:
        raise ClaveError(
            f"{value.isoformat()} has no time zone; give an offset (2026-07-15T09:30:00-06:00) or an aware "
            "datetime (tzinfo=cr_einvoice.core.clave.CR_TZ, or cr_now()) so the clave carries "
            "the Costa Rica date",
            path=field,
        )
    return value.astimezone(CR_TZ)


def cr_date(value: datetime | date, *, field: str = "fecha") -> date:
    """The Costa Rica calendar date of ``value`` (a ``date`` is taken as already being a CR date)."""
    if isinstance(value, datetime):
        return to_cr_time(value, field=field).date()
    if isinstance(value, date):
        return value
    raise ClaveError(f"expected a datetime or date, got {type(value).__name__}", path=field)


def _tipo_identificacion(value: TipoIdentificacion | str, path: str) -> TipoIdentificacion:
    try:
        return TipoIdentificacion(value)
    except ValueError:
        codes = ", ".join(t.value for t in TipoIdentificacion)
        raise ClaveError(
            f"unknown identification type {value!r} (expected one of {codes})", path=path
        ) from None


def identificacion_problem(tipo: TipoIdentificacion | str, numero: str) -> str | None:
    """Why ``numero`` is not a valid identification of type ``tipo`` (Nota 4), or None when it is."""
    try:
        kind = TipoIdentificacion(tipo)
    except ValueError:
        return f"unknown identification type {tipo!r}"
    pattern, rule = _ID_RULES[kind]
    if not isinstance(numero, str) or not pattern.fullmatch(numero):
        return f"identification type {kind.value} ({kind.name}) must be {rule}, got {numero!r}"
    return None


def clave_identificacion(
    tipo: TipoIdentificacion | str, numero: str, *, path: str = "numero_identificacion"
) -> str:
    """The 12-digit clave segment (positions 10-21) for an identification (Nota 4.1).

    01 → ``000`` + 9 digits, 02/04 → ``00`` + 10, 03 → 11 digits get one ``0``, 12 stay as they are. 05/06 are
    not defined by Nota 4.1: accepted only when numeric and at most 12 digits (zero-padded), else ClaveError.
    """
    kind = _tipo_identificacion(tipo, "tipo_identificacion")
    problem = identificacion_problem(kind, numero)
    if problem is not None:
        raise ClaveError(problem, path=path)
    if kind in (TipoIdentificacion.EXTRANJERO_NO_DOMICILIADO, TipoIdentificacion.NO_CONTRIBUYENTE) and not (
        numero.isdigit() and len(numero) <= 12
    ):
        raise ClaveError(
            f"identification type {kind.value} number {numero!r} does not fit the clave: Hacienda's Nota 4.1 "
            "defines no 12-digit clave segment for types 05/06 (an open point); this library only accepts "
            "numeric numbers of at most 12 digits for them, zero-padded on the left",
            path=path,
        )
    return numero.rjust(12, "0")


def new_codigo_seguridad() -> str:
    """A fresh 8-digit security code from the operating system's CSPRNG."""
    return f"{secrets.randbelow(10**8):08d}"


def _int_part(value: object, path: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ClaveError(f"expected an integer, got {value!r}", path=path)
    if not low <= value <= high:
        raise ClaveError(f"must be between {low} and {high}, got {value}", path=path)
    return value


def _tipo_documento(value: TipoDocumento | str, path: str) -> TipoDocumento:
    try:
        return TipoDocumento(value)
    except ValueError:
        codes = ", ".join(t.value for t in TipoDocumento)
        raise ClaveError(f"unknown document type {value!r} (expected one of {codes})", path=path) from None


def _situacion(value: Situacion | str, path: str) -> Situacion:
    try:
        return Situacion(value)
    except ValueError:
        raise ClaveError(
            f"must be 1 (normal), 2 (contingencia) or 3 (sin internet), got {value!r}", path=path
        ) from None


@dataclass(frozen=True, slots=True)
class Consecutivo:
    """NumeroConsecutivo: sucursal (1-999), terminal (1-99999), document type, número (1-9999999999)."""

    sucursal: int
    terminal: int
    tipo: TipoDocumento
    numero: int

    def __post_init__(self) -> None:
        _int_part(self.sucursal, "consecutivo.sucursal", 1, 999)
        _int_part(self.terminal, "consecutivo.terminal", 1, 99_999)
        object.__setattr__(self, "tipo", _tipo_documento(self.tipo, "consecutivo.tipo"))
        _int_part(self.numero, "consecutivo.numero", 1, 9_999_999_999)

    def __str__(self) -> str:
        return f"{self.sucursal:03d}{self.terminal:05d}{self.tipo.value}{self.numero:010d}"

    @classmethod
    def parse(cls, text: str, *, path: str = "consecutivo") -> Consecutivo:
        """Parse 20 digits; errors name the part (``consecutivo[0:3] sucursal`` ... ``[10:20] numero``)."""
        if not isinstance(text, str) or len(text) != 20 or not text.isascii() or not text.isdigit():
            raise ClaveError(f"must be exactly 20 digits, got {text!r}", path=path)
        sucursal, terminal, tipo, numero = int(text[0:3]), int(text[3:8]), text[8:10], int(text[10:20])
        if sucursal == 0:
            raise ClaveError(
                "sucursal 000 does not exist (001 is the main office)", path=f"{path}[0:3] sucursal"
            )
        if terminal == 0:
            raise ClaveError("terminal 00000 does not exist (use 00001)", path=f"{path}[3:8] terminal")
        try:
            kind = TipoDocumento(tipo)
        except ValueError:
            codes = ", ".join(t.value for t in TipoDocumento)
            raise ClaveError(
                f"unknown document type {tipo!r} (expected one of {codes})", path=f"{path}[8:10] tipo"
            ) from None
        if numero == 0:
            raise ClaveError("the sequence number starts at 1", path=f"{path}[10:20] numero")
        return cls(sucursal=sucursal, terminal=terminal, tipo=kind, numero=numero)


@dataclass(frozen=True, slots=True)
class Clave:
    """The clave numérica. ``fecha`` is the CR calendar date, ``identificacion`` the 12-digit segment."""

    pais: str
    fecha: date
    identificacion: str
    consecutivo: Consecutivo
    situacion: Situacion
    codigo_seguridad: str

    def __post_init__(self) -> None:
        if self.pais != PAIS:
            raise ClaveError(f"the country code is always {PAIS}, got {self.pais!r}", path="pais")
        if isinstance(self.fecha, datetime) or not isinstance(self.fecha, date):
            raise ClaveError("must be a date (the Costa Rica calendar date)", path="fecha")
        if not 2000 <= self.fecha.year <= 2099:
            raise ClaveError(f"year {self.fecha.year} cannot be written as YY (2000-2099)", path="fecha")
        ident = self.identificacion
        if not isinstance(ident, str) or len(ident) != 12 or not ident.isascii() or not ident.isdigit():
            raise ClaveError(f"must be 12 digits, got {ident!r}", path="identificacion")
        if not isinstance(self.consecutivo, Consecutivo):
            raise ClaveError("must be a Consecutivo", path="consecutivo")
        object.__setattr__(self, "situacion", _situacion(self.situacion, "situacion"))
        code = self.codigo_seguridad
        if not isinstance(code, str) or len(code) != 8 or not code.isascii() or not code.isdigit():
            raise ClaveError(f"must be 8 digits, got {code!r}", path="codigo_seguridad")

    @classmethod
    def build(
        cls,
        *,
        tipo_identificacion: TipoIdentificacion | str,
        numero_identificacion: str,
        consecutivo: Consecutivo,
        fecha: datetime | date,
        situacion: Situacion | str = Situacion.NORMAL,
        codigo_seguridad: str | None = None,
    ) -> Clave:
        """Build a clave; ``fecha`` is FechaEmision (aware) and its CR date goes in the clave.

        ``codigo_seguridad`` None draws a fresh one with :func:`new_codigo_seguridad`.
        """
        segment = clave_identificacion(tipo_identificacion, numero_identificacion)
        if not isinstance(consecutivo, Consecutivo):
            raise ClaveError(f"expected a Consecutivo, got {type(consecutivo).__name__}", path="consecutivo")
        return cls(
            pais=PAIS,
            fecha=cr_date(fecha),
            identificacion=segment,
            consecutivo=consecutivo,
            situacion=_situacion(situacion, "situacion"),
            codigo_seguridad=new_codigo_seguridad() if codigo_seguridad is None else codigo_seguridad,
        )

    @classmethod
    def parse(cls, text: str) -> Clave:
        """Parse and validate a 50-digit clave; each failure names the part (``clave[3:9] fecha``)."""
        if not isinstance(text, str):
            raise ClaveError(f"expected a string, got {type(text).__name__}", path="clave")
        if len(text) != 50 or not text.isascii() or not text.isdigit():
            raise ClaveError(f"must be exactly 50 digits, got {len(text)} characters: {text!r}", path="clave")
        if text[0:3] != PAIS:
            raise ClaveError(f"the country code must be {PAIS}, got {text[0:3]!r}", path="clave[0:3] pais")
        try:
            fecha = date(2000 + int(text[7:9]), int(text[5:7]), int(text[3:5]))
        except ValueError:
            raise ClaveError(f"{text[3:9]!r} is not a valid DDMMYY date", path="clave[3:9] fecha") from None
        try:
            consecutivo = Consecutivo.parse(text[21:41], path="clave[21:41] consecutivo")
        except ClaveError as exc:
            raise ClaveError(exc.problems) from None
        situacion = _situacion(text[41], "clave[41] situacion")
        return cls(
            pais=PAIS,
            fecha=fecha,
            identificacion=text[9:21],
            consecutivo=consecutivo,
            situacion=situacion,
            codigo_seguridad=text[42:50],
        )

    @property
    def tipo(self) -> TipoDocumento:
        """The document type carried inside the consecutivo."""
        return self.consecutivo.tipo

    def matches_identificacion(self, tipo: TipoIdentificacion | str, numero: str) -> bool:
        """True when this clave's 12-digit segment is the padded form of the identification."""
        try:
            return clave_identificacion(tipo, numero) == self.identificacion
        except ClaveError:
            return False

    def as_dict(self) -> dict[str, object]:
        """The parts as plain JSON-ready values."""
        c = self.consecutivo
        return {
            "clave": str(self),
            "pais": self.pais,
            "fecha": self.fecha.isoformat(),
            "identificacion": self.identificacion,
            "consecutivo": {
                "numero_consecutivo": str(c),
                "sucursal": c.sucursal,
                "terminal": c.terminal,
                "tipo": c.tipo.value,
                "tipo_nombre": c.tipo.name,
                "numero": c.numero,
            },
            "situacion": self.situacion.value,
            "situacion_nombre": self.situacion.name,
            "codigo_seguridad": self.codigo_seguridad,
        }

    def __str__(self) -> str:
        f = self.fecha
        return (
            f"{self.pais}{f.day:02d}{f.month:02d}{f.year % 100:02d}{self.identificacion}"
            f"{self.consecutivo}{self.situacion.value}{self.codigo_seguridad}"
        )
