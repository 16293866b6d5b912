"""Receive Hacienda's answers by callback: the worker sends each voucher with its own unguessable callback URL
and a local receiver (uvicorn) applies the signed answers as they arrive; polling remains the fallback.

Runs against the local Hacienda simulator with TEST certificates. In production serve the receiver behind
HTTPS and give its public address as ``CallbackServer(public_url=...)`` (or ``cr-einvoice worker --listen``).
"""

from __future__ import annotations

import asyncio
import os

from cr_einvoice.app.demo import LocalSandbox
from cr_einvoice.core.secret import Secret
from cr_einvoice.outbox.worker import CallbackServer, Worker, WorkerSettings
from cr_einvoice.testing.examples import example_json
from cr_einvoice.vouchers.jsonio import document_from_json


async def main() -> None:
    with LocalSandbox(processing_delay=0.3) as box:
        issuer = box.issuer()
        store = box.runtime.store
        issued = [issuer.issue(document_from_json(example_json("fe"))) for _ in range(3)]
        server = CallbackServer(host="127.0.0.1", port=0)
        settings = WorkerSettings(
            callback_url=server.url,
            callback_secret=Secret(os.urandom(16).hex()),
            poll_initial=30.0,  # polling only as a late fallback: the callbacks should win
        )
        async with box.runtime.async_client() as api:
            worker = Worker(store, api, settings)
            async with server.serving(worker.callback_app()):
                print(f"callback receiver on {server.url}")
                await worker.run_once()  # submit
                for _ in range(200):
                    if all(store.require(v.key).is_final for v in issued):
                        break
                    await asyncio.sleep(0.05)
        for v in issued:
            record = store.require(v.key)
            sources = [r.source for r in store.respuestas(v.key)]
            print(f"{v.consecutivo}: {record.state.value} (answer via {', '.join(sources) or 'nothing yet'})")


if __name__ == "__main__":
    asyncio.run(main())
