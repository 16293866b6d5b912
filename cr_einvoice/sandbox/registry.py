"""The simulator's registry: taxpayers (with activities and address), the activity catalogue, a CABYS subset,
BCCR exchange rates per date and exoneration authorisations.

It feeds the public endpoints (:mod:`cr_einvoice.sandbox.public`) and the registry checks at recepción
(-37, -407, -408, -400, exonerations): :func:`registry_findings` asks them of the preflight's
:func:`~cr_einvoice.preflight.registry.check_registry`, the one definition. It is loaded from a JSON file
(``cr-einvoice sandbox serve --registry FILE``, ``SimulatorSettings.registry``) in the format of
:mod:`cr_einvoice.hacienda.publicdata.registrydata` -- the same file ``cr-einvoice lookup import`` loads into
the preflight's cache; without one the bundled default (``registry_default.json``) covers the demo, the
examples and the tests. Everything in it is made up.
"""

from __future__ import annotations

from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

from lxml import etree

from cr_einvoice.core.catalogs import VOUCHER_ROOTS
from cr_einvoice.core.xmlsafe import local_name
from cr_einvoice.hacienda.publicdata.answers import Meta, parse_cabys_list, parse_exoneration, parse_taxpayer
from cr_einvoice.hacienda.publicdata.errors import NotRegisteredError
from cr_einvoice.hacienda.publicdata.model import (
    ActivityCatalogue,
    Cabys,
    Exoneration,
    RegisteredTaxpayer,
    Taxpayer,
)
from cr_einvoice.hacienda.publicdata.registrydata import RegistryData
from cr_einvoice.preflight.registry import check_registry
from cr_einvoice.sandbox.mensaje import Finding

__all__ = [
    "EXONERACION_RECHAZADA",
    "Registry",
    "RegistryLookups",
    "load_registry",
    "registry_findings",
]


class Registry(RegistryData):
    """What Hacienda's registries know, as the simulator serves and checks it (read-only once built)."""

    __slots__ = ()

    @classmethod
    def default(cls) -> Registry:
        """The bundled registry (made-up data covering the demo, the examples and the tests)."""
        raw = resources.files("cr_einvoice.sandbox").joinpath("registry_default.json").read_bytes()
        return cls.from_json(raw, source="the bundled default registry")


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
        self._catalogue = registry.catalogue(**self._meta)

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

    def registered(self, identificacion: str) -> RegisteredTaxpayer | None:
        return self.registry.registered(identificacion, **self._meta)

    def activity_catalogue(self) -> ActivityCatalogue:
        return self._catalogue


#: The row of an exoneration the registry refuses. Hacienda's code and text for it were not captured: this
#: is a plausible Spanish text, followed by the preflight's explanation.
EXONERACION_RECHAZADA = (
    "La exoneración indicada en el comprobante no concuerda con el registro de exoneraciones del Ministerio "
    "de Hacienda"
)


def registry_findings(registry: Registry, root: etree._Element) -> list[Finding]:
    """What the registry says about a received voucher, as rows of the MensajeHacienda: the preflight's
    registry reasons (:func:`cr_einvoice.preflight.registry.check_registry`, the one definition: -37, -408,
    -407, -400 and the exonerations) asked of this registry, which knows every address and the whole
    activity catalogue."""
    if local_name(root.tag) not in VOUCHER_ROOTS:
        return []
    found: list[Finding] = []
    reasons, _skipped = check_registry(root, RegistryLookups(registry))
    for reason in reasons:
        if reason.code is None and not reason.rejects:
            continue  # the preflight's own remark (a taxpayer missing from the registry), not Hacienda's
        message = reason.message if reason.code is not None else f"{EXONERACION_RECHAZADA}: {reason.message}"
        found.append(Finding(reason.code, message, warning=not reason.rejects))
    return found
