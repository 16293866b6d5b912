"""Typed results of api.hacienda.go.cr: frozen dataclasses, amounts as Decimal, dates parsed.

Every result says where it came from: ``fetched_at`` (when Hacienda answered it), ``source`` (``network`` or
``cache``) and ``stale`` (True when it came from the cache past its freshness: offline, or Hacienda could not
be reached). Field names are the snake_case transliteration of the API's JSON keys
(``tipoIdentificacion`` -> ``tipo_identificacion``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

__all__ = [
    "Actividad",
    "ActivityCatalogue",
    "Cabys",
    "CabysSearch",
    "ExchangeHistory",
    "ExchangeRate",
    "Exoneration",
    "Fetched",
    "Regimen",
    "RegisteredAddress",
    "RegisteredTaxpayer",
    "Situacion",
    "Taxpayer",
    "TipoDocumentoExoneracion",
    "activity_key",
    "as_json",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class Fetched:
    """Where a result came from and how fresh it is."""

    fetched_at: datetime
    #: ``network`` (answered just now) or ``cache``.
    source: str = "network"
    #: True when the cache served it past its freshness (offline, or Hacienda unreachable).
    stale: bool = False


@dataclass(frozen=True, slots=True)
class Regimen:
    #: 0 no aplica, 1 tradicional, 2 simplificado.
    codigo: int
    descripcion: str


@dataclass(frozen=True, slots=True)
class Situacion:
    moroso: bool
    omiso: bool
    #: ``Inscrito``, ``Inscrito de Oficio``, ``Desinscrito`` ...
    estado: str
    administracion_tributaria: str


@dataclass(frozen=True, slots=True)
class Actividad:
    """An economic activity registered for a taxpayer (``codigo`` as the voucher's CodigoActividad)."""

    codigo: str
    descripcion: str
    #: ``A`` activa, ``I`` inactiva.
    estado: str
    #: ``P`` primaria, ``S`` secundaria.
    tipo: str

    @property
    def activa(self) -> bool:
        return self.estado == "A"


@dataclass(frozen=True, slots=True)
class Taxpayer(Fetched):
    """``GET /fe/ae``: a taxpayer as the registry knows it."""

    identificacion: str
    nombre: str
    #: Nota 4's code: 01 física, 02 jurídica, 03 DIMEX, 04 NITE.
    tipo_identificacion: str
    regimen: Regimen | None
    situacion: Situacion | None
    actividades: tuple[Actividad, ...]

    def actividad(self, codigo: str) -> Actividad | None:
        """The registered activity ``codigo`` (compared without dots and leading zeros), or None."""
        wanted = activity_key(codigo)
        return next((a for a in self.actividades if activity_key(a.codigo) == wanted), None)


def activity_key(codigo: str) -> str:
    """An economic-activity code as codes are compared: without dots, spaces and leading zeros (a
    spreadsheet may write ``6201.00`` for ``620100``, or drop the leading zero of ``011100``)."""
    return str(codigo).replace(".", "").strip().lstrip("0")


@dataclass(frozen=True, slots=True)
class RegisteredAddress:
    """A taxpayer's registered address: provincia (1 digit), cantón, distrito (2 digits): Nota 14's codes."""

    provincia: str
    canton: str
    distrito: str

    def matches(self, provincia: str | None, canton: str | None, distrito: str | None) -> bool:
        """Whether a voucher's Emisor/Ubicacion is this address (codes compared as numbers: 1 is 01)."""
        given = (provincia, canton, distrito)
        mine = (self.provincia, self.canton, self.distrito)
        return all(_code(a) == _code(b) for a, b in zip(given, mine, strict=True))


def _code(value: str | None) -> str:
    text = (value or "").strip()
    return (text.lstrip("0") or "0") if text.isdigit() else text


@dataclass(frozen=True, slots=True)
class RegisteredTaxpayer(Fetched):
    """A taxpayer's registered data as imported from a registry file (``cr-einvoice lookup import``): the
    ``GET /fe/ae`` part and the address the public API does not give. ``imported_from`` names the file;
    ``fetched_at`` is when it was imported."""

    taxpayer: Taxpayer
    ubicacion: RegisteredAddress | None
    imported_from: str


@dataclass(frozen=True, slots=True)
class ActivityCatalogue(Fetched):
    """The catalogue of economic activities (Hacienda's published spreadsheet), as imported: code ->
    description, keyed by :func:`activity_key`. ``imported_from`` names the file."""

    actividades: Mapping[str, str]
    imported_from: str

    def has(self, codigo: str) -> bool:
        return activity_key(codigo) in self.actividades

    def __len__(self) -> int:
        return len(self.actividades)


@dataclass(frozen=True, slots=True)
class Cabys(Fetched):
    """One code of the Catálogo de Bienes y Servicios with its IVA rate (``impuesto``, percent)."""

    codigo: str
    descripcion: str
    categorias: tuple[str, ...]
    impuesto: Decimal
    uri: str | None = None


@dataclass(frozen=True, slots=True)
class CabysSearch(Fetched):
    """``GET /fe/cabys?q=``: ``total`` matches, ``cantidad`` returned."""

    query: str
    total: int
    cantidad: int
    items: tuple[Cabys, ...]


@dataclass(frozen=True, slots=True)
class ExchangeRate(Fetched):
    """The BCCR reference rate of ``currency`` (``USD`` or ``EUR``) in colones on ``fecha``.

    For the euro Hacienda gives colones (``venta``) and dollars per euro (``dolares``), not a buy rate.
    """

    currency: str
    fecha: date
    venta: Decimal
    compra: Decimal | None = None
    dolares: Decimal | None = None


@dataclass(frozen=True, slots=True)
class ExchangeHistory(Fetched):
    """``GET /indicadores/tc/dolar/historico``: one rate per day from ``desde`` to ``hasta``."""

    currency: str
    desde: date
    hasta: date
    rates: tuple[ExchangeRate, ...]


@dataclass(frozen=True, slots=True)
class TipoDocumentoExoneracion:
    codigo: str
    descripcion: str


@dataclass(frozen=True, slots=True)
class Exoneration(Fetched):
    """``GET /fe/ex``: an exoneration authorisation (its validity, percentage and, when it is limited to
    some goods, their CABYS codes)."""

    numero_documento: str
    identificacion: str
    codigo_proyecto_cfia: str | None
    fecha_emision: datetime
    fecha_vencimiento: datetime
    porcentaje_exoneracion: Decimal
    tipo_documento: TipoDocumentoExoneracion | None
    nombre_institucion: str
    posee_cabys: bool
    cabys: tuple[str, ...]

    def valid_on(self, moment: datetime) -> bool:
        """Whether ``moment`` falls within the authorisation's validity (both ends included)."""
        return self.fecha_emision <= moment <= self.fecha_vencimiento

    def covers(self, codigo_cabys: str) -> bool:
        """Whether the authorisation applies to goods of ``codigo_cabys`` (any when it has no list)."""
        return not self.posee_cabys or codigo_cabys in self.cabys


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def as_json(result: Fetched) -> dict[str, Any]:
    """A result as JSON-ready values (amounts as strings, dates in ISO 8601)."""
    plain: dict[str, Any] = _plain(dataclasses.asdict(result))
    return plain
