"""The one numbering pipeline: validate -> take the next consecutivo -> build the clave -> sign -> persist.

Issuing a voucher (:meth:`~cr_einvoice.outbox.issuing.Issuer.issue`) and answering a received one with a
MensajeReceptor (:meth:`~cr_einvoice.outbox.receiving.Receiver.respond`) are the same job, done here once
(:class:`Numbering` is the base of both):

1. inside one store transaction the next consecutivo of (taxpayer, sucursal, terminal, tipo) is drawn and
   the clave built (a MensajeReceptor keeps the confirmed voucher's);
2. the XML tree is generated once, and that tree is checked -- the model, the XSD and Hacienda's business
   rules -- and signed (:meth:`~cr_einvoice.signing.xades.Signer.sign_element`: no second serialisation, no
   re-parse), and the voucher persisted with the exact signed bytes.

If anything fails the transaction rolls back and the counter with it: bad input raises
:class:`~cr_einvoice.core.errors.ValidationError` and **takes no number**, and every (taxpayer, sucursal,
terminal, tipo) sequence stays gapless. :meth:`Numbering._check` runs the same checks on a copy carrying a
provisional number without touching the store (``Issuer.validate``).

A :class:`Draft` says what differs between a voucher and a MensajeReceptor; the pipeline does the rest.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from cr_einvoice.core.catalogs import Situacion, TipoDocumento
from cr_einvoice.core.clave import Clave, Consecutivo
from cr_einvoice.core.errors import Problem, ValidationError
from cr_einvoice.core.identifiers import Identificacion
from cr_einvoice.outbox.store import CounterKey, NewVoucher, Store, VoucherKind, VoucherRecord

if TYPE_CHECKING:
    from lxml import etree

    from cr_einvoice.signing.xades import Signer
    from cr_einvoice.vouchers.model import Document, Emisor

__all__ = ["Draft", "IssuedVoucher", "IssuerSettings", "Numbering", "amount_text", "party_of"]


@dataclass(frozen=True, slots=True)
class IssuerSettings:
    """Who issues and from where. ``validate_xsd`` (the official XSD; it needs the schemas,
    ``CR_EINVOICE_SCHEMAS``) and ``validate_rules`` (Hacienda's business rules) choose the checks each
    voucher's XML gets before it is signed; the document model's own checks always run."""

    tipo_identificacion: str
    numero_identificacion: str
    nombre: str = ""
    sucursal: int = 1
    terminal: int = 1
    validate_xsd: bool = True
    validate_rules: bool = True
    #: The full emisor block (e-mail, ubicación ...) a document that omits its emisor gets (:meth:`emisor`).
    profile: Emisor | None = None

    @property
    def identificacion(self) -> Identificacion:
        """The issuing taxpayer's identification (raises ValidationError when the settings' is malformed)."""
        return Identificacion.of(self.tipo_identificacion, self.numero_identificacion)

    def emisor(self) -> Emisor | None:
        """The emisor block a document that omits its ``emisor`` gets, and that a document's emisor must match
        (:func:`cr_einvoice.vouchers.jsonio.document_from_json` with ``emisor=``): ``profile``, else nombre
        and identification only; None without a ``nombre``."""
        if self.profile is not None:
            return self.profile
        if not self.nombre:
            return None
        from cr_einvoice.vouchers.model import Emisor

        try:
            return Emisor(nombre=self.nombre, identificacion=self.identificacion)
        except ValidationError:
            return None  # a nombre or identification Hacienda would refuse: documents must carry their own


@dataclass(frozen=True, slots=True, kw_only=True)
class IssuedVoucher(VoucherRecord):
    """A voucher numbered, signed and stored: its :class:`~cr_einvoice.outbox.store.VoucherRecord`, and
    ``created`` -- False when ``external_ref`` had been issued before and this is that voucher."""

    created: bool = True
    #: What issuing noted on the way (from Hacienda's public data: a receptor or tipo_cambio filled in, the
    #: registry's findings); empty without ``[publicdata]``.
    notes: tuple[Problem, ...] = ()

    @property
    def record(self) -> VoucherRecord:
        """The stored record (this object: an issued voucher *is* its record)."""
        return self

    @classmethod
    def from_record(cls, record: VoucherRecord, *, created: bool) -> IssuedVoucher:
        return cls(**{name: getattr(record, name) for name in _RECORD_FIELDS}, created=created)


_RECORD_FIELDS = tuple(VoucherRecord.__dataclass_fields__)


def party_of(document: object, role: str) -> Identificacion | None:
    """The identification of a document's ``emisor`` or ``receptor`` (None when it has none)."""
    ident = getattr(getattr(document, role, None), "identificacion", None)
    return ident if isinstance(ident, Identificacion) else None


