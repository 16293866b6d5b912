"""``make demo`` / ``python -m cr_einvoice.app.demo``: every voucher type, end to end, in well under a minute.

Without credentials (the default) it runs against the local Hacienda simulator:

1. generates TEST certificates for the company and for a supplier
(:func:`cr_einvoice.testing.pki.make_test_pki`);
2. starts the simulator (:class:`cr_einvoice.sandbox.Simulator`) on 127.0.0.1 and writes a configuration file
   pointing at it (so the ``cr-einvoice`` commands can look at the results afterwards);
3. issues FE, ND, NC (a return, built with :func:`~cr_einvoice.outbox.issuing.build_correction`), TE, FEC,
FEE and
   REP into the durable outbox, imports a supplier's signed invoice and accepts it with a MensajeReceptor, and
   issues one voucher that is wrong on purpose -- a terminal configured with somebody else's ``.p12`` -- so
   you can see how a rejection arrives, with Hacienda's message;
4. runs the worker: submits with bounded concurrency, receives Hacienda's callbacks on a local receiver
   (when uvicorn is installed) and polls as a fallback;
5. prints a table of outcomes and stops the simulator.

With real credentials in the environment it runs the same flow against **Hacienda's sandbox**:
``CR_EINVOICE_USERNAME`` (the ATV API user, ``cpj-…@stag.comprobanteselectronicos.go.cr``),
``CR_EINVOICE_PASSWORD``, ``CR_EINVOICE_P12`` (path of the ATV sandbox key) and ``CR_EINVOICE_PIN``
(``CR_EINVOICE_TOKEN_URL`` and ``CR_EINVOICE_RECEPCION_URL`` override the endpoints;
``CR_EINVOICE_TRUST_CA`` names the CA Hacienda's seal must chain to instead of the bundled national PKI, e.g.
a simulator's TEST CA).
Callbacks need a public URL, so it polls; the supplier MensajeReceptor is skipped (Hacienda only knows
vouchers that were really submitted).
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import os
import shlex
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cr_einvoice.app.config import (
    Config,
    EmisorSettings,
    HaciendaSettings,
    ReceivingSettings,
    SigningSettings,
    StoreSettings,
    write_config,
)
from cr_einvoice.app.runtime import Runtime
from cr_einvoice.core.catalogs import TipoDocumento
from cr_einvoice.core.errors import CrEinvoiceError, SchemaNotFoundError
from cr_einvoice.core.secret import Secret
from cr_einvoice.core.version import __version__
from cr_einvoice.outbox.store import VoucherRecord, VoucherState

if TYPE_CHECKING:
    from cr_einvoice.outbox.issuing import Issuer
    from cr_einvoice.outbox.receiving import Receiver
    from cr_einvoice.signing.xades import Signer

__all__ = ["DemoResult", "LocalSandbox", "main", "run_demo"]

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


def _shown(path: Path) -> str:
    """``path`` relative to the working folder when it is below it (as a user would type it)."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def cli_command() -> str:
    """How to run ``cr-einvoice`` from here: the script beside this Python (``.venv/bin/cr-einvoice`` after
    ``make demo``) unless that is the one on PATH, else ``python -m cr_einvoice``."""
    script = Path(sys.executable).parent / "cr-einvoice"
    if not script.is_file():
        return f"{shlex.quote(sys.executable)} -m cr_einvoice"
    on_path = shutil.which("cr-einvoice")
    if on_path is not None and Path(on_path).resolve() == script.resolve():
        return "cr-einvoice"
    return shlex.quote(_shown(script))


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _schemas_available() -> bool:
    from cr_einvoice.vouchers.schemas import find_schemas_dir

    try:
        find_schemas_dir()
    except SchemaNotFoundError:
        return False
    return True


def _doc(kind: str, patch: Callable[[dict[str, Any]], None] | None = None) -> Any:
    from cr_einvoice.testing.examples import example_json
    from cr_einvoice.vouchers.jsonio import document_from_json

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


