"""The README's Python examples run as written, against the local Hacienda simulator and the Chile fakes.

Each example is the fenced block right after an HTML comment ``<!-- snippet: NAME -->`` in README.md. A test
runs it with ``exec`` in a namespace that holds what the README elides (simulator URLs, TEST certificates,
the reader's own objects), in a temporary working folder, then checks what the example claims. Lines such as
``doc.resumen.total_comprobante   # Decimal('32205.00000')`` are checked too: a top-level expression followed
by a comment that starts with a Python literal must evaluate to exactly that literal.

Blocks that talk to a named environment (``base_url="sandbox"``, Khipu's ``production``) are pointed at the
fakes by patching the environment tables for the test; nothing here leaves 127.0.0.1.
"""

from __future__ import annotations

import ast
import asyncio
import base64
import dataclasses
import inspect
import json
import os
import re
import shutil
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from cr_einvoice.app.cli.build import number_document
from cr_einvoice.chile import belvo as belvo_module
from cr_einvoice.chile import flow as flow_module
from cr_einvoice.chile import khipu as khipu_module
from cr_einvoice.core.errors import StoreError
from cr_einvoice.hacienda import Credentials, Environment, Respuesta, callback_url
from cr_einvoice.sandbox import Simulator, SimulatorSettings
from cr_einvoice.signing.certs import load_p12
from cr_einvoice.signing.xades import Signer, TrustStore
from cr_einvoice.testing.chile_fakes import (
    FakeBelvo,
    FakeFlow,
    FakeKhipu,
    LoopbackReceiver,
    sample_belvo_invoice,
)
from cr_einvoice.testing.examples import example_json
from cr_einvoice.testing.pgserver import PgServer
from cr_einvoice.testing.pki import TestPKI, make_test_pki
from cr_einvoice.vouchers.jsonio import document_from_json
from cr_einvoice.vouchers.validate import validate_xml
from cr_einvoice.vouchers.xmlwrite import to_xml

README = Path(__file__).resolve().parents[2] / "README.md"
SNIPPET = re.compile(r"^<!-- snippet: ([a-z0-9-]+) -->\n```([a-z]+)\n(.*?)^```$", re.MULTILINE | re.DOTALL)
# The IdP user of the README's examples and its password (read by Secret.from_env("HACIENDA_PASSWORD")).
USER = "cpj-3-101-123456@stag.comprobanteselectronicos.go.cr"
PASSWORD = "readme-test-password"
BELVO_LINK = "8848bd0c-9c7e-4f53-a732-ec896b11d4c4"

TESTED = {
    "store-postgres",
    "public-face",
    "vouchers-build",
    "vouchers-combo",
    "json-fe",
    "clave",
    "preflight",
    "pdf",
    "mail",
    "certs-load",
    "sign",
    "verify",
    "hacienda-environment",
    "hacienda-sync",
    "hacienda-async",
    "hacienda-decode",
    "hacienda-callbacks",
    "sandbox",
    "publicdata",
    "registry-import",
    "issuing",
    "taxpayers",
    "service",
    "chile-khipu",
    "chile-belvo",
    "chile-flow",
}


def _snippets() -> dict[str, tuple[str, str, int]]:
    """name -> (language, code, line of the code's first line in README.md)."""
    text = README.read_text(encoding="utf-8")
    found: dict[str, tuple[str, str, int]] = {}
    for match in SNIPPET.finditer(text):
        name = match.group(1)
        assert name not in found, f"two README blocks are marked snippet: {name}"
        first_line = text.count("\n", 0, match.start(3)) + 1
        found[name] = (match.group(2), match.group(3), first_line)
    return found


def snippet(name: str, language: str = "python") -> tuple[str, int]:
    snippets = _snippets()
    assert name in snippets, f"README.md has no block marked <!-- snippet: {name} -->"
    lang, code, line = snippets[name]
    assert lang == language, f"snippet {name} is a {lang} block, not {language}"
    return code, line


