"""A registry file: what Hacienda's registries know, as JSON -- taxpayers with their activities and address,
the economic-activity catalogue, a CABYS subset, BCCR exchange rates per date and exoneration authorisations.

The one reader of this format (:class:`RegistryData`): the simulator serves and checks its registry from it
(``cr-einvoice sandbox serve --registry FILE``, :mod:`cr_einvoice.sandbox.registry`), and
``cr-einvoice lookup import FILE`` (:mod:`.imported`) loads a taxpayer's registered data and the activity
catalogue from it into the public-data cache. Entries are in the API's own shapes.

File layout::

    {"contribuyentes": {"3101123456": {<GET /fe/ae answer>,
                                       "ubicacion": {"provincia", "canton", "distrito"}}},
     "actividades": {"620100": "descripción", ...},
     "cabys": [{"codigo", "descripcion", "categorias", "impuesto"}],
     "tipoCambio": {"USD": {"2026-01-02": {"compra", "venta"}},
                    "EUR": {"2026-01-02": {"colones", "dolares"}}},
     "exoneraciones": {"AL-00460853-20": {<GET /fe/ex answer>}}}

Every section is optional; keys starting with ``_`` are comments. A rate holds from its date until the next
one (so every day has one once the first is published). A malformed file raises :class:`RegistryFileError`
naming the entry and the field.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Self, Unpack

from cr_einvoice.core.errors import ConfigError, CrEinvoiceError
from cr_einvoice.core.jsonsafe import loads as json_loads
from cr_einvoice.hacienda.publicdata.answers import AnswerShapeError, Meta, parse_taxpayer
from cr_einvoice.hacienda.publicdata.model import (
    ActivityCatalogue,
    RegisteredAddress,
    RegisteredTaxpayer,
    activity_key,
)

__all__ = ["SECTIONS", "RegistryData", "RegistryFileError", "digits_key"]

SECTIONS = ("contribuyentes", "actividades", "cabys", "tipoCambio", "exoneraciones")
#: A registry file may be larger than an API answer (a whole activity catalogue, many taxpayers).
_MAX_BYTES = 32 * 1024 * 1024


class RegistryFileError(ConfigError):
    """A registry file that cannot be read; ``where`` is the file and the entry, ``detail`` what is wrong."""

    def __init__(self, where: str, detail: str) -> None:
        self.where = where
        self.detail = detail
        super().__init__(f"registry {where}: {detail}")


def digits_key(identificacion: str) -> str:
    """Identifications compare without dashes and leading zeros (the API takes a física without its 0)."""
    return identificacion.replace("-", "").strip().lstrip("0")


def _need(condition: bool, where: str, message: str) -> None:
    if not condition:
        raise RegistryFileError(where, message)


def _decimal(value: Any, where: str) -> Decimal:
    try:
        result = Decimal(str(value)) if isinstance(value, int | str | Decimal) else None
    except InvalidOperation:
        result = None
    _need(result is not None and result.is_finite(), where, f"{value!r} is not a number")
    assert result is not None
    return result


def _section(data: Mapping[str, Any], name: str, kind: type) -> Any:
    value = data.get(name, kind())
    _need(isinstance(value, kind), name, f"expected a JSON {'object' if kind is dict else 'array'}")
    return value


@dataclass(slots=True)
class RegistryData:
    """What Hacienda's registries know, read from a registry file (read-only once built)."""

    taxpayers: dict[str, dict[str, Any]] = field(default_factory=dict)
    actividades: dict[str, str] = field(default_factory=dict)
    cabys: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: currency -> sorted [(date, fields)]
    rates: dict[str, list[tuple[date, dict[str, Decimal]]]] = field(default_factory=dict)
    exoneraciones: dict[str, dict[str, Any]] = field(default_factory=dict)
    source: str = "(empty)"
    #: The sections the file had (even empty ones).
    sections: tuple[str, ...] = ()

    # -- loading ------------------------------------------------------------------------------------------
    @classmethod
    def load(cls, path: str | Path) -> Self:
        try:
            raw = Path(path).read_bytes()
        except OSError as exc:
            raise ConfigError(f"registry: cannot read {path}: {exc.strerror or exc}") from None
        return cls.from_json(raw, source=str(path))

    @classmethod
    def from_json(cls, raw: bytes | str, *, source: str = "(given)") -> Self:
        try:
            data = json_loads(raw, what=f"registry {source}", max_bytes=_MAX_BYTES)
        except CrEinvoiceError as exc:
            raise RegistryFileError(source, str(exc)) from None
        return cls.from_mapping(data, source=source)

    @classmethod
    def from_mapping(cls, data: Any, *, source: str = "(given)") -> Self:
        _need(isinstance(data, Mapping), source, "expected a JSON object")
        unknown = sorted(k for k in data if k not in SECTIONS and not k.startswith("_"))
        _need(not unknown, source, f"unknown sections {unknown} (known: {list(SECTIONS)})")
        reg = cls(source=source, sections=tuple(k for k in SECTIONS if k in data))
        for ident, entry in _section(data, "contribuyentes", dict).items():
            reg.taxpayers[digits_key(ident)] = _taxpayer_entry(f"contribuyentes.{ident}", entry)
        for code, text in _section(data, "actividades", dict).items():
            where = f"actividades.{code}"
            _need(activity_key(code).isdigit(), where, f"{code!r} is not an activity code (digits)")
            _need(isinstance(text, str) and bool(text.strip()), where, "the description must be text")
            reg.actividades[activity_key(code)] = text.strip()
        for i, item in enumerate(_section(data, "cabys", list)):
            where = f"cabys[{i}]"
            _need(isinstance(item, Mapping), where, "expected an object")
            code = str(item.get("codigo", ""))
            _need(code.isdigit() and len(code) == 13, where, f"codigo {code!r} is not 13 digits")
            entry = dict(item)
            entry["impuesto"] = _decimal(item.get("impuesto"), f"{where}.impuesto")
            entry.setdefault("categorias", [])
            entry.setdefault("descripcion", "")
            reg.cabys[code] = entry
        for currency, days in _section(data, "tipoCambio", dict).items():
            _need(currency in ("USD", "EUR"), f"tipoCambio.{currency}", "the currencies are USD and EUR")
            _need(isinstance(days, Mapping), f"tipoCambio.{currency}", "expected {date: rates}")
            table = []
            for day, values in days.items():
                where = f"tipoCambio.{currency}.{day}"
                try:
                    when = date.fromisoformat(day)
                except ValueError:
                    raise RegistryFileError(where, "not a YYYY-MM-DD date") from None
                _need(isinstance(values, Mapping), where, "expected an object of rates")
                table.append((when, {k: _decimal(v, f"{where}.{k}") for k, v in values.items()}))
            reg.rates[currency] = sorted(table, key=lambda row: row[0])
        for auth, entry in _section(data, "exoneraciones", dict).items():
            where = f"exoneraciones.{auth}"
            _need(isinstance(entry, Mapping), where, "expected an object")
            for key in ("fechaEmision", "fechaVencimiento", "porcentajeExoneracion"):
                _need(key in entry, where, f"{key} is required")
            reg.exoneraciones[auth.strip().upper()] = {"numeroDocumento": auth, **entry}
        return reg

    # -- questions ----------------------------------------------------------------------------------------
    def taxpayer(self, identificacion: str) -> dict[str, Any] | None:
        """The ``GET /fe/ae`` answer for ``identificacion`` (without the address), or None."""
        entry = self.taxpayers.get(digits_key(identificacion))
        if entry is None:
            return None
        return {k: v for k, v in entry.items() if k != "ubicacion"}

    def ubicacion(self, identificacion: str) -> RegisteredAddress | None:
        entry = self.taxpayers.get(digits_key(identificacion))
        u = entry.get("ubicacion") if entry is not None else None
        return None if u is None else RegisteredAddress(u["provincia"], u["canton"], u["distrito"])

    def activity_exists(self, codigo: str) -> bool:
        """Whether ``codigo`` is in the economic-activity catalogue."""
        return activity_key(codigo) in self.actividades

    def registered(self, identificacion: str, **meta: Unpack[Meta]) -> RegisteredTaxpayer | None:
        """The taxpayer's registered data (its ``GET /fe/ae`` answer read as the client reads it, and its
        address), or None when the file does not hold it."""
        found = self.taxpayer(identificacion)
        if found is None:
            return None
        try:
            taxpayer = parse_taxpayer(found, identificacion.replace("-", "").strip(), **meta)
        except AnswerShapeError as exc:
            raise RegistryFileError(f"{self.source} contribuyentes.{identificacion}", str(exc)) from None
        return RegisteredTaxpayer(
            taxpayer=taxpayer, ubicacion=self.ubicacion(identificacion), imported_from=self.source, **meta
        )

    def catalogue(self, **meta: Unpack[Meta]) -> ActivityCatalogue:
        """The economic-activity catalogue this file holds (maybe empty)."""
        return ActivityCatalogue(actividades=self.actividades, imported_from=self.source, **meta)

    def cabys_entry(self, codigo: str) -> dict[str, Any] | None:
        return self.cabys.get(codigo.strip())

    def search_cabys(self, text: str) -> list[dict[str, Any]]:
        """CABYS entries whose description or categories contain every word of ``text`` (accents count)."""
        words = text.lower().split()
        found = []
        for entry in self.cabys.values():
            haystack = " ".join([entry["descripcion"], *map(str, entry["categorias"])]).lower()
            if all(w in haystack for w in words):
                found.append(entry)
        return found

    def rate(self, currency: str, day: date) -> tuple[date, dict[str, Decimal]] | None:
        """The rate in force on ``day`` (the latest published on or before it) and its date, or None."""
        table = self.rates.get(currency, [])
        index = bisect.bisect_right([d for d, _ in table], day) - 1
        return None if index < 0 else table[index]

    def exoneration(self, autorizacion: str) -> dict[str, Any] | None:
        return self.exoneraciones.get(autorizacion.strip().upper())


def _taxpayer_entry(where: str, entry: Any) -> dict[str, Any]:
    _need(isinstance(entry, Mapping), where, "expected an object")
    _need(isinstance(entry.get("nombre"), str), where, "nombre is required")
    _need(isinstance(entry.get("tipoIdentificacion"), str), where, "tipoIdentificacion is required")
    actividades = entry.get("actividades", [])
    _need(isinstance(actividades, list), f"{where}.actividades", "expected an array")
    for i, act in enumerate(actividades):
        _need(isinstance(act, Mapping) and "codigo" in act, f"{where}.actividades[{i}]", "needs codigo")
    if "ubicacion" in entry:
        u = entry["ubicacion"]
        ok = isinstance(u, Mapping) and all(isinstance(u.get(k), str) for k in RegisteredAddress.__slots__)
        _need(ok, f"{where}.ubicacion", "needs provincia, canton and distrito as text")
    return {**entry, "actividades": list(actividades)}
