"""What Hacienda's registries decide about a voucher, from public data: one definition shared by the
simulator (which holds the registry) and the preflight and issuing paths (which ask api.hacienda.go.cr).

:func:`check_registry` reads a v4.4 voucher (an lxml root) and asks a :class:`RegistrySource` (a
:class:`~.client.PublicDataClient` is one) about the emisor, each line's CABYS code and each exoneration:

- ``-37`` (warning) the emisor's provincia/cantón/distrito differ from the registry -- only with
  ``ubicacion_of``: the public API does not publish addresses, so only the simulator can check it;
- ``-408`` (rejection) CodigoActividadEmisor is not in the activity catalogue -- only with
  ``activity_exists``: the public API has no catalogue either;
- ``-407`` (warning) the activity is not registered for this taxpayer (``GET /fe/ae``);
- ``-400`` (rejection) a line's CABYS code is not in the catalogue (``GET /fe/cabys``);
- exonerations (rejections): the authorisation is unknown, was not in force on FechaEmision, belongs to
  another receptor, allows less than TarifaExonerada, or does not cover the line's CABYS code
  (``GET /fe/ex``).
  Hacienda's codes and exact texts for these were not captured: the texts are plausible Spanish and the code
  is None (see ``EXONERATION_TEXTS``);
- with ``tarifa_warnings``, a line whose IVA Tarifa differs from the CABYS code's ``impuesto`` (a warning of
  this package, not Hacienda's: it does not reject such a voucher).

A lookup that cannot be answered (offline and not cached, Hacienda unreachable) does not stop the others:
it is named in :attr:`RegistryReport.skipped`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from functools import partial
from typing import Protocol

from lxml import etree

from cr_einvoice.core.catalogs import MENSAJE_RECEPTOR, TipoDocumento
from cr_einvoice.core.clave import CR_TZ
from cr_einvoice.core.errors import CrEinvoiceError, NotFoundError, Problem
from cr_einvoice.core.xmlsafe import child_text, find_child, local_name
from cr_einvoice.hacienda.publicdata.model import Cabys, Exoneration, Taxpayer
from cr_einvoice.vouchers.rules import MESSAGES

__all__ = [
    "EXONERATION_TEXTS",
    "RegistryFinding",
    "RegistryReport",
    "RegistrySource",
    "check_registry",
    "tarifa_warning",
]

#: Rejection texts for exonerations. Hacienda's exact wording and codes were not captured in the notes:
#: these are plausible Spanish texts written for this package.
EXONERATION_TEXTS: dict[str, str] = {
    "unknown": "En la línea ({n}) el número de documento de exoneración {doc} no se encuentra registrado "
    "en el sistema de exoneraciones del Ministerio de Hacienda.",
    "expired": "En la línea ({n}) la autorización de exoneración {doc} no se encuentra vigente en la fecha "
    "de emisión del comprobante (vigente del {desde} al {hasta}).",
    "percentage": "En la línea ({n}) la tarifa exonerada {tarifa} es mayor que el porcentaje de exoneración "
    "autorizado en el documento {doc} ({porcentaje}).",
    "cabys": "En la línea ({n}) el código CAByS {cabys} no está incluido en la autorización de exoneración "
    "{doc}.",
    "receptor": "En la línea ({n}) la autorización de exoneración {doc} no corresponde al receptor del "
    "comprobante.",
}

_LINE = "DetalleServicio/LineaDetalle[{n}]"


class RegistrySource(Protocol):
    """The lookups the checks need; each raises ``NotFoundError`` (``NotRegisteredError``) for an entry the
    registry does not have and another ``CrEinvoiceError`` when it cannot answer."""

    def taxpayer(self, identificacion: str) -> Taxpayer: ...

    def cabys(self, codigo: str) -> Cabys: ...

    def exoneration(self, authorization: str) -> Exoneration: ...


@dataclass(frozen=True, slots=True)
class RegistryFinding:
    """One finding: Hacienda's code and text (or this package's, code None) and whether it rejects."""

    problem: Problem
    rejects: bool


@dataclass(slots=True)
class RegistryReport:
    findings: list[RegistryFinding] = field(default_factory=list)
    #: The checks that could not run, and why.
    skipped: list[str] = field(default_factory=list)

    @property
    def rejections(self) -> list[RegistryFinding]:
        return [f for f in self.findings if f.rejects]

    def add(self, path: str, message: str, code: int | None, *, rejects: bool) -> None:
        self.findings.append(RegistryFinding(Problem(path, message, code), rejects))


def _digits(value: str | None) -> str:
    return "".join(ch for ch in value or "" if ch.isdigit()).lstrip("0")


def _decimal(text: str | None) -> Decimal | None:
    try:
        return Decimal(text) if text else None
    except InvalidOperation:
        return None


def _ask(report: RegistryReport, what: str, lookup: Callable[[], object]) -> object | None:
    """The lookup's answer; None when the registry has no such entry; ``_SKIP`` when it cannot answer."""
    try:
        return lookup()
    except NotFoundError:
        return None
    except CrEinvoiceError as exc:
        report.skipped.append(f"{what}: {exc}")
        return _SKIP


