"""The registry checks asked of api.hacienda.go.cr (the simulator's) through the public-data client: -407,
-400, exonerations and this package's tarifa warning; what cannot be looked up is reported as skipped."""

from __future__ import annotations

from lxml import etree
from pd_support import make_client

from cr_einvoice.hacienda.publicdata import MemoryCache
from cr_einvoice.hacienda.publicdata.checks import check_registry
from cr_einvoice.sandbox import Simulator

NS = "https://cdn.comprobanteselectronicos.go.cr/xml-schemas/v4.4/facturaElectronica"


def _fe(
    actividad: str, lines: list[tuple[str, str, str]], *, fecha: str = "2026-07-15T09:30:00-06:00"
) -> etree._Element:
    """An FE reduced to what the registry checks read; lines are (CABYS, CodigoTarifaIVA, Tarifa)."""
    detalle = "".join(
        f"<LineaDetalle><CodigoCABYS>{c}</CodigoCABYS><Impuesto><Codigo>01</Codigo>"
        f"<CodigoTarifaIVA>{code}</CodigoTarifaIVA><Tarifa>{t}</Tarifa></Impuesto></LineaDetalle>"
        for c, code, t in lines
    )
    return etree.fromstring(
        f'<FacturaElectronica xmlns="{NS}"><CodigoActividadEmisor>{actividad}</CodigoActividadEmisor>'
        f"<FechaEmision>{fecha}</FechaEmision><Emisor><Identificacion><Tipo>02</Tipo><Numero>3101123456</Numero>"
        f"</Identificacion></Emisor><Receptor><Identificacion><Tipo>02</Tipo><Numero>3102654321</Numero>"
        f"</Identificacion></Receptor><DetalleServicio>{detalle}</DetalleServicio></FacturaElectronica>"
    )


def test_findings_through_the_client(sim: Simulator) -> None:
    root = _fe(
        "464901",
        [
            ("4527100000100", "08", "13.00"),
            ("8399999999990", "08", "13.00"),
            ("2316100000100", "08", "13.00"),
        ],
    )
    with make_client(sim) as client:
        report = check_registry(root, client, tarifa_warnings=True)
    assert [(f.problem.code, f.rejects, f.problem.path) for f in report.findings] == [
        (-407, False, "CodigoActividadEmisor"),
        (-400, True, "DetalleServicio/LineaDetalle[2]/CodigoCABYS"),
        (None, False, "DetalleServicio/LineaDetalle[3]/Impuesto/Tarifa"),
    ]
    assert "carries 1 %" in report.findings[2].problem.message
    assert report.skipped == []


def test_exempt_lines_and_matching_rates_are_not_warned(sim: Simulator) -> None:
    root = _fe("620100", [("2316100000100", "02", "1.00"), ("4527100000100", "10", "0.00")])
    with make_client(sim) as client:
        assert check_registry(root, client, tarifa_warnings=True).findings == []


def test_what_offline_cannot_answer_is_skipped(sim: Simulator) -> None:
    cache = MemoryCache()
    with make_client(sim, cache) as online:
        online.cabys("4527100000100")
    root = _fe("620100", [("4527100000100", "08", "13.00"), ("8314200000000", "08", "13.00")])
    with make_client(sim, cache, offline=True) as offline:
        report = check_registry(root, offline)
    assert report.findings == []
    assert [s.split(":")[0] for s in report.skipped] == [
        "taxpayer 3101123456 (-407)",
        "CABYS 8314200000000 (-400)",
    ]


def test_a_receptor_from_a_cedula(sim: Simulator) -> None:
    import pytest

    from cr_einvoice.core.errors import ValidationError
    from cr_einvoice.hacienda.publicdata.enrich import receptor_for, receptor_from_registry

    with make_client(sim) as client:
        receptor = receptor_for(client, "112345678", correo_electronico="maria@example.cr")
        assert receptor.nombre == "MARIA FERNANDA SOLANO QUESADA"
        assert receptor.identificacion is not None and receptor.identificacion.tipo.value == "01"
        block = receptor_from_registry(client, "3-102-654321")
        assert block["identificacion"] == {"tipo": "02", "numero": "3102654321"}
        with pytest.raises(ValidationError, match=r"receptor\.identificacion\.numero"):
            receptor_for(client, "3101999999")
