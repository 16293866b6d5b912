"""The preflight's registry checks, from Hacienda's public data (:mod:`cr_einvoice.hacienda.publicdata`):

- -37 (a warning): the Emisor/Ubicacion's provincia, cantón and distrito are not the emisor's registered
  address -- known only when the emisor's registered data was imported (``cr-einvoice lookup import``: the
  public taxpayer lookup gives no address);
- -408 (a rejection): CodigoActividadEmisor is not in the catalogue of economic activities -- known when the
  catalogue was imported (Hacienda publishes it as a spreadsheet; the API does not serve it). Without it, a
  code that is an active activity of the emisor (looked up, or imported) is known to exist; any other code is
  not predicted;
- -407 (a warning): CodigoActividadEmisor is not an active activity of the emisor in the taxpayer registry
  (the ``GET /fe/ae`` lookup or, when that cannot be made, the imported registered data); not said when -408
  is;
- -400 (a rejection): a line's CodigoCABYS (or a combo component's) is not in the CABYS catalogue -- except in
  the NC/ND of a financial credit or debit note (CodigoReferencia 09/10), which Hacienda does not check;
- exonerations of type 04 and 11 (Nota 10.1; Anexos v4.4, NumeroDocumento and FechaEmisionEX: "Caso contrario
  se rechazará el comprobante"; no code captured): the authorisation must exist, be valid at FechaEmision,
  carry the FechaEmisionEX given, and -- for 04 -- cover the line's CABYS code.

What cannot be known is not predicted and says so in the report's ``skipped``: -37 without the emisor's
imported address, -408 as said above; a lookup that fails (offline and not cached, Hacienda unreachable)
skips its check. The simulator asks these same checks of its registry, which knows everything
(:func:`cr_einvoice.sandbox.registry.registry_findings`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Protocol, TypeVar

from lxml import etree

from cr_einvoice.core.catalogs import VOUCHER_ROOTS, TipoDocumento
from cr_einvoice.core.errors import CrEinvoiceError, NotFoundError, Problem
from cr_einvoice.core.xmlsafe import child_text, local_name
from cr_einvoice.hacienda.publicdata.model import ActivityCatalogue, RegisteredTaxpayer
from cr_einvoice.preflight.report import Reason, Severity
from cr_einvoice.vouchers.rules import MESSAGES

__all__ = ["PublicData", "check_registry"]

T = TypeVar("T")

#: Nota 10.1 codes whose authorisation Hacienda checks against its exoneration registry.
_CHECKED_EXONERATIONS = frozenset({"04", "11"})
#: CodigoReferencia of financial credit/debit notes: their lines' CABYS codes are not checked.
_FINANCIAL_NOTES = frozenset({"09", "10"})
#: How to give the preflight what the public API does not publish.
_IMPORT = "cr-einvoice lookup import FILE"


class _Activity(Protocol):
    @property
    def activa(self) -> bool: ...


class _Taxpayer(Protocol):
    def actividad(self, codigo: str) -> _Activity | None: ...


def _active(taxpayer: _Taxpayer | None, codigo: str) -> bool:
    activity = None if taxpayer is None else taxpayer.actividad(codigo)
    return activity is not None and activity.activa


class _Exoneration(Protocol):
    @property
    def fecha_emision(self) -> datetime: ...

    def valid_on(self, moment: datetime) -> bool: ...

    def covers(self, codigo_cabys: str) -> bool: ...


class PublicData(Protocol):
    """The lookups the preflight needs (:class:`cr_einvoice.hacienda.publicdata.PublicDataClient`). A missing
    entry raises :class:`~cr_einvoice.core.errors.NotFoundError`; any other failure a ``CrEinvoiceError``."""

    def taxpayer(self, identificacion: str) -> _Taxpayer: ...

    def cabys(self, codigo: str) -> object: ...

    def exoneration(self, authorization: str) -> _Exoneration: ...

    def registered(self, identificacion: str) -> RegisteredTaxpayer | None:
        """The taxpayer's imported registered data (with its address), or None when not imported."""
        ...

    def activity_catalogue(self) -> ActivityCatalogue | None:
        """The imported catalogue of economic activities, or None when not imported."""
        ...


