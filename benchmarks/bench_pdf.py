"""Benchmark: the graphic representation -- a 3-line ticket (80 mm roll) and a 200-line invoice (A4).

Printed beside a reference measured in the same run: one raw RSA-2048 signature (PKCS#1 v1.5, SHA-256) with
the cryptography library, the unit of work every voucher needs anyway. Targets (issue #15): the ticket in at
most 5 signatures' time, the 200-line invoice in at most 150. Each figure is the median of repeated renders
of the same signed voucher (parsing the XML, building the view, laying out, QR code, fonts, writing the PDF),
in CPU time.

Run: ``python benchmarks/bench_pdf.py`` (needs the ``[pdf]`` extra).
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cr_einvoice.core.clave import CR_TZ, Clave, Consecutivo  # noqa: E402
from cr_einvoice.delivery.pdf import render_pdf  # noqa: E402
from cr_einvoice.signing.certs import load_p12  # noqa: E402
from cr_einvoice.signing.xades import Signer  # noqa: E402
from cr_einvoice.testing.examples import example_json  # noqa: E402
from cr_einvoice.testing.pki import make_test_pki  # noqa: E402
from cr_einvoice.vouchers.jsonio import document_from_json  # noqa: E402
from cr_einvoice.vouchers.xmlwrite import to_xml  # noqa: E402

#: (what, format, number of lines, the example it repeats, target ratio to one RSA-2048 signature)
CASES = (("ticket, 3 lines", "80mm", 3, "te", 5.0), ("invoice, 200 lines", "a4", 200, "fe", 150.0))


def signed_voucher(signer: Signer, kind: str, lines: int) -> bytes:
    from datetime import datetime

    data = example_json(kind)
    source = data["lineas"]
    data["lineas"] = [{**source[i % len(source)], "detalle": f"Artículo {i + 1}"} for i in range(lines)]
    data["medios_pago"] = [{"tipo_medio_pago": "01"}]
    doc = document_from_json(data)
    fecha = datetime(2026, 7, 15, 9, 30, tzinfo=CR_TZ)
    consecutivo = Consecutivo(sucursal=1, terminal=1, tipo=doc.tipo, numero=1)
    emisor = doc.emisor.identificacion  # type: ignore[union-attr]
    clave = Clave.build(
        tipo_identificacion=emisor.tipo,
        numero_identificacion=emisor.numero,
        consecutivo=consecutivo,
        fecha=fecha,
    )
    numbered = doc.with_numbering(consecutivo=consecutivo, clave=clave, fecha_emision=fecha)  # type: ignore[union-attr]
    return signer.sign(to_xml(numbered))


def paired_medians(
    func: Callable[[], object], reference: Callable[[], object], seconds: float = 2.0, at_least: int = 5
) -> tuple[float, float]:
    """The median CPU times of ``func`` and of ``reference``, timed one after the other each round (process
    time: on a shared machine, time spent waiting for a core is not counted; a busy moment slows both). The
    reference runs twice untimed before its timed run, so that it is timed warm, as in a loop of its own, and
    not slowed by the caches a long render leaves behind."""
    func()  # warm up: fonts registered, modules imported
    reference()
    ours: list[float] = []
    ref: list[float] = []
    start = time.perf_counter()
    clock = time.process_time
    while len(ours) < at_least or time.perf_counter() - start < seconds:
        reference()
        reference()
        t0 = clock()
        reference()
        t1 = clock()
        func()
        t2 = clock()
        ref.append(t1 - t0)
        ours.append(t2 - t1)
    return statistics.median(ours), statistics.median(ref)


def main() -> int:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    digest = b"x" * 32

    def rsa_sign() -> object:
        return key.sign(digest, padding.PKCS1v15(), hashes.SHA256())

    with tempfile.TemporaryDirectory() as folder:
        pki = make_test_pki(folder, rc2=False)
        signer = Signer(load_p12(str(pki.taxpayer_p12), pki.pin))
        vouchers = {case: signed_voucher(signer, case[3], case[2]) for case in CASES}
    print("reference: one raw RSA-2048 signature, timed before each render")
    print(f"{'render':>20} {'format':>7} {'median':>10} {'ratio':>9} {'sign':>9}  target")
    ok = True
    for case, xml in vouchers.items():
        what, fmt, _, _, target = case
        seconds, sign = paired_medians(lambda x=xml, f=fmt: render_pdf(x, format=f), rsa_sign)
        ratio = seconds / sign
        met = ratio <= target
        ok = ok and met
        print(
            f"{what:>20} {fmt:>7} {seconds * 1000:>7.2f} ms {ratio:>8.1f}x {sign * 1000:>6.3f} ms  "
            f"<= {target:.0f}x: {'met' if met else 'NOT met'}"
        )
    print("all targets met" if ok else "some targets NOT met")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
