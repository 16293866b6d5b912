"""The simulator's registry: taxpayers (with activities and address), the activity catalogue, a CABYS subset,
BCCR exchange rates per date and exoneration authorisations.

It feeds the public endpoints (:mod:`cr_einvoice.sandbox.public`) and the registry checks at recepción
(-37, -407, -408, -400, exonerations; :mod:`cr_einvoice.sandbox.registry_checks`). It is loaded from a JSON
file (``cr-einvoice sandbox serve --registry FILE``, ``SimulatorSettings.registry``) whose entries are in the
API's own shapes; without one the bundled default (``registry_default.json``) covers the demo, the examples
and the tests. Everything in it is made up.

File layout::

    {"contribuyentes": {"3101123456": {<GET /fe/ae answer>,
                                       "ubicacion": {"provincia", "canton", "distrito"}}},
     "actividades": {"620100": "descripción", ...},
     "cabys": [{"codigo", "descripcion", "categorias", "impuesto"}],
     "tipoCambio": {"USD": {"2026-01-02": {"compra", "venta"}},
                    "EUR": {"2026-01-02": {"colones", "dolares"}}},
     "exoneraciones": {"AL-00460853-20": {<GET /fe/ex answer>}}}

A rate holds from its date until the next one (so every day has one once the first is published).
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from importlib import resources
from pathlib import Path
from typing import Any

from lxml import etree

from cr_einvoice.core.catalogs import VOUCHER_ROOTS, TipoDocumento
from cr_einvoice.core.errors import ConfigError, CrEinvoiceError
from cr_einvoice.core.jsonsafe import loads as json_loads
from cr_einvoice.core.xmlsafe import child_text, local_name
from cr_einvoice.hacienda.publicdata.answers import Meta, parse_cabys_list, parse_exoneration, parse_taxpayer
from cr_einvoice.hacienda.publicdata.errors import NotRegisteredError
from cr_einvoice.hacienda.publicdata.model import Cabys, Exoneration, Taxpayer
from cr_einvoice.preflight.registry import check_registry
from cr_einvoice.sandbox.mensaje import Finding
from cr_einvoice.vouchers.rules import MESSAGES

__all__ = [
    "EXONERACION_RECHAZADA",
    "Registry",
    "RegistryLookups",
    "Ubicacion",
    "load_registry",
    "registry_findings",
]

_SECTIONS = ("contribuyentes", "actividades", "cabys", "tipoCambio", "exoneraciones")


@dataclass(frozen=True, slots=True)
class Ubicacion:
    provincia: str
    canton: str
    distrito: str


def _digits_key(identificacion: str) -> str:
    """Identifications compare without dashes and leading zeros (the API takes a física without its 0)."""
    return identificacion.replace("-", "").strip().lstrip("0")


def _activity_key(codigo: str) -> str:
    return str(codigo).replace(".", "").strip().lstrip("0")


def _need(condition: bool, where: str, message: str) -> None:
    if not condition:
        raise ConfigError(f"registry {where}: {message}")


def _decimal(value: Any, where: str) -> Decimal:
    try:
        result = Decimal(str(value)) if isinstance(value, int | str | Decimal) else None
    except InvalidOperation:
        result = None
    _need(result is not None and result.is_finite(), where, f"{value!r} is not a number")
    assert result is not None
    return result


@dataclass(slots=True)
class Registry:
    """What Hacienda's registries know, as the simulator serves and checks it (read-only once built)."""

    taxpayers: dict[str, dict[str, Any]] = field(default_factory=dict)
    actividades: dict[str, str] = field(default_factory=dict)
    cabys: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: currency -> sorted [(date, fields)]
    rates: dict[str, list[tuple[date, dict[str, Decimal]]]] = field(default_factory=dict)
    exoneraciones: dict[str, dict[str, Any]] = field(default_factory=dict)
    source: str = "(empty)"

    # -- loading ------------------------------------------------------------------------------------------
    @classmethod
    def default(cls) -> Registry:
        """The bundled registry (made-up data covering the demo, the examples and the tests)."""
        raw = resources.files("cr_einvoice.sandbox").joinpath("registry_default.json").read_bytes()
        return cls.from_json(raw, source="the bundled default registry")

    @classmethod
    def load(cls, path: str | Path) -> Registry:
        try:
            raw = Path(path).read_bytes()
        except OSError as exc:
            raise ConfigError(f"registry: cannot read {path}: {exc.strerror or exc}") from None
        return cls.from_json(raw, source=str(path))

    @classmethod
    def from_json(cls, raw: bytes | str, *, source: str = "(given)") -> Registry:
        try:
            data = json_loads(raw, what=f"registry {source}")
        except CrEinvoiceError as exc:
            raise ConfigError(f"registry {source}: {exc}") from None
        return cls.from_mapping(data, source=source)

    @classmethod
    def from_mapping(cls, data: Any, *, source: str = "(given)") -> Registry:
        _need(isinstance(data, Mapping), source, "expected a JSON object")
        unknown = sorted(k for k in data if k not in _SECTIONS and not k.startswith("_"))
        _need(not unknown, source, f"unknown sections {unknown} (known: {list(_SECTIONS)})")
        reg = cls(source=source)
        for ident, entry in _section(data, "contribuyentes", dict).items():
            where = f"contribuyentes.{ident}"
            _need(isinstance(entry, Mapping), where, "expected an object")
            _need(isinstance(entry.get("nombre"), str), where, "nombre is required")
            _need(isinstance(entry.get("tipoIdentificacion"), str), where, "tipoIdentificacion is required")
            for i, act in enumerate(entry.get("actividades", [])):
                _need(
                    isinstance(act, Mapping) and "codigo" in act, f"{where}.actividades[{i}]", "needs codigo"
                )
            if "ubicacion" in entry:
                u = entry["ubicacion"]
                ok = isinstance(u, Mapping) and all(isinstance(u.get(k), str) for k in Ubicacion.__slots__)
                _need(ok, f"{where}.ubicacion", "needs provincia, canton and distrito as text")
            reg.taxpayers[_digits_key(ident)] = dict(entry)
        for code, text in _section(data, "actividades", dict).items():
            reg.actividades[_activity_key(code)] = str(text)
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
                    raise ConfigError(f"registry {where}: not a YYYY-MM-DD date") from None
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
        entry = self.taxpayers.get(_digits_key(identificacion))
        if entry is None:
            return None
        return {k: v for k, v in entry.items() if k != "ubicacion"}

    def ubicacion(self, identificacion: str) -> Ubicacion | None:
        entry = self.taxpayers.get(_digits_key(identificacion))
        u = entry.get("ubicacion") if entry is not None else None
        return None if u is None else Ubicacion(u["provincia"], u["canton"], u["distrito"])

    def has_activity(self, identificacion: str, codigo: str) -> bool | None:
        """Whether the taxpayer has the activity registered (None: the taxpayer is not in the registry)."""
        entry = self.taxpayers.get(_digits_key(identificacion))
        if entry is None:
            return None
        return any(_activity_key(str(a.get("codigo"))) == _activity_key(codigo) for a in entry["actividades"])

    def activity_exists(self, codigo: str) -> bool:
        """Whether ``codigo`` is in the economic-activity catalogue."""
        return _activity_key(codigo) in self.actividades

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


