"""The e-mail that delivers a voucher to its receptor: composed as MIME (Spanish subject and body naming the
emisor, the document and the clave; the signed XML, the PDF and Hacienda's answer attached, each named by the
clave), rendered to bytes, identified by a stable Message-ID.

Sending it over SMTP is :mod:`cr_einvoice.delivery.smtp`; keeping track of who got what is the outbox's
(:mod:`cr_einvoice.outbox.delivering`). Every address goes through :func:`cr_einvoice.core.mailaddr.
mail_address`, and every header text taken from the voucher is folded to one line, so nothing read from a
document can add a header.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email import message_from_bytes
from email.header import Header
from email.message import EmailMessage
from email.policy import default as default_policy
from email.quoprimime import body_encode
from email.utils import format_datetime, formataddr

from cr_einvoice.core.catalogs import TipoDocumento
from cr_einvoice.core.errors import Problem, ValidationError
from cr_einvoice.core.mailaddr import mail_address
from cr_einvoice.core.xmlsafe import child_text, find_child, parse_untrusted
from cr_einvoice.delivery.labels import titulo

__all__ = [
    "MESSAGE_ID_DOMAIN",
    "Attachment",
    "VoucherFacts",
    "compose_mail",
    "message_id",
    "render_mail",
    "voucher_facts",
]

#: The right-hand side of every Message-ID this package writes.
MESSAGE_ID_DOMAIN = "cr-einvoice"

#: The stages a voucher's e-mail may be sent at (``cr_einvoice.outbox.store.DeliveryStage`` values).
_STAGES = ("issue", "answer", "single")


@dataclass(frozen=True, slots=True)
class VoucherFacts:
    """What an e-mail says about a voucher, read from its signed XML."""

    clave: str
    consecutivo: str
    tipo: TipoDocumento
    titulo: str
    fecha_emision: str
    emisor_nombre: str
    emisor_numero: str
    receptor_nombre: str | None
    #: The receptor's address as written in the voucher (not yet checked: see :func:`mail_address`).
    receptor_correo: str | None
    total: str | None
    moneda: str


@dataclass(frozen=True, slots=True)
class Attachment:
    filename: str
    content: bytes
    maintype: str = "application"
    subtype: str = "xml"


def _one_line(text: str | None) -> str:
    """Header-safe text: every run of whitespace (CR and LF included) becomes one space."""
    return re.sub(r"\s+", " ", text or "").strip()


def voucher_facts(signed_xml: bytes) -> VoucherFacts:
    """The facts an e-mail names, from a signed voucher (read through the untrusted-XML parser)."""
    root = parse_untrusted(signed_xml, what="signed voucher")
    clave = child_text(root, "Clave") or ""
    consecutivo = child_text(root, "NumeroConsecutivo") or ""
    problems = []
    if not re.fullmatch(r"\d{50}", clave):
        problems.append(Problem("Clave", f"the voucher's clave {clave!r} is not 50 digits"))
    if not re.fullmatch(r"\d{20}", consecutivo):
        problems.append(Problem("NumeroConsecutivo", "the voucher's consecutivo is not 20 digits"))
    if problems:
        raise ValidationError(problems)
    tipo = TipoDocumento(consecutivo[8:10])
    receptor = find_child(root, "Receptor")
    return VoucherFacts(
        clave=clave,
        consecutivo=consecutivo,
        tipo=tipo,
        titulo=titulo(tipo),
        fecha_emision=child_text(root, "FechaEmision") or "",
        emisor_nombre=_one_line(child_text(root, "Emisor", "Nombre")),
        emisor_numero=child_text(root, "Emisor", "Identificacion", "Numero") or "",
        receptor_nombre=_one_line(child_text(receptor, "Nombre")) or None,
        receptor_correo=child_text(receptor, "CorreoElectronico"),
        total=child_text(root, "ResumenFactura", "TotalComprobante"),
        moneda=child_text(root, "ResumenFactura", "CodigoTipoMoneda", "CodigoMoneda") or "CRC",
    )


def message_id(key: str, stage: str, recipient: str) -> str:
    """The Message-ID of voucher ``key``'s ``stage`` e-mail to ``recipient``: the same for every attempt, so a
    receiving system can tell a copy from a new e-mail (``<clave.stage.hash-of-recipient@cr-einvoice>``)."""
    if not re.fullmatch(r"[0-9A-Za-z-]{1,80}", key):
        raise ValidationError([Problem("key", f"{key!r} cannot be part of a Message-ID")])
    if stage not in _STAGES:
        raise ValidationError([Problem("stage", f"unknown delivery stage {stage!r}")])
    digest = hashlib.sha256(recipient.strip().lower().encode("utf-8")).hexdigest()[:16]
    return f"<{key}.{stage}.{digest}@{MESSAGE_ID_DOMAIN}>"


_ESTADOS = {"aceptado": "aceptado", "rechazado": "rechazado", "accepted": "aceptado", "rejected": "rechazado"}


def _subject(facts: VoucherFacts, stage: str, estado: str | None) -> str:
    subject = f"{facts.titulo} {facts.consecutivo} de {facts.emisor_nombre}"
    if stage != "issue" and estado:
        subject += f" ({_ESTADOS.get(estado, estado)} por Hacienda)"
    return _one_line(subject)


def _body(facts: VoucherFacts, stage: str, estado: str | None, attachments: Sequence[Attachment]) -> str:
    saludo = f"Estimado(a) {facts.receptor_nombre}:" if facts.receptor_nombre else "Estimado(a) cliente:"
    lines = [
        saludo,
        "",
        f"{facts.emisor_nombre} (identificación {facts.emisor_numero}) le envía el comprobante electrónico",
        f"{facts.titulo} N.° {facts.consecutivo}.",
        "",
        f"Clave numérica: {facts.clave}",
        f"Fecha de emisión: {facts.fecha_emision}",
    ]
    if facts.total is not None:
        lines.append(f"Total: {facts.total} {facts.moneda}")
    if stage == "issue":
        lines += [
            "",
            "La respuesta del Ministerio de Hacienda le llegará en un correo aparte cuando se reciba.",
        ]
    elif estado:
        lines += ["", f"Estado en el Ministerio de Hacienda: {_ESTADOS.get(estado, estado)}."]
    lines += ["", "Archivos adjuntos:"]
    lines += [f"  - {a.filename}" for a in attachments]
    lines += [
        "",
        "Este comprobante se emite conforme a la normativa de comprobantes electrónicos del Ministerio de",
        "Hacienda de Costa Rica. Este correo fue generado automáticamente.",
    ]
    return "\n".join(lines) + "\n"


def attachments_for(
    facts: VoucherFacts, signed_xml: bytes, *, pdf: bytes | None, respuesta_xml: bytes | None
) -> list[Attachment]:
    """The files of a voucher's e-mail, named by its clave: the signed XML, the PDF, Hacienda's answer."""
    files = [Attachment(f"{facts.clave}.xml", signed_xml)]
    if pdf is not None:
        files.append(Attachment(f"{facts.clave}.pdf", pdf, "application", "pdf"))
    if respuesta_xml is not None:
        files.append(Attachment(f"{facts.clave}-respuesta-hacienda.xml", respuesta_xml))
    return files


def _header(name: str, value: str) -> bytes:
    return f"{name}: {value}\r\n".encode("ascii")


def _base64(data: bytes) -> bytes:
    """Base64 in lines of 76 characters (RFC 2045), CRLF-ended."""
    return base64.encodebytes(data).replace(b"\n", b"\r\n")


def render_mail(
    signed_xml: bytes,
    *,
    stage: str,
    sender: str,
    recipient: str,
    msg_id: str | None = None,
    pdf: bytes | None = None,
    respuesta_xml: bytes | None = None,
    estado: str | None = None,
    reply_to: str | None = None,
    date: datetime | None = None,
) -> bytes:
    """The MIME message delivering ``signed_xml`` (and ``pdf``, ``respuesta_xml`` when given) to ``recipient``
    from ``sender``, as the bytes an SMTP server receives (CRLF line ends). ``estado`` is Hacienda's
    (``aceptado``/``rechazado``) when known; ``msg_id`` defaults to :func:`message_id` of the voucher's clave,
    ``stage`` and ``recipient``. The attachments carry the exact bytes given (base64). Addresses are checked
    (ValidationError); every header is ASCII (RFC 2047 words for the Spanish text) on lines of its own.

    Written directly rather than through :class:`email.message.EmailMessage`, which spends most of a durable
    delivery's time parsing back the headers it has just written (``benchmarks/bench_mail.py``)."""
    facts = voucher_facts(signed_xml)
    to = mail_address(recipient, field="recipient")
    sender_address = mail_address(sender, field="sender")
    if msg_id is None:
        msg_id = message_id(facts.clave, stage, to)
    if not re.fullmatch(r"<[!-;=?-~]{1,200}@[!-;=?-~]{1,100}>", msg_id):
        raise ValidationError([Problem("message_id", f"{msg_id!r} is not a Message-ID")])
    files = attachments_for(facts, signed_xml, pdf=pdf, respuesta_xml=respuesta_xml)
    boundary = "=_cr-einvoice_" + hashlib.sha256(msg_id.encode("ascii")).hexdigest()[:32]
    subject = Header(_subject(facts, stage, estado), "utf-8", maxlinelen=76, header_name="Subject")
    out = [
        _header("From", formataddr((facts.emisor_nombre[:120], sender_address), charset="utf-8")),
        _header("To", to),
    ]
    if reply_to:
        out.append(_header("Reply-To", mail_address(reply_to, field="reply_to")))
    out += [
        _header("Subject", subject.encode(linesep="\r\n")),
        _header("Date", format_datetime(date or datetime.now(UTC))),
        _header("Message-ID", msg_id),
        _header("X-CR-Einvoice-Clave", facts.clave),
        _header("MIME-Version", "1.0"),
        _header("Content-Type", f'multipart/mixed; boundary="{boundary}"'),
        b"\r\n",
        f"--{boundary}\r\n".encode("ascii"),
        _header("Content-Type", 'text/plain; charset="utf-8"'),
        _header("Content-Transfer-Encoding", "quoted-printable"),
        b"\r\n",
        # quoprimime encodes code points 0-255 as bytes: hand it the UTF-8 bytes as Latin-1 text.
        body_encode(_body(facts, stage, estado, files).encode("utf-8").decode("latin-1"), eol="\r\n").encode(
            "ascii"
        ),
        b"\r\n",
    ]
    for item in files:
        out += [
            f"--{boundary}\r\n".encode("ascii"),
            _header("Content-Type", f"{item.maintype}/{item.subtype}"),
            _header("Content-Disposition", f'attachment; filename="{item.filename}"'),
            _header("Content-Transfer-Encoding", "base64"),
            b"\r\n",
            _base64(item.content),
        ]
    out.append(f"--{boundary}--\r\n".encode("ascii"))
    return b"".join(out)


def compose_mail(
    signed_xml: bytes,
    *,
    stage: str,
    sender: str,
    recipient: str,
    msg_id: str | None = None,
    pdf: bytes | None = None,
    respuesta_xml: bytes | None = None,
    estado: str | None = None,
    reply_to: str | None = None,
    date: datetime | None = None,
) -> EmailMessage:
    """:func:`render_mail` as an :class:`~email.message.EmailMessage` (to look at or to hand to another
    mailer)."""
    data = render_mail(
        signed_xml,
        stage=stage,
        sender=sender,
        recipient=recipient,
        msg_id=msg_id,
        pdf=pdf,
        respuesta_xml=respuesta_xml,
        estado=estado,
        reply_to=reply_to,
        date=date,
    )
    msg = message_from_bytes(data, policy=default_policy)
    assert isinstance(msg, EmailMessage)
    return msg
