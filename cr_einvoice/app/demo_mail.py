"""The demo's e-mail step: the customers get their vouchers from a local SMTP server.

After the worker has Hacienda's answers, :func:`deliver_demo_mail` starts a local SMTP server (STARTTLS with a
TEST certificate, :mod:`cr_einvoice.testing.smtpd`), lets the outbox's deliverer send every accepted voucher
that has a receptor address its e-mail (signed XML, PDF, Hacienda's answer: ``[delivery] mode = "one"``),
writes each received message as an ``.eml`` file under ``mail/`` and each attached PDF under ``pdf/``.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import TYPE_CHECKING

from cr_einvoice.app.mailing import DeliveryConfig, SmtpConfig, build_deliverer

if TYPE_CHECKING:
    from cr_einvoice.app.runtime import Runtime

__all__ = ["DemoMail", "deliver_demo_mail"]

#: The demo company's From address (the examples' emisor).
DEMO_SENDER = "facturacion@tecnovalle.example.cr"


@dataclass(frozen=True, slots=True)
class DemoMail:
    mail_dir: Path
    pdf_dir: Path
    #: Per received e-mail: (recipient, subject, attachment file names).
    received: tuple[tuple[str, str, tuple[str, ...]], ...]
    sent: int
    bounced: int


def _clean(folder: Path, pattern: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob(pattern):
        old.unlink()


def deliver_demo_mail(runtime: Runtime, workdir: Path) -> DemoMail | None:
    """Send the e-mails of the vouchers in ``runtime``'s outbox through a local SMTP server; None (and a
    note) when ``aiosmtpd`` (extra ``[demo]``) is not installed."""
    if importlib.util.find_spec("aiosmtpd") is None:
        return None
    from cr_einvoice.testing.smtpd import MailServer, server_certificate

    mail_dir, pdf_dir = workdir / "mail", workdir / "pdf"
    _clean(mail_dir, "*.eml")
    _clean(pdf_dir, "*.pdf")
    cert = server_certificate(workdir / "certs" / "smtp")
    with MailServer(tls="starttls", certificate=cert, eml_dir=mail_dir) as server:
        smtp = SmtpConfig(host="127.0.0.1", port=server.port, security="starttls", ca_file=str(cert.ca_pem))
        deliverer = build_deliverer(
            DeliveryConfig(enabled=True, mode="one", sender=DEMO_SENDER),
            smtp,
            runtime.store,
            emisor_correo=DEMO_SENDER,
            resolve=runtime.config.resolve,
        )
        report = deliverer.run()
        mails = list(server.messages)
    received = []
    for mail in mails:
        msg = message_from_bytes(mail.data, policy=default_policy)
        assert isinstance(msg, EmailMessage)
        names = []
        for part in msg.iter_attachments():
            name = str(part.get_filename())
            names.append(name)
            payload = part.get_payload(decode=True)
            if name.endswith(".pdf") and isinstance(payload, bytes):
                (pdf_dir / name).write_bytes(payload)
        received.append((", ".join(mail.rcpt_tos), str(msg["Subject"]), tuple(names)))
    return DemoMail(mail_dir, pdf_dir, tuple(received), len(report.sent), len(report.bounced))