def run(name: str, namespace: dict[str, Any], *, replace: dict[str, str] | None = None) -> dict[str, Any]:
    code, line = snippet(name)
    for old, new in (replace or {}).items():
        assert old in code, f"snippet {name} no longer contains {old!r}"
        code = code.replace(old, new)
    return run_code(name, code, line, namespace)


def run_code(name: str, code: str, line: int, namespace: dict[str, Any]) -> dict[str, Any]:
    """Execute ``code`` (top-level ``await``/``async with`` allowed) with tracebacks on README.md's lines."""
    source = "\n" * (line - 1) + code
    compiled = compile(source, f"README.md[{name}]", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    namespace.setdefault("__name__", f"readme_{name.replace('-', '_')}")
    outcome = eval(compiled, namespace)  # noqa: S307 (our own README)
    if inspect.iscoroutine(outcome):
        asyncio.run(outcome)
    _check_commented_values(name, source, namespace)
    return namespace


_LITERAL = re.compile(r"#\s*(Decimal\('[^']*'\)|'[^']*')(?:\s*$|\s+\()")


def _check_commented_values(name: str, source: str, namespace: dict[str, Any]) -> None:
    """``expr  # 'literal'`` (or the literal on the next, comment-only line) at top level: expr == literal."""
    lines = source.splitlines()
    for node in ast.parse(source).body:
        if not isinstance(node, ast.Expr) or node.end_lineno is None or node.end_col_offset is None:
            continue
        rest = lines[node.end_lineno - 1][node.end_col_offset :].strip()
        if not rest and node.end_lineno < len(lines) and lines[node.end_lineno].lstrip().startswith("#"):
            rest = lines[node.end_lineno].strip()
        match = _LITERAL.match(rest)
        if match is None or "..." in match.group(1) or "…" in match.group(1):
            continue
        expected = eval(match.group(1), {"Decimal": Decimal})  # noqa: S307 (a literal from our README)
        actual = eval(ast.get_source_segment(source, node.value) or "", namespace)  # noqa: S307
        assert actual == expected and repr(actual) == repr(expected), (
            f"README snippet {name}, line {node.lineno}: the comment says {match.group(1)}, "
            f"the code gives {actual!r}"
        )


# -- fixtures ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module", autouse=True)
def _schemas_env(schemas_dir: Path) -> Iterator[None]:
    # the simulator and the validator find the official schemas through the environment (make test sets it)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CR_EINVOICE_SCHEMAS", os.environ.get("CR_EINVOICE_SCHEMAS") or str(schemas_dir))
        yield


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> TestPKI:
    return make_test_pki(tmp_path_factory.mktemp("readme-pki"))  # taxpayer 3101123456, PIN 1234


@pytest.fixture(scope="module")
def sim(pki: TestPKI) -> Iterator[Simulator]:
    settings = SimulatorSettings(
        users={USER: PASSWORD},
        processing_delay=0.2,
        sello_p12=pki.sello_p12,
        sello_pin=pki.pin,
        trust=TrustStore.from_pem_files(pki.ca_cert_pem),
    )
    with Simulator(settings) as simulator:
        yield simulator


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pki: TestPKI) -> Path:
    """A reader's folder: the README's file names exist there, and its environment variables are set."""
    shutil.copy(pki.taxpayer_p12, tmp_path / "llave.p12")
    shutil.copy(pki.ca_cert_pem, tmp_path / "ca.pem")
    shutil.copy(pki.sello_ca_cert_pem, tmp_path / "sinpe-chain.pem")  # the TEST seal's CA plays SINPE's
    monkeypatch.setenv("FE_PIN", pki.pin)
    monkeypatch.setenv("HACIENDA_PASSWORD", PASSWORD)
    monkeypatch.setenv("CALLBACK_SECRET", "readme-callback-secret")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _signed_fe(pki: TestPKI, numero: int) -> bytes:
    doc = number_document(document_from_json(example_json("fe")), numero=numero)
    signed: bytes = Signer(load_p12(str(pki.taxpayer_p12), pki.pin)).sign(to_xml(doc))
    return signed


