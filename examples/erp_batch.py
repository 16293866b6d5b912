"""An ERP batch: issue a day's invoices with a progress bar, then submit them all with bounded concurrency.

Issuing is idempotent per ERP document id (``external_ref``): running the batch again after a crash never
issues an invoice twice. Runs against the local Hacienda simulator with TEST certificates.
"""

from __future__ import annotations

import asyncio
import copy
from decimal import Decimal

from cr_einvoice.app.cli.listing import Progress
from cr_einvoice.app.demo import LocalSandbox
from cr_einvoice.outbox.store import VoucherState
from cr_einvoice.outbox.worker import Worker, WorkerSettings
from cr_einvoice.testing.examples import example_json
from cr_einvoice.vouchers.jsonio import document_from_json

INVOICES = 40


def erp_rows() -> list[tuple[str, dict[str, object]]]:
    """What an ERP export would give: (document id, invoice in the JSON input format)."""
    template = example_json("fe")
    rows = []
    for n in range(1, INVOICES + 1):
        invoice = copy.deepcopy(template)
        invoice["lineas"][0]["cantidad"] = str(1 + n % 5)
        invoice["lineas"][0]["precio_unitario"] = str(Decimal("15000") + n)
        rows.append((f"ERP-2026-{n:05d}", invoice))
    return rows


async def main() -> None:
    with LocalSandbox(processing_delay=0.2) as box:
        issuer = box.issuer()
        store = box.runtime.store
        keys = []
        rows = erp_rows()
        with Progress(len(rows), "issuing") as bar:
            for ref, data in rows:
                keys.append(issuer.issue(document_from_json(data), external_ref=ref).key)
                bar.advance()
        async with box.runtime.async_client() as api:
            worker = Worker(store, api, WorkerSettings(concurrency=8, poll_initial=0.2, poll_max=2.0))
            with Progress(len(keys), "waiting for Hacienda") as bar:
                while True:
                    await worker.run_once()
                    done = sum(1 for k in keys if store.require(k).is_final)
                    bar.update(done)
                    if done == len(keys):
                        break
                    await asyncio.sleep(0.1)
        accepted = sum(1 for k in keys if store.require(k).state is VoucherState.ACCEPTED)
        print(f"{accepted} of {len(keys)} invoices accepted")


if __name__ == "__main__":
    asyncio.run(main())
