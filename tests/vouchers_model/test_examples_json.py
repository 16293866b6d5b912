"""Examples, the JSON format, the namespace table and the CLI."""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal as D  # noqa: N817
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from cr_einvoice.app.cli import main
from cr_einvoice.core.errors import ExitCode, ValidationError
from cr_einvoice.testing.examples import EXAMPLE_KINDS, example_json
from cr_einvoice.vouchers.jsonio import KINDS, document_from_json, document_to_json
from cr_einvoice.vouchers.model import Comprobante, MensajeReceptor, ReciboPago
from cr_einvoice.vouchers.rules import check_rules
from cr_einvoice.vouchers.xmlread import from_xml
from cr_einvoice.vouchers.xmlwrite import NAMESPACES, to_xml


def test_namespace_table_is_pinned() -> None:
    base = "https://cdn.comprobanteselectronicos.go.cr/xml-schemas/v4.4/"
    assert {
        "FacturaElectronica": base + "facturaElectronica",
        "NotaDebitoElectronica": base + "notaDebitoElectronica",
        "NotaCreditoElectronica": base + "notaCreditoElectronica",
        "TiqueteElectronico": base + "tiqueteElectronico",
        "FacturaElectronicaCompra": base + "facturaElectronicaCompra",
        "FacturaElectronicaExportacion": base + "facturaElectronicaExportacion",
        "ReciboElectronicoPago": base + "reciboElectronicoPago",
        "MensajeReceptor": base + "mensajeReceptor",
        "MensajeHacienda": base + "mensajeHacienda",
    } == NAMESPACES


def test_namespaces_match_the_official_schemas(schemas_dir: Path) -> None:
    for root, ns in NAMESPACES.items():
        xsd = etree.parse(str(schemas_dir / "2024" / "v4.4" / f"{root}_V4.4.xsd"))
        assert xsd.getroot().get("targetNamespace") == ns


@pytest.mark.parametrize("kind", EXAMPLE_KINDS)
def test_every_example_is_complete_and_valid(
    kind: str, numbered: Callable[..., Any], xsd_errors: Callable[[bytes], list[str]]
) -> None:
    doc = document_from_json(example_json(kind))
    assert isinstance(doc, KINDS[kind])
    done = numbered(doc)
    data = to_xml(done)
    assert xsd_errors(data) == []
    assert [str(p) for p in check_rules(etree.fromstring(data))] == []
    assert from_xml(data) == done
    assert document_from_json(json.dumps(document_to_json(done), ensure_ascii=False)) == done


def test_example_scenarios_are_the_ones_documented() -> None:
    nc = document_from_json(example_json("nc"))
    assert isinstance(nc, Comprobante)
    assert nc.referencias[0].tipo_doc_ir.value == "01" and len(nc.referencias[0].numero or "") == 50
    rep = document_from_json(example_json("rep"))
    assert isinstance(rep, ReciboPago) and rep.condicion_venta.value == "11"
    fee = document_from_json(example_json("fee"))
    assert isinstance(fee, Comprobante)
    assert (fee.codigo_moneda.value, fee.tipo_cambio) == ("USD", D("505.2"))
    fec = document_from_json(example_json("fec"))
    assert isinstance(fec, Comprobante) and fec.emisor.identificacion.tipo.value == "05"
    assert fec.referencias[0].tipo_doc_ir.value == "16"
    te = document_from_json(example_json("te"))
    assert isinstance(te, Comprobante) and len(te.medios_pago) == 2 and te.otros_cargos
    assert isinstance(document_from_json(example_json("mr")), MensajeReceptor)


def test_example_json_returns_fresh_copies() -> None:
    first = example_json("fe")
    first["lineas"].clear()
    assert example_json("fe")["lineas"]
    with pytest.raises(ValidationError):
        example_json("xx")


def test_json_errors_name_the_json_path() -> None:
    data = example_json("fe")
    data["lineas"][2]["precio_unitario"] = "doce"
    data["lineas"][0]["impuestos"][0]["codigo_tarifa_iva"] = "42"
    data["receptor"]["identificacion"]["numero"] = "12-345"
    with pytest.raises(ValidationError) as info:
        document_from_json(data)
    paths = {p.path for p in info.value.problems}
    assert paths == {
        "lineas[2].precio_unitario",
        "lineas[0].impuestos[0].codigo_tarifa_iva",
        "receptor.identificacion.numero",
    }


def test_json_numbers_are_exact_and_python_floats_are_refused() -> None:
    text = json.dumps(example_json("fe")).replace("25000.00000", "25000.10")
    doc = document_from_json(text)
    assert isinstance(doc, Comprobante)
    assert doc.lineas[0].precio_unitario == D("25000.10")
    data = example_json("te")
    data["lineas"][0]["precio_unitario"] = 4500.1
    with pytest.raises(ValidationError) as info:
        document_from_json(data)
    assert info.value.problems[0].path == "lineas[0].precio_unitario"
    assert "float" in info.value.problems[0].message