def amount_text(value: object) -> str | None:
    """A Decimal amount as the store keeps it (``"1130.00000"``); None for anything else."""
    return f"{value:f}" if isinstance(value, Decimal) else None


@dataclass(frozen=True, slots=True)
class Draft:
    """A document ready to be numbered: everything the stored voucher needs except its number.

    A voucher is stored with the taxpayer as emisor; a MensajeReceptor (whose document already carries the
    confirmed voucher's clave) with that voucher's seller as emisor and the taxpayer as receptor.
    """

    document: Document
    #: Numbers and signs the document: the counter is theirs, and so is the clave built for a voucher.
    taxpayer: Identificacion
    #: The other party: a voucher's receptor (a FacturaCompra's seller), a MensajeReceptor's supplier.
    counterpart: Identificacion | None
    #: Where (establecimiento and terminal of the consecutivo) and when (FechaEmision) it is issued.
    sucursal: int
    terminal: int
    fecha: datetime
    #: The situación to use; None: a MensajeReceptor's is the confirmed voucher's, a voucher's the store's
    #: contingency mode (1, or 3 while Hacienda is unreachable).
    situacion: str | None = None
    external_ref: str | None = None
    detail: Mapping[str, Any] = field(default_factory=dict)

    @property
    def tipo(self) -> TipoDocumento:
        tipo = self.document.tipo
        return tipo if isinstance(tipo, TipoDocumento) else TipoDocumento(str(tipo))

    @property
    def kind(self) -> VoucherKind:
        return VoucherKind.RECEPTOR_MESSAGE if self.tipo.is_mensaje_receptor else VoucherKind.ISSUED

    @property
    def answers(self) -> str | None:
        """The received voucher's clave a MensajeReceptor answers (None for a voucher)."""
        return self.document.clave if self.kind is VoucherKind.RECEPTOR_MESSAGE else None

    def situacion_for(self, store_situacion: str) -> str:
        """The situación stored with the voucher, given the store's current contingency mode."""
        if self.situacion is not None:
            return self.situacion
        if self.answers is not None:
            return Clave.parse(self.answers).situacion.value
        return store_situacion

    @property
    def counter(self) -> CounterKey:
        return CounterKey(self.taxpayer.numero, self.sucursal, self.terminal, self.tipo.value)

    @property
    def parties(self) -> tuple[Identificacion | None, Identificacion | None]:
        """(emisor, receptor) as the store records them."""
        if self.kind is VoucherKind.RECEPTOR_MESSAGE:
            return self.counterpart, self.taxpayer
        return self.taxpayer, self.counterpart


