"""The web console: over HTTP (cookies, CSRF, sign-in failures, scoping) and in a real headless Chromium
(Debian's, through Playwright): sign in with a console user, find the rejected voucher, read Hacienda's
errors, download its files, issue it again, answer a supplier's voucher. Screenshots are kept under
``test-artifacts/``. (Users, sessions and lockout on their own: test_console_users.py.)"""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from service_support import PASSWORD, Service, ticket_json

from cr_einvoice.app.demo import EMISOR
from cr_einvoice.outbox.issuing import Issuer
from cr_einvoice.outbox.store import ReceivedRecord, VoucherRecord, VoucherState
from cr_einvoice.vouchers.jsonio import document_from_json

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts" / "console"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def rejected_voucher(service: Service) -> VoucherRecord:
    """A ticket signed with someone else's certificate (terminal 2): Hacienda (the simulator) rejects it."""
    box = service.box
    settings = replace(box.runtime.issuer().settings, terminal=2)
    issued = Issuer(box.runtime.store, box.supplier_signer(), settings).issue(
        document_from_json(ticket_json())
    )
    deadline = time.monotonic() + 30
    while True:
        record = box.runtime.store.require(issued.key)
        if record.is_final or time.monotonic() > deadline:
            break
        httpx.get(f"{service.url}/v1/vouchers/{issued.key}", headers=service.auth())  # the worker is running
        time.sleep(0.1)
    assert record.state is VoucherState.REJECTED, record.state
    return record


class Browserless(httpx.Client):
    """An HTTP client that keeps the console's cookies although they are ``Secure`` and this is plain http on
    loopback (browsers treat 127.0.0.1 as a secure context; httpx's cookie jar does not)."""

    def __init__(self, base_url: str) -> None:
        super().__init__(base_url=base_url, event_hooks={"response": [self._keep]})
        self.jar: dict[str, str] = {}

    def _keep(self, response: httpx.Response) -> None:
        for name, value in response.headers.multi_items():
            if name == "set-cookie":
                key, _, rest = value.partition("=")
                content = rest.split(";", 1)[0].strip('"')
                if content and "max-age=0" not in value.lower():
                    self.jar[key] = content
                else:
                    self.jar.pop(key, None)

    def send(self, request: httpx.Request, **kwargs: object) -> httpx.Response:  # type: ignore[override]
        if self.jar:
            request.headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.jar.items())
        return super().send(request, **kwargs)  # type: ignore[arg-type]


def sign_in(client: httpx.Client, username: str, password: str = PASSWORD) -> httpx.Response:
    form = client.get("/console/entrar")
    data = {"csrf": csrf_of(form.text), "username": username, "password": password}
    return client.post("/console/entrar", data=data)


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found
    return found.group(1)


def test_cookies_are_httponly_samesite_strict_and_secure(service: Service) -> None:
    with Browserless(service.url) as client:
        login = client.get("/console/entrar")
        assert login.status_code == 200 and "Contraseña" in login.text
        assert "default-src 'none'" in login.headers["content-security-policy"]
        signed_in = sign_in(client, service.user)
        assert signed_in.status_code == 303 and signed_in.headers["location"] == "/console/comprobantes"
        cookie = next(
            v for k, v in signed_in.headers.multi_items() if k == "set-cookie" and "cre_session" in v
        )
        flags = {part.strip().lower() for part in cookie.split(";")}
        assert {"httponly", "secure", "samesite=strict", "path=/console"} <= flags
        assert PASSWORD not in signed_in.text and PASSWORD not in cookie


def test_sign_in_refuses_bad_passwords_unknown_users_and_forms_without_their_token(service: Service) -> None:
    with Browserless(service.url) as client:
        wrong = sign_in(client, service.user, PASSWORD + "x")
        assert wrong.status_code == 401 and "Usuario o contraseña incorrectos" in wrong.text
        assert "cre_session" not in wrong.headers.get("set-cookie", "")
        unknown = sign_in(client, "nadie.aqui")
        assert unknown.status_code == 401 and "Usuario o contraseña incorrectos" in unknown.text
        key = sign_in(client, service.user, service.key)  # an API key is not a console password
        assert key.status_code == 401
        data = {"csrf": "forged", "username": service.user, "password": PASSWORD}
        forged = client.post("/console/entrar", data=data)
        assert forged.status_code == 403 and "cre_session" not in forged.headers.get("set-cookie", "")
        anonymous = client.get("/console/comprobantes")
        assert anonymous.status_code == 303 and anonymous.headers["location"] == "/console/entrar"


