"""Receiving a supplier's voucher and answering it with our own MensajeReceptor, submitted like a voucher."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from lxml import etree
from outbox_docs import CLIENTE_ID, EMISOR_ID, supplier_invoice

from cr_einvoice.core.errors import StoreError, ValidationError, VerificationError
from cr_einvoice.core.secret import Secret
from cr_einvoice.hacienda import AsyncClient, Credentials
from cr_einvoice.outbox.issuing import IssuerSettings
from cr_einvoice.outbox.receiving import Receiver
from cr_einvoice.outbox.store import CounterKey, SQLiteStore, VoucherKind, VoucherState
from cr_einvoice.outbox.worker import Worker, WorkerSettings
from cr_einvoice.sandbox import Simulator, SimulatorSettings
from cr_einvoice.signing.xades import Signer, TrustStore
from cr_einvoice.testing.pki import TestPKI

USER = "cpj-3-101-123456@stag.comprobanteselectronicos.go.cr"


@pytest.fixture
def receiver(store: SQLiteStore, signer: Signer, pki: TestPKI, supplier_pki: TestPKI) -> Receiver:
    trust = TrustStore.from_pem_files(pki.ca_cert_pem, supplier_pki.ca_cert_pem)
    return Receiver(store, signer, IssuerSettings("02", EMISOR_ID, "Empresa de Pruebas S.A."), trust=trust)


@pytest.fixture(scope="module")
def sim(pki: TestPKI, supplier_pki: TestPKI) -> Iterator[Simulator]:
    settings = SimulatorSettings(
        users={USER: "pw"},
        processing_delay=0.05,
        trust=TrustStore.from_pem_files(pki.ca_cert_pem, supplier_pki.ca_cert_pem),
    )
    with Simulator(settings) as s:
        yield s


def test_import_verifies_and_stores_exact_bytes(receiver: Receiver, supplier_pki: TestPKI) -> None:
    xml = supplier_invoice(supplier_pki)
    record = receiver.import_voucher(xml)
    assert record.xml == xml and record.emisor_numero == CLIENTE_ID and record.decision is None
    assert record.total_impuesto is not None and record.tipo == "01"
    assert receiver.import_voucher(xml).clave == record.clave  # idempotent


def test_import_refuses_tampered_and_misaddressed(receiver: Receiver, supplier_pki: TestPKI) -> None:
    xml = supplier_invoice(supplier_pki, numero=2)
    tampered = xml.replace(b"Cliente Mayorista", b"Cliente Mayorisla")
    assert tampered != xml
    with pytest.raises(VerificationError):
        receiver.import_voucher(tampered)
    other = Receiver(
        receiver.store, receiver.signer, IssuerSettings("02", "3101777777", "Otra"), trust=receiver.trust
    )
    with pytest.raises(ValidationError, match="addressed to"):
        other.import_voucher(xml)
    assert receiver.store.get_received(etree.fromstring(xml).findtext("{*}Clave") or "") is None


@pytest.mark.parametrize(
    ("decision", "tipo", "mensaje"), [("accept", "05", "1"), ("partial", "06", "2"), ("reject", "07", "3")]
)
async def test_respond_numbers_signs_and_submits(  # noqa: PLR0917 (fixtures + parameters)
    receiver: Receiver,
    store: SQLiteStore,
    supplier_pki: TestPKI,
    sim: Simulator,
    decision: str,
    tipo: str,
    mensaje: str,
) -> None:
    received = receiver.import_voucher(supplier_invoice(supplier_pki, numero=10 + int(mensaje)))
    reason = None if decision == "accept" else "Mercadería dañada en el envío"
    mr = receiver.respond(received.clave, decision, reason=reason)
    assert mr.tipo == tipo and mr.consecutivo == f"00100001{tipo}0000000001"
    assert mr.key == f"{received.clave}-{mr.consecutivo}"
    root = etree.fromstring(mr.signed_xml)
    assert root.findtext("{*}Mensaje") == mensaje
    assert root.findtext("{*}NumeroConsecutivoReceptor") == mr.consecutivo
    assert root.findtext("{*}Clave") == received.clave
    assert mr.record.kind is VoucherKind.RECEPTOR_MESSAGE
    with pytest.raises(StoreError, match="already answered"):
        receiver.respond(received.clave, "accept")
    assert sim.sello_ca_cert_pem is not None
    async with AsyncClient(
        sim.environment(),
        Credentials(USER, Secret("pw")),
        trust=TrustStore.from_pem_files(sim.sello_ca_cert_pem),
    ) as api:
        await Worker(store, api, WorkerSettings(poll_initial=0.05, poll_max=0.2)).drain(within=30)
    rec = store.require(mr.key)
    assert rec.state is VoucherState.ACCEPTED, rec.last_error
    sub = sim.store.get(mr.key)
    assert sub is not None and sub.consecutivo_receptor == mr.consecutivo


def test_partial_and_reject_need_a_reason(
    receiver: Receiver, supplier_pki: TestPKI, store: SQLiteStore
) -> None:
    received = receiver.import_voucher(supplier_invoice(supplier_pki, numero=30))
    with pytest.raises(ValidationError, match="detalle_mensaje"):
        receiver.respond(received.clave, "reject")
    with pytest.raises(ValidationError, match="decision"):
        receiver.respond(received.clave, "maybe")
    assert store.peek_next_number(CounterKey(EMISOR_ID, 1, 1, "07")) == 1  # nothing was numbered
