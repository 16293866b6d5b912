"""The voucher's e-mail: MIME composition (Spanish text, attachments byte-identical, stable Message-ID, no
header injection) and the SMTP sender against a real SMTP server on loopback (plain, STARTTLS, TLS, login,
refusals, transient failures, a broken connection after the end of the message)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path

import pytest
from outbox_docs import CLIENTE_ID, supplier_invoice

from cr_einvoice.core.errors import ConfigError, ValidationError
from cr_einvoice.core.secret import Secret
from cr_einvoice.delivery.mail import message_id, render_mail, voucher_facts
from cr_einvoice.delivery.smtp import Outcome, SmtpSender, SmtpSettings, dot_stuff
from cr_einvoice.testing.pki import TestPKI
from cr_einvoice.testing.smtpd import MailServer, ServerCertificate, server_certificate

SENDER = "facturas@example.com"
PDF = b"%PDF-1.7\n" + bytes(range(256)) * 8 + b"\n.\r\n..\n%%EOF\n"
RESPUESTA = b'<?xml version="1.0"?>\r\n<MensajeHacienda>\n.\n<Mensaje>1</Mensaje></MensajeHacienda>'


@pytest.fixture(scope="module")
def signed(supplier_pki: TestPKI) -> bytes:
    """A signed invoice of "Empresa de Pruebas S.A." (3101654321) to a receptor at compras@example.com (no
    store needed: these tests are about the message and the SMTP conversation)."""
    return supplier_invoice(supplier_pki)


@pytest.fixture(scope="module")
def cert(tmp_path_factory: pytest.TempPathFactory) -> ServerCertificate:
    return server_certificate(tmp_path_factory.mktemp("smtp-tls"))


@pytest.fixture
def server() -> Iterator[MailServer]:
    with MailServer(
        refuse={"nadie@example.com": (550, "5.1.1 no such user")}, transient={"lento@example.com": 1}
    ) as s:
        yield s


def parsed(data: bytes) -> EmailMessage:
    msg = message_from_bytes(data, policy=default_policy)
    assert isinstance(msg, EmailMessage)
    return msg


def attachments(msg: EmailMessage) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    for part in msg.iter_attachments():
        payload = part.get_payload(decode=True)
        assert isinstance(payload, bytes)
        out[str(part.get_filename())] = payload
    return out


def test_the_message_names_emisor_document_and_clave_and_carries_the_exact_files(signed: bytes) -> None:
    facts = voucher_facts(signed)
    data = render_mail(
        signed,
        stage="single",
        sender=SENDER,
        recipient="compras@example.com",
        pdf=PDF,
        respuesta_xml=RESPUESTA,
        estado="aceptado",
    )
    assert b"\r\n" in data and b"\n" not in data.replace(b"\r\n", b"")
    msg = parsed(data)
    assert msg["To"] == "compras@example.com"
    assert msg["From"].addresses[0].addr_spec == SENDER
    assert msg["From"].addresses[0].display_name == "Empresa de Pruebas S.A."
    subject = str(msg["Subject"])
    assert (
        subject
        == f"Factura Electrónica {facts.consecutivo} de Empresa de Pruebas S.A. (aceptado por Hacienda)"
    )
    assert msg["Message-ID"] == message_id(facts.clave, "single", "compras@example.com")
    body = msg.get_body(("plain",))
    assert body is not None
    text = body.get_content()
    for needed in (
        "Empresa de Pruebas S.A.",
        CLIENTE_ID,
        facts.clave,
        facts.consecutivo,
        "aceptado",
        "Total:",
        "Clave numérica",
        "Factura Electrónica N.° ",
    ):
        assert needed in text
    assert attachments(msg) == {
        f"{facts.clave}.xml": signed,
        f"{facts.clave}.pdf": PDF,
        f"{facts.clave}-respuesta-hacienda.xml": RESPUESTA,
    }


def test_the_issue_mail_says_the_answer_follows_and_has_no_answer_attached(signed: bytes) -> None:
    msg = parsed(render_mail(signed, stage="issue", sender=SENDER, recipient="a@example.com", pdf=PDF))
    assert "aceptado" not in str(msg["Subject"])
    body = msg.get_body(("plain",))
    assert body is not None and "en un correo aparte" in body.get_content()
    assert sorted(attachments(msg)) == sorted(
        [f"{voucher_facts(signed).clave}.xml", f"{voucher_facts(signed).clave}.pdf"]
    )


def test_message_id_is_stable_per_voucher_stage_and_recipient() -> None:
    clave = "5" * 50
    one = message_id(clave, "answer", "A@Example.com")
    assert one == message_id(clave, "answer", "a@example.com ")
    assert one.startswith(f"<{clave}.answer.") and one.endswith("@cr-einvoice>")
    assert one != message_id(clave, "issue", "a@example.com") != message_id(clave, "answer", "b@example.com")
    with pytest.raises(ValidationError, match="unknown delivery stage"):
        message_id(clave, "later", "a@example.com")
    with pytest.raises(ValidationError, match="cannot be part of a Message-ID"):
        message_id("x>\r\nBcc: y", "issue", "a@example.com")


def test_nothing_from_the_voucher_or_the_caller_can_add_a_header(signed: bytes) -> None:
    with pytest.raises(ValidationError) as info:
        render_mail(signed, stage="single", sender=SENDER, recipient="a@example.com\r\nBcc: spy@example.org")
    assert info.value.problems[0].path == "recipient"
    with pytest.raises(ValidationError, match="control characters"):
        render_mail(
            signed, stage="single", sender="x@example.com\nBcc: spy@example.org", recipient="a@example.com"
        )
    hostile = signed.replace(
        b"<Nombre>Empresa de Pruebas S.A.</Nombre>",
        b"<Nombre>Empresa&#13;&#10;Bcc: spy@example.org&#10;X-Evil: 1</Nombre>",
        1,
    )
    assert hostile != signed
    data = render_mail(hostile, stage="single", sender=SENDER, recipient="a@example.com")
    header_block = data.split(b"\r\n\r\n", 1)[0]
    assert all(line.isascii() for line in header_block.split(b"\r\n"))
    msg = parsed(data)
    assert msg["Bcc"] is None and msg["X-Evil"] is None
    assert "Bcc: spy@example.org" in str(msg["Subject"])  # folded into the one-line subject, harmless


def test_dot_stuffing() -> None:
    assert dot_stuff(b".a\n..b\r\nc") == b"..a\r\n...b\r\nc\r\n"


def send(server: MailServer, data: bytes, to: str, **settings: object) -> tuple[Outcome, str]:
    values: dict[str, object] = {"host": "127.0.0.1", "port": server.port, "security": "none", "timeout": 5.0}
    values.update(settings)
    with SmtpSender(SmtpSettings(**values)) as sender:  # type: ignore[arg-type]
        result = sender.send(data, sender=SENDER, recipient=to)
    return result.outcome, result.detail


def test_plain_smtp_delivers_the_exact_bytes_and_classifies_refusals(
    signed: bytes, server: MailServer
) -> None:
    data = render_mail(signed, stage="single", sender=SENDER, recipient="compras@example.com", pdf=PDF)
    assert send(server, data, "compras@example.com")[0] is Outcome.SENT
    (got,) = server.messages
    assert got.rcpt_tos == ("compras@example.com",) and got.mail_from == SENDER
    assert got.data.rstrip(b"\r\n") == data.rstrip(b"\r\n")
    assert attachments(parsed(got.data))[f"{voucher_facts(signed).clave}.pdf"] == PDF
    outcome, detail = send(server, data, "nadie@example.com")
    assert (outcome, detail) == (Outcome.REFUSED, "550 5.1.1 no such user")
    assert send(server, data, "lento@example.com")[0] is Outcome.TRANSIENT
    assert send(server, data, "lento@example.com")[0] is Outcome.SENT
    assert len(server.messages) == 2


def test_one_connection_carries_many_messages_and_survives_a_server_restart(signed: bytes) -> None:
    data = render_mail(signed, stage="single", sender=SENDER, recipient="a@example.com")
    with MailServer() as server:
        settings = SmtpSettings("127.0.0.1", server.port, security="none", timeout=5.0)
        with SmtpSender(settings) as sender:
            for _ in range(3):
                assert sender.send(data, sender=SENDER, recipient="a@example.com").outcome is Outcome.SENT
            kept = sender._smtp
            assert kept is not None
            kept.sock.close()  # type: ignore[union-attr]  # the server (or a NAT) dropped the idle connection
            assert sender.send(data, sender=SENDER, recipient="a@example.com").outcome is Outcome.SENT
        assert len(server.messages) == 4


def test_starttls_with_login(signed: bytes, cert: ServerCertificate) -> None:
    data = render_mail(signed, stage="single", sender=SENDER, recipient="a@example.com")
    with MailServer(tls="starttls", certificate=cert, credentials=("facturas", "s3cr3t")) as server:
        good = {"security": "starttls", "ca_file": str(cert.ca_pem), "username": "facturas"}
        assert send(server, data, "a@example.com", **good, password=Secret("s3cr3t"))[0] is Outcome.SENT
        (got,) = server.messages
        assert got.tls and got.login == "facturas"
        outcome, detail = send(server, data, "a@example.com", **good, password=Secret("wrong"))
        assert outcome is Outcome.TRANSIENT and "refused the login of 'facturas'" in detail
        assert "wrong" not in detail
        outcome, detail = send(
            server, data, "a@example.com", security="starttls", username="facturas", password=Secret("s3cr3t")
        )
        assert outcome is Outcome.TRANSIENT and "TLS" in detail  # our TEST CA is not trusted by default
        assert len(server.messages) == 1


def test_implicit_tls_and_no_silent_downgrade(signed: bytes, cert: ServerCertificate) -> None:
    data = render_mail(signed, stage="single", sender=SENDER, recipient="a@example.com")
    with MailServer(tls="tls", certificate=cert) as server:
        assert (
            send(server, data, "a@example.com", security="tls", ca_file=str(cert.ca_pem))[0] is Outcome.SENT
        )
        assert server.messages[0].tls
    with MailServer() as plain:
        outcome, detail = send(plain, data, "a@example.com", security="starttls")
        assert outcome is Outcome.FAILED and "does not offer STARTTLS" in detail
        assert plain.messages == []


def test_a_closed_port_is_transient(signed: bytes) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    data = render_mail(signed, stage="single", sender=SENDER, recipient="a@example.com")
    settings = SmtpSettings("127.0.0.1", port, security="none", timeout=2.0)
    result = SmtpSender(settings).send(data, sender=SENDER, recipient="a@example.com")
    assert result.outcome is Outcome.TRANSIENT and result.code is None and not result.permanent


def test_before_end_failing_leaves_nothing_delivered(signed: bytes, server: MailServer) -> None:
    data = render_mail(signed, stage="single", sender=SENDER, recipient="a@example.com")
    settings = SmtpSettings("127.0.0.1", server.port, security="none", timeout=5.0)

    def refuse() -> None:
        raise RuntimeError("the store said no")

    with SmtpSender(settings) as sender, pytest.raises(RuntimeError, match="the store said no"):
        sender.send(data, sender=SENDER, recipient="a@example.com", before_end=refuse)
    calls: list[int] = []
    with SmtpSender(settings) as sender:
        result = sender.send(
            data, sender=SENDER, recipient="a@example.com", before_end=lambda: calls.append(1)
        )
    assert result.outcome is Outcome.SENT and calls == [1]
    assert len(server.messages) == 1


def test_a_connection_broken_after_the_end_of_the_message_is_uncertain(signed: bytes) -> None:
    """A server that reads the whole message and closes without replying: it may have kept it."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    received = bytearray()

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            f = conn.makefile("rb")
            conn.sendall(b"220 localhost ESMTP\r\n")
            while line := f.readline():
                received.extend(line)
                command = line.strip().upper()
                if command.startswith(b"EHLO"):
                    conn.sendall(b"250 localhost\r\n")
                elif command == b"DATA":
                    conn.sendall(b"354 go ahead\r\n")
                elif command == b".":
                    return  # gone without a word
                elif command.startswith((b"MAIL", b"RCPT")):
                    conn.sendall(b"250 OK\r\n")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    data = render_mail(signed, stage="single", sender=SENDER, recipient="a@example.com")
    settings = SmtpSettings("127.0.0.1", listener.getsockname()[1], security="none", timeout=3.0)
    result = SmtpSender(settings).send(data, sender=SENDER, recipient="a@example.com")
    thread.join(5)
    listener.close()
    assert result.outcome is Outcome.UNCERTAIN, result
    assert bytes(received).endswith(b"\r\n.\r\n")


def test_settings_are_checked() -> None:
    with pytest.raises(ConfigError, match=r"smtp\.security"):
        SmtpSettings("mail.example.com", security="ssl")
    with pytest.raises(ConfigError, match="needs a password"):
        SmtpSettings("mail.example.com", username="u")
    with pytest.raises(ConfigError, match=r"smtp\.host is empty"):
        SmtpSettings("")
    assert "s3cr3t" not in repr(SmtpSettings("h", username="u", password=Secret("s3cr3t")))


def test_the_server_writes_eml_files(signed: bytes, tmp_path: Path) -> None:
    data = render_mail(signed, stage="single", sender=SENDER, recipient="a@example.com")
    with MailServer(eml_dir=tmp_path / "mails") as server:
        assert send(server, data, "a@example.com")[0] is Outcome.SENT
    (eml,) = (tmp_path / "mails").glob("*.eml")
    assert parsed(eml.read_bytes())["Message-ID"] == parsed(data)["Message-ID"]