def test_actions_need_the_session_s_csrf_token(service: Service) -> None:
    record = rejected_voucher(service)
    with Browserless(service.url) as client:
        sign_in(client, service.user)
        page = client.get(f"/console/comprobantes/{record.key}")
        assert page.status_code == 200 and "Reemitir" in page.text
        refused = client.post(f"/console/comprobantes/{record.key}/reemitir", data={"csrf": "otro"})
        assert refused.status_code == 403 and "Formulario vencido" in refused.text
        assert not [e for e in service.box.runtime.store.events(record.key) if e.kind == "reissued"]


def test_another_emisor_s_session_does_not_see_the_voucher(service: Service) -> None:
    record = rejected_voucher(service)
    with Browserless(service.url) as client:
        sign_in(client, service.other_user)
        assert record.consecutivo not in client.get("/console/comprobantes").text
        assert client.get(f"/console/comprobantes/{record.key}").status_code == 404
        assert client.get(f"/console/comprobantes/{record.key}/descargar/xml").status_code == 404


def test_the_list_filters_by_state_type_and_date(service: Service) -> None:
    record = rejected_voucher(service)
    day = record.fecha_emision.date().isoformat()
    with Browserless(service.url) as client:
        sign_in(client, service.user)

        def listed(**query: str) -> bool:
            page = client.get("/console/comprobantes", params=query)
            assert page.status_code == 200
            return record.consecutivo in page.text

        assert listed(estado="rejected", tipo="04", desde=day, hasta=day)
        assert not listed(estado="accepted")
        assert not listed(tipo="01")
        assert not listed(hasta="2000-01-01")
        bad = client.get("/console/comprobantes", params={"desde": "ayer"})
        assert bad.status_code == 422 and "YYYY-MM-DD" in bad.text and "ayer" in bad.text


def test_sign_out_ends_the_session(service: Service) -> None:
    with Browserless(service.url) as client:
        sign_in(client, service.user)
        page = client.get("/console/ajustes")
        assert page.status_code == 200 and "3101123456" in page.text and "Solo lectura" in page.text
        assert "ana.mora" in page.text and "Usuarios de la consola" in page.text
        token = client.jar["cre_session"]
        assert client.post("/console/salir", data={"csrf": "otro"}).status_code == 403
        out = client.post("/console/salir", data={"csrf": csrf_of(page.text)})
        assert out.status_code == 303
        assert client.get("/console/ajustes").status_code == 303
        # The old cookie, replayed, is refused: the server ended the session.
        client.jar["cre_session"] = token
        assert client.get("/console/ajustes").status_code == 303


def test_received_vouchers_page_by_fifty_with_their_filters(service: Service) -> None:
    store = service.box.runtime.store
    base = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    for i in range(53):
        store.add_received(
            ReceivedRecord(
                clave=f"50602112600310165432100100001010000{i:07d}18{i:06d}"[:50].ljust(50, "0"),
                tipo="01",
                emisor_tipo="02",
                emisor_numero="3101654321",
                emisor_nombre="Proveedora de Insumos del Valle S.A.",
                receptor_numero=EMISOR,
                fecha_emision=datetime.fromisoformat("2026-11-02T08:00:00-06:00"),
                total_comprobante="1130.00000",
                total_impuesto="130.00000",
                xml=b"<FacturaElectronica/>",
                signer_subject="CN=Proveedora",
                received_at=base + timedelta(seconds=i),
                decision=None,
                mr_key=None,
            )
        )
    with Browserless(service.url) as client:
        sign_in(client, service.user)
        query = {"respuesta": "pending", "desde": "2026-11-02", "hasta": "2026-11-02"}
        first = client.get("/console/recibidos", params=query)
        assert first.status_code == 200 and first.text.count('class="clave"') == 50
        more = re.search(r'href="([^"]+)" class="mas"', first.text)
        assert more is not None and "respuesta=pending" in more.group(1)
        rest = client.get(more.group(1).replace("&amp;", "&"))
        assert rest.status_code == 200 and rest.text.count('class="clave"') == 3
        assert 'class="mas"' not in rest.text
        assert "con estos filtros" in client.get("/console/recibidos", params={"respuesta": "reject"}).text
        bad = client.get("/console/recibidos", params={"respuesta": "quizá"})
        assert bad.status_code == 422 and "quizá" in bad.text


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: make test installs Debian's chromium (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield launched
        launched.close()