# -- the voucher -> signature -> Hacienda -> answer path, block after block as a reader goes ----------------


def test_build_sign_verify_submit_decode_and_callback(workdir: Path, sim: Simulator, pki: TestPKI) -> None:
    ns: dict[str, Any] = {}
    run("vouchers-build", ns)
    doc = ns["doc"]
    assert doc.resumen.total_comprobante == Decimal("32205.00000")
    assert str(doc.clave).startswith("506") and ns["xml"].startswith(b"<?xml")

    run("certs-load", ns)
    assert ns["cred"].cedula == "3101123456"

    run("sign", ns)  # signs ns["xml"], the voucher built above
    assert isinstance(ns["signed"], bytes) and b"<ds:Signature" in ns["signed"]

    ns["data"] = ns["signed"]
    run("verify", ns)
    assert ns["result"].signer_cedula == "3101123456" and ns["result"].trusted
    assert ns["result"].level == "XAdES-EPES"

    run("hacienda-environment", ns)
    assert ns["env"] == Environment.named("sandbox")
    assert ns["creds"].username == USER
    ns["env"] = sim.environment()  # the one substitution: the local simulator instead of Hacienda's sandbox
    ns["signed_xml"] = ns["signed"]
    # The simulator's TEST seal is trusted only when its CA is named (Hacienda's default is the national PKI).
    ns["sim_trust"] = TrustStore.from_pem_files(pki.sello_ca_cert_pem)
    run("hacienda-sync", ns, replace={"Client(env, creds)": "Client(env, creds, trust=sim_trust)"})
    assert ns["result"].status_code in (201, 202) and not ns["result"].already_received
    status = ns["status"]
    assert status.estado == "aceptado", status
    assert isinstance(status.respuesta, Respuesta) and status.respuesta.mensaje == 1
    assert status.respuesta.signature is not None  # Hacienda's seal was verified
    assert ns["record"]["clave"] == str(doc.clave)

    ns["respuesta_xml_base64_or_xml"] = base64.b64encode(status.respuesta.xml).decode()
    run("hacienda-decode", ns)
    r = ns["r"]
    assert (r.clave, r.mensaje, r.estado) == (str(doc.clave), 1, "aceptado")
    assert r.total_factura == Decimal("32205.00000")
    assert r.signature is not None and r.signature.trusted  # chained to sinpe-chain.pem

    class ReaderStore:  # what the callbacks example calls "store": the reader's own database
        def __init__(self) -> None:
            self.answers: dict[str, tuple[str, bytes]] = {}

        def submitted_claves(self) -> set[str]:
            return {str(doc.clave)}

        def record_answer(self, clave: str, estado: str, xml: bytes) -> None:
            self.answers[clave] = (estado, xml)

    store = ReaderStore()
    ns["store"] = store
    ns["trust"] = TrustStore.from_pem_files(pki.sello_ca_cert_pem)
    run("hacienda-callbacks", ns)
    clave = str(doc.clave)
    url = callback_url("https://me.example/hacienda", clave, ns["SECRET"])  # as the example submits it
    body = json.dumps(
        {
            "clave": clave,
            "fecha": ns["record"]["fecha"],
            "ind-estado": "aceptado",
            "respuesta-xml": base64.b64encode(status.respuesta.xml).decode(),
        }
    ).encode()

    async def post(path: str) -> int:
        transport = httpx.ASGITransport(app=ns["app"])
        async with httpx.AsyncClient(transport=transport, base_url="https://me.example") as client:
            return (await client.post(path, content=body)).status_code

    assert asyncio.run(post(urlsplit(url).path[:-4] + "AAAA")) == 403  # a wrong token is refused
    assert store.answers == {}
    assert asyncio.run(post(urlsplit(url).path)) == 200
    assert store.answers == {clave: ("aceptado", status.respuesta.xml)}