def _real_environment() -> HaciendaSettings:
    """Hacienda's sandbox; ``CR_EINVOICE_TOKEN_URL`` + ``CR_EINVOICE_RECEPCION_URL`` point elsewhere (another
    deployment, or a simulator started by hand with ``cr-einvoice sandbox serve``)."""
    token_url = os.environ.get("CR_EINVOICE_TOKEN_URL", "")
    recepcion_url = os.environ.get("CR_EINVOICE_RECEPCION_URL", "")
    trust_ca = os.environ.get("CR_EINVOICE_TRUST_CA", "")  # empty: the bundled national PKI
    if token_url and recepcion_url:
        return HaciendaSettings(
            environment="custom",
            token_url=token_url,
            recepcion_url=recepcion_url,
            client_id="api-stag",
            trust_ca=trust_ca,
        )
    return HaciendaSettings(environment="sandbox", recepcion_url=recepcion_url, trust_ca=trust_ca)


class LocalSandbox:
    """The local Hacienda simulator with TEST certificates, configured and ready to issue against.

    Used by the demo, the examples and tests::

        with LocalSandbox() as box:
            issuer = box.issuer()                 # Issuer for the TEST company 3101123456
            async with box.runtime.async_client() as api: ...

    It generates the company's and a supplier's TEST keys, starts the simulator on 127.0.0.1, and writes
    ``cr-einvoice.toml`` in ``workdir`` (a temporary folder by default) with the credentials' *variable names*
    (their values are set in this process's environment). Everything stops on exit.
    """

    def __init__(
        self, workdir: Path | None = None, *, processing_delay: float = 0.4, rate_limit: int | None = None
    ) -> None:
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        if workdir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="cr-einvoice-sandbox-")
            workdir = Path(self._tmp.name)
        self.workdir = workdir.resolve()
        self.processing_delay = processing_delay
        #: Requests per minute the simulator allows (None: its default, like Hacienda's sandbox).
        self.rate_limit = rate_limit
        self.xsd = _schemas_available()
        self.sim: Any = None
        self.pki: Any = None
        self.supplier_pki: Any = None
        self.config: Config | None = None
        self.config_path: Path | None = None
        self._runtime: Runtime | None = None

    @property
    def runtime(self) -> Runtime:
        if self._runtime is None:
            raise CrEinvoiceError("the local sandbox is not running (use it as a context manager)")
        return self._runtime

    def __enter__(self) -> LocalSandbox:
        from cr_einvoice.sandbox import Simulator, SimulatorSettings
        from cr_einvoice.signing.xades import TrustStore
        from cr_einvoice.testing.pki import make_test_pki

        self.workdir.mkdir(parents=True, exist_ok=True)
        self.pki = make_test_pki(self.workdir / "certs", taxpayer_id=EMISOR)
        self.supplier_pki = make_test_pki(
            self.workdir / "supplier-certs",
            taxpayer_id=SUPPLIER,
            taxpayer_name="PROVEEDORA DE INSUMOS DEL VALLE SA",
        )
        password = Secret("demo-" + os.urandom(8).hex())
        os.environ["CR_EINVOICE_DEMO_USERNAME"] = DEMO_USER
        os.environ["CR_EINVOICE_DEMO_PASSWORD"] = password.reveal()
        os.environ["CR_EINVOICE_DEMO_PIN"] = self.pki.pin
        limits: dict[str, Any] = {} if self.rate_limit is None else {"rate_limit": self.rate_limit}
        self.sim = Simulator(
            SimulatorSettings(
                **limits,
                users={DEMO_USER: password},
                processing_delay=self.processing_delay,
                sello_p12=self.pki.sello_p12,
                sello_pin=self.pki.pin,
                trust=TrustStore.from_pem_files(self.pki.ca_cert_pem, self.supplier_pki.ca_cert_pem),
                check_schema=self.xsd,
                callback_retry_delay=0.2,
            )
        )
        self.sim.__enter__()
        try:
            self.config = Config(
                hacienda=HaciendaSettings(
                    environment="custom",
                    token_url=self.sim.token_url,
                    recepcion_url=self.sim.base_url,
                    client_id=self.sim.settings.client_id,
                    username_env="CR_EINVOICE_DEMO_USERNAME",
                    password_env="CR_EINVOICE_DEMO_PASSWORD",  # noqa: S106 (a variable name)
                    trust_ca=str(self.pki.sello_ca_cert_pem),
                ),
                signing=SigningSettings(p12_path=str(self.pki.taxpayer_p12), pin_env="CR_EINVOICE_DEMO_PIN"),
                emisor=EmisorSettings("02", EMISOR, "Soluciones Tecnológicas del Valle S.A."),
                store=StoreSettings(path="outbox.db"),
                receiving=ReceivingSettings(trust_ca=str(self.supplier_pki.ca_cert_pem)),
                base_dir=self.workdir,
            )
            self.config_path = write_config(self.config, self.workdir / "cr-einvoice.toml", overwrite=True)
            self._runtime = Runtime(self.config)
            self._runtime.store  # noqa: B018 (creates the outbox, as 'cr-einvoice init' does)
        except BaseException:
            self.sim.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        if self._runtime is not None:
            self._runtime.close()
            self._runtime = None
        if self.sim is not None:
            self.sim.__exit__(None, None, None)
            self.sim = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def issuer(self, **overrides: Any) -> Issuer:
        """The company's :class:`~cr_einvoice.outbox.issuing.Issuer` (XSD checks on when the schemas are
        found)."""
        return self.runtime.issuer(validate_xsd=self.xsd, **overrides)

    def receiver(self) -> Receiver:
        """The company's :class:`~cr_einvoice.outbox.receiving.Receiver` (suppliers' TEST CA trusted)."""
        return self.runtime.receiver(validate_xsd=self.xsd)

    def supplier_signer(self) -> Signer:
        from cr_einvoice.signing.certs import load_p12
        from cr_einvoice.signing.xades import Signer

        return Signer(load_p12(str(self.supplier_pki.taxpayer_p12), self.supplier_pki.pin))

    def supplier_invoice(self, numero: int = 4501) -> bytes:
        """A factura the supplier (3101654321) issued to the company, signed with the supplier's TEST key."""
        from cr_einvoice.core.clave import Clave, Consecutivo, cr_now
        from cr_einvoice.vouchers.xmlwrite import to_xml

        def from_supplier(data: dict[str, Any]) -> None:
            data["emisor"]["nombre"] = "Proveedora de Insumos del Valle S.A."
            data["emisor"]["identificacion"]["numero"] = SUPPLIER
            data["receptor"]["nombre"] = "Soluciones Tecnológicas del Valle S.A."
            data["receptor"]["identificacion"]["numero"] = EMISOR

        document = _doc("fe", from_supplier)
        fecha = cr_now()
        consecutivo = Consecutivo(
            sucursal=1, terminal=1, tipo=TipoDocumento.FACTURA_ELECTRONICA, numero=numero
        )
        clave = Clave.build(
            tipo_identificacion="02", numero_identificacion=SUPPLIER, consecutivo=consecutivo, fecha=fecha
        )
        numbered = document.with_numbering(consecutivo=consecutivo, clave=clave, fecha_emision=fecha)
        signed: bytes = self.supplier_signer().sign(to_xml(numbered))
        return signed


