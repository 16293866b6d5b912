"""``cr-einvoice init``: write the configuration file and prepare the outbox database."""

from __future__ import annotations

import argparse
import os
from dataclasses import replace
from pathlib import Path
from typing import Any

from cr_einvoice.app import config as cfg
from cr_einvoice.app.cli._common import dump_json
from cr_einvoice.app.issuers import check_issuer_name, read_secret
from cr_einvoice.core.errors import ConfigError
from cr_einvoice.core.secret import Secret

__all__ = ["register"]


def _cedula_from_p12(path: Path, pin: Secret | None) -> tuple[str, str] | None:
    """(tipo, numero) from the certificate's serialNumber, when the PIN is available."""
    if pin is None or not path.is_file():
        return None
    from cr_einvoice.signing.certs import load_p12

    credential = load_p12(str(path), pin)
    numero = credential.cedula
    tipo = credential.identification_type
    if numero is None or tipo is None:
        return None
    return tipo.value, numero


def _available_pin(base: Path, pin_env: str, pin_file: str) -> Secret | None:
    """The PIN when it can be read now (from ``--pin-file`` or the variable ``--pin-env`` names)."""
    if pin_file:
        path = Path(pin_file) if Path(pin_file).is_absolute() else base / pin_file
        return read_secret("signing.pin", pin_env, path) if path.is_file() else None
    return Secret(os.environ[pin_env]) if os.environ.get(pin_env) else None


def _terminals(text: str | None) -> tuple[tuple[int, int], ...]:
    """``--terminals 1/1,1/2,2/1`` as (sucursal, terminal) pairs."""
    if not text:
        return ()
    pairs = []
    for item in text.split(","):
        sucursal, _, terminal = item.strip().partition("/")
        if not (sucursal.isdigit() and terminal.isdigit()):
            raise ConfigError(f"--terminals expects SUCURSAL/TERMINAL pairs like 1/1,1/2; got {item!r}")
        pairs.append((int(sucursal), int(terminal)))
    return tuple(pairs)


def _ubicacion(text: str | None) -> dict[str, str]:
    """``--ubicacion "1,01,08,Frente al parque"`` as the [emisor] settings."""
    if not text:
        return {}
    parts = [p.strip() for p in text.split(",", 3)]
    if len(parts) != 4:
        raise ConfigError(
            '--ubicacion expects "PROVINCIA,CANTON,DISTRITO,OTRAS SENAS" (e.g. "1,01,08,Frente al parque")'
        )
    return dict(zip(("provincia", "canton", "distrito", "otras_senas"), parts, strict=True))


def _variable(args: argparse.Namespace, what: str) -> str:
    """``--username-env`` and co, or their default: ``CR_EINVOICE_USERNAME``, or for ``--issuer acme``
    ``CR_EINVOICE_ACME_USERNAME``."""
    given: str | None = getattr(args, f"{what}_env")
    if given:
        return given
    name = f"_{args.issuer.upper().replace('-', '_')}" if args.issuer else ""
    return f"CR_EINVOICE{name}_{what.upper()}"


