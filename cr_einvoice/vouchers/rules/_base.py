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


class _KindIs:
    """A :class:`Ctx` property: whether the document under check is one of ``tipos``."""

    __slots__ = ("roots",)

    def __init__(self, *tipos: TipoDocumento) -> None:
        self.roots = frozenset(t.root for t in tipos)

    def __get__(self, ctx: Ctx, owner: type[Ctx] | None = None) -> bool:
        return ctx.kind in self.roots


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

    #: Whether the document is of one of these types.
    fe = _KindIs(TipoDocumento.FACTURA_ELECTRONICA)
    rep = _KindIs(TipoDocumento.RECIBO_PAGO)
    fec = _KindIs(TipoDocumento.FACTURA_COMPRA)
    fee = _KindIs(TipoDocumento.FACTURA_EXPORTACION)
    notas = _KindIs(TipoDocumento.NOTA_CREDITO, TipoDocumento.NOTA_DEBITO)
