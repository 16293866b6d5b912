"""Issuing speed, each figure beside raw RSA-2048 signing measured in the same run.

Run: ``.venv/bin/python benchmarks/bench_issue.py`` (``--quick`` for smaller runs, ``--batch N`` for the
batch size, ``--no-postgres`` to skip the PostgreSQL figures, ``--strict`` to exit 1 when a target is
missed). The reference is one raw RSA-2048 PKCS#1 v1.5 SHA-256 signature of a SignedInfo-sized message
(``cryptography``), timed interleaved with the figure it is compared with, so a loaded machine slows both.

- ``issue()`` of a 3-line ticket (validated: model, XSD, rules; numbered; signed; persisted with fsync),
  p50 against one raw sign: SQLite <= 4 x, PostgreSQL on loopback <= 6 x; and, for the record, the same
  into SQLite without the XSD and the business rules (what the rest of the pipeline costs);
- a batch of ``--batch`` tickets (default 100,000) issued one by one into SQLite from a generator (nothing
  kept): the rate, and the process's resident memory growth after the first 1,000 (target < 50 MB);
- PostgreSQL throughput: vouchers issued, then sent and followed to ``aceptado`` against the local Hacienda
  simulator (its own process) by 1 and by 3 worker processes (``cr-einvoice worker``); the rate beside the
  sign-only rate (``Signer.sign(to_xml(ticket))``), target >= 10 x Hacienda's 100 submissions/min.

PostgreSQL is a throwaway server on loopback (:func:`cr_einvoice.testing.pgserver.start_postgres`, which
installs Debian's ``postgresql`` when it is missing, as ``make test`` does), with fsync'd commits like
SQLite's.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from cr_einvoice.outbox.issuing import Issuer, IssuerSettings  # noqa: E402
from cr_einvoice.outbox.store import Store, open_store  # noqa: E402
from cr_einvoice.signing.certs import Credential, load_p12  # noqa: E402
from cr_einvoice.signing.xades import Signer  # noqa: E402
from cr_einvoice.testing.pki import TestPKI, make_test_pki  # noqa: E402
from cr_einvoice.vouchers.jsonio import document_from_json  # noqa: E402

TAXPAYER = "3101123456"
MESSAGE = b"x" * 1400  # about the size of a canonical SignedInfo
SQLITE_TARGET = 4.0
POSTGRES_TARGET = 6.0
RSS_TARGET_MB = 50.0

EMISOR = {
    "nombre": "Soluciones Tecnológicas del Valle S.A.",
    "identificacion": {"tipo": "02", "numero": TAXPAYER},
    "correos_electronicos": ["caja@tecnovalle.example.cr"],
    "ubicacion": {"provincia": "1", "canton": "01", "distrito": "08", "otras_senas": "Frente al parque"},
}


def ticket_json(n: int = 0, lines: int = 3) -> dict[str, object]:
    """A 3-line ticket; ``n`` varies the prices so that no two vouchers of a batch are alike."""
    return {
        "tipo": "te",
        "proveedor_sistemas": TAXPAYER,
        "codigo_actividad_emisor": "620100",
        "emisor": EMISOR,
        "lineas": [
            {
                "codigo_cabys": "2399999009900",
                "detalle": f"Artículo {i + 1}",
                "cantidad": str(1 + i),
                "precio_unitario": f"{1500 + 250 * i + n % 997}",
                "impuestos": [{"codigo": "01", "codigo_tarifa_iva": "08"}],
            }
            for i in range(lines)
        ],
        "medios_pago": [{"tipo_medio_pago": "01"}],
    }


def raw_signer(cred: Credential) -> Callable[[], object]:
    key = cred.private_key
    pad, alg = padding.PKCS1v15(), hashes.SHA256()
    return lambda: key.sign(MESSAGE, pad, alg)


@dataclass(frozen=True)
class Paired:
    """A figure and its reference, timed one after the other each round: p50 wall time and mean CPU time
    of this thread (seconds)."""

    p50: float
    ref_p50: float
    cpu: float
    ref_cpu: float


def paired_p50(work: Callable[[], object], reference: Callable[[], object], rounds: int) -> Paired:
    ours: list[float] = []
    ref: list[float] = []
    cpu = ref_cpu = 0.0
    clock, cpu_clock = time.perf_counter, time.thread_time
    for _ in range(rounds):
        c0, t0 = cpu_clock(), clock()
        reference()
        t1, c1 = clock(), cpu_clock()
        work()
        t2, c2 = clock(), cpu_clock()
        ref.append(t1 - t0)
        ours.append(t2 - t1)
        ref_cpu += c1 - c0
        cpu += c2 - c1
    return Paired(statistics.median(ours), statistics.median(ref), cpu / rounds, ref_cpu / rounds)


def report_latency(what: str, figure: Paired, target: float) -> bool:
    """Print an issue() latency beside raw signing (and how much of it is this process's CPU time)."""
    ratio = figure.p50 / figure.ref_p50
    met = ratio <= target
    print(
        f"issue() 3-line ticket, {what:10} p50 {figure.p50 * 1e3:7.3f} ms = {ratio:5.2f} x raw sign "
        f"(p50 {figure.ref_p50 * 1e3:.3f} ms)   target <= {target:.0f} x: {verdict(met)}"
    )
    print(
        f"  its CPU time (no target):       {figure.cpu * 1e3:7.3f} ms = {figure.cpu / figure.ref_cpu:5.2f} x"
        " raw sign's; the rest is waiting for the disk (fsync'd commit), the server or the processor"
    )
    return met


def verdict(met: bool) -> str:
    return "met" if met else "NOT met"


def rss_mb() -> float:
    """This process's resident set size now (MB), from /proc."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("VmRSS not found in /proc/self/status")


def issue_latency(
    store: Store, signer: Signer, sign: Callable[[], object], rounds: int, *, checks: bool = True
) -> Paired:
    """issue() of 3-line tickets into ``store`` beside raw signing (``checks=False``: without the XSD and the
    business rules, ``IssuerSettings(validate_xsd=False, validate_rules=False)``)."""
    settings = IssuerSettings("02", TAXPAYER, "Bench S.A.", validate_xsd=checks, validate_rules=checks)
    issuer = Issuer(store, signer, settings)
    document = document_from_json(ticket_json())
    for _ in range(20):  # warm-up: schemas compiled, statements prepared, WAL in use
        issuer.issue(document)
    return paired_p50(lambda: issuer.issue(document), sign, rounds)


def documents(count: int) -> Iterator[Any]:
    for n in range(count):
        yield document_from_json(ticket_json(n))


def batch(store: Store, signer: Signer, count: int) -> tuple[float, float, float]:
    """(vouchers per second, RSS growth in MB after the first 1,000, peak RSS in MB) of a streamed batch."""
    issuer = Issuer(store, signer, IssuerSettings("02", TAXPAYER, "Bench S.A.", sucursal=3))
    settle = min(1000, max(1, count // 10))
    baseline = peak = 0.0
    start = time.perf_counter()
    for n, document in enumerate(documents(count), start=1):
        issuer.issue(document)
        if n == settle:
            baseline = peak = rss_mb()
        elif n % 1000 == 0:
            peak = max(peak, rss_mb())
    elapsed = time.perf_counter() - start
    peak = max(peak, rss_mb())
    return count / elapsed, peak - baseline, peak


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller runs")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--batch", type=int, default=None, help="tickets in the batch (default 100000)")
    parser.add_argument("--no-postgres", action="store_true", help="skip the PostgreSQL figures")
    args = parser.parse_args(argv)
    rounds = 200 if args.quick else 1000
    count = args.batch if args.batch is not None else (5000 if args.quick else 100_000)
    results: list[bool] = []

    with tempfile.TemporaryDirectory(prefix="bench-issue-") as tmp:
        pki = make_test_pki(Path(tmp) / "pki", taxpayer_id=TAXPAYER)
        cred = load_p12(str(pki.taxpayer_p12), pki.pin)
        signer = Signer(cred)
        sign = raw_signer(cred)

        with open_store(Path(tmp) / "latency.db", create=True) as store:
            results.append(
                report_latency("SQLite:", issue_latency(store, signer, sign, rounds), SQLITE_TARGET)
            )
            bare = issue_latency(store, signer, sign, rounds, checks=False)
        print(
            f"  the same without the XSD and the business rules (no target): p50 {bare.p50 * 1e3:7.3f} ms = "
            f"{bare.p50 / bare.ref_p50:5.2f} x raw sign: numbering, XML, XAdES and the fsync'd store alone"
        )

        with open_store(Path(tmp) / "batch.db", create=True) as store:
            ref_rate = 1.0 / statistics.median(_timed(sign, 500))
            rate, growth, peak = batch(store, signer, count)
        results.append(growth < RSS_TARGET_MB)
        print(
            f"batch of {count} tickets, SQLite: {rate:8.1f} /s = {rate / ref_rate:.3f} x the raw sign rate "
            f"({ref_rate:.0f} /s); RSS growth {growth:.1f} MB (peak {peak:.0f} MB)   "
            f"target growth < {RSS_TARGET_MB:.0f} MB: {verdict(results[-1])}"
        )
        if not args.no_postgres:
            results += postgres_figures(pki, signer, sign, rounds, 100 if args.quick else 400)
    print("all targets met" if all(results) else "some targets NOT met")
    return 1 if args.strict and not all(results) else 0


def postgres_figures(
    pki: TestPKI, signer: Signer, sign: Callable[[], object], rounds: int, count: int
) -> list[bool]:
    """issue() p50 into PostgreSQL on loopback (fsync'd commits, as SQLite's), then ``count`` vouchers sent
    and followed to acceptance by 1 and by 3 worker processes; prints the figures, returns the targets."""
    from bench_e2e import HACIENDA_POST_RATE, sign_only_rate, simulator, wait_accepted, workers

    from cr_einvoice.testing.pgserver import start_postgres

    results: list[bool] = []
    server = start_postgres(durable=True)
    try:
        with open_store(server.create_database(), create=True) as store:
            figure = issue_latency(store, signer, sign, rounds)
        results.append(report_latency("PostgreSQL:", figure, POSTGRES_TARGET))
        sign_rate, _ = sign_only_rate(signer, 200)
        with simulator(pki) as urls:
            for n in (1, 3):
                url = server.create_database()
                with open_store(url, create=True) as store:
                    issuer = Issuer(store, signer, IssuerSettings("02", TAXPAYER, "Bench S.A.", sucursal=n))
                    document = document_from_json(ticket_json())
                    for _ in range(count):
                        issuer.issue(document)
                    with workers(url, urls, pki, n) as go:
                        started = time.perf_counter()
                        go.set()
                        wait_accepted(store, count)
                        rate = count / (time.perf_counter() - started)
                results.append(rate >= 10 * HACIENDA_POST_RATE)
                workers_text = f"{n} worker process{'es' if n > 1 else '  '}"
                print(
                    f"PostgreSQL, {workers_text}: {rate:8.1f} vouchers/s sent -> "
                    f"accepted = {rate / sign_rate:.3f} x the sign-only rate ({sign_rate:.0f} /s)   "
                    f"target >= 10 x Hacienda's 100 submissions/min: {verdict(results[-1])}"
                )
    finally:
        server.stop()
    return results


def _timed(func: Callable[[], object], rounds: int) -> list[float]:
    out = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        func()
        out.append(time.perf_counter() - t0)
    return out


if __name__ == "__main__":
    raise SystemExit(main())
