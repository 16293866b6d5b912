"""Hacienda's validation of a received voucher, in Hacienda's order, integrating the package's own checks.

Order (signature problems short-circuit everything, as observed in 2026; a schema failure stops the business
checks):

1. well-formed XML;
2. the signature, with :func:`cr_einvoice.signing.xades.verify` -- not XAdES, no policy, modified after
signing and
   any other failure become Hacienda's bare lines, with ``NombreEmisor`` DESCONOCIDO and ``TotalFactura`` 0;
3. the document type (a v4.4 comprobante or MensajeReceptor) and the XSD, with
   :func:`cr_einvoice.vouchers.schemas.validate_xsd`, reworded as Xerces ``cvc-…`` rows with line and column
   (-1);
   then a 50-digit clave with impossible parts (also answered with NombreEmisor DESCONOCIDO);
4. coded rows, all reported together: configured warnings (-37, -407 …), the clave against the document
   (-8, -23, -405), the consecutivo already used by another clave (-99), FechaEmision against the clock
   (-53), the business rules of
   :func:`cr_einvoice.vouchers.rules.check_rules` (totals -52, -54, -46, -110, -111, -487, -492 …) and the
   signer's
   cédula against the emisor (-60).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from lxml import etree

from cr_einvoice.core import xmlsafe
from cr_einvoice.core.catalogs import MENSAJE_RECEPTOR, NAMESPACE_BASE
from cr_einvoice.core.clave import CR_TZ, Clave
from cr_einvoice.core.errors import (
    ClaveError,
    CrEinvoiceError,
    SchemaNotFoundError,
    VerificationError,
    XMLParseError,
)
from cr_einvoice.core.xmlsafe import parse_untrusted
from cr_einvoice.preflight.checks import check_too_old, signer_is_owner
from cr_einvoice.sandbox.mensaje import Finding, format_tax, format_total
from cr_einvoice.sandbox.registry import Registry, registry_findings
from cr_einvoice.sandbox.settings import SimulatorSettings
from cr_einvoice.sandbox.state import Submission, SubmissionStore
from cr_einvoice.sandbox.xerces import xerces_errors
from cr_einvoice.signing import xades
from cr_einvoice.signing.xades.errors import INVALID_SIGNATURE
from cr_einvoice.vouchers import rules, schemas
from cr_einvoice.vouchers.rules.messages import HORA_NO_OFICIAL

__all__ = ["DESCONOCIDO", "KNOWN_WARNINGS", "Verdict", "VoucherChecker"]

log = logging.getLogger("cr_einvoice.sandbox")

DESCONOCIDO = "DESCONOCIDO"

INVALID = INVALID_SIGNATURE
WRONG_TYPE = "El tipo de documento no corresponde."
SIGNUM_ONE = "Error al comunicarse con el Signum One"

#: Registry-dependent findings a test can ask for (they are warnings in accepted answers).
KNOWN_WARNINGS: dict[int, str] = {code: rules.MESSAGES[code] for code in (-16, -37, -407, -408)}

FECHA_FUTURA = rules.MESSAGES[-53]
SIGNER_NOT_EMISOR = rules.MESSAGES[-60]

_CLAVE_CODES = frozenset({-1, -8, -23, -405})
_CLAVE_PARTS = {"identificacion": -8, "consecutivo": -23, "fecha": -405}
_V44 = f"{NAMESPACE_BASE}v4.4/"


@dataclass(slots=True)
class Verdict:
    """The outcome of the checks plus what the MensajeHacienda needs from the document."""

    accepted: bool
    findings: list[Finding]
    desconocido: bool = False
    nombre_emisor: str | None = None
    tipo_emisor: str | None = None
    numero_emisor: str | None = None
    nombre_receptor: str | None = None
    tipo_receptor: str | None = None
    numero_receptor: str | None = None
    total_factura: str = "0"
    monto_total_impuesto: str | None = None


def child_text(root: etree._Element, *path: str) -> str | None:
    """The stripped text of the element at ``path`` (local names, first match) below ``root``, ``""`` when it
    is empty, None when it is missing."""
    return xmlsafe.child_text(root, *path, empty="")


class VoucherChecker:
    """Runs the checks for one submission. Thread-safe (holds no per-call state)."""

    def __init__(
        self, settings: SimulatorSettings, store: SubmissionStore, registry: Registry | None = None
    ) -> None:
        #: The registry checked at recepción (-37, -407, -408, -400, exonerations), or None.
        self._registry = registry
        self._settings = settings
        self._store = store
        for code in settings.warnings:
            if code not in KNOWN_WARNINGS:
                raise CrEinvoiceError(
                    f"warnings: code {code} is not one the simulator knows (use {sorted(KNOWN_WARNINGS)})"
                )

    # -- entry point ------------------------------------------------------------------------------------
    def evaluate(self, sub: Submission, tree: etree._Element | None = None) -> Verdict:
        """Hacienda's verdict on ``sub``; ``tree``: its XML as the recepción read it with
        :func:`~cr_einvoice.core.xmlsafe.parse_untrusted` (None: read here)."""
        try:
            root = tree if tree is not None else parse_untrusted(sub.xml, what="comprobante")
        except XMLParseError as exc:
            detail = str(exc).split(": ", 1)[-1]
            return self._desconocido(sub, [Finding(-1, detail, 0, 0)])

        signer_cedula: str | None = None
        if self._settings.faults.take_signum_error():
            return self._desconocido(sub, [Finding(None, SIGNUM_ONE)])
        if self._settings.check_signature:
            failure, signer_cedula = self._check_signature(root)
            if failure is not None:
                return self._desconocido(sub, [Finding(None, failure)])

        qname = etree.QName(root)
        if not (qname.namespace or "").startswith(_V44):
            return self._desconocido(sub, [Finding(-1, WRONG_TYPE, 0, 0)])

        if self._settings.check_schema:
            schema_rows = self._check_schema(root, sub.xml)
            if schema_rows:
                return self._desconocido(sub, schema_rows)

        broken_clave = self._check_clave_structure(root)
        if broken_clave:
            # Observed: Hacienda answers a malformed clave with Mensaje 3 and NombreEmisor DESCONOCIDO.
            return self._desconocido(sub, broken_clave)

        verdict = self._describe(root, sub)
        findings = [Finding(code, KNOWN_WARNINGS[code], warning=True) for code in self._settings.warnings]
        if self._registry is not None:
            findings += registry_findings(self._registry, root)
        is_mr = qname.localname == MENSAJE_RECEPTOR
        ruled = self._check_rules(root) if self._settings.check_rules else []
        # Hacienda's order: the clave against the document, the consecutivo already used, the rest.
        findings += [f for f in ruled if f.code in _CLAVE_CODES]
        if not is_mr:
            findings += self._check_consecutivo(root, sub)
            findings += self._check_fecha(root, sub)
        findings += [f for f in ruled if f.code not in _CLAVE_CODES]
        if self._settings.check_signer_is_emisor and not signer_is_owner(root, signer_cedula):
            # The emisor signs; the receptor a MensajeReceptor; the buyer (XML Receptor) may sign a FEC.
            findings.append(Finding(-60, SIGNER_NOT_EMISOR))
        if self._settings.check_rules:
            # Dates older than Hacienda accepts (10 years: MensajeReceptor, references); no code captured.
            now = datetime.fromtimestamp(sub.received_at, CR_TZ)
            findings += [Finding(None, r.message) for r in check_too_old(root, now)]
        verdict.findings = findings
        verdict.accepted = not any(not f.warning for f in findings)
        return verdict

    # -- stages -----------------------------------------------------------------------------------------
    def _check_signature(self, root: etree._Element) -> tuple[str | None, str | None]:
        """(bare failure line or None, signer's cédula when the signature verified) of the document read
        once by :meth:`evaluate`."""
        try:
            result = xades.verify_tree(root, self._settings.trust)
        except VerificationError as exc:
            return _signature_line(exc), None
        return None, result.signer_cedula

    def _check_schema(self, root: etree._Element, xml: bytes) -> list[Finding]:
        try:
            problems = schemas.validate_xsd(root, signed=True)
        except CrEinvoiceError as exc:
            # An unknown root in a v4.4 namespace, or schemas missing (a configuration problem, logged once
            # per voucher without a traceback; Simulator.start() refuses to start without them).
            log.warning("schema validation impossible: %s", exc)
            if isinstance(exc, SchemaNotFoundError):
                return [Finding(-1, f"El simulador no tiene los esquemas XSD: {exc}", 0, 0)]
            return [Finding(-1, WRONG_TYPE, 0, 0)]
        if not problems:
            return []
        xsd_path: Path | None
        try:
            xsd_path = schemas.find_schemas_dir() / schemas.identify(root).path
        except CrEinvoiceError:
            xsd_path = None
        text = xml.decode("utf-8", "replace")
        return [
            Finding(-1, e.message, e.line, e.column)
            for e in xerces_errors(root, problems, text, xsd_path=xsd_path)
        ]

    def _check_clave_structure(self, root: etree._Element) -> list[Finding]:
        """A 50-digit clave whose parts are impossible (day 32, situación 7 …), reported with the Hacienda
        text of the part concerned (-8 identificación, -23 consecutivo, -405 fecha) or, for the country
        code, the situación and the security code (no Hacienda text known), the parser's message as -1."""
        text = child_text(root, "Clave")
        if text is None:
            return []
        try:
            Clave.parse(text)
        except ClaveError as exc:
            found: list[Finding] = []
            for problem in exc.problems:
                code = next((c for part, c in _CLAVE_PARTS.items() if part in problem.path), -1)
                message = (
                    rules.MESSAGES.get(code, "") if code != -1 else f"Clave {problem.path}: {problem.message}"
                )
                found.append(Finding(code, message or problem.message))
            return found
        return []

    def _check_consecutivo(self, root: etree._Element, sub: Submission) -> list[Finding]:
        consecutivo = child_text(root, "NumeroConsecutivo")
        numero = child_text(root, "Emisor", "Identificacion", "Numero") or sub.emisor.numero
        if not consecutivo:
            return []
        earlier = self._store.claim_consecutivo(numero, consecutivo, sub.clave, sub.received_at)
        if earlier is None:
            return []
        since = datetime.fromtimestamp(earlier.received_at, CR_TZ).strftime("%d-%m-%Y %H:%M:%S")
        return [
            Finding(
                -99,
                f"La numeración consecutiva {consecutivo} del comprobante que se está utilizando para este "
                f"archivo XML ya existe en nuestras bases de datos desde el día {since} en la clave "
                f"{earlier.clave}",
            )
        ]

    def _check_fecha(self, root: etree._Element, sub: Submission) -> list[Finding]:
        """-53: FechaEmision after today (Costa Rica), or -- with ``max_clock_skew`` -- too far from the
        time the voucher was received (situación 3, "sin internet", may be earlier)."""
        text = child_text(root, "FechaEmision")
        if not text:
            return []
        try:
            fecha = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return []
        if fecha.tzinfo is None:
            return []
        received = datetime.fromtimestamp(sub.received_at, CR_TZ)
        if fecha.astimezone(CR_TZ).date() > received.date():
            return [Finding(-53, FECHA_FUTURA)]
        skew = self._settings.max_clock_skew
        if skew is not None:
            delta = fecha.timestamp() - sub.received_at
            sin_internet = len(sub.clave) == 50 and sub.clave[41] == "3"
            if delta > skew or (delta < -skew and not sin_internet):
                return [Finding(-53, HORA_NO_OFICIAL)]
        return []

    def _check_rules(self, root: etree._Element) -> list[Finding]:
        found: list[Finding] = []
        for problem in rules.check_rules(root):
            if problem.code is None:
                log.debug("sandbox: uncoded rule finding not reported by Hacienda: %s", problem)
                continue
            found.append(Finding(problem.code, problem.message))
        return found

    # -- answer fields ----------------------------------------------------------------------------------
    def _describe(self, root: etree._Element, sub: Submission) -> Verdict:
        v = Verdict(accepted=True, findings=[])
        if etree.QName(root).localname == MENSAJE_RECEPTOR:
            original = self._store.get(sub.clave)
            name = None
            if original is not None:
                try:
                    name = child_text(parse_untrusted(original.xml, what="comprobante"), "Emisor", "Nombre")
                except XMLParseError:
                    name = None
            v.nombre_emisor = name or DESCONOCIDO
            v.tipo_emisor = sub.emisor.tipo.value
            v.numero_emisor = child_text(root, "NumeroCedulaEmisor") or sub.emisor.numero
            if sub.receptor is not None:
                v.tipo_receptor = sub.receptor.tipo.value
            v.numero_receptor = child_text(root, "NumeroCedulaReceptor")
            v.total_factura = format_total(child_text(root, "TotalFactura"))
            v.monto_total_impuesto = format_tax(child_text(root, "MontoTotalImpuesto") or "0")
            return v
        v.nombre_emisor = child_text(root, "Emisor", "Nombre") or DESCONOCIDO
        v.tipo_emisor = child_text(root, "Emisor", "Identificacion", "Tipo") or sub.emisor.tipo.value
        v.numero_emisor = child_text(root, "Emisor", "Identificacion", "Numero") or sub.emisor.numero
        if child_text(root, "Receptor") is not None:
            v.nombre_receptor = child_text(root, "Receptor", "Nombre")
            v.tipo_receptor = child_text(root, "Receptor", "Identificacion", "Tipo")
            v.numero_receptor = child_text(root, "Receptor", "Identificacion", "Numero")
        v.total_factura = format_total(child_text(root, "ResumenFactura", "TotalComprobante"))
        v.monto_total_impuesto = format_tax(child_text(root, "ResumenFactura", "TotalImpuesto") or "0")
        return v

    def _desconocido(self, sub: Submission, findings: list[Finding]) -> Verdict:
        """A rejection where Hacienda could not read the document: name DESCONOCIDO, total 0, no tax; the
        identification comes from the request."""
        v = Verdict(accepted=False, findings=findings, desconocido=True)
        v.nombre_emisor = DESCONOCIDO
        v.tipo_emisor = sub.emisor.tipo.value
        v.numero_emisor = sub.emisor.numero
        if sub.receptor is not None:
            v.tipo_receptor = sub.receptor.tipo.value
            v.numero_receptor = sub.receptor.numero
        v.total_factura = "0"
        return v


def _signature_line(exc: VerificationError) -> str:
    """Hacienda's bare line for a verification failure (each verifier error carries Hacienda's wording)."""
    text = getattr(exc, "HACIENDA_TEXT", None)
    return text if isinstance(text, str) else INVALID
