"""Issuing: number, validate, sign and persist a voucher in one step, without waiting for Hacienda.

:meth:`Issuer.issue` is what a point of sale calls for every sale. It runs the numbering pipeline
(:mod:`cr_einvoice.outbox.numbering`): the document (built without clave, consecutivo or fecha) is checked
first, so bad input raises :class:`~cr_einvoice.core.errors.ValidationError` naming the field and **takes no
number**; then, in one store transaction, the next consecutivo of (emisor, sucursal, terminal, tipo) is drawn,
the clave built (situación 1, 3 when Hacienda is unreachable, 2 when the voucher replaces a paper contingency
voucher), the XML signed and the voucher persisted with its exact signed bytes -- or nothing at all, and the
numbering stays gapless. It returns an :class:`IssuedVoucher`; the
:class:`~cr_einvoice.outbox.worker.Worker` sends it. :meth:`Issuer.reissue` issues a voucher Hacienda rejected
again, as a new voucher.

Latency: one :class:`Issuer` keeps the signer, the compiled schemas (cached by
:mod:`cr_einvoice.vouchers.schemas`) and the store's connection, so a ticket costs a few milliseconds.

:func:`build_correction` makes the credit or debit note that corrects (or annuls) an issued voucher.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

from cr_einvoice.core.catalogs import Situacion, TipoDocumento
from cr_einvoice.core.clave import CR_TZ, cr_now, to_cr_time
from cr_einvoice.core.errors import Problem, StoreError, ValidationError
from cr_einvoice.outbox.numbering import Draft, IssuedVoucher, IssuerSettings, Numbering, party_of
from cr_einvoice.outbox.store import Store, VoucherKind, VoucherRecord, VoucherState

if TYPE_CHECKING:
    from cr_einvoice.hacienda.publicdata.enrich import PublicData
    from cr_einvoice.signing.xades import Signer
    from cr_einvoice.vouchers.model import Document

__all__ = [
    "REISSUABLE",
    "IssuedVoucher",
    "Issuer",
    "IssuerSettings",
    "PaperVoucher",
    "build_correction",
    "reissue_ref",
]

log = logging.getLogger("cr_einvoice.issuing")


@dataclass(frozen=True, slots=True)
class PaperVoucher:
    """The physical (paper) contingency voucher that an electronic voucher with situación 2 replaces."""

    numero: str
    fecha_emision: datetime
    razon: str = "Sustituye comprobante provisional por contingencia"


class Issuer(Numbering):
    """Issues vouchers into a store. Thread-safe (the store serialises writers); reuse one per process."""

    def __init__(
        self,
        store: Store,
        signer: Signer,
        settings: IssuerSettings,
        *,
        clock: Callable[[], datetime] = cr_now,
        on_issued: Callable[[IssuedVoucher], None] | None = None,
        public_data: PublicData | None = None,
    ) -> None:
        """``public_data`` (a :class:`~cr_einvoice.hacienda.publicdata.PublicDataClient`): complete JSON
        documents from Hacienda's registry and note its findings on each voucher (``IssuedVoucher.notes``)."""
        super().__init__(store, signer, settings, clock, settings.validate_xsd, settings.validate_rules)
        self._on_issued = on_issued
        self.public_data = public_data

    def _voucher_draft(self, document: Document, **options: Any) -> Draft:
        """The draft of ``document``, once its emisor is checked to be this issuer: the issuing taxpayer must
        be the document's emisor (the receptor in a FacturaCompra, which the buyer issues)."""
        numero = self.settings.numero_identificacion
        fec = document.tipo is TipoDocumento.FACTURA_COMPRA
        role, other = ("receptor", "emisor") if fec else ("emisor", "receptor")
        ident = party_of(document, role)
        if ident is None:
            raise ValidationError(f"the document has no {role} identification", path=f"{role}.identificacion")
        if ident.numero != numero:
            raise ValidationError(
                f"the document's {role} is {ident.numero}, but this issuer signs for {numero}",
                path=f"{role}.identificacion.numero",
            )
        return self._draft(document, party_of(document, other), **options)

    def validate(self, doc: Document, *, fecha: datetime | None = None, situacion: str = "1") -> None:
        """Raise ValidationError (naming the fields) unless ``doc`` would be a valid voucher once numbered.

        The check runs on a copy carrying a provisional number; nothing is allocated.
        """
        self._check(self._voucher_draft(doc, fecha=fecha, situacion=situacion))

    # -- issuing ----------------------------------------------------------------------------------
    def issue(
        self,
        document: Document,
        *,
        external_ref: str | None = None,
        sucursal: int | None = None,
        terminal: int | None = None,
        replaces_paper: PaperVoucher | None = None,
        along: Callable[[IssuedVoucher], None] | None = None,
    ) -> IssuedVoucher:
        """Number, sign and persist ``document``; return at once (the worker submits it).

        ``external_ref`` (an order or ticket id) makes the call idempotent: issuing the same reference again
        returns the voucher issued the first time and allocates nothing -- safe to retry after a crash.
        ``replaces_paper`` issues with situación 2 and the reference Hacienda requires (TipoDocIR 08,
        CodigoReferencia 05) to the paper contingency voucher it replaces. ``along(issued)`` stores more about
        a voucher just created (events, through this issuer's store) in the transaction that stores it:
        together or not at all (it is not called for a voucher found by ``external_ref``).
        """
        if external_ref is not None:
            if not external_ref or len(external_ref) > 200:
                raise ValidationError("must be 1..200 characters", path="external_ref")
            existing = self.store.find_by_ref(external_ref)
            if existing is not None:
                return IssuedVoucher.from_record(existing, created=False)
        if TipoDocumento(document.tipo).is_mensaje_receptor:
            raise ValidationError(
                "a MensajeReceptor is issued with cr_einvoice.outbox.receiving.Receiver.respond()",
                path="tipo",
            )
        forced = None
        if replaces_paper is not None:
            document = with_contingency_reference(document, replaces_paper)
            forced = Situacion.CONTINGENCIA.value
        draft = self._voucher_draft(
            document, sucursal=sucursal, terminal=terminal, situacion=forced, external_ref=external_ref
        )
        if along is None:
            issued = self._number(draft)
        else:
            with self.store.atomic():
                issued = self._number(draft)
                if issued.created:
                    along(issued)
        if issued.created and self._on_issued is not None:
            self._on_issued(issued)
        log.debug("issued %s (%s)", issued.clave, issued.consecutivo)
        if self.public_data is not None and issued.created:
            notes = registry_notes(issued.signed_xml, self.public_data)
            if notes:
                self.store.log_event(issued.key, "registry_notes", {"notes": [str(n) for n in notes]})
                issued = dataclasses.replace(issued, notes=notes)
        return issued

    def reissue(self, clave: str) -> IssuedVoucher:
        """Issue again, as a new voucher, the voucher ``clave`` that Hacienda rejected or that ended in
        ``error``: the same document with the next consecutivo of its sucursal and terminal, a new clave and
        FechaEmision (now), signed by this issuer's signer. The original stays as it is (a rejected voucher
        is final; one in ``error`` is no longer sent by ``submit --retry-errors``); the link is recorded in
        both vouchers' events (``reissued`` on the original, ``reissue_of`` on the new one).

        Idempotent: reissuing the same voucher again returns the voucher issued the first time
        (``created`` False; its ``external_ref`` is ``reissue:<original key>``). Refused (ValidationError at
        ``clave``) for a voucher in any other state and for a MensajeReceptor (answer again with
        :meth:`cr_einvoice.outbox.receiving.Receiver.respond`).
        """
        from cr_einvoice.vouchers.xmlread import from_xml

        original = self.store.find(clave)
        if original is None:
            raise StoreError(f"no voucher {clave} in the outbox (see 'cr-einvoice list')")
        if original.kind is not VoucherKind.ISSUED:
            raise ValidationError(
                f"{original.key} is a MensajeReceptor: answer the supplier's voucher again with "
                "'cr-einvoice receive' / Receiver.respond()",
                path="clave",
            )
        ref = reissue_ref(original)
        existing = self.store.find_by_ref(ref)
        if existing is not None:
            return IssuedVoucher.from_record(existing, created=False)
        if original.state not in REISSUABLE:
            raise ValidationError(
                f"{original.key} is {original.state.value}: only a voucher Hacienda rejected or one in "
                "error is issued again",
                path="clave",
            )
        document: Any = dataclasses.replace(from_xml(original.signed_xml), stated=None)
        draft = self._voucher_draft(
            document,
            sucursal=original.sucursal,
            terminal=original.terminal,
            # A voucher replacing a paper one keeps situación 2 (its reference says so), else the store's.
            situacion=original.situacion if original.situacion == Situacion.CONTINGENCIA.value else None,
            external_ref=ref,
        )
        with self.store.atomic():  # the new voucher and the links: together or not at all
            issued = self._number(draft)
            self.store.log_event(
                original.key, "reissued", {"as": issued.key, "consecutivo": issued.consecutivo}
            )
            self.store.log_event(
                issued.key, "reissue_of", {"original": original.key, "state": original.state.value}
            )
        if self._on_issued is not None:
            self._on_issued(issued)
        log.info("reissued %s as %s (%s)", original.key, issued.key, issued.consecutivo)
        return issued

    def issue_json(self, data: Any, **kwargs: Any) -> IssuedVoucher:
        """Issue from the JSON input format (:func:`cr_einvoice.vouchers.jsonio.document_from_json`).

        A document without an ``emisor`` block gets this issuer's (:meth:`IssuerSettings.emisor`); one whose
        emisor names another taxpayer or another nombre is refused (ValidationError at ``emisor``). With
        ``public_data``, a receptor given by number only and a foreign-currency document without
        ``tipo_cambio`` are completed from Hacienda's public data first (stated in ``notes``).
        """
        document, notes = self.prepare_json(data)
        issued = self.issue(document, **kwargs)
        return dataclasses.replace(issued, notes=notes + issued.notes) if notes else issued

    def from_json(self, data: Any) -> Document:
        """The document of the JSON input format, its emisor filled from (or checked against) this issuer
        (and, with ``public_data``, completed as :meth:`issue_json` says)."""
        return self.prepare_json(data)[0]

    def prepare_json(self, data: Any) -> tuple[Document, tuple[Problem, ...]]:
        """The document of the JSON input format (a mapping, or JSON text or bytes) and what public data added
        to it (empty without ``public_data``)."""
        from cr_einvoice.vouchers.jsonio import document_from_json, json_object

        notes: tuple[Problem, ...] = ()
        if self.public_data is not None:
            from cr_einvoice.hacienda.publicdata.enrich import enrich_json

            parsed = json_object(data)
            if isinstance(parsed, Mapping):
                today = self._clock().astimezone(CR_TZ).date()
                enriched = enrich_json(parsed, self.public_data, today=today)
                data, notes = enriched.data, enriched.notes
        document: Any = document_from_json(data, emisor=self.settings.emisor())
        return cast("Document", document), notes


