"""Numbering: the Clave, NumeroConsecutivo and FechaEmision every voucher and MensajeReceptor carries."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime

from cr_einvoice.core.catalogs import TipoDocumento, TipoIdentificacion
from cr_einvoice.core.checks import Check, lenient
from cr_einvoice.core.clave import Clave, Consecutivo
from cr_einvoice.core.errors import Problem, ValidationError
from cr_einvoice.core.identifiers import Identificacion

__all__ = ["NUMBERING_FIELDS", "check_numbering", "missing_numbering"]

NUMBERING_FIELDS = ("clave", "numero_consecutivo", "fecha_emision")


def check_numbering(
    c: Check,
    tipo: TipoDocumento,
    emisor: Identificacion | None,
    *,
    consecutivo_field: str = "numero_consecutivo",
    fecha_field: str = "fecha_emision",
    parsed: tuple[Consecutivo, Clave] | None = None,
) -> None:
    """Clave, consecutivo and date, each well formed and consistent with the others, with the document type
    and (for a voucher) with the emisor's identification. A MensajeReceptor's ``clave`` is the confirmed
    voucher's, so only its own consecutivo's type is checked.

    ``parsed``: the consecutivo and clave the fields were written from (objects of
    :mod:`cr_einvoice.core.clave`, well formed by construction), which are then not parsed again."""
    clave_field = "clave"
    obj = c.obj
    if parsed is not None and not c.lenient:
        fecha = c.moment(fecha_field, optional=True)
        _consecutivo_agrees(c, tipo, parsed[0], consecutivo_field)
        _clave_agrees(
            c, tipo, emisor, parsed[1], getattr(obj, clave_field), getattr(obj, consecutivo_field), fecha
        )
        return
    for name in (clave_field, consecutivo_field):
        value = getattr(obj, name)
        if value is not None and not isinstance(value, str):
            c.set(name, str(value))
    clave = c.pattern(clave_field, r"\d{50}", "50 digits", optional=True)
    consecutivo = c.pattern(consecutivo_field, r"\d{20}", "20 digits", optional=True)
    fecha = c.moment(fecha_field, optional=True)
    if lenient():
        return
    if consecutivo is not None and re.fullmatch(r"\d{20}", consecutivo):
        try:
            parsed_c = Consecutivo.parse(consecutivo, path=consecutivo_field)
        except ValidationError as exc:
            c.problems.extend(exc.problems)
        else:
            _consecutivo_agrees(c, tipo, parsed_c, consecutivo_field)
    if (
        clave is not None
        and re.fullmatch(r"\d{50}", clave)
        and consecutivo_field != "numero_consecutivo_receptor"
    ):
        try:
            parsed_clave = Clave.parse(clave)
        except ValidationError as exc:
            c.problems.extend(exc.problems)
            return
        _clave_agrees(c, tipo, emisor, parsed_clave, clave, consecutivo, fecha)


def _consecutivo_agrees(c: Check, tipo: TipoDocumento, parsed: Consecutivo, field: str) -> None:
    if parsed.tipo is not tipo:
        c.add(field, f"carries document type {parsed.tipo.value}, this document is {tipo.value}")


def _clave_agrees(  # noqa: PLR0917 (the parts of one numbering)
    c: Check,
    tipo: TipoDocumento,
    emisor: Identificacion | None,
    parsed: Clave,
    clave: str,
    consecutivo: str | None,
    fecha: datetime | None,
) -> None:
    """A voucher's clave against its consecutivo, its FechaEmision and its emisor."""
    if consecutivo is not None and clave[21:41] != consecutivo:
        c.add("clave", f"positions 22-41 ({clave[21:41]}) differ from numero_consecutivo {consecutivo}")
    if fecha is not None and parsed.fecha != fecha.date():
        c.add(
            "clave",
            f"carries the date {parsed.fecha.isoformat()}, "
            f"fecha_emision is {fecha.date().isoformat()} (CR time)",
        )
    if (
        emisor is not None
        and tipo is not TipoDocumento.FACTURA_COMPRA
        and emisor.tipo
        not in (TipoIdentificacion.EXTRANJERO_NO_DOMICILIADO, TipoIdentificacion.NO_CONTRIBUYENTE)
        and not parsed.matches_identificacion(emisor.tipo, emisor.numero)
    ):
        c.add("clave", f"positions 10-21 ({clave[9:21]}) are not the emisor's identification {emisor.numero}")


def missing_numbering(doc: object, names: Sequence[str]) -> list[Problem]:
    return [
        Problem(name, "is missing: number the document first with doc.with_numbering(...)")
        for name in names
        if getattr(doc, name) is None
    ]