class _Run:
    """One document's registry checks: the reasons found and the lookups that could not be made."""

    def __init__(self, data: PublicData) -> None:
        self.data = data
        self.reasons: list[Reason] = []
        self.skipped: list[str] = []
        self.failure = ""
        self._cabys: dict[str, bool | None] = {}
        self._registered: dict[str, RegisteredTaxpayer | None] = {}

    def ask(self, what: str, lookup: Callable[[], T], *, note: bool = True) -> T | None:
        """``lookup()``; None when it failed for another reason than "not registered" (noted as skipped
        unless ``note`` is False; ``failure`` says why)."""
        self.failure = ""
        try:
            return lookup()
        except NotFoundError:
            raise
        except CrEinvoiceError as exc:
            if note:
                self.skipped.append(f"{what}: {exc}")
            self.failure = f"{what}: {exc}"
            return None

    def registered(self, numero: str) -> RegisteredTaxpayer | None:
        """The imported registered data of ``numero`` (None: not imported, or unreadable -- noted)."""
        if numero not in self._registered:
            what = f"registered data of {numero}"
            self._registered[numero] = self.ask(what, lambda: self.data.registered(numero))
        return self._registered[numero]

    def cabys_exists(self, codigo: str) -> bool | None:
        if codigo not in self._cabys:
            try:
                found = self.ask(f"CABYS {codigo}", lambda: self.data.cabys(codigo))
                self._cabys[codigo] = None if found is None else True
            except NotFoundError:
                self._cabys[codigo] = False
        return self._cabys[codigo]


def _children(parent: etree._Element, name: str) -> list[etree._Element]:
    return [el for el in parent if local_name(el.tag) == name]


def _emisor_address(run: _Run, root: etree._Element) -> None:
    """-37: the emisor's Ubicacion against its registered address (a FEC's Emisor is its seller: not
    checked)."""
    if local_name(root.tag) == TipoDocumento.FACTURA_COMPRA.root:
        return
    numero = child_text(root, "Emisor", "Identificacion", "Numero")
    given = [child_text(root, "Emisor", "Ubicacion", part) for part in ("Provincia", "Canton", "Distrito")]
    if not numero or given[0] is None:
        return
    registered = run.registered(numero)
    if registered is None or registered.ubicacion is None:
        run.skipped.append(
            f"address (-37): the registered address of {numero} is not imported (the public taxpayer "
            f"lookup gives none; {_IMPORT} with your registered data from ATV)"
        )
        return
    address = registered.ubicacion
    if not address.matches(*given):
        detail = (
            f"the voucher says {'/'.join(g or '' for g in given)}, the address registered for {numero} is "
            f"{address.provincia}/{address.canton}/{address.distrito} ({registered.imported_from})"
        )
        problem = Problem("Emisor/Ubicacion", MESSAGES[-37], -37)
        run.reasons.append(Reason(problem, Severity.WARNING, detail))


def _emisor_activity(run: _Run, root: etree._Element) -> None:
    """-408 from the activity catalogue, else -407 from the emisor's registered activities."""
    codigo = child_text(root, "CodigoActividadEmisor")
    # The issuer of a FEC is its buyer, the XML's Receptor.
    party = "Receptor" if local_name(root.tag) == TipoDocumento.FACTURA_COMPRA.root else "Emisor"
    numero = child_text(root, party, "Identificacion", "Numero")
    if not codigo:
        return
    catalogue = run.ask("activity catalogue (-408)", run.data.activity_catalogue, note=False)
    unknown = (
        run.failure
        if catalogue is None and run.failure
        else "activity catalogue (-408): the catalogue of economic activities is not imported (the public "
        f"API does not serve it; {_IMPORT} with Hacienda's published catalogue)"
    )
    if catalogue is not None and not catalogue.has(codigo):
        detail = (
            f"activity {codigo} is not in the catalogue of economic activities ({catalogue.imported_from})"
        )
        problem = Problem("CodigoActividadEmisor", MESSAGES[-408], -408)
        run.reasons.append(Reason(problem, Severity.REJECTION, detail))
        return  # -408 says more than -407
    if not numero:
        if catalogue is None:
            run.skipped.append(unknown)
        return
    try:
        looked_up = run.ask(f"taxpayer {numero}", lambda: run.data.taxpayer(numero), note=False)
    except NotFoundError:
        detail = f"{numero} is not in Hacienda's taxpayer registry"
        run.reasons.append(Reason(Problem(f"{party}/Identificacion/Numero", detail), Severity.WARNING))
        if catalogue is None:
            run.skipped.append(unknown)
        return
    failure = "" if looked_up is not None else run.failure
    registered = run.registered(numero)
    imported = None if registered is None else registered.taxpayer
    taxpayer = looked_up if looked_up is not None else imported
    if taxpayer is None:
        run.skipped.append(failure)
    elif not _active(taxpayer, codigo):
        state = "not registered" if taxpayer.actividad(codigo) is None else "inactive"
        detail = f"activity {codigo} is {state} for taxpayer {numero}"
        problem = Problem("CodigoActividadEmisor", MESSAGES[-407], -407)
        run.reasons.append(Reason(problem, Severity.WARNING, detail))
    if catalogue is None and not (_active(looked_up, codigo) or _active(imported, codigo)):
        run.skipped.append(f"{unknown}, and {codigo} is not known as an active activity of {numero}")


