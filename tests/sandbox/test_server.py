"""The server as a whole: concurrency, lifecycle, URLs, settings checks, the CLI."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from cr_einvoice.app.cli import main as cli_main
from cr_einvoice.core.errors import ConfigError
from cr_einvoice.sandbox import Simulator, SimulatorSettings


def test_two_hundred_concurrent_connections(api, sim):
    token = api.token()
    n = 220
    sockets = [socket.create_connection(("127.0.0.1", sim.port), timeout=20) for _ in range(n)]
    barrier = threading.Barrier(n, timeout=20)
    form = (
        "grant_type=password&client_id=api-stag&username=cpj-3-101-123456%40stag.comprobanteselectronicos.go.cr"
        "&password=clave-de-pruebas"
    )

    def one(i: int) -> bytes:
        # Every connection is open before any request is sent; all requests are then in flight at once.
        conn = sockets[i]
        if i % 2:
            request = (
                f"GET /recepcion/v1/recepcion/{i:050d} HTTP/1.1\r\nHost: x\r\n"
                f"Authorization: bearer {token}\r\nConnection: close\r\n\r\n"
            )
        else:
            path = sim.token_url.split(str(sim.port), 1)[1]
            request = (
                f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                f"Content-Length: {len(form)}\r\nConnection: close\r\n\r\n{form}"
            )
        barrier.wait()
        conn.sendall(request.encode())
        data = b""
        while chunk := conn.recv(65536):
            data += chunk
        conn.close()
        return data.split(b"\r\n", 1)[0]

    with ThreadPoolExecutor(n) as pool:
        lines = list(pool.map(one, range(n)))
    assert lines.count(b"HTTP/1.1 200 OK") == n // 2
    assert lines.count(b"HTTP/1.1 404 Not Found") == n // 2


def test_concurrent_submissions_are_all_processed(api, sim, vouchers):
    token = api.token()
    batch = [vouchers.fe() for _ in range(20)]
    with ThreadPoolExecutor(10) as pool:
        codes = list(pool.map(lambda v: api.submit(v, token).status_code, batch))
    assert codes == [202] * 20
    for v in batch:
        assert sim.wait_final(v.clave, 15).estado == "aceptado"


def test_urls_and_environment(sim):
    assert sim.base_url == f"http://127.0.0.1:{sim.port}/recepcion/v1/"
    assert sim.token_url == f"http://127.0.0.1:{sim.port}/auth/realms/rut-stag/protocol/openid-connect/token"
    assert sim.logout_url.endswith("/auth/realms/rut-stag/protocol/openid-connect/logout")
    env = sim.environment()
    assert env.token_url == sim.token_url
    assert env.recepcion_url == sim.base_url
    assert env.client_id == "api-stag"
    assert env.logout_url == sim.logout_url


def test_stop_releases_the_port(pki):
    sim = Simulator(SimulatorSettings(sello_p12=pki.sello_p12, sello_pin=pki.pin))
    with sim:
        port = sim.port
        assert httpx.get(sim.root_url + "/nothing", timeout=5).status_code == 404
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{port}/nothing", timeout=2)
    with pytest.raises(ConfigError):
        _ = sim.port


def test_generates_a_test_pki_when_no_seal_is_given(tmp_path):
    with Simulator(SimulatorSettings(certs_dir=tmp_path)) as sim:
        assert sim.sello_cert_pem == tmp_path / "TEST-sello-hacienda.pem"
        assert sim.sello_cert_pem.is_file()
    # A second start reuses the seal in the folder.
    before = (tmp_path / "TEST-sello-hacienda.p12").read_bytes()
    with Simulator(SimulatorSettings(certs_dir=tmp_path)):
        pass
    assert (tmp_path / "TEST-sello-hacienda.p12").read_bytes() == before


@pytest.mark.parametrize(
    "bad",
    [
        {"host": "0.0.0.0"},
        {"port": 70000},
        {"access_token_lifetime": 0},
        {"processing_delay": -1},
        {"procesando_after": 5.0, "processing_delay": 1.0},
        {"rate_limit": -1},
        {"realm": "a/b"},
        {"workers": 0},
    ],
)
def test_inconsistent_settings_are_refused(bad):
    with pytest.raises(ConfigError):
        Simulator(SimulatorSettings(**bad))


def test_unknown_warning_code_is_refused(pki):
    with pytest.raises(Exception, match="-999"):
        Simulator(SimulatorSettings(sello_p12=pki.sello_p12, sello_pin=pki.pin, warnings=(-999,))).start()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_cli_serve_runs_a_working_simulator(pki, tmp_path):
    port = _free_port()
    env = {**os.environ, "SELLO_PIN": pki.pin}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cr_einvoice",
            "sandbox",
            "serve",
            "--port",
            str(port),
            "--sello-p12",
            str(pki.sello_p12),
            "--sello-pin-env",
            "SELLO_PIN",
            "--user",
            "demo:secreto",
            "--processing-delay",
            "0.1",
            "--fault",
            '{"rate_limit": 7}',
            "--trust",
            str(pki.ca_cert_pem),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        token_url = base + "/auth/realms/rut-stag/protocol/openid-connect/token"
        deadline = time.monotonic() + 20
        while True:
            try:
                r = httpx.post(
                    token_url,
                    data={
                        "grant_type": "password",
                        "client_id": "api-stag",
                        "username": "demo",
                        "password": "secreto",
                    },
                    timeout=2,
                )
                break
            except httpx.TransportError:
                assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
                assert time.monotonic() < deadline, "the CLI simulator never answered"
                time.sleep(0.1)
        assert r.status_code == 200
        token = r.json()["access_token"]
        r = httpx.get(
            base + "/recepcion/v1/recepcion/" + "1" * 50, headers={"Authorization": "bearer " + token}
        )
        assert r.status_code == 404
        assert r.headers["X-Ratelimit-Limit"] == "7"
        # `sandbox fault` talks to the running process.
        code = cli_main(["sandbox", "fault", '{"fail_next": {"n": 1, "status": 502}}', "--url", base])
        assert code == 0
        assert httpx.get(base + "/recepcion/v1/recepcion/" + "1" * 50).status_code == 502
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(5)
    assert proc.returncode == 0  # SIGTERM stops it cleanly
    err = proc.stderr.read().decode() if proc.stderr else ""
    assert f"recepción URL  http://127.0.0.1:{port}/recepcion/v1/" in err


def test_cli_fault_shows_the_state(sim, capsys):
    assert cli_main(["sandbox", "fault", "--url", sim.root_url]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["fail_next"] == 0  # in the names the fault description uses (issue #11)
    assert cli_main(["sandbox", "fault", "not json", "--url", sim.root_url]) == 2
    assert cli_main(["sandbox", "fault", '{"nope": 1}', "--url", sim.root_url]) == 2


def test_an_internal_error_is_a_500_and_the_server_keeps_serving(api, sim, monkeypatch, caplog):
    token = api.token()

    def broken(key: str):
        raise RuntimeError("boom")

    monkeypatch.setattr(sim, "status", broken)
    r = api.status("1" * 50, token)
    assert r.status_code == 500
    assert "boom" not in r.text
    assert any("failed" in rec.getMessage() for rec in caplog.records)
    monkeypatch.undo()
    assert api.status("1" * 50, token).status_code == 404


def test_get_with_a_body_keeps_the_connection_usable(api, sim, http):
    headers = api.auth()
    r = http.request("GET", sim.base_url + "recepcion/" + "1" * 50, headers=headers, content=b"x" * 100)
    assert r.status_code == 404
    assert http.get(sim.base_url + "recepcion/" + "1" * 50, headers=headers).status_code == 404


def test_foreground_serve_forever_stops_from_another_thread(sello):
    sim = Simulator(SimulatorSettings(sello_credential=sello))
    runner = threading.Thread(target=sim.serve_forever, daemon=True)
    runner.start()
    deadline = time.monotonic() + 10
    while True:
        try:
            if httpx.get(sim.root_url + "/x", timeout=2).status_code == 404:
                break
        except (httpx.TransportError, ConfigError):
            pass
        assert time.monotonic() < deadline, "the foreground simulator never answered"
        time.sleep(0.05)
    sim.stop()
    runner.join(10)
    assert not runner.is_alive()
    sim.stop()  # idempotent


def test_client_that_vanishes_mid_request_is_logged_quietly(sim, capsys, caplog):
    """A reset or broken connection is routine: a debug line, no traceback. A real bug is still logged."""
    import logging

    caplog.set_level(logging.DEBUG, logger="cr_einvoice.sandbox")
    server = sim._server
    for exc in (ConnectionResetError(104, "Connection reset by peer"), BrokenPipeError(32, "Broken pipe")):
        try:
            raise exc
        except OSError:
            server.handle_error(None, ("127.0.0.1", 50000))
    assert "Traceback" not in capsys.readouterr().err
    assert caplog.text.count("went away") == 2
    try:
        raise ValueError("simulator bug")
    except ValueError:
        server.handle_error(None, ("127.0.0.1", 50001))
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1
    assert errors[0].exc_info is not None
