"""The process the crash test kills: issues orders 0..N-1 (idempotently) and submits them until all are final.

Run as ``python crash_child.py '<json settings>'``. Prints ``READY`` once it is about to start working, and
``DONE`` when every voucher is final. It can be SIGKILLed at any point and simply started again: issuing is
idempotent per order (``external_ref``) and the worker resumes from the store.
"""

from __future__ import annotations

import asyncio
import json
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from outbox_docs import EMISOR_ID, ticket

from cr_einvoice.core.secret import Secret
from cr_einvoice.hacienda import AsyncClient, Credentials, Environment
from cr_einvoice.outbox.issuing import Issuer, IssuerSettings
from cr_einvoice.outbox.store import VoucherState, open_store
from cr_einvoice.outbox.worker import Worker, WorkerSettings
from cr_einvoice.signing.certs import load_p12
from cr_einvoice.signing.xades import Signer, TrustStore
from cr_einvoice.transport.http import RetryPolicy


async def main(cfg: dict[str, object]) -> None:
    store = open_store(str(cfg["db"]), create=True)
    signer = Signer(load_p12(str(cfg["p12"]), str(cfg["pin"])))
    issuer = Issuer(store, signer, IssuerSettings("02", EMISOR_ID, "Empresa de Pruebas S.A."))
    env = Environment.custom(
        token_url=str(cfg["token_url"]), recepcion_url=str(cfg["recepcion_url"]), client_id="api-stag"
    )
    trust = TrustStore.from_pem_files(str(cfg["sello_ca"]))
    rng = random.Random()
    tuning = WorkerSettings(
        concurrency=8,
        batch=64,
        poll_initial=0.05,
        poll_max=0.4,
        send_backoff_base=0.05,
        lease=0.5,
        idle=0.05,
        resend_after=1.0,
    )
    total = int(str(cfg["n"]))
    doc = ticket(lines=1)
    async with AsyncClient(
        env,
        Credentials(str(cfg["user"]), Secret(str(cfg["password"]))),
        trust=trust,
        retry=RetryPolicy(4, 0.05, 1.0),
    ) as api:
        worker = Worker(store, api, tuning)
        stop = asyncio.Event()
        # As at a point of sale: issuing in the foreground (a thread), the worker sending in the background.
        background = asyncio.create_task(worker.run_forever(stop))
        print("READY", flush=True)
        for i in range(total):
            await asyncio.to_thread(issuer.issue, doc, external_ref=f"order-{i}")
            worker.wake()
            if rng.random() < 0.02:
                await asyncio.sleep(0)
        while True:
            counts = store.count_by_state()
            if (
                counts[VoucherState.ACCEPTED] + counts[VoucherState.REJECTED] + counts[VoucherState.ERROR]
                >= total
            ):
                break
            await asyncio.sleep(0.02)
        stop.set()
        await background
    store.close()
    print("DONE", flush=True)


if __name__ == "__main__":
    asyncio.run(main(json.loads(sys.argv[1])))
