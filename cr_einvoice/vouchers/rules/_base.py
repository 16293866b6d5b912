"""What every rule module shares: the document under check (:class:`Ctx`), which reads its XML.

The rules look elements up by local name below a parent (any namespace: every voucher type and version has
its own). :class:`Ctx` groups each parent's children by local name the first time the parent is asked about,
so every later lookup is one dictionary access instead of a walk over the children (a voucher's rules make
about a hundred of them)."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from lxml import etree

from cr_einvoice.core.catalogs import (
    CodigoImpuesto,
    CodigoTarifaIVA,
    DocumentKind,
    TipoDocumento,
    document_kind,
)
from cr_einvoice.core.errors import Problem
from cr_einvoice.vouchers.rules.messages import MESSAGES

__all__ = ["BASE_CODES", "IMPUESTOS", "IVA_CODES", "TARIFAS", "Ctx", "show_rate"]

#: IVA codes with a CodigoTarifaIVA (01, 07), and the taxes that form part of the IVA base (02, 04, 05, 12).
IVA_CODES = frozenset({"01", "07"})
BASE_CODES = frozenset({"02", "04", "05", "12"})
#: The tax and IVA-rate codes by their text (a lookup, not an Enum call, for every tax of every line).
IMPUESTOS: dict[str, CodigoImpuesto] = {c.value: c for c in CodigoImpuesto}
TARIFAS: dict[str, CodigoTarifaIVA] = {c.value: c for c in CodigoTarifaIVA}


def show_rate(value: Decimal) -> str:
    return format(value.normalize(), "f") if value != 0 else "0"


class _KindIs:
    """A :class:`Ctx` property: whether the document under check is one of ``tipos``."""

    __slots__ = ("roots",)

    def __init__(self, *tipos: TipoDocumento) -> None:
        self.roots = frozenset(t.root for t in tipos)

    def __get__(self, ctx: Ctx, owner: type[Ctx] | None = None) -> bool:
        return ctx.kind in self.roots


_Index = dict[str, list[etree._Element]]


@dataclass
class Ctx:
    """The document under check: its root, its local name (``kind``), the problems found so far, and the
    children of the elements asked about, by local name."""

    root: etree._Element
    kind: str
    problems: list[Problem] = field(default_factory=list)
    #: parent element → its child elements by local name, in document order (the parents are kept alive
    #: here, so lxml hands out the same proxy objects for them while the check runs)
    _index: dict[etree._Element, _Index] = field(default_factory=dict, repr=False)

    def add(self, path: str, message: str, code: int | None = None) -> None:
        self.problems.append(Problem(path, message, code))

    def hacienda(self, code: int, path: str, **fmt: object) -> None:
        self.add(path, MESSAGES[code].format(**fmt), code)

    def _children_of(self, el: etree._Element) -> _Index:
        found = self._index[el] = {}
        for child in el:
            tag = child.tag
            if isinstance(tag, str):  # not a comment or processing instruction
                local = tag[tag.find("}") + 1 :]
                same = found.get(local)
                if same is None:
                    found[local] = [child]
                else:
                    same.append(child)
        return found

    # The readers below look the index up inline (they run about a hundred times per voucher).

    def children(self, el: etree._Element | None, name: str) -> list[etree._Element]:
        """The children with local name ``name``, in document order (empty when ``el`` is None)."""
        if el is None:
            return []
        same = (self._index.get(el) or self._children_of(el)).get(name)
        return list(same) if same else []

    def child(self, el: etree._Element | None, name: str) -> etree._Element | None:
        """The first child with local name ``name``; None when there is none or ``el`` is None."""
        if el is None:
            return None
        same = (self._index.get(el) or self._children_of(el)).get(name)
        return same[0] if same else None

    def text(self, el: etree._Element | None, name: str) -> str | None:
        """The stripped text of the child ``name`` (``""`` when it has none), None when it is missing."""
        if el is None:
            return None
        same = (self._index.get(el) or self._children_of(el)).get(name)
        if not same:
            return None
        text = same[0].text
        return text.strip() if text else ""

    def dec(self, el: etree._Element | None, name: str) -> Decimal | None:
        """The child ``name`` as a finite number; None when missing or malformed (the XSD reports those)."""
        text = self.text(el, name)
        if text is None:
            return None
        try:
            value = Decimal(text)
        except InvalidOperation:
            return None
        return value if value.is_finite() else None

    @property
    def document(self) -> DocumentKind | None:
        return document_kind(self.kind)

    #: Whether the document is of one of these types.
    fe = _KindIs(TipoDocumento.FACTURA_ELECTRONICA)
    rep = _KindIs(TipoDocumento.RECIBO_PAGO)
    fec = _KindIs(TipoDocumento.FACTURA_COMPRA)
    fee = _KindIs(TipoDocumento.FACTURA_EXPORTACION)
    notas = _KindIs(TipoDocumento.NOTA_CREDITO, TipoDocumento.NOTA_DEBITO)
