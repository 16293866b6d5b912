"""Sending e-mails over SMTP: STARTTLS or implicit TLS, authentication with a :class:`Secret`, timeouts, and
every outcome classified for a durable sender.

One SMTP transaction per message and recipient. The end of the message (the final ``.``) is the point after
which the server may have accepted it: :meth:`SmtpSender.send` calls ``before_end`` just before sending it,
so the caller can record that moment durably first (the outbox marks the delivery *handed over*); if
``before_end`` raises, the connection is dropped without ending the message and the server discards it.

Outcomes (:class:`Outcome`): ``sent`` (2xx to the end of the message); ``refused`` (5xx to ``RCPT TO`` or to
the message: the recipient or the message is refused for good -- a bounce); ``failed`` (5xx to ``MAIL FROM``
or a server without STARTTLS when it is required: our side must change, nothing was accepted); ``transient``
(4xx, a connection or TLS failure, a timeout, refused credentials -- try again later); ``uncertain`` (the
connection broke after the end of the message was sent: it may have been accepted -- never send it again
blindly).
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from types import TracebackType

from cr_einvoice.core.errors import ConfigError
from cr_einvoice.core.mailaddr import mail_address
from cr_einvoice.core.secret import Secret

__all__ = ["Outcome", "SendResult", "SmtpSender", "SmtpSettings", "dot_stuff"]

log = logging.getLogger("cr_einvoice.delivery")

SECURITY_MODES = ("starttls", "tls", "none")


class Outcome(StrEnum):
    SENT = "sent"
    REFUSED = "refused"
    FAILED = "failed"
    TRANSIENT = "transient"
    UNCERTAIN = "uncertain"


@dataclass(frozen=True, slots=True)
class SendResult:
    outcome: Outcome
    #: The SMTP reply code that decided it (None for a connection failure).
    code: int | None
    #: What happened, for a person (``550 5.1.1 no such user``); never holds a secret.
    detail: str

    @property
    def permanent(self) -> bool:
        return self.outcome in (Outcome.REFUSED, Outcome.FAILED)


@dataclass(frozen=True, slots=True)
class SmtpSettings:
    host: str
    port: int = 587
    #: ``starttls`` (required: a server without it is refused, never a silent downgrade), ``tls`` (implicit
    #: TLS, usually port 465) or ``none`` (plain text: a local relay only).
    security: str = "starttls"
    username: str | None = None
    password: Secret | None = field(default=None, repr=False)
    #: Seconds for the connection and for each reply.
    timeout: float = 30.0
    #: The CA file that verifies the server (default: the system's trust store).
    ca_file: str | None = None
    #: The name said in EHLO (default: the machine's FQDN).
    local_hostname: str | None = None

    def __post_init__(self) -> None:
        if not self.host:
            raise ConfigError("smtp.host is empty")
        if self.security not in SECURITY_MODES:
            raise ConfigError(
                f"smtp.security must be one of {', '.join(SECURITY_MODES)}, got {self.security!r}"
            )
        if not 0 < self.port < 65536:
            raise ConfigError(f"smtp.port must be 1..65535, got {self.port}")
        if self.timeout <= 0:
            raise ConfigError(f"smtp.timeout must be positive, got {self.timeout}")
        if (self.username is None) != (self.password is None):
            raise ConfigError("smtp: a username needs a password and a password a username")

    def ssl_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.ca_file)


def dot_stuff(message: bytes) -> bytes:
    """The message as the DATA command carries it: CRLF line ends, a leading dot doubled (RFC 5321 §4.5.2),
    ending with CRLF -- without the final ``.`` line."""
    text = message.replace(b"\r\n", b"\n").replace(b"\r", b"\n").replace(b"\n", b"\r\n")
    if not text.endswith(b"\r\n"):
        text += b"\r\n"
    if text.startswith(b"."):
        text = b"." + text
    return text.replace(b"\r\n.", b"\r\n..")


def _reply(code: int, message: bytes | str) -> str:
    text = message.decode("utf-8", "replace") if isinstance(message, bytes) else message
    return f"{code} {' '.join(text.split())}"[:500]


def _classify(code: int, text: str, *, permanent: Outcome) -> SendResult:
    if 200 <= code < 400:
        return SendResult(Outcome.SENT, code, text)
    if 500 <= code < 600:
        return SendResult(permanent, code, text)
    return SendResult(Outcome.TRANSIENT, code, text)


class SmtpSender:
    """Sends messages over one SMTP connection, opened on first use and reopened after a failure. Use it in
    a ``with`` block (or call :meth:`close`). Not thread-safe: one sender per thread."""

    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings
        self._smtp: smtplib.SMTP | None = None

    def __enter__(self) -> SmtpSender:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """QUIT politely; a connection that fails meanwhile is just dropped."""
        smtp, self._smtp = self._smtp, None
        if smtp is None:
            return
        try:
            smtp.quit()
        except (smtplib.SMTPException, OSError):
            smtp.close()

    def _drop(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            smtp.close()

    def _connect(self) -> smtplib.SMTP | SendResult:
        s = self.settings
        try:
            if s.security == "tls":
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                    s.host,
                    s.port,
                    local_hostname=s.local_hostname,
                    timeout=s.timeout,
                    context=s.ssl_context(),
                )
            else:
                smtp = smtplib.SMTP(s.host, s.port, local_hostname=s.local_hostname, timeout=s.timeout)
            smtp.ehlo()
            if s.security == "starttls":
                if not smtp.has_extn("starttls"):
                    smtp.close()
                    return SendResult(
                        Outcome.FAILED, None, f"{s.host}:{s.port} does not offer STARTTLS (smtp.security)"
                    )
                smtp.starttls(context=s.ssl_context())
                smtp.ehlo()
            if s.username is not None and s.password is not None:
                smtp.login(s.username, s.password.reveal())
        except smtplib.SMTPAuthenticationError as exc:
            return SendResult(
                Outcome.TRANSIENT,
                exc.smtp_code,
                f"the SMTP server refused the login of {s.username!r}: "
                f"{_reply(exc.smtp_code, exc.smtp_error)}",
            )
        except smtplib.SMTPResponseException as exc:
            return SendResult(Outcome.TRANSIENT, exc.smtp_code, _reply(exc.smtp_code, exc.smtp_error))
        except ssl.SSLError as exc:
            return SendResult(
                Outcome.TRANSIENT, None, f"TLS with {s.host}:{s.port} failed: {exc.reason or exc}"
            )
        except (smtplib.SMTPException, OSError) as exc:
            return SendResult(Outcome.TRANSIENT, None, f"cannot talk to {s.host}:{s.port}: {exc}")
        return smtp

    def send(
        self,
        message: bytes,
        *,
        sender: str,
        recipient: str,
        before_end: Callable[[], None] | None = None,
    ) -> SendResult:
        """Deliver ``message`` (bytes as :func:`cr_einvoice.delivery.mail.render_mail` gives them) to
        ``recipient`` with envelope sender ``sender``. ``before_end`` runs just before the end of the
        message is sent (see the module docstring); an exception from it propagates after the connection is
        dropped."""
        to = mail_address(recipient, field="recipient")
        started = self._mail_from(mail_address(sender, field="sender"))
        if isinstance(started, SendResult):
            return started
        smtp, code, text = started
        return self._transaction(smtp, (code, text), to, dot_stuff(message), before_end)

    def _mail_from(self, sender: str) -> tuple[smtplib.SMTP, int, bytes] | SendResult:
        """``MAIL FROM`` on the kept connection, or on a new one when there is none or the server closed the
        kept one meanwhile."""
        reused = self._smtp is not None
        if self._smtp is None:
            connected = self._connect()
            if isinstance(connected, SendResult):
                return connected
            self._smtp = connected
        smtp = self._smtp
        try:
            code, text = smtp.mail(sender)
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            self._drop()
            if reused:
                return self._mail_from(sender)
            return SendResult(Outcome.TRANSIENT, None, f"connection lost: {exc}")
        return smtp, code, text

    def _transaction(
        self,
        smtp: smtplib.SMTP,
        mail_reply: tuple[int, bytes],
        to: str,
        data: bytes,
        before_end: Callable[[], None] | None,
    ) -> SendResult:
        code, text = mail_reply
        ended = False
        try:
            if code != 250:
                return self._abort(_classify(code, _reply(code, text), permanent=Outcome.FAILED))
            code, text = smtp.rcpt(to)
            if code not in (250, 251):
                return self._abort(_classify(code, _reply(code, text), permanent=Outcome.REFUSED))
            code, text = smtp.docmd("DATA")
            if code != 354:
                return self._abort(_classify(code, _reply(code, text), permanent=Outcome.FAILED))
            smtp.send(data)
            if before_end is not None:
                try:
                    before_end()
                except BaseException:
                    self._drop()  # never end the message: the server discards the transaction
                    raise
            ended = True
            smtp.send(b".\r\n")
            code, text = smtp.getreply()
        except (smtplib.SMTPException, OSError) as exc:
            self._drop()
            if ended:
                return SendResult(
                    Outcome.UNCERTAIN, None, f"the connection broke after the end of the message: {exc}"
                )
            return SendResult(Outcome.TRANSIENT, None, f"connection lost: {exc}")
        # The reply to the end of the message ends the transaction whatever it says.
        return _classify(code, _reply(code, text), permanent=Outcome.REFUSED)

    def _abort(self, result: SendResult) -> SendResult:
        self._rset()
        return result

    def _rset(self) -> None:
        smtp = self._smtp
        if smtp is None:
            return
        try:
            smtp.rset()
        except (smtplib.SMTPException, OSError):
            self._drop()
