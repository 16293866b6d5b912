"""Canonicalisation helpers over lxml (libxml2's C14N 1.0 / exclusive C14N) and text escaping."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager

from lxml import etree

from cr_einvoice.signing.xades.algorithms import DS_NS, CanonicalizationMethod

__all__ = [
    "UnsupportedC14NError",
    "c14n_element",
    "c14n_tree",
    "detached",
    "escape_attr",
    "escape_text",
    "outermost_signatures",
]

_XML_NS = "http://www.w3.org/XML/1998/namespace"
_SIG_TAG = f"{{{DS_NS}}}Signature"


class UnsupportedC14NError(ValueError):
    """A canonicalisation case libxml2 (through lxml) cannot reproduce exactly."""


def escape_text(value: str) -> str:
    """Escape character data exactly as C14N renders it."""
    if "&" in value:
        value = value.replace("&", "&amp;")
    if "<" in value:
        value = value.replace("<", "&lt;")
    if ">" in value:
        value = value.replace(">", "&gt;")
    if "\r" in value:
        value = value.replace("\r", "&#xD;")
    return value


def escape_attr(value: str) -> str:
    """Escape an attribute value exactly as C14N renders it."""
    return (
        value.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace('"', "&quot;")
        .replace("\t", "&#x9;")
        .replace("\n", "&#xA;")
        .replace("\r", "&#xD;")
    )


def c14n_tree(
    tree: etree._ElementTree, method: CanonicalizationMethod, prefixes: Sequence[str] | None = None
) -> bytes:
    """Canonical form of a whole document (same-document ``URI=""``: comments are never included)."""
    root = tree.getroot()
    if method.exclusive and prefixes and "#default" in prefixes and root.prefix and root.nsmap.get(None):
        raise UnsupportedC14NError("#default in InclusiveNamespaces with a prefixed root element")
    return etree.tostring(
        tree,
        method="c14n",
        exclusive=method.exclusive,
        with_comments=False,
        inclusive_ns_prefixes=list(prefixes) if prefixes else None,
    )


def c14n_element(
    element: etree._Element,
    method: CanonicalizationMethod,
    *,
    with_comments: bool = False,
    prefixes: Sequence[str] | None = None,
) -> bytes:
    """Canonical form of the subtree rooted at ``element`` as a document subset.

    Inclusive C14N renders the namespaces in scope from the ancestors (libxml2 does that) and, per C14N 1.0
    section 2.4, the ``xml:*`` attributes inherited from ancestors, which are copied onto the apex for the
    duration of the call.
    """
    if method.exclusive:
        default_ns = element.nsmap.get(None)
        add_default = bool(prefixes and "#default" in prefixes and default_ns and element.prefix is not None)
        if add_default and any(
            isinstance(d.tag, str) and d.prefix is None for d in element.iterdescendants()
        ):
            raise UnsupportedC14NError("#default in InclusiveNamespaces over unprefixed descendants")
        out = etree.tostring(
            element,
            method="c14n",
            exclusive=True,
            with_comments=with_comments,
            inclusive_ns_prefixes=[p for p in prefixes if p != "#default"] if prefixes else None,
        )
        if add_default and default_ns:
            # lxml drops "#default" (it only passes prefixes found in the document's name dictionary); the
            # in-scope default namespace is rendered first on the apex, as exclusive C14N requires.
            at = (
                len((element.prefix or "").encode("utf-8"))
                + 2
                + len(etree.QName(element).localname.encode("utf-8"))
            )
            out = out[:at] + f' xmlns="{escape_attr(default_ns)}"'.encode() + out[at:]
        return out
    inherited: dict[str, str] = {}
    parent = element.getparent()
    while parent is not None:
        for raw_name, raw_value in parent.attrib.items():
            name, value = str(raw_name), str(raw_value)
            if name.startswith(f"{{{_XML_NS}}}") and name not in inherited and name not in element.attrib:
                inherited[name] = value
        parent = parent.getparent()
    for name, value in inherited.items():
        element.set(name, value)
    try:
        return etree.tostring(element, method="c14n", exclusive=False, with_comments=with_comments)
    finally:
        for name in inherited:
            del element.attrib[name]


def outermost_signatures(element: etree._Element) -> list[etree._Element]:
    """ds:Signature elements in ``element``'s subtree (itself included) that are not inside another one."""
    found: list[etree._Element] = []
    for sig in element.iter(_SIG_TAG):
        anc = sig.getparent()
        nested = False
        while anc is not None:
            if anc.tag == _SIG_TAG:
                nested = True
                break
            if anc is element:
                break
            anc = anc.getparent()
        if not nested:
            found.append(sig)
    return found


@contextmanager
def detached(elements: Iterable[etree._Element]) -> Iterator[None]:
    """Temporarily remove elements from their tree, keeping the text that follows each one in place.

    This realises both the enveloped-signature transform and the ``not(ancestor-or-self::ds:Signature)``
    XPath filter without copying the document: the removed node-set is exactly the elements' subtrees.
    """
    undo: list[tuple[etree._Element, int, etree._Element, str | None, etree._Element | None, str | None]] = []
    try:
        for el in elements:
            parent = el.getparent()
            if parent is None:
                raise ValueError("cannot detach the root element")
            index = parent.index(el)
            tail = el.tail
            prev = el.getprevious()
            saved = prev.tail if prev is not None else parent.text
            el.tail = None
            parent.remove(el)
            if tail:
                if prev is not None:
                    prev.tail = (saved or "") + tail
                else:
                    parent.text = (saved or "") + tail
            undo.append((parent, index, el, tail, prev, saved))
        yield
    finally:
        for parent, index, el, tail, prev, saved in reversed(undo):
            if prev is not None:
                prev.tail = saved
            else:
                parent.text = saved
            el.tail = tail
            parent.insert(index, el)
