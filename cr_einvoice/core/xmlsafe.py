"""The one hardened parser for untrusted XML.

Hacienda responses, callback bodies, vouchers received from suppliers and files given on the command line all
go through :func:`parse_untrusted`: no DTD (a DOCTYPE is refused outright, so no entity expansion, no
billion-laughs, no external entities), no network access, no processing of XInclude, a byte-size limit and
libxml2's default depth limit. Whitespace is preserved exactly, because signatures are computed over it.
"""

from __future__ import annotations

from lxml import etree

from cr_einvoice.core.errors import XMLParseError

__all__ = ["DEFAULT_MAX_BYTES", "child_text", "find_child", "local_name", "parse_untrusted"]

#: 10 MiB: a 1000-line voucher with five signatures is well under 2 MiB.
DEFAULT_MAX_BYTES = 10 * 1024 * 1024


def _parser() -> etree.XMLParser:
    # A parser object is cheap; a fresh one per call keeps this thread-safe.
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_blank_text=False,
        remove_comments=False,
        remove_pis=False,
        collect_ids=False,
    )


def parse_untrusted(
    data: bytes | str, *, max_bytes: int = DEFAULT_MAX_BYTES, what: str = "XML document"
) -> etree._Element:
    """Parse ``data`` defensively and return the root element.

    ``what`` names the input in error messages ("Hacienda response", "callback body", ...).
    Raises :class:`~cr_einvoice.core.errors.XMLParseError` for oversize input, a DOCTYPE or entity
    declaration,
    malformed XML, or an empty document.
    """
    raw = data.encode("utf-8") if isinstance(data, str) else data
    if not isinstance(raw, bytes | bytearray | memoryview):
        raise XMLParseError(f"{what}: expected bytes, got {type(data).__name__}")
    raw = bytes(raw)
    if len(raw) > max_bytes:
        raise XMLParseError(f"{what} is {len(raw)} bytes, over the {max_bytes}-byte limit")
    if not raw.strip():
        raise XMLParseError(f"{what} is empty")
    # Refuse DTDs before libxml2 sees them (covers UTF-8/ASCII input; the check below covers the rest).
    head = raw[:4096]
    if b"<!DOCTYPE" in head or b"<!ENTITY" in raw:
        raise XMLParseError(f"{what} contains a DOCTYPE or ENTITY declaration, which is not allowed")
    if isinstance(data, str):
        # lxml refuses str with an encoding declaration; we already hold UTF-8 bytes.
        pass
    try:
        root = etree.fromstring(raw, parser=_parser())
    except etree.XMLSyntaxError as exc:
        raise XMLParseError(f"{what} is not well-formed XML: {exc}") from None
    tree = root.getroottree()
    if tree.docinfo.internalDTD is not None or tree.docinfo.doctype:
        raise XMLParseError(f"{what} contains a DOCTYPE, which is not allowed")
    for node in root.iter(etree.Entity):
        raise XMLParseError(f"{what} references the entity {node.text!r}, which is not allowed")
    return root


def find_child(element: etree._Element | None, *path: str) -> etree._Element | None:
    """The first element reached by following ``path`` (local names, any namespace) down from ``element``,
    or None. Vouchers of every type and version use their own namespace, so lookups go by local name;
    lxml filters ``{*}name`` in C."""
    node = element
    for name in path:
        if node is None:
            return None
        node = next(node.iterchildren("{*}" + name), None)
    return node


def local_name(tag: object) -> str:
    """The local name of an element's tag (``{ns}Clave`` → ``Clave``); ``""`` for comments and processing
    instructions, whose ``tag`` is not a string."""
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def child_text(element: etree._Element | None, *path: str, empty: str | None = None) -> str | None:
    """The stripped text of the element reached by ``path`` (see :func:`find_child`); None when it is
    missing, ``empty`` when it has no text."""
    node = find_child(element, *path)
    if node is None:
        return None
    text = (node.text or "").strip()
    return text or empty