def _tables(args: argparse.Namespace, base: Path, top: cfg.HaciendaSettings) -> cfg.TaxpayerSettings:
    """The taxpayer's tables from the options; Hacienda settings not given are ``top``'s."""
    custom = (args.environment or top.environment) == "custom"
    if args.environment == "custom" and not (args.token_url and args.recepcion_url):
        raise ConfigError("--environment custom needs --token-url and --recepcion-url (and --client-id)")
    p12 = args.p12 or ""
    pin_env = _variable(args, "pin")
    tipo, numero = args.tipo_identificacion, args.numero_identificacion
    if p12 and not numero:
        pin = _available_pin(base, pin_env, args.pin_file or "")
        found = _cedula_from_p12(base / p12 if not Path(p12).is_absolute() else Path(p12), pin)
        if found is not None:
            tipo, numero = found
    if not numero:
        raise ConfigError(
            "--numero-identificacion is required (or give --p12 with the PIN in the variable named by "
            "--pin-env or in --pin-file, and it is read from the certificate)"
        )
    hacienda = replace(
        top,
        username_env=_variable(args, "username"),
        password_env=_variable(args, "password"),
        username_file=args.username_file or "",
        password_file=args.password_file or "",
    )
    given = {
        "environment": args.environment,
        "token_url": args.token_url,
        "recepcion_url": args.recepcion_url,
        "client_id": args.client_id or ("api-stag" if custom and args.environment else None),
        "callback_url": args.callback_url,
        "trust_ca": args.trust_ca,
    }
    hacienda = replace(hacienda, **{k: v for k, v in given.items() if v is not None})
    return cfg.TaxpayerSettings(
        hacienda=hacienda,
        signing=cfg.SigningSettings(p12_path=p12, pin_env=pin_env, pin_file=args.pin_file or ""),
        emisor=cfg.EmisorSettings(
            tipo_identificacion=tipo or "02",
            numero_identificacion=numero,
            nombre=args.nombre or "",
            correo_electronico=args.correo or "",
            **_ubicacion(args.ubicacion),
            sucursal=args.sucursal,
            terminal=args.terminal,
            terminals=_terminals(args.terminals),
        ),
    )


def _store(args: argparse.Namespace) -> cfg.StoreSettings:
    return cfg.StoreSettings(path=args.db, url=args.db_url or "", password_env=args.db_password_env or "")


def _new_config(args: argparse.Namespace, target: Path) -> tuple[cfg.Config, cfg.Taxpayer]:
    """The configuration to write and the taxpayer it adds: the whole file, or with ``--issuer`` the file
    (read when it exists) with that ``[issuers.NAME]`` added."""
    base = target.resolve().parent
    if not args.issuer:
        tables = _tables(args, base, cfg.HaciendaSettings())
        config = cfg.Config(
            hacienda=tables.hacienda,
            signing=tables.signing,
            emisor=tables.emisor,
            store=_store(args),
            worker=cfg.WorkerSettings(),
            receiving=cfg.ReceivingSettings(trust_ca=args.suppliers_ca or ""),
            base_dir=base,
        )
        return config, config.taxpayer()
    name = check_issuer_name(args.issuer)
    if target.exists():
        config = cfg.load_config(target)
        if name in config.issuers and not args.force:
            raise ConfigError(f"issuer {name!r} is already in {target} (use --force to replace it)")
    else:
        config = cfg.Config(
            store=_store(args),
            receiving=cfg.ReceivingSettings(trust_ca=args.suppliers_ca or ""),
            base_dir=base,
        )
    issuers = {**config.issuers, name: _tables(args, base, config.hacienda)}
    config = replace(config, issuers=issuers)
    return config, config.taxpayer(name)


def cmd_init(args: argparse.Namespace) -> int:
    target = Path(args.config or os.environ.get(cfg.CONFIG_ENV) or cfg.DEFAULT_CONFIG_NAME)
    config, taxpayer = _new_config(args, target)
    taxpayer.environment()  # check the URLs now, not at the first submission
    cfg.check_store(config.store)  # before writing: no password in the file, real variable names
    written = cfg.write_config(config, target, overwrite=args.force or bool(args.issuer))
    from cr_einvoice.outbox.store import open_store

    with open_store(config.store_location(), create=True, password=config.store_password()) as store:
        e = taxpayer.emisor
        store.add_issuer(e.tipo_identificacion, e.numero_identificacion, e.nombre)
        for sucursal, terminal in {(e.sucursal, e.terminal), *e.terminals}:
            store.add_terminal(e.numero_identificacion, sucursal, terminal)
        database = store.path  # a URL is shown without its password
    h, s = taxpayer.hacienda, taxpayer.signing
    secrets = [h.username_file or h.username_env, h.password_file or h.password_env, s.pin_file or s.pin_env]
    info = {
        "config": str(written),
        "database": database,
        "issuer": taxpayer.name,
        "environment": h.environment,
        "secrets_from": secrets,
    }
    if args.json:
        dump_json(info)
    else:
        added = f" (issuer {taxpayer.name})" if args.issuer else ""
        print(f"wrote {written}{added}; outbox database {database}")
        print(
            "put the secrets in these environment variables or files (never in the configuration): "
            + ", ".join(secrets)
        )
    return 0


