"""``cr-einvoice pdf``: a voucher issued through the outbox and accepted by the simulator, printed from its
clave (stored signed XML, Hacienda's answer, the record's state); a signed file printed with an answer."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from delivery_docs import respuesta
from pdf_reading import decode_qr, page_sizes, page_texts, squeeze

from cr_einvoice.app.cli import main
from cr_einvoice.core.errors import ExitCode
from cr_einvoice.delivery.pdf import render_pdf
from cr_einvoice.sandbox import Simulator, SimulatorSettings
from cr_einvoice.signing.xades import TrustStore
from cr_einvoice.testing.examples import example_json
from cr_einvoice.testing.pki import TestPKI

USER = "cpj-3-101-123456@stag.comprobanteselectronicos.go.cr"


@pytest.fixture(scope="module")
def sim(pki: TestPKI) -> Iterator[Simulator]:
    settings = SimulatorSettings(
        users={USER: "pdf-pw"}, processing_delay=0.05, trust=TrustStore.from_pem_files(pki.ca_cert_pem)
    )
    with Simulator(settings) as s:
        yield s


@pytest.fixture
def cfg(tmp_path: Path, sim: Simulator, pki: TestPKI, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("T_USER", USER)
    monkeypatch.setenv("T_PASS", "pdf-pw")
    monkeypatch.setenv("T_PIN", pki.pin)
    assert sim.sello_ca_cert_pem is not None
    path = tmp_path / "cr-einvoice.toml"
    argv = ["init", "--config", str(path), "--environment", "custom", "--token-url", sim.token_url]
    argv += ["--recepcion-url", sim.base_url, "--username-env", "T_USER", "--password-env", "T_PASS"]
    argv += ["--p12", str(pki.taxpayer_p12), "--pin-env", "T_PIN"]
    argv += ["--nombre", "Soluciones Tecnológicas del Valle S.A.", "--trust-ca", str(sim.sello_ca_cert_pem)]
    assert main(argv) == 0
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_pdf_of_an_accepted_voucher_from_the_outbox(
    cfg: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    batch = tmp_path / "fe.json"
    batch.write_text(json.dumps(example_json("fe"), ensure_ascii=False), encoding="utf-8")
    code, out, err = run(capsys, "issue", str(batch), "--config", str(cfg), "--submit", "--json")
    assert code == 0, err
    issued = json.loads(out)
    clave = issued["issued"][0]["clave"]
    assert issued["states"] == {clave: "accepted"}
    target = tmp_path / "out" / "ticket.pdf"
    code, out, err = run(
        capsys, "pdf", clave, "--config", str(cfg), "--format", "80mm", "-o", str(target), "--json"
    )
    assert code == 0, err
    assert json.loads(out) == {
        "clave": clave,
        "format": "80mm",
        "file": str(target),
        "bytes": target.stat().st_size,
    }
    pdf = target.read_bytes()
    text = squeeze("\n".join(page_texts(pdf)))
    assert squeeze("Aceptado por el Ministerio de Hacienda") in text  # the record's state
    assert squeeze("Mensaje de Hacienda: Aceptado") in text  # the stored MensajeHacienda
    assert clave in text and "FacturaElectrónica" in text
    assert abs(page_sizes(pdf)[0][0] - 226.77) < 0.05
    assert decode_qr(pdf) == [clave]
    # without -o: <clave>.pdf in the current folder; without --format: the configuration's pdf_format
    monkeypatch.chdir(tmp_path)
    code, _, err = run(capsys, "pdf", clave, "--config", str(cfg))
    assert code == 0, err
    assert decode_qr((tmp_path / f"{clave}.pdf").read_bytes()) == [clave]
    assert abs(page_sizes((tmp_path / f"{clave}.pdf").read_bytes())[0][0] - 595.28) < 0.05  # a4
    text = cfg.read_text(encoding="utf-8")
    assert 'pdf_format = "a4"' in text  # init writes the [delivery] section
    cfg.write_text(text.replace('pdf_format = "a4"', 'pdf_format = "58mm"'), encoding="utf-8")
    code, out, err = run(capsys, "pdf", clave, "--config", str(cfg), "--json")
    assert code == 0, err
    assert json.loads(out)["format"] == "58mm"
    assert abs(page_sizes((tmp_path / f"{clave}.pdf").read_bytes())[0][0] - 164.41) < 0.05


def test_pdf_of_a_file_with_an_answer_and_the_errors(
    signed: dict[str, bytes], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    xml = tmp_path / "nc.xml"
    xml.write_bytes(signed["nc"])
    clave = squeeze(signed["nc"].decode().split("<Clave>")[1].split("</Clave>")[0])
    answer = tmp_path / "nc_respuesta.xml"
    answer.write_bytes(respuesta(clave, aceptado=False))
    target = tmp_path / "nc.pdf"
    code, _, err = run(
        capsys, "pdf", str(xml), "--respuesta", str(answer), "--format", "letter", "-o", str(target)
    )
    assert code == 0, err
    assert str(target) in err
    text = "\n".join(page_texts(target.read_bytes()))
    assert "Rechazado por el Ministerio de Hacienda" in text and "-52" in text
    # to standard output, deterministic: the same bytes as the Python API gives
    argv = [sys.executable, "-m", "cr_einvoice", "pdf", str(xml), "--estado", "procesando", "--deterministic"]
    done = subprocess.run([*argv, "-o", "-"], capture_output=True, check=True, timeout=120)
    assert done.stdout == render_pdf(signed["nc"], estado="procesando", deterministic=True)
    # a MensajeReceptor is named after its clave and consecutivo
    mr = tmp_path / "mr.xml"
    mr.write_bytes(signed["mr"])
    code, out, err = run(capsys, "pdf", str(mr), "--format", "58mm", "-o", str(tmp_path / "mr.pdf"), "--json")
    assert code == 0, err
    assert json.loads(out)["clave"].endswith("-00100001050000000123")


def test_pdf_errors_are_one_line_with_the_field(
    signed: dict[str, bytes], tmp_path: Path, capsys: pytest.CaptureFixture[str], cfg: Path
) -> None:
    xml = tmp_path / "fe.xml"
    xml.write_bytes(signed["fe"])
    code, _, err = run(capsys, "pdf", str(xml), "--estado", "quizas")
    assert code == ExitCode.INVALID, err
    assert "estado" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    code, _, err = run(capsys, "pdf", str(tmp_path / "missing.xml"))
    assert code == ExitCode.USAGE and "missing.xml" in err
    code, _, err = run(capsys, "pdf", "5" * 50, "--config", str(cfg))
    assert code == ExitCode.STORE and "5" * 50 in err
    code, _, err = run(capsys, "pdf", "5" * 50, "--config", str(cfg), "--estado", "aceptado")
    assert code == ExitCode.USAGE and "--estado" in err
    code, out, _ = run(capsys, "pdf", str(xml), "--format", "a4", "--estado", "nada", "--json")
    assert code == ExitCode.INVALID and json.loads(out)["error"]
