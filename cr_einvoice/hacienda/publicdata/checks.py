"""This package's own warning from the CABYS catalogue: a line whose IVA rate differs from the rate the
catalogue gives its CABYS code (``impuesto``).

Hacienda does not reject such a voucher (no code); the warning helps an issuer catch a wrong code or rate.
Only IVA (``Codigo`` 01) charged at a rate is compared: an exempt line (CodigoTarifaIVA 10), a 0 % one
without credit (11) and an export (FacturaElectronicaExportacion) are decided by the sale, not the goods.
Hacienda's own registry codes (-407, -400, exonerations) are :mod:`cr_einvoice.preflight.registry`'s.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Protocol

from lxml import etree

from cr_einvoice.core.catalogs import TipoDocumento
from cr_einvoice.core.errors import CrEinvoiceError, NotFoundError, Problem
from cr_einvoice.core.xmlsafe import child_text, find_child, local_name
from cr_einvoice.hacienda.publicdata.model import Cabys

__all__ = ["CabysSource", "tarifa_warning", "tarifa_warnings"]

#: CodigoTarifaIVA whose rate does not come from the goods.
_NOT_COMPARED = frozenset({"10", "11"})


class CabysSource(Protocol):
    """The CABYS lookup (a :class:`~.client.PublicDataClient` is one); an unknown code raises
    ``NotFoundError``."""

    def cabys(self, codigo: str) -> Cabys: ...


def tarifa_warning(n: int, cabys: Cabys, tarifa: Decimal) -> Problem | None:
    """The warning when line ``n``'s IVA ``tarifa`` (percent) differs from the CABYS code's rate."""
    if tarifa == cabys.impuesto:
        return None
    return Problem(
        f"DetalleServicio/LineaDetalle[{n}]/Impuesto/Tarifa",
        f"the line's IVA rate is {tarifa} % but CABYS {cabys.codigo} ({cabys.descripcion}) carries "
        f"{cabys.impuesto} %",
    )


def _tarifa(tax: etree._Element) -> Decimal | None:
    if child_text(tax, "Codigo") != "01" or child_text(tax, "CodigoTarifaIVA") in _NOT_COMPARED:
        return None
    try:
        return Decimal(child_text(tax, "Tarifa") or "")
    except InvalidOperation:
        return None


def tarifa_warnings(root: etree._Element, source: CabysSource) -> tuple[list[Problem], list[str]]:
    """(warnings, lookups that could not be made) for the voucher ``root``; unknown codes are not warned
    here (that is Hacienda's -400)."""
    if local_name(root.tag) == TipoDocumento.FACTURA_EXPORTACION.root:
        return [], []
    detalle = find_child(root, "DetalleServicio")
    lines = [] if detalle is None else [e for e in detalle if local_name(e.tag) == "LineaDetalle"]
    warnings: list[Problem] = []
    skipped: list[str] = []
    for n, line in enumerate(lines, start=1):
        code = child_text(line, "CodigoCABYS")
        rates = [r for r in (_tarifa(t) for t in line if local_name(t.tag) == "Impuesto") if r is not None]
        if not code or not rates:
            continue
        try:
            cabys = source.cabys(code)
        except NotFoundError:
            continue
        except CrEinvoiceError as exc:
            skipped.append(f"CABYS {code} (IVA rate): {exc}")
            continue
        warnings += [w for w in (tarifa_warning(n, cabys, r) for r in rates) if w is not None]
    return warnings, skipped
