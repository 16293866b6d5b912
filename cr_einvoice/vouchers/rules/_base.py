"""What every rule module shares: the document under check (:class:`Ctx`) and the readers of its XML."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from lxml import etree

from cr_einvoice.core.catalogs import DocumentKind, TipoDocumento, document_kind
from cr_einvoice.core.errors import Problem
from cr_einvoice.core.xmlsafe import child_text
from cr_einvoice.vouchers.rules.messages import MESSAGES

__all__ = ["BASE_CODES", "IVA_CODES", "Ctx", "children", "dec_of", "show_rate", "text_of"]

#: IVA codes with a CodigoTarifaIVA (01, 07), and the taxes that form part of the IVA base (02, 04, 05, 12).
IVA_CODES = frozenset({"01", "07"})
BASE_CODES = frozenset({"02", "04", "05", "12"})


def children(el: etree._Element | None, name: str) -> list[etree._Element]:
    """Children with local name ``name`` in any namespace (lxml filters ``{*}name`` in C)."""
    if el is None:
        return []
    return list(el.iterchildren("{*}" + name))


def text_of(el: etree._Element | None, name: str) -> str | None:
    """The stripped text of the child ``name`` (``""`` when it has none), None when it is missing."""
    return child_text(el, name, empty="")


def dec_of(el: etree._Element | None, name: str) -> Decimal | None:
    """The child ``name`` as a finite number; None when missing or malformed (the XSD reports those)."""
    text = text_of(el, name)
    if text is None:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def show_rate(value: Decimal) -> str:
    return format(value.normalize(), "f") if value != 0 else "0"


@dataclass
class Ctx:
    """The document under check: its root, its local name (``kind``) and the problems found so far."""

    root: etree._Element
    kind: str
    problems: list[Problem] = field(default_factory=list)

    def add(self, path: str, message: str, code: int | None = None) -> None:
        self.problems.append(Problem(path, message, code))

    def hacienda(self, code: int, path: str, **fmt: object) -> None:
        self.add(path, MESSAGES[code].format(**fmt), code)

    @property
    def document(self) -> DocumentKind | None:
        return document_kind(self.kind)

    def _is(self, *tipos: TipoDocumento) -> bool:
        return any(self.kind == t.root for t in tipos)

    @property
    def fe(self) -> bool:
        return self._is(TipoDocumento.FACTURA_ELECTRONICA)

    @property
    def rep(self) -> bool:
        return self._is(TipoDocumento.RECIBO_PAGO)

    @property
    def fec(self) -> bool:
        return self._is(TipoDocumento.FACTURA_COMPRA)

    @property
    def fee(self) -> bool:
        return self._is(TipoDocumento.FACTURA_EXPORTACION)

    @property
    def notas(self) -> bool:
        return self._is(TipoDocumento.NOTA_CREDITO, TipoDocumento.NOTA_DEBITO)
