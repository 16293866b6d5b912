"""The issuing CLI end to end against the simulator: init, issue, submit, list, show, status, poll, receive,
worker, token."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from outbox_docs import CLIENTE_ID, EMISOR_ID, supplier_invoice

from cr_einvoice.app.cli import main
from cr_einvoice.sandbox import Simulator, SimulatorSettings
from cr_einvoice.signing.xades import TrustStore
from cr_einvoice.testing.examples import example_json
from cr_einvoice.testing.pki import TestPKI

USER = "cpj-3-101-123456@stag.comprobanteselectronicos.go.cr"


@pytest.fixture(scope="module")
def sim(pki: TestPKI, supplier_pki: TestPKI) -> Iterator[Simulator]:
    settings = SimulatorSettings(
        users={USER: "cli-pw"},
        processing_delay=0.05,
        trust=TrustStore.from_pem_files(pki.ca_cert_pem, supplier_pki.ca_cert_pem),
    )
    with Simulator(settings) as s:
        yield s


@pytest.fixture
def cfg(
    tmp_path: Path, sim: Simulator, pki: TestPKI, supplier_pki: TestPKI, monkeypatch: pytest.MonkeyPatch
) -> Path:
    monkeypatch.setenv("T_USER", USER)
    monkeypatch.setenv("T_PASS", "cli-pw")
    monkeypatch.setenv("T_PIN", pki.pin)
    assert sim.sello_ca_cert_pem is not None
    path = tmp_path / "cr-einvoice.toml"
    code = main(
        [
            "init",
            "--config",
            str(path),
            "--environment",
            "custom",
            "--token-url",
            sim.token_url,
            "--recepcion-url",
            sim.base_url,
            "--username-env",
            "T_USER",
            "--password-env",
            "T_PASS",
            "--p12",
            str(pki.taxpayer_p12),
            "--pin-env",
            "T_PIN",
            "--nombre",
            "Soluciones Tecnológicas del Valle S.A.",  # the examples' emisor (a different one is refused)
            "--trust-ca",
            str(sim.sello_ca_cert_pem),
            "--suppliers-ca",
            str(supplier_pki.ca_cert_pem),
        ]
    )
    assert code == 0
    text = path.read_text()
    assert "cli-pw" not in text and 'pin_env = "T_PIN"' in text  # secrets: only variable names
    assert f'numero_identificacion = "{EMISOR_ID}"' in text  # read from the certificate
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_issue_submit_list_show_status_poll(
    cfg: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    c = str(cfg)
    capsys.readouterr()
    batch = tmp_path / "batch.json"
    batch.write_text(json.dumps([example_json("fe"), example_json("fe")]))
    code, out, err = run(capsys, "issue", str(batch), "--config", c, "--ref-prefix", "erp-", "--json")
    assert code == 0, err
    issued = json.loads(out)["issued"]
    assert [i["consecutivo"] for i in issued] == ["00100001010000000001", "00100001010000000002"]
    assert "issuing: 2/2" in err  # the plain progress counter (stderr is not a terminal here)
    code, out, _ = run(capsys, "issue", str(batch), "--config", c, "--ref-prefix", "erp-", "--json")
    assert [i["new"] for i in json.loads(out)["issued"]] == [False, False]  # idempotent re-run

    code, out, err = run(capsys, "submit", "--config", c, "--json", "--within", "30")
    assert code == 0, err
    assert {v["state"] for v in json.loads(out)["vouchers"]} == {"accepted"}

    code, out, _ = run(capsys, "list", "--config", c, "--json", "--state", "accepted")
    listed = json.loads(out)
    assert {v["clave"] for v in listed} == {i["clave"] for i in issued}

    clave = issued[0]["clave"]
    code, out, _ = run(capsys, "show", clave, "--config", c, "--json")
    shown = json.loads(out)
    assert shown["state"] == "accepted" and shown["respuestas"][0]["mensaje"] == 1
    assert shown["events"][0]["kind"] == "issued"
    code, out, _ = run(capsys, "show", clave, "--config", c, "--xml")
    assert out.startswith("<?xml") and clave in out
    code, out, _ = run(capsys, "show", clave, "--config", c, "--respuesta")
    assert "MensajeHacienda" in out

    code, out, _ = run(capsys, "status", clave, "--config", c, "--json")
    assert json.loads(out)["ind_estado"] == "aceptado"
    code, out, _ = run(capsys, "poll", "--config", c, "--json")
    assert json.loads(out)["store"] == {"accepted": 2}


def test_issue_bad_input_names_the_field_and_takes_no_number(
    cfg: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    bad = example_json("te")
    bad["lineas"][0]["precio_unitario"] = 12.5  # a float: refused, amounts must be exact
    f = tmp_path / "bad.json"
    f.write_text(json.dumps(bad))
    code, _, err = run(capsys, "issue", str(f), "--config", str(cfg))
    assert code == 3 and "precio_unitario" in err and "Traceback" not in err
    good = example_json("te")
    good["emisor"] = example_json("fe")["emisor"]
    f.write_text(json.dumps(good))
    code, out, err = run(capsys, "issue", str(f), "--config", str(cfg))
    assert code == 0, err
    assert "00100001040000000001" in out  # the failed attempt took no number


def test_receive_worker_once_and_token(
    cfg: Path, tmp_path: Path, supplier_pki: TestPKI, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    xml = tmp_path / "supplier.xml"
    xml.write_bytes(supplier_invoice(supplier_pki, numero=77))
    code, out, err = run(
        capsys, "receive", str(xml), "--config", str(cfg), "--partial", "--reason", "Faltó una caja", "--json"
    )
    assert code == 0, err
    answer = json.loads(out)
    assert answer["decision"] == "06" and answer["emisor"] == CLIENTE_ID and answer["state"] == "signed"
    code, out, err = run(capsys, "worker", "--config", str(cfg), "--once", "--json")
    assert code == 0, err
    assert json.loads(out)["sent"] == 1
    code, out, err = run(capsys, "submit", "--config", str(cfg), "--json")
    assert [v["state"] for v in json.loads(out)["vouchers"]] == ["accepted"]
    code, out, err = run(capsys, "receive", str(xml), "--config", str(cfg), "--accept")
    assert code == 6 and "already answered" in err

    code, out, err = run(capsys, "token", "--config", str(cfg), "--json")
    assert code == 0, err
    info = json.loads(out)
    assert info["username"] == USER and "access_token" not in info and 0 < info["expires_in"] <= 301
    code, out, _ = run(capsys, "token", "--config", str(cfg), "--show", "--json")
    assert json.loads(out)["access_token"].count(".") == 2


def test_missing_config_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "list", "--config", str(tmp_path / "none.toml"))
    assert code == 2 and "cr-einvoice init" in err
