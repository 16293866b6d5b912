"""``make demo`` / ``python -m cr_einvoice.demo``: every voucher type, end to end, in well under a minute.

Without credentials (the default) it runs against the local Hacienda simulator:

1. generates TEST certificates for the company and for a supplier (:func:`cr_einvoice.certs.make_test_pki`);
2. starts the simulator (:class:`cr_einvoice.sandbox.Simulator`) on 127.0.0.1 and writes a configuration file
   pointing at it (so the ``cr-einvoice`` commands can look at the results afterwards);
3. issues FE, ND, NC (a return, built with :func:`~cr_einvoice.issuing.build_correction`), TE, FEC, FEE and
   REP into the durable outbox, imports a supplier's signed invoice and accepts it with a MensajeReceptor, and
   issues one voucher that is wrong on purpose -- a terminal configured with somebody else's ``.p12`` -- so
   you can see how a rejection arrives, with Hacienda's message;
4. runs the worker: submits with bounded concurrency, receives Hacienda's callbacks on a local receiver
   (when uvicorn is installed) and polls as a fallback;
5. prints a table of outcomes and stops the simulator.

With real credentials in the environment it runs the same flow against **Hacienda's sandbox**:
``CR_EINVOICE_USERNAME`` (the ATV API user, ``cpj-…@stag.comprobanteselectronicos.go.cr``),
``CR_EINVOICE_PASSWORD``, ``CR_EINVOICE_P12`` (path of the ATV sandbox key) and ``CR_EINVOICE_PIN``.
Callbacks need a public URL, so it polls; the supplier MensajeReceptor is skipped (Hacienda only knows
vouchers that were really submitted).
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from . import __version__
from ._secret import Secret
from .catalogs import TipoDocumento
from .config import (
    Config,
    EmisorSettings,
    HaciendaSettings,
    ReceivingSettings,
    Runtime,
    SigningSettings,
    StoreSettings,
    write_config,
)
from .errors import CrEinvoiceError, SchemaNotFoundError
from .store import VoucherRecord, VoucherState

__all__ = ["DemoResult", "main", "run_demo"]

#: The demo company (the model's examples issue as this taxpayer) and its supplier.
EMISOR = "3101123456"
SUPPLIER = "3101654321"
DEMO_USER = "cpj-3-101-123456@stag.comprobanteselectronicos.go.cr"
REAL_ENV = ("CR_EINVOICE_USERNAME", "CR_EINVOICE_PASSWORD", "CR_EINVOICE_P12", "CR_EINVOICE_PIN")

_NAMES = {
    "01": "Factura electrónica",
    "02": "Nota de débito",
    "03": "Nota de crédito",
    "04": "Tiquete",
    "05": "Aceptación (MR)",
    "06": "Aceptación parcial (MR)",
    "07": "Rechazo (MR)",
    "08": "Factura de compra",
    "09": "Factura de exportación",
    "10": "Recibo de pago",
}


@dataclass(frozen=True, slots=True)
class DemoResult:
    label: str
    record: VoucherRecord
    message: str

    @property
    def state(self) -> VoucherState:
        return self.record.state


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _schemas_available() -> bool:
    from .schemas import find_schemas_dir

    try:
        find_schemas_dir()
    except SchemaNotFoundError:
        return False
    return True


def _doc(kind: str, patch: Callable[[dict[str, Any]], None] | None = None) -> Any:
    from .examples import example_json
    from .jsonio import document_from_json

    data = copy.deepcopy(example_json(kind))
    if patch is not None:
        patch(data)
    return document_from_json(data)


def _message(store: Any, record: VoucherRecord) -> str:
    if record.state is VoucherState.ACCEPTED:
        return "Aceptado"
    if record.state is VoucherState.REJECTED:
        respuestas = store.respuestas(record.key)
        errores = respuestas[-1].errores if respuestas else ()
        if errores:
            return "; ".join(
                f"[{e['codigo']}] {e['mensaje']}" if e.get("codigo") is not None else str(e["mensaje"])
                for e in errores
            )
        return record.last_error or "Rechazado"
    return record.last_error or record.state.value


async def run_demo(workdir: Path, *, real: bool = False, within: float = 45.0) -> list[DemoResult]:
    """Run the whole flow in ``workdir``; returns one row per voucher (see the module docstring)."""
    from .certs import load_p12, make_test_pki
    from .clave import Clave, Consecutivo, cr_now
    from .issuing import Issuer, build_correction
    from .worker import CallbackServer, Worker
    from .xades import Signer, TrustStore
    from .xmlgen import to_xml

    xsd = _schemas_available()
    if not xsd:
        _say(
            "note: the official XSD schemas were not found (set CR_EINVOICE_SCHEMAS or run "
            "'cr-einvoice schemas fetch'); the demo checks the business rules only"
        )
    started = time.monotonic()
    _say("1. certificates: generating TEST keys for the company and for a supplier")
    pki = make_test_pki(workdir / "certs", taxpayer_id=EMISOR)
    supplier_pki = make_test_pki(
        workdir / "supplier-certs", taxpayer_id=SUPPLIER, taxpayer_name="PROVEEDORA DE INSUMOS DEL VALLE SA"
    )
    sim: Any = None
    if real:
        os.environ.setdefault("CR_EINVOICE_DEMO_PIN", os.environ["CR_EINVOICE_PIN"])
        config = Config(
            hacienda=HaciendaSettings(environment="sandbox"),
            signing=SigningSettings(p12_path=os.environ["CR_EINVOICE_P12"], pin_env="CR_EINVOICE_PIN"),
            emisor=EmisorSettings("02", EMISOR, "Demo"),
            store=StoreSettings(path="outbox.db"),
            base_dir=workdir,
        )
        cedula = load_p12(str(config.p12_path), config.pin()).cedula
        if not cedula:
            raise CrEinvoiceError("the .p12 in CR_EINVOICE_P12 carries no cédula in its subject")
        config = replace(config, emisor=replace(config.emisor, numero_identificacion=cedula))
    else:
        from .sandbox import Simulator, SimulatorSettings

        _say("2. starting the local Hacienda simulator on 127.0.0.1")
        password = Secret("demo-" + os.urandom(8).hex())
        os.environ["CR_EINVOICE_DEMO_USERNAME"] = DEMO_USER
        os.environ["CR_EINVOICE_DEMO_PASSWORD"] = password.reveal()
        os.environ["CR_EINVOICE_DEMO_PIN"] = pki.pin
        sim = Simulator(
            SimulatorSettings(
                users={DEMO_USER: password},
                processing_delay=0.4,
                sello_p12=pki.sello_p12,
                sello_pin=pki.pin,
                trust=TrustStore.from_pem_files(pki.ca_cert_pem, supplier_pki.ca_cert_pem),
                check_schema=xsd,
                callback_retry_delay=0.2,
            )
        )
        sim.__enter__()
        config = Config(
            hacienda=HaciendaSettings(
                environment="custom",
                token_url=sim.token_url,
                recepcion_url=sim.base_url,
                client_id=sim.settings.client_id,
                username_env="CR_EINVOICE_DEMO_USERNAME",
                password_env="CR_EINVOICE_DEMO_PASSWORD",  # noqa: S106 (a variable name)
                trust_ca=str(pki.sello_ca_cert_pem),
            ),
            signing=SigningSettings(p12_path=str(pki.taxpayer_p12), pin_env="CR_EINVOICE_DEMO_PIN"),
            emisor=EmisorSettings("02", EMISOR, "Soluciones Tecnológicas del Valle S.A."),
            store=StoreSettings(path="outbox.db"),
            receiving=ReceivingSettings(trust_ca=str(supplier_pki.ca_cert_pem)),
            base_dir=workdir,
        )
    config_path = write_config(config, workdir / "cr-einvoice.toml", overwrite=True)
    runtime = Runtime(config)
    try:
        store = runtime.store
        issuer: Issuer = runtime.issuer()
        if not xsd:
            issuer.settings = replace(issuer.settings, validate_xsd=False)
        rows: list[tuple[str, str]] = []

        def issue(label: str, document: Any, **kwargs: Any) -> Any:
            issued = issuer.issue(document, **kwargs)
            rows.append((label, issued.key))
            _say(f"   issued {_NAMES[issued.tipo]:<24} {issued.consecutivo}  ({label})")
            return issued

        _say(f"3. issuing every voucher type into the outbox {config.store_path}")
        fe = issue("venta a crédito", _doc("fe"))
        fe_fecha = fe.fecha_emision.isoformat()

        def reference_fe(data: dict[str, Any]) -> None:
            for ref in data.get("referencias", []):
                ref["numero"] = fe.clave
                ref["fecha_emision_ir"] = fe_fecha

        def as_company(data: dict[str, Any]) -> None:
            company = _doc_json("fe")
            data["emisor"] = company["emisor"]
            data["codigo_actividad_emisor"] = company["codigo_actividad_emisor"]
            if real:
                data["emisor"]["identificacion"]["numero"] = config.emisor.numero_identificacion

        issue("intereses moratorios", _doc("nd", reference_fe))
        returned = build_correction(
            fe.record,
            kind="credit",
            codigo="06",
            razon="Devolución de mercadería: un artículo",
            lineas=fe_lines(fe.record)[:1],
        )
        issue("devolución de un artículo", returned)
        issue("venta de mostrador", _doc("te", as_company))
        issue("compra a proveedor del exterior", _doc("fec"))
        issue("exportación", _doc("fee", as_company))
        issue("pago de la venta a crédito", _doc("rep", reference_fe))

        if not real:
            _say("   a supplier sends us a signed invoice; we verify, import and accept it")
            supplier_signer = Signer(load_p12(str(supplier_pki.taxpayer_p12), supplier_pki.pin))

            def from_supplier(data: dict[str, Any]) -> None:
                data["emisor"]["nombre"] = "Proveedora de Insumos del Valle S.A."
                data["emisor"]["identificacion"]["numero"] = SUPPLIER
                data["receptor"]["nombre"] = "Soluciones Tecnológicas del Valle S.A."
                data["receptor"]["identificacion"]["numero"] = EMISOR

            supplier_doc = _doc("fe", from_supplier)
            fecha = cr_now()
            consecutivo = Consecutivo(
                sucursal=1, terminal=1, tipo=TipoDocumento.FACTURA_ELECTRONICA, numero=4501
            )
            clave = Clave.build(
                tipo_identificacion="02", numero_identificacion=SUPPLIER, consecutivo=consecutivo, fecha=fecha
            )
            supplier_xml = supplier_signer.sign(
                to_xml(supplier_doc.with_numbering(consecutivo=consecutivo, clave=clave, fecha_emision=fecha))
            )
            receiver = runtime.receiver()
            if not xsd:
                receiver._xsd = False
            received = receiver.import_voucher(supplier_xml)
            mr = receiver.respond(received.clave, "accept")
            rows.append(("aceptamos la factura del proveedor", mr.key))
            _say(f"   issued {_NAMES[mr.tipo]:<24} {mr.consecutivo}  (our own consecutivo)")

        _say("   and one that is wrong on purpose: terminal 2 was set up with someone else's .p12")
        wrong_signer = Signer(load_p12(str(supplier_pki.taxpayer_p12), supplier_pki.pin))
        wrong = Issuer(store, wrong_signer, replace(issuer.settings, terminal=2))
        bad = wrong.issue(_doc("te", as_company))
        rows.append(("firmado con el certificado equivocado", bad.key))
        _say(f"   issued {_NAMES[bad.tipo]:<24} {bad.consecutivo}  (terminal 2)")

        _say("4. submitting: the worker sends, Hacienda answers by callback (polling as a fallback)")
        keys = [key for _, key in rows]
        async with runtime.async_client() as api:
            server = None
            tuning = runtime.worker_settings(poll_initial=0.5, poll_max=4.0, concurrency=4)
            if not real:
                try:
                    import uvicorn  # noqa: F401

                    server = CallbackServer()
                    secret = Secret(os.urandom(16).hex())
                    tuning = replace(tuning, callback_url=server.url, callback_secret=secret)
                except ImportError:
                    _say("   (uvicorn not installed: no callback receiver, polling only)")
            worker = Worker(store, api, tuning)
            if server is not None:
                async with server.serving(worker.callback_app()):
                    _say(f"   callback receiver listening on {server.url}")
                    await worker.drain(within=within, keys=keys)
            else:
                await worker.drain(within=within, keys=keys)
        results = [
            DemoResult(label, store.require(key), _message(store, store.require(key))) for label, key in rows
        ]
        via_callback = sum(1 for _, key in rows if any(r.source == "callback" for r in store.respuestas(key)))
        _say(
            f"5. done in {time.monotonic() - started:.1f}s: {via_callback} of {len(rows)} answers arrived "
            f"by callback. Look around with: cr-einvoice list --config {config_path}"
        )
        return results
    finally:
        runtime.close()
        if sim is not None:
            sim.__exit__(None, None, None)


def _doc_json(kind: str) -> dict[str, Any]:
    from .examples import example_json

    return copy.deepcopy(example_json(kind))


def fe_lines(record: VoucherRecord) -> Sequence[Any]:
    """The lines of an issued voucher, read back from its signed XML."""
    from .xmlread import from_xml

    doc: Any = from_xml(record.signed_xml)
    return tuple(doc.lineas)


def print_table(results: Sequence[DemoResult]) -> None:
    headers = ("Documento", "Consecutivo", "Estado", "Hacienda")
    body = [
        (
            f"{_NAMES.get(r.record.tipo, r.record.tipo)}\n({r.label})",
            r.record.consecutivo,
            r.state.value,
            r.message,
        )
        for r in results
    ]
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:
        flat = [(row[0].replace("\n", " "), *row[1:]) for row in body]
        widths = [max(len(h), *(len(row[i]) for row in flat)) for i, h in enumerate(headers[:3])]
        line = "  ".join(h.ljust(w) for h, w in zip(headers[:3], widths, strict=True)) + "  " + headers[3]
        print(line)
        print("-" * len(line))
        for row in flat:
            print("  ".join(c.ljust(w) for c, w in zip(row[:3], widths, strict=True)) + "  " + row[3])
        return
    table = Table(title=f"cr-einvoice {__version__}: outcomes")
    for h in headers:
        table.add_column(h, overflow="fold")
    colors = {"accepted": "green", "rejected": "red"}
    for row, r in zip(body, results, strict=True):
        color = colors.get(r.state.value, "yellow")
        table.add_row(row[0], row[1], f"[{color}]{row[2]}[/{color}]", row[3])
    Console().print(table)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cr_einvoice.demo", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--dir", help="folder for the demo's certificates, outbox and config file (default ./demo-output)"
    )
    parser.add_argument(
        "--sandbox",
        action="store_true",
        help=f"use Hacienda's real sandbox (needs {', '.join(REAL_ENV)} in the environment)",
    )
    args = parser.parse_args(argv)
    present = [name for name in REAL_ENV if os.environ.get(name)]
    real = bool(args.sandbox) or len(present) == len(REAL_ENV)
    if args.sandbox and len(present) != len(REAL_ENV):
        missing = sorted(set(REAL_ENV) - set(present))
        print(f"demo: --sandbox needs {', '.join(missing)} in the environment", file=sys.stderr)
        return 2
    _say(
        "cr-einvoice demo: "
        + ("Hacienda's sandbox, your credentials" if real else "local Hacienda simulator, TEST certificates")
    )
    workdir = Path(args.dir or "demo-output")
    workdir.mkdir(parents=True, exist_ok=True)
    # A fresh outbox each run (the folder keeps only what the demo itself writes).
    for name in ("outbox.db", "outbox.db-wal", "outbox.db-shm"):
        (workdir / name).unlink(missing_ok=True)
    try:
        results = asyncio.run(run_demo(workdir.resolve(), real=real))
    except (CrEinvoiceError, TimeoutError) as exc:
        print(f"demo: error: {exc}", file=sys.stderr)
        return 2
    print_table(results)
    expected_rejections = 1
    rejected = sum(1 for r in results if r.state is VoucherState.REJECTED)
    unfinished = [r for r in results if r.state not in (VoucherState.ACCEPTED, VoucherState.REJECTED)]
    if unfinished or rejected != expected_rejections:
        print("demo: not every voucher reached the expected outcome", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
