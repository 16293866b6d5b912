"""``cr-einvoice submit``: send every pending voucher now and follow them until Hacienda answers."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Sequence
from typing import Any

from cr_einvoice.app.cli._common import add_config_argument, dump_json, open_runtime, outcome_code
from cr_einvoice.app.cli.listing import print_records, progress
from cr_einvoice.app.runtime import Runtime
from cr_einvoice.outbox.issuing import reissue_ref
from cr_einvoice.outbox.store import FINAL_STATES, VoucherState
from cr_einvoice.outbox.worker import RoundReport

__all__ = ["drain", "register"]


async def drain(
    runtime: Runtime,
    *,
    within: float,
    keys: Sequence[str] | None = None,
    issuers: Sequence[str] | None = None,
) -> RoundReport:
    """Run the worker (for ``issuers``, default all) until the vouchers (all pending ones by default) are
    final, with a progress bar."""
    store = runtime.store
    if keys is None:
        keys = [v.key for v in store.due(float("inf"), limit=1_000_000)]
    total = len(keys)
    report = RoundReport()
    if total == 0:
        return report
    async with runtime.worker(issuers) as worker:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        with progress(total, "waiting for Hacienda") as bar:
            while True:
                report.merge(await worker.run_once())
                done = sum(
                    1
                    for k in keys
                    if (r := store.get(k)) is not None
                    and (r.state in FINAL_STATES or r.state is VoucherState.ERROR)
                )
                bar.update(done)
                if done == total or loop.time() >= deadline:
                    break
                nxt = store.next_due_at()
                wait = 0.5 if nxt is None else max(0.05, min(2.0, nxt - time.time()))
                await asyncio.sleep(min(wait, max(0.0, deadline - loop.time())))
    return report


def cmd_submit(args: argparse.Namespace) -> int:
    with open_runtime(args) as runtime:
        pending = [v.key for v in runtime.store.due(float("inf"), limit=1_000_000)]
        if args.retry_errors:
            for v in runtime.store.list_vouchers(state=VoucherState.ERROR, limit=1_000_000):
                if runtime.store.find_by_ref(reissue_ref(v)) is not None:
                    continue  # issued again as a new voucher: sending this one too would bill twice
                runtime.store.transition(
                    v.key, VoucherState.SENDING, next_action_at=0.0, event="retry_requested"
                )
                pending.append(v.key)
        asyncio.run(drain(runtime, within=args.within, keys=pending))
        records = [runtime.store.require(k) for k in pending]
        if args.json:
            dump_json({"vouchers": [r.summary() for r in records]})
        elif records:
            print_records(records, as_json=False)
        else:
            print("nothing pending", file=sys.stderr)
        return int(outcome_code(records, runtime.store))


def register(sub: Any) -> None:
    p = sub.add_parser("submit", help="send every pending voucher now and wait for Hacienda's answers")
    add_config_argument(p)
    p.add_argument(
        "--within", type=float, default=120.0, help="seconds to wait for the answers (default 120)"
    )
    p.add_argument(
        "--retry-errors",
        action="store_true",
        help="also send again the vouchers in 'error' (after a fix; not those issued again with 'reissue')",
    )
    p.add_argument("--json", action="store_true", help="JSON output")
    p.set_defaults(func=cmd_submit)
