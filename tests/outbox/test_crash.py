"""Crash safety, proven: SIGKILL the issuing-and-submitting process at random points, many times.

A real child process (``crash_child.py``) issues N tickets (one per order, idempotently) into the store (a
SQLite file, or a PostgreSQL database) and submits them to the simulator on loopback. The test kills it with
SIGKILL at random moments after it starts working, at least ``KILLS`` times, restarting it each time, then
lets it finish. Afterwards:

* every order has exactly one voucher, and the consecutivos are exactly 1..N (no gap, no duplicate);
* every voucher is accepted, and Hacienda (the simulator) holds exactly our claves;
* the simulator's record of POSTs shows no clave POSTed after it was accepted (a repeated POST of a clave
  Hacienda already had is allowed only as a "ya fue recibido" refusal, which the worker resolves by polling).
"""

from __future__ import annotations

import json
import os
import random
import selectors
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest

from cr_einvoice.outbox.store import CounterKey, VoucherState, open_store
from cr_einvoice.sandbox import Simulator, SimulatorSettings
from cr_einvoice.signing.xades import TrustStore
from cr_einvoice.testing.pki import TestPKI

N = 500
KILLS = 24
CHILD = Path(__file__).with_name("crash_child.py")
USER = "cpj-3-101-123456@stag.comprobanteselectronicos.go.cr"


@dataclass(frozen=True)
class Post:
    key: str
    estado_before: str | None
    at: float


def _key_of(body: bytes) -> str:
    data = json.loads(body)
    consecutivo = data.get("consecutivoReceptor")
    return f"{data['clave']}-{consecutivo}" if consecutivo else str(data["clave"])


def _wait_ready(proc: subprocess.Popen[bytes], timeout: float) -> bool:
    assert proc.stdout is not None
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + timeout
    buffer = b""
    while time.monotonic() < deadline:
        if not sel.select(timeout=0.05):
            if proc.poll() is not None:
                return False
            continue
        chunk = os.read(proc.stdout.fileno(), 4096)
        if not chunk:
            return False
        buffer += chunk
        if b"READY" in buffer:
            return True
    return False


def _phase(db: str) -> str:
    """Where the run was when it was killed: still issuing, submitting/polling, or already done."""
    with open_store(db) as peek:
        counts = peek.count_by_state()
    total = sum(counts.values())
    if total < N:
        return "issuing"
    if counts[VoucherState.ACCEPTED] < N:
        return "in flight"
    return "done"


