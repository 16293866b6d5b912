"""The taxpayers of a configuration file: each one's Hacienda account, signing key and emisor.

A file for one taxpayer keeps its tables at the top (``[hacienda]``, ``[signing]``, ``[emisor]``): that
taxpayer is named ``default``. More taxpayers sharing one store are named tables::

    [issuers.acme.hacienda]            # keys not given here are the top-level [hacienda]'s
    username_env = "ACME_USERNAME"     # each taxpayer has its own IdP user (required here)
    password_file = "/run/secrets/acme-password"

    [issuers.acme.signing]             # keys not given here are the top-level [signing]'s
    p12_path = "certs/acme.p12"        # each taxpayer has its own key (required here)
    pin_env = "ACME_PIN"

    [issuers.acme.emisor]              # complete: nothing is taken from the top-level [emisor]
    numero_identificacion = "3101654321"
    nombre = "Acme S.A."
    terminals = [[1, 1], [1, 2], [2, 1]]   # the sucursal/terminal pairs it issues from (empty: any)

Secrets are never in the file or the database: a ``*_env`` setting names the environment variable that holds
one, a ``*_file`` setting the file (a mounted secret; relative to the configuration file) -- the file wins
when both are set. :class:`Taxpayer` is one taxpayer's settings with the file's folder, and reads them.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from cr_einvoice.core.errors import ConfigError
from cr_einvoice.core.secret import Secret

if TYPE_CHECKING:
    from cr_einvoice.hacienda.environments import Environment
    from cr_einvoice.outbox.issuing import IssuerSettings
    from cr_einvoice.vouchers.model import Emisor

__all__ = [
    "CREDENTIAL_SETTINGS",
    "DEFAULT_ISSUER",
    "EmisorSettings",
    "HaciendaSettings",
    "SigningSettings",
    "Taxpayer",
    "TaxpayerSettings",
    "check_issuer_name",
    "read_secret",
]

#: The name of the taxpayer of the top-level tables.
DEFAULT_ISSUER = "default"

#: Per table, the settings a named taxpayer must give itself (one of each pair): they are never inherited.
CREDENTIAL_SETTINGS: dict[str, tuple[tuple[str, ...], ...]] = {
    "hacienda": (("username_env", "username_file"), ("password_env", "password_file")),
    "signing": (("p12_path",), ("pin_env", "pin_file")),
}


@dataclass(frozen=True, slots=True)
class HaciendaSettings:
    environment: str = "sandbox"
    token_url: str = ""
    recepcion_url: str = ""
    client_id: str = ""
    username_env: str = "CR_EINVOICE_USERNAME"
    password_env: str = "CR_EINVOICE_PASSWORD"  # noqa: S105 (a variable name, not a password)
    #: Files holding the username / password (win over the variables when set).
    username_file: str = ""
    password_file: str = ""
    callback_url: str = ""
    trust_ca: str = ""


@dataclass(frozen=True, slots=True)
class SigningSettings:
    p12_path: str = ""
    pin_env: str = "CR_EINVOICE_PIN"
    #: File holding the PIN (wins over ``pin_env`` when set).
    pin_file: str = ""


@dataclass(frozen=True, slots=True)
class EmisorSettings:
    tipo_identificacion: str = "02"
    numero_identificacion: str = ""
    nombre: str = ""
    sucursal: int = 1
    terminal: int = 1
    correo_electronico: str = ""
    provincia: str = ""
    canton: str = ""
    distrito: str = ""
    otras_senas: str = ""
    #: The (sucursal, terminal) pairs this taxpayer issues from; empty: any.
    terminals: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True, slots=True)
class TaxpayerSettings:
    """One taxpayer's tables, inheritance already applied."""

    hacienda: HaciendaSettings = field(default_factory=HaciendaSettings)
    signing: SigningSettings = field(default_factory=SigningSettings)
    emisor: EmisorSettings = field(default_factory=EmisorSettings)


