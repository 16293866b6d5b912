"""``cr-einvoice certs``: generate TEST certificates, show a .p12."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from cr_einvoice.app.cli._common import add_group, dump_json
from cr_einvoice.core.catalogs import TipoIdentificacion
from cr_einvoice.core.errors import ConfigError
from cr_einvoice.core.secret import Secret
from cr_einvoice.signing.certs import load_p12
from cr_einvoice.testing.pki import make_test_pki

__all__ = ["register"]


def register(subparsers: Any) -> None:
    sub = add_group(subparsers, "certs", "signing certificates: TEST PKI, inspect a .p12")

    make = sub.add_parser(
        "make-test",
        help="write a TEST CA, taxpayer .p12 files (modern, 3DES, RC2-40, expired) and a Hacienda sello",
    )
    make.add_argument("directory", help="output directory (created if needed)")
    make.add_argument("--pin", default="1234", help="PIN of the TEST .p12 files (default 1234)")
    make.add_argument("--id", dest="taxpayer_id", default="3101123456", help="taxpayer identification digits")
    make.add_argument(
        "--type",
        dest="taxpayer_type",
        choices=[t.value for t in TipoIdentificacion][:4],
        help="identification type (01 física, 02 jurídica, 03 DIMEX, 04 NITE); inferred from the length",
    )
    make.add_argument("--name", default="EMPRESA DE PRUEBAS SOCIEDAD ANONIMA", help="taxpayer name (CN)")
    make.add_argument("--days", type=int, default=730, help="validity of the taxpayer certificate")
    make.add_argument("--json", action="store_true", help="print the written paths as JSON")
    make.set_defaults(func=_make_test)

    show = sub.add_parser("show", help="print subject, cédula and validity of a .p12")
    show.add_argument("p12", help="the .p12 file")
    pin = show.add_mutually_exclusive_group(required=True)
    pin.add_argument("--pin-env", metavar="VAR", help="environment variable holding the PIN")
    pin.add_argument("--pin-stdin", action="store_true", help="read the PIN from the first line of stdin")
    show.add_argument("--json", action="store_true", help="JSON output")
    show.set_defaults(func=_show)


def pin_from_args(args: argparse.Namespace) -> Secret:
    """The PIN from ``--pin-env VAR`` or ``--pin-stdin`` (never from the command line itself)."""
    if getattr(args, "pin_stdin", False):
        line = sys.stdin.readline().rstrip("\r\n")
        if not line:
            raise ConfigError("--pin-stdin: no PIN on standard input")
        return Secret(line)
    if getattr(args, "pin_env", None):
        return Secret.from_env(args.pin_env)
    raise ConfigError("give the PIN with --pin-env VAR or --pin-stdin")


def _make_test(args: argparse.Namespace) -> int:
    pki = make_test_pki(
        args.directory,
        pin=args.pin,
        taxpayer_id=args.taxpayer_id,
        taxpayer_type=TipoIdentificacion(args.taxpayer_type) if args.taxpayer_type else None,
        taxpayer_name=args.name,
        valid_days=args.days,
    )
    files = {
        "ca_cert_pem": pki.ca_cert_pem,
        "taxpayer_p12": pki.taxpayer_p12,
        "taxpayer_cert_pem": pki.taxpayer_cert_pem,
        "taxpayer_p12_3des": pki.taxpayer_p12_3des,
        "taxpayer_p12_rc2": pki.taxpayer_p12_rc2,
        "expired_p12": pki.expired_p12,
        "sello_ca_cert_pem": pki.sello_ca_cert_pem,
        "sello_p12": pki.sello_p12,
        "sello_cert_pem": pki.sello_cert_pem,
    }
    if args.json:
        dump_json({"directory": pki.directory, "taxpayer_serial": pki.taxpayer_serial, **files})
        return 0
    print(f"TEST PKI written to {pki.directory} (taxpayer {pki.taxpayer_serial}; PIN as given with --pin)")
    for key, path in files.items():
        if path is None:
            print(f"  {key:18} not written (no openssl with the legacy provider for RC2-40)")
        else:
            print(f"  {key:18} {path}")
    return 0


def _show(args: argparse.Namespace) -> int:
    cred = load_p12(args.p12, pin_from_args(args))
    info = cred.describe()
    if args.json:
        dump_json(info)
        return 0
    for key in (
        "subject",
        "issuer",
        "cedula",
        "identification_type",
        "serial_number",
        "not_before",
        "not_after",
    ):
        print(f"{key:20} {info[key]}")
    print(f"{'valid_now':20} {'yes' if info['valid_now'] else 'NO'}")
    print(f"{'key':20} RSA {info['key_size']}")
    for ca in info["chain"]:
        print(f"{'chain':20} {ca}")
    return 0
