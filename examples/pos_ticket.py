"""A point-of-sale ticket in a few lines: issue (milliseconds, no network), let the worker send it.

Runs against the local Hacienda simulator with TEST certificates. With your own configuration file
(``cr-einvoice init``) replace the ``LocalSandbox`` block by ``runtime = Runtime(load_config())``.
"""

from __future__ import annotations

import asyncio
import time

from cr_einvoice.app.demo import LocalSandbox
from cr_einvoice.outbox.worker import Worker
from cr_einvoice.vouchers.jsonio import document_from_json

TICKET = {
    "tipo": "te",
    "proveedor_sistemas": "3101123456",
    "codigo_actividad_emisor": "620100",
    "emisor": {
        "nombre": "Soluciones Tecnológicas del Valle S.A.",
        "identificacion": {"tipo": "02", "numero": "3101123456"},
        "correos_electronicos": ["caja@tecnovalle.example.cr"],
        "ubicacion": {
            "provincia": "1",
            "canton": "01",
            "distrito": "08",
            "otras_senas": "Frente al parque central",
        },
    },
    "lineas": [
        {
            "codigo_cabys": "2399999009900",
            "detalle": "Café molido 500 g",
            "cantidad": "2",
            "precio_unitario": "3500",
            "impuestos": [{"codigo": "01", "codigo_tarifa_iva": "08"}],
        },
        {
            "codigo_cabys": "2399999009900",
            "detalle": "Queque de naranja",
            "precio_unitario": "1800",
            "impuestos": [{"codigo": "01", "codigo_tarifa_iva": "08"}],
        },
    ],
    "medios_pago": [{"tipo_medio_pago": "01"}],
}


async def main() -> None:
    with LocalSandbox(processing_delay=0.2) as box:
        issuer = box.issuer()  # reuse one Issuer: signer, schemas and database stay loaded
        start = time.perf_counter()
        ticket = issuer.issue(document_from_json(TICKET), external_ref="caja-1/venta-0001")
        print(f"issued {ticket.consecutivo} in {1000 * (time.perf_counter() - start):.1f} ms: {ticket.clave}")
        async with box.runtime.async_client() as api:
            await Worker(box.runtime.store, api).drain(within=30)
        print(f"Hacienda: {box.runtime.store.require(ticket.key).state.value}")


if __name__ == "__main__":
    asyncio.run(main())
