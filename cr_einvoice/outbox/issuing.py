"""Issuing: number, validate, sign and persist a voucher in one step, without waiting for Hacienda.

:meth:`Issuer.issue` is what a point of sale calls for every sale:

1. the document (built without clave, consecutivo or fecha) is checked first -- the model, the XSD and
   Hacienda's business rules on a provisionally numbered copy -- so bad input raises
   :class:`~cr_einvoice.core.errors.ValidationError` naming the field and **takes no number**;
2. inside one store transaction (``BEGIN IMMEDIATE``) the next consecutivo of (emisor, sucursal, terminal,
   tipo) is drawn, the clave built (situación 1, 3 when Hacienda is unreachable, 2 when the voucher replaces
   a paper contingency voucher), the XML generated and signed, and the voucher persisted with its exact
   signed bytes. If anything in that step fails the transaction rolls back and the counter with it: the
   numbering stays gapless;
3. it returns an :class:`IssuedVoucher`; the :class:`~cr_einvoice.outbox.worker.Worker` sends it.

Latency: one :class:`Issuer` keeps the signer, the compiled schemas (cached by
:mod:`cr_einvoice.vouchers.schemas`)
and the store's connection, so a ticket costs a few milliseconds.

:func:`build_correction` makes the credit or debit note that corrects (or annuls) an issued voucher.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, cast

from cr_einvoice.core.catalogs import Situacion, TipoDocumento, TipoIdentificacion
from cr_einvoice.core.clave import Clave, Consecutivo, cr_now, to_cr_time
from cr_einvoice.core.errors import Problem, StoreError, ValidationError
from cr_einvoice.outbox.store import CounterKey, NewVoucher, Store, VoucherKind, VoucherRecord

if TYPE_CHECKING:
    from cr_einvoice.signing.xades import Signer
    from cr_einvoice.vouchers.model import Document

__all__ = [
    "IssuedVoucher",
    "Issuer",
    "IssuerSettings",
    "PaperVoucher",
    "build_correction",
]

log = logging.getLogger("cr_einvoice.issuing")


@dataclass(frozen=True, slots=True)
class IssuerSettings:
    """Who issues and from where. ``validate_xsd`` needs the official schemas (``CR_EINVOICE_SCHEMAS``)."""

    tipo_identificacion: str
    numero_identificacion: str
    nombre: str = ""
    sucursal: int = 1
    terminal: int = 1
    validate_xsd: bool = True
    validate_rules: bool = True


@dataclass(frozen=True, slots=True)
class PaperVoucher:
    """The physical (paper) contingency voucher that an electronic voucher with situación 2 replaces."""

    numero: str
    fecha_emision: datetime
    razon: str = "Sustituye comprobante provisional por contingencia"


@dataclass(frozen=True, slots=True)
class IssuedVoucher:
    """A voucher numbered, signed and stored. ``created`` is False when ``external_ref`` was issued before."""

    clave: str
    consecutivo: str
    signed_xml: bytes
    key: str
    tipo: str
    situacion: str
    fecha_emision: datetime
    numero: int
    created: bool
    record: VoucherRecord

    @classmethod
    def from_record(cls, record: VoucherRecord, *, created: bool) -> IssuedVoucher:
        return cls(
            clave=record.clave,
            consecutivo=record.consecutivo,
            signed_xml=record.signed_xml,
            key=record.key,
            tipo=record.tipo,
            situacion=record.situacion,
            fecha_emision=record.fecha_emision,
            numero=record.numero,
            created=created,
            record=record,
        )


def _ident(party: Any) -> tuple[str, str] | None:
    """(tipo, numero) of an Emisor/Receptor of the model."""
    if party is None:
        return None
    ident = getattr(party, "identificacion", None)
    if ident is None:
        return None
    tipo = getattr(ident, "tipo", None)
    numero = getattr(ident, "numero", None)
    if tipo is None or numero is None:
        return None
    return str(getattr(tipo, "value", tipo)), str(numero)


def _total(doc: Any) -> str | None:
    resumen = getattr(doc, "resumen", None)
    total = getattr(resumen, "total_comprobante", None) if resumen is not None else None
    return f"{total:f}" if isinstance(total, Decimal) else None


class Issuer:
    """Issues vouchers into a store. Thread-safe (the store serialises writers); reuse one per process."""

    def __init__(
        self,
        store: Store,
        signer: Signer,
        settings: IssuerSettings,
        *,
        clock: Callable[[], datetime] = cr_now,
        on_issued: Callable[[IssuedVoucher], None] | None = None,
    ) -> None:
        self.store = store
        self.signer = signer
        self.settings = settings
        self._clock = clock
        self._on_issued = on_issued
        store.add_issuer(settings.tipo_identificacion, settings.numero_identificacion, settings.nombre)
        # Import the XML layers once, now: the first sale should not pay for it.
        from cr_einvoice.vouchers import validate
        from cr_einvoice.vouchers import xmlwrite as xmlgen

        self._to_xml = xmlgen.to_xml
        self._validate_xml = validate.validate_xml

    # -- checks -----------------------------------------------------------------------------------
    def _check_emisor(self, doc: Document) -> None:
        """The issuing taxpayer must be the document's emisor (the receptor in a FacturaCompra, which the
        buyer issues)."""
        s = self.settings
        party = "receptor" if doc.tipo is TipoDocumento.FACTURA_COMPRA else "emisor"
        ident = _ident(getattr(doc, party, None))
        if ident is None:
            raise ValidationError(
                f"the document has no {party} identification", path=f"{party}.identificacion"
            )
        if ident[1] != s.numero_identificacion:
            raise ValidationError(
                f"the document's {party} is {ident[1]}, but this issuer signs for {s.numero_identificacion}",
                path=f"{party}.identificacion.numero",
            )

    def _numbered(  # noqa: PLR0917 (internal helper)
        self,
        doc: Document,
        tipo: TipoDocumento,
        numero: int,
        fecha: datetime,
        situacion: str,
        sucursal: int,
        terminal: int,
    ) -> tuple[Document, Clave, Consecutivo]:
        consecutivo = Consecutivo(sucursal=sucursal, terminal=terminal, tipo=tipo, numero=numero)
        clave = Clave.build(
            tipo_identificacion=TipoIdentificacion(self.settings.tipo_identificacion),
            numero_identificacion=self.settings.numero_identificacion,
            consecutivo=consecutivo,
            fecha=fecha,
            situacion=Situacion(situacion),
        )
        return (
            doc.with_numbering(consecutivo=consecutivo, clave=clave, fecha_emision=fecha),
            clave,
            consecutivo,
        )

    def validate(self, doc: Document, *, fecha: datetime | None = None, situacion: str = "1") -> None:
        """Raise ValidationError (naming the fields) unless ``doc`` would be a valid voucher once numbered.

        The check runs on a copy carrying a provisional number; nothing is allocated.
        """
        self._check_emisor(doc)
        s = self.settings
        provisional, _, _ = self._numbered(
            doc, doc.tipo, 1, fecha or self._clock(), situacion, s.sucursal, s.terminal
        )
        self._check_xml(self._to_xml(provisional))

    def _check_xml(self, xml: bytes) -> None:
        if not (self.settings.validate_xsd or self.settings.validate_rules):
            return
        report = self._validate_xml(xml, xsd=self.settings.validate_xsd, signed=False)
        problems: Sequence[Problem] = report.problems
        if problems:
            raise ValidationError(problems)

    # -- issuing ----------------------------------------------------------------------------------
    def issue(
        self,
        document: Document,
        *,
        external_ref: str | None = None,
        sucursal: int | None = None,
        terminal: int | None = None,
        replaces_paper: PaperVoucher | None = None,
    ) -> IssuedVoucher:
        """Number, sign and persist ``document``; return at once (the worker submits it).

        ``external_ref`` (an order or ticket id) makes the call idempotent: issuing the same reference again
        returns the voucher issued the first time and allocates nothing -- safe to retry after a crash.
        ``replaces_paper`` issues with situación 2 and the reference Hacienda requires (TipoDocIR 08,
        CodigoReferencia 05) to the paper contingency voucher it replaces.
        """
        s = self.settings
        suc = s.sucursal if sucursal is None else sucursal
        term = s.terminal if terminal is None else terminal
        if external_ref is not None:
            if not external_ref or len(external_ref) > 200:
                raise ValidationError("must be 1..200 characters", path="external_ref")
            existing = self.store.find_by_ref(external_ref)
            if existing is not None:
                return IssuedVoucher.from_record(existing, created=False)
        tipo = TipoDocumento(document.tipo)
        if tipo in (
            TipoDocumento.CONFIRMACION_ACEPTACION,
            TipoDocumento.CONFIRMACION_ACEPTACION_PARCIAL,
            TipoDocumento.CONFIRMACION_RECHAZO,
        ):
            raise ValidationError(
                "a MensajeReceptor is issued with cr_einvoice.outbox.receiving.Receiver.respond()",
                path="tipo",
            )
        if replaces_paper is not None:
            document = with_contingency_reference(document, replaces_paper)
        fecha = self._clock()
        forced = Situacion.CONTINGENCIA.value if replaces_paper is not None else None
        # 1. validate before any number is taken
        self._check_emisor(document)
        provisional, _, _ = self._numbered(document, tipo, 1, fecha, forced or "1", suc, term)
        self._check_xml(self._to_xml(provisional))
        counterpart = "emisor" if tipo is TipoDocumento.FACTURA_COMPRA else "receptor"
        receptor = _ident(getattr(document, counterpart, None))
        total = _total(provisional)

        # 2. number + sign + persist, atomically
        def build(numero: int, situacion: str) -> NewVoucher:
            sit = forced or situacion
            numbered, clave, consecutivo = self._numbered(document, tipo, numero, fecha, sit, suc, term)
            signed = self.signer.sign(self._to_xml(numbered))
            return NewVoucher(
                key=str(clave),
                clave=str(clave),
                consecutivo=str(consecutivo),
                kind=VoucherKind.ISSUED,
                tipo=tipo.value,
                situacion=sit,
                fecha_emision=fecha,
                emisor_tipo=s.tipo_identificacion,
                emisor_numero=s.numero_identificacion,
                receptor_tipo=receptor[0] if receptor else None,
                receptor_numero=receptor[1] if receptor else None,
                signed_xml=signed,
                total_comprobante=total,
                external_ref=external_ref,
            )

        key = CounterKey(s.numero_identificacion, suc, term, tipo.value)
        try:
            record, created = self.store.issue(key, build, external_ref=external_ref)
        except StoreError:
            raise
        issued = IssuedVoucher.from_record(record, created=created)
        if created and self._on_issued is not None:
            self._on_issued(issued)
        log.debug("issued %s (%s)", issued.clave, issued.consecutivo)
        return issued

    def issue_json(self, data: Any, **kwargs: Any) -> IssuedVoucher:
        """Issue from the JSON input format (:func:`cr_einvoice.vouchers.jsonio.document_from_json`)."""
        from cr_einvoice.vouchers.jsonio import document_from_json

        document: Any = document_from_json(data)
        return self.issue(document, **kwargs)


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
