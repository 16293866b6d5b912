"""``preflight(signed_xml)``: predict, offline, what Hacienda will answer for a signed document.

The checks run in Hacienda's order (notes: hacienda-v4.4.md §11.2, and the simulator's
:mod:`cr_einvoice.sandbox.checks`):

1. well-formed XML (else -1 with the parser's text);
2. the signature (:func:`cr_einvoice.signing.xades.verify`): a failure is the only reason Hacienda gives;
3. a v4.4 document type (else -1 "El tipo de documento no corresponde.") and the XSD
   (:func:`cr_einvoice.vouchers.validate.validate_xml`): schema errors stop the business checks;
4. then, all reported together: the clave against the document (-8, -23, -405), a consecutivo the outbox
   already used (-99), FechaEmision against the clock (-53, -16), the business rules
   (:func:`cr_einvoice.vouchers.rules.check_rules`), the signer against the emisor (-60), dates too old to be
   accepted, and -- from the public-data cache, or a lookup when allowed -- the registry checks.

Warnings never make the prediction a rejection.
"""

from __future__ import annotations

from contextlib import ExitStack
from datetime import datetime
from typing import cast

from lxml import etree

from cr_einvoice.core.catalogs import NAMESPACE_BASE
from cr_einvoice.core.clave import cr_now, to_cr_time
from cr_einvoice.core.errors import Problem, XMLParseError
from cr_einvoice.core.xmlsafe import child_text, local_name, parse_untrusted
from cr_einvoice.hacienda.publicdata import Cache, PublicDataClient
from cr_einvoice.preflight.checks import (
    VoucherLookup,
    check_consecutivo,
    check_fecha,
    check_signature,
    check_signer,
    check_too_old,
)
from cr_einvoice.preflight.registry import PublicData, check_registry
from cr_einvoice.preflight.report import PreflightOptions, PreflightReport, Reason, Severity
from cr_einvoice.signing.xades.trust import TrustStore
from cr_einvoice.vouchers.rules import MESSAGES
from cr_einvoice.vouchers.validate import validate_xml

__all__ = ["preflight"]

_V44 = f"{NAMESPACE_BASE}v4.4/"
#: The rule codes Hacienda lists before the others (the clave against the document).
_CLAVE_CODES = frozenset({-1, -8, -23, -405})


def _rejections(problems: tuple[Problem, ...] | list[Problem]) -> list[Reason]:
    return [Reason(p, Severity.REJECTION) for p in problems]


def preflight(
    signed_xml: bytes,
    *,
    store: VoucherLookup | None = None,
    public_data: PublicData | None = None,
    now: datetime | None = None,
    allow_lookup: bool = False,
    trust: TrustStore | None = None,
    options: PreflightOptions | None = None,
) -> PreflightReport:
    """Predict Hacienda's verdict on ``signed_xml`` (the exact bytes that will be sent).

    ``store`` (the outbox :class:`~cr_einvoice.outbox.store.Store`, or anything with ``find`` and
    ``with_consecutivo``) enables the -99 check; ``public_data`` the registry checks, from its cache only
    unless ``allow_lookup``. ``now`` is the time of submission (default: now, Costa Rica time). ``trust``: the
    CAs the signer's certificate must chain to (default: not checked). Missing schemas raise
    :class:`~cr_einvoice.core.errors.SchemaNotFoundError`; everything about the document is a reason in the
    report.
    """
    options = options or PreflightOptions()
    moment = cr_now() if now is None else to_cr_time(now, field="now")
    try:
        root = parse_untrusted(signed_xml, what="comprobante")
    except XMLParseError as exc:
        detail = str(exc).split(": ", 1)[-1]
        return PreflightReport((Reason(Problem("", detail, -1), Severity.REJECTION),), "")
    name = local_name(root.tag)
    clave = child_text(root, "Clave")
    failure, verified = check_signature(signed_xml, trust)
    if failure is not None:
        return PreflightReport((failure,), name, clave)
    assert verified is not None  # check_signature returns one or the other
    signer = verified.signer_cedula

    def report(reasons: list[Reason], skipped: list[str] | None = None) -> PreflightReport:
        return PreflightReport(tuple(reasons), name, clave, signer, tuple(skipped or ()))

    wrong_type = Reason(Problem(name, MESSAGES[-1], -1), Severity.REJECTION)
    if not (etree.QName(root).namespace or "").startswith(_V44):
        return report([wrong_type])
    validation = validate_xml(root, signed=True, schemas_dir=options.schemas_dir)
    if not validation.version:
        return report([Reason(wrong_type.problem, Severity.REJECTION, validation.problems[0].message)])
    reasons = [Reason(w, Severity.WARNING) for w in validation.warnings]
    if not validation.schema_ok:
        return report(reasons + _rejections(validation.problems))

    skipped: list[str] = []
    rules = validation.problems
    reasons += _rejections([p for p in rules if p.code in _CLAVE_CODES])
    if store is not None:
        reasons += check_consecutivo(root, signed_xml, store)
    else:
        skipped.append("consecutivo (-99): no outbox given")
    reasons += check_fecha(root, moment, options)
    reasons += _rejections([p for p in rules if p.code not in _CLAVE_CODES])
    reasons += check_signer(root, signer)
    reasons += check_too_old(root, moment)
    with ExitStack() as stack:
        registry = _registry(public_data, store, allow_lookup, stack)
        if registry is None:
            skipped.append("registry (-37, -400, -407, -408, exoneraciones): no public data or cache given")
        else:
            found, not_checked = check_registry(root, registry)
            reasons += found
            skipped += not_checked
    return report(reasons, skipped)


def _registry(
    public_data: PublicData | None, store: object, allow_lookup: bool, stack: ExitStack
) -> PublicData | None:
    """What the registry checks ask: ``public_data`` -- limited to its cache unless ``allow_lookup`` -- or,
    without it, a client over the store's public-data cache (cache only unless ``allow_lookup``); None when
    neither is given."""
    if public_data is not None:
        if allow_lookup or not isinstance(public_data, PublicDataClient) or public_data.offline:
            return public_data
        return stack.enter_context(
            PublicDataClient(public_data.base_url, cache=public_data.cache, offline=True)
        )
    if hasattr(store, "cache_get") and hasattr(store, "cache_put"):  # an outbox Store is a Cache
        cache = cast(Cache, store)
        return stack.enter_context(PublicDataClient(cache=cache, offline=not allow_lookup))
    return None