@pytest.mark.slow
def test_sigkill_at_random_points_loses_nothing(pki: TestPKI, store_url: str) -> None:
    """On each backend (``store_url``: a SQLite file, a PostgreSQL database)."""
    rng = random.Random(int(os.environ.get("CRASH_SEED", str(time.time_ns()))))
    settings = SimulatorSettings(
        users={USER: "pw"},
        processing_delay=0.3,
        rate_limit=1_000_000,
        trust=TrustStore.from_pem_files(pki.ca_cert_pem),
        workers=2,
    )
    posts: list[Post] = []
    lock = threading.Lock()
    db = store_url
    with Simulator(settings) as sim:
        original = sim.submit

        def recording_submit(claims, body, *, drop_after=False):  # type: ignore[no-untyped-def]
            try:
                key = _key_of(body)
            except (ValueError, KeyError):
                key = "?"
            before = sim.store.get(key)
            with lock:
                posts.append(Post(key, before.estado if before is not None else None, time.monotonic()))
            return original(claims, body, drop_after=drop_after)

        sim.submit = recording_submit  # type: ignore[method-assign]
        assert sim.sello_ca_cert_pem is not None
        cfg = {
            "db": str(db),
            "p12": str(pki.taxpayer_p12),
            "pin": pki.pin,
            "token_url": sim.token_url,
            "recepcion_url": sim.base_url,
            "user": USER,
            "password": "pw",
            "sello_ca": str(sim.sello_ca_cert_pem),
            "n": N,
        }
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        kills = 0
        runs = 0
        kill_phases: Counter[str] = Counter()
        kill_states: Counter[str] = Counter()  # how many kills found vouchers in each state
        started = time.monotonic()
        finished = False
        while not finished:
            runs += 1
            assert runs < KILLS * 4, "the child keeps failing to start"
            proc = subprocess.Popen(
                [sys.executable, str(CHILD), json.dumps(cfg)],
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                env=env,
            )
            try:
                assert _wait_ready(proc, timeout=30), "the child did not start"
                useful = kill_phases["issuing"] + kill_phases["in flight"]
                # keep killing until the kills also covered the states asserted below (a voucher is in
                # `sending` only for the moment of its POST, so a fixed number of kills may miss it)
                in_hacienda = kill_states["submitted"] + kill_states["processing"]
                covered = kill_states["sending"] >= 3 and in_hacienda >= 3
                if (useful < KILLS or not covered) and _phase(db) != "done":
                    time.sleep(rng.uniform(0.05, 0.4) if _phase(db) == "issuing" else rng.uniform(0.02, 0.15))
                    phase = _phase(db)  # where the run is at the moment of the kill
                    if proc.poll() is None:
                        proc.send_signal(signal.SIGKILL)
                        proc.wait(10)
                        kills += 1
                        kill_phases[phase] += 1
                        with open_store(db) as peek:
                            kill_states.update(k.value for k, v in peek.count_by_state().items() if v)
                        continue
                rc = proc.wait(120)
                assert rc == 0, f"child exited {rc}"
                finished = True
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait(10)
        elapsed = time.monotonic() - started
        sim.wait_idle(10)
        del sim.submit  # type: ignore[method-assign]
        sim_keys = {s.key: s.estado for s in sim.store.all()}

    with open_store(db) as store:
        vouchers = list(store.iter_vouchers())
        refs = Counter(v.external_ref for v in vouchers)
        # every order exactly once
        assert len(vouchers) == N
        assert set(refs) == {f"order-{i}" for i in range(N)} and max(refs.values()) == 1
        # gapless, never duplicated numbering
        assert sorted(v.numero for v in vouchers) == list(range(1, N + 1))
        assert len({v.consecutivo for v in vouchers}) == N and len({v.clave for v in vouchers}) == N
        assert store.peek_next_number(CounterKey("3101123456", 1, 1, "04")) == N + 1
        # everything accepted, here and at Hacienda, and nothing Hacienda has that we do not
        states = Counter(v.state for v in vouchers)
        assert states == {VoucherState.ACCEPTED: N}, states
        assert set(sim_keys) == {v.key for v in vouchers}
        assert set(sim_keys.values()) == {"aceptado"}
        assert all(store.respuestas(v.key) for v in vouchers)

    # at least KILLS kills landed while there was work: while issuing, and with vouchers on their way
    assert kill_phases["issuing"] + kill_phases["in flight"] >= KILLS, kill_phases
    assert kill_states["sending"] >= 3 and kill_states["submitted"] + kill_states["processing"] >= 3, (
        kill_states
    )
    # the simulator's record of POSTs
    after_final = [p for p in posts if p.estado_before in ("aceptado", "rechazado")]
    assert not after_final, f"POSTed after Hacienda's final answer: {after_final[:5]}"
    # a child killed in the middle of writing a request leaves a truncated body the server cannot read
    truncated = [p for p in posts if p.key == "?"]
    posts = [p for p in posts if p.key != "?"]
    per_key = Counter(p.key for p in posts)
    duplicates = [p for p in posts if p.estado_before is not None]
    assert set(per_key) == set(sim_keys)
    # a repeated POST can only be one Hacienda already had ("ya fue recibido"), never a fresh second copy
    assert len(posts) - len(duplicates) == N
    print(
        f"\ncrash test: {kills} SIGKILLs over {runs} runs, {N} vouchers, {len(posts)} POSTs "
        f"({len(duplicates)} answered 'ya fue recibido', {len(truncated)} cut off by the kill), "
        f"{elapsed:.1f}s; "
        f"kills by phase: {dict(kill_phases)}; kills that found vouchers in each state: {dict(kill_states)}"
    )
