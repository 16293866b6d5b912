"""What a voucher gains from Hacienda's public data before it is built and after it is signed.

- :func:`receptor_from_registry` / :func:`receptor_for`: a receptor from a cédula alone -- its nombre and
  identification type from the taxpayer registry (``GET /fe/ae``).
- :func:`enrich_json`: a document of the JSON input format with a receptor given by number only gets its
  nombre and tipo; a document in a foreign currency (USD, EUR) without ``tipo_cambio`` gets the BCCR **sell**
  rate of its FechaEmision date (today when the issuing pipeline dates it). Each change is stated as a note.

Notes are :class:`~cr_einvoice.core.errors.Problem` values (path, message, Hacienda's code when it has
one); they never stop issuing -- the preflight (``cr-einvoice check``) predicts Hacienda's verdict.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

from cr_einvoice.core.clave import CR_TZ
from cr_einvoice.core.errors import NotFoundError, Problem, ValidationError
from cr_einvoice.core.identifiers import Identificacion
from cr_einvoice.core.money import q5
from cr_einvoice.hacienda.publicdata.answers import CURRENCIES
from cr_einvoice.hacienda.publicdata.model import (
    ActivityCatalogue,
    Cabys,
    ExchangeRate,
    Exoneration,
    Fetched,
    RegisteredTaxpayer,
    Taxpayer,
)
from cr_einvoice.vouchers.model import Receptor

__all__ = [
    "EnrichSource",
    "Enriched",
    "PublicData",
    "enrich_json",
    "receptor_for",
    "receptor_from_registry",
]

#: Receptor.nombre is at most 100 characters (Anexos).
_NOMBRE_MAX = 100


class EnrichSource(Protocol):
    """What enrichment asks (a :class:`~.client.PublicDataClient` is one)."""

    def taxpayer(self, identificacion: str) -> Taxpayer: ...

    def exchange_rate(self, currency: str = "USD", date: date | None = None) -> ExchangeRate: ...


class PublicData(EnrichSource, Protocol):
    """Everything the issuing path asks of public data (:class:`~.client.PublicDataClient`): enrichment, and
    the registry checks of :mod:`cr_einvoice.preflight.registry` and :mod:`.checks`."""

    def cabys(self, codigo: str) -> Cabys: ...

    def exoneration(self, authorization: str) -> Exoneration: ...

    def registered(self, identificacion: str) -> RegisteredTaxpayer | None: ...

    def activity_catalogue(self) -> ActivityCatalogue | None: ...


@dataclass(frozen=True, slots=True)
class Enriched:
    """A JSON document after enrichment, and what was changed (one note per change)."""

    data: dict[str, Any]
    notes: tuple[Problem, ...]


def _provenance(result: Fetched) -> str:
    when = result.fetched_at.astimezone(CR_TZ).strftime("%Y-%m-%d %H:%M")
    stale = ", STALE: Hacienda could not be asked again" if result.stale else ""
    return f"api.hacienda.go.cr, {result.source} answer of {when}{stale}"


def _registered(source: EnrichSource, cedula: str, path: str) -> Taxpayer:
    try:
        return source.taxpayer(cedula)
    except NotFoundError:
        raise ValidationError(
            f"{cedula} is not registered with Hacienda: give the receptor's nombre and identification type",
            path=path,
        ) from None


def receptor_from_registry(source: EnrichSource, cedula: str, **fields: Any) -> dict[str, Any]:
    """The JSON receptor block of taxpayer ``cedula``: nombre and identification from the registry;
    ``fields`` (``correo_electronico``, ``ubicacion`` ...) are added as given."""
    t = _registered(source, cedula, "receptor.identificacion.numero")
    return {
        "nombre": t.nombre[:_NOMBRE_MAX],
        "identificacion": {"tipo": t.tipo_identificacion, "numero": t.identificacion},
        **fields,
    }


def receptor_for(source: EnrichSource, cedula: str, **fields: Any) -> Receptor:
    """A :class:`~cr_einvoice.vouchers.model.Receptor` for taxpayer ``cedula`` (see
    :func:`receptor_from_registry`)."""
    t = _registered(source, cedula, "receptor.identificacion.numero")
    return Receptor(
        nombre=t.nombre[:_NOMBRE_MAX],
        identificacion=Identificacion.of(t.tipo_identificacion, t.identificacion),
        **fields,
    )


def _fecha(data: Mapping[str, Any], today: date) -> date:
    text = data.get("fecha_emision")
    if isinstance(text, str) and text:
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            return today  # the model reports the bad date with its own message
        return (moment.astimezone(CR_TZ) if moment.tzinfo else moment).date()
    return today


def enrich_json(data: Mapping[str, Any], source: EnrichSource, *, today: date | None = None) -> Enriched:
    """``data`` (a document of the JSON input format, not changed) completed from the registry (see the
    module's description); ``today`` is Costa Rica's date (default: now)."""
    out: dict[str, Any] = copy.deepcopy(dict(data))
    notes: list[Problem] = []
    receptor = out.get("receptor")
    ident = receptor.get("identificacion") if isinstance(receptor, dict) else None
    numero = ident.get("numero") if isinstance(ident, dict) else None
    if (
        isinstance(receptor, dict)
        and isinstance(ident, dict)
        and isinstance(numero, str)
        and "nombre" not in receptor
    ):
        t = _registered(source, numero, "receptor.identificacion.numero")
        receptor["nombre"] = t.nombre[:_NOMBRE_MAX]
        ident.setdefault("tipo", t.tipo_identificacion)
        notes.append(
            Problem(
                "receptor.nombre",
                f"{receptor['nombre']!r} (tipo {ident['tipo']}) from Hacienda's registry ({_provenance(t)})",
            )
        )
    moneda = out.get("codigo_moneda")
    if isinstance(moneda, str) and moneda.upper() in CURRENCIES and out.get("tipo_cambio") in (None, ""):
        day = _fecha(out, today or datetime.now(CR_TZ).date())
        rate = source.exchange_rate(moneda.upper(), day)
        out["tipo_cambio"] = str(q5(rate.venta))
        notes.append(
            Problem(
                "tipo_cambio",
                f"{out['tipo_cambio']}: the BCCR sell rate of {rate.currency} on {rate.fecha} "
                f"({_provenance(rate)})",
            )
        )
    return Enriched(out, tuple(notes))