_SKIP = object()


def tarifa_warning(n: int, cabys: Cabys, tarifa: Decimal) -> Problem | None:
    """This package's warning when line ``n``'s IVA ``tarifa`` differs from the CABYS code's rate."""
    if tarifa == cabys.impuesto:
        return None
    return Problem(
        _LINE.format(n=n) + "/Impuesto/Tarifa",
        f"the line's IVA rate is {tarifa} % but CABYS {cabys.codigo} ({cabys.descripcion}) carries "
        f"{cabys.impuesto} %",
    )


def check_registry(
    root: etree._Element,
    source: RegistrySource,
    *,
    ubicacion_of: Callable[[str], tuple[str, str, str] | None] | None = None,
    activity_exists: Callable[[str], bool] | None = None,
    tarifa_warnings: bool = False,
) -> RegistryReport:
    """The registry's findings on the voucher ``root`` (see the module's description)."""
    checker = _Checker(source, RegistryReport(), ubicacion_of, activity_exists)
    name = local_name(root.tag)
    if name == MENSAJE_RECEPTOR:
        return checker.report
    emisor = child_text(root, "Emisor", "Identificacion", "Numero")
    if name != TipoDocumento.FACTURA_COMPRA.root and emisor:  # a FEC's Emisor is the (often foreign) supplier
        checker.emisor(root, emisor)
    fecha = _fecha(root)
    receptor = child_text(root, "Receptor", "Identificacion", "Numero")
    detalle = find_child(root, "DetalleServicio")
    lines = [] if detalle is None else [e for e in detalle if local_name(e.tag) == "LineaDetalle"]
    rates = tarifa_warnings and name != TipoDocumento.FACTURA_EXPORTACION.root
    for n, line in enumerate(lines, start=1):
        code = child_text(line, "CodigoCABYS")
        if not code:
            continue
        cabys = _ask(checker.report, f"CABYS {code} (-400)", partial(source.cabys, code))
        if cabys is None:
            checker.report.add(
                _LINE.format(n=n) + "/CodigoCABYS", MESSAGES[-400].format(n=n), -400, rejects=True
            )
        for tax in (e for e in line if local_name(e.tag) == "Impuesto"):
            if isinstance(cabys, Cabys) and rates:
                checker.tarifa(n, tax, cabys)
            exo = find_child(tax, "Exoneracion")
            if exo is not None:
                checker.exoneration(_LINE.format(n=n), code, exo, fecha, receptor)
    return checker.report