def registry_notes(signed_xml: bytes, public_data: PublicData) -> tuple[Problem, ...]:
    """What Hacienda's registries say about a signed voucher, as notes for the issuer: the preflight's
    registry reasons (-407, -400, exonerations) and the CABYS tax-rate warnings; lookups that could not be
    made are logged."""
    from cr_einvoice.core.xmlsafe import parse_untrusted
    from cr_einvoice.hacienda.publicdata.checks import tarifa_warnings
    from cr_einvoice.preflight.registry import check_registry

    root = parse_untrusted(signed_xml, what="signed voucher")
    reasons, skipped = check_registry(root, public_data)
    warnings, not_looked_up = tarifa_warnings(root, public_data)
    for item in (*skipped, *not_looked_up):
        log.debug("registry check skipped: %s", item)
    notes = [
        Problem(r.path, f"{r.message} ({r.severity.value}{': ' + r.detail if r.detail else ''})", r.code)
        for r in reasons
    ]
    return (*notes, *warnings)


#: The states a voucher may be issued again from (:meth:`Issuer.reissue`).
REISSUABLE = frozenset({VoucherState.REJECTED, VoucherState.ERROR})


def reissue_ref(original: VoucherRecord) -> str:
    """The ``external_ref`` of the voucher that reissues ``original`` (one reissue per voucher)."""
    return f"reissue:{original.key}"