def register(sub: Any) -> None:
    p = sub.add_parser("init", help="write the configuration file and create the outbox database")
    p.add_argument("--config", metavar="FILE", help=f"file to write (default ./{cfg.DEFAULT_CONFIG_NAME})")
    p.add_argument("--force", action="store_true", help="replace an existing file (or issuer, with --issuer)")
    p.add_argument(
        "--issuer",
        metavar="NAME",
        help="add (with --force: replace) the taxpayer NAME as [issuers.NAME] in the file, keeping the rest",
    )
    p.add_argument(
        "--environment",
        choices=["sandbox", "production", "custom"],
        help="default sandbox (with --issuer: the file's [hacienda] environment)",
    )
    p.add_argument("--token-url", help="custom environment (e.g. the local simulator): IdP token URL")
    p.add_argument("--recepcion-url", help="custom recepción base, or an override of the named one")
    p.add_argument("--client-id", help="custom environment: IdP client id (default api-stag)")
    p.add_argument(
        "--username-env",
        help="variable holding the IdP user (default CR_EINVOICE_USERNAME; with --issuer acme: "
        "CR_EINVOICE_ACME_USERNAME)",
    )
    p.add_argument("--password-env", help="variable holding the IdP password (default: as --username-env)")
    p.add_argument("--username-file", help="file holding the IdP user (instead of a variable)")
    p.add_argument("--password-file", help="file holding the IdP password (a mounted secret)")
    p.add_argument("--p12", help="path of the signing key (.p12)")
    p.add_argument("--pin-env", help="variable holding the .p12 PIN (default: as --username-env)")
    p.add_argument("--pin-file", help="file holding the .p12 PIN (instead of a variable)")
    p.add_argument("--tipo-identificacion", default="02", help="emisor identification type (Nota 4)")
    p.add_argument("--numero-identificacion", help="emisor identification (read from the .p12 when omitted)")
    p.add_argument("--nombre", help="emisor name (documents may then omit their emisor block)")
    p.add_argument("--correo", help="emisor e-mail (FE, TE, FEE and REP require one)")
    p.add_argument(
        "--ubicacion",
        metavar="P,CC,DD,SEÑAS",
        help='emisor location, e.g. "1,01,08,Frente al parque central"',
    )
    p.add_argument("--sucursal", type=int, default=1)
    p.add_argument("--terminal", type=int, default=1)
    p.add_argument(
        "--terminals", metavar="S/T,...", help="the sucursal/terminal pairs used, e.g. 1/1,1/2,2/1"
    )
    p.add_argument("--db", default=".cr-einvoice/outbox.db", help="outbox database (relative to the file)")
    p.add_argument(
        "--db-url",
        help="PostgreSQL outbox instead of the SQLite file: postgresql://USER@HOST:PORT/DB (no password)",
    )
    p.add_argument("--db-password-env", help="variable holding the PostgreSQL password (with --db-url)")
    p.add_argument("--callback-url", help="public URL where Hacienda should POST results")
    p.add_argument("--trust-ca", help="PEM of the CA that signs Hacienda's answers (e.g. the simulator's)")
    p.add_argument("--suppliers-ca", help="PEM of the CAs of suppliers' certificates (for receive)")
    p.add_argument("--json", action="store_true", help="JSON output")
    p.set_defaults(func=cmd_init)
