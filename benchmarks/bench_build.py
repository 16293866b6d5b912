"""Benchmark: build a document from the model, serialise it and XSD-validate it (3-line and 200-line FE).

Printed beside a reference measured in the same run: lxml parsing and XSD-validating the very same bytes.
The ratio says how much building the model and the XML adds on top of the unavoidable XML work.

Run: ``python benchmarks/bench_build.py`` (needs the official schemas: CR_EINVOICE_SCHEMAS or ../shared).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

from lxml import etree

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
if "CR_EINVOICE_SCHEMAS" not in os.environ and (ROOT.parent / "shared" / "hacienda" / "schemas").is_dir():
    os.environ["CR_EINVOICE_SCHEMAS"] = str(ROOT.parent / "shared" / "hacienda" / "schemas")

from cr_einvoice.core.clave import Clave, Consecutivo, cr_now  # noqa: E402
from cr_einvoice.vouchers.model import (  # noqa: E402
    Descuento,
    Emisor,
    FacturaElectronica,
    Identificacion,
    Impuesto,
    LineaDetalle,
    MedioPago,
    Receptor,
    Ubicacion,
)
from cr_einvoice.vouchers.schemas import validate_xsd  # noqa: E402
from cr_einvoice.vouchers.xmlwrite import to_xml  # noqa: E402

#: Targets per document size: at least this many documents per second for build + XML + XSD validation
#: (far above what Hacienda's recepción accepts per taxpayer), and at most this ratio to the raw lxml
#: parse + validate of the same bytes (the model and the serialisation add at most that much).
TARGETS = {3: (300.0, 8.0), 200: (15.0, 12.0)}

EMISOR = Emisor(
    nombre="Soluciones Tecnológicas del Valle S.A.",
    identificacion=Identificacion(tipo="02", numero="3101123456"),
    ubicacion=Ubicacion(provincia=1, canton=1, distrito=8, otras_senas="Del Estadio Nacional 200 m oeste"),
    correos_electronicos=("facturacion@tecnovalle.example.cr",),
)
RECEPTOR = Receptor(
    nombre="Distribuidora La Sabana Ltda", identificacion=Identificacion(tipo="02", numero="3102654321")
)
NOW = cr_now()
CONSECUTIVO = Consecutivo(sucursal=1, terminal=1, tipo="01", numero=1)  # type: ignore[arg-type]
CLAVE = Clave.build(
    tipo_identificacion="02", numero_identificacion="3101123456", consecutivo=CONSECUTIVO, fecha=NOW
)


def build(n_lines: int) -> bytes:
    lineas = tuple(
        LineaDetalle(
            codigo_cabys=("8314200000000" if i % 2 else "4527100000100"),
            detalle=f"Artículo número {i + 1}",
            cantidad=Decimal(i % 7 + 1),
            precio_unitario=Decimal("1234.56789") + i,
            descuentos=(Descuento(codigo_descuento="07", porcentaje=Decimal("5")),) if i % 3 == 0 else (),
            impuestos=(Impuesto(codigo="01", codigo_tarifa_iva="08" if i % 4 else "04"),),
        )
        for i in range(n_lines)
    )
    doc = FacturaElectronica(
        proveedor_sistemas="3101123456",
        emisor=EMISOR,
        receptor=RECEPTOR,
        codigo_actividad_emisor="620100",
        lineas=lineas,
        medios_pago=(MedioPago(tipo_medio_pago="04"),),
        clave=str(CLAVE),
        numero_consecutivo=str(CONSECUTIVO),
        fecha_emision=NOW,
    )
    return to_xml(doc)


def full(n_lines: int) -> None:
    data = build(n_lines)
    problems = validate_xsd(etree.fromstring(data), signed=False)
    assert not problems, problems


def reference(data: bytes) -> None:
    problems = validate_xsd(etree.fromstring(data), signed=False)
    assert not problems, problems


def rate(func: Callable[[], None], seconds: float = 1.5) -> float:
    func()  # warm up (schema compilation, caches)
    count, start = 0, time.perf_counter()
    while True:
        func()
        count += 1
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return count / elapsed


def main() -> int:
    ok = True
    print(f"{'document':>16} {'build+XML+XSD':>16} {'parse+XSD (ref)':>16} {'ratio':>7}  target")
    for n_lines, (min_rate, max_ratio) in TARGETS.items():
        data = build(n_lines)
        ours = rate(lambda n=n_lines: full(n))
        ref = rate(lambda d=data: reference(d))
        ratio = ref / ours
        met = ours >= min_rate and ratio <= max_ratio
        ok = ok and met
        print(
            f"{f'FE {n_lines} lines':>16} {ours:>12.1f}/s {ref:>12.1f}/s {ratio:>6.2f}x  "
            f">= {min_rate:.0f}/s and <= {max_ratio:.0f}x: {'met' if met else 'NOT met'}"
        )
    print("all targets met" if ok else "some targets NOT met (a loaded machine slows the absolute rates)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