def _lines(root: etree._Element) -> list[etree._Element]:
    detalle = next(iter(_children(root, "DetalleServicio")), None)
    return [] if detalle is None else _children(detalle, "LineaDetalle")


def _cabys_codes(run: _Run, root: etree._Element) -> None:
    refs = _children(root, "InformacionReferencia")
    if any(child_text(ref, "Codigo") in _FINANCIAL_NOTES for ref in refs):
        return
    for index, line in enumerate(_lines(root), start=1):
        n = child_text(line, "NumeroLinea") or str(index)
        codes = [(f"DetalleServicio/LineaDetalle[{index}]/CodigoCABYS", child_text(line, "CodigoCABYS"))]
        for k, part in enumerate(line.iter("{*}LineaDetalleSurtido"), start=1):
            path = f"DetalleServicio/LineaDetalle[{index}]/DetalleSurtido/LineaDetalleSurtido[{k}]"
            codes.append((f"{path}/CodigoCABYSSurtido", child_text(part, "CodigoCABYSSurtido")))
        for path, codigo in codes:
            if codigo and run.cabys_exists(codigo) is False:
                detail = f"CABYS {codigo} is not in the catalogue"
                problem = Problem(path, MESSAGES[-400].format(n=n), -400)
                run.reasons.append(Reason(problem, Severity.REJECTION, detail))
                break  # one row per line, as Hacienda writes it


def _fecha(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo is not None else None


def _exonerations(run: _Run, root: etree._Element) -> None:
    fecha = _fecha(child_text(root, "FechaEmision"))
    for index, line in enumerate(_lines(root), start=1):
        cabys = child_text(line, "CodigoCABYS")
        for k, impuesto in enumerate(_children(line, "Impuesto"), start=1):
            for ex in _children(impuesto, "Exoneracion"):
                tipo = child_text(ex, "TipoDocumentoEX1")
                numero = child_text(ex, "NumeroDocumento")
                if tipo not in _CHECKED_EXONERATIONS or not numero:
                    continue
                path = f"DetalleServicio/LineaDetalle[{index}]/Impuesto[{k}]/Exoneracion"
                for problem in _exoneration_problems(run, path, tipo, numero, ex, fecha, cabys):
                    run.reasons.append(Reason(problem, Severity.REJECTION))


def _exoneration_problems(  # noqa: PLR0917
    run: _Run,
    path: str,
    tipo: str,
    numero: str,
    ex: etree._Element,
    fecha: datetime | None,
    cabys: str | None,
) -> list[Problem]:
    try:
        auth = run.ask(f"exoneration {numero}", lambda: run.data.exoneration(numero))
    except NotFoundError:
        return [Problem(f"{path}/NumeroDocumento", f"authorisation {numero} is not in Hacienda's registry")]
    if auth is None:
        return []
    found: list[Problem] = []
    if fecha is not None and not auth.valid_on(fecha):
        found.append(
            Problem(f"{path}/NumeroDocumento", f"authorisation {numero} is not valid on {fecha.isoformat()}")
        )
    given = _fecha(child_text(ex, "FechaEmisionEX"))
    if given is not None and given.date() != auth.fecha_emision.date():
        found.append(
            Problem(
                f"{path}/FechaEmisionEX",
                f"FechaEmisionEX {given.date()} is not the authorisation's date {auth.fecha_emision.date()}",
            )
        )
    if tipo == "04" and cabys and not auth.covers(cabys):
        found.append(
            Problem(f"{path}/NumeroDocumento", f"authorisation {numero} does not cover CABYS {cabys}")
        )
    return found


def check_registry(root: etree._Element, data: PublicData) -> tuple[list[Reason], list[str]]:
    """The registry reasons of a voucher (none for a MensajeReceptor) and the checks skipped."""
    if local_name(root.tag) not in VOUCHER_ROOTS:
        return [], []
    run = _Run(data)
    _emisor_address(run, root)
    _emisor_activity(run, root)
    _cabys_codes(run, root)
    _exonerations(run, root)
    return run.reasons, run.skipped
