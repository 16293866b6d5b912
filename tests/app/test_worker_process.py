"""Issue #10 items 6 and 7 with ``cr-einvoice worker`` as a real process against the simulator on loopback:

* SIGTERM and SIGINT stop it within a second, saying so on stderr, with its leases released (the voucher it
  was sending is due again at once for another worker) and the exit code of :class:`ExitCode`;
* ``--log-json`` writes one JSON object per line, naming the voucher and its state; without ``-v`` each round
  is logged at INFO;
* a worker killed with SIGKILL while holding leases: another worker takes its vouchers over within seconds
  (its heartbeat went stale), not after the lease, and sends nothing twice.
"""

from __future__ import annotations

import asyncio
import json
import os
import selectors
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from cr_einvoice.app.config import WorkerSettings, write_config
from cr_einvoice.app.demo import LocalSandbox
from cr_einvoice.core.errors import ExitCode
from cr_einvoice.outbox.store import VoucherRecord, VoucherState
from cr_einvoice.testing.examples import example_json


@pytest.fixture(scope="module")
def box(schemas_dir: Path) -> Iterator[LocalSandbox]:
    with LocalSandbox(processing_delay=0.05) as sandbox:
        yield sandbox


class Hacienda:
    """What the simulator was sent: every POSTed clave; the first POST is held ``hold`` seconds (registered
    only then, its answer later than a worker killed meanwhile waits), ``arrived`` tells it came."""

    def __init__(self) -> None:
        self.posts: list[str] = []
        self.hold = 0.0
        self.arrived = threading.Event()


@pytest.fixture
def hacienda(box: LocalSandbox) -> Iterator[Hacienda]:
    seen = Hacienda()
    original = box.sim.submit

    def recording(claims: Any, body: bytes, *, drop_after: bool = False) -> Any:
        seen.posts.append(str(json.loads(body)["clave"]))
        seen.arrived.set()
        hold, seen.hold = seen.hold, 0.0
        time.sleep(hold)
        return original(claims, body, drop_after=drop_after)

    box.sim.submit = recording
    yield seen
    del box.sim.submit


@pytest.fixture(scope="module")
def cfg(box: LocalSandbox) -> str:
    assert box.config is not None
    config = replace(box.config, worker=WorkerSettings(poll_initial=0.05, poll_max=0.2))
    return str(write_config(config, box.workdir / "fast.toml", overwrite=True))


def issue(box: LocalSandbox) -> VoucherRecord:
    data = example_json("te") | {"emisor": example_json("fe")["emisor"]}
    issuer = box.runtime.issuer()
    return issuer.issue(issuer.from_json(data)).record


