"""``cr-einvoice reissue CLAVE``: issue a voucher Hacienda rejected (or that ended in ``error``) again, as a
new voucher -- the same document with a new consecutivo, clave and FechaEmision (``--submit`` sends it)."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from cr_einvoice.app.cli import _common as cli
from cr_einvoice.app.cli.submit import drain
from cr_einvoice.core.errors import ExitCode

__all__ = ["register"]


def cmd_reissue(args: argparse.Namespace) -> int:
    with cli.open_runtime(args) as runtime:
        original = cli.find_record(runtime.store, args.clave)
        taxpayer = runtime.config.taxpayer_of(original.taxpayer)  # issued again by the same taxpayer
        issued = runtime.issuer(taxpayer.name if taxpayer else None).reissue(original.key)
        code = ExitCode.OK
        if args.submit:
            asyncio.run(drain(runtime, within=args.within, keys=[issued.key]))
            code = cli.outcome_code([runtime.store.require(issued.key)], runtime.store)
        record = runtime.store.require(issued.key)
        if args.json:
            cli.dump_json({**record.summary(), "reissue_of": original.key, "new": issued.created})
        else:
            note = "" if issued.created else "  (reissued before)"
            print(f"{original.key} ({original.state.value}) reissued as")
            print(f"{record.clave}  {record.consecutivo}  {record.state.value}{note}")
    return int(code)


def register(sub: Any) -> None:
    p = sub.add_parser(
        "reissue",
        help="issue a rejected voucher (or one in error) again with a new consecutivo, clave and date",
    )
    cli.add_outbox_arguments(p, clave=True, submit="send the new voucher now and wait for Hacienda's answer")
    p.set_defaults(func=cmd_reissue)
