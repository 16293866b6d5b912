"""Callbacks to a real loopback receiver: same JSON as GET, retries on non-200 and timeouts, giving up."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


class Receiver:
    """Answers the callbacks with the scripted statuses (then 200); ``"sleep"`` waits 1 s before a 200."""

    def __init__(self, script: list[int | str]) -> None:
        self.script = list(script)
        self.calls: list[tuple[float, str, dict]] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver.lock:
                    step = receiver.script.pop(0) if receiver.script else 200
                    receiver.calls.append((time.monotonic(), self.headers["Content-Type"], json.loads(body)))
                if step == "sleep":
                    time.sleep(1.0)
                    step = 200
                self.send_response(int(step))
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hacienda/callback?token=abc"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
        )
        self.thread.start()

    def wait_calls(self, n: int, timeout: float = 10.0) -> list[tuple[float, str, dict]]:
        deadline = time.monotonic() + timeout
        while True:
            with self.lock:
                if len(self.calls) >= n:
                    return list(self.calls)
            assert time.monotonic() < deadline, f"only {len(self.calls)} of {n} callbacks arrived"
            time.sleep(0.02)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver_factory() -> Iterator:
    made: list[Receiver] = []

    def make(script: list[int | str]) -> Receiver:
        made.append(Receiver(script))
        return made[-1]

    yield make
    for r in made:
        r.close()


def test_callback_fails_twice_then_succeeds(api, sim, vouchers, receiver_factory):
    receiver = receiver_factory([500, 503])
    v = vouchers.fe()
    assert api.submit(v, callbackUrl=receiver.url).status_code == 202
    calls = receiver.wait_calls(3)
    sim.wait_idle(5)
    assert len(receiver.calls) == 3  # delivered on the third attempt: no more retries
    status = api.status(v.clave).json()
    for _, content_type, body in calls:
        assert content_type == "application/json"
        assert body == status  # the same JSON as GET /recepcion/{clave}, hyphenated keys
    assert body["ind-estado"] == "aceptado"
    assert "respuesta-xml" in body
    sub = sim.store.get(v.clave)
    assert [a.status for a in sub.callback_attempts] == [500, 503, 200]
    assert sub.callback_delivered
    # Retries are spaced by the configured delay.
    assert calls[1][0] - calls[0][0] >= 0.04


def test_callback_gives_up_after_three_retries(api, sim, vouchers, receiver_factory):
    receiver = receiver_factory([500, 500, 500, 500, 500, 500])
    v = vouchers.fe()
    assert api.submit(v, callbackUrl=receiver.url).status_code == 202
    receiver.wait_calls(4)
    sim.wait_idle(5)
    assert len(receiver.calls) == 4  # the first try + 3 retries, then nothing more
    sub = sim.store.get(v.clave)
    assert [a.status for a in sub.callback_attempts] == [500, 500, 500, 500]
    assert not sub.callback_delivered
    assert api.status(v.clave).json()["ind-estado"] == "aceptado"  # still available by GET


def test_non_200_success_codes_count_as_failures(api, sim, vouchers, receiver_factory):
    receiver = receiver_factory([204])
    v = vouchers.fe()
    assert api.submit(v, callbackUrl=receiver.url).status_code == 202
    receiver.wait_calls(2)
    sim.wait_idle(5)
    assert [a.status for a in sim.store.get(v.clave).callback_attempts] == [204, 200]


def test_callback_timeout_is_retried(make_sim, api_for, vouchers, receiver_factory):
    sim = make_sim(callback_timeout=0.3)
    api = api_for(sim)
    receiver = receiver_factory(["sleep"])
    v = vouchers.fe()
    assert api.submit(v, callbackUrl=receiver.url).status_code == 202
    receiver.wait_calls(2)
    sim.wait_idle(5)
    attempts = sim.store.get(v.clave).callback_attempts
    assert attempts[0].status is None
    assert "Timeout" in attempts[0].error
    assert attempts[-1].status == 200


def test_unreachable_callback_is_recorded_and_given_up(api, sim, vouchers):
    v = vouchers.fe()
    assert api.submit(v, callbackUrl="http://127.0.0.1:9/cb").status_code == 202
    api.wait_final(v.clave)
    sim.wait_idle(5)
    attempts = sim.store.get(v.clave).callback_attempts
    assert len(attempts) == 4
    assert all(a.status is None and a.error for a in attempts)


def test_anexo3_spelling_camel_case_keys_and_upper_case_states(make_sim, api_for, vouchers, receiver_factory):
    sim = make_sim(callback_camel_case=True, upper_case_states=True)
    api = api_for(sim)
    receiver = receiver_factory([])
    v = vouchers.fe()
    token = api.token()
    assert api.submit(v, token, callbackUrl=receiver.url).status_code == 202
    assert api.status(v.clave, token).json()["ind-estado"] in {"RECIBIDO", "PROCESANDO", "ACEPTADO"}
    body = receiver.wait_calls(1)[0][2]
    assert set(body) == {"clave", "fecha", "indEstado", "respuestaXml", "callbackUrl"}
    assert body["indEstado"] == "ACEPTADO"
    # GET keeps the hyphenated keys seen on the wire, with the upper-case state.
    got = api.status(v.clave, token).json()
    assert got["ind-estado"] == "ACEPTADO"
    assert got["respuesta-xml"] == body["respuestaXml"]
