"""``cr-einvoice cl ...`` against the fakes: JSON output, credentials from the environment, clean errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from cr_einvoice.app.cli import main
from cr_einvoice.core.errors import ExitCode
from cr_einvoice.testing.chile_fakes import FakeBelvo, FakeFlow, FakeKhipu

from .conftest import LINK

CREDENTIAL_VARIABLES = (
    "KHIPU_API_KEY",
    "KHIPU_ACCESS_TOKEN",
    "KHIPU_CLIENT_ID",
    "KHIPU_CLIENT_SECRET",
    "KHIPU_TOKEN_URL",
    "KHIPU_BASE_URL",
    "BELVO_SECRET_ID",
    "BELVO_SECRET_PASSWORD",
    "BELVO_BASE_URL",
    "FLOW_API_KEY",
    "FLOW_SECRET_KEY",
    "FLOW_BASE_URL",
)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in CREDENTIAL_VARIABLES:
        monkeypatch.delenv(name, raising=False)


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


# -- khipu ---------------------------------------------------------------------------------------------------
def test_khipu_enel_bill_saves_the_pdf(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, fake_khipu: FakeKhipu, tmp_path: Path
) -> None:
    monkeypatch.setenv("KHIPU_API_KEY", fake_khipu.api_key)
    target = tmp_path / "bill.pdf"
    code, out, _ = run_cli(
        capsys, "cl", "khipu", "enel-bill", "1234567-8", "--email", "a@b.cl", "-o", str(target),
        "--base-url", fake_khipu.base_url,
    )  # fmt: skip
    assert code == 0
    result = json.loads(out)
    assert result["status"] == "ok"
    assert result["client_identifier"] == "1234567-8"
    assert result["saved_to"] == str(target)
    assert target.read_bytes() == fake_khipu.bills["1234567"]
    assert result["pdf_bytes"] == len(fake_khipu.bills["1234567"])


def test_khipu_renamed_variables_and_base_url_from_environment(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    fake_khipu: FakeKhipu,
    tmp_path: Path,
) -> None:
    monkeypatch.setenv("MY_KHIPU_KEY", fake_khipu.api_key)
    monkeypatch.setenv("KHIPU_BASE_URL", fake_khipu.base_url)
    monkeypatch.chdir(tmp_path)
    code, out, _ = run_cli(
        capsys, "cl", "khipu", "enel-bill", "1234567", "--email", "a@b.cl", "--api-key-env", "MY_KHIPU_KEY"
    )
    assert code == 0
    # Without -o the billed PDF is still kept, in a default file named in the JSON (issue #11).
    saved = json.loads(out)["saved_to"]
    assert saved.startswith("enel-1234567-") and saved.endswith(".pdf")
    assert (tmp_path / saved).read_bytes() == fake_khipu.bills["1234567"]


def test_khipu_both_credentials_is_an_error_without_traceback(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, fake_khipu: FakeKhipu
) -> None:
    monkeypatch.setenv("KHIPU_API_KEY", "k")
    monkeypatch.setenv("KHIPU_ACCESS_TOKEN", "t")
    code, out, err = run_cli(
        capsys, "cl", "khipu", "enel-bill", "1234567", "--email", "a@b.cl", "--base-url", fake_khipu.base_url
    )
    assert code == 2
    assert out == ""
    assert "never both" in err and "Traceback" not in err
    assert fake_khipu.requests == []


def test_khipu_deferred_exit_code(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, fake_khipu: FakeKhipu
) -> None:
    monkeypatch.setenv("KHIPU_API_KEY", fake_khipu.api_key)
    fake_khipu.faults.errors.append(("E202", "WAIT_4_HOURS_BEFORE_RETRY", "maintenance"))
    code, out, _ = run_cli(
        capsys, "cl", "khipu", "enel-bill", "1234567", "--email", "a@b.cl", "--base-url", fake_khipu.base_url
    )
    assert code == 3
    result = json.loads(out)
    assert result["status"] == "deferred"
    assert result["error"]["type"] == "WAIT_4_HOURS_BEFORE_RETRY"
    assert result["earliest_retry"]


def test_khipu_invalid_email_and_missing_credentials(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, _, err = run_cli(capsys, "cl", "khipu", "enel-bill", "1234567", "--email", "a@b.cl")
    assert code == ExitCode.USAGE and "KHIPU_API_KEY" in err
    monkeypatch.setenv("KHIPU_API_KEY", "k")
    code, _, err = run_cli(capsys, "cl", "khipu", "enel-bill", "1234567", "--email", "a+b@c.cl")
    assert code == ExitCode.INVALID and "RequestData.Email" in err


# -- belvo ---------------------------------------------------------------------------------------------------
def test_belvo_invoices_json(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, fake_belvo: FakeBelvo
) -> None:
    monkeypatch.setenv("BELVO_SECRET_ID", fake_belvo.secret_id)
    monkeypatch.setenv("BELVO_SECRET_PASSWORD", fake_belvo.secret_password)
    code, out, _ = run_cli(
        capsys, "cl", "belvo", "invoices", "--link", LINK, "--from", "2024-01-01", "--to", "2024-03-31",
        "--type", "INFLOW", "--base-url", fake_belvo.base_url,
    )  # fmt: skip
    assert code == 0
    invoices = json.loads(out)
    assert invoices and all(i["type"] == "INFLOW" for i in invoices)
    assert invoices[0]["net_amount"] == "100012.10"  # exact, as a string
    assert "raw" not in invoices[0]
    assert invoices[0]["purchase_invoice_details"]["vat_refundable_amount"] == invoices[0]["vat_amount"]
    assert fake_belvo.requests[0].json()["type"] == "INFLOW"


def test_belvo_errors_are_one_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, fake_belvo: FakeBelvo
) -> None:
    monkeypatch.setenv("B_ID", fake_belvo.secret_id)
    monkeypatch.setenv("B_PW", "wrong")
    code, _, err = run_cli(
        capsys, "cl", "belvo", "invoices", "--link", LINK, "--from", "2024-01-01", "--to", "2024-01-31",
        "--base-url", fake_belvo.base_url, "--secret-id-env", "B_ID", "--secret-password-env", "B_PW",
    )  # fmt: skip
    assert code == ExitCode.USAGE  # wrong credentials
    assert "authentication_failed" in err and "request_id" in err
    assert len(err.strip().splitlines()) == 1
    code, _, err = run_cli(
        capsys, "cl", "belvo", "invoices", "--link", LINK, "--from", "2999-01-01", "--to", "2999-01-31",
        "--base-url", fake_belvo.base_url, "--secret-id-env", "B_ID", "--secret-password-env", "B_PW",
    )  # fmt: skip
    assert code == ExitCode.INVALID and "future" in err


# -- flow ----------------------------------------------------------------------------------------------------
def test_flow_invoice_json(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, fake_flow: FakeFlow
) -> None:
    monkeypatch.setenv("FLOW_API_KEY", fake_flow.api_key)
    monkeypatch.setenv("FLOW_SECRET_KEY", fake_flow.secret_key)
    code, out, _ = run_cli(capsys, "cl", "flow", "invoice", "1034", "--base-url", fake_flow.base_url)
    assert code == 0
    invoice = json.loads(out)
    assert invoice["id"] == 1034
    assert invoice["amount"] == "20000"
    assert invoice["status"] == 0
    assert invoice["chargeAttemps"][0]["amount"] == "18499.5000"
    assert invoice["attemp_count"] == 1


def test_flow_wrong_secret(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, fake_flow: FakeFlow
) -> None:
    monkeypatch.setenv("FLOW_API_KEY", fake_flow.api_key)
    monkeypatch.setenv("OTHER_SECRET", "not-it")
    code, _, err = run_cli(
        capsys,
        "cl",
        "flow",
        "invoice",
        "1034",
        "--base-url",
        fake_flow.base_url,
        "--secret-key-env",
        "OTHER_SECRET",
    )
    assert code == ExitCode.USAGE  # the secret key is wrong
    assert "Invalid Signature" in err and "not-it" not in err


def test_entry_point_subprocess(fake_flow: FakeFlow) -> None:
    env = {
        "FLOW_API_KEY": fake_flow.api_key,
        "FLOW_SECRET_KEY": fake_flow.secret_key,
        "PATH": "/usr/bin:/bin",
    }
    completed = subprocess.run(
        [
            str(Path(sys.executable).parent / "cr-einvoice"),
            "cl",
            "flow",
            "invoice",
            "77",
            "--base-url",
            fake_flow.base_url,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )
    assert completed.returncode == ExitCode.INVALID
    assert completed.stderr.startswith("cr-einvoice: error: Flow invoice/get: Invoice 77 not found")
    assert "Traceback" not in completed.stderr
