"""Schema errors worded as Hacienda reports them.

Hacienda validates with Xerces-J, so its ``-1`` rows carry Xerces texts (``cvc-complex-type.2.4.a: …``) and
Xerces positions (line and column just after the tag where the error was detected), while lxml reports
libxml2 texts with column 0. :func:`xerces_problems` validates a document with the compiled schema and
rewrites each libxml2 error in Xerces wording, computing the position from the document as submitted.
Unrecognised libxml2 messages are passed through unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path

from lxml import etree

from cr_einvoice.core.errors import Problem

__all__ = ["SchemaIndex", "XercesError", "positions", "xerces_errors"]

XS = "http://www.w3.org/2001/XMLSchema"
_XS = f"{{{XS}}}"

_HEAD = re.compile(r"^Element '(?P<el>[^']+)'(?:, attribute '(?P<attr>[^']+)')?: (?P<body>.*)$", re.S)
_EXPECTED = re.compile(r"Expected is (?:one of )?\( (?P<list>.*?) \)")
_QNAME = re.compile(r"^\{(?P<ns>[^}]*)\}(?P<local>.+)$")


@dataclass(frozen=True, slots=True)
class XercesError:
    message: str
    line: int
    column: int


# -- positions --------------------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"<!--.*?-->|<!\[CDATA\[.*?\]\]>|<\?.*?\?>|<!.*?>"
    r"|</(?P<end>[^\s>]+)\s*>"
    r"|<(?P<start>[^\s/>!?]+)(?P<attrs>(?:[^>\"']|\"[^\"]*\"|'[^']*')*?)(?P<empty>/?)>",
    re.S,
)


def positions(text: str) -> list[tuple[int, int]]:
    """For each element in document order: (offset just after its start tag, offset just after its end)."""
    result: list[tuple[int, int]] = []
    stack: list[int] = []
    for m in _TOKEN.finditer(text):
        if m.group("start") is not None:
            index = len(result)
            result.append((m.end(), m.end()))
            if not m.group("empty"):
                stack.append(index)
        elif m.group("end") is not None and stack:
            index = stack.pop()
            result[index] = (result[index][0], m.end())
    return result


def _line_col(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    start = text.rfind("\n", 0, offset) + 1
    return line, offset - start + 1


# -- schema lookup (type names for the messages) ----------------------------------------------------------


class SchemaIndex:
    """Finds, for an instance element, its Xerces type name and its built-in base type."""

    def __init__(self, xsd_path: Path) -> None:
        parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
        self._root = etree.parse(str(xsd_path), parser).getroot()
        self._elements = {e.get("name"): e for e in self._root.findall(f"{_XS}element")}
        self._complex = {e.get("name"): e for e in self._root.findall(f"{_XS}complexType")}
        self._simple = {e.get("name"): e for e in self._root.findall(f"{_XS}simpleType")}

    @staticmethod
    def _local(qname: str) -> str:
        return qname.split(":", 1)[-1]

    def _children_decls(self, decl: etree._Element) -> Iterator[etree._Element]:
        """The xs:element declarations directly inside ``decl``'s content model (not nested elements)."""
        container: etree._Element | None = decl.find(f"{_XS}complexType")
        if container is None and decl.get("type"):
            container = self._complex.get(self._local(decl.get("type", "")))
        if container is None:
            return
        pending = list(container.iterchildren(etree.Element))
        while pending:
            node = pending.pop(0)
            if node.tag == f"{_XS}element":
                yield node
                continue
            if node.tag in {f"{_XS}complexContent", f"{_XS}extension"} and node.get("base"):
                base = self._complex.get(self._local(node.get("base", "")))
                if base is not None:
                    pending.extend(base.iterchildren(etree.Element))
            pending.extend(node.iterchildren(etree.Element))

    def declaration(self, element: etree._Element) -> list[etree._Element]:
        """Declarations from the root down to ``element`` (shorter when the path leaves the schema)."""
        chain = [element]
        parent = element.getparent()
        while parent is not None:
            chain.insert(0, parent)
            parent = parent.getparent()
        found: list[etree._Element] = []
        decl = self._elements.get(etree.QName(chain[0]).localname)
        if decl is None:
            return found
        found.append(decl)
        for node in chain[1:]:
            name = etree.QName(node).localname
            nxt = next((d for d in self._children_decls(decl) if d.get("name") == name), None)
            if nxt is None:
                return found
            decl = nxt
            found.append(decl)
        return found

    def type_name(self, element: etree._Element) -> str:
        decls = self.declaration(element)
        if (
            len(decls) < 1
            or etree.QName(decls[-1].get("name", "")).localname != etree.QName(element).localname
        ):
            return "null"
        last = decls[-1]
        if last.get("type"):
            return self._local(last.get("type", ""))
        names: list[str] = []
        for decl in reversed(decls):
            names.append(decl.get("name", ""))
            if decl is not last and decl.get("type"):
                names[-1] = self._local(decl.get("type", ""))
                break
        return "#AnonType_" + "".join(names)

    def builtin_base(self, element: etree._Element) -> str | None:
        decls = self.declaration(element)
        if not decls or decls[-1].get("name") != etree.QName(element).localname:
            return None
        decl = decls[-1]
        type_ref = decl.get("type")
        simple: etree._Element | None = decl.find(f"{_XS}simpleType")
        for _ in range(20):
            if type_ref is not None:
                if type_ref.startswith("xs:") or type_ref.startswith("xsd:"):
                    return self._local(type_ref)
                simple = self._simple.get(self._local(type_ref))
            if simple is None:
                return None
            restriction = simple.find(f"{_XS}restriction")
            if restriction is None:
                return None
            type_ref = restriction.get("base")
            simple = None if type_ref else restriction.find(f"{_XS}simpleType")
        return None