def _section(data: Mapping[str, Any], name: str, kind: type) -> Any:
    value = data.get(name, kind())
    _need(isinstance(value, kind), name, f"expected a JSON {'object' if kind is dict else 'array'}")
    return value


def load_registry(value: Registry | Path | str | None) -> Registry:
    """The registry a setting names: a :class:`Registry`, a JSON file, or None for the bundled default."""
    if value is None:
        return Registry.default()
    if isinstance(value, Registry):
        return value
    return Registry.load(value)


class RegistryLookups:
    """The registry as the preflight's :class:`~cr_einvoice.preflight.registry.PublicData`: the same typed
    results the public-data client returns, read from the answers the public endpoints serve."""

    def __init__(self, registry: Registry, *, fetched_at: datetime | None = None) -> None:
        self.registry = registry
        self._meta = Meta(fetched_at=fetched_at or datetime.now(UTC), source="network", stale=False)

    @staticmethod
    def _missing(what: str, key: str) -> NotRegisteredError:
        return NotRegisteredError(f"the simulator's registry has no {what} {key}", status=404)

    def taxpayer(self, identificacion: str) -> Taxpayer:
        found = self.registry.taxpayer(identificacion)
        if found is None:
            raise self._missing("taxpayer", identificacion)
        return parse_taxpayer(found, identificacion, **self._meta)

    def cabys(self, codigo: str) -> Cabys:
        found = self.registry.cabys_entry(codigo)
        if found is None:
            raise self._missing("CABYS code", codigo)
        return parse_cabys_list([found], **self._meta)[0]

    def exoneration(self, authorization: str) -> Exoneration:
        found = self.registry.exoneration(authorization)
        if found is None:
            raise self._missing("exoneration", authorization)
        return parse_exoneration(found, **self._meta)


#: The row of an exoneration the registry refuses. Hacienda's code and text for it were not captured: this
#: is a plausible Spanish text, followed by the preflight's explanation.
EXONERACION_RECHAZADA = (
    "La exoneración indicada en el comprobante no concuerda con el registro de exoneraciones del Ministerio "
    "de Hacienda"
)


def registry_findings(registry: Registry, root: etree._Element) -> list[Finding]:
    """What the registry says about a received voucher, as rows of the MensajeHacienda: -37 and -408 from
    what only this registry knows (addresses, the activity catalogue), then -407, -400 and the exonerations
    as the preflight predicts them (:func:`cr_einvoice.preflight.registry.check_registry`, the one
    definition), asked of this registry."""
    name = local_name(root.tag)
    if name not in VOUCHER_ROOTS:
        return []
    found: list[Finding] = []
    emisor = child_text(root, "Emisor", "Identificacion", "Numero")
    registered = registry.ubicacion(emisor) if emisor and name != TipoDocumento.FACTURA_COMPRA.root else None
    given = tuple(
        child_text(root, "Emisor", "Ubicacion", part) for part in ("Provincia", "Canton", "Distrito")
    )
    if (
        registered is not None
        and given[0] is not None
        and given != (registered.provincia, registered.canton, registered.distrito)
    ):
        found.append(Finding(-37, MESSAGES[-37], warning=True))
    actividad = child_text(root, "CodigoActividadEmisor")
    unknown_activity = bool(actividad) and not registry.activity_exists(actividad or "")
    if unknown_activity:
        found.append(Finding(-408, MESSAGES[-408]))
    reasons, _skipped = check_registry(root, RegistryLookups(registry))
    for reason in reasons:
        if reason.code is None and not reason.rejects:
            continue  # the preflight's own remark (a taxpayer missing from the registry), not Hacienda's
        if reason.code == -407 and unknown_activity:
            continue  # -408 says more
        message = reason.message if reason.code is not None else f"{EXONERACION_RECHAZADA}: {reason.message}"
        found.append(Finding(reason.code, message, warning=not reason.rejects))
    return found
