"""``cr-einvoice apikey create|list|revoke``: the API keys of the issuing service (``cr-einvoice serve``).

A key is scoped to one emisor (``--issuer``, default: the configuration's ``[emisor]``). ``create`` prints the
key once -- only its scrypt hash is stored -- so copy it then.
"""

from __future__ import annotations

import argparse
from typing import Any

from cr_einvoice.app.cli._common import add_config_argument, add_group, dump_json, open_runtime
from cr_einvoice.core.errors import ExitCode

__all__ = ["emisor_of", "register"]


def emisor_of(args: argparse.Namespace, runtime: Any) -> str:
    """``--issuer``: a configured taxpayer's name ([issuers.NAME]) or an identification number; default:
    the configuration's taxpayer."""
    config = runtime.config
    if args.issuer and args.issuer not in config.issuer_names():
        return str(args.issuer)
    return str(config.taxpayer(args.issuer).issuer_settings().numero_identificacion)


def cmd_create(args: argparse.Namespace) -> int:
    from cr_einvoice.service.auth import ApiKeys

    with open_runtime(args) as runtime:
        key, record = ApiKeys(runtime.store).create(emisor_of(args, runtime), args.name)
        if args.json:
            dump_json(
                {"key": key.reveal(), "key_id": record.key_id, "emisor": record.emisor, "name": record.name}
            )
        else:
            print(key.reveal())
            print(f"(key {record.key_id} for emisor {record.emisor}: shown only now, keep it safe)")
    return int(ExitCode.OK)


def cmd_list(args: argparse.Namespace) -> int:
    with open_runtime(args) as runtime:
        rows = runtime.store.list_api_keys(emisor_of(args, runtime) if args.issuer else None)
        out = [
            {
                "key_id": r.key_id,
                "emisor": r.emisor,
                "name": r.name,
                "created_at": r.created_at.isoformat(),
                "revoked_at": r.revoked_at.isoformat() if r.revoked_at else None,
            }
            for r in rows
        ]
        if args.json:
            dump_json(out)
        else:
            for r in out:
                state = f"revoked {r['revoked_at']}" if r["revoked_at"] else "active"
                print(f"{r['key_id']}  {r['emisor']}  {state:<40}  {r['name']}")
    return int(ExitCode.OK)


def cmd_revoke(args: argparse.Namespace) -> int:
    from cr_einvoice.service.auth import ApiKeys

    with open_runtime(args) as runtime:
        record = ApiKeys(runtime.store).revoke(args.key_id)
        if args.json:
            dump_json({"key_id": record.key_id, "revoked_at": record.revoked_at})
        else:
            print(f"{record.key_id} revoked")
    return int(ExitCode.OK)


def register(sub: Any) -> None:
    verbs = add_group(sub, "apikey", help="API keys of the issuing service (cr-einvoice serve)")
    create = verbs.add_parser("create", help="create a key for an emisor and print it (once)")
    create.add_argument(
        "--issuer", help="a configured taxpayer's name or an identification number (default: [emisor])"
    )
    create.add_argument("--name", default="", help="what the key is for (a point of sale, an ERP)")
    listing = verbs.add_parser("list", help="the keys (never the keys themselves)")
    listing.add_argument("--issuer", help="only this emisor's keys (a configured name or a number)")
    revoke = verbs.add_parser("revoke", help="revoke a key at once")
    revoke.add_argument("key_id", metavar="KEY_ID", help="the key's id (crk_<KEY_ID>_...)")
    for parser, func in ((create, cmd_create), (listing, cmd_list), (revoke, cmd_revoke)):
        add_config_argument(parser)
        parser.add_argument("--json", action="store_true", help="JSON output")
        parser.set_defaults(func=func)