@lru_cache(maxsize=32)
def _index_for(path: str) -> SchemaIndex:
    return SchemaIndex(Path(path))


# -- message rewriting ------------------------------------------------------------------------------------


def _xerces_qname(name: str) -> str:
    m = _QNAME.match(name.strip())
    if m is None:
        return name.strip()
    return f'"{m.group("ns")}":{m.group("local")}'


def _expected(body: str) -> str | None:
    m = _EXPECTED.search(body)
    if m is None:
        return None
    names = [n.strip() for n in m.group("list").split(",") if n.strip()]
    # libxml2 abbreviates with "##other{...}" and similar for wildcards; keep those as written.
    return "{" + ", ".join(_xerces_qname(n) for n in names) + "}"


def _digits(value: str) -> tuple[int, int] | None:
    try:
        number = Decimal(value.strip())
    except InvalidOperation:
        return None
    _sign, digits, exponent = number.normalize().as_tuple()
    if not isinstance(exponent, int):
        return None
    fraction = max(0, -exponent)
    total = max(len(digits), fraction)
    if number == 0:
        total = 1
    return total, fraction


_Render = Callable[[re.Match[str]], str]


def _facet_rules(value: str, body: str, type_name: Callable[[], str]) -> list[tuple[str, int, _Render]]:
    """libxml2's facet messages (regular expression, flags) and the Xerces text each one becomes."""

    def bound(facet: str) -> _Render:  # a value outside a pattern, minInclusive, maxInclusive
        return lambda m: (
            f"cvc-{facet}-valid: Value '{m[1]}' is not facet-valid with respect to {facet} '{m[2]}' for type "
            f"'{type_name()}'."
        )

    def length(facet: str) -> _Render:
        def render(m: re.Match[str]) -> str:
            limit = re.findall(r"'(\d+)'", body)[-1]
            return (
                f"cvc-{facet}-valid: Value '{value}' with length = '{m[1]}' is not facet-valid with respect "
                f"to {facet} '{limit}' for type '{type_name()}'."
            )

        return render

    def total_digits(m: re.Match[str]) -> str:
        counted = _digits(m[1])
        total = counted[0] if counted else len(re.sub(r"\D", "", m[1]))
        return (
            f"cvc-totalDigits-valid: Value '{m[1]}' has {total} total digits, but the number of total digits "
            f"has been limited to {m[2]}."
        )

    def fraction_digits(m: re.Match[str]) -> str:
        counted = _digits(m[1])
        return (
            f"cvc-fractionDigits-valid: Value '{m[1]}' has {counted[1] if counted else 0} fraction digits, "
            f"but the number of fraction digits has been limited to {m[2]}."
        )

    def enumeration(m: re.Match[str]) -> str:
        items = [i.strip().strip("'") for i in m[2].split(",")]
        return (
            f"cvc-enumeration-valid: Value '{m[1]}' is not facet-valid with respect to enumeration "
            f"'[{', '.join(items)}]'. It must be a value from the enumeration."
        )

    return [
        (
            r"\[facet 'pattern'\] The value '(.*)' is not accepted by the pattern '(.*)'\.$",
            re.S,
            bound("pattern"),
        ),
        (
            r"\[facet 'enumeration'\] The value '(.*)' is not an element of the set \{(.*)\}\.$",
            re.S,
            enumeration,
        ),
        *(
            (rf"\[facet '{facet}'\] The value has a length of '(\d+)'; this {verb} ", 0, length(facet))
            for facet, verb in (("maxLength", "exceeds"), ("minLength", "underruns"), ("length", "differs"))
        ),
        (
            r"\[facet 'totalDigits'\] The value '(.*)' has more digits than are allowed \('(\d+)'\)",
            0,
            total_digits,
        ),
        (
            r"\[facet 'fractionDigits'\] The value '(.*)' has more fractional digits "
            r"than are allowed \('(\d+)'\)",
            0,
            fraction_digits,
        ),
        *(
            (rf"\[facet '{facet}'\] The value '(.*)' {words} \('(.*)'\)", 0, bound(facet))
            for facet, words in (
                ("minInclusive", "is less than the minimum value allowed"),
                ("maxInclusive", "is greater than the maximum value allowed"),
            )
        ),
    ]


