"""The offline checks of the preflight that are not the XSD or the business rules: the signature, who signed,
FechaEmision against the clock, the dates too old to be accepted, and a consecutivo the outbox already used.

Each returns :class:`~cr_einvoice.preflight.report.Reason` objects carrying Hacienda's code and text
(:data:`cr_einvoice.vouchers.rules.MESSAGES`). The simulator (:mod:`cr_einvoice.sandbox`) uses
:func:`signer_is_owner` for its -60, so both decide who may sign in one place.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from lxml import etree

from cr_einvoice.core.catalogs import MENSAJE_RECEPTOR, TipoDocumento
from cr_einvoice.core.clave import CR_TZ, Clave
from cr_einvoice.core.errors import ClaveError, Problem, VerificationError, XMLParseError
from cr_einvoice.core.xmlsafe import child_text, local_name
from cr_einvoice.preflight.report import PreflightOptions, Reason, Severity
from cr_einvoice.signing import xades
from cr_einvoice.signing.xades.errors import INVALID_SIGNATURE
from cr_einvoice.signing.xades.trust import TrustStore
from cr_einvoice.signing.xades.verifier import VerificationResult
from cr_einvoice.vouchers.rules import MESSAGES
from cr_einvoice.vouchers.rules.messages import HORA_NO_OFICIAL

__all__ = [
    "StoredVoucher",
    "VoucherLookup",
    "check_consecutivo",
    "check_fecha",
    "check_signature",
    "check_signer",
    "check_too_old",
    "document_owners",
    "signer_is_owner",
]

REJECT = Severity.REJECTION
WARN = Severity.WARNING

#: Anexos v4.4: MensajeReceptor FechaEmisionDoc and a reference's FechaEmisionIR may not be more than 10 years
#: old ("Caso contrario se rechazará el comprobante"); no code was captured for either.
MAX_AGE_YEARS = 10


class StoredVoucher(Protocol):
    """What the preflight reads of a voucher in the outbox (an outbox ``VoucherRecord``)."""

    @property
    def clave(self) -> str: ...

    @property
    def consecutivo(self) -> str: ...

    @property
    def kind(self) -> str: ...

    @property
    def signed_xml(self) -> bytes: ...

    @property
    def created_at(self) -> datetime: ...


class VoucherLookup(Protocol):
    """The part of the outbox :class:`~cr_einvoice.outbox.store.Store` the preflight uses."""

    def find(self, clave_or_key: str) -> StoredVoucher | None: ...

    def with_consecutivo(self, consecutivo: str) -> Sequence[StoredVoucher]: ...


def _reason(code: int | None, path: str, severity: Severity, detail: str = "", **fmt: object) -> Reason:
    message = MESSAGES[code].format(**fmt) if code is not None else detail
    return Reason(Problem(path, message, code), severity, detail if code is not None else "")


# -- the signature ------------------------------------------------------------------------------------------
def check_signature(
    xml: bytes, trust: TrustStore | None = None
) -> tuple[Reason | None, VerificationResult | None]:
    """Verify the signature as Hacienda does first: a failure is Hacienda's bare line (``no es XAdES``, ``no
    tiene el Policy Id``, ``no es válida (El XML fue modificado …)`` …, no code), with the local reason in
    ``detail``. Returns (the rejection or None, the verification result when it verified)."""
    try:
        result = xades.verify(xml, trust)
    except VerificationError as exc:
        text = getattr(exc, "HACIENDA_TEXT", None)
        line = text if isinstance(text, str) else INVALID_SIGNATURE
        return Reason(Problem("Signature", line), REJECT, str(exc)), None
    except XMLParseError as exc:
        return Reason(Problem("Signature", INVALID_SIGNATURE), REJECT, str(exc)), None
    return None, result


def _digits(value: str | None) -> str:
    return re.sub(r"\D", "", value or "").lstrip("0")


def document_owners(root: etree._Element) -> list[str]:
    """The identifications one of which must sign the document: the emisor; for a MensajeReceptor the receptor
    who confirms (``NumeroCedulaReceptor``); for a FEC also its Receptor (the buyer issues and signs it)."""
    name = local_name(root.tag)
    if name == MENSAJE_RECEPTOR:
        owners = [child_text(root, "NumeroCedulaReceptor")]
    else:
        owners = [child_text(root, "Emisor", "Identificacion", "Numero")]
        if name == TipoDocumento.FACTURA_COMPRA.root:
            owners.append(child_text(root, "Receptor", "Identificacion", "Numero"))
    return [o for o in owners if o]


def signer_is_owner(root: etree._Element, signer_cedula: str | None) -> bool:
    """Whether the signer's cédula is one of :func:`document_owners` (True when the document names none, or
    the certificate names no cédula: Hacienda's -60 needs both)."""
    owners = document_owners(root)
    if not owners or signer_cedula is None:
        return True
    return any(_digits(signer_cedula) == _digits(o) for o in owners)


def check_signer(root: etree._Element, signer_cedula: str | None) -> list[Reason]:
    """-60 when the certificate's cédula is not the emisor's (the receptor's for a MensajeReceptor)."""
    if signer_is_owner(root, signer_cedula):
        return []
    mr = local_name(root.tag) == MENSAJE_RECEPTOR
    path = "NumeroCedulaReceptor" if mr else "Emisor/Identificacion/Numero"
    owners = " or ".join(document_owners(root))
    detail = f"the certificate names cédula {signer_cedula}, the document {owners}"
    return [_reason(-60, path, REJECT, detail)]


