"""``cr-einvoice poll``: ask Hacienda now about every voucher that was sent and has no final answer yet."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from cr_einvoice.app.cli._common import (
    add_issuer_argument,
    add_outbox_arguments,
    dump_json,
    issuers_of,
    open_runtime,
)
from cr_einvoice.app.runtime import Runtime
from cr_einvoice.core.errors import ExitCode
from cr_einvoice.outbox.worker import RoundReport

__all__ = ["register"]


async def _poll(runtime: Runtime, issuers: list[str] | None) -> RoundReport:
    async with runtime.worker(issuers) as worker:
        return await worker.poll_now()


def cmd_poll(args: argparse.Namespace) -> int:
    with open_runtime(args) as runtime:
        report = asyncio.run(_poll(runtime, issuers_of(args)))
        counts = {s.value: n for s, n in runtime.store.count_by_state().items() if n}
    if args.json:
        dump_json(
            {
                "asked": report.polls,
                "accepted": report.accepted,
                "rejected": report.rejected,
                "failed": report.deferred,
                "store": counts,
            }
        )
    else:
        print(
            f"asked {report.polls}: {report.accepted} accepted, {report.rejected} rejected, "
            f"{report.deferred} could not be asked; outbox: "
            + (", ".join(f"{k} {v}" for k, v in counts.items()) or "empty")
        )
    return int(_code(report))


def _code(report: RoundReport) -> ExitCode:
    """REJECTED when a voucher asked about ended rejected or in error, UNREACHABLE when some could not be
    asked, else OK (a voucher still being processed is not a failure of ``poll``)."""
    if report.rejected or report.errors:
        return ExitCode.REJECTED
    return ExitCode.UNREACHABLE if report.deferred else ExitCode.OK


def register(sub: Any) -> None:
    p = sub.add_parser("poll", help="ask Hacienda about every sent voucher without a final answer")
    add_outbox_arguments(p)
    add_issuer_argument(p, many=True, help="only this taxpayer's vouchers (repeatable; default: all)")
    p.set_defaults(func=cmd_poll)
