"""The issuing configuration file (TOML): where to send, who issues, how to sign, where the store lives.

Read with the standard library's :mod:`tomllib`; written by :func:`write_config` by hand (a small, fixed
layout). Secrets are never stored in the file: it names the *environment variables* that hold the IdP
username and password and the PIN of the ``.p12``. Relative paths are relative to the file's folder.

Layout::

    [hacienda]
    environment = "sandbox"            # "sandbox", "production" or "custom"
    token_url = ""                     # custom only (e.g. the local simulator)
    recepcion_url = ""                 # custom, or to override the named environment's recepción base
    client_id = ""                     # custom only
    username_env = "CR_EINVOICE_USERNAME"  # or username_file = "/run/secrets/idp-user" (wins when set)
    password_env = "CR_EINVOICE_PASSWORD"  # or password_file
    callback_url = ""                  # optional: where Hacienda should POST results
    trust_ca = ""                      # CA of Hacienda's seal (e.g. the simulator's); empty: national PKI

    [signing]
    p12_path = "certs/emisor.p12"
    pin_env = "CR_EINVOICE_PIN"        # or pin_file

    [emisor]                           # who issues: fills a document that omits its "emisor" block
    tipo_identificacion = "02"
    numero_identificacion = "3101123456"
    nombre = "Mi Empresa S.A."
    sucursal = 1
    terminal = 1
    correo_electronico = ""            # the emisor's e-mail (FE, TE, FEE and REP require one)
    provincia = ""                     # ubicación (Nota 14; FE, TE, FEE and REP require it): "1"
    canton = ""                        # "01"
    distrito = ""                      # "08"
    otras_senas = ""                   # "Frente al parque central"
    terminals = []                     # [[1, 1], [1, 2]]: the sucursal/terminal pairs used (empty: any)

    [issuer]                           # how the issuing pipeline checks a document before numbering it
    validate_xsd = true                # false: Hacienda's business rules only (no official schemas needed)

    [store]
    path = ".cr-einvoice/outbox.db"         # the SQLite file, unless url or url_env is set
    url = ""                           # postgresql://USER@HOST:PORT/DB (no password in it)
    url_env = ""                       # NAME of a variable holding the whole URL (wins over url)
    password_env = ""                  # NAME of the variable holding the database password
    password_file = ""                 # or a file holding it (a mounted secret; wins)
    pool_size = 4                      # PostgreSQL: connections per process

    [receiving]
    trust_ca = ""                      # PEM of the CAs of suppliers' certificates

    [worker]
    concurrency = 4
    poll_initial = 2.0
    poll_max = 60.0
    send_backoff_max = 300.0

    [service]                          # cr-einvoice serve (the HTTP API and the web console)
    host = "127.0.0.1"
    port = 8080
    max_body_bytes = 2097152           # larger request bodies are answered 413
    rate_per_second = 20.0             # per API key (and per console session), with bursts of
    rate_burst = 40
    secure_cookies = true              # false only to try the console over plain http on another host
    session_minutes = 480
    login_failures_per_minute = 10     # failed console sign-ins from one address (accounts also lock)

    [publicdata]                       # api.hacienda.go.cr lookups (cr-einvoice lookup; cached in the store)
    enabled = false                    # true: the issuer completes receptors and tipo_cambio, notes warnings
    base_url = "https://api.hacienda.go.cr"
    offline = false                    # true: the cache only
    max_wait = 30.0                    # seconds a 429 may hold a lookup

    [issuers.acme.hacienda]            # more taxpayers in the same store: see cr_einvoice.app.issuers
    username_env = "ACME_USERNAME"
    ...
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cr_einvoice.app.issuers import (
    CREDENTIAL_SETTINGS,
    DEFAULT_ISSUER,
    EmisorSettings,
    HaciendaSettings,
    SigningSettings,
    Taxpayer,
    TaxpayerSettings,
    check_issuer_name,
    read_secret,
)
from cr_einvoice.app.mailing import DeliveryConfig, SmtpConfig, check_mail_config
from cr_einvoice.app.publicdata import PublicDataConfig, check_publicdata_config
from cr_einvoice.core.errors import ConfigError
from cr_einvoice.core.secret import Secret
from cr_einvoice.service.settings import ServiceSettings

if TYPE_CHECKING:
    from cr_einvoice.hacienda.environments import Environment
    from cr_einvoice.outbox.issuing import IssuerSettings
    from cr_einvoice.vouchers.model import Emisor

__all__ = [
    "CONFIG_ENV",
    "DEFAULT_CONFIG_NAME",
    "Config",
    "EmisorSettings",
    "HaciendaSettings",
    "IssuerOptions",
    "ReceivingSettings",
    "ServiceSettings",
    "SigningSettings",
    "StoreSettings",
    "Taxpayer",
    "TaxpayerSettings",
    "WorkerSettings",
    "check_store",
    "default_config_path",
    "load_config",
    "render_config",
    "write_config",
]

#: Environment variable naming the configuration file.
CONFIG_ENV = "CR_EINVOICE_CONFIG"
DEFAULT_CONFIG_NAME = "cr-einvoice.toml"


@dataclass(frozen=True, slots=True)
class IssuerOptions:
    """``[issuer]``: how the issuing pipeline checks a document before numbering it (who issues is
    ``[emisor]``)."""

    #: Check against the official XSD (needs the schemas: ``cr-einvoice schemas fetch|import``); False runs
    #: Hacienda's business rules only.
    validate_xsd: bool = True


@dataclass(frozen=True, slots=True)
class StoreSettings:
    #: The SQLite file (used when neither url nor url_env is set).
    path: str = ".cr-einvoice/outbox.db"
    #: ``postgresql://USER@HOST:PORT/DB`` -- never with a password in it (password_env names where it is).
    url: str = ""
    #: NAME of an environment variable holding the whole URL (password included); wins over url.
    url_env: str = ""
    #: NAME of the environment variable holding the database password (empty: libpq's PGPASSWORD/.pgpass).
    password_env: str = ""
    #: A file whose first line is the database password (a mounted secret); wins over password_env.
    password_file: str = ""
    #: PostgreSQL: the most connections one process holds (the service serves requests from threads).
    pool_size: int = 4


@dataclass(frozen=True, slots=True)
class ReceivingSettings:
    #: PEM file of the CAs that issue taxpayers' certificates (suppliers' vouchers must chain to them);
    #: empty: a received voucher's signature is checked for integrity and signer cédula only.
    trust_ca: str = ""


@dataclass(frozen=True, slots=True)
class WorkerSettings:
    concurrency: int = 4
    poll_initial: float = 2.0
    poll_max: float = 60.0
    send_backoff_max: float = 300.0


@dataclass(frozen=True, slots=True)
class Config:
    hacienda: HaciendaSettings = field(default_factory=HaciendaSettings)
    signing: SigningSettings = field(default_factory=SigningSettings)
    emisor: EmisorSettings = field(default_factory=EmisorSettings)
    issuer: IssuerOptions = field(default_factory=IssuerOptions)
    store: StoreSettings = field(default_factory=StoreSettings)
    worker: WorkerSettings = field(default_factory=WorkerSettings)
    receiving: ReceivingSettings = field(default_factory=ReceivingSettings)
    service: ServiceSettings = field(default_factory=ServiceSettings)
    delivery: DeliveryConfig = field(default_factory=DeliveryConfig)
    smtp: SmtpConfig = field(default_factory=SmtpConfig)
    publicdata: PublicDataConfig = field(default_factory=PublicDataConfig)
    #: More taxpayers sharing the store (``[issuers.NAME]``, inheritance applied), by name in file order.
    issuers: Mapping[str, TaxpayerSettings] = field(default_factory=dict)
    #: Folder that relative paths are resolved against (the config file's folder).
    base_dir: Path = field(default_factory=Path.cwd)

    # -- the taxpayers ------------------------------------------------------------------------------
    def issuer_names(self) -> list[str]:
        """The configured taxpayers: ``default`` (the top-level tables) when ``[emisor]`` names one, then the
        ``[issuers.NAME]`` tables in file order."""
        names = [DEFAULT_ISSUER] if self.emisor.numero_identificacion or not self.issuers else []
        return names + list(self.issuers)

    def taxpayer(self, name: str | None = None) -> Taxpayer:
        """One taxpayer's settings: ``name``, or without it the top-level one when ``[emisor]`` names a
        taxpayer (or nothing else is configured), else the only ``[issuers.NAME]``."""
        if name is None:
            names = self.issuer_names()
            if len(names) > 1 and DEFAULT_ISSUER not in names:
                raise ConfigError(
                    f"several issuers are configured ({', '.join(names)}): choose one with --issuer NAME"
                )
            name = names[0]
        if name == DEFAULT_ISSUER:
            settings = TaxpayerSettings(self.hacienda, self.signing, self.emisor)
        elif name in self.issuers:
            settings = self.issuers[name]
        else:
            known = ", ".join(self.issuer_names()) or "none"
            raise ConfigError(f"no issuer named {name!r} in the configuration file (known: {known})")
        return Taxpayer(name, settings, self.base_dir, self.issuer.validate_xsd)

    def taxpayer_of(self, numero_identificacion: str) -> Taxpayer | None:
        """The configured taxpayer with this identification, if any."""
        for name in self.issuer_names():
            taxpayer = self.taxpayer(name)
            if taxpayer.emisor.numero_identificacion == numero_identificacion:
                return taxpayer
        return None

    # -- derived values (of the default taxpayer, see taxpayer()) -------------------------------------
    def resolve(self, path: str) -> Path:
        p = Path(path).expanduser()
        return p if p.is_absolute() else self.base_dir / p

    @property
    def store_path(self) -> Path:
        return self.resolve(self.store.path)

    def store_location(self) -> str:
        """Where the outbox is: ``$url_env``, ``url``, else the SQLite file at ``path``."""
        if self.store.url_env:
            value = os.environ.get(self.store.url_env, "")
            if not value:
                raise ConfigError(
                    f"environment variable {self.store.url_env} is not set (store.url_env: it should hold "
                    "the outbox database's URL)"
                )
            return value
        return self.store.url or str(self.store_path)

    def store_password(self) -> Secret | None:
        """The database password: the first line of ``store.password_file`` (a mounted secret), else the
        variable ``store.password_env``; None when neither is set (libpq's PGPASSWORD or ~/.pgpass)."""
        s = self.store
        if not (s.password_file or s.password_env):
            return None
        return read_secret(
            "store.password", s.password_env, self.resolve(s.password_file) if s.password_file else None
        )

    @property
    def p12_path(self) -> Path:
        return self.taxpayer().p12_path

    def pin(self) -> Secret:
        return self.taxpayer().pin()

    def username(self) -> str:
        return self.taxpayer().username()

    def password(self) -> Secret:
        return self.taxpayer().password()

    def environment(self) -> Environment:
        return self.taxpayer().environment()

    def trust_ca_path(self) -> Path | None:
        return self.taxpayer().trust_ca_path()

    def issuer_settings(self, name: str | None = None) -> IssuerSettings:
        """The issuing taxpayer ``name`` (default: ``[emisor]``, or the only ``[issuers.NAME]``), for
        :class:`~cr_einvoice.outbox.issuing.Issuer` and :class:`~cr_einvoice.outbox.receiving.Receiver`."""
        return self.taxpayer(name).issuer_settings()

    def emisor_block(self) -> Emisor | None:
        """The emisor block of ``[emisor]`` (None without a nombre): documents that omit theirs get it."""
        return self.taxpayer().emisor_block()


def default_config_path() -> Path:
    """``$CR_EINVOICE_CONFIG`` or ``./cr-einvoice.toml``."""
    return Path(os.environ.get(CONFIG_ENV) or DEFAULT_CONFIG_NAME)


_SECTIONS: tuple[tuple[str, type[Any]], ...] = (
    ("hacienda", HaciendaSettings),
    ("signing", SigningSettings),
    ("emisor", EmisorSettings),
    ("issuer", IssuerOptions),
    ("store", StoreSettings),
    ("worker", WorkerSettings),
    ("receiving", ReceivingSettings),
    ("service", ServiceSettings),
    ("delivery", DeliveryConfig),
    ("smtp", SmtpConfig),
    ("publicdata", PublicDataConfig),
)


def _section(name: str, cls: type[Any], data: Mapping[str, Any]) -> Any:
    known = {f.name: f for f in fields(cls)}
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise ConfigError(f"unknown setting {name}.{unknown[0]} (known: {', '.join(sorted(known))})")
    values: dict[str, Any] = {}
    defaults = cls()
    for key, raw in data.items():
        expected = type(getattr(defaults, key))
        if expected is tuple:
            values[key] = _pairs(f"{name}.{key}", raw)
            continue
        value = (
            float(raw) if expected is float and isinstance(raw, int) and not isinstance(raw, bool) else raw
        )
        if not isinstance(value, expected) or isinstance(value, bool) != (expected is bool):
            raise ConfigError(f"setting {name}.{key} must be a {expected.__name__}, got {value!r}")
        values[key] = value
    return cls(**values)


def _pairs(setting: str, raw: Any) -> tuple[tuple[int, int], ...]:
    """``[[1, 1], [1, 2]]``: (sucursal, terminal) pairs."""
    ok = isinstance(raw, list) and all(
        isinstance(p, list) and len(p) == 2 and all(type(n) is int for n in p) for p in raw
    )
    if not ok:
        raise ConfigError(f"setting {setting} must be a list of [sucursal, terminal] pairs, got {raw!r}")
    return tuple((p[0], p[1]) for p in raw)


def _issuers(data: Any, top: Mapping[str, Any]) -> dict[str, TaxpayerSettings]:
    """The ``[issuers.NAME]`` tables: ``hacienda`` and ``signing`` inherit the top-level keys they do not
    give, except the credentials (:data:`~cr_einvoice.app.issuers.CREDENTIAL_SETTINGS`); ``emisor`` is
    complete."""
    if not isinstance(data, Mapping):
        raise ConfigError("[issuers] must be a table of [issuers.NAME] tables")
    out: dict[str, TaxpayerSettings] = {}
    for name, tables in data.items():
        check_issuer_name(name)
        if name == DEFAULT_ISSUER:
            raise ConfigError(f"[issuers.{name}]: '{name}' names the top-level tables; choose another name")
        where = f"issuers.{name}"
        if not isinstance(tables, Mapping):
            raise ConfigError(f"[{where}] must be a table")
        unknown = sorted(set(tables) - {"hacienda", "signing", "emisor"})
        if unknown:
            raise ConfigError(f"unknown table [{where}.{unknown[0]}] (known: emisor, hacienda, signing)")
        parts: dict[str, Any] = {}
        for table, cls in (("hacienda", HaciendaSettings), ("signing", SigningSettings)):
            own = tables.get(table, {})
            if not isinstance(own, Mapping):
                raise ConfigError(f"[{where}.{table}] must be a table")
            for group in CREDENTIAL_SETTINGS[table]:
                if not any(k in own for k in group):
                    raise ConfigError(
                        f"{where}.{table}.{' or '.join(group)} must be set: each taxpayer has its own"
                    )
            inherited = {
                k: v for k, v in top.get(table, {}).items() if k not in sum(CREDENTIAL_SETTINGS[table], ())
            }
            parts[table] = _section(f"{where}.{table}", cls, {**inherited, **own})
        emisor = tables.get("emisor", {})
        if not isinstance(emisor, Mapping) or not emisor.get("numero_identificacion"):
            raise ConfigError(f"{where}.emisor.numero_identificacion must be set")
        parts["emisor"] = _section(f"{where}.emisor", EmisorSettings, emisor)
        out[name] = TaxpayerSettings(**parts)
    return out


def _check(config: Config) -> None:
    w = config.worker
    numbers: dict[str, str] = {}
    for name in config.issuer_names():
        taxpayer = config.taxpayer(name)
        taxpayer.check()
        numero = taxpayer.emisor.numero_identificacion
        if numero and numero in numbers:
            raise ConfigError(f"issuers {numbers[numero]!r} and {name!r} have the same numero_identificacion")
        numbers[numero] = name
    check_mail_config(config.delivery, config.smtp)
    check_publicdata_config(config.publicdata)
    if w.concurrency < 1:
        raise ConfigError(f"worker.concurrency must be at least 1, got {w.concurrency}")
    if not 0 < w.poll_initial <= w.poll_max:
        raise ConfigError("worker.poll_initial must be positive and not above worker.poll_max")
    v = config.service
    if not (
        0 <= v.port <= 65535 and v.max_body_bytes >= 1024 and v.rate_per_second > 0 and v.rate_burst >= 1
    ):
        raise ConfigError("[service]: port 0..65535, max_body_bytes >= 1024, positive rate and burst")
    if v.session_minutes < 1 or v.login_failures_per_minute < 1:
        raise ConfigError("[service]: session_minutes and login_failures_per_minute must be at least 1")
    check_store(config.store)


def check_store(store: StoreSettings) -> None:
    """Refuse a ``[store]`` that names no usable variable or carries a password."""
    for name in ("url_env", "password_env"):
        value = getattr(store, name)
        if value and not value.isidentifier():
            raise ConfigError(f"store.{name} must name an environment variable, got {value!r}")
    if not 1 <= store.pool_size <= 100:
        raise ConfigError(f"store.pool_size must be 1..100, got {store.pool_size}")
    if store.url:
        if not store.url.startswith(("postgresql://", "postgres://", "sqlite:///")):
            raise ConfigError("store.url must be postgresql://USER@HOST:PORT/DB (or sqlite:///PATH)")
        userinfo = store.url.split("://", 1)[1].split("/", 1)[0].rpartition("@")[0]
        if ":" in userinfo or "password=" in store.url:
            raise ConfigError(
                "store.url must not carry a password (the file is not a place for secrets): name the "
                "environment variable holding it in store.password_env, or the whole URL in store.url_env"
            )


def config_from_mapping(data: Mapping[str, Any], *, base_dir: Path) -> Config:
    unknown = sorted(set(data) - {name for name, _ in _SECTIONS} - {"issuers"})
    if unknown:
        raise ConfigError(f"unknown section [{unknown[0]}] in the configuration")
    parts: dict[str, Any] = {}
    for name, cls in _SECTIONS:
        raw = data.get(name, {})
        if not isinstance(raw, Mapping):
            raise ConfigError(f"[{name}] must be a table")
        parts[name] = _section(name, cls, raw)
    config = Config(base_dir=base_dir, issuers=_issuers(data.get("issuers", {}), data), **parts)
    _check(config)
    return config


def load_config(path: str | Path | None = None) -> Config:
    """Read and check the configuration file (default: :func:`default_config_path`)."""
    p = Path(path) if path is not None else default_config_path()
    if not p.is_file():
        raise ConfigError(
            f"configuration file {p} not found: create it with 'cr-einvoice init' (or set {CONFIG_ENV})"
        )
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"configuration file {p} is not valid TOML: {exc}") from None
    return config_from_mapping(data, base_dir=p.resolve().parent)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, str):
        # A JSON string is a valid TOML basic string (same escapes; non-ASCII kept as is).
        return json.dumps(value, ensure_ascii=False)
    raise ConfigError(f"cannot write {type(value).__name__} to the configuration file")