def test_json_refuses_unknown_keys_computed_totals_and_unknown_types() -> None:
    data = example_json("fe")
    data["resumen"] = {"total_comprobante": "1"}
    data["lineas"][1]["monto_totl"] = "1"
    with pytest.raises(ValidationError) as info:
        document_from_json(data)
    problems = {p.path: p.message for p in info.value.problems}
    assert "computed" in problems["resumen"]
    assert "unknown field" in problems["lineas[1].monto_totl"]
    with pytest.raises(ValidationError) as info2:
        document_from_json({"tipo": "boleta"})
    assert info2.value.problems[0].path == "tipo"
    with pytest.raises(ValidationError) as info3:
        document_from_json(b"{not json")
    assert info3.value.problems[0].path == "$"


def test_json_accepts_codes_and_root_names_as_tipo() -> None:
    for alias in ("01", "FacturaElectronica", "FE"):
        data = example_json("fe")
        data["tipo"] = alias
        assert type(document_from_json(data)).__name__ == "FacturaElectronica"


def test_json_output_with_computed_totals(numbered: Callable[..., Any]) -> None:
    doc = numbered(document_from_json(example_json("fe")))
    out = document_to_json(doc, include_computed=True)
    assert out["resumen"]["total_comprobante"] == format(doc.resumen.total_comprobante, "f")
    assert out["lineas"][1]["calculo"]["sub_total"] == "921500.00000"  # 2 × 485000 less 5 %
    assert out["lineas"][1]["descuentos"][0]["monto_descuento"] == "48500.00000"


# -- CLI ------------------------------------------------------------------------------------------------


def test_cli_prints_examples(capsys: pytest.CaptureFixture[str]) -> None:
    for kind in EXAMPLE_KINDS:
        assert main(["build", "--example", kind]) == 0
        assert json.loads(capsys.readouterr().out) == example_json(kind)


def test_cli_builds_numbered_xml(tmp_path: Path, xsd_errors: Callable[[bytes], list[str]]) -> None:
    for kind in EXAMPLE_KINDS:
        src = tmp_path / f"{kind}.json"
        src.write_text(json.dumps(example_json(kind)), encoding="utf-8")
        out = tmp_path / f"{kind}.xml"
        args = ["build", str(src), "-o", str(out), "--sucursal", "2", "--terminal", "3", "--numero", "45"]
        assert main(args) == 0
        data = out.read_bytes()
        assert xsd_errors(data) == []
        doc = from_xml(data)
        if isinstance(doc, MensajeReceptor):
            assert doc.numero_consecutivo_receptor == f"00200003{doc.tipo.value}0000000045"
        else:
            assert doc.numero_consecutivo == f"00200003{doc.tipo.value}0000000045"
            assert doc.clave is not None and doc.clave[21:41] == doc.numero_consecutivo
            assert (
                doc.fecha_emision is not None and doc.fecha_emision.utcoffset().total_seconds() == -6 * 3600
            )  # type: ignore[union-attr]


def test_cli_uses_a_given_clave(tmp_path: Path) -> None:
    src = tmp_path / "fe.json"
    src.write_text(json.dumps(example_json("fe")), encoding="utf-8")
    clave = "50615072600310112345600100001010000000123148213975"
    out = tmp_path / "fe.xml"
    assert (
        main(["build", str(src), "-o", str(out), "--clave", clave, "--fecha", "2026-07-15T09:30:00-06:00"])
        == 0
    )
    doc = from_xml(out.read_bytes())
    assert isinstance(doc, Comprobante)
    assert (doc.clave, doc.numero_consecutivo) == (clave, "00100001010000000123")


def test_cli_errors_name_the_field_without_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = example_json("fe")
    data["lineas"][1]["cantidad"] = "-2"
    src = tmp_path / "bad.json"
    src.write_text(json.dumps(data), encoding="utf-8")
    assert main(["build", str(src)]) == ExitCode.INVALID
    err = capsys.readouterr().err
    assert "lineas[1].cantidad" in err and "Traceback" not in err
    # a clave whose date is not FechaEmision's
    src.write_text(json.dumps(example_json("fe")), encoding="utf-8")
    code = main(["build", str(src), "--clave", "50615072600310112345600100001010000000123148213975"])
    assert code == ExitCode.INVALID
    assert "clave" in capsys.readouterr().err


def _readme_section() -> str:
    text = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    return text[text.index("<!-- BEGIN vouchers -->") : text.index("<!-- END vouchers -->")]


def test_readme_json_example_builds_and_validates(
    numbered: Callable[..., Any], xsd_errors: Callable[[bytes], list[str]]
) -> None:
    section = _readme_section()
    block = section[
        section.index("```json") + len("```json") : section.index("```", section.index("```json") + 7)
    ]
    doc = document_from_json(block)
    assert isinstance(doc, Comprobante)
    # 12 h × 25000 at 13 %, plus two laptops less 5 % fully exonerated, plus a 1500 stamp
    assert doc.resumen.total_serv_gravados == D("300000.00000")
    assert doc.resumen.total_merc_exonerada == D("970000.00000")
    assert doc.resumen.total_comprobante == D("300000") + D("39000") + D("921500") + D("1500")
    data = to_xml(numbered(doc))
    assert xsd_errors(data) == []
    assert [str(p) for p in check_rules(etree.fromstring(data))] == []


