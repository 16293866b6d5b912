"""This package's CABYS tax-rate warning, asked of api.hacienda.go.cr (the simulator's) through the
public-data client, and a receptor built from a cédula; what cannot be looked up is reported as skipped."""

from __future__ import annotations

from lxml import etree
from pd_support import make_client

from cr_einvoice.hacienda.publicdata import MemoryCache
from cr_einvoice.hacienda.publicdata.checks import tarifa_warnings
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


def test_a_rate_other_than_the_cabys_one_is_warned(sim: Simulator) -> None:
    lines = [
        ("4527100000100", "08", "13.00"),
        ("8399999999990", "08", "13.00"),
        ("2316100000100", "08", "13.00"),
    ]
    with make_client(sim) as client:
        warnings, skipped = tarifa_warnings(_fe("620100", lines), client)
    assert [w.path for w in warnings] == [
        "DetalleServicio/LineaDetalle[3]/Impuesto/Tarifa"
    ]  # unknown: -400's
    assert "carries 1 %" in warnings[0].message and "13.00 %" in warnings[0].message
    assert skipped == []


def test_exempt_lines_and_matching_rates_are_not_warned(sim: Simulator) -> None:
    root = _fe("620100", [("2316100000100", "02", "1.00"), ("4527100000100", "10", "0.00")])
    with make_client(sim) as client:
        assert tarifa_warnings(root, client) == ([], [])


def test_what_offline_cannot_answer_is_skipped(sim: Simulator) -> None:
    cache = MemoryCache()
    with make_client(sim, cache) as online:
        online.cabys("4527100000100")
    root = _fe("620100", [("4527100000100", "08", "13.00"), ("8314200000000", "08", "13.00")])
    with make_client(sim, cache, offline=True) as offline:
        warnings, skipped = tarifa_warnings(root, offline)
    assert warnings == []
    assert [s.split(":")[0] for s in skipped] == ["CABYS 8314200000000 (IVA rate)"]


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