_COMMENTS = {
    "hacienda.environment": "sandbox | production | custom (custom: token_url, recepcion_url, client_id)",
    "hacienda.username_env": "NAME of the environment variable holding the IdP username (never the value)",
    "hacienda.password_env": "NAME of the environment variable holding the IdP password",
    "hacienda.username_file": "or a FILE holding it (a mounted secret; wins over the variable when set)",
    "signing.pin_env": "NAME of the environment variable holding the .p12 PIN (or pin_file: a file)",
    "emisor.terminals": "[[sucursal, terminal], ...] this taxpayer issues from; empty: any",
    "store.path": "relative paths are relative to this file's folder",
    "store.url": "postgresql://USER@HOST:PORT/DB instead of the SQLite file (never a password here)",
    "store.password_env": "NAME of the environment variable holding the database password",
    "emisor.nombre": "the [emisor] fills a document that omits its emisor block; a different one is refused",
    "issuer.validate_xsd": "false: business rules only, no official schemas needed (cr-einvoice schemas)",
    "delivery.mode": "one: one e-mail after acceptance; two: at issue and after Hacienda's answer",
    "delivery.copies": "comma-separated addresses copied on every e-mail to a receptor",
    "smtp.security": "starttls | tls (implicit, port 465) | none (a local relay only)",
    "smtp.username_env": "NAME of the environment variable holding the SMTP login (empty: no login)",
    "publicdata.enabled": "true: issuing completes receptors and tipo_cambio from api.hacienda.go.cr",
}


