"""``cr-einvoice serve`` runs its worker as a supervised child process by default (``--worker inline``: in its
own event loop): the child sends what the service issues, is started again when it dies, is stopped with the
service, and dies with it when the service is killed."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from service_support import post_ticket

from cr_einvoice.app.cli import main
from cr_einvoice.app.demo import LocalSandbox
from cr_einvoice.app.workerproc import WorkerProcess


def _alive(pid: int) -> bool:
    """The process runs (a zombie left for init to reap counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii")
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _parent(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text(encoding="ascii").rsplit(")", 1)[1].split()[1])


def _until(check: Any, what: str, within: float = 30.0) -> Any:
    deadline = time.monotonic() + within
    while True:
        found = check()
        if found:
            return found
        assert time.monotonic() < deadline, what
        time.sleep(0.1)


@contextmanager
def _serving(
    box: LocalSandbox, tmp_path: Path, *extra: str, config: Path | None = None, port: int = 0
) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """``cr-einvoice serve`` over the sandbox (or ``config``) as a process, its log in a file: (the process,
    its URL)."""
    log = tmp_path / f"serve-{time.monotonic_ns()}.log"
    settings = str(config or box.config_path)
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "cr_einvoice", "serve", "--config", settings, "--port", str(port), *extra],
            stderr=sink,
            env=os.environ.copy(),
        )
    try:
        found = _until(
            lambda: (
                re.search(r"serving on (http://\S+)", log.read_text(encoding="utf-8", errors="replace"))
                or process.poll() is not None
            ),
            "the service did not start",
        )
        assert process.poll() is None, log.read_text(encoding="utf-8", errors="replace")
        yield process, found.group(1)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(30)
            finally:
                if process.poll() is None:
                    process.kill()


def _ready_worker(url: str) -> str | None:
    try:
        answer = httpx.get(url + "/readyz", timeout=10)
    except httpx.TransportError:
        return None
    worker = str(answer.json().get("worker"))
    return worker if answer.status_code == 200 else None


def _issue_and_follow(box: LocalSandbox, url: str, key: str, ref: str) -> str:
    voucher = post_ticket(url, key, **{"Idempotency-Key": ref})
    _until(
        lambda: box.runtime.store.require(voucher).state.value == "accepted",
        f"{voucher} was not sent and accepted by the worker process",
    )
    return voucher


def _api_key(box: LocalSandbox, capsys: pytest.CaptureFixture[str]) -> str:
    capsys.readouterr()
    assert main(["apikey", "create", "--config", str(box.config_path), "--json"]) == 0
    return str(json.loads(capsys.readouterr().out)["key"])


def test_serve_supervises_its_worker_process(
    box: LocalSandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key = _api_key(box, capsys)
    with _serving(box, tmp_path) as (process, url):
        shown = _until(lambda: _ready_worker(url), "the service and its worker did not get ready")
        first = int(re.fullmatch(r"process (\d+)", shown).group(1))  # type: ignore[union-attr]
        assert _parent(first) == process.pid
        voucher = _issue_and_follow(box, url, key, "worker-process-1")
        refreshed = httpx.post(  # asked by the service itself, its worker being a process
            f"{url}/v1/vouchers/{voucher}/refresh", headers={"Authorization": f"Bearer {key}"}, timeout=30
        )
        assert refreshed.status_code == 200 and refreshed.json()["ind_estado"] == "aceptado", refreshed.text

        os.kill(first, signal.SIGKILL)  # the worker dies: readiness says so, then it is started again
        again = _until(
            lambda: (w := _ready_worker(url)) and w != shown and w, "the worker process was not started again"
        )
        second = int(again.split()[1])
        assert second != first and _parent(second) == process.pid and not _alive(first)
        _issue_and_follow(box, url, key, "worker-process-2")

        process.send_signal(signal.SIGTERM)  # the service stops, and its worker with it
        assert process.wait(30) == 0
        _until(lambda: not _alive(second), "the worker process outlived the service", within=10)


def test_the_worker_process_gives_hacienda_the_services_callback_url(
    box: LocalSandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """With ``--public-url`` the child sends each voucher with the service's callback URL (``worker
    --callback-url``, the tokens' secret from the same variable) and the service's receiver takes the answer:
    polling is held back far beyond the test, so only the callback can bring it in time."""
    monkeypatch.setenv("CR_EINVOICE_CALLBACK_SECRET", "s3cr3t-" + "x" * 24)
    text = box.config_path.read_text(encoding="utf-8")
    held = text.replace("poll_initial = 2.0", "poll_initial = 600.0").replace(
        "poll_max = 60.0", "poll_max = 600.0"
    )
    assert held != text
    config = box.config_path.with_name("held-polls.toml")  # beside it: the same outbox (a relative path)
    config.write_text(held, encoding="utf-8")
    key = _api_key(box, capsys)
    port = _free_port()
    public = f"http://127.0.0.1:{port}"
    with _serving(box, tmp_path, "--public-url", public, config=config, port=port) as (_, url):
        _until(lambda: _ready_worker(url), "the service and its worker did not get ready")
        voucher = post_ticket(url, key)
        _until(lambda: box.runtime.store.require(voucher).state.value == "accepted", "no answer by callback")
        assert [r.source for r in box.runtime.store.respuestas(voucher)] == ["callback"]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_the_worker_process_dies_with_a_killed_service(
    box: LocalSandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with _serving(box, tmp_path) as (process, url):
        shown = _until(lambda: _ready_worker(url), "the service and its worker did not get ready")
        child = int(shown.split()[1])
        process.kill()  # no chance to stop it: Linux's parent-death signal does
        process.wait(10)
        _until(lambda: not _alive(child), "the worker process outlived the killed service", within=15)


def test_serve_can_keep_its_worker_inline(
    box: LocalSandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key = _api_key(box, capsys)
    with _serving(box, tmp_path, "--worker", "inline") as (process, url):
        assert _until(lambda: _ready_worker(url), "the service did not get ready") == "running"
        _issue_and_follow(box, url, key, "worker-inline-1")
        children = Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text(encoding="ascii")
        assert children.split() == []  # no worker process


def test_worker_process_restarts_with_backoff_and_stops(tmp_path: Path) -> None:
    """The supervision itself, on small commands: an exiting worker is started again (1 s, then 2 s ...), a
    stop that SIGTERM does not end ends with SIGKILL."""
    marker = tmp_path / "starts"
    quits = WorkerProcess([sys.executable, "-c", f"open({str(marker)!r}, 'a').write('x')"], stop_within=5)
    quits.start()
    try:
        _until(lambda: quits.starts >= 2, "an exited worker was not started again", within=10)
        assert 1 <= len(marker.read_text()) <= quits.starts
    finally:
        quits.stop()
    started = quits.starts
    time.sleep(1.5)
    assert quits.starts == started  # none after stop()

    stubborn = WorkerProcess(
        [
            sys.executable,
            "-c",
            "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(60)",
        ],
        stop_within=1,
    )
    stubborn.start()
    pid = stubborn.pid
    assert pid is not None and stubborn.describe() == f"process {pid}"
    time.sleep(0.5)  # its handler is in place
    began = time.monotonic()
    assert stubborn.stop() == -signal.SIGKILL
    assert time.monotonic() - began < 5
    assert stubborn.describe() is None and not _alive(pid)


def test_a_worker_that_cannot_start_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(OSError):
        WorkerProcess([str(tmp_path / "no-such-program")]).start()
