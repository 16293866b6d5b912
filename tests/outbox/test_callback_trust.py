"""Issue #10 item 1: a forged callback never moves a voucher to a final state.

The attack: someone who knows a callback URL (token included) posts a MensajeHacienda signed by a self-made
certificate carrying ``serialNumber=CPJ-2-100-042005`` saying ``rechazado`` while Hacienda said ``aceptado``.
The worker records nothing final from it; it asks Hacienda with ``GET /recepcion/{clave}`` and records what
Hacienda's genuine, trusted answer says.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator

import httpx
import pytest
from outbox_docs import ticket

from cr_einvoice.core.secret import Secret
from cr_einvoice.hacienda import AsyncClient, Credentials
from cr_einvoice.hacienda.callbacks import callback_url
from cr_einvoice.outbox.issuing import Issuer
from cr_einvoice.outbox.store import Store, VoucherState
from cr_einvoice.outbox.worker import Worker, WorkerSettings
from cr_einvoice.sandbox import Simulator, SimulatorSettings
from cr_einvoice.sandbox.mensaje import MensajeHaciendaData, render_mensaje_hacienda
from cr_einvoice.signing.certs import load_p12
from cr_einvoice.signing.xades import SignatureProfile, Signer, SignerConfig, TrustStore
from cr_einvoice.testing.pki import TestPKI, make_test_pki

USER = "cpj-3-101-123456@stag.comprobanteselectronicos.go.cr"
SECRET = Secret("callback-secret")
# Polls far away: only the worker's reaction to the callback can make it ask Hacienda now.
SLOW_POLLS = WorkerSettings(
    poll_initial=3600.0,
    poll_max=3600.0,
    lease=5.0,
    callback_url="http://127.0.0.1:9/cb/",
    callback_secret=SECRET,
)


@pytest.fixture(scope="module")
def sim(pki: TestPKI, backend: str) -> Iterator[Simulator]:
    """One simulator per store backend (``backend``: the tests of each reuse the same numbers)."""
    settings = SimulatorSettings(
        users={USER: "pw"}, processing_delay=0.0, trust=TrustStore.from_pem_files(pki.ca_cert_pem)
    )
    with Simulator(settings) as s:
        yield s


@pytest.fixture(scope="module")
def forger(tmp_path_factory: pytest.TempPathFactory) -> Signer:
    """The attacker's own 'Hacienda seal': a self-made certificate with serialNumber CPJ-2-100-042005."""
    own = make_test_pki(tmp_path_factory.mktemp("forger"), rc2=False)
    return Signer(load_p12(own.sello_p12, own.pin), SignerConfig(profile=SignatureProfile.HACIENDA_RESPONSE))


def forged_body(forger: Signer, clave: str) -> bytes:
    xml = render_mensaje_hacienda(
        MensajeHaciendaData(
            clave=clave,
            nombre_emisor="Emisor",
            tipo_identificacion_emisor="02",
            numero_cedula_emisor="3101123456",
            mensaje=3,
            detalle="-52, forged rejection, 0, 0",
            total_factura="1.00000",
        )
    )
    respuesta = base64.b64encode(forger.sign(xml)).decode()
    return json.dumps({"clave": clave, "ind-estado": "rechazado", "respuesta-xml": respuesta}).encode()


def client(sim: Simulator, *, name_the_ca: bool) -> AsyncClient:
    assert sim.sello_ca_cert_pem is not None
    trust = TrustStore.from_pem_files(sim.sello_ca_cert_pem) if name_the_ca else None
    return AsyncClient(sim.environment(), Credentials(USER, Secret("pw")), trust=trust)


async def submitted(worker: Worker, issuer: Issuer, store: Store, sucursal: int) -> str:
    key = issuer.issue(ticket(), sucursal=sucursal).key
    report = await worker.run_once()
    assert report.sent == 1
    record = store.require(key)
    assert record.state is VoucherState.SUBMITTED, record.last_error
    return key


async def test_forged_callback_is_confirmed_with_get_and_hacienda_decides(
    sim: Simulator, issuer: Issuer, store: Store, forger: Signer
) -> None:
    async with client(sim, name_the_ca=True) as api:
        worker = Worker(store, api, SLOW_POLLS)
        key = await submitted(worker, issuer, store, sucursal=7)
        sim.wait_final(key)  # Hacienda (the simulator) has accepted it by now
        before = worker._clock()
        record = worker.apply_callback_body(forged_body(forger, key))
        assert record is not None
        assert record.state is VoucherState.SUBMITTED  # no final transition from the forged callback
        assert store.respuestas(key) == []
        assert [e.kind for e in store.events(key)].count("callback_untrusted") == 1
        assert record.next_action_at is not None and record.next_action_at <= before + 1.0  # asked at once
        await worker.run_once()  # the GET /recepcion/{clave} the callback triggered
    final = store.require(key)
    assert final.state is VoucherState.ACCEPTED  # what Hacienda's trusted answer says
    assert [r.source for r in store.respuestas(key)] == ["poll"]  # from the GET, not the callback


async def test_forged_callback_over_http_is_answered_but_not_applied(
    sim: Simulator, issuer: Issuer, store: Store, forger: Signer
) -> None:
    async with client(sim, name_the_ca=True) as api:
        worker = Worker(store, api, SLOW_POLLS)
        key = await submitted(worker, issuer, store, sucursal=8)
        transport = httpx.ASGITransport(app=worker.callback_app())
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:9") as http:
            # The attacker even has the URL with its valid token.
            url = callback_url("http://127.0.0.1:9/cb/", key, SECRET)
            response = await http.post(url, content=forged_body(forger, key))
        assert response.status_code == 200  # taken note of; Hacienda is asked instead
        assert store.require(key).state is VoucherState.SUBMITTED
        assert store.respuestas(key) == []


async def test_with_the_default_trust_neither_the_forgery_nor_the_test_seal_is_final(
    sim: Simulator, issuer: Issuer, store: Store, forger: Signer
) -> None:
    """No anchor named: the national PKI is the trust. The forged callback moves nothing, and the
    simulator's own TEST-sealed status answer is reported as not trusted rather than recorded."""
    async with client(sim, name_the_ca=False) as api:
        worker = Worker(store, api, SLOW_POLLS)
        key = await submitted(worker, issuer, store, sucursal=9)
        sim.wait_final(key)
        worker.apply_callback_body(forged_body(forger, key))
        assert store.require(key).state is VoucherState.SUBMITTED
        await worker.run_once()
    record = store.require(key)
    assert record.state is VoucherState.SUBMITTED
    assert record.last_error is not None and "signature valid but not trusted" in record.last_error
    assert store.respuestas(key) == []


def test_the_worker_hands_untrusted_callbacks_to_itself_only() -> None:
    """``callback_app`` of other users stays strict (403); only the worker, which confirms with GET, asks
    for untrusted callbacks to be handed over."""
    import inspect

    from cr_einvoice.hacienda.callbacks import callback_app, parse_callback

    assert inspect.signature(parse_callback).parameters["allow_untrusted"].default is False
    assert inspect.signature(callback_app).parameters["allow_untrusted"].default is False
