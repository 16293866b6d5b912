"""``cr-einvoice receive FILE.xml --accept|--partial|--reject``: answer a supplier's voucher."""

from __future__ import annotations

import argparse
import asyncio
from decimal import Decimal, InvalidOperation
from typing import Any

from cr_einvoice.app.cli import _common as cli
from cr_einvoice.app.cli.submit import drain
from cr_einvoice.core.errors import ValidationError

__all__ = ["register"]


def _amount(value: str | None, flag: str) -> Decimal | None:
    if value is None:
        return None
    try:
        return Decimal(value)
    except InvalidOperation:
        raise ValidationError(f"not an amount: {value!r}", path=flag) from None


def cmd_receive(args: argparse.Namespace) -> int:
    decision = "accept" if args.accept else "partial" if args.partial else "reject"
    with cli.open_runtime(args) as runtime:
        receiver = runtime.receiver(args.issuer)
        received = receiver.import_voucher(cli.read_bytes(args.file))
        mr = receiver.respond(
            received.clave,
            decision,
            reason=args.reason,
            condicion_impuesto=args.condicion_impuesto,
            codigo_actividad=args.codigo_actividad,
            monto_total_impuesto_acreditar=_amount(args.acreditar, "--acreditar"),
            monto_total_de_gasto_aplicable=_amount(args.gasto, "--gasto"),
        )
        state = None
        if args.submit:
            asyncio.run(drain(runtime, within=args.within, keys=[mr.key]))
            state = runtime.store.require(mr.key).state.value
        info = {
            "clave": received.clave,
            "emisor": received.emisor_numero,
            "total_comprobante": received.total_comprobante,
            "decision": mr.tipo,
            "consecutivo_receptor": mr.consecutivo,
            "key": mr.key,
            "state": state or mr.record.state.value,
        }
        if args.json:
            cli.dump_json(info)
        else:
            print(
                f"{received.clave} from {received.emisor_numero} ({received.emisor_nombre}), total "
                f"{received.total_comprobante}: {decision} -> MensajeReceptor {mr.consecutivo} "
                f"[{info['state']}]"
            )
        if not args.submit:
            return 0
        return int(cli.outcome_code([runtime.store.require(mr.key)], runtime.store))


def register(sub: Any) -> None:
    p = sub.add_parser(
        "receive", help="verify and store a supplier's voucher and accept, partially accept or reject it"
    )
    p.add_argument("file", metavar="FILE.xml", help="the supplier's signed voucher ('-': stdin)")
    cli.add_outbox_arguments(p, submit="send the answer now and wait for Hacienda")
    cli.add_issuer_argument(p, help="the configured taxpayer the voucher is addressed to ([issuers.NAME])")
    group = p.add_mutually_exclusive_group(required=True)
    group.add_argument("--accept", action="store_true", help="aceptación (05)")
    group.add_argument("--partial", action="store_true", help="aceptación parcial (06): needs --reason")
    group.add_argument("--reject", action="store_true", help="rechazo (07): needs --reason")
    p.add_argument("--reason", help="DetalleMensaje, 5-160 characters")
    p.add_argument("--condicion-impuesto", help="CondicionImpuesto (Nota 18), 01-05")
    p.add_argument("--codigo-actividad", help="your activity code the tax credit applies to")
    p.add_argument("--acreditar", help="MontoTotalImpuestoAcreditar")
    p.add_argument("--gasto", help="MontoTotalDeGastoAplicable")
    p.set_defaults(func=cmd_receive)
