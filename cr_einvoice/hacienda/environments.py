"""Hacienda environments: identity provider and recepción endpoints, selected by name.

Production values are Hacienda's own (Anexo 3); the sandbox realm and client come from community clients and
the sandbox recepción host is the one observed answering in 2026 (Anexo 3 documents another path, kept as
:data:`SANDBOX_RECEPCION_URL_ANEXO3`). :meth:`Environment.custom` points the client at anything else, such as
the local simulator.

TLS is mandatory: an environment refuses a plain ``http://`` URL unless its host is a loopback address (the
simulator serves plain HTTP on 127.0.0.1 only).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit

from cr_einvoice.core.errors import ConfigError
from cr_einvoice.signing.certs import HACIENDA_SELLO_CEDULA

__all__ = [
    "HACIENDA_SELLO_CEDULA",
    "IDP_BASE_URL",
    "PRODUCTION_RECEPCION_URL",
    "SANDBOX_RECEPCION_URL",
    "SANDBOX_RECEPCION_URL_ANEXO3",
    "Environment",
]

#: Keycloak base shared by both environments.
IDP_BASE_URL = "https://idp.comprobanteselectronicos.go.cr/auth"
PRODUCTION_RECEPCION_URL = "https://api.comprobanteselectronicos.go.cr/recepcion/v1/"
#: The sandbox host observed answering HTTP 202 in 2026.
SANDBOX_RECEPCION_URL = "https://api-sandbox.comprobanteselectronicos.go.cr/recepcion/v1/"
#: The sandbox path printed in Anexo 3 (use with ``Environment.named("sandbox", recepcion_url=...)``).
SANDBOX_RECEPCION_URL_ANEXO3 = "https://api.comprobanteselectronicos.go.cr/recepcion-sandbox/v1/"

_LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain"})


def _is_loopback(host: str) -> bool:
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_url(url: str, setting: str) -> str:
    """Return ``url`` when it is https, or http on a loopback host; raise :class:`ConfigError` otherwise."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if not host:
        raise ConfigError(f"{setting}: {url!r} is not an absolute URL")
    if parts.scheme == "https":
        return url
    if parts.scheme == "http" and _is_loopback(host):
        return url
    if parts.scheme == "http":
        raise ConfigError(
            f"{setting}: {url!r} uses plain http; Hacienda endpoints require https (plain http is allowed "
            "only for loopback hosts such as the local simulator)"
        )
    raise ConfigError(f"{setting}: {url!r} must be an https URL")


def _realm_urls(realm: str) -> tuple[str, str]:
    base = f"{IDP_BASE_URL}/realms/{realm}/protocol/openid-connect"
    return f"{base}/token", f"{base}/logout"


@dataclass(frozen=True, slots=True)
class _Named:
    name: str
    aliases: frozenset[str]
    realm: str
    recepcion_url: str
    client_id: str
    username_domain: str


_NAMED = (
    _Named(
        "sandbox",
        frozenset({"sandbox", "stag", "staging", "pruebas"}),
        "rut-stag",
        SANDBOX_RECEPCION_URL,
        "api-stag",
        "stag.comprobanteselectronicos.go.cr",
    ),
    _Named(
        "production",
        frozenset({"production", "prod", "produccion", "producción"}),
        "rut",
        PRODUCTION_RECEPCION_URL,
        "api-prod",
        "comprobanteselectronicos.go.cr",
    ),
)


@dataclass(frozen=True, slots=True)
class Environment:
    """Where to authenticate and where to send vouchers (frozen; see :meth:`named` and :meth:`custom`)."""

    name: str
    token_url: str
    recepcion_url: str
    client_id: str
    logout_url: str | None = None
    realm: str | None = None
    #: Domain of the IdP user names (informational: ``cpj-3-101-123456@<domain>``).
    username_domain: str | None = None
    #: Expected serialNumber of the certificate that signs the MensajeHacienda answers.
    sello_cedula: str = HACIENDA_SELLO_CEDULA

    def __post_init__(self) -> None:
        check_url(self.token_url, f"environment {self.name}: token_url")
        check_url(self.recepcion_url, f"environment {self.name}: recepcion_url")
        if self.logout_url is not None:
            check_url(self.logout_url, f"environment {self.name}: logout_url")
        if not self.recepcion_url.endswith("/"):
            object.__setattr__(self, "recepcion_url", self.recepcion_url + "/")
        if not self.client_id:
            raise ConfigError(f"environment {self.name}: client_id is empty")

    @classmethod
    def named(cls, name: str, *, recepcion_url: str | None = None) -> Environment:
        """``"sandbox"`` or ``"production"`` (``"prod"``, ``"stag"`` and ``"staging"`` are accepted too).

        ``recepcion_url`` overrides the recepción base (the sandbox host has changed over the years).
        """
        key = name.strip().lower()
        spec = next((n for n in _NAMED if key in n.aliases), None)
        if spec is None:
            raise ConfigError(f"unknown Hacienda environment {name!r}: use 'sandbox' or 'production'")
        token, logout = _realm_urls(spec.realm)
        return cls(
            name=spec.name,
            token_url=token,
            logout_url=logout,
            recepcion_url=recepcion_url if recepcion_url is not None else spec.recepcion_url,
            client_id=spec.client_id,
            realm=spec.realm,
            username_domain=spec.username_domain,
        )

    @classmethod
    def custom(
        cls,
        *,
        token_url: str,
        recepcion_url: str,
        client_id: str,
        logout_url: str | None = None,
        name: str = "custom",
        sello_cedula: str = HACIENDA_SELLO_CEDULA,
    ) -> Environment:
        """Any other deployment, such as the local simulator (whose seal has its own test cédula)."""
        return cls(
            name=name,
            token_url=token_url,
            recepcion_url=recepcion_url,
            client_id=client_id,
            logout_url=logout_url,
            sello_cedula=sello_cedula,
        )
