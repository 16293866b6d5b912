"""``cr-einvoice status CLAVE``: ask Hacienda for one voucher's status now (and record the answer)."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from cr_einvoice.app.cli import _common as cli
from cr_einvoice.app.runtime import Runtime
from cr_einvoice.outbox.store import VoucherRecord

__all__ = ["register"]


async def _ask(runtime: Runtime, key: str, issuers: list[str] | None) -> tuple[VoucherRecord, str]:
    async with runtime.worker(issuers) as worker:
        return await worker.refresh(key)


def cmd_status(args: argparse.Namespace) -> int:
    with cli.open_runtime(args) as runtime:
        record = cli.find_record(runtime.store, args.clave)
        estado = "(not asked)"
        if not args.local:
            record, estado = asyncio.run(_ask(runtime, record.key, cli.issuers_of(args)))
        respuestas = runtime.store.respuestas(record.key)
        last = respuestas[-1] if respuestas else None
        info: dict[str, Any] = {
            "clave": record.clave,
            "key": record.key,
            "state": record.state.value,
            "ind_estado": estado,
            "last_error": record.last_error,
            "respuesta": None
            if last is None
            else {
                "mensaje": last.mensaje,
                "estado": last.estado,
                "errores": list(last.errores),
                "source": last.source,
            },
        }
        if args.json:
            cli.dump_json(info)
        else:
            print(f"{record.key}: {record.state.value} (Hacienda: {estado})")
            if last is not None:
                cli.print_errores(last.errores, "  ")
            elif record.last_error:
                print(f"  {record.last_error}")
    return 0


def register(sub: Any) -> None:
    p = sub.add_parser("status", help="ask Hacienda for a voucher's status now and record the answer")
    cli.add_outbox_arguments(p, clave=True)
    cli.add_issuer_argument(p, help="ask with this taxpayer's account (default: the voucher's own)")
    p.add_argument("--local", action="store_true", help="only what the outbox knows; no network")
    p.set_defaults(func=cmd_status)
