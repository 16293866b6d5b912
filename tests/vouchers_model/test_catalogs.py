"""The catalogue enums agree with the official v4.4 XSD enumerations (plus the documented 2026 additions)."""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from cr_einvoice.core import catalogs as cat
from cr_einvoice.testing.examples import EXAMPLE_KINDS, example_json
from cr_einvoice.vouchers.jsonio import document_from_json
from cr_einvoice.vouchers.validate import validate_xml
from cr_einvoice.vouchers.xmlwrite import to_xml

XS = "{http://www.w3.org/2001/XMLSchema}"


def _enumerations(xsd: Path) -> dict[str, set[str]]:
    """Enumerations of the FE schema by the name of their simpleType or element."""
    tree = etree.parse(str(xsd))
    found: dict[str, set[str]] = {}
    for restriction in tree.iter(f"{XS}restriction"):
        values = {e.get("value") or "" for e in restriction.findall(f"{XS}enumeration")}
        if not values:
            continue
        owner = restriction.getparent()
        assert owner is not None
        name = owner.get("name") or (owner.getparent().get("name") if owner.getparent() is not None else None)
        found.setdefault(str(name), set()).update(values)
    return found


@pytest.fixture(scope="module")
def fe_enums(schemas_dir: Path) -> dict[str, set[str]]:
    return _enumerations(schemas_dir / "2024" / "v4.4" / "FacturaElectronica_V4.4.xsd")


@pytest.fixture(scope="module")
def nc_enums(schemas_dir: Path) -> dict[str, set[str]]:
    return _enumerations(schemas_dir / "2024" / "v4.4" / "NotaCreditoElectronica_V4.4.xsd")


def values(kind: type[StrEnum]) -> set[str]:
    return {m.value for m in kind}


def test_enums_match_the_xsd(fe_enums: dict[str, set[str]], nc_enums: dict[str, set[str]]) -> None:
    assert values(cat.UnidadMedida) == fe_enums["UnidadMedidaType"]
    assert len(cat.UnidadMedida) == 101
    assert values(cat.CodigoMoneda) == fe_enums["CodigoMoneda"]
    assert values(cat.CodigoImpuesto) == fe_enums["CodigoImpuestoType"]
    assert values(cat.CodigoTarifaIVA) == fe_enums["CodigoTarifaIVAType"]
    assert values(cat.CodigoDescuento) == fe_enums["CodigoDescuentoType"]
    assert values(cat.TipoDocumentoOtrosCargos) == fe_enums["TipoDocOtrosCargosType"]
    assert values(cat.TipoDocumentoExoneracion) == fe_enums["TipoExoneracionType"]
    assert values(cat.InstitucionExoneracion) == fe_enums["NombreInstitucion"]
    assert values(cat.IVACobradoFabrica) == fe_enums["IVACobradoFabrica"]
    assert values(cat.TipoTransaccion) == fe_enums["TipoTransaccionType"]
    assert values(cat.TipoMedioPago) == fe_enums["TipoMedioPago"]
    assert values(cat.TipoIdentificacion) | values(cat.TipoCodigoComercial) == fe_enums["Tipo"]
    assert values(cat.CondicionVenta) == nc_enums["CondicionVenta"]
    # the 2026 Bitácora codes are the only additions to the published lists
    assert values(cat.TipoDocReferencia) - fe_enums["TipoDocReferenciaType"] == {"19", "20"}
    assert {m.value for m in cat.TipoDocReferencia if m.en_xsd} == fe_enums["TipoDocReferenciaType"]
    assert values(cat.CodigoReferencia) - fe_enums["CodigoReferenciaType"] == {"16", "17"}
    assert {m.value for m in cat.CodigoReferencia if m.en_xsd} == fe_enums["CodigoReferenciaType"]


def test_readable_member_names_and_rates() -> None:
    assert cat.UnidadMedida.UNIDAD == "Unid"
    assert cat.UnidadMedida.SERVICIOS_PROFESIONALES == "Sp"
    assert cat.UnidadMedida.SERVICIOS_PROFESIONALES.es_servicio and not cat.UnidadMedida.KILOGRAMO.es_servicio
    rates = {c.value: str(c.tarifa) for c in cat.CodigoTarifaIVA}
    assert rates == {
        "01": "0",
        "02": "1",
        "03": "2",
        "04": "4",
        "05": "0",
        "06": "4",
        "07": "8",
        "08": "13",
        "09": "0.5",
        "10": "0",
        "11": "0",
    }
    assert [c.value for c in cat.CodigoTarifaIVA if c.solo_notas] == ["05", "06", "07"]
    assert cat.CodigoTarifaIVA.EXENTA.tratamiento == "exento"
    assert cat.CodigoTarifaIVA.TARIFA_0_SIN_CREDITO.tratamiento == "no_sujeto"
    assert [m.tipo_documento.value for m in cat.Mensaje] == ["05", "06", "07"]
    assert cat.is_service_cabys("8314100000000") and not cat.is_service_cabys("4527100000100")
    assert [c.value for c in cat.CondicionVenta if c.es_credito] == ["02", "08", "10"]


@pytest.mark.parametrize("kind", EXAMPLE_KINDS)
def test_examples_pass_the_validation_module(kind: str, numbered: Callable[..., Any]) -> None:
    report = validate_xml(to_xml(numbered(document_from_json(example_json(kind)))), signed=False)
    assert report.ok, report.problems