def _rewrite(
    body: str,
    element: etree._Element | None,
    qname: str,
    attr: str | None,
    index: SchemaIndex | None,
) -> tuple[str, str] | None:
    """(Xerces text, where: 'start' | 'end' | 'child') for a libxml2 message body, or None."""

    local = qname.rsplit("}", 1)[-1]

    def type_name() -> str:
        if element is None or index is None:
            return "null"
        return index.type_name(element)

    value = ""
    if element is not None:
        value = element.get(attr, "") if attr else (element.text or "")

    if body.startswith("This element is not expected."):
        exp = _expected(body)
        shown = _xerces_qname(qname)
        if exp is None:
            return (
                f"cvc-complex-type.2.4.d: Invalid content was found starting with element '{{{shown}}}'. "
                "No child element is expected at this point.",
                "start",
            )
        return (
            f"cvc-complex-type.2.4.a: Invalid content was found starting with element '{{{shown}}}'. "
            f"One of '{exp}' is expected.",
            "start",
        )
    if body.startswith("Missing child element(s)."):
        exp = _expected(body) or "{}"
        return (
            f"cvc-complex-type.2.4.b: The content of element '{local}' is not complete. "
            f"One of '{exp}' is expected.",
            "end",
        )
    for regex, flags, render in _facet_rules(value, body, type_name):
        m = re.search(regex, body, flags)
        if m:
            return render(m), "end"
    m = re.match(
        r"'(.*)' is not a valid value of the (?:local )?(?:atomic|list|union) type(?: '(.*)')?\.", body, re.S
    )
    if m:
        base = m.group(2)
        if base:
            base = base.split(":", 1)[-1]
        elif element is not None and index is not None:
            base = index.builtin_base(element) if not attr else None
        return (
            f"cvc-datatype-valid.1.2.1: '{m.group(1)}' is not a valid value for '{base or 'string'}'.",
            "end",
        )
    if body.startswith("Element content is not allowed, because"):
        return (
            f"cvc-type.3.1.2: Element '{local}' is a simple type, "
            "so it must have no element information item [children].",
            "child",
        )
    if body.startswith("Character content other than whitespace is not allowed"):
        return (
            f"cvc-complex-type.2.3: Element '{local}' cannot have character [children], because the type's "
            "content type is element-only.",
            "end",
        )
    if attr and body.startswith(f"The attribute '{attr}' is not allowed."):
        return (
            f"cvc-complex-type.3.2.2: Attribute '{attr}' is not allowed to appear in element '{local}'.",
            "start",
        )
    m = re.match(r"The attribute '(.*)' is required but missing\.", body)
    if m:
        return f"cvc-complex-type.4: Attribute '{m.group(1)}' must appear on element '{local}'.", "start"
    if body.startswith("No matching global declaration available for the validation root."):
        return f"cvc-elt.1.a: Cannot find the declaration of element '{local}'.", "start"
    return None


