"""The sign / verify / certs verbs, through the real dispatcher."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cr_einvoice.app.cli import main
from cr_einvoice.testing.pki import TestPKI


@pytest.fixture
def pin_env(monkeypatch: pytest.MonkeyPatch, pki: TestPKI) -> str:
    monkeypatch.setenv("CR_TEST_PIN", pki.pin)
    return "CR_TEST_PIN"


def test_sign_then_verify(
    tmp_path: Path, pki: TestPKI, pin_env: str, invoice: bytes, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "fe.xml"
    src.write_bytes(invoice)
    out = tmp_path / "fe.signed.xml"
    code = main(["sign", str(src), "--p12", str(pki.taxpayer_p12), "--pin-env", pin_env, "-o", str(out)])
    assert code == 0
    assert out.read_bytes().startswith(invoice[: invoice.rindex(b"</FacturaElectronica>")])
    capsys.readouterr()

    assert main(["verify", str(out), "--trust", str(pki.ca_cert_pem)]) == 0
    text = capsys.readouterr().out
    assert "VALID" in text and "3101123456" in text and "known: v4.4" in text and "-06:00" in text

    assert main(["verify", str(out), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["valid"] is True and info["signer_cedula"] == "3101123456" and info["policy_known"] is True
    assert pki.pin not in text


def test_verify_reports_invalid_with_reason(
    tmp_path: Path, pki: TestPKI, pin_env: str, invoice: bytes, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "fe.xml"
    src.write_bytes(invoice)
    signed = tmp_path / "s.xml"
    main(["sign", str(src), "--p12", str(pki.taxpayer_p12), "--pin-env", pin_env, "-o", str(signed)])
    signed.write_bytes(signed.read_bytes().replace(b"97716.75000", b"1.00000"))
    capsys.readouterr()
    assert main(["verify", str(signed)]) == 1
    assert "INVALID" in capsys.readouterr().out
    assert main(["verify", str(signed), "--json"]) == 1
    info = json.loads(capsys.readouterr().out)
    assert info == {"valid": False, "error": "DigestMismatchError", "reason": info["reason"]}
    assert "modificado" in info["reason"]


def test_verify_untrusted_and_bes(
    tmp_path: Path, pki: TestPKI, pin_env: str, invoice: bytes, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "fe.xml"
    src.write_bytes(invoice)
    bes = tmp_path / "bes.xml"
    args = ["sign", str(src), "--p12", str(pki.sello_p12), "--pin-env", pin_env, "-o", str(bes)]
    assert main([*args, "--profile", "hacienda-response"]) == 0
    capsys.readouterr()
    assert main(["verify", str(bes)]) == 1
    assert "Policy Id" in capsys.readouterr().out
    assert main(["verify", str(bes), "--allow-bes", "--trust", str(pki.ca_cert_pem)]) == 1
    assert "trusted CA" in capsys.readouterr().out
    assert main(["verify", str(bes), "--allow-bes", "--trust", str(pki.sello_ca_cert_pem)]) == 0


def test_sign_refuses_expired_unless_allowed(
    tmp_path: Path, pki: TestPKI, pin_env: str, invoice: bytes, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "fe.xml"
    src.write_bytes(invoice)
    args = [
        "sign",
        str(src),
        "--p12",
        str(pki.expired_p12),
        "--pin-env",
        pin_env,
        "-o",
        str(tmp_path / "o.xml"),
    ]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "expired" in err
    assert "--allow-expired" in err and "allow_expired=True" not in err  # the CLI's option, not the API's
    assert main([*args, "--allow-expired"]) == 0


def test_wrong_or_missing_pin(
    tmp_path: Path, pki: TestPKI, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("BAD_PIN", "not-the-pin-123")
    assert main(["certs", "show", str(pki.taxpayer_p12), "--pin-env", "BAD_PIN"]) == 2
    err = capsys.readouterr().err
    assert "PIN" in err and "not-the-pin-123" not in err
    monkeypatch.delenv("NOPE", raising=False)
    assert main(["certs", "show", str(pki.taxpayer_p12), "--pin-env", "NOPE"]) == 2
    assert "NOPE" in capsys.readouterr().err


def test_certs_show(pki: TestPKI, pin_env: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["certs", "show", str(pki.taxpayer_p12_3des), "--pin-env", pin_env]) == 0
    out = capsys.readouterr().out
    assert "3101123456" in out and "CPJ-3-101-123456" in out and pki.pin not in out
    assert main(["certs", "show", str(pki.sello_p12), "--pin-env", pin_env, "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["cedula"] == "2100042005" and info["valid_now"] is True


def test_certs_make_test(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "pki"
    assert main(["certs", "make-test", str(target), "--pin", "4321", "--id", "106320395", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["taxpayer_serial"] == "CPF-01-0632-0395"
    assert all(
        "TEST" in Path(p).name for k, p in info.items() if k not in ("directory", "taxpayer_serial") and p
    )
    monkeypatch.setenv("P4321", "4321")
    assert main(["certs", "show", info["taxpayer_p12"], "--pin-env", "P4321"]) == 0
    assert "106320395" in capsys.readouterr().out


def test_verify_samples(samples_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["verify", str(samples_dir / "MensajeHacienda_v4.3_rechazado_firma_invalida.xml")]) == 0
    assert "2100042005" in capsys.readouterr().out
    assert (
        main(["verify", str(samples_dir / "TiqueteElectronico_v4.3_firmado_estilo_crlibre.xml"), "--json"])
        == 0
    )
    assert json.loads(capsys.readouterr().out)["style"] == "crlibre"
    assert main(["verify", str(samples_dir / "NEGATIVO_FacturaElectronica_v4.2_firma_rota.xml")]) == 1
    assert "INVALID" in capsys.readouterr().out


def test_verify_sha1_switch(
    tmp_path: Path, pki: TestPKI, pin_env: str, invoice: bytes, capsys: pytest.CaptureFixture[str]
) -> None:
    from cr_einvoice.signing.certs import load_p12
    from cr_einvoice.signing.xades import DigestAlgorithm, SignatureAlgorithm, Signer, SignerConfig

    cfg = SignerConfig(signature_algorithm=SignatureAlgorithm.RSA_SHA1, digest_algorithm=DigestAlgorithm.SHA1)
    weak = tmp_path / "sha1.xml"
    weak.write_bytes(Signer(load_p12(pki.taxpayer_p12, pki.pin), cfg).sign(invoice))
    assert main(["verify", str(weak)]) == 1
    assert "SHA1" in capsys.readouterr().out
    assert main(["verify", str(weak), "--allow-sha1"]) == 0
