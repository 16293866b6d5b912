"""A local SMTP server for tests, the demo and the benchmark (aiosmtpd on 127.0.0.1, port 0, in a thread).

It keeps every message it accepts (envelope and exact bytes), can write each one as an ``.eml`` file, speaks
STARTTLS or implicit TLS with a TEST certificate made by :func:`server_certificate`, can require a login, and
can refuse chosen recipients for good (``550``) or for a number of tries (``451``)::

    with MailServer(eml_dir=Path("mails")) as server:
        ...send to 127.0.0.1:server.port...
        server.messages[0].data

Needs the ``aiosmtpd`` package (extra ``[demo]``; in ``[dev]``).
"""

from __future__ import annotations

import asyncio
import datetime as _dt
import ipaddress
import ssl
import threading
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = ["MailServer", "ReceivedMail", "ServerCertificate", "server_certificate"]


@dataclass(frozen=True, slots=True)
class ServerCertificate:
    """A TEST CA and a server certificate for ``localhost`` and ``127.0.0.1`` signed by it (PEM files)."""

    ca_pem: Path
    cert_pem: Path
    key_pem: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert_pem, self.key_pem)
        return context


def server_certificate(directory: Path, *, days: int = 2) -> ServerCertificate:
    """Write a TEST CA and a TLS server certificate (SAN ``localhost``, ``127.0.0.1``) under ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    now = _dt.datetime.now(_dt.UTC) - _dt.timedelta(minutes=5)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "cr-einvoice TEST SMTP CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + _dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    san = x509.SubjectAlternativeName(
        [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + _dt.timedelta(days=days))
        .add_extension(san, critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    paths = ServerCertificate(
        directory / "TEST-smtp-ca.pem", directory / "TEST-smtp-server.pem", directory / "TEST-smtp-server.key"
    )
    paths.ca_pem.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths.cert_pem.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths.key_pem.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    paths.key_pem.chmod(0o600)
    return paths


@dataclass(frozen=True, slots=True)
class ReceivedMail:
    """One message the server accepted: the envelope and the exact bytes received (dots unstuffed)."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes
    tls: bool
    login: str | None

    @property
    def message(self) -> Message:
        return message_from_bytes(self.data, policy=default_policy)

    @property
    def message_id(self) -> str | None:
        value = self.message.get("Message-ID")
        return None if value is None else str(value).strip()


@dataclass
class _Rules:
    refuse: dict[str, tuple[int, str]] = field(default_factory=dict)
    transient: dict[str, int] = field(default_factory=dict)


class _Handler:
    def __init__(self, server: MailServer) -> None:
        self.server = server

    async def handle_RCPT(  # noqa: N802 (aiosmtpd's hook name)
        self, smtp: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        with self.server.lock:
            rules = self.server.rules
            if address in rules.refuse:
                code, text = rules.refuse[address]
                return f"{code} {text}"
            if rules.transient.get(address, 0) > 0:
                rules.transient[address] -= 1
                return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, smtp: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        data = bytes(envelope.original_content)
        tls = smtp.transport.get_extra_info("ssl_object") is not None
        login = session.auth_data.decode() if isinstance(session.auth_data, bytes) else None
        mail = ReceivedMail(str(envelope.mail_from), tuple(envelope.rcpt_tos), data, tls, login)
        with self.server.lock:
            self.server.messages.append(mail)
            number = len(self.server.messages)
        if self.server.eml_dir is not None:
            path = self.server.eml_dir / f"{number:04d}.eml"
            path.write_bytes(data)
        return f"250 2.0.0 OK queued as {number}"


class MailServer:
    """The SMTP server; ``tls`` is None (plain), ``"starttls"`` or ``"tls"`` (implicit), with ``certificate``.
    ``credentials`` (user, password) makes a login required (over TLS only). ``refuse`` maps a recipient to
    the permanent reply it gets; ``transient`` to how many times it is answered ``451`` first."""

    def __init__(
        self,
        *,
        tls: str | None = None,
        certificate: ServerCertificate | None = None,
        credentials: tuple[str, str] | None = None,
        refuse: Mapping[str, tuple[int, str]] | None = None,
        transient: Mapping[str, int] | None = None,
        eml_dir: Path | None = None,
    ) -> None:
        if tls not in (None, "starttls", "tls"):
            raise ValueError(f"tls must be None, 'starttls' or 'tls', got {tls!r}")
        if tls is not None and certificate is None:
            raise ValueError("a TLS server needs a certificate (server_certificate())")
        self.host = "127.0.0.1"
        self.port = 0
        self.tls = tls
        self.certificate = certificate
        self.credentials = credentials
        self.rules = _Rules(dict(refuse or {}), dict(transient or {}))
        self.eml_dir = eml_dir
        self.messages: list[ReceivedMail] = []
        self.lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.AbstractServer | None = None

    def __enter__(self) -> MailServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> Any:
        from aiosmtpd.smtp import AuthResult, LoginPassword

        ok = (
            isinstance(auth_data, LoginPassword)
            and self.credentials is not None
            and (auth_data.login.decode(), auth_data.password.decode()) == self.credentials
        )
        return AuthResult(success=ok, handled=False, auth_data=auth_data.login if ok else None)

    def _factory(self) -> Any:
        from aiosmtpd.smtp import SMTP

        context = self.certificate.server_context() if self.certificate is not None else None
        return SMTP(
            _Handler(self),
            hostname="localhost",
            tls_context=context if self.tls == "starttls" else None,
            require_starttls=self.tls == "starttls",
            authenticator=self._authenticate if self.credentials else None,
            auth_required=self.credentials is not None,
            auth_require_tls=True,
            loop=self._loop,
        )

    def start(self) -> MailServer:
        """Listen on 127.0.0.1 (a free port, :attr:`port`) in a thread of its own."""
        if self.eml_dir is not None:
            self.eml_dir.mkdir(parents=True, exist_ok=True)
        loop = asyncio.new_event_loop()
        self._loop = loop
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            asyncio.set_event_loop(loop)
            context = None
            if self.tls == "tls" and self.certificate is not None:
                context = self.certificate.server_context()
            try:
                self._server = loop.run_until_complete(
                    loop.create_server(self._factory, self.host, 0, ssl=context)
                )
                self.port = int(self._server.sockets[0].getsockname()[1])
            except BaseException as exc:
                failure.append(exc)
                ready.set()
                return
            ready.set()
            loop.run_forever()

        self._thread = threading.Thread(target=run, name="cr-einvoice-smtpd", daemon=True)
        self._thread.start()
        ready.wait(10)
        if failure:
            raise failure[0]
        return self

    def stop(self) -> None:
        loop, server = self._loop, self._server
        if loop is None:
            return

        async def finish() -> None:  # in the server's own loop: asyncio objects are not thread-safe
            if server is not None:
                server.close()
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            if server is not None:
                await server.wait_closed()

        asyncio.run_coroutine_threadsafe(finish(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(10)
        loop.close()
        self._loop = None

    def count_by_message_id(self) -> Counter[str | None]:
        """How many times each Message-ID arrived."""
        with self.lock:
            return Counter(m.message_id for m in self.messages)