async def run_demo(workdir: Path, *, real: bool = False, within: float = 45.0) -> list[DemoResult]:
    """Run the whole flow in ``workdir``; returns one row per voucher (see the module docstring)."""
    from cr_einvoice.outbox.issuing import Issuer, build_correction
    from cr_einvoice.outbox.worker import CallbackServer, Worker
    from cr_einvoice.signing.certs import load_p12
    from cr_einvoice.signing.xades import Signer
    from cr_einvoice.testing.pki import make_test_pki

    started = time.monotonic()
    box: LocalSandbox | None = None
    if real:
        _say("1. certificates: your .p12 signs; a TEST key plays the wrong certificate")
        wrong_pki = make_test_pki(workdir / "certs", taxpayer_id=SUPPLIER)
        config = Config(
            hacienda=_real_environment(),
            signing=SigningSettings(p12_path=os.environ["CR_EINVOICE_P12"], pin_env="CR_EINVOICE_PIN"),
            emisor=EmisorSettings("02", EMISOR, "Demo"),
            store=StoreSettings(path="outbox.db"),
            base_dir=workdir,
        )
        credential = load_p12(str(config.p12_path), config.pin())
        if not credential.cedula or credential.identification_type is None:
            raise CrEinvoiceError("the .p12 in CR_EINVOICE_P12 carries no cédula in its subject")
        config = replace(
            config,
            emisor=replace(
                config.emisor,
                tipo_identificacion=credential.identification_type.value,
                numero_identificacion=credential.cedula,
            ),
        )
        write_config(config, workdir / "cr-einvoice.toml", overwrite=True)
        runtime = Runtime(config)
        xsd = _schemas_available()
        issuer: Issuer = Issuer(
            runtime.store, runtime.signer, replace(config.issuer_settings(), validate_xsd=xsd)
        )
        wrong_signer = Signer(load_p12(str(wrong_pki.taxpayer_p12), wrong_pki.pin))
    else:
        _say("1. certificates: generating TEST keys for the company and for a supplier")
        _say("2. starting the local Hacienda simulator on 127.0.0.1")
        box = LocalSandbox(workdir).__enter__()
        xsd = box.xsd
        runtime = box.runtime
        config = runtime.config
        issuer = box.issuer()
        wrong_signer = box.supplier_signer()
    if not xsd:
        _say(
            "note: the official XSD schemas were not found (set CR_EINVOICE_SCHEMAS or run "
            "'cr-einvoice schemas fetch'); the demo checks the business rules only"
        )
    config_path = workdir / "cr-einvoice.toml"
    try:
        store = runtime.store
        rows: list[tuple[str, str]] = []

        def issue(label: str, document: Any, **kwargs: Any) -> Any:
            issued = issuer.issue(document, **kwargs)
            rows.append((label, issued.key))
            _say(f"   issued {_NAMES[issued.tipo]:<24} {issued.consecutivo}  ({label})")
            return issued

        _say(f"3. issuing every voucher type into the outbox {config.store_path}")
        me = config.emisor

        def ours(kind: str, *patches: Callable[[dict[str, Any]], None]) -> Any:
            """An example document issued as this run's taxpayer (the FEC's buyer is its receptor)."""

            def patch(data: dict[str, Any]) -> None:
                for extra in patches:
                    extra(data)
                party = data["receptor"] if kind == "fec" else data["emisor"]
                party["identificacion"] = {"tipo": me.tipo_identificacion, "numero": me.numero_identificacion}

            return _doc(kind, patch)

        def as_company(data: dict[str, Any]) -> None:
            company = _doc_json("fe")
            data["emisor"] = company["emisor"]
            data["codigo_actividad_emisor"] = company["codigo_actividad_emisor"]

        fe = issue("venta a crédito", ours("fe"))
        fe_fecha = fe.fecha_emision.isoformat()

        def reference_fe(data: dict[str, Any]) -> None:
            for ref in data.get("referencias", []):
                ref["numero"] = fe.clave
                ref["fecha_emision_ir"] = fe_fecha

        issue("intereses moratorios", ours("nd", reference_fe))
        returned = build_correction(
            fe.record,
            kind="credit",
            codigo="06",
            razon="Devolución de mercadería: un artículo",
            lineas=fe_lines(fe.record)[:1],
        )
        issue("devolución de un artículo", returned)
        issue("venta de mostrador", ours("te", as_company))
        issue("compra a proveedor del exterior", ours("fec"))
        issue("exportación", ours("fee", as_company))
        issue("pago de la venta a crédito", ours("rep", reference_fe))

        if box is not None:
            _say("   a supplier sends us a signed invoice; we verify, import and accept it")
            receiver = box.receiver()
            received = receiver.import_voucher(box.supplier_invoice())
            mr = receiver.respond(received.clave, "accept")
            rows.append(("aceptamos la factura del proveedor", mr.key))
            _say(f"   issued {_NAMES[mr.tipo]:<24} {mr.consecutivo}  (our own consecutivo)")

        _say("   and one that is wrong on purpose: terminal 2 was set up with someone else's .p12")
        wrong = Issuer(store, wrong_signer, replace(issuer.settings, terminal=2))
        bad = wrong.issue(ours("te", as_company))
        rows.append(("firmado con el certificado equivocado", bad.key))
        _say(f"   issued {_NAMES[bad.tipo]:<24} {bad.consecutivo}  (terminal 2)")

        if real:  # Hacienda's sandbox cannot reach a receiver on this machine
            _say("4. submitting: the worker sends and polls Hacienda for the answers")
        else:
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
        _mail_step(runtime, workdir)
        results = [
            DemoResult(label, store.require(key), _message(store, store.require(key))) for label, key in rows
        ]
        via_callback = sum(1 for _, key in rows if any(r.source == "callback" for r in store.respuestas(key)))
        how = (
            f"{via_callback} of {len(rows)} answers arrived by callback"
            if server is not None
            else f"{len(rows)} vouchers, answers polled"
        )
        _say(
            f"5. done in {time.monotonic() - started:.1f}s: {how}. "
            f"Look around with: {cli_command()} list --config {shlex.quote(_shown(Path(config_path)))}"
        )
        shown = shlex.quote(_shown(Path(config_path)))
        _say(
            f"   or serve it over HTTP (API /v1, console /console): {cli_command()} apikey create --config "
            f"{shown} (a key for programs), {cli_command()} user create NAME --config {shown} (a console "
            f"user), then {cli_command()} serve --no-worker --config {shown}"
        )
        return results
    finally:
        if box is not None:
            box.__exit__(None, None, None)
        else:
            runtime.close()


