"""Receive a supplier's invoice and accept it: verify the supplier's signature, store it, answer with a
MensajeReceptor carrying our own consecutivo, and submit the answer like any voucher.

Runs against the local Hacienda simulator; the supplier's invoice is signed with a TEST key of the supplier.
On the command line: ``cr-einvoice receive factura.xml --accept`` (``--partial``/``--reject --reason ...``).
"""

from __future__ import annotations

import asyncio

from cr_einvoice.app.demo import LocalSandbox
from cr_einvoice.outbox.worker import Worker


async def main() -> None:
    with LocalSandbox(processing_delay=0.2) as box:
        xml = box.supplier_invoice()  # what arrives by e-mail from the supplier
        receiver = box.receiver()
        received = receiver.import_voucher(xml)  # signature verified, addressed to us, stored
        print(f"received {received.clave} from {received.emisor_nombre}: total {received.total_comprobante}")
        answer = receiver.respond(received.clave, "accept")
        print(f"MensajeReceptor {answer.consecutivo} (type {answer.tipo}) signed and stored")
        async with box.runtime.async_client() as api:
            await Worker(box.runtime.store, api).drain(within=30)
        print(f"Hacienda: {box.runtime.store.require(answer.key).state.value}")


if __name__ == "__main__":
    asyncio.run(main())
