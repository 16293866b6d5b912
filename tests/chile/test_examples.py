"""Every Chile example script runs (as a subprocess) against the fakes: started by the script (--fake) or
already running and named by the environment variables a real deployment would use."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from cr_einvoice.testing.chile_fakes import FakeBelvo, FakeFlow, FakeKhipu

from .conftest import LINK, belvo_invoices

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def run(script: str, *args: str, env: dict[str, str] | None = None) -> str:
    completed = subprocess.run(
        [sys.executable, str(EXAMPLES / script), *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert "Traceback" not in completed.stderr
    return completed.stdout


def test_khipu_example_with_its_own_fake(tmp_path: Path) -> None:
    out = run("chile_khipu_enel_bill.py", "--fake", "-o", str(tmp_path))
    assert "bill of 1234567-8" in out
    assert "callback received for operation" in out
    for name in ("bill-sync.pdf", "bill-callback.pdf"):
        assert (tmp_path / name).read_bytes().startswith(b"%PDF-")


def test_belvo_example_with_its_own_fake() -> None:
    out = run("chile_belvo_invoices.py", "--fake")
    assert "synchronous: 13 invoice(s)" in out
    assert "asynchronous: 2 request(s) accepted" in out
    assert out.count("webhook INVOICES/historical_update") == 2
    assert "13 invoice(s) now listed" in out


def test_flow_example_with_its_own_fake() -> None:
    out = run("chile_flow_invoice.py", "--fake")
    assert "dc3f67215dc89404aedc1deed0be7c2b49d810ca1a6e3feab3b799d77c4a9950" in out
    assert "invoice 1034" in out and "CLP 20000, UNPAID" in out
    assert "async client: invoice 1034" in out


@pytest.mark.parametrize("script", ["khipu", "belvo", "flow"])
def test_examples_against_a_running_fake_via_environment(script: str, tmp_path: Path) -> None:
    if script == "khipu":
        with FakeKhipu() as fake:
            env = {"KHIPU_API_KEY": fake.api_key, "KHIPU_BASE_URL": fake.base_url}
            out = run("chile_khipu_enel_bill.py", "1234567", "-o", str(tmp_path), env=env)
        assert "bill of 1234567" in out and "callback" not in out
        assert len(fake.requests) == 1
    elif script == "belvo":
        with FakeBelvo(invoices=belvo_invoices()) as fake:
            env = {
                "BELVO_SECRET_ID": fake.secret_id,
                "BELVO_SECRET_PASSWORD": fake.secret_password,
                "BELVO_BASE_URL": fake.base_url,
            }
            out = run(
                "chile_belvo_invoices.py",
                "--link",
                LINK,
                "--from",
                "2023-01-01",
                "--to",
                "2024-12-31",
                env=env,
            )
        assert len(fake.retrievals) == 3
        expected = [i for i in belvo_invoices() if i["link"] == LINK and str(i["issue_date"]) <= "2024-12-31"]
        assert f"synchronous: {len(expected)} invoice(s)" in out
    else:
        with FakeFlow() as fake:
            env = {
                "FLOW_API_KEY": fake.api_key,
                "FLOW_SECRET_KEY": fake.secret_key,
                "FLOW_BASE_URL": fake.base_url,
            }
            out = run("chile_flow_invoice.py", "1034", env=env)
        assert "invoice 1034" in out
        assert [r.path for r in fake.requests] == ["/api/invoice/get", "/api/invoice/get"]
