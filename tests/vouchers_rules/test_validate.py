"""validate_xml (XSD + rules) and the validate / clave CLI commands."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from cr_einvoice.app.cli import main
from cr_einvoice.core.catalogs import TipoDocumento
from cr_einvoice.core.errors import ExitCode, ValidationError, XMLParseError
from cr_einvoice.vouchers.validate import validate_xml

DATA = Path(__file__).parent / "data"


@pytest.mark.parametrize(
    ("name", "document_type", "tipo"),
    [
        ("fe_valid.xml", "FacturaElectronica", TipoDocumento.FACTURA_ELECTRONICA),
        ("rep_valid.xml", "ReciboElectronicoPago", TipoDocumento.RECIBO_PAGO),
        ("mr_valid.xml", "MensajeReceptor", TipoDocumento.CONFIRMACION_ACEPTACION),
    ],
)
def test_hand_written_vouchers_are_valid(name: str, document_type: str, tipo: TipoDocumento) -> None:
    report = validate_xml((DATA / name).read_bytes())
    assert report.ok, report.problems
    assert (report.document_type, report.version, report.tipo) == (document_type, "4.4", tipo)
    report.raise_for_problems()


def test_unsigned_document_fails_when_a_signature_is_required() -> None:
    report = validate_xml((DATA / "fe_valid.xml").read_bytes(), signed=True)
    assert [(p.code, p.path) for p in report.problems] == [(-1, "FacturaElectronica")]
    assert "Signature" in report.problems[0].message
    with pytest.raises(ValidationError):
        report.raise_for_problems()


def test_xsd_and_rule_problems_are_combined(fe: etree._Element, xt: Any) -> None:
    xt.set_text(fe, "DetalleServicio/LineaDetalle[2]/Cantidad", "tres")
    xt.set_text(fe, "ResumenFactura/TotalDescuentos", "1.00000")
    report = validate_xml(etree.tostring(fe, xml_declaration=True, encoding="UTF-8"))
    found = {(p.code, p.path) for p in report.problems}
    assert (-1, "DetalleServicio/LineaDetalle[2]/Cantidad") in found
    assert (-52, "ResumenFactura/TotalDescuentos") in found
    xsd_problem = next(p for p in report.problems if p.code == -1)
    assert xsd_problem.message.startswith("line ")
    rules_only = {p.code for p in validate_xml(fe, xsd=False).problems}
    assert -52 in rules_only and -1 not in rules_only


def test_bitacora_codes_are_warnings_not_failures(rep: etree._Element, xt: Any) -> None:
    xt.set_text(rep, "InformacionReferencia/TipoDocIR", "20")
    xt.set_text(rep, "InformacionReferencia/Codigo", "17")
    report = validate_xml(etree.tostring(rep))
    assert report.ok, report.problems
    assert {p.path for p in report.warnings} == {
        "InformacionReferencia[1]/TipoDocIR",
        "InformacionReferencia[1]/Codigo",
    }
    xt.set_text(rep, "InformacionReferencia/TipoDocIR", "21")
    assert not validate_xml(etree.tostring(rep)).ok


def test_v43_sample_is_checked_against_v43(samples_dir: Path) -> None:
    report = validate_xml((samples_dir / "TiqueteElectronico_v4.3_firmado_estilo_crlibre.xml").read_bytes())
    assert report.version == "4.3"
    # SOURCES.md: the sample keeps a leftover Normativa element the v4.3 schema does not allow.
    assert [p.path for p in report.problems] == ["Normativa"]
    mh = validate_xml((samples_dir / "MensajeHacienda_v4.3_rechazado_firma_invalida.xml").read_bytes())
    assert mh.ok and mh.document_type == "MensajeHacienda"


def test_unknown_namespace_is_a_problem_not_a_crash() -> None:
    wrong = b'<FacturaElectronica xmlns="https://cdn.comprobanteselectronicos.go.cr/xml-schemas/v4.4/FacturaElectronica"/>'
    report = validate_xml(wrong)
    assert not report.ok
    assert "case-sensitive" in report.problems[0].message


def test_hostile_input_is_refused() -> None:
    with pytest.raises(XMLParseError):
        validate_xml(b'<!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>')


def test_cli_validate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], fe: etree._Element, xt: Any
) -> None:
    assert main(["validate", str(DATA / "fe_valid.xml")]) == 0
    assert "valid FacturaElectronica v4.4" in capsys.readouterr().out
    xt.set_text(fe, "ResumenFactura/MedioPago/TipoMedioPago", "99")
    bad = tmp_path / "bad.xml"
    bad.write_bytes(etree.tostring(fe))
    assert main(["validate", str(bad)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out == [
        "-492 ResumenFactura/MedioPago[1]/MedioPagoOtros: El Tipo Medio Pago OTRO es obligatorio cuando se "
        "utilice el Tipo de Medio Pago '99'"
    ]
    assert main(["validate", "--json", str(bad)]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["ok"] is False and data["problems"][0]["code"] == -492
    assert main(["validate", str(tmp_path / "missing.xml")]) == ExitCode.USAGE
    assert "file not found" in capsys.readouterr().err
    (tmp_path / "junk.xml").write_bytes(b"<a>")
    assert main(["validate", str(tmp_path / "junk.xml")]) == ExitCode.INVALID
    err = capsys.readouterr().err
    assert "not well-formed" in err and "Traceback" not in err


def test_cli_validate_without_schemas(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CR_EINVOICE_SCHEMAS", str(tmp_path))
    assert main(["validate", str(DATA / "fe_valid.xml")]) == ExitCode.USAGE
    assert "cr-einvoice schemas fetch" in capsys.readouterr().err
    assert main(["validate", "--no-xsd", str(DATA / "fe_valid.xml")]) == 0


def test_cli_clave(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["clave", "parse", "50615072600310112345600100001010000000123148213975"]) == 0
    parts = json.loads(capsys.readouterr().out)
    assert parts["fecha"] == "2026-07-15"
    assert parts["identificacion"] == "003101123456"
    assert parts["consecutivo"]["tipo"] == "01" and parts["consecutivo"]["numero"] == 123
    assert parts["situacion"] == "1" and parts["codigo_seguridad"] == "48213975"
    args = ["clave", "new", "--tipo-id", "02", "--id", "3101123456", "--sucursal", "1", "--terminal", "1"]
    args += ["--tipo", "fe", "--numero", "123", "--fecha", "2026-07-15T19:30:00-06:00"]
    assert main(args) == 0
    made = json.loads(capsys.readouterr().out)
    assert made["clave"].startswith("506150726003101123456001000010100000001231")
    assert (
        main([*args[:-1], "2026-07-16T01:30:00Z", "--situacion", "3", "--codigo-seguridad", "00000042"]) == 0
    )
    assert (
        json.loads(capsys.readouterr().out)["clave"] == "50615072600310112345600100001010000000123300000042"
    )
    assert main(["clave", "parse", "50615132600310112345600100001010000000123148213975"]) == ExitCode.INVALID
    err = capsys.readouterr().err
    assert "clave[3:9] fecha" in err and "Traceback" not in err
    assert main([*args[:-1], "2026-07-15T19:30:00"]) == ExitCode.INVALID
    assert "no time zone" in capsys.readouterr().err
    assert (
        main(["clave", "new", "--tipo-id", "01", "--id", "012345678", "--tipo", "xx", "--numero", "1"])
        == ExitCode.INVALID
    )
    assert "--tipo" in capsys.readouterr().err
