"""Receiving a supplier's voucher and answering it with a MensajeReceptor (accept 05, partial 06, reject 07).

:meth:`Receiver.import_voucher` verifies the supplier's XAdES signature
(:func:`cr_einvoice.signing.xades.verify`),
reads the voucher (:func:`cr_einvoice.vouchers.xmlread.from_xml`), checks that it is addressed to this
taxpayer and
stores it with its exact bytes. :meth:`Receiver.respond` builds the MensajeReceptor with the receptor's
**own** consecutivo (type 05/06/07 of this taxpayer's sucursal and terminal), validates it, signs it and
persists it in the same transaction that takes the number -- exactly like an issued voucher -- and links it to
the received voucher, which can be answered only once (:mod:`cr_einvoice.outbox.numbering`, the pipeline
:class:`~cr_einvoice.outbox.issuing.Issuer` uses too). The :class:`~cr_einvoice.outbox.worker.Worker` submits
it with ``consecutivoReceptor``; its status lives at ``GET /recepcion/{clave}-{consecutivoReceptor}``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from cr_einvoice.core.catalogs import CondicionImpuesto, Mensaje, TipoDocumento
from cr_einvoice.core.clave import Clave, cr_now
from cr_einvoice.core.errors import StoreError, ValidationError
from cr_einvoice.core.identifiers import Identificacion
from cr_einvoice.outbox.numbering import IssuedVoucher, IssuerSettings, Numbering, amount_text, party_of
from cr_einvoice.outbox.store import ReceivedRecord, Store

if TYPE_CHECKING:
    from cr_einvoice.signing.xades import Signer, TrustStore

__all__ = ["DECISIONS", "Receiver"]

log = logging.getLogger("cr_einvoice.receiving")

#: CLI/API decision names -> Mensaje (Nota 11).
DECISIONS: dict[str, Mensaje] = {
    "accept": Mensaje.ACEPTADO,
    "partial": Mensaje.ACEPTACION_PARCIAL,
    "reject": Mensaje.RECHAZADO,
}

_RECEIVABLE = frozenset(
    {
        TipoDocumento.FACTURA_ELECTRONICA,
        TipoDocumento.NOTA_DEBITO,
        TipoDocumento.NOTA_CREDITO,
        TipoDocumento.FACTURA_EXPORTACION,
    }
)


class Receiver(Numbering):
    """Imports supplier vouchers into ``store`` and answers them, signing with ``signer``."""

    def __init__(
        self,
        store: Store,
        signer: Signer,
        settings: IssuerSettings,
        *,
        trust: TrustStore | None = None,
        clock: Callable[[], datetime] = cr_now,
        validate_xsd: bool | None = None,
    ) -> None:
        xsd = settings.validate_xsd if validate_xsd is None else validate_xsd
        super().__init__(store, signer, settings, clock, xsd, True)
        self.trust = trust

    # -- import -----------------------------------------------------------------------------------
    def import_voucher(self, xml: bytes) -> ReceivedRecord:
        """Verify, read, check and store a supplier's signed voucher. Importing the same bytes again is a
        no-op; a different document with a known clave is refused."""
        from cr_einvoice.core.xmlsafe import parse_untrusted
        from cr_einvoice.signing.xades import verify
        from cr_einvoice.vouchers.xmlread import from_xml

        if not isinstance(xml, bytes):
            raise TypeError("import_voucher takes the exact bytes received")
        parse_untrusted(xml, what="received voucher")  # size / DTD / well-formedness first
        doc: Any = from_xml(xml)
        tipo = TipoDocumento(doc.tipo)
        if tipo not in _RECEIVABLE:
            raise ValidationError(
                f"a {tipo.name} ({tipo.value}) is not answered with a MensajeReceptor "
                "(only FE, ND, NC and FEE addressed to you are)",
                path="tipo",
            )
        emisor = party_of(doc, "emisor")
        receptor = party_of(doc, "receptor")
        if emisor is None:
            raise ValidationError("the voucher has no emisor identification", path="Emisor/Identificacion")
        # The supplier's own signature, by the supplier (its certificate carries the emisor's cédula).
        result = verify(xml, self.trust, expected_cedula=emisor.numero)
        if receptor is None or receptor.numero != self.settings.numero_identificacion:
            who = receptor.numero if receptor else "nobody"
            raise ValidationError(
                f"the voucher is addressed to {who}, not to this taxpayer "
                f"({self.settings.numero_identificacion})",
                path="Receptor/Identificacion/Numero",
            )
        clave = str(doc.clave or "")
        parsed = Clave.parse(clave)
        if not parsed.matches_identificacion(emisor.tipo, emisor.numero):
            raise ValidationError(
                f"the clave's identification segment {parsed.identificacion} "
                f"is not the emisor {emisor.numero}",
                path="Clave",
            )
        resumen = doc.stated_resumen or doc.resumen
        total = amount_text(resumen.total_comprobante)
        if total is None:
            raise ValidationError(
                "the voucher has no TotalComprobante", path="ResumenFactura/TotalComprobante"
            )
        fecha = doc.fecha_emision
        if not isinstance(fecha, datetime):
            raise ValidationError("the voucher has no FechaEmision", path="FechaEmision")
        impuesto = amount_text(resumen.total_impuesto)
        record = ReceivedRecord(
            clave=clave,
            tipo=tipo.value,
            emisor_tipo=emisor.tipo.value,
            emisor_numero=emisor.numero,
            emisor_nombre=str(doc.emisor.nombre),
            receptor_numero=receptor.numero,
            fecha_emision=fecha,
            total_comprobante=total,
            total_impuesto=impuesto if impuesto is not None and Decimal(impuesto) != 0 else None,
            xml=xml,
            signer_subject=str(result.signer_subject),
            received_at=datetime.now(UTC),
            decision=None,
            mr_key=None,
        )
        stored = self.store.add_received(record)
        log.info("received %s from %s (%s)", clave, emisor.numero, tipo.name)
        return stored

    # -- answer -----------------------------------------------------------------------------------
    def respond(
        self,
        clave: str,
        decision: str | Mensaje,
        *,
        reason: str | None = None,
        condicion_impuesto: CondicionImpuesto | str | None = None,
        codigo_actividad: str | None = None,
        monto_total_impuesto_acreditar: Decimal | None = None,
        monto_total_de_gasto_aplicable: Decimal | None = None,
    ) -> IssuedVoucher:
        """Accept (``"accept"``), partially accept (``"partial"``) or reject (``"reject"``) a received one.

        ``reason`` (5-160 characters) is required for partial acceptance and rejection. Returns the stored
        MensajeReceptor (``key`` = ``clave-consecutivoReceptor``), ready for the worker.
        """
        from cr_einvoice.vouchers.model import MensajeReceptor

        if isinstance(decision, Mensaje):
            mensaje = decision
        elif decision in DECISIONS:
            mensaje = DECISIONS[decision]
        else:
            raise ValidationError(f"must be accept, partial or reject, got {decision!r}", path="decision")
        received = self.store.get_received(clave)
        if received is None:
            raise StoreError(f"no received voucher {clave}: import it first (cr-einvoice receive FILE.xml)")
        if received.decision is not None:
            raise StoreError(f"received voucher {clave} was already answered ({received.decision})")
        s = self.settings
        impuesto = Decimal(received.total_impuesto) if received.total_impuesto is not None else None
        if mensaje is Mensaje.RECHAZADO:
            acreditar = gasto = None
        else:
            acreditar, gasto = monto_total_impuesto_acreditar, monto_total_de_gasto_aplicable
            if condicion_impuesto is None and impuesto is not None:
                condicion_impuesto = CondicionImpuesto.GENERA_CREDITO
            if impuesto is not None and condicion_impuesto == CondicionImpuesto.GENERA_CREDITO:
                # The whole tax is credited and the rest of the total is the expense, unless told otherwise.
                acreditar = impuesto if acreditar is None else acreditar
                gasto = Decimal(received.total_comprobante) - impuesto if gasto is None else gasto
        base = MensajeReceptor(
            clave=clave,
            numero_cedula_emisor=received.emisor_numero,
            mensaje=mensaje,
            total_factura=Decimal(received.total_comprobante),
            numero_cedula_receptor=s.numero_identificacion,
            detalle_mensaje=reason,
            monto_total_impuesto=impuesto,
            codigo_actividad=codigo_actividad,
            condicion_impuesto=CondicionImpuesto(condicion_impuesto)
            if condicion_impuesto is not None
            else None,
            monto_total_impuesto_acreditar=acreditar,
            monto_total_de_gasto_aplicable=gasto,
        )
        draft = self._draft(
            base,
            Identificacion.of(received.emisor_tipo, received.emisor_numero),
            detail={"decision": mensaje.value, "reason": reason},
        )
        mr = self._number(draft)
        log.info("answered %s with %s (%s)", clave, draft.tipo.name, mr.consecutivo)
        return mr
