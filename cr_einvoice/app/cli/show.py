"""``cr-einvoice show CLAVE``: one voucher of the outbox: record, history, signed XML, Hacienda's answer."""

from __future__ import annotations

import argparse
from typing import Any

from cr_einvoice.app.cli import _common as cli
from cr_einvoice.core.errors import StoreError

__all__ = ["register"]


def cmd_show(args: argparse.Namespace) -> int:
    with cli.open_runtime(args) as runtime:
        store = runtime.store
        record = cli.find_record(store, args.clave)
        if args.xml:
            cli.write_output(record.signed_xml, args.output)
            return 0
        respuestas = store.respuestas(record.key)
        if args.respuesta:
            raw = next((r.raw_xml for r in reversed(respuestas) if r.raw_xml), None)
            if raw is None:
                raise StoreError(f"Hacienda has not answered {record.key} yet (state {record.state.value})")
            cli.write_output(raw, args.output)
            return 0
        events = store.events(record.key)
        deliveries = store.deliveries(record.key)
        if args.json:
            cli.dump_json(
                {
                    **record.summary(),
                    "respuestas": [
                        {
                            "received_at": r.received_at,
                            "source": r.source,
                            "estado": r.estado,
                            "mensaje": r.mensaje,
                            "errores": list(r.errores),
                        }
                        for r in respuestas
                    ],
                    "events": [{"at": e.at, "kind": e.kind, "detail": dict(e.detail)} for e in events],
                    "deliveries": [d.summary() for d in deliveries],
                }
            )
            return 0
        for name, value in record.summary().items():
            if value is not None:
                print(f"{name:>22}: {value}")
        for r in respuestas:
            print(
                f"{'respuesta':>22}: {r.received_at.isoformat()} {r.source} {r.estado} (mensaje {r.mensaje})"
            )
            cli.print_errores(r.errores, " " * 24)
        for d in deliveries:
            error = f": {d.last_error}" if d.last_error else ""
            line = f"{d.recipient} {d.stage.value} {d.state.value} (attempts {d.attempts}){error}"
            print(f"{'e-mail':>22}: {line}")
        print(f"{'history':>22}:")
        for e in events:
            detail = ", ".join(f"{k}={v}" for k, v in e.detail.items())
            print(f"{'':>24}{e.at.isoformat()} {e.kind} {detail}")
    return 0


def register(sub: Any) -> None:
    p = sub.add_parser("show", help="show one voucher of the outbox (record, history, XML, respuesta)")
    cli.add_outbox_arguments(p, clave=True)
    group = p.add_mutually_exclusive_group()
    group.add_argument("--xml", action="store_true", help="write the exact signed XML")
    group.add_argument("--respuesta", action="store_true", help="write Hacienda's last MensajeHacienda")
    p.add_argument("-o", "--output", help="with --xml/--respuesta: write to this file instead of stdout")
    p.set_defaults(func=cmd_show)