def _resolve(root: etree._Element, path: str) -> etree._Element | None:
    """The element named by a Hacienda-style path (``DetalleServicio/LineaDetalle[2]/Cantidad``) or by a
    libxml2 positional path (``/*/*[9]``)."""
    if not path or path == etree.QName(root).localname:
        return root
    if path.startswith("/"):
        try:
            hit = root.getroottree().xpath(path)
        except etree.XPathError:
            return None
        return hit[0] if isinstance(hit, list) and hit and isinstance(hit[0], etree._Element) else None
    node = root
    for step in path.split("/"):
        m = re.fullmatch(r"([^\[\]]+)(?:\[(\d+)\])?", step)
        if m is None:
            return None
        same = [c for c in node.iterchildren(etree.Element) if etree.QName(c).localname == m.group(1)]
        index = int(m.group(2) or 1)
        if index > len(same):
            return None
        node = same[index - 1]
    return node


_PROBLEM = re.compile(r"^line (?P<line>\d+), column (?P<col>\d+): (?P<msg>.*)$", re.S)


def xerces_errors(
    root: etree._Element,
    problems: Sequence[Problem],
    text: str,
    *,
    xsd_path: Path | None = None,
) -> list[XercesError]:
    """Reword :func:`cr_einvoice.vouchers.schemas.validate_xsd` problems (libxml2 texts) as Xerces errors.

    ``text`` is the document as submitted (decoded), used for line and column; ``xsd_path`` (the schema file)
    gives the type names of facet messages.
    """
    index = _index_for(str(xsd_path)) if xsd_path is not None else None
    spots = positions(text)
    # Keep the proxies alive: lxml hands back the same proxy object only while one exists.
    elements = list(root.iter(etree.Element))
    order = {id(el): i for i, el in enumerate(elements)}
    errors: list[XercesError] = []
    for problem in problems:
        m = _PROBLEM.match(problem.message)
        raw, line, column = (
            (m.group("msg"), int(m.group("line")), int(m.group("col"))) if m else (problem.message, 0, 0)
        )
        element = _resolve(root, problem.path)
        head = _HEAD.match(raw)
        if head is None:
            errors.append(XercesError(raw, line, column))
            continue
        local = head.group("el").rsplit("}", 1)[-1]
        if element is not None and etree.QName(element).localname != local:
            element = None
        rewritten = _rewrite(head.group("body").strip(), element, head.group("el"), head.group("attr"), index)
        if rewritten is None:
            errors.append(XercesError(raw, line, column))
            continue
        message, where = rewritten
        if element is not None and id(element) in order and order[id(element)] < len(spots):
            start, end = spots[order[id(element)]]
            offset = end if where == "end" else start
            if where == "child":
                first = next(iter(element.iterchildren(etree.Element)), None)
                if first is not None and id(first) in order and order[id(first)] < len(spots):
                    offset = spots[order[id(first)]][0]
            line, column = _line_col(text, offset)
        errors.append(XercesError(message, line, column))
    return errors
