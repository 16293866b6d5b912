"""Every example script and the demo run against the local simulator (as subprocesses, like a user would)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from cr_einvoice.sandbox import Simulator, SimulatorSettings
from cr_einvoice.signing.xades import TrustStore
from cr_einvoice.testing.pki import TestPKI

REPO = Path(__file__).resolve().parents[2]

EXAMPLES = {
    "pos_ticket.py": ["issued 00100001040000000001", "Hacienda: accepted"],
    "erp_batch.py": ["40 of 40 invoices accepted"],
    "callback_server.py": ["accepted (answer via callback)"],
    "receive_supplier_invoice.py": ["MensajeReceptor 00100001050000000001 (type 05)", "Hacienda: accepted"],
    "credit_note_return.py": ["credit note 00100001030000000001", ": accepted", "references invoice 506"],
}


def _run(args: list[str], cwd: Path, schemas_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CR_EINVOICE_SCHEMAS": str(schemas_dir), "COLUMNS": "200"}
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False)


@pytest.mark.parametrize("script", sorted(EXAMPLES))
def test_example_runs(script: str, tmp_path: Path, schemas_dir: Path) -> None:
    result = _run([sys.executable, str(REPO / "examples" / script)], tmp_path, schemas_dir)
    assert result.returncode == 0, result.stderr[-3000:]
    for expected in EXAMPLES[script]:
        assert expected in result.stdout, result.stdout


def test_demo_covers_every_type_and_shows_the_rejection(tmp_path: Path, schemas_dir: Path) -> None:
    result = _run(
        [sys.executable, "-m", "cr_einvoice.app.demo", "--dir", str(tmp_path / "demo")], tmp_path, schemas_dir
    )
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout
    for name in (
        "Factura electrónica",
        "Nota de débito",
        "Nota de crédito",
        "Tiquete",
        "Factura de compra",
        "Factura de exportación",
        "Recibo de pago",
        "Aceptación (MR)",
    ):
        assert name in out, out
    assert out.count("accepted") == 8 and out.count("rejected") == 1
    assert "[-60]" in out  # Hacienda's own message for the wrong certificate
    assert "of 9 answers arrived by callback" in result.stderr
    config = tmp_path / "demo" / "cr-einvoice.toml"
    listed = _run(
        [sys.executable, "-m", "cr_einvoice", "list", "--config", str(config), "--json"],
        tmp_path,
        schemas_dir,
    )
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.count('"state": "accepted"') == 8


def test_demo_with_credentials_runs_the_same_flow_against_a_given_hacienda(
    tmp_path: Path, schemas_dir: Path, pki: TestPKI
) -> None:
    """The credentials mode (Hacienda's sandbox), pointed at a simulator through the URL overrides."""
    user = "cpj-3-101-123456@stag.comprobanteselectronicos.go.cr"
    settings = SimulatorSettings(
        users={user: "real-mode-pw"}, processing_delay=0.1, trust=TrustStore.from_pem_files(pki.ca_cert_pem)
    )
    with Simulator(settings) as sim:
        env = {
            **os.environ,
            "CR_EINVOICE_SCHEMAS": str(schemas_dir),
            "COLUMNS": "200",
            "CR_EINVOICE_USERNAME": user,
            "CR_EINVOICE_PASSWORD": "real-mode-pw",
            "CR_EINVOICE_P12": str(pki.taxpayer_p12),
            "CR_EINVOICE_PIN": pki.pin,
            "CR_EINVOICE_TOKEN_URL": sim.token_url,
            "CR_EINVOICE_RECEPCION_URL": sim.base_url,
            # The simulator's TEST seal is trusted only when its CA is named.
            "CR_EINVOICE_TRUST_CA": str(sim.sello_ca_cert_pem),
        }
        result = subprocess.run(
            [sys.executable, "-m", "cr_einvoice.app.demo", "--dir", str(tmp_path / "real")],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        submitted = {s.key for s in sim.store.all()}
    assert result.returncode == 0, result.stderr[-3000:]
    assert "your credentials" in result.stderr
    assert "polls Hacienda" in result.stderr and "arrived by callback" not in result.stderr  # no receiver
    assert result.stdout.count("accepted") == 7 and result.stdout.count("rejected") == 1
    assert "Aceptación (MR)" not in result.stdout  # skipped: Hacienda knows only vouchers really submitted
    assert len(submitted) == 8