class Numbering:
    """One taxpayer's numbering pipeline into ``store``, signing with ``signer``; the base of
    :class:`~cr_einvoice.outbox.issuing.Issuer` and :class:`~cr_einvoice.outbox.receiving.Receiver`.

    ``xsd``/``rules``: what the pre-numbering check runs (the XSD needs the official schemas,
    ``CR_EINVOICE_SCHEMAS``); with both off nothing is checked before signing.
    """

    def __init__(  # noqa: PLR0917 (the two callers pass their own options)
        self,
        store: Store,
        signer: Signer,
        settings: IssuerSettings,
        clock: Callable[[], datetime],
        xsd: bool,
        rules: bool,
    ) -> None:
        self.store = store
        self.signer = signer
        self.settings = settings
        self._clock = clock
        self._xsd = xsd
        self._rules = rules
        #: (the settings, their identification): checked once, not for every voucher
        self._taxpayer: tuple[IssuerSettings, Identificacion] | None = None
        store.add_issuer(settings.tipo_identificacion, settings.numero_identificacion, settings.nombre)
        # Import the XML layers once, now: the first sale should not pay for it.
        from cr_einvoice.vouchers import validate, xmlwrite

        self._to_element = xmlwrite.to_element
        self._validate_xml = validate.validate_xml

    def _draft(
        self,
        document: Document,
        counterpart: Identificacion | None,
        *,
        fecha: datetime | None = None,
        sucursal: int | None = None,
        terminal: int | None = None,
        **options: Any,
    ) -> Draft:
        """A draft of ``document`` by this taxpayer, from its sucursal and terminal, dated now by default."""
        s = self.settings
        known = self._taxpayer
        if known is None or known[0] is not s:
            known = self._taxpayer = (s, s.identificacion)  # raises ValidationError when malformed
        return Draft(
            document=document,
            taxpayer=known[1],
            counterpart=counterpart,
            sucursal=s.sucursal if sucursal is None else sucursal,
            terminal=s.terminal if terminal is None else terminal,
            fecha=self._clock() if fecha is None else fecha,
            **options,
        )

    def _numbered(self, draft: Draft, numero: int, situacion: str) -> tuple[Document, str, Consecutivo]:
        """The draft's document carrying consecutivo ``numero``, its clave and FechaEmision."""
        consecutivo = Consecutivo(
            sucursal=draft.sucursal, terminal=draft.terminal, tipo=draft.tipo, numero=numero
        )
        clave: str | Clave = draft.answers or Clave.build(
            tipo_identificacion=draft.taxpayer.tipo,
            numero_identificacion=draft.taxpayer.numero,
            consecutivo=consecutivo,
            fecha=draft.fecha,
            situacion=Situacion(situacion),
        )
        numbered = draft.document.with_numbering(
            consecutivo=consecutivo, clave=clave, fecha_emision=draft.fecha
        )
        return numbered, str(clave), consecutivo

    def _validated(self, document: Document) -> etree._Element:
        """The XML tree of a numbered document, once the checks this pipeline runs found nothing wrong in
        it (ValidationError naming the fields otherwise)."""
        root = self._to_element(document)
        if self._xsd or self._rules:
            report = self._validate_xml(root, xsd=self._xsd, signed=False, rules=self._rules)
            if report.problems:
                raise ValidationError(report.problems)
        return root

    def _check(self, draft: Draft) -> Document:
        """Raise ValidationError (naming the fields) unless the draft is valid once numbered; return the copy
        checked, numbered provisionally. Nothing is allocated."""
        provisional, _, _ = self._numbered(draft, 1, draft.situacion_for(Situacion.NORMAL.value))
        self._validated(provisional)
        return provisional

    def _number(self, draft: Draft) -> IssuedVoucher:
        """Number, check, sign and persist the draft atomically.

        The XML is generated once, with the number drawn, and that very tree is validated and signed inside
        the store's transaction: a document the checks refuse raises ValidationError, the transaction rolls
        back and the counter with it -- bad input takes no number. When ``draft.external_ref`` was issued
        before, that voucher comes back (``created`` False) and nothing is allocated.
        """
        answer = draft.kind is VoucherKind.RECEPTOR_MESSAGE
        emisor, receptor = draft.parties
        assert emisor is not None, "the issuing party is always known"

        def build(numero: int, store_situacion: str) -> NewVoucher:
            situacion = draft.situacion_for(store_situacion)
            document, clave, consecutivo = self._numbered(draft, numero, situacion)
            signed = self.signer.sign_element(self._validated(document))
            # What the document totals: a voucher's TotalComprobante, the confirmed voucher's TotalFactura.
            if answer:
                total = amount_text(getattr(document, "total_factura", None))
            else:
                total = amount_text(getattr(getattr(document, "resumen", None), "total_comprobante", None))
            return NewVoucher(
                key=f"{clave}-{consecutivo}" if answer else clave,
                clave=clave,
                consecutivo=str(consecutivo),
                kind=draft.kind,
                tipo=draft.tipo.value,
                situacion=situacion,
                fecha_emision=draft.fecha,
                emisor_tipo=emisor.tipo.value,
                emisor_numero=emisor.numero,
                receptor_tipo=receptor.tipo.value if receptor else None,
                receptor_numero=receptor.numero if receptor else None,
                signed_xml=signed,
                total_comprobante=total,
                consecutivo_receptor=str(consecutivo) if answer else None,
                external_ref=draft.external_ref,
                detail=draft.detail,
            )

        if draft.answers is not None:
            # The received voucher is marked answered in the transaction that numbers the answer.
            record = self.store.issue_receptor_message(draft.counter, draft.answers, draft.tipo.value, build)
            return IssuedVoucher.from_record(record, created=True)
        record, created = self.store.issue(draft.counter, build, external_ref=draft.external_ref)
        return IssuedVoucher.from_record(record, created=created)
