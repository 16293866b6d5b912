"""The one hardened parser for untrusted XML.

Hacienda responses, callback bodies, vouchers received from suppliers and files given on the command line all
go through :func:`parse_untrusted`:

- **nothing is loaded**: a resolver refuses every external load (DTD, entity, XInclude) by handing libxml2
  empty content, whatever the position of the DOCTYPE or the encoding of the document; no network access, no
  DTD loading, no entity expansion. A document with a DOCTYPE, an entity declaration or reference, or any
  attempted load is then refused with ONE fixed message (:data:`DOCTYPE_REFUSED`), so the answer says nothing
  about which local files exist;
- **what is read is what was signed**: comments are dropped while parsing and processing instructions inside
  the root element right after, so the text on either side of one is read whole (``1<!---->428565.00000``
  reads ``1428565.00000``, exactly what C14N without comments signed; a processing instruction inside signed
  content was signed, so its removal breaks the signature and the document is refused);
- a byte-size limit and libxml2's default depth limit. Whitespace is preserved exactly, because signatures
  are computed over it.
"""

from __future__ import annotations

from typing import Any

from lxml import etree

from cr_einvoice.core.errors import XMLParseError

__all__ = [
    "DEFAULT_MAX_BYTES",
    "DOCTYPE_REFUSED",
    "child_text",
    "find_child",
    "local_name",
    "parse_untrusted",
]

#: 10 MiB: a 1000-line voucher with five signatures is well under 2 MiB.
DEFAULT_MAX_BYTES = 10 * 1024 * 1024

#: The one message for every DOCTYPE / entity / external-load refusal (after the input's name).
DOCTYPE_REFUSED = "contains a DOCTYPE, an entity or an external reference, which is not allowed"


class _RefuseLoads(etree.Resolver):
    """Answers every load libxml2 attempts with empty content (no file, no network) and remembers that one
    was attempted, so that the document is refused afterwards."""

    def __init__(self) -> None:
        super().__init__()
        self.attempted = False

    def resolve(self, system_url: str | None, public_id: str | None, context: Any) -> Any:  # type: ignore[override]
        self.attempted = True
        return self.resolve_string(b"", context)  # type: ignore[call-arg]


def _parser(resolver: _RefuseLoads, *, as_written: bool = False) -> etree.XMLParser:
    # A parser object is cheap; a fresh one per call keeps this thread-safe.
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        attribute_defaults=False,
        huge_tree=False,
        remove_blank_text=False,
        remove_comments=not as_written,
        remove_pis=False,  # those inside the root are stripped below; those around it are C14N input
        collect_ids=False,
    )
    parser.resolvers.add(resolver)
    return parser


def parse_untrusted(
    data: bytes | str,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    what: str = "XML document",
    as_written: bool = False,
) -> etree._Element:
    """Parse ``data`` defensively and return the root element (comments and processing instructions
    dropped, see the module docstring).

    ``as_written=True`` keeps comments and processing instructions, for a document that is about to be
    signed (its own bytes are what is kept and sent); nothing is loaded either way.

    ``what`` names the input in error messages ("Hacienda response", "callback body", ...).
    Raises :class:`~cr_einvoice.core.errors.XMLParseError` for oversize input, a DOCTYPE, an entity or an
    external reference (always the same text, :data:`DOCTYPE_REFUSED`), malformed XML, or an empty document.
    """
    raw = data.encode("utf-8") if isinstance(data, str) else data
    if not isinstance(raw, bytes | bytearray | memoryview):
        raise XMLParseError(f"{what}: expected bytes, got {type(data).__name__}")
    raw = bytes(raw)
    if len(raw) > max_bytes:
        raise XMLParseError(f"{what} is {len(raw)} bytes, over the {max_bytes}-byte limit")
    if not raw.strip():
        raise XMLParseError(f"{what} is empty")
    refused = XMLParseError(f"{what} {DOCTYPE_REFUSED}")
    # Fast refusal for ASCII-compatible input; the resolver and the checks below cover every other case.
    if b"<!DOCTYPE" in raw or b"<!ENTITY" in raw:
        raise refused
    resolver = _RefuseLoads()
    try:
        root = etree.fromstring(raw, parser=_parser(resolver, as_written=as_written))
    except etree.XMLSyntaxError as exc:
        if resolver.attempted or "DOCTYPE" in str(exc) or "ntity" in str(exc):
            raise refused from None
        raise XMLParseError(f"{what} is not well-formed XML: {exc}") from None
    docinfo: Any = root.getroottree().docinfo
    if resolver.attempted or docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD:
        raise refused
    for _ in root.iter(etree.Entity):
        raise refused
    if not as_written:
        # Processing instructions inside the document go, their neighbouring text merged (as for comments).
        etree.strip_tags(root, etree.ProcessingInstruction)
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
    if len(path) == 1:  # the common case, without the generic walk (validation reads ~100 per voucher)
        if element is None:
            return None
        for node in element.iterchildren("{*}" + path[0]):
            text = node.text
            return (text.strip() if text else "") or empty
        return None
    found = find_child(element, *path)
    if found is None:
        return None
    text = (found.text or "").strip()
    return text or empty
