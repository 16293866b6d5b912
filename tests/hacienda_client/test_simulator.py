"""The client against the local Hacienda simulator (cr_einvoice.sandbox) over real loopback HTTP:
real signed vouchers, Hacienda-style signed answers verified against the TEST sello's CA, faults."""

from __future__ import annotations

import asyncio
import itertools
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from hacienda_fakes import uvicorn_server
from hc_support import FAST_RETRY

from cr_einvoice.core.catalogs import Situacion, TipoDocumento
from cr_einvoice.core.clave import Clave, Consecutivo, cr_now
from cr_einvoice.core.errors import ServerError, TransportError
from cr_einvoice.hacienda import (
    AlreadyReceived,
    AsyncClient,
    CallbackResult,
    Client,
    Credentials,
    StatusResult,
    callback_app,
    callback_url,
)
from cr_einvoice.sandbox import Simulator, SimulatorSettings
from cr_einvoice.signing.certs import load_p12
from cr_einvoice.signing.xades import Signer, TrustStore
from cr_einvoice.testing.examples import example_json
from cr_einvoice.testing.pki import TestPKI
from cr_einvoice.vouchers.jsonio import document_from_json
from cr_einvoice.vouchers.xmlwrite import to_xml

USER = "cpj-3-101-123456@stag.comprobanteselectronicos.go.cr"
PASSWORD = "simulator-pass"


class Vouchers:
    """Signed vouchers of the TEST taxpayer, each with its own consecutivo and clave."""

    def __init__(self, pki: TestPKI) -> None:
        self.signer = Signer(load_p12(pki.taxpayer_p12, pki.pin))
        self._numbers = itertools.count(1)
        self._lock = threading.Lock()

    def _next(self) -> int:
        with self._lock:
            return next(self._numbers)

    def factura(self) -> bytes:
        doc = document_from_json(example_json("fe"))
        now = cr_now()
        consecutivo = Consecutivo(sucursal=1, terminal=1, tipo=doc.tipo, numero=self._next())
        ident = doc.emisor.identificacion  # type: ignore[attr-defined]
        clave = Clave.build(
            tipo_identificacion=ident.tipo,
            numero_identificacion=ident.numero,
            consecutivo=consecutivo,
            fecha=now,
            situacion=Situacion.NORMAL,
            codigo_seguridad=None,
        )
        return self.signer.sign(
            to_xml(doc.with_numbering(consecutivo=consecutivo, clave=clave, fecha_emision=now))
        )

    def mensaje_receptor(self) -> bytes:
        doc = document_from_json(example_json("mr"))
        consecutivo = Consecutivo(
            sucursal=1, terminal=1, tipo=TipoDocumento.CONFIRMACION_ACEPTACION, numero=self._next()
        )
        return self.signer.sign(to_xml(doc.with_numbering(consecutivo=consecutivo, fecha_emision=cr_now())))


@pytest.fixture(scope="module")
def vouchers(test_pki: TestPKI) -> Vouchers:
    return Vouchers(test_pki)


@pytest.fixture(scope="module")
def sim(test_pki: TestPKI, schemas_dir: Path) -> Iterator[Simulator]:
    settings = SimulatorSettings(
        users={USER: PASSWORD},
        sello_p12=test_pki.sello_p12,
        sello_pin=test_pki.pin,
        trust=TrustStore.from_pem_files(test_pki.ca_cert_pem),
        processing_delay=0.05,
        rate_limit=100_000,
        workers=2,
        callback_retry_delay=0.05,
        callback_timeout=2.0,
    )
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CR_EINVOICE_SCHEMAS", str(schemas_dir))
        with Simulator(settings) as simulator:
            yield simulator


@pytest.fixture(autouse=True)
def _no_leftover_faults(sim: Simulator) -> Iterator[None]:
    sim.settings.faults.reset()
    yield
    sim.settings.faults.reset()


def client(sim: Simulator, sello_trust: TrustStore, **kw: object) -> Client:
    kw.setdefault("retry", FAST_RETRY)
    return Client(sim.environment(), Credentials(USER, PASSWORD), trust=sello_trust, **kw)  # type: ignore[arg-type]


def final_status(c: Client, sim: Simulator, status_id: str) -> StatusResult:
    sim.wait_final(status_id)
    return c.status(status_id)


def test_submit_and_get_a_verified_acceptance(
    sim: Simulator, vouchers: Vouchers, sello_trust: TrustStore
) -> None:
    xml = vouchers.factura()
    with client(sim, sello_trust) as c:
        result = c.submit(xml)
        assert result.status_code in (201, 202)
        assert result.rate_limit is not None
        status = final_status(c, sim, result.status_id)
        assert status.estado == "aceptado"
        assert status.respuesta is not None
        assert status.respuesta.clave == result.clave
        assert status.respuesta.mensaje == 1
        assert status.respuesta.ambiente_pruebas
        assert status.respuesta.signature is not None and status.respuesta.signature.trusted
        again = c.submit(xml)
        assert isinstance(again, AlreadyReceived)
        assert any(item.get("clave") == result.clave for item in c.list(page_size=5))
        assert c.get(result.clave)
        assert c.token_stats.logins == 1
    assert c.token_stats.logouts == 1


