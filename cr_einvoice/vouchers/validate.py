"""Validate a voucher: the official XSD plus Hacienda's business rules, in one report.

``validate_xml`` takes the bytes of an untrusted file (parsed through
:func:`cr_einvoice.core.xmlsafe.parse_untrusted`) or an already parsed root element, finds the document type
and version from the root's namespace, checks it against the official schema
(:mod:`cr_einvoice.vouchers.schemas`)
and runs :func:`cr_einvoice.vouchers.rules.check_rules`.

Codes added by the 2026 "Bitácora de Ajustes" (CodigoReferencia 16/17, TipoDocIR 19/20) are not in the
published XSDs; their schema errors are moved to ``warnings`` instead of failing the document.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lxml import etree

from cr_einvoice.core.catalogs import TipoDocumento
from cr_einvoice.core.errors import CrEinvoiceError, Problem, ValidationError
from cr_einvoice.core.xmlsafe import parse_untrusted
from cr_einvoice.vouchers.rules import check_rules
from cr_einvoice.vouchers.schemas import element_path, identify, validate_xsd

__all__ = ["BITACORA_2026", "ValidationReport", "validate_xml"]

#: (element, parent) local names -> codes of the 2026-04-22 Bitácora that the published XSDs lack.
BITACORA_2026: dict[tuple[str, str], frozenset[str]] = {
    ("TipoDocIR", "InformacionReferencia"): frozenset({"19", "20"}),
    ("Codigo", "InformacionReferencia"): frozenset({"16", "17"}),
}


@dataclass(frozen=True, slots=True)
class ValidationReport:
    """The outcome of :func:`validate_xml`.

    ``document_type`` is the root element name (``FacturaElectronica``), ``tipo`` the document type code when
    it follows from the document (for a MensajeReceptor, from ``Mensaje``), ``version`` ``"4.4"`` or
    ``"4.3"`` (empty for an unknown document). ``warnings`` do not make the report fail. ``schema_ok`` is
    False when the XSD found problems (Hacienda then stops before the business rules).
    """

    problems: tuple[Problem, ...]
    document_type: str
    version: str
    tipo: TipoDocumento | None = None
    warnings: tuple[Problem, ...] = ()
    schema_ok: bool = True

    @property
    def ok(self) -> bool:
        return not self.problems

    def raise_for_problems(self) -> None:
        """Raise :class:`~cr_einvoice.core.errors.ValidationError` carrying every problem, if there are
        any."""
        if self.problems:
            raise ValidationError(self.problems)


def _bitacora_paths(root: etree._Element) -> set[str]:
    paths = set()
    for el in root.iter("*"):
        parent = el.getparent()
        if parent is None:
            continue
        key = (etree.QName(el).localname, etree.QName(parent).localname)
        codes = BITACORA_2026.get(key)
        if codes is not None and (el.text or "").strip() in codes:
            paths.add(element_path(el))
    return paths


def _tipo(root: etree._Element, tipos: tuple[str, ...]) -> TipoDocumento | None:
    if len(tipos) == 1:
        return TipoDocumento(tipos[0])
    if tipos:  # MensajeReceptor: 05/06/07 by Mensaje 1/2/3
        mensaje = root.findtext(f"{{{etree.QName(root).namespace}}}Mensaje")
        index = {"1": 0, "2": 1, "3": 2}.get((mensaje or "").strip())
        return TipoDocumento(tipos[index]) if index is not None else None
    return None


def validate_xml(
    data: bytes | etree._Element,
    *,
    xsd: bool = True,
    signed: bool | None = None,
    schemas_dir: Path | None = None,
    rules: bool = True,
) -> ValidationReport:
    """Check a voucher (or MensajeReceptor / MensajeHacienda) against the XSD and the business rules.

    ``xsd=False`` runs the business rules only (no schemas needed); ``rules=False`` the XSD only.
    ``signed`` is passed to :func:`cr_einvoice.vouchers.schemas.validate_xsd` (None: a ``ds:Signature`` is
    required only when one is present, so an unsigned document can be checked before signing). Malformed or
    hostile bytes raise :class:`~cr_einvoice.core.errors.XMLParseError`; missing schemas raise
    :class:`~cr_einvoice.core.errors.SchemaNotFoundError`.
    """
    root = parse_untrusted(data, what="voucher") if isinstance(data, bytes | bytearray) else data
    try:
        entry = identify(root)
    except CrEinvoiceError as exc:
        name = etree.QName(root).localname
        return ValidationReport(problems=(Problem(name, str(exc)),), document_type=name, version="")
    problems: list[Problem] = []
    warnings: list[Problem] = []
    if xsd:
        xsd_problems = validate_xsd(root, signed=signed, schemas_dir=schemas_dir)
        tolerated = _bitacora_paths(root) if xsd_problems else set()
        for problem in xsd_problems:
            if problem.path in tolerated:
                warnings.append(
                    Problem(
                        problem.path,
                        "code from the 2026 Bitácora de Ajustes, not yet in the published XSD (accepted): "
                        + problem.message,
                        problem.code,
                    )
                )
            else:
                problems.append(problem)
    schema_ok = not problems
    if rules:
        problems.extend(check_rules(root))
    return ValidationReport(
        problems=tuple(problems),
        document_type=entry.root,
        version=entry.version,
        tipo=_tipo(root, entry.tipos),
        warnings=tuple(warnings),
        schema_ok=schema_ok,
    )
