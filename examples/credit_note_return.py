"""A credit note for a returned sale: the customer brings back one article of an accepted invoice.

``build_correction`` reads the original voucher back from its signed XML and makes the NotaCredito with
InformacionReferencia (TipoDocIR 01, the invoice's clave and date, CodigoReferencia 06 "devolución de
mercancía") for the returned line only. Runs against the local Hacienda simulator.
"""

from __future__ import annotations

import asyncio

from cr_einvoice.app.demo import LocalSandbox
from cr_einvoice.outbox.issuing import build_correction
from cr_einvoice.outbox.worker import Worker
from cr_einvoice.testing.examples import example_json
from cr_einvoice.vouchers.jsonio import document_from_json
from cr_einvoice.vouchers.xmlread import from_xml


async def main() -> None:
    with LocalSandbox(processing_delay=0.2) as box:
        issuer = box.issuer()
        store = box.runtime.store
        async with box.runtime.async_client() as api:
            worker = Worker(store, api)
            sale = issuer.issue(document_from_json(example_json("fe")))
            await worker.drain(within=30)
            print(f"invoice {sale.consecutivo}: {store.require(sale.key).state.value}")

            returned_line = from_xml(sale.signed_xml).lineas[0]  # type: ignore[union-attr]
            note = build_correction(
                store.require(sale.key),
                kind="credit",
                codigo="06",
                razon="Devolución de mercadería por el cliente",
                lineas=[returned_line],
            )
            credit = issuer.issue(note)
            await worker.drain(within=30)
            total = credit.record.total_comprobante
            print(f"credit note {credit.consecutivo} for {total}: {store.require(credit.key).state.value}")
            print(f"  references invoice {sale.clave}")


if __name__ == "__main__":
    asyncio.run(main())
