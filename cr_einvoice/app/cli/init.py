"""``cr-einvoice init``: write the configuration file and prepare the outbox database."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from cr_einvoice.app import config as cfg
from cr_einvoice.app.cli._common import dump_json
from cr_einvoice.core.errors import ConfigError

__all__ = ["register"]


def _cedula_from_p12(path: Path, pin_env: str) -> tuple[str, str] | None:
    """(tipo, numero) from the certificate's serialNumber, when the PIN is available in ``pin_env``."""
    if not os.environ.get(pin_env) or not path.is_file():
        return None
    from cr_einvoice.core.secret import Secret
    from cr_einvoice.signing.certs import load_p12

    credential = load_p12(str(path), Secret.from_env(pin_env))
    numero = credential.cedula
    tipo = credential.identification_type
    if numero is None or tipo is None:
        return None
    return tipo.value, numero


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


def cmd_init(args: argparse.Namespace) -> int:
    target = Path(args.config or os.environ.get(cfg.CONFIG_ENV) or cfg.DEFAULT_CONFIG_NAME)
    base = target.resolve().parent
    custom = args.environment == "custom"
    if custom and not (args.token_url and args.recepcion_url):
        raise ConfigError("--environment custom needs --token-url and --recepcion-url (and --client-id)")
    p12 = args.p12 or ""
    tipo, numero = args.tipo_identificacion, args.numero_identificacion
    if p12 and not numero:
        found = _cedula_from_p12(base / p12 if not Path(p12).is_absolute() else Path(p12), args.pin_env)
        if found is not None:
            tipo, numero = found
    if not numero:
        raise ConfigError(
            "--numero-identificacion is required (or give --p12 with the PIN in the variable named by "
            "--pin-env, and it is read from the certificate)"
        )
    config = cfg.Config(
        hacienda=cfg.HaciendaSettings(
            environment=args.environment,
            token_url=args.token_url or "",
            recepcion_url=args.recepcion_url or "",
            client_id=args.client_id or ("api-stag" if custom else ""),
            username_env=args.username_env,
            password_env=args.password_env,
            callback_url=args.callback_url or "",
            trust_ca=args.trust_ca or "",
        ),
        signing=cfg.SigningSettings(p12_path=p12, pin_env=args.pin_env),
        emisor=cfg.EmisorSettings(
            tipo_identificacion=tipo or "02",
            numero_identificacion=numero,
            nombre=args.nombre or "",
            correo_electronico=args.correo or "",
            **_ubicacion(args.ubicacion),
            sucursal=args.sucursal,
            terminal=args.terminal,
        ),
        store=cfg.StoreSettings(path=args.db, url=args.db_url or "", password_env=args.db_password_env or ""),
        worker=cfg.WorkerSettings(),
        receiving=cfg.ReceivingSettings(trust_ca=args.suppliers_ca or ""),
        base_dir=base,
    )
    config.environment()  # check the URLs now, not at the first submission
    cfg.check_store(config.store)  # before writing: no password in the file, real variable names
    written = cfg.write_config(config, target, overwrite=args.force)
    from cr_einvoice.outbox.store import open_store

    with open_store(config.store_location(), create=True, password=config.store_password()) as store:
        e = config.emisor
        store.add_issuer(e.tipo_identificacion, e.numero_identificacion, e.nombre)
        store.add_terminal(e.numero_identificacion, e.sucursal, e.terminal)
        database = store.path  # a URL is shown without its password
    info = {
        "config": str(written),
        "database": database,
        "environment": config.hacienda.environment,
        "secrets_from": [config.hacienda.username_env, config.hacienda.password_env, config.signing.pin_env],
    }
    if args.json:
        dump_json(info)
    else:
        print(f"wrote {written}; outbox database {database}")
        print(
            "set the secrets in the environment (never in the file): "
            + ", ".join(map(str, info["secrets_from"]))
        )
    return 0


def register(sub: Any) -> None:
    p = sub.add_parser("init", help="write the configuration file and create the outbox database")
    p.add_argument("--config", metavar="FILE", help=f"file to write (default ./{cfg.DEFAULT_CONFIG_NAME})")
    p.add_argument("--force", action="store_true", help="replace an existing file")
    p.add_argument("--environment", choices=["sandbox", "production", "custom"], default="sandbox")
    p.add_argument("--token-url", help="custom environment (e.g. the local simulator): IdP token URL")
    p.add_argument("--recepcion-url", help="custom recepción base, or an override of the named one")
    p.add_argument("--client-id", help="custom environment: IdP client id (default api-stag)")
    p.add_argument("--username-env", default="CR_EINVOICE_USERNAME", help="variable holding the IdP user")
    p.add_argument("--password-env", default="CR_EINVOICE_PASSWORD", help="variable holding the IdP password")
    p.add_argument("--p12", help="path of the signing key (.p12)")
    p.add_argument("--pin-env", default="CR_EINVOICE_PIN", help="variable holding the .p12 PIN")
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