def test_async_client_example(sim: Simulator, pki: TestPKI) -> None:
    ns: dict[str, Any] = {
        "env": sim.environment(),
        "creds": Credentials(USER, PASSWORD),
        "batch": [_signed_fe(pki, 501), _signed_fe(pki, 502)],
    }
    ns["sim_trust"] = TrustStore.from_pem_files(pki.sello_ca_cert_pem)  # names the TEST seal's CA
    run("hacienda-async", ns, replace={"AsyncClient(env, creds)": "AsyncClient(env, creds, trust=sim_trust)"})
    assert ns["estados"] == ["aceptado", "aceptado"]


# -- standalone blocks ------------------------------------------------------------------------------------


def test_clave_example() -> None:
    ns = run("clave", {})
    assert len(str(ns["clave"])) == 50
    assert str(ns["cons"]) == "00100001010000000123"


def test_preflight_example(pki: TestPKI, capsys: pytest.CaptureFixture[str]) -> None:
    doc = number_document(document_from_json(example_json("fe")), numero=7)
    signed = Signer(load_p12(pki.taxpayer_p12, pki.pin)).sign(to_xml(doc))
    ns = run("preflight", {"signed": signed})
    assert ns["report"].accepted and ns["report"].reasons == ()
    assert any("-99" in s for s in ns["report"].skipped)
    # a voucher signed by someone who is not its emisor: the reason printed is Hacienda's -60
    other = number_document(
        document_from_json({**example_json("fe"), "emisor": {**example_json("fe")["emisor"],
                            "identificacion": {"tipo": "02", "numero": "3101999999"}}}),
        numero=8,
    )  # fmt: skip
    capsys.readouterr()
    ns = run("preflight", {"signed": Signer(load_p12(pki.taxpayer_p12, pki.pin)).sign(to_xml(other))})
    assert not ns["report"].accepted
    assert capsys.readouterr().out.startswith("rejection -60 Emisor/Identificacion/Numero: El contribuyente")


def test_pdf_example(pki: TestPKI, workdir: Path) -> None:
    from cr_einvoice.sandbox.mensaje import MensajeHaciendaData, render_mensaje_hacienda

    doc = number_document(document_from_json(example_json("fe")), numero=9)
    signed = Signer(load_p12(pki.taxpayer_p12, pki.pin)).sign(to_xml(doc))
    answer = MensajeHaciendaData(
        clave=str(doc.clave), nombre_emisor="Soluciones Tecnológicas del Valle S.A.",
        tipo_identificacion_emisor="02", numero_cedula_emisor="3101123456", mensaje=1,
        detalle="Aceptado", total_factura="1428565.00000",
    )  # fmt: skip
    ns = run("pdf", {"signed": signed, "respuesta": render_mensaje_hacienda(answer)})
    written = (workdir / "factura.pdf").read_bytes()
    assert written == ns["invoice"] and written.startswith(b"%PDF-")
    import io

    from pypdf import PdfReader

    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(written)).pages)
    assert "Mensaje de Hacienda: Aceptado" in text and "Factura Electrónica" in text
    ticket = PdfReader(io.BytesIO(ns["ticket"])).pages
    assert round(float(ticket[0].mediabox.width)) == 227  # 80 mm