def test_the_console_in_a_real_browser(service: Service, browser: object, tmp_path: Path) -> None:
    from playwright.sync_api import Browser, expect

    assert isinstance(browser, Browser)
    rejected = rejected_voucher(service)
    box = service.box
    received = box.receiver().import_voucher(box.supplier_invoice(numero=8123))
    shots = tmp_path / "screenshots"
    shots.mkdir()
    context = browser.new_context(
        base_url=service.url, accept_downloads=True, viewport={"width": 1280, "height": 900}, locale="es-CR"
    )
    page = context.new_page()
    try:
        page.goto("/console")
        expect(page.get_by_role("heading", name="Entrar a la consola")).to_be_visible()
        page.get_by_label("Usuario").fill(service.user)
        page.get_by_label("Contraseña").fill(PASSWORD)
        page.screenshot(path=str(shots / "entrar.png"), full_page=True)
        page.get_by_role("button", name="Entrar").click()
        expect(page.get_by_role("heading", name="Comprobantes emitidos")).to_be_visible()

        page.select_option("#estado", "rejected")
        page.get_by_role("button", name="Filtrar").click()
        expect(page.get_by_role("link", name=rejected.consecutivo)).to_be_visible()
        rows = page.locator("table.lista tbody tr")
        assert rows.count() >= 1
        for text in rows.all_inner_texts():
            assert "Rechazado" in text
        page.screenshot(path=str(shots / "comprobantes-rechazados.png"), full_page=True)

        page.get_by_role("link", name=rejected.consecutivo).click()
        expect(page.locator("#estado-actual")).to_have_text("Rechazado")
        expect(page.get_by_role("heading", name="Errores de Hacienda")).to_be_visible()
        errores = [e for r in box.runtime.store.respuestas(rejected.key) for e in r.errores]
        assert errores
        expect(page.locator(".errores li").first).to_contain_text(str(errores[0]["mensaje"])[:40])
        page.screenshot(path=str(shots / "comprobante-rechazado.png"), full_page=True)

        with page.expect_download() as pdf_download:
            page.get_by_role("link", name="Descargar PDF").click()
        pdf = Path(pdf_download.value.path()).read_bytes()
        assert pdf.startswith(b"%PDF-") and pdf_download.value.suggested_filename == f"{rejected.key}.pdf"
        shutil.copy(pdf_download.value.path(), shots / "comprobante-rechazado.pdf")
        with page.expect_download() as xml_download:
            page.get_by_role("link", name="Descargar XML firmado").click()
        assert Path(xml_download.value.path()).read_bytes() == rejected.signed_xml
        with page.expect_download() as answer_download:
            page.get_by_role("link", name="Descargar respuesta de Hacienda").click()
        assert b"MensajeHacienda" in Path(answer_download.value.path()).read_bytes()

        page.get_by_role("button", name="Consultar a Hacienda").click()
        expect(page.get_by_role("status")).to_contain_text("Se consultó el estado a Hacienda")
        expect(page.locator("#estado-actual")).to_have_text("Rechazado")

        page.get_by_role("button", name="Reemitir como comprobante nuevo").click()
        expect(page.get_by_role("status")).to_contain_text("Se emitió un comprobante nuevo")
        new_key = page.url.rsplit("/", 1)[1].split("?")[0]
        assert new_key != rejected.key
        assert box.runtime.store.require(new_key).external_ref == f"reissue:{rejected.key}"

        page.get_by_role("link", name="Recibidos").click()
        expect(page.get_by_role("cell", name=received.clave)).to_be_visible()
        page.select_option("#respuesta", "pending")
        page.get_by_role("button", name="Filtrar").click()
        expect(page.get_by_role("cell", name=received.clave)).to_be_visible()
        row = page.locator("tr", has_text=received.clave)
        row.get_by_role("button", name="Aceptar").click()
        expect(page.get_by_role("status")).to_contain_text("Se envió la respuesta al proveedor")
        assert box.runtime.store.get_received(received.clave).decision == "05"  # type: ignore[union-attr]
        page.screenshot(path=str(shots / "recibidos.png"), full_page=True)

        page.get_by_role("link", name="Ajustes").click()
        expect(page.get_by_role("heading", name="Ajustes del contribuyente")).to_be_visible()
        page.screenshot(path=str(shots / "ajustes.png"), full_page=True)
    finally:
        context.close()
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        for shot in [*shots.glob("*.png"), *shots.glob("*.pdf")]:
            shutil.copy(shot, ARTIFACTS / shot.name)
    kept = {p.name for p in ARTIFACTS.glob("*.png")}
    assert {
        "entrar.png",
        "comprobantes-rechazados.png",
        "comprobante-rechazado.png",
        "recibidos.png",
        "ajustes.png",
    } <= kept
