"""``cr-einvoice check`` and the preflight part of ``cr-einvoice validate`` on signed files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from preflight_helpers import EMISOR, OTHER, Factory, Hacienda

from cr_einvoice.app.cli import main
from cr_einvoice.app.runtime import Runtime
from cr_einvoice.core.errors import ExitCode
from cr_einvoice.testing.examples import example_json
from cr_einvoice.testing.pki import TestPKI
from cr_einvoice.vouchers.jsonio import document_from_json
from cr_einvoice.vouchers.rules import MESSAGES


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(autouse=True)
def _no_default_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No cr-einvoice.toml in the working directory unless a test writes one."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CR_EINVOICE_CONFIG", raising=False)


def test_check_accepts_a_valid_voucher(
    factory: Factory, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "fe.xml"
    built = factory.voucher("fe")
    path.write_bytes(built.xml)
    code, out, err = _run(capsys, "check", "--offline", str(path))
    assert code == ExitCode.OK
    assert out.strip() == f"{path}: Hacienda would accept FacturaElectronica {built.clave}"
    assert "not checked: consecutivo (-99): no outbox given" in err


@pytest.fixture
def not_the_emisors(factory: Factory, tmp_path: Path) -> Path:
    """A file holding an FE of another taxpayer signed with the TEST certificate (-60)."""
    path = tmp_path / "fe.xml"
    path.write_bytes(factory.voucher("fe", issuer=OTHER).xml)
    return path


def test_check_json_lists_the_rejection_and_exits_4(
    not_the_emisors: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _run(capsys, "check", "--offline", "--json", str(not_the_emisors))
    assert code == ExitCode.REJECTED == 4
    doc = json.loads(out)
    assert doc["accepted"] is False
    assert doc["signer_cedula"] == EMISOR
    assert doc["reasons"] == [
        {
            "code": -60,
            "message": MESSAGES[-60],
            "path": "Emisor/Identificacion/Numero",
            "severity": "rejection",
            "detail": f"the certificate names cédula {EMISOR}, the document {OTHER}",
        }
    ]


def test_check_text_names_code_path_and_text(
    factory: Factory, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "te.xml"
    path.write_bytes(factory.voucher("te", sign=lambda xml: xml).xml)
    code, out, _ = _run(capsys, "check", "--offline", str(path))
    assert code == ExitCode.REJECTED
    first = out.splitlines()[0]
    assert first.startswith(
        f"{path}: rejection - Signature: La firma del comprobante electrónico no es válida"
    )
    assert out.splitlines()[-1].startswith(f"{path}: Hacienda would reject TiqueteElectronico ")


def test_check_bad_input_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(capsys, "check", "--offline", str(tmp_path / "missing.xml"))
    assert code == ExitCode.USAGE
    assert "file not found" in err and "Traceback" not in err
    junk = tmp_path / "junk.xml"
    junk.write_bytes(b"<FacturaElectronica><Clave>")
    code, out, _ = _run(capsys, "check", "--offline", "--json", str(junk))
    assert code == ExitCode.REJECTED
    assert [r["code"] for r in json.loads(out)["reasons"]] == [-1]
    code, _, err = _run(capsys, "check", "--offline", "--now", "2026-07-15T09:30:00", str(junk))
    assert code == ExitCode.USAGE and "--now" in err and "offset" in err


def test_check_with_the_configured_outbox_finds_minus_99(
    factory: Factory,
    pki: TestPKI,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("T_USER", "cpj-3-101-123456@stag.comprobanteselectronicos.go.cr")
    monkeypatch.setenv("T_PASS", "pw")
    monkeypatch.setenv("T_PIN", pki.pin)
    cfg = tmp_path / "cr-einvoice.toml"
    init = [
        "init", "--config", str(cfg), "--environment", "custom",
        "--token-url", "http://127.0.0.1:9/token", "--recepcion-url", "http://127.0.0.1:9/recepcion/v1/",
        "--username-env", "T_USER", "--password-env", "T_PASS", "--p12", str(pki.taxpayer_p12),
        "--pin-env", "T_PIN", "--nombre", "Soluciones Tecnológicas del Valle S.A.",
    ]  # fmt: skip
    assert main(init) == 0
    with Runtime.from_file(cfg, create_store=True) as runtime:
        data = example_json("fe")
        data["emisor"]["identificacion"] = {"tipo": "02", "numero": EMISOR}
        issued = runtime.issuer().issue(document_from_json(data))
    capsys.readouterr()
    twin = tmp_path / "twin.xml"
    twin.write_bytes(factory.voucher("fe", numero=issued.numero).xml)
    code, out, _ = _run(capsys, "check", "--offline", "--json", "--config", str(cfg), str(twin))
    assert code == ExitCode.REJECTED
    assert [r["code"] for r in json.loads(out)["reasons"]] == [-99]
    # found through the default configuration file too; --no-store skips the outbox
    assert _run(capsys, "check", "--offline", str(twin))[0] == ExitCode.REJECTED
    assert _run(capsys, "check", "--offline", "--no-store", str(twin))[0] == ExitCode.OK
    own = tmp_path / "own.xml"
    own.write_bytes(issued.signed_xml)
    assert _run(capsys, "check", "--offline", str(own))[0] == ExitCode.OK


def test_validate_runs_the_preflight_on_a_signed_voucher(
    factory: Factory, not_the_emisors: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = not_the_emisors
    code, out, _ = _run(capsys, "validate", "--json", str(path))
    assert code == 1
    doc = json.loads(out)
    assert doc["problems"] == [] and doc["ok"] is False
    assert [(r["code"], r["severity"]) for r in doc["preflight"]] == [(-60, "rejection")]
    good = tmp_path / "good.xml"
    good.write_bytes(factory.voucher("fe").xml)
    code, out, _ = _run(capsys, "validate", str(good))
    assert code == 0 and "valid FacturaElectronica v4.4" in out
    # --unsigned checks the document only
    assert _run(capsys, "validate", "--unsigned", str(path))[0] == 0


def test_check_looks_up_the_registry_at_the_given_public_data_url(
    factory: Factory, hacienda: Hacienda, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def unknown_cabys(xml: bytes) -> bytes:
        return xml.replace(b"<CodigoCABYS>8314200000000<", b"<CodigoCABYS>8399999999999<", 1)

    path = tmp_path / "fe.xml"
    path.write_bytes(factory.voucher("fe", edit=unknown_cabys).xml)
    url = hacienda.sim.root_url
    code, out, _ = _run(capsys, "check", "--json", "--public-data-url", url, str(path))
    assert code == ExitCode.REJECTED
    assert [(r["code"], r["path"]) for r in json.loads(out)["reasons"]] == [
        (-400, "DetalleServicio/LineaDetalle[1]/CodigoCABYS")
    ]
    # --offline without an outbox: nothing cached, the registry checks are skipped and say so
    code, _, err = _run(capsys, "check", "--offline", "--public-data-url", url, str(path))
    assert code == ExitCode.OK
    assert "not checked: CABYS 8399999999999" in err


def test_check_predicts_minus_37_and_minus_408_after_lookup_import(
    factory: Factory, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``lookup import`` of the activity catalogue (CSV) and of the emisor's registered data (JSON), then
    ``check --offline`` with that configuration: -408 rejects, -37 warns, a valid voucher passes."""
    from cr_einvoice.app.config import Config, StoreSettings, write_config
    from cr_einvoice.outbox.store import open_store

    open_store(tmp_path / "outbox.db", create=True).close()
    cfg = write_config(Config(base_dir=tmp_path, store=StoreSettings(path="outbox.db")), tmp_path / "c.toml")
    catalogue = tmp_path / "actividades.csv"
    catalogue.write_text("Código,Descripción\n620100,PROGRAMACION\n751101,OTRA\n", encoding="utf-8")
    mine = tmp_path / "atv.json"
    mine.write_text(
        json.dumps(
            {
                "contribuyentes": {
                    EMISOR: {
                        "nombre": "SOLUCIONES TECNOLOGICAS DEL VALLE SOCIEDAD ANONIMA",
                        "tipoIdentificacion": "02",
                        "ubicacion": {"provincia": "1", "canton": "01", "distrito": "08"},
                        "actividades": [{"estado": "A", "tipo": "P", "codigo": "620100"}],
                    }
                }
            }
        )
    )
    assert _run(capsys, "lookup", "import", str(catalogue), "--config", str(cfg))[0] == 0
    assert _run(capsys, "lookup", "import", str(mine), "--config", str(cfg))[0] == 0

    def check(name: str, xml: bytes) -> tuple[int, dict[str, Any]]:
        path = tmp_path / name
        path.write_bytes(xml)
        code, out, _ = _run(capsys, "check", "--offline", "--json", "--config", str(cfg), str(path))
        return code, json.loads(out)

    def invented(data: dict[str, Any]) -> None:
        data["codigo_actividad_emisor"] = "999999"

    code, doc = check("invented.xml", factory.voucher("fe", patch=invented).xml)
    assert code == ExitCode.REJECTED
    assert [(r["code"], r["message"]) for r in doc["reasons"]] == [(-408, MESSAGES[-408])]

    moved = factory.voucher("fe", edit=lambda xml: xml.replace(b"<Distrito>08<", b"<Distrito>01<", 1))
    code, doc = check("moved.xml", moved.xml)
    assert code == ExitCode.OK
    assert [(r["code"], r["severity"]) for r in doc["reasons"]] == [(-37, "warning")]

    code, doc = check("valid.xml", factory.voucher("fe").xml)
    assert code == ExitCode.OK and doc["reasons"] == []
    assert not [s for s in doc["skipped"] if "-37" in s or "-408" in s]
