"""``cr-einvoice decode``: JSON output and exit status."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from hc_support import CLAVE, PREFIX_2026, mensaje_hacienda_xml

from cr_einvoice.app.cli import main
from cr_einvoice.core.errors import ExitCode
from cr_einvoice.signing.xades import Signer
from cr_einvoice.testing.pki import TestPKI

SAMPLE = "MensajeHacienda_v4.3_rechazado_firma_invalida.xml"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, object]]:
    code = main(["decode", *argv])
    out = capsys.readouterr().out
    return code, json.loads(out) if out.strip() else {}


def test_decode_the_shared_sample(samples_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The 2019 seal does not chain to the bundled national PKI (SOURCES.md): the JSON is printed, the
    signature is valid but not trusted, and the exit status is 1 (0 only for a trusted answer)."""
    code, out = run(capsys, str(samples_dir / SAMPLE))
    assert code == 1
    assert out["clave"] == "50603052100011751016900100001010100012373198762259"
    assert out["mensaje"] == 3
    assert out["estado"] == "rechazado"
    assert out["errores"] == [
        {
            "codigo": None,
            "mensaje": "La firma del comprobante electrónico no es válida "
            "(El XML fue modificado luego de haber sido firmado).",
            "fila": None,
            "columna": None,
        }
    ]
    signature = out["signature"]
    assert isinstance(signature, dict)
    assert signature["valid"] is True
    assert signature["trusted"] is False
    assert signature["error"] == "SignatureNotTrustedError"
    assert "signature valid but not trusted" in str(signature["reason"])
    assert "national PKI" in str(signature["trust_problem"])
    assert signature["signer_cedula"] == "2100042005"
    assert signature["level"] == "XAdES-BES"


def test_tampered_sample_prints_what_it_decoded_and_exits_1(
    samples_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tampered = tmp_path / "t.xml"
    tampered.write_bytes((samples_dir / SAMPLE).read_bytes().replace(b"<Mensaje>3<", b"<Mensaje>1<"))
    code, out = run(capsys, str(tampered))
    assert code == 1
    assert out["mensaje"] == 1
    signature = out["signature"]
    assert isinstance(signature, dict)
    assert signature["valid"] is False
    assert signature["error"] == "DigestMismatchError"
    assert signature["reason"]


def test_decode_status_json_and_base64_with_trust(
    sello_signer: Signer, test_pki: TestPKI, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    detalle = f'{PREFIX_2026}\n\ncodigo, mensaje, fila, columna\r\n-37, ""Estimado ..."", 0, 0\r\n'
    signed = sello_signer.sign(mensaje_hacienda_xml(detalle=detalle))
    status = tmp_path / "status.json"
    status.write_text(
        json.dumps(
            {"clave": CLAVE, "indEstado": "aceptado", "respuestaXml": base64.b64encode(signed).decode()}
        )
    )
    code, out = run(capsys, str(status), "--trust", str(test_pki.sello_ca_cert_pem))
    assert code == 0
    assert (out["clave"], out["mensaje"], out["estado"]) == (CLAVE, 1, "aceptado")
    assert out["errores"] == [{"codigo": -37, "mensaje": "Estimado ...", "fila": 0, "columna": 0}]
    assert out["total_factura"] == "1130.00000"
    signature = out["signature"]
    assert isinstance(signature, dict) and signature["trusted"] is True
    b64 = tmp_path / "respuesta.b64"
    b64.write_bytes(base64.b64encode(signed))
    assert run(capsys, str(b64), "--trust", str(test_pki.sello_ca_cert_pem))[0] == 0
    # Without its CA named, the TEST seal is valid but not trusted (the default is the national PKI).
    code, out = run(capsys, str(b64))
    assert code == 1
    assert out["signature"]["valid"] is True and out["signature"]["trusted"] is False  # type: ignore[index]
    # Signed by the TEST seal: it does not chain to another CA, nor match another cédula.
    assert run(capsys, str(b64), "--expect-cedula", "CPJ-3-101-123456")[0] == 1
    assert run(capsys, str(b64), "--trust", str(test_pki.ca_cert_pem))[0] == 1


def test_decode_errors_exit_with_their_class(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pending = tmp_path / "pending.json"
    pending.write_text(json.dumps({"clave": CLAVE, "ind-estado": "procesando"}))
    assert main(["decode", str(pending)]) == ExitCode.INVALID
    assert "no respuesta-xml" in capsys.readouterr().err
    garbage = tmp_path / "g.txt"
    garbage.write_text("hello")
    assert main(["decode", str(garbage)]) == ExitCode.INVALID
    assert main(["decode", str(tmp_path / "missing.xml")]) == ExitCode.USAGE
    unsigned = tmp_path / "u.xml"
    unsigned.write_bytes(mensaje_hacienda_xml())
    code, out = run(capsys, str(unsigned))
    assert code == 1
    assert out["signature"] == {
        "valid": False,
        "error": "NoSignatureError",
        "reason": out["signature"]["reason"],
    }  # type: ignore[index]
