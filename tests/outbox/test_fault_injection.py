"""The fault-injection run of issue #10: 300 vouchers, two workers on separate connections to one outbox, the
real simulator on loopback with 5xx, dropped connections (before and after the body), 429, token expiry, read
timeouts longer than the client's, ``ind-estado: error`` and a transient Signum One rejection. Every voucher
ends accepted, numbering has no gap, and no voucher is POSTed again once Hacienda has it (a re-POST is allowed
only of a voucher Hacienda left in ``error`` or rejected transiently -- which it then processes anew)."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections import Counter
from typing import Any

import httpx
from outbox_docs import EMISOR_ID, ticket

from cr_einvoice.core.secret import Secret
from cr_einvoice.hacienda import AsyncClient, Credentials
from cr_einvoice.outbox.issuing import Issuer, IssuerSettings
from cr_einvoice.outbox.store import CounterKey, VoucherState, open_store
from cr_einvoice.outbox.worker import Worker, WorkerSettings
from cr_einvoice.sandbox import Simulator, SimulatorSettings
from cr_einvoice.signing.xades import Signer, TrustStore
from cr_einvoice.testing.pki import TestPKI
from cr_einvoice.transport.http import RetryPolicy

USER = "cpj-3-101-123456@stag.comprobanteselectronicos.go.cr"
N = 300
CLIENT_TIMEOUT = 1.0
SERVER_DELAY = 1.6  # a POST answered later than the client waits: it times out, and is registered after
TUNING = WorkerSettings(
    concurrency=8,
    batch=100,
    poll_initial=0.05,
    poll_max=0.3,
    send_backoff_base=0.05,
    send_backoff_max=0.5,
    lease=5.0,
    idle=0.05,
    resend_after=SERVER_DELAY + 1.0,
    max_requery=2,
    max_resends=2,
    heartbeat=0.2,
    stale_after=3.0,
)


def _key_of(body: bytes) -> str:
    data = json.loads(body)
    clave = str(data["clave"])
    receptor = data.get("consecutivoReceptor")
    return f"{clave}-{receptor}" if receptor else clave


def test_three_hundred_vouchers_two_workers_every_fault(pki: TestPKI, signer: Signer, store_url: str) -> None:
    """On each backend (``store_url``): SQLite, and PostgreSQL with each worker on its own connection pool."""
    settings = SimulatorSettings(
        users={USER: "pw"},
        processing_delay=0.05,
        rate_limit=100_000,
        rate_limit_window=1.0,
        trust=TrustStore.from_pem_files(pki.ca_cert_pem),
        workers=4,
    )
    db = store_url
    posts: list[tuple[str, str | None, bool]] = []  # key, estado before, retryable before
    lock = threading.Lock()
    with Simulator(settings) as sim:
        original = sim.submit

        def recording_submit(claims: Any, body: bytes, *, drop_after: bool = False) -> Any:
            try:
                key = _key_of(body)
            except (ValueError, KeyError):
                key = "?"
            before = sim.store.get(key)
            retryable = before is not None and (
                before.estado == "error" or "Signum One" in (before.detalle or "")
            )
            with lock:
                posts.append((key, before.estado if before is not None else None, retryable))
            return original(claims, body, drop_after=drop_after)

        sim.submit = recording_submit  # type: ignore[method-assign]
        with open_store(db, create=True) as store:
            issuer = Issuer(store, signer, IssuerSettings("02", EMISOR_ID, "Empresa de Pruebas S.A."))
            doc = ticket(lines=1)
            keys = [issuer.issue(doc, external_ref=f"order-{i}").key for i in range(N)]
        started = time.monotonic()
        asyncio.run(_run_two_workers(sim, db, keys))
        elapsed = time.monotonic() - started
        sim.wait_idle(10)
        del sim.submit  # type: ignore[method-assign]
        sim_keys = {s.key: s.estado for s in sim.store.all()}
        snapshot = sim.faults.snapshot()

    with open_store(db) as store:
        vouchers = list(store.iter_vouchers())
        states = Counter(v.state for v in vouchers)
        assert states == {VoucherState.ACCEPTED: N}, (
            states,
            [(v.key[-12:], v.state.value, v.last_error) for v in vouchers if not v.is_final][:5],
        )
        assert sorted(v.numero for v in vouchers) == list(range(1, N + 1))  # 0 gaps
        assert store.peek_next_number(CounterKey(EMISOR_ID, 1, 1, "04")) == N + 1
        assert set(sim_keys) == set(keys) and set(sim_keys.values()) == {"aceptado"}
        events = store.events(limit=1_000_000)
        kinds = Counter(e.kind for e in events)
        # POSTs that timed out (or lost their answer) were found by asking, not by POSTing again
        found_by_asking = [
            e for e in events if e.detail.get("source") == "status" and e.detail.get("from") == "sending"
        ]
        assert found_by_asking, kinds
    # the faults did happen, and were handled on the paths meant for them
    assert all(not v for k, v in snapshot.items() if k.endswith("_next") and isinstance(v, int)), snapshot
    assert kinds["requery"] >= 4 and kinds["resend"] >= 4, kinds  # ind-estado error and Signum One
    assert kinds["lease_recovered"] == 0  # both workers lived
    # 0 duplicate POSTs: a voucher Hacienda already had was never POSTed again, except to resend one it
    # left in error or rejected transiently (processed anew)
    posts = [p for p in posts if p[0] != "?"]
    duplicates = [p for p in posts if p[1] is not None and not p[2]]
    assert not duplicates, duplicates[:5]
    resent = [p for p in posts if p[2]]
    assert len(resent) >= 4
    assert len(posts) - len(resent) >= N
    assert elapsed < 90, elapsed
    print(f"\n{N} vouchers, 2 workers, {elapsed:.1f}s, {len(posts)} POSTs ({len(resent)} resends), {kinds}")


async def _run_two_workers(sim: Simulator, db: str, keys: list[str]) -> None:
    assert sim.sello_ca_cert_pem is not None
    trust = TrustStore.from_pem_files(sim.sello_ca_cert_pem)
    stores = [open_store(db), open_store(db)]
    stop = asyncio.Event()
    faults = sim.faults
    faults.fail_next(20, 503)
    faults.drop_next(8)
    faults.drop_next(8, after_body=True, target="submit")
    faults.error_next(3)
    faults.signum_error_next(3)
    try:
        async with (
            _client(sim, trust) as api_a,
            _client(sim, trust) as api_b,
        ):
            workers = [Worker(stores[0], api_a, TUNING), Worker(stores[1], api_b, TUNING)]
            assert workers[0].worker_id != workers[1].worker_id
            tasks = [asyncio.create_task(w.run_forever(stop)) for w in workers]
            await asyncio.sleep(0.3)
            faults.set_delay(SERVER_DELAY, target="submit")  # read timeouts longer than the client's
            await asyncio.sleep(1.2)
            faults.set_delay(0.0)
            faults.rate_limit = 15  # 429 for a while
            await asyncio.sleep(1.0)
            faults.rate_limit = None
            faults.expire_tokens_now()
            deadline = time.monotonic() + 80
            while time.monotonic() < deadline:
                counts = stores[0].count_by_state()
                if counts[VoucherState.ACCEPTED] + counts[VoucherState.REJECTED] == len(keys):
                    break
                if counts[VoucherState.ERROR]:
                    break
                await asyncio.sleep(0.2)
            stop.set()
            await asyncio.wait_for(asyncio.gather(*tasks), timeout=5)
    finally:
        for s in stores:
            s.close()


def _client(sim: Simulator, trust: TrustStore) -> AsyncClient:
    return AsyncClient(
        sim.environment(),
        Credentials(USER, Secret("pw")),
        trust=trust,
        timeout=httpx.Timeout(CLIENT_TIMEOUT),
        retry=RetryPolicy(3, 0.05, 0.5),
    )
