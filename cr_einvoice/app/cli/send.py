"""``cr-einvoice send CLAVE [--to ADDR]... [--force]``: e-mail a voucher now (``[delivery]``, ``[smtp]``).

Without ``--to``, the e-mails the voucher is due (the receptor and the copies, per ``[delivery] mode``) are
planned if they were not, and every pending one is sent now; with ``--to``, the voucher's latest e-mail also
goes to those addresses. ``--force`` sends again what ended ``failed``, ``bounced`` or ``uncertain`` (an
``uncertain`` e-mail may have arrived: check with the recipient first). An e-mail already sent is never sent
again. The worker sends the same deliveries when ``[delivery] enabled`` is true.
"""

from __future__ import annotations

import argparse
from typing import Any

from cr_einvoice.app.cli import _common as cli
from cr_einvoice.core.errors import ExitCode
from cr_einvoice.outbox.delivering import DeliveryReport, force, summarize
from cr_einvoice.outbox.store import DeliveryRecord, DeliveryState

__all__ = ["register"]


def cmd_send(args: argparse.Namespace) -> int:
    with cli.open_runtime(args) as runtime:
        store = runtime.store
        record = cli.find_record(store, args.clave)
        deliverer = runtime.deliverer()
        if args.to:
            for address in args.to:
                deliverer.add_recipient(record.key, address)
        else:
            deliverer.plan_voucher(record)
        if args.force:
            chosen: list[str | None] = [deliverer.add_recipient(record.key, a).recipient for a in args.to]
            for recipient in chosen or [None]:
                force(store, record.key, recipient=recipient)
        report = DeliveryReport()
        try:
            deliverer.run_due(report, key=record.key)
        finally:
            store.retire(deliverer.owner)
        deliveries = store.deliveries(record.key)
    if args.json:
        cli.dump_json(
            {"key": record.key, "state": record.state.value, "deliveries": [d.summary() for d in deliveries]}
        )
    else:
        _print(record.key, record.state.value, deliveries)
    return int(_code(report))


def _print(key: str, state: str, deliveries: list[DeliveryRecord]) -> None:
    if not deliveries:
        print(f"{key} ({state}): no e-mail is due (see [delivery] mode; a receptor without e-mail gets none)")
        return
    for d in deliveries:
        note = f"  {d.last_error}" if d.last_error and d.state is not DeliveryState.SENT else ""
        print(f"{d.recipient}  {d.stage.value}  {d.state.value}  (attempts {d.attempts}){note}")
    print(f"{key}: {summarize(deliveries)}")


def _code(report: DeliveryReport) -> ExitCode:
    """FAILED when an e-mail of this run was refused, given up or left uncertain; UNREACHABLE when one
    will be tried again later; OK otherwise."""
    if report.bounced or report.failed or report.uncertain:
        return ExitCode.FAILED
    return ExitCode.UNREACHABLE if report.retry else ExitCode.OK


def register(sub: Any) -> None:
    p = sub.add_parser("send", help="e-mail a voucher (XML, PDF, Hacienda's answer) to its receptor now")
    cli.add_outbox_arguments(p, clave=True)
    p.add_argument(
        "--to", action="append", default=[], metavar="ADDR", help="also send to this address (repeatable)"
    )
    p.add_argument(
        "--force",
        action="store_true",
        help="send again the e-mails that ended failed, bounced or uncertain (check uncertain ones first)",
    )
    p.set_defaults(func=cmd_send)
