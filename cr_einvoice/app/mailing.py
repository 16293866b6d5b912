"""``[delivery]`` and ``[smtp]`` of the configuration file, and the :class:`~cr_einvoice.outbox.delivering.
Deliverer` they make (registered as sections by :mod:`cr_einvoice.app.config`)::

    [delivery]
    enabled = true                     # the worker e-mails the vouchers (cr-einvoice send works either way)
    mode = "one"                       # one: after acceptance; two: at issue and after Hacienda's answer
    sender = "facturas@example.com"    # From (default: [emisor] correo_electronico)
    copies = "archivo@example.com"     # comma-separated addresses copied on every e-mail
    reply_to = ""
    pdf_format = "a4"                  # a4 | letter | 80mm | 58mm
    max_attempts = 8                   # transient failures before a delivery is 'failed'
    backoff_max = 3600.0
    lookback_days = 7.0                # only vouchers issued within these days are e-mailed

    [smtp]
    host = "smtp.example.com"
    port = 587
    security = "starttls"              # starttls | tls (implicit, port 465) | none (a local relay only)
    username_env = "CR_EINVOICE_SMTP_USERNAME"   # NAME of the variable with the login ("" = no login)
    password_env = "CR_EINVOICE_SMTP_PASSWORD"   # NAME of the variable with the password
    timeout = 30.0
    ca_file = ""                       # CA of the server's certificate (default: the system's)
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from cr_einvoice.core.errors import ConfigError, ValidationError
from cr_einvoice.core.mailaddr import mail_address, mail_addresses
from cr_einvoice.core.secret import Secret
from cr_einvoice.delivery.pdf import FORMATS as PDF_FORMATS

if TYPE_CHECKING:
    from cr_einvoice.delivery.smtp import SmtpSettings
    from cr_einvoice.outbox.delivering import Deliverer, DeliverySettings
    from cr_einvoice.outbox.store import Store

__all__ = ["DeliveryConfig", "SmtpConfig", "build_deliverer", "check_mail_config", "smtp_settings"]


@dataclass(frozen=True, slots=True)
class DeliveryConfig:
    """``[delivery]``: which e-mails the vouchers get (:mod:`cr_einvoice.outbox.delivering`)."""

    enabled: bool = False
    mode: str = "one"
    sender: str = ""
    copies: str = ""
    reply_to: str = ""
    pdf_format: str = "a4"
    max_attempts: int = 8
    backoff_max: float = 3600.0
    lookback_days: float = 7.0


@dataclass(frozen=True, slots=True)
class SmtpConfig:
    """``[smtp]``: the server the e-mails leave through; the login is read from environment variables."""

    host: str = ""
    port: int = 587
    security: str = "starttls"
    username_env: str = ""
    password_env: str = "CR_EINVOICE_SMTP_PASSWORD"  # noqa: S105 (a variable name, not a password)
    timeout: float = 30.0
    ca_file: str = ""


def _address(value: str, setting: str) -> str:
    try:
        return mail_address(value, field=setting)
    except ValidationError as exc:
        raise ConfigError(f"{setting} in the configuration file: {exc.problems[0].message}") from None


def check_mail_config(delivery: DeliveryConfig, smtp: SmtpConfig) -> None:
    """Refuse a ``[delivery]``/``[smtp]`` that cannot work, naming the setting."""
    if delivery.mode not in ("one", "two"):
        raise ConfigError(f"delivery.mode must be 'one' or 'two', got {delivery.mode!r}")
    if delivery.pdf_format not in PDF_FORMATS:
        raise ConfigError(
            f"delivery.pdf_format must be one of {', '.join(PDF_FORMATS)}, got {delivery.pdf_format!r}"
        )
    for setting, value in (("delivery.sender", delivery.sender), ("delivery.reply_to", delivery.reply_to)):
        if value:
            _address(value, setting)
    try:
        mail_addresses(delivery.copies, field="delivery.copies")
    except ValidationError as exc:
        raise ConfigError(f"delivery.copies in the configuration file: {exc.problems[0].message}") from None
    if delivery.max_attempts < 1:
        raise ConfigError(f"delivery.max_attempts must be at least 1, got {delivery.max_attempts}")
    if delivery.backoff_max <= 0 or delivery.lookback_days <= 0:
        raise ConfigError("delivery.backoff_max and delivery.lookback_days must be positive")
    if delivery.enabled and not smtp.host:
        raise ConfigError("delivery.enabled is true but smtp.host is empty")
    if smtp.security not in ("starttls", "tls", "none"):
        raise ConfigError(f"smtp.security must be starttls, tls or none, got {smtp.security!r}")
    if not 0 < smtp.port < 65536:
        raise ConfigError(f"smtp.port must be 1..65535, got {smtp.port}")
    if smtp.timeout <= 0:
        raise ConfigError(f"smtp.timeout must be positive, got {smtp.timeout}")
    for name in ("username_env", "password_env"):
        value = getattr(smtp, name)
        if value and not value.isidentifier():
            raise ConfigError(f"smtp.{name} must name an environment variable, got {value!r}")


def smtp_settings(smtp: SmtpConfig, resolve: Callable[[str], Path]) -> SmtpSettings:
    """The sender's settings, with the login read now from the variables ``[smtp]`` names."""
    from cr_einvoice.delivery.smtp import SmtpSettings

    if not smtp.host:
        raise ConfigError("smtp.host is not set in the configuration file (where should e-mails go?)")
    username = password = None
    if smtp.username_env:
        username = os.environ.get(smtp.username_env, "")
        if not username:
            raise ConfigError(
                f"environment variable {smtp.username_env} is not set (it should hold the SMTP login)"
            )
        password = Secret.from_env(smtp.password_env)
    return SmtpSettings(
        host=smtp.host,
        port=smtp.port,
        security=smtp.security,
        username=username,
        password=password,
        timeout=smtp.timeout,
        ca_file=str(resolve(smtp.ca_file)) if smtp.ca_file else None,
    )