class WorkerProcess:
    """``python -m cr_einvoice worker --config CFG ...`` with its stderr read line by line."""

    def __init__(self, cfg: str, *options: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "cr_einvoice", "worker", "--config", cfg, *options],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=os.environ.copy(),
        )
        assert self.proc.stderr is not None
        self._sel = selectors.DefaultSelector()
        self._sel.register(self.proc.stderr, selectors.EVENT_READ)
        self._buffer = b""
        self.lines: list[str] = []

    def read(self, timeout: float) -> None:
        """Collect what stderr says within ``timeout`` seconds (until it closes)."""
        assert self.proc.stderr is not None
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            if not self._sel.select(timeout=min(left, 0.05)):
                continue
            chunk = os.read(self.proc.stderr.fileno(), 65536)
            if not chunk:
                return
            self._buffer += chunk
            *done, self._buffer = self._buffer.split(b"\n")
            self.lines += [line.decode() for line in done]

    def wait_for(self, text: str, timeout: float = 20.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in self.lines:
                if text in line:
                    return line
            if self.proc.poll() is not None:
                self.read(0.2)
                break
            self.read(0.1)
        raise AssertionError(f"{text!r} not said within {timeout}s: {self.lines}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(5)
        assert self.proc.stderr is not None
        self.proc.stderr.close()


def until(condition: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout}s")
        time.sleep(0.02)


def mid_post(box: LocalSandbox, cfg: str, hacienda: Hacienda) -> tuple[VoucherRecord, WorkerProcess]:
    """A worker process caught in the middle of a POST (held 2 s by the simulator), holding its lease."""
    hacienda.hold = 2.0
    v = issue(box)
    worker = WorkerProcess(cfg)
    try:
        worker.wait_for("running")
        assert hacienda.arrived.wait(20), worker.lines
        record = box.runtime.store.require(v.key)
        assert record.state is VoucherState.SENDING and record.lease_owner is not None
    except BaseException:
        worker.stop()
        raise
    return v, worker


@pytest.mark.parametrize(
    ("sig", "code"), [(signal.SIGTERM, ExitCode.OK), (signal.SIGINT, ExitCode.INTERRUPTED)]
)
def test_worker_stops_within_a_second_and_releases_its_leases(
    box: LocalSandbox, cfg: str, hacienda: Hacienda, sig: signal.Signals, code: ExitCode
) -> None:
    v, worker = mid_post(box, cfg, hacienda)
    try:
        owner = box.runtime.store.require(v.key).lease_owner
        started = time.monotonic()
        worker.proc.send_signal(sig)
        worker.proc.wait(5)
        took = time.monotonic() - started
        worker.read(1)
    finally:
        worker.stop()
    assert took < 1.0, took
    assert worker.proc.returncode == code, worker.lines
    said = "\n".join(worker.lines)
    assert f"{sig.name} received: stopping" in said and "stopped" in said and "Traceback" not in said
    record = box.runtime.store.require(v.key)
    assert record.lease_owner is None  # released ...
    assert record.next_action_at <= time.time()  # ... and due again now, for any worker
    assert owner is not None and owner.split(":")[1] == str(worker.proc.pid)
    # another worker finishes it without sending it twice
    asyncio.run(box.runtime.drain([v.key], within=20))
    assert box.runtime.store.require(v.key).state is VoucherState.ACCEPTED
    box.sim.wait_idle(10)
    assert hacienda.posts.count(v.clave) == 1


def test_log_json_lines_name_the_voucher_and_its_state(box: LocalSandbox, cfg: str) -> None:
    v = issue(box)
    worker = WorkerProcess(cfg, "--log-json")
    try:
        worker.wait_for("running")
        until(lambda: box.runtime.store.require(v.key).is_final, 20, "the voucher was answered")
        worker.read(0.3)
        worker.proc.send_signal(signal.SIGTERM)
        worker.proc.wait(5)
        worker.read(1)
    finally:
        worker.stop()
    assert worker.proc.returncode == ExitCode.OK, worker.lines
    records = [json.loads(line) for line in worker.lines if line.strip()]  # every line is one JSON object
    assert all({"ts", "level", "logger", "message"} <= r.keys() for r in records)
    mine = [r for r in records if r.get("key") == v.key]
    assert {"submitted", "accepted"} <= {r.get("state") for r in mine}, mine
    assert any(r["level"] == "INFO" and "round" in r for r in records)  # a per-round line, without -v
    assert records[-1].get("event") == "stopped"


def test_the_work_done_is_logged_at_info_without_verbose(box: LocalSandbox, cfg: str) -> None:
    v = issue(box)
    worker = WorkerProcess(cfg)
    try:
        worker.wait_for("running")
        until(lambda: box.runtime.store.require(v.key).is_final, 20, "the voucher was answered")
        line = worker.wait_for("worked: sent")
        worker.wait_for(f"{v.key}: accepted")
        worker.proc.send_signal(signal.SIGTERM)
        worker.proc.wait(5)
    finally:
        worker.stop()
    assert line.startswith("INFO cr_einvoice.worker: worked: sent 1")


def test_a_killed_worker_s_vouchers_are_taken_over_within_seconds(
    box: LocalSandbox, cfg: str, hacienda: Hacienda
) -> None:
    v, worker = mid_post(box, cfg, hacienda)  # the POST is registered after the worker died
    try:
        dead = box.runtime.store.require(v.key)
        worker.proc.send_signal(signal.SIGKILL)
        worker.proc.wait(5)
        killed = time.monotonic()
    finally:
        worker.stop()
    assert dead.next_action_at > time.time() + 60  # its lease would keep the voucher for two minutes

    async def take_over() -> float:
        async with box.runtime.worker(stale_after=3.0, resend_after=5.0, idle=0.05) as other:
            while not any(e.kind == "lease_recovered" for e in box.runtime.store.events(v.key)):
                assert time.monotonic() - killed < 10, "not taken over within 10 s"
                await other.run_once()
                await asyncio.sleep(0.1)
            recovered = time.monotonic() - killed
            await other.drain(within=20, keys=[v.key])
            return recovered

    recovered = asyncio.run(take_over())
    assert recovered < 3.0 + 1.5, recovered  # the heartbeat's age, not the 120 s lease
    record = box.runtime.store.require(v.key)
    assert record.state is VoucherState.ACCEPTED, record.last_error
    box.sim.wait_idle(10)
    assert hacienda.posts.count(v.clave) == 1  # found by asking: the dead worker's POST was not repeated