def check_issuer_name(name: str) -> str:
    """A taxpayer's name: lowercase letters, digits, ``-`` and ``_`` (it becomes a TOML key and part of
    environment variable names)."""
    if not name or not all(c.islower() or c.isdigit() or c in "-_" for c in name) or not name[0].isalnum():
        raise ConfigError(
            f"issuer name {name!r}: use lowercase letters, digits, '-' and '_' (starting with a letter or "
            "digit)"
        )
    return name


def read_secret(setting: str, env: str, file: Path | None) -> Secret:
    """The secret in ``file`` (its first line) when given, else in environment variable ``env``; errors name
    ``setting`` (the configuration key), never the value."""
    if file is not None:
        try:
            text = file.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"{setting}_file: cannot read {file}: {exc.strerror or exc}") from None
        value = text.splitlines()[0].strip() if text.strip() else ""
        if not value:
            raise ConfigError(f"{setting}_file: {file} is empty")
        return Secret(value)
    value = os.environ.get(env, "")
    if not value:
        raise ConfigError(f"{setting}_env: environment variable {env} is not set")
    return Secret(value)


@dataclass(frozen=True, slots=True)
class Taxpayer:
    """One taxpayer of a configuration file, able to read its secrets and build its settings."""

    name: str
    settings: TaxpayerSettings
    #: Folder that relative paths are resolved against (the configuration file's folder).
    base_dir: Path
    validate_xsd: bool = True

    @property
    def prefix(self) -> str:
        """Where this taxpayer's tables are in the file: ``""`` (top level) or ``issuers.NAME.``."""
        return "" if self.name == DEFAULT_ISSUER else f"issuers.{self.name}."

    @property
    def hacienda(self) -> HaciendaSettings:
        return self.settings.hacienda

    @property
    def signing(self) -> SigningSettings:
        return self.settings.signing

    @property
    def emisor(self) -> EmisorSettings:
        return self.settings.emisor

    def resolve(self, path: str) -> Path:
        p = Path(path).expanduser()
        return p if p.is_absolute() else self.base_dir / p

    def _file(self, path: str) -> Path | None:
        return self.resolve(path) if path else None

    @property
    def p12_path(self) -> Path:
        if not self.signing.p12_path:
            raise ConfigError(f"{self.prefix}signing.p12_path is not set in the configuration file")
        return self.resolve(self.signing.p12_path)

    def pin(self) -> Secret:
        s = self.signing
        return read_secret(f"{self.prefix}signing.pin", s.pin_env, self._file(s.pin_file))

    def username(self) -> str:
        h = self.hacienda
        return read_secret(
            f"{self.prefix}hacienda.username", h.username_env, self._file(h.username_file)
        ).reveal()

    def password(self) -> Secret:
        h = self.hacienda
        return read_secret(f"{self.prefix}hacienda.password", h.password_env, self._file(h.password_file))

    def environment(self) -> Environment:
        from cr_einvoice.hacienda.environments import Environment

        h = self.hacienda
        if h.environment == "custom":
            missing = [n for n in ("token_url", "recepcion_url", "client_id") if not getattr(h, n)]
            if missing:
                raise ConfigError(
                    f"{self.prefix}hacienda.environment is 'custom' but {self.prefix}hacienda.{missing[0]} "
                    "is empty"
                )
            return Environment.custom(
                token_url=h.token_url, recepcion_url=h.recepcion_url, client_id=h.client_id
            )
        return Environment.named(h.environment, recepcion_url=h.recepcion_url or None)

    def trust_ca_path(self) -> Path | None:
        return self.resolve(self.hacienda.trust_ca) if self.hacienda.trust_ca else None

    def check_terminal(self, sucursal: int, terminal: int) -> None:
        """Refuse a (sucursal, terminal) outside the taxpayer's ``terminals`` (when it lists any)."""
        allowed = self.emisor.terminals
        if allowed and (sucursal, terminal) not in allowed:
            pairs = ", ".join(f"{s}/{t}" for s, t in allowed)
            raise ConfigError(
                f"sucursal {sucursal} terminal {terminal} is not one of {self.prefix}emisor.terminals "
                f"({pairs})"
            )

    def issuer_settings(self) -> IssuerSettings:
        """This taxpayer as :class:`~cr_einvoice.outbox.issuing.IssuerSettings` (who issues, from where)."""
        from cr_einvoice.outbox.issuing import IssuerSettings

        e = self.emisor
        if not e.numero_identificacion:
            raise ConfigError(
                f"{self.prefix}emisor.numero_identificacion is not set in the configuration file"
            )
        return IssuerSettings(
            e.tipo_identificacion,
            e.numero_identificacion,
            e.nombre,
            e.sucursal,
            e.terminal,
            validate_xsd=self.validate_xsd,
            profile=self._profile(),
        )

    def _profile(self) -> Emisor | None:
        """:meth:`emisor_block`, or None (logged) when the emisor table cannot make a valid block: documents
        then carry their own emisor, as before the block existed."""
        try:
            return self.emisor_block()
        except ConfigError as exc:
            logging.getLogger("cr_einvoice.config").warning(
                "%s; documents must carry their own emisor block", exc
            )
            return None

    def emisor_block(self) -> Emisor | None:
        """The emisor block of the emisor table (None without a nombre): documents that omit theirs get it."""
        from cr_einvoice.core.errors import ValidationError
        from cr_einvoice.core.identifiers import Identificacion
        from cr_einvoice.vouchers.model import Emisor, Ubicacion

        e = self.emisor
        if not e.nombre:
            return None
        try:
            ubicacion = None
            if e.provincia or e.canton or e.distrito or e.otras_senas:
                ubicacion = Ubicacion(
                    provincia=e.provincia, canton=e.canton, distrito=e.distrito, otras_senas=e.otras_senas
                )
            return Emisor(
                nombre=e.nombre,
                identificacion=Identificacion.of(e.tipo_identificacion, e.numero_identificacion),
                correos_electronicos=(e.correo_electronico,) if e.correo_electronico else (),
                ubicacion=ubicacion,
            )
        except ValidationError as exc:
            first = exc.problems[0]
            setting = first.path.rsplit(".", 1)[-1].replace("correos_electronicos", "correo_electronico")
            raise ConfigError(
                f"{self.prefix}emisor.{setting} in the configuration file: {first.message}"
            ) from None

    def check(self) -> None:
        """The checks of one taxpayer's tables (names, ranges); errors name the setting."""
        p, e, h = self.prefix, self.emisor, self.hacienda
        if h.environment not in {"sandbox", "production", "custom"}:
            raise ConfigError(
                f"{p}hacienda.environment must be 'sandbox', 'production' or 'custom', got {h.environment!r}"
            )
        if e.tipo_identificacion not in {"01", "02", "03", "04", "05", "06"}:
            raise ConfigError(f"{p}emisor.tipo_identificacion must be 01..06, got {e.tipo_identificacion!r}")
        for sucursal, terminal in ((e.sucursal, e.terminal), *e.terminals):
            if not 1 <= sucursal <= 999:
                raise ConfigError(f"{p}emisor.sucursal must be 1..999, got {sucursal}")
            if not 1 <= terminal <= 99999:
                raise ConfigError(f"{p}emisor.terminal must be 1..99999, got {terminal}")
        if e.terminals:
            self.check_terminal(e.sucursal, e.terminal)
        for table, values in (("hacienda", h), ("signing", self.signing)):
            for name in ("username_env", "password_env", "pin_env"):
                value = getattr(values, name, None)
                if value is not None and not value.isidentifier():
                    raise ConfigError(f"{p}{table}.{name} must name an environment variable, got {value!r}")
