"""The one numbering pipeline (outbox.numbering) behind Issuer.issue and Receiver.respond.

A failure anywhere between taking a number and persisting the signed document gives the number back, for a
voucher and for a MensajeReceptor alike; the issuer's voucher sequences and the receiver's MensajeReceptor
sequences are separate and gapless.
"""

from __future__ import annotations

import pytest
from outbox_docs import CLIENTE_ID, EMISOR_ID, factura, supplier_invoice, ticket

from cr_einvoice.core.clave import Clave, cr_now
from cr_einvoice.core.identifiers import Identificacion
from cr_einvoice.outbox.issuing import Issuer, IssuerSettings
from cr_einvoice.outbox.numbering import Draft, Numbering
from cr_einvoice.outbox.receiving import Receiver
from cr_einvoice.outbox.store import CounterKey, SQLiteStore, VoucherKind
from cr_einvoice.signing.xades import Signer, TrustStore
from cr_einvoice.testing.pki import TestPKI

SETTINGS = IssuerSettings("02", EMISOR_ID, "Empresa de Pruebas S.A.")


class Exploding:
    def sign(self, xml: bytes) -> bytes:
        raise RuntimeError("HSM unplugged")

    def sign_element(self, root: object) -> bytes:
        raise RuntimeError("HSM unplugged")


def receiver(store: SQLiteStore, signer: object, pki: TestPKI, supplier_pki: TestPKI) -> Receiver:
    trust = TrustStore.from_pem_files(pki.ca_cert_pem, supplier_pki.ca_cert_pem)
    return Receiver(store, signer, SETTINGS, trust=trust)  # type: ignore[arg-type]


def counter(tipo: str) -> CounterKey:
    return CounterKey(EMISOR_ID, 1, 1, tipo)


def test_issuer_and_receiver_share_the_pipeline() -> None:
    assert issubclass(Issuer, Numbering) and issubclass(Receiver, Numbering)


def test_signing_failure_gives_the_number_back_for_a_mensaje_receptor(
    store: SQLiteStore, signer: Signer, pki: TestPKI, supplier_pki: TestPKI
) -> None:
    broken = receiver(store, Exploding(), pki, supplier_pki)
    received = broken.import_voucher(supplier_invoice(supplier_pki, numero=41))
    with pytest.raises(RuntimeError, match="HSM"):
        broken.respond(received.clave, "accept")
    assert store.peek_next_number(counter("05")) == 1
    assert list(store.iter_vouchers()) == []
    again = store.get_received(received.clave)
    assert again is not None and again.decision is None and again.mr_key is None  # still unanswered
    mr = receiver(store, signer, pki, supplier_pki).respond(received.clave, "accept")
    assert mr.numero == 1 and mr.consecutivo == "00100001050000000001"
    answered = store.get_received(received.clave)
    assert answered is not None and answered.mr_key == mr.key


def test_signing_failure_gives_the_number_back_for_a_voucher(store: SQLiteStore, signer: Signer) -> None:
    Issuer(store, signer, SETTINGS).issue(factura())
    broken = Issuer(store, Exploding(), SETTINGS)  # type: ignore[arg-type]
    with pytest.raises(RuntimeError, match="HSM"):
        broken.issue(factura(), external_ref="order-1")
    assert store.peek_next_number(counter("01")) == 2
    assert store.find_by_ref("order-1") is None
    assert Issuer(store, signer, SETTINGS).issue(factura(), external_ref="order-1").numero == 2


def test_vouchers_and_mensajes_receptor_are_separate_gapless_sequences(
    issuer: Issuer, store: SQLiteStore, signer: Signer, pki: TestPKI, supplier_pki: TestPKI
) -> None:
    answers = receiver(store, signer, pki, supplier_pki)
    received = [answers.import_voucher(supplier_invoice(supplier_pki, numero=50 + n)) for n in range(4)]
    issued = [issuer.issue(factura()).numero]
    accepted = [answers.respond(received[0].clave, "accept").numero]
    issued.append(issuer.issue(factura()).numero)
    issued.append(issuer.issue(ticket()).numero)  # a TE: its own sequence
    rejected = [answers.respond(received[1].clave, "reject", reason="Mercadería no solicitada").numero]
    accepted.append(answers.respond(received[2].clave, "accept").numero)
    issued.append(issuer.issue(factura()).numero)
    rejected.append(answers.respond(received[3].clave, "reject", reason="Precio distinto al pactado").numero)
    assert issued == [1, 2, 1, 3]
    assert accepted == [1, 2] and rejected == [1, 2]
    by_tipo: dict[str, list[int]] = {}
    for v in store.iter_vouchers():
        by_tipo.setdefault(v.tipo, []).append(v.numero)
        kind = VoucherKind.RECEPTOR_MESSAGE if v.tipo in ("05", "06", "07") else VoucherKind.ISSUED
        assert v.kind is kind
    assert by_tipo == {"01": [1, 2, 3], "04": [1], "05": [1, 2], "07": [1, 2]}
    for tipo, numbers in by_tipo.items():
        assert store.peek_next_number(counter(tipo)) == len(numbers) + 1


def test_a_mensaje_receptor_keeps_the_confirmed_clave_and_stores_the_supplier_as_emisor(
    store: SQLiteStore, signer: Signer, pki: TestPKI, supplier_pki: TestPKI
) -> None:
    answers = receiver(store, signer, pki, supplier_pki)
    received = answers.import_voucher(supplier_invoice(supplier_pki, numero=60))
    mr = answers.respond(received.clave, "accept")
    assert mr.clave == received.clave and mr.key == f"{received.clave}-{mr.consecutivo}"
    assert mr.consecutivo_receptor == mr.consecutivo
    assert mr.situacion == Clave.parse(received.clave).situacion.value
    assert (mr.emisor_numero, mr.receptor_tipo, mr.receptor_numero) == (CLIENTE_ID, "02", EMISOR_ID)
    assert mr.total_comprobante == received.total_comprobante


def test_draft_derives_kind_counter_and_parties() -> None:
    taxpayer = Identificacion.of("02", EMISOR_ID)
    client = Identificacion.of("02", CLIENTE_ID)
    draft = Draft(
        document=factura(), taxpayer=taxpayer, counterpart=client, sucursal=3, terminal=7, fecha=cr_now()
    )
    assert draft.kind is VoucherKind.ISSUED and draft.answers is None
    assert draft.counter == CounterKey(EMISOR_ID, 3, 7, "01")
    assert draft.parties == (taxpayer, client)