def with_contingency_reference(document: Document, paper: PaperVoucher) -> Document:
    """``document`` plus the reference to the paper voucher it replaces (TipoDocIR 08, code 05)."""
    from cr_einvoice.core.catalogs import CodigoReferencia, TipoDocReferencia
    from cr_einvoice.vouchers.model import InformacionReferencia

    if not paper.numero:
        raise ValidationError("the paper voucher's number is empty", path="replaces_paper.numero")
    ref = InformacionReferencia(
        tipo_doc_ir=TipoDocReferencia.COMPROBANTE_CONTINGENCIA,
        numero=paper.numero,
        fecha_emision_ir=to_cr_time(paper.fecha_emision, field="replaces_paper.fecha_emision"),
        codigo=CodigoReferencia.SUSTITUYE_CONTINGENCIA,
        razon=paper.razon,
    )
    existing: tuple[Any, ...] = tuple(getattr(document, "referencias", ()) or ())
    if len(existing) >= 10:
        raise ValidationError("a voucher carries at most 10 references", path="referencias")
    changed: Any = dataclasses.replace(document, referencias=(*existing, ref))  # type: ignore[arg-type]
    return cast("Document", changed)


def build_correction(
    voucher: VoucherRecord | bytes,
    *,
    kind: str = "credit",
    codigo: str = "01",
    razon: str = "Anula documento de referencia",
    lineas: Sequence[Any] | None = None,
) -> Document:
    """The NotaCredito (``kind="credit"``) or NotaDebito (``"debit"``) that corrects an issued voucher.

    ``codigo`` is CodigoReferencia (Nota 9): 01 anula (default; the note repeats every line of the original),
    02 corrige monto, 06 devolución de mercancía (pass the returned ``lineas``), ... The note references the
    original by TipoDocIR, clave and FechaEmision. It works for accepted vouchers and for rejected ones
    (Hacienda's errors are in the store's respuestas).
    """
    from cr_einvoice.core.catalogs import CodigoReferencia, TipoDocReferencia
    from cr_einvoice.vouchers.model import Comprobante, InformacionReferencia, NotaCredito, NotaDebito
    from cr_einvoice.vouchers.xmlread import from_xml

    if kind not in ("credit", "debit"):
        raise ValidationError("must be 'credit' or 'debit'", path="kind")
    try:
        code = CodigoReferencia(codigo)
    except ValueError:
        raise ValidationError(f"{codigo!r} is not a CodigoReferencia (Nota 9)", path="codigo") from None
    xml = voucher.signed_xml if isinstance(voucher, VoucherRecord) else voucher
    original = from_xml(xml)
    if not isinstance(original, Comprobante):
        raise ValidationError(
            f"a {type(original).__name__} cannot be corrected with a credit or debit note", path="voucher"
        )
    if original.clave is None or original.fecha_emision is None:
        raise ValidationError("the original voucher has no clave or FechaEmision", path="voucher")
    tipo = original.tipo
    otro: str | None = None
    if tipo is TipoDocumento.FACTURA_COMPRA:
        # TipoDocIR 17/18 exist, but a note cannot carry the FEC's non-domiciled or non-taxpayer seller as
        # its emisor; which party a note to a FEC names is not settled, so do not guess.
        raise ValidationError(
            "corrections of a FacturaCompra are not built automatically: write the NC/ND by hand with "
            "TipoDocIR 17 (credit) or 18 (debit)",
            path="voucher.tipo",
        )
    if tipo is TipoDocumento.FACTURA_EXPORTACION:
        # TipoDocIR 19 (FEE) exists only in the 2026 Bitácora, not in the published XSD: use 99.
        tipo_ir, otro = TipoDocReferencia.OTROS, "Factura electronica de exportacion"
    else:
        tipo_ir = TipoDocReferencia(tipo.value)
    ref = InformacionReferencia(
        tipo_doc_ir=tipo_ir,
        numero=original.clave,
        fecha_emision_ir=original.fecha_emision,
        codigo=code,
        razon=razon,
        tipo_doc_ref_otro=otro,
    )
    cls: type[NotaCredito] | type[NotaDebito] = NotaCredito if kind == "credit" else NotaDebito
    skip = {"clave", "numero_consecutivo", "fecha_emision", "stated", "resumen", "referencias"}
    values: dict[str, Any] = {
        f.name: getattr(original, f.name)
        for f in dataclasses.fields(original)
        if f.init and f.name not in skip
    }
    if lineas is not None:
        # A partial correction: only the given lines; other charges stay with the original, and the payment
        # means are kept by type only (their amounts follow the note's own total).
        values["lineas"] = tuple(lineas)
        values["otros_cargos"] = ()
        medios = tuple(getattr(original, "medios_pago", ()) or ())
        if medios:
            values["medios_pago"] = (dataclasses.replace(medios[0], total_medio_pago=None),)
    values["referencias"] = (ref,)
    return cls(**values)
