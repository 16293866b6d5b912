"""Crash safety across nodes on PostgreSQL: three node processes (each its own connections, as three machines)
issue two taxpayers' orders and work the outbox, and are SIGKILLed at random and started again.

Each node (``pg_crash_node.py``) issues its share of 2 x N/2 orders idempotently and runs a worker until every
voucher of the run is final. A killed node's open transaction is rolled back by the server (no gap), its
leases come back to the others by its stale heartbeat, and its restart issues what it had not. Afterwards:

* every order has exactly one voucher; per taxpayer the consecutivos are exactly 1..N/2 (0 gaps, 0 repeats);
* every voucher is accepted, and the simulator holds exactly our claves;
* the simulator's record of POSTs: every clave arrived exactly once (nothing sent twice), none after its
  final answer.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from outbox_docs import CLIENTE_ID, EMISOR_ID
from sim_posts import recorded_posts
from test_crash import _wait_ready

from cr_einvoice.outbox.store import CounterKey, VoucherState, open_store
from cr_einvoice.sandbox import Simulator, SimulatorSettings
from cr_einvoice.signing.xades import TrustStore
from cr_einvoice.testing.pgserver import PgServer
from cr_einvoice.testing.pki import TestPKI

N = 500
NODES = 3
KILLS = 8
NODE = Path(__file__).with_name("pg_crash_node.py")
USER = "cpj-3-101-123456@stag.comprobanteselectronicos.go.cr"


@pytest.mark.slow
def test_three_nodes_killed_at_random_lose_nothing_and_send_nothing_twice(
    pki: TestPKI, supplier_pki: TestPKI, pg_server: PgServer
) -> None:
    rng = random.Random(int(os.environ.get("CRASH_SEED", str(time.time_ns()))))
    url = pg_server.create_database()
    with open_store(url, create=True) as store:
        for numero in (EMISOR_ID, CLIENTE_ID):
            store.add_issuer("02", numero, "Empresa de Pruebas S.A.")
    settings = SimulatorSettings(
        users={USER: "pw"},
        processing_delay=0.1,
        rate_limit=1_000_000,
        trust=TrustStore.from_pem_files(pki.ca_cert_pem, supplier_pki.ca_cert_pem),
        workers=4,
    )
    with Simulator(settings) as sim, recorded_posts(sim) as posts:
        assert sim.sello_ca_cert_pem is not None
        cfg = {
            "url": url,
            "nodes": NODES,
            "pace": 0.05,
            "n": N // 2,
            "taxpayers": [
                {"numero": EMISOR_ID, "p12": str(pki.taxpayer_p12), "pin": pki.pin},
                {"numero": CLIENTE_ID, "p12": str(supplier_pki.taxpayer_p12), "pin": supplier_pki.pin},
            ],
            "token_url": sim.token_url,
            "recepcion_url": sim.base_url,
            "user": USER,
            "password": "pw",
            "sello_ca": str(sim.sello_ca_cert_pem),
        }
        started = time.monotonic()
        nodes = [_start(cfg, i) for i in range(NODES)]
        kills = 0
        kill_states: Counter[str] = Counter()
        try:
            while kills < KILLS:
                time.sleep(rng.uniform(0.1, 0.6))
                with open_store(url) as peek:
                    counts = peek.count_by_state()
                if counts[VoucherState.ACCEPTED] == N:
                    break  # the run ended before all kills: they still count if enough landed
                victim = rng.randrange(NODES)
                if nodes[victim].poll() is not None:
                    continue
                nodes[victim].send_signal(signal.SIGKILL)
                nodes[victim].wait(10)
                kills += 1
                kill_states.update(k.value for k, v in counts.items() if v and k is not VoucherState.ACCEPTED)
                nodes[victim] = _start(cfg, victim)
            for proc in nodes:
                assert proc.wait(120) == 0, "a node did not finish"
        finally:
            for proc in nodes:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait(10)
        elapsed = time.monotonic() - started
        sim.wait_idle(10)
        sim_keys = {s.key: s.estado for s in sim.store.all()}

    with open_store(url) as store:
        vouchers = list(store.iter_vouchers())
        assert len(vouchers) == N
        refs = Counter(v.external_ref for v in vouchers)
        expected = {f"{t}-order-{i}" for t in (EMISOR_ID, CLIENTE_ID) for i in range(N // 2)}
        assert set(refs) == expected and max(refs.values()) == 1
        for taxpayer in (EMISOR_ID, CLIENTE_ID):
            mine = [v for v in vouchers if v.emisor_numero == taxpayer]
            assert sorted(v.numero for v in mine) == list(range(1, N // 2 + 1)), taxpayer  # 0 gaps
            assert store.peek_next_number(CounterKey(taxpayer, 1, 1, "04")) == N // 2 + 1
        assert len({v.clave for v in vouchers}) == N
        states = Counter(v.state for v in vouchers)
        assert states == {VoucherState.ACCEPTED: N}, states
        assert set(sim_keys) == {v.key for v in vouchers} and set(sim_keys.values()) == {"aceptado"}
        recovered = [e for e in store.events(limit=1_000_000) if e.kind == "lease_recovered"]
    assert kills >= KILLS - 2, f"only {kills} kills landed while there was work"
    complete = [p for p in posts if p[0] != "?"]  # a node killed mid-request leaves a body cut short
    assert not [p for p in complete if p[1] in ("aceptado", "rechazado")], "POSTed after the final answer"
    per_key = Counter(k for k, _ in complete)
    assert set(per_key) == set(sim_keys)
    twice = {k: n for k, n in per_key.items() if n > 1}
    assert not twice, f"sent twice: {list(twice.items())[:5]}"
    print(
        f"\nPostgreSQL crash test: {kills} SIGKILLs of {NODES} nodes, {N} vouchers of 2 taxpayers, "
        f"{len(complete)} POSTs ({len(posts) - len(complete)} cut off), {len(recovered)} leases taken over, "
        f"{elapsed:.1f}s; states seen at the kills: {dict(kill_states)}"
    )


def _start(cfg: dict[str, Any], node: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [sys.executable, str(NODE), json.dumps({**cfg, "node": node})],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert _wait_ready(proc, timeout=60), f"node {node} did not start"
    return proc
