"""One node of the PostgreSQL crash test: issues its share of two taxpayers' orders (idempotently) into the
shared database and runs a worker, until every voucher of the run is final.

Run as ``python pg_crash_node.py '<json settings>'``. Prints ``READY`` once its worker runs and ``DONE`` at
the end. It may be SIGKILLed at any point and started again: issuing is idempotent per order
(``external_ref``) and another node takes over the vouchers it held (its heartbeat goes stale).
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from outbox_docs import ticket

from cr_einvoice.core.secret import Secret
from cr_einvoice.hacienda import AsyncClient, Credentials, Environment
from cr_einvoice.outbox.issuing import Issuer, IssuerSettings
from cr_einvoice.outbox.store import VoucherState, open_store
from cr_einvoice.outbox.worker import Worker, WorkerSettings
from cr_einvoice.signing.certs import load_p12
from cr_einvoice.signing.xades import Signer, TrustStore
from cr_einvoice.transport.http import RetryPolicy

TUNING = WorkerSettings(
    concurrency=8,
    batch=64,
    poll_initial=0.1,
    poll_max=0.4,
    send_backoff_base=0.05,
    send_backoff_max=0.5,
    lease=30.0,  # longer than the test: a dead node's vouchers come back by its stale heartbeat
    heartbeat=0.2,
    stale_after=1.5,
    idle=1.0,  # LISTEN/NOTIFY wakes it sooner when any node issues
    resend_after=3.0,
)


async def main(cfg: dict[str, object]) -> None:
    store = open_store(str(cfg["url"]))
    node, nodes, per_taxpayer = int(str(cfg["node"])), int(str(cfg["nodes"])), int(str(cfg["n"]))
    taxpayers = [dict(t) for t in cfg["taxpayers"]]  # type: ignore[attr-defined]
    issuers = [
        Issuer(
            store,
            Signer(load_p12(str(t["p12"]), str(t["pin"]))),
            IssuerSettings("02", str(t["numero"]), "Empresa de Pruebas S.A.", validate_xsd=False),
        )
        for t in taxpayers
    ]
    docs = [ticket(lines=1, numero=str(t["numero"])) for t in taxpayers]
    env = Environment.custom(
        token_url=str(cfg["token_url"]), recepcion_url=str(cfg["recepcion_url"]), client_id="api-stag"
    )
    async with AsyncClient(
        env,
        Credentials(str(cfg["user"]), Secret(str(cfg["password"]))),
        trust=TrustStore.from_pem_files(str(cfg["sello_ca"])),
        retry=RetryPolicy(4, 0.05, 1.0),
    ) as api:
        worker = Worker(store, api, TUNING)
        stop = asyncio.Event()
        background = asyncio.create_task(worker.run_forever(stop))
        print("READY", flush=True)
        pace = float(str(cfg.get("pace", 0)))
        for i in range(node, per_taxpayer, nodes):
            for issuer, doc, t in zip(issuers, docs, taxpayers, strict=True):
                await asyncio.to_thread(issuer.issue, doc, external_ref=f"{t['numero']}-order-{i}")
            await asyncio.sleep(pace)  # a point of sale's pace: the run lasts long enough to be killed often
        total = per_taxpayer * len(taxpayers)
        while True:
            counts = await asyncio.to_thread(store.count_by_state)
            final = counts[VoucherState.ACCEPTED] + counts[VoucherState.REJECTED] + counts[VoucherState.ERROR]
            if final >= total:
                break
            await asyncio.sleep(0.1)
        stop.set()
        await background
    store.close()
    print("DONE", flush=True)


if __name__ == "__main__":
    asyncio.run(main(json.loads(sys.argv[1])))