def test_readme_python_example_runs() -> None:
    section = _readme_section()
    start = section.index("```python") + len("```python")
    code = section[start : section.index("```", start)]
    namespace: dict[str, Any] = {}
    exec(compile(code, "README.md", "exec"), namespace)  # noqa: S102
    assert namespace["doc"].resumen.total_comprobante == D("32205.00000")


def test_json_bytes_with_a_byte_order_mark() -> None:
    data = b"\xef\xbb\xbf" + json.dumps(example_json("te"), ensure_ascii=False).encode("utf-8")
    assert document_from_json(data) == document_from_json(example_json("te"))


def test_cli_validate_option(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "te.json"
    src.write_text(json.dumps(example_json("te")), encoding="utf-8")
    assert main(["build", str(src), "--validate", "-o", str(tmp_path / "te.xml")]) == 0
    # TipoDocIR 19 (FEE) comes from the 2026 Bitácora: the model accepts it, the published XSD does not and
    # the validation module tolerates it as a warning
    data = example_json("nc")
    data["referencias"][0]["tipo_doc_ir"] = "19"
    src.write_text(json.dumps(data), encoding="utf-8")
    out = tmp_path / "nc.xml"
    assert main(["build", str(src), "--validate", "-o", str(out)]) == 0
    assert b"<TipoDocIR>19</TipoDocIR>" in out.read_bytes()
    data["medios_pago"] = [{"tipo_medio_pago": "99"}]
    src.write_text(json.dumps(data), encoding="utf-8")
    assert main(["build", str(src), "--validate"]) == ExitCode.INVALID
    assert "medios_pago[0].medio_pago_otros" in capsys.readouterr().err


# -- the JSON Schema generated from the model (issue #11 item 4) -----------------------------------------


def _schema_paths(errors: Any) -> set[str]:
    """The JSON paths of jsonschema's findings, written like the library's (``lineas[0].detalle``): a
    missing or unexpected key is named under its object, an ``anyOf`` (an optional field) by its branches."""
    found: set[str] = set()
    for error in errors:
        if error.validator == "anyOf":
            found |= _schema_paths(c for c in error.context if c.validator != "type")
            continue
        path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path).lstrip(".")
        if error.validator in ("required", "additionalProperties"):
            names = [error.message.split("'")[1]]
            path = ".".join(x for x in (path, names[0]) if x)
        found.add(path)
    return found


def _library_paths(data: dict[str, Any]) -> set[str]:
    with pytest.raises(ValidationError) as info:
        document_from_json(data)
    return {p.path for p in info.value.problems}


def test_json_schema_accepts_every_build_example_and_fails_like_the_library(
    capsys: pytest.CaptureFixture[str],
) -> None:
    import jsonschema

    assert main(["build", "--json-schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    jsonschema.Draft202012Validator.check_schema(schema)
    anything = jsonschema.Draft202012Validator(schema)
    for kind in EXAMPLE_KINDS:
        assert main(["build", "--example", kind]) == 0
        example = json.loads(capsys.readouterr().out)
        assert list(anything.iter_errors(example)) == [], kind
        assert main(["build", "--json-schema", kind]) == 0
        one = jsonschema.Draft202012Validator(json.loads(capsys.readouterr().out))
        assert list(one.iter_errors(example)) == [], kind
    fe = jsonschema.Draft202012Validator(schema["$defs"]["document_fe"] | {"$defs": schema["$defs"]})
    # Structure: an unknown key, a missing required key (the library stops there, as the schema reports).
    wrong = example_json("fe")
    wrong["lineas"][0]["color"] = "rojo"
    del wrong["lineas"][1]["detalle"]
    expected = {"lineas[0].color", "lineas[1].detalle"}
    assert _schema_paths(fe.iter_errors(wrong)) == expected == _library_paths(wrong)
    # Values: a code outside its catalogue, at the top and inside an optional (nullable) object.
    wrong = example_json("fe")
    wrong["condicion_venta"] = "77"
    assert _schema_paths(fe.iter_errors(wrong)) == {"condicion_venta"} == _library_paths(wrong)
    wrong = example_json("fe")
    wrong["receptor"]["identificacion"]["tipo"] = "09"
    expected = {"receptor.identificacion.tipo"}
    assert _schema_paths(fe.iter_errors(wrong)) == expected == _library_paths(wrong)
    # A type only the issuing pipeline completes: the schema lets a POS omit the emisor, not a tipo.
    assert list(fe.iter_errors({k: v for k, v in example_json("fe").items() if k != "emisor"})) == []
    assert main(["build", "--json-schema", "xx"]) != 0