def render_config(config: Config) -> str:
    """The TOML text of ``config`` (secrets are never part of it: only variable names)."""
    lines = [
        "# cr-einvoice configuration (cr-einvoice init). Secrets live in environment variables only.",
        "",
    ]
    for name, _cls in _SECTIONS:
        section = getattr(config, name)
        lines.append(f"[{name}]")
        for f in fields(section):
            comment = _COMMENTS.get(f"{name}.{f.name}")
            if comment:
                lines.append(f"# {comment}")
            lines.append(f"{f.name} = {_toml_value(getattr(section, f.name))}")
        lines.append("")
    for name, tables in config.issuers.items():
        for table in ("hacienda", "signing", "emisor"):
            values, top = getattr(tables, table), getattr(config, table)
            credentials = sum(CREDENTIAL_SETTINGS.get(table, ()), ())
            lines.append(f"[issuers.{name}.{table}]")
            for f in fields(values):
                value = getattr(values, f.name)
                # Inherited keys are written only where they differ from the top-level table.
                if table == "emisor" or f.name in credentials or value != getattr(top, f.name):
                    lines.append(f"{f.name} = {_toml_value(value)}")
            lines.append("")
    return "\n".join(lines)


def write_config(config: Config, path: str | Path, *, overwrite: bool = False) -> Path:
    """Write ``config`` to ``path`` (refusing to replace an existing file unless ``overwrite``)."""
    _check(config)
    p = Path(path)
    if p.exists() and not overwrite:
        raise ConfigError(f"configuration file {p} already exists (use --force to replace it)")
    text = render_config(config)
    # Round-trip check: what we wrote must read back as the same settings.
    again = config_from_mapping(tomllib.loads(text), base_dir=config.base_dir)
    if again != config:
        raise ConfigError("internal error: the configuration did not survive a write/read round trip")
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(p.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(p)
    return p
