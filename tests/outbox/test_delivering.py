"""Durable deliveries end to end against a real SMTP server on loopback: who gets which e-mail in each mode,
rejected vouchers never sent, bounces recorded while the other recipients still get theirs, transient
failures retried with backoff, the attachments byte-identical to what the store holds."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy

import pytest
from outbox_docs import EMISOR_ID, factura, supplier_invoice, ticket

from cr_einvoice.core.errors import ConfigError, ValidationError
from cr_einvoice.delivery.mail import message_id
from cr_einvoice.delivery.smtp import SmtpSender, SmtpSettings
from cr_einvoice.outbox.delivering import Deliverer, DeliveryRefusedError, DeliverySettings, force
from cr_einvoice.outbox.issuing import Issuer, IssuerSettings
from cr_einvoice.outbox.receiving import Receiver
from cr_einvoice.outbox.store import (
    DeliveryStage,
    DeliveryState,
    NewDelivery,
    Store,
    VoucherRecord,
    VoucherState,
)
from cr_einvoice.signing.xades import Signer, TrustStore
from cr_einvoice.testing.pki import TestPKI
from cr_einvoice.testing.smtpd import MailServer

SENDER = "facturas@example.com"
COPY = "archivo@example.com"
RESPUESTA = b"<?xml version='1.0'?>\n<MensajeHacienda><Mensaje>1</Mensaje></MensajeHacienda>\n"


def fake_pdf(signed_xml: bytes, respuesta: bytes | None, estado: str | None) -> bytes:
    """Stands in for the renderer: a different, checkable PDF per voucher and estado."""
    return (
        b"%PDF-1.7\n" + str(len(signed_xml)).encode() + b" " + (estado or "pendiente").encode() + b"\n%%EOF\n"
    )


@pytest.fixture
def server() -> Iterator[MailServer]:
    with MailServer(refuse={"rebota@example.com": (550, "5.1.1 no such user")}) as s:
        yield s


def deliverer(store: Store, server: MailServer, **settings: object) -> Deliverer:
    values: dict[str, object] = {"sender": SENDER, "copies": (COPY,), "backoff_base": 10.0}
    values.update(settings)
    smtp = SmtpSettings("127.0.0.1", server.port, security="none", timeout=5.0)
    return Deliverer(
        store,
        lambda: SmtpSender(smtp),
        DeliverySettings(**values),
        render_pdf=fake_pdf,  # type: ignore[arg-type]
    )


def answered(
    store: Store, record: VoucherRecord, state: VoucherState = VoucherState.ACCEPTED
) -> VoucherRecord:
    store.transition(record.key, VoucherState.SENDING)
    estado = "aceptado" if state is VoucherState.ACCEPTED else "rechazado"
    store.add_respuesta(
        record.key, source="poll", estado=estado, mensaje=1, detalle=None, errores=[], raw_xml=RESPUESTA
    )
    return store.transition(record.key, state)


def received(server: MailServer) -> dict[str, EmailMessage]:
    out = {}
    for mail in server.messages:
        msg = message_from_bytes(mail.data, policy=default_policy)
        assert isinstance(msg, EmailMessage)
        (to,) = mail.rcpt_tos
        out[f"{to} {msg['Message-ID']}"] = msg
    return out


def files(msg: EmailMessage) -> dict[str, bytes]:
    found = {}
    for part in msg.iter_attachments():
        payload = part.get_payload(decode=True)
        assert isinstance(payload, bytes)
        found[str(part.get_filename())] = payload
    return found


def test_one_mail_after_acceptance_to_the_receptor_and_the_copies(
    store: Store, issuer: Issuer, server: MailServer
) -> None:
    d = deliverer(store, server)
    record = issuer.issue(factura())
    report = d.run()
    assert (report.planned, report.touched, server.messages) == (0, 0, [])
    record = answered(store, record)
    report = d.run()
    assert report.planned == 1 and len(report.sent) == 2
    deliveries = store.deliveries(record.key)
    assert {(x.recipient, x.stage, x.state, x.attempts) for x in deliveries} == {
        ("compras@example.com", DeliveryStage.SINGLE, DeliveryState.SENT, 1),
        (COPY, DeliveryStage.SINGLE, DeliveryState.SENT, 1),
    }
    mails = received(server)
    assert sorted(mails) == sorted(f"{x.recipient} {x.message_id}" for x in deliveries)
    for msg in mails.values():
        assert files(msg) == {
            f"{record.clave}.xml": store.require(record.key).signed_xml,
            f"{record.clave}.pdf": fake_pdf(record.signed_xml, RESPUESTA, "aceptado"),
            f"{record.clave}-respuesta-hacienda.xml": store.respuestas(record.key)[-1].raw_xml,
        }
        assert "aceptado por Hacienda" in str(msg["Subject"])
    again = d.run()
    assert (again.planned, again.touched, len(server.messages)) == (0, 0, 2)


def test_two_mails_at_issue_and_after_the_answer(store: Store, issuer: Issuer, server: MailServer) -> None:
    d = deliverer(store, server, mode="two", copies=())
    record = issuer.issue(factura())
    assert len(d.run().sent) == 1
    (first,) = server.messages
    assert sorted(files(first.message)) == [f"{record.clave}.pdf", f"{record.clave}.xml"]  # type: ignore[arg-type]
    answered(store, record)
    assert len(d.run().sent) == 1
    second = server.messages[1]
    assert files(second.message)[f"{record.clave}-respuesta-hacienda.xml"] == RESPUESTA  # type: ignore[arg-type]
    stages = [(x.stage, x.state) for x in store.deliveries(record.key)]
    assert stages == [(DeliveryStage.ISSUE, DeliveryState.SENT), (DeliveryStage.ANSWER, DeliveryState.SENT)]
    assert first.message_id != second.message_id


@pytest.mark.parametrize("mode", ["one", "two"])
def test_a_rejected_voucher_is_not_sent(store: Store, issuer: Issuer, server: MailServer, mode: str) -> None:
    d = deliverer(store, server, mode=mode)
    record = answered(store, issuer.issue(factura()), VoucherState.REJECTED)
    report = d.run()
    assert report.planned >= 1 and report.touched == 0 and server.messages == []
    assert store.deliveries(record.key) == []
    assert "delivery_planned" in [e.kind for e in store.events(record.key)]
    assert d.run().planned == 0  # not looked at again
    with pytest.raises(DeliveryRefusedError, match="rejected"):
        d.add_recipient(record.key, "alguien@example.com")


def test_a_ticket_without_receptor_address_gets_no_mail(
    store: Store, issuer: Issuer, server: MailServer
) -> None:
    d = deliverer(store, server)
    record = answered(store, issuer.issue(ticket()))
    assert d.run().planned == 1
    assert store.deliveries(record.key) == [] and server.messages == []


def test_a_refused_recipient_is_recorded_and_the_others_still_get_theirs(
    store: Store, issuer: Issuer, server: MailServer
) -> None:
    d = deliverer(store, server, copies=("rebota@example.com", COPY))
    record = answered(store, issuer.issue(factura()))
    report = d.run()
    assert (len(report.sent), len(report.bounced)) == (2, 1)
    by = {x.recipient: x for x in store.deliveries(record.key)}
    assert by["rebota@example.com"].state is DeliveryState.BOUNCED
    assert by["rebota@example.com"].last_error == "550 5.1.1 no such user"
    assert {by["compras@example.com"].state, by[COPY].state} == {DeliveryState.SENT}
    assert sorted(m.rcpt_tos[0] for m in server.messages) == sorted(["compras@example.com", COPY])
    assert "delivery_bounced" in [e.kind for e in store.events(record.key)]


def test_a_bad_address_in_the_voucher_is_recorded_as_refused(
    store: Store, issuer: Issuer, server: MailServer
) -> None:
    d = deliverer(store, server)
    record = answered(store, issuer.issue(factura()))
    bad = record.signed_xml.replace(b"compras@example.com", b"compras@example..com", 1)
    assert d.recipients(dataclasses.replace(record, signed_xml=bad)) == ["compras@example..com", COPY]
    to = "compras@example..com"
    store.add_delivery(
        record.key, DeliveryStage.SINGLE, NewDelivery(to, message_id(record.key, "single", to))
    )
    d.run()
    by = {x.recipient: x for x in store.deliveries(record.key)}
    assert by["compras@example..com"].state is DeliveryState.BOUNCED
    assert "not a valid mail domain" in (by["compras@example..com"].last_error or "")
    assert by["compras@example.com"].state is DeliveryState.SENT


def test_transient_failures_are_retried_with_backoff_then_given_up(store: Store, issuer: Issuer) -> None:
    record = answered(store, issuer.issue(factura()))
    with MailServer(transient={"compras@example.com": 1}) as server:
        d = deliverer(store, server, copies=(), backoff_base=10.0, backoff_max=10.0)
        before = time.time()
        report = d.run()
        (x,) = store.deliveries(record.key)
        assert report.retry == [x.id] and server.messages == []
        assert (x.state, x.attempts, x.last_error) == (DeliveryState.PENDING, 1, "451 4.3.0 try again later")
        assert before + 5.0 <= x.next_attempt_at <= time.time() + 10.0
        assert d.run().touched == 0  # not due yet
        report = d.run(now=x.next_attempt_at)
        assert report.sent == [x.id] and len(server.messages) == 1
    with MailServer(transient={"compras@example.com": 10}) as server:
        d = deliverer(store, server, copies=(), max_attempts=2, backoff_base=0.01, backoff_max=0.01)
        other = answered(store, issuer.issue(factura()))
        d.run()
        time.sleep(0.02)
        report = d.run()
        (y,) = store.deliveries(other.key)
        assert report.failed == [y.id] and y.state is DeliveryState.FAILED and y.attempts == 2
        assert "after 2 attempts" in (y.last_error or "")
        (again,) = force(store, other.key)
        assert again.state is DeliveryState.PENDING and again.message_id == y.message_id


def test_send_to_another_address_on_request(store: Store, issuer: Issuer, server: MailServer) -> None:
    d = deliverer(store, server, copies=())
    record = issuer.issue(factura())
    extra = d.add_recipient(record.key, "Contador@Example.com")
    assert (extra.stage, extra.recipient) == (DeliveryStage.ISSUE, "Contador@example.com")
    assert d.add_recipient(record.key, "Contador@example.com").id == extra.id
    report = d.run(key=record.key)
    assert report.sent == [extra.id] and server.messages[0].rcpt_tos == ("Contador@example.com",)
    with pytest.raises(ValidationError, match="control characters"):
        d.add_recipient(record.key, "x@example.com\r\nBcc: y@example.com")


def test_settings_are_checked() -> None:
    with pytest.raises(ValidationError, match=r"delivery\.copies"):
        DeliverySettings(sender=SENDER, copies=("not an address",))
    with pytest.raises(ValidationError, match=r"delivery\.sender"):
        DeliverySettings(sender="nobody")
    with pytest.raises(ConfigError, match=r"delivery\.mode"):
        DeliverySettings(sender=SENDER, mode="three")


def test_an_e_mail_that_cannot_be_composed_fails_and_one_missing_a_tool_waits(
    store: Store, issuer: Issuer, server: MailServer
) -> None:
    from cr_einvoice.core.errors import Problem

    def broken(signed_xml: bytes, respuesta: bytes | None, estado: str | None) -> bytes:
        raise ValidationError([Problem("respuesta_xml", "not Hacienda's answer to this clave")])

    def missing(signed_xml: bytes, respuesta: bytes | None, estado: str | None) -> bytes:
        raise ConfigError("the [pdf] extra is not installed")

    smtp = SmtpSettings("127.0.0.1", server.port, security="none", timeout=5.0)
    settings = DeliverySettings(sender=SENDER)
    record = answered(store, issuer.issue(factura()))
    Deliverer(store, lambda: SmtpSender(smtp), settings, render_pdf=broken).run()
    (x,) = store.deliveries(record.key)
    assert x.state is DeliveryState.FAILED and "not Hacienda's answer" in (x.last_error or "")
    other = answered(store, issuer.issue(factura()))
    report = Deliverer(store, lambda: SmtpSender(smtp), settings, render_pdf=missing).run()
    (y,) = store.deliveries(other.key)
    assert (
        report.retry == [y.id] and y.state is DeliveryState.PENDING and "[pdf] extra" in (y.last_error or "")
    )
    assert server.messages == []


def test_our_mensaje_receptor_is_never_e_mailed(
    store: Store, signer: Signer, pki: TestPKI, supplier_pki: TestPKI, server: MailServer
) -> None:
    trust = TrustStore.from_pem_files(pki.ca_cert_pem, supplier_pki.ca_cert_pem)
    receiver = Receiver(
        store, signer, IssuerSettings("02", EMISOR_ID, "Empresa de Pruebas S.A."), trust=trust
    )
    received = receiver.import_voucher(supplier_invoice(supplier_pki))
    mr = answered(store, receiver.respond(received.clave, "accept"))
    d = deliverer(store, server)
    assert d.run().planned == 0 and server.messages == []
    with pytest.raises(DeliveryRefusedError, match="MensajeReceptor"):
        d.add_recipient(mr.key, "proveedor@example.com")
    with pytest.raises(DeliveryRefusedError, match="MensajeReceptor"):
        d.plan_voucher(mr)