# -- dates ---------------------------------------------------------------------------------------------------
def _fecha(root: etree._Element, name: str) -> datetime | None:
    text = child_text(root, name)
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None  # the XSD reports it
    return value if value.tzinfo is not None else None


def check_fecha(root: etree._Element, now: datetime, options: PreflightOptions) -> list[Reason]:
    """FechaEmision against ``now`` (Costa Rica time, ``options.clock_tolerance`` allowed for the clocks):

    - on a later Costa Rica day than today: -53 "no puede ser superior al día de hoy", a rejection;
    - later today than ``now``: -53 "no coincide con la hora oficial", a warning (seen on accepted vouchers);
    - older than ``options.late_after``: -16 "extemporánea", a warning -- Hacienda accepts late vouchers
      (notes, hacienda-api-and-signature.md §10.1: -16 "accepted with warning", arts. 9 and 15 of resolución
      48-2016). The one age Hacienda rejects is the MensajeReceptor's (:func:`check_too_old`).
    """
    fecha = _fecha(root, "FechaEmision")
    if fecha is None:
        return []
    tolerance = options.clock_tolerance
    # Today is the Costa Rica date at now + tolerance: just past midnight on a fast clock is forgiven.
    today = (now + tolerance).astimezone(CR_TZ).date()
    shown = fecha.isoformat()
    if fecha.astimezone(CR_TZ).date() > today:
        detail = f"FechaEmision {shown} is after today ({today}) in Costa Rica"
        return [_reason(-53, "FechaEmision", REJECT, detail)]
    if fecha > now + tolerance:
        ahead = int((fecha - now).total_seconds())
        detail = f"FechaEmision {shown} is {ahead} s ahead of the clock"
        return [Reason(Problem("FechaEmision", HORA_NO_OFICIAL, -53), WARN, detail)]
    late_after = options.late_after
    if late_after is not None and fecha < now - late_after:
        age = now - fecha
        detail = f"FechaEmision {shown} is {age.days} day(s) {age.seconds // 3600} hour(s) old"
        return [_reason(-16, "FechaEmision", WARN, detail)]
    return []


def _years_before(now: datetime, years: int) -> datetime:
    try:
        return now.replace(year=now.year - years)
    except ValueError:  # 29 February
        return now.replace(year=now.year - years, day=28)


def check_too_old(root: etree._Element, now: datetime) -> list[Reason]:
    """A MensajeReceptor's FechaEmisionDoc, or a reference's FechaEmisionIR, more than 10 years old: Hacienda
    rejects both (Anexos v4.4; no code captured, so the reason carries none)."""
    limit = _years_before(now, MAX_AGE_YEARS)
    found: list[Reason] = []
    if local_name(root.tag) == MENSAJE_RECEPTOR:
        fecha = _fecha(root, "FechaEmisionDoc")
        if fecha is not None and fecha < limit:
            found.append(
                Reason(
                    Problem(
                        "FechaEmisionDoc",
                        f"FechaEmisionDoc {fecha.isoformat()} is more than {MAX_AGE_YEARS} years old: "
                        "Hacienda rejects a confirmation that old",
                    ),
                    REJECT,
                )
            )
        return found
    refs = [el for el in root if local_name(el.tag) == "InformacionReferencia"]
    for index, ref in enumerate(refs, start=1):
        fecha = _fecha(ref, "FechaEmisionIR")
        if fecha is not None and fecha < limit:
            path = f"InformacionReferencia[{index}]/FechaEmisionIR"
            message = (
                f"FechaEmisionIR {fecha.isoformat()} is more than {MAX_AGE_YEARS} years old: Hacienda "
                "rejects a reference to a document that old"
            )
            found.append(Reason(Problem(path, message), REJECT))
    return found


# -- the consecutivo -----------------------------------------------------------------------------------------
def _identificacion(clave: str) -> str | None:
    try:
        return Clave.parse(clave).identificacion
    except ClaveError:
        return None


def check_consecutivo(root: etree._Element, xml: bytes, store: VoucherLookup) -> list[Reason]:
    """-99 when the outbox holds another voucher of the same taxpayer (the clave's identification) with this
    NumeroConsecutivo under a different clave. The voucher itself (its clave stored with these exact bytes) is
    no duplicate; its clave stored with other bytes is a warning (Hacienda refuses the second POST of a clave
    with "ya fue recibido anteriormente", not with a code). MensajeReceptor: not checked (neither does the
    simulator)."""
    if local_name(root.tag) == MENSAJE_RECEPTOR:
        return []
    clave = child_text(root, "Clave")
    consecutivo = child_text(root, "NumeroConsecutivo")
    if not clave or not consecutivo:
        return []
    found: list[Reason] = []
    same = store.find(clave)
    if same is not None and same.clave == clave and same.signed_xml != xml:
        detail = (
            f"the outbox already holds a different signed document with clave {clave}; Hacienda refuses a "
            "clave received before"
        )
        found.append(Reason(Problem("Clave", detail), WARN))
    owner = _identificacion(clave)
    if owner is None:
        return found  # the rules report the clave
    for record in store.with_consecutivo(consecutivo):
        if str(record.kind) != "issued" or record.consecutivo != consecutivo or record.clave == clave:
            continue
        if _identificacion(record.clave) != owner:
            continue
        since = record.created_at.astimezone(CR_TZ).strftime("%d-%m-%Y %H:%M:%S")
        detail = f"the outbox issued consecutivo {consecutivo} as clave {record.clave}"
        fmt = {"consecutivo": consecutivo, "since": since, "clave": record.clave}
        found.append(_reason(-99, "NumeroConsecutivo", REJECT, detail, **fmt))
        break
    return found