def _fecha(root: etree._Element) -> datetime | None:
    text = child_text(root, "FechaEmision")
    try:
        moment = datetime.fromisoformat(text) if text else None
    except ValueError:
        return None
    if moment is not None and moment.tzinfo is None:
        moment = moment.replace(tzinfo=CR_TZ)
    return moment


@dataclass(slots=True)
class _Checker:
    source: RegistrySource
    report: RegistryReport
    ubicacion_of: Callable[[str], tuple[str, str, str] | None] | None
    activity_exists: Callable[[str], bool] | None

    def emisor(self, root: etree._Element, emisor: str) -> None:
        if self.ubicacion_of is not None:
            registered = self.ubicacion_of(emisor)
            parts = ("Provincia", "Canton", "Distrito")
            given = tuple(child_text(root, "Emisor", "Ubicacion", part) for part in parts)
            if registered is not None and given[0] is not None and given != registered:
                self.report.add("Emisor/Ubicacion", MESSAGES[-37], -37, rejects=False)
        actividad = child_text(root, "CodigoActividadEmisor")
        if not actividad:
            return
        if self.activity_exists is not None and not self.activity_exists(actividad):
            self.report.add("CodigoActividadEmisor", MESSAGES[-408], -408, rejects=True)
            return
        taxpayer = _ask(self.report, f"taxpayer {emisor} (-407)", partial(self.source.taxpayer, emisor))
        if isinstance(taxpayer, Taxpayer) and taxpayer.actividad(actividad) is None:
            self.report.add("CodigoActividadEmisor", MESSAGES[-407], -407, rejects=False)

    def tarifa(self, n: int, tax: etree._Element, cabys: Cabys) -> None:
        """Only IVA (01) at a rate: exempt (10) and 0 % codes are decided by the sale, not the goods."""
        tarifa = _decimal(child_text(tax, "Tarifa"))
        if child_text(tax, "Codigo") != "01" or child_text(tax, "CodigoTarifaIVA") in {"10", "11"}:
            return
        problem = None if tarifa is None else tarifa_warning(n, cabys, tarifa)
        if problem is not None:
            self.report.findings.append(RegistryFinding(problem, rejects=False))

    def exoneration(
        self, line: str, cabys: str, exo: etree._Element, fecha: datetime | None, receptor: str | None
    ) -> None:
        doc = child_text(exo, "NumeroDocumento")
        if not doc:
            return
        n = line[line.index("[") + 1 : -1]
        path = line + "/Impuesto/Exoneracion/NumeroDocumento"
        found = _ask(self.report, f"exoneration {doc}", partial(self.source.exoneration, doc))
        if found is None:
            self.report.add(path, EXONERATION_TEXTS["unknown"].format(n=n, doc=doc), None, rejects=True)
            return
        if not isinstance(found, Exoneration):
            return
        texts: list[tuple[str, str]] = []
        if fecha is not None and not found.valid_on(fecha):
            desde, hasta = found.fecha_emision.date().isoformat(), found.fecha_vencimiento.date().isoformat()
            texts.append((path, EXONERATION_TEXTS["expired"].format(n=n, doc=doc, desde=desde, hasta=hasta)))
        if receptor and found.identificacion and _digits(receptor) != _digits(found.identificacion):
            texts.append((path, EXONERATION_TEXTS["receptor"].format(n=n, doc=doc)))
        tarifa = _decimal(child_text(exo, "TarifaExonerada"))
        if tarifa is not None and tarifa > found.porcentaje_exoneracion:
            text = EXONERATION_TEXTS["percentage"].format(
                n=n, doc=doc, tarifa=tarifa, porcentaje=found.porcentaje_exoneracion
            )
            texts.append((line + "/Impuesto/Exoneracion/TarifaExonerada", text))
        if not found.covers(cabys):
            texts.append((path, EXONERATION_TEXTS["cabys"].format(n=n, doc=doc, cabys=cabys)))
        for where, text in texts:
            self.report.add(where, text, None, rejects=True)