def _mail_step(runtime: Runtime, workdir: Path) -> None:
    """The customers get their e-mails (XML, PDF, Hacienda's answer) from a local SMTP server."""
    from cr_einvoice.app.demo_mail import deliver_demo_mail

    mail = deliver_demo_mail(runtime, workdir)
    if mail is None:
        _say("   (aiosmtpd not installed: no e-mails; pip install 'cr-einvoice[demo]')")
        return
    _say(f"   e-mail: {mail.sent} customers got their voucher from a local SMTP server (STARTTLS):")
    for to, subject, files in mail.received:
        kinds = ["PDF" if f.endswith(".pdf") else "respuesta" if "respuesta" in f else "XML" for f in files]
        _say(f"     {to}: {subject} [{' + '.join(kinds)}]")
    _say(f"   the e-mails are in {_shown(mail.mail_dir)}/*.eml, their PDFs in {_shown(mail.pdf_dir)}/")


def _doc_json(kind: str) -> dict[str, Any]:
    from cr_einvoice.testing.examples import example_json

    return copy.deepcopy(example_json(kind))


def fe_lines(record: VoucherRecord) -> Sequence[Any]:
    """The lines of an issued voucher, read back from its signed XML."""
    from cr_einvoice.vouchers.xmlread import from_xml

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
    parser = argparse.ArgumentParser(
        prog="python -m cr_einvoice.app.demo", description=__doc__.split("\n")[0]
    )
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