def delivery_settings(
    delivery: DeliveryConfig, *, emisor_correo: str, senders: Mapping[str, str] | None = None
) -> DeliverySettings:
    """``senders`` maps each configured taxpayer's identification to its ``correo_electronico``: without
    ``delivery.sender`` (one From for every taxpayer), each taxpayer's vouchers leave from its own address."""
    from cr_einvoice.outbox.delivering import DeliverySettings

    own = {} if delivery.sender else {k: v for k, v in (senders or {}).items() if v}
    sender = delivery.sender or emisor_correo or next(iter(own.values()), "")
    if not sender:
        raise ConfigError("delivery.sender is not set (nor [emisor] correo_electronico): the From address")
    return DeliverySettings(
        senders={k: _address(v, f"emisor correo_electronico of {k}") for k, v in own.items()},
        sender=_address(sender, "delivery.sender"),
        mode=delivery.mode,
        copies=mail_addresses(delivery.copies, field="delivery.copies"),
        reply_to=delivery.reply_to or None,
        max_attempts=delivery.max_attempts,
        backoff_max=delivery.backoff_max,
        backoff_base=min(60.0, delivery.backoff_max),
        lookback=delivery.lookback_days * 86400.0,
    )


def build_deliverer(
    delivery: DeliveryConfig,
    smtp: SmtpConfig,
    store: Store,
    *,
    emisor_correo: str,
    resolve: Callable[[str], Path],
    owner: str | None = None,
    senders: Mapping[str, str] | None = None,
) -> Deliverer:
    """The deliverer of a configuration: SMTP from ``[smtp]``, the PDF in ``[delivery] pdf_format``."""
    from cr_einvoice.delivery.pdf import render_pdf
    from cr_einvoice.delivery.smtp import SmtpSender
    from cr_einvoice.outbox.delivering import Deliverer

    settings = smtp_settings(smtp, resolve)

    def pdf(signed_xml: bytes, respuesta_xml: bytes | None, estado: str | None) -> bytes:
        return render_pdf(signed_xml, respuesta_xml=respuesta_xml, estado=estado, format=delivery.pdf_format)

    return Deliverer(
        store,
        lambda: SmtpSender(settings),
        delivery_settings(delivery, emisor_correo=emisor_correo, senders=senders),
        render_pdf=pdf,
        owner=owner,
    )