def test_mensaje_receptor_round_trip(sim: Simulator, vouchers: Vouchers, sello_trust: TrustStore) -> None:
    with client(sim, sello_trust) as c:
        result = c.submit(vouchers.mensaje_receptor())
        assert "-" in result.status_id
        status = final_status(c, sim, result.status_id)
    assert status.final
    assert status.respuesta is not None
    assert status.respuesta.clave == result.clave


def test_modified_after_signing_is_rejected_with_a_bare_signature_message(
    sim: Simulator, vouchers: Vouchers, sello_trust: TrustStore
) -> None:
    xml = vouchers.factura().replace(b"<Detalle>", b"<Detalle>X", 1)
    with client(sim, sello_trust) as c:
        status = final_status(c, sim, c.submit(xml).status_id)
    assert status.estado == "rechazado"
    assert status.respuesta is not None
    assert status.respuesta.mensaje == 3
    assert status.respuesta.errores
    assert status.respuesta.errores[0].codigo is None
    assert "firma" in status.respuesta.errores[0].mensaje.lower()


def test_5xx_and_expired_tokens_are_absorbed(
    sim: Simulator, vouchers: Vouchers, sello_trust: TrustStore
) -> None:
    with client(sim, sello_trust) as c:
        c.submit(vouchers.factura())
        sim.settings.faults.fail_next(2, 503, target="submit")
        assert c.submit(vouchers.factura()).status_code in (201, 202)
        sim.settings.faults.expire_tokens_now()
        assert c.submit(vouchers.factura()).status_code in (201, 202)
        assert c.token_stats.refreshes == 1
        assert c.token_stats.logins == 1
        sim.settings.faults.fail_next(10, 502, target="submit")
        with pytest.raises(ServerError):
            c.submit(vouchers.factura())


def test_dropped_after_receipt_is_ambiguous_and_status_tells(
    sim: Simulator, vouchers: Vouchers, sello_trust: TrustStore
) -> None:
    xml = vouchers.factura()
    with client(sim, sello_trust) as c:
        sim.settings.faults.drop_next(1, after_body=True, target="submit")
        with pytest.raises(TransportError) as info:
            c.submit(xml)
        assert info.value.request_sent is True
        clave = xml.split(b"<Clave>")[1].split(b"</Clave>")[0].decode()
        # As the message advises: ask for the status instead of resending.
        assert final_status(c, sim, clave).final
        assert isinstance(c.submit(xml), AlreadyReceived)


def test_rate_limit_is_honoured(sim: Simulator, vouchers: Vouchers, sello_trust: TrustStore) -> None:
    delays: list[float] = []

    def sleep(seconds: float) -> None:
        delays.append(seconds)
        sim.settings.faults.rate_limit = None  # the window "passes"

    with client(sim, sello_trust, sleep=sleep) as c:
        sim.settings.faults.rate_limit = 0
        result = c.submit(vouchers.factura())
    assert result.status_code in (201, 202)
    assert delays and delays[0] > 0


async def test_200_submissions_in_flight_at_once(
    sim: Simulator, vouchers: Vouchers, sello_trust: TrustStore
) -> None:
    docs = [vouchers.factura() for _ in range(200)]
    async with AsyncClient(
        sim.environment(),
        Credentials(USER, PASSWORD),
        trust=sello_trust,
        retry=FAST_RETRY,
        max_connections=200,
    ) as ac:
        results = await asyncio.gather(*(ac.submit(doc) for doc in docs))
        assert len({r.clave for r in results}) == 200

        async def until_final(status_id: str) -> StatusResult:
            for _ in range(400):
                status = await ac.status(status_id)
                if status.final:
                    return status
                await asyncio.sleep(0.05)
            raise AssertionError(f"{status_id} never reached a final state")

        finals = await asyncio.gather(*(until_final(r.status_id) for r in results))
        assert ac.token_stats.logins == 1
    assert {s.estado for s in finals} == {"aceptado"}
    assert all(s.respuesta is not None and s.respuesta.verified for s in finals)


def test_simulator_callbacks_reach_the_asgi_app(
    sim: Simulator, vouchers: Vouchers, sello_trust: TrustStore
) -> None:
    secret = b"per-deployment-secret-0123456789"
    received: list[CallbackResult] = []
    done = threading.Event()
    submitted: set[str] = set()

    def handler(result: CallbackResult) -> None:
        received.append(result)
        done.set()

    app = callback_app(
        handler, trust=sello_trust, known_claves=submitted, secret=secret, path_prefix="/hacienda"
    )
    with uvicorn_server(app) as base, client(sim, sello_trust) as c:
        xml = vouchers.factura()
        clave = xml.split(b"<Clave>")[1].split(b"</Clave>")[0].decode()
        submitted.add(clave)
        c.submit(xml, callback_url=callback_url(f"{base}/hacienda", clave, secret))
        assert done.wait(10), "no callback arrived"
        # A forged callback to the same URL is refused.
        forged = httpx.post(
            callback_url(f"{base}/hacienda", clave, secret),
            json={"clave": clave, "ind-estado": "aceptado"},
        )
        assert forged.status_code == 422
    assert [r.clave for r in received] == [clave]
    assert received[0].estado == "aceptado"
    assert received[0].respuesta.signature is not None and received[0].respuesta.signature.trusted