def test_mail_example(pki: TestPKI, workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Render and send to a real SMTP server (STARTTLS, login), then the outbox's deliverer."""
    from dataclasses import replace as with_

    from cr_einvoice.app.config import Config, EmisorSettings, SigningSettings, StoreSettings
    from cr_einvoice.app.mailing import DeliveryConfig, SmtpConfig
    from cr_einvoice.app.runtime import Runtime
    from cr_einvoice.outbox.store import VoucherState
    from cr_einvoice.sandbox.mensaje import MensajeHaciendaData, render_mensaje_hacienda
    from cr_einvoice.testing.smtpd import MailServer, server_certificate

    signed = _signed_fe(pki, 11)
    clave = re.search(rb"<Clave>(\d{50})</Clave>", signed).group(1).decode()  # type: ignore[union-attr]
    answer = MensajeHaciendaData(
        clave, "Soluciones Tecnológicas del Valle S.A.", "02", "3101123456", 1, "", "1"
    )
    respuesta = render_mensaje_hacienda(answer)
    cert = server_certificate(workdir / "smtp-cert")
    monkeypatch.setenv("SMTP_PASSWORD", "readme-smtp")
    monkeypatch.setenv("T_SMTP_USER", "facturas")
    with MailServer(tls="starttls", certificate=cert, credentials=("facturas", "readme-smtp")) as server:
        config = Config(
            signing=SigningSettings(p12_path=str(pki.taxpayer_p12), pin_env="FE_PIN"),
            emisor=EmisorSettings(numero_identificacion="3101123456"),
            store=StoreSettings(path="outbox.db"),
            base_dir=workdir,
        )
        smtp = SmtpConfig(
            "127.0.0.1", server.port, "starttls", "T_SMTP_USER", "SMTP_PASSWORD", 5.0, str(cert.ca_pem)
        )
        config = with_(
            config,
            delivery=DeliveryConfig(enabled=True, sender="facturacion@tecnovalle.example.cr"),
            smtp=smtp,
        )
        with Runtime(config) as runtime:  # one accepted voucher in the outbox
            record = runtime.issuer().issue(document_from_json(example_json("fe")))
            runtime.store.transition(record.key, VoucherState.SENDING)
            runtime.store.add_respuesta(
                record.key,
                source="poll",
                estado="aceptado",
                mensaje=1,
                detalle=None,
                errores=[],
                raw_xml=None,
            )
            runtime.store.transition(record.key, VoucherState.ACCEPTED)
        namespace = {"signed": signed, "pdf": b"%PDF-1.7 readme", "respuesta": respuesta,
                     "smtp_port": server.port, "smtp_ca": str(cert.ca_pem), "config": config}  # fmt: skip
        ns = run("mail", namespace, replace={"Runtime.from_file()": "Runtime(config)"})
        assert [m.rcpt_tos for m in server.messages] == [
            ("cuentasporpagar@lasabana.example.cr",),
            ("cuentasporpagar@lasabana.example.cr",),
        ]
        assert all(m.tls and m.login == "facturas" for m in server.messages)
        assert len(ns["report"].sent) == 1
        first = server.messages[0].message
        assert f"{clave}.pdf" in [p.get_filename() for p in first.iter_attachments()]  # type: ignore[attr-defined]


def test_combo_example_and_a_voucher_carrying_it(schemas_dir: Path) -> None:
    ns = run("vouchers-combo", {})
    canasta = ns["canasta"]
    assert canasta.calculo.sub_total == Decimal("36600")  # "SubTotal 3 × 12200 = 36600"
    assert canasta.calculo.impuesto_neto == Decimal("3606")  # "... = 3606"
    built = run("vouchers-build", {})
    doc, one_means = built["doc"], built["MedioPago"](tipo_medio_pago="04")  # its amount: the new total
    with_combo = dataclasses.replace(doc, lineas=(*doc.lineas, canasta), medios_pago=(one_means,))
    assert with_combo.resumen.total_comprobante == doc.resumen.total_comprobante + Decimal("40206")
    report = validate_xml(to_xml(with_combo), schemas_dir=schemas_dir)
    assert report.ok, report.problems


def test_json_example_builds_a_valid_voucher(schemas_dir: Path) -> None:
    code, _ = snippet("json-fe", "json")
    doc = number_document(document_from_json(json.loads(code)), numero=1)
    assert doc.tipo.value == "01"
    report = validate_xml(to_xml(doc), schemas_dir=schemas_dir)
    assert report.ok, report.problems


def test_simulator_example() -> None:
    ns = run("sandbox", {})
    env = ns["env"]
    assert isinstance(env, Environment)
    assert env.recepcion_url.startswith("http://127.0.0.1:") and env.recepcion_url.endswith("/recepcion/v1/")
    assert env.token_url.endswith("/auth/realms/rut-stag/protocol/openid-connect/token")


def test_publicdata_example(workdir: Path, sim: Simulator) -> None:
    ns = run("publicdata", {"base_url": sim.root_url})
    assert ns["t"].nombre == "SOLUCIONES TECNOLOGICAS DEL VALLE SOCIEDAD ANONIMA"
    assert ns["rate"].venta == Decimal("511.70") and ns["ex"].covers("4527100000100")
    with ns["PublicDataClient"](sim.root_url, cache=ns["store"], offline=True) as pos:
        cached = pos.taxpayer("3101123456")
    assert (cached.source, cached.stale) == ("cache", False)
    ns["store"].close()


def test_registry_import_example(workdir: Path, pki: TestPKI) -> None:
    from cr_einvoice.outbox.store import open_store

    (workdir / "actividades.csv").write_text("Código;Descripción\n620100;PROGRAMACION\n", encoding="cp1252")
    registry = json.loads(_registry_json())
    (workdir / "mi-registro.json").write_text(json.dumps(registry))
    invented = {**example_json("fe"), "codigo_actividad_emisor": "999999"}
    signed = Signer(load_p12(pki.taxpayer_p12, pki.pin)).sign(
        to_xml(number_document(document_from_json(invented), numero=9))
    )
    store = open_store(workdir / "outbox.db", create=True)
    try:
        ns = run("registry-import", {"store": store, "signed": signed})
        assert ns["summary"].actividades == 1
        assert [(r.code, r.severity.value) for r in ns["report"].reasons] == [(-408, "rejection")]
        valid = Signer(load_p12(pki.taxpayer_p12, pki.pin)).sign(
            to_xml(number_document(document_from_json(example_json("fe")), numero=10))
        )
        ns = run("registry-import", {"store": store, "signed": valid})
        assert ns["report"].accepted and ns["report"].reasons == ()
        assert not [s for s in ns["report"].skipped if "-37" in s or "-408" in s]
    finally:
        store.close()


def _registry_json() -> str:
    """The README's example of a registered-data file (the JSON block after the registry-import snippet)."""
    text = README.read_text(encoding="utf-8")
    start = text.index("<!-- snippet: registry-import -->")
    block = re.search(r"^```json\n(.*?)^```$", text[start:], re.MULTILINE | re.DOTALL)
    assert block is not None, "README.md: no JSON example after the registry-import snippet"
    return block.group(1)


def test_issuing_example(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from cr_einvoice.app.demo import LocalSandbox
    from cr_einvoice.outbox.store import VoucherState

    for name in ("CR_EINVOICE_DEMO_USERNAME", "CR_EINVOICE_DEMO_PASSWORD", "CR_EINVOICE_DEMO_PIN"):
        monkeypatch.setenv(name, "")  # LocalSandbox sets them; monkeypatch restores them afterwards
    ticket = example_json("te")
    ticket["emisor"]["identificacion"]["numero"] = "3101123456"  # the configured taxpayer
    with LocalSandbox(tmp_path / "box") as box:
        monkeypatch.chdir(box.workdir)  # where it wrote cr-einvoice.toml
        ns: dict[str, Any] = {"ticket_json": ticket}
        try:
            run("issuing", ns)
            v = ns["v"]
            assert v.consecutivo == "00100001040000000001" and v.created
            assert v.record.state is VoucherState.SIGNED  # nothing sent yet
            assert box.sim.store.all() == []
            again = ns["issuer"].issue(document_from_json(ticket), external_ref="caja-1/venta-0001")
            assert (again.clave, again.created) == (v.clave, False)  # external_ref: idempotent
        finally:
            ns["runtime"].close()


def test_service_example(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The issuing service embedded in a program: a key, a console user, the ASGI app in a thread, one
    POST."""
    from cr_einvoice.app.demo import LocalSandbox

    for name in ("CR_EINVOICE_DEMO_USERNAME", "CR_EINVOICE_DEMO_PASSWORD", "CR_EINVOICE_DEMO_PIN"):
        monkeypatch.setenv(name, "")  # LocalSandbox sets them; monkeypatch restores them afterwards
    ticket = example_json("te")
    ticket["emisor"]["identificacion"]["numero"] = "3101123456"  # the configured taxpayer
    ticket["emisor"]["nombre"] = "Soluciones Tecnológicas del Valle S.A."
    with LocalSandbox(tmp_path / "box") as box:
        monkeypatch.chdir(box.workdir)  # where it wrote cr-einvoice.toml
        ns: dict[str, Any] = {"ticket_json": ticket}
        run("service", ns)
        issued = box.runtime.store.find(ns["answer"].json()["clave"])
        assert issued is not None and issued.external_ref == "api:3101123456:caja2-0001"
        user = box.runtime.store.get_console_user("ana.mora")
        assert user is not None and user.emisor == "3101123456" and user.password_hash.startswith("scrypt$")


def test_public_face_example(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The POS path from the package's public names: one call issues and waits for Hacienda's answer."""
    from cr_einvoice.app.demo import LocalSandbox
    from cr_einvoice.outbox.store import VoucherState

    for name in ("CR_EINVOICE_DEMO_USERNAME", "CR_EINVOICE_DEMO_PASSWORD", "CR_EINVOICE_DEMO_PIN"):
        monkeypatch.setenv(name, "")  # LocalSandbox sets them; monkeypatch restores them afterwards
    ticket = example_json("te")
    ticket["emisor"]["identificacion"]["numero"] = "3101123456"  # the configured taxpayer
    with LocalSandbox(tmp_path / "box", processing_delay=0.05) as box:
        monkeypatch.chdir(box.workdir)  # where it wrote cr-einvoice.toml
        ns = run("public-face", {"ticket_json": ticket})
        assert ns["record"].state is VoucherState.ACCEPTED
        assert ns["runtime"]._store is None  # closed by the snippet
        assert [s.estado for s in box.sim.store.all()] == ["aceptado"]


# -- Chile: the three blocks in the README's order, in one namespace ----------------------------------------


def test_chile_examples(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    days = (date(2023, 3, 1), date(2024, 3, 1), date(2025, 3, 1))
    invoices = [sample_belvo_invoice(BELVO_LINK, day, folio=n) for n, day in enumerate(days, 1)]
    with (
        LoopbackReceiver() as receiver,
        FakeKhipu(api_key="...") as khipu,
        FakeBelvo(
            secret_id="secret-id",
            secret_password="secret-password",
            invoices=invoices,
            webhook_url=receiver.url("/belvo"),
            webhook_authorization="Bearer <configured token>",
        ) as belvo,
        FakeFlow(api_key="api-key", secret_key="secret-key") as flow,
    ):
        monkeypatch.setitem(khipu_module.KHIPU_ENVIRONMENTS, "production", khipu.base_url)
        for name in ("sandbox", "production"):
            monkeypatch.setitem(belvo_module.BELVO_ENVIRONMENTS, name, belvo.base_url)
            monkeypatch.setitem(flow_module.FLOW_ENVIRONMENTS, name, flow.base_url)
        ns: dict[str, Any] = {"link_id": BELVO_LINK}

        run("chile-khipu", ns, replace={"https://me.example/cb/<token>": receiver.url("/khipu/token")})
        assert isinstance(ns["outcome"], khipu_module.EnelBillResult)
        assert (workdir / "bill.pdf").read_bytes().startswith(b"%PDF-")
        assert isinstance(ns["accepted"], khipu_module.KhipuAccepted)
        callback = receiver.wait(1)[0]
        matched = ns["pending"].match(callback.body)  # "in the callback handler"
        assert matched.accepted.operation_id == ns["accepted"].operation_id
        assert isinstance(matched.outcome, khipu_module.EnelBillResult)

        code, line = snippet("chile-belvo")
        marker = "# webhook handler:"
        assert code.count(marker) == 1
        before, after = code.split(marker)
        run_code("chile-belvo", before, line, ns)
        assert [r[1:] for r in belvo.retrievals[:3]] == [  # "911 days -> three consecutive requests"
            ("2023-01-01", "2023-12-31"),
            ("2024-01-01", "2024-12-30"),
            ("2024-12-31", "2025-06-30"),
        ]
        assert len(ns["invoices"]) == 3 and len(ns["accepted"]) == 1
        webhook = next(c for c in receiver.wait(2) if c.path == "/belvo")
        ns["body"], ns["headers"] = webhook.body, httpx.Headers(webhook.headers)
        run_code("chile-belvo", marker + after, line + before.count("\n"), ns)
        assert ns["hook"].request_id == ns["accepted"][0].request_id

        run("chile-flow", ns)  # also checks sign_params against Flow's published example (the comment)
        assert ns["invoice"].id == 1034


def test_store_postgres_snippet(pg_server: PgServer) -> None:
    ns = run("store-postgres", {"pg_url": pg_server.create_database()})
    assert ns["store"].path.startswith("postgresql://")
    with pytest.raises(StoreError, match="was closed"):
        ns["store"].get("x")


def test_every_marked_snippet_is_tested() -> None:
    assert set(_snippets()) == TESTED


def test_taxpayers_example(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two taxpayers in one file against a simulator with one IdP user each, allowed only its taxpayer."""
    from cr_einvoice.outbox.store import open_store

    parties = {"acme": ("3101111111", "acme-pw", "1111"), "beta": ("3101222222", "beta-pw", "2222")}
    users: dict[str, str] = {}
    allowed: dict[str, list[str]] = {}
    tables = []
    cas = []
    for name, (numero, password, pin) in parties.items():
        pki = make_test_pki(tmp_path / f"pki-{name}", taxpayer_id=numero, pin=pin, rc2=False)
        cas.append(pki.ca_cert_pem)
        user = f"cpj-3-101-{numero[4:]}@stag.comprobanteselectronicos.go.cr"
        users[user], allowed[user] = password, [numero]
        upper = name.upper()
        monkeypatch.setenv(f"{upper}_USER", user)
        monkeypatch.setenv(f"{upper}_PASSWORD", password)
        monkeypatch.setenv(f"{upper}_PIN", pin)
        tables.append(
            f'[issuers.{name}.hacienda]\nusername_env = "{upper}_USER"\npassword_env = "{upper}_PASSWORD"\n'
            f'[issuers.{name}.signing]\np12_path = "{pki.taxpayer_p12}"\npin_env = "{upper}_PIN"\n'
            f'[issuers.{name}.emisor]\nnumero_identificacion = "{numero}"\nnombre = "{name.title()} S.A."\n'
            f'correo_electronico = "caja@{name}.example.cr"\nprovincia = "1"\ncanton = "01"\n'
            'distrito = "08"\notras_senas = "Frente al parque central"\n'
        )
    settings = SimulatorSettings(
        users=users, user_emisores=allowed, processing_delay=0.05, trust=TrustStore.from_pem_files(*cas)
    )
    with Simulator(settings) as simulator:
        assert simulator.sello_ca_cert_pem is not None
        top = (
            f'[hacienda]\nenvironment = "custom"\ntoken_url = "{simulator.token_url}"\n'
            f'recepcion_url = "{simulator.base_url}"\nclient_id = "{simulator.settings.client_id}"\n'
            f'trust_ca = "{simulator.sello_ca_cert_pem}"\n[store]\npath = "outbox.db"\n'
        )
        (tmp_path / "cr-einvoice.toml").write_text(top + "".join(tables))
        open_store(tmp_path / "outbox.db", create=True).close()
        monkeypatch.chdir(tmp_path)
        ticket = example_json("te")
        del ticket["emisor"]  # each taxpayer's [issuers.NAME.emisor] fills it
        ns = run("taxpayers", {"ticket_json": ticket})
        for var, numero in (("v", "3101111111"), ("w", "3101222222")):
            submission = simulator.store.get(ns[var].clave)
            assert submission is not None and submission.emisor.numero == numero
            assert submission.username.startswith(f"cpj-3-101-{numero[4:]}")
