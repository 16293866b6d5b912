"""The simulator's registry: loading (bundled default, a JSON file, clear errors) and the checks at
recepción -- -37 and -407 warn, -408 and -400 reject with Hacienda's texts, exonerations are checked
against their authorisation -- over loopback and as a unit."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from cr_einvoice.core.errors import ConfigError
from cr_einvoice.hacienda.publicdata import PublicDataClient, SlidingWindowLimiter
from cr_einvoice.sandbox import Simulator
from cr_einvoice.sandbox.registry import EXONERACION_RECHAZADA, Registry, registry_findings
from cr_einvoice.vouchers.rules import MESSAGES

_EXO = """<Exoneracion>
                    <TipoDocumentoEX1>04</TipoDocumentoEX1>
                    <NumeroDocumento>{doc}</NumeroDocumento>
                    <NombreInstitucion>01</NombreInstitucion>
                    <FechaEmisionEX>2026-01-10T00:00:00-06:00</FechaEmisionEX>
                    <TarifaExonerada>{tarifa}</TarifaExonerada>
                    <MontoExoneracion>1300.00000</MontoExoneracion>
                </Exoneracion>
                </Impuesto>"""


def _xml(vouchers: Any, **replace: str) -> bytes:
    """The factory's FE (not signed) with text replaced: ``cabys``, ``actividad``, ``distrito``, ``exo``."""
    xml = vouchers.fe_xml().xml.decode()
    if "cabys" in replace:
        xml = xml.replace("<CodigoCABYS>8314100000000", f"<CodigoCABYS>{replace['cabys']}")
    if "actividad" in replace:
        xml = xml.replace("<CodigoActividadEmisor>620100", f"<CodigoActividadEmisor>{replace['actividad']}")
    if "distrito" in replace:
        xml = xml.replace("<Distrito>08</Distrito>", f"<Distrito>{replace['distrito']}</Distrito>", 1)
    if "receptor" in replace:
        xml = xml.replace("<Numero>112345678</Numero>", f"<Numero>{replace['receptor']}</Numero>")
    if "exo" in replace:
        xml = xml.replace("</Impuesto>", replace["exo"], 1)
    return xml.encode()


def _codes(registry: Registry, xml: bytes) -> list[tuple[int | None, bool]]:
    return [(f.code, f.warning) for f in registry_findings(registry, etree.fromstring(xml))]


def _submit(api: Any, vouchers: Any, xml: bytes) -> dict[str, Any]:
    root = etree.fromstring(xml)
    v = vouchers.fe_xml()  # for the request's other fields; its clave and XML are replaced
    v.clave, v.fecha, v.xml = (
        root.findtext("{*}Clave"),
        root.findtext("{*}FechaEmision"),
        vouchers.signer.sign(xml),
    )
    response = api.submit(v, api.token())
    assert response.status_code == 202, response.text
    return dict(api.wait_final(v.clave))


def _detalle(answer: dict[str, Any]) -> str:
    root = etree.fromstring(base64.b64decode(answer["respuesta-xml"]))
    return root.findtext("{*}DetalleMensaje") or ""


def test_the_default_registry_knows_the_factory_voucher(vouchers: Any) -> None:
    assert _codes(Registry.default(), _xml(vouchers)) == []


def test_registry_codes_as_a_unit(vouchers: Any) -> None:
    registry = Registry.default()
    assert _codes(registry, _xml(vouchers, distrito="01")) == [(-37, True)]
    assert _codes(registry, _xml(vouchers, actividad="464901")) == [(-407, True)]  # another's activity
    assert _codes(registry, _xml(vouchers, actividad="999999")) == [(-408, False)]
    assert _codes(registry, _xml(vouchers, cabys="8399999999990")) == [(-400, False)]


@pytest.mark.parametrize(
    ("doc", "cabys", "paths"),
    [
        ("AL-99999999-99", "4527100000100", ["NumeroDocumento"]),  # unknown
        ("AL-00000001-24", "4527100000100", ["NumeroDocumento", "FechaEmisionEX"]),  # expired, other date
        ("AL-00460853-20", "8314100000000", ["NumeroDocumento"]),  # the authorisation lists other CABYS
        ("AL-00460853-20", "4527100000100", []),
    ],
)
def test_exonerations_are_checked_against_their_authorisation(
    vouchers: Any, doc: str, cabys: str, paths: list[str]
) -> None:
    xml = _xml(vouchers, exo=_EXO.format(doc=doc, tarifa="13.00"), cabys=cabys, receptor="3102654321")
    found = registry_findings(Registry.default(), etree.fromstring(xml))
    assert [(f.code, f.warning) for f in found] == [(None, False)] * len(paths)
    assert all(f.message.startswith(EXONERACION_RECHAZADA + ": ") for f in found)
    assert [f.message.split(": ", 1)[1].split()[0] for f in found] == [
        {"NumeroDocumento": "authorisation", "FechaEmisionEX": "FechaEmisionEX"}[p] for p in paths
    ]


def test_rejections_and_warnings_at_recepcion(api: Any, vouchers: Any) -> None:
    rejected = _submit(api, vouchers, _xml(vouchers, cabys="8399999999990", distrito="01"))
    assert rejected["ind-estado"] == "rechazado"
    detalle = _detalle(rejected)
    assert f'-400, ""{MESSAGES[-400].format(n=1)}""' in detalle
    assert f'-37, ""{MESSAGES[-37]}""' in detalle
    warned = _submit(api, vouchers, _xml(vouchers, actividad="464901"))
    assert warned["ind-estado"] == "aceptado"
    assert f'-407, ""{MESSAGES[-407]}""' in _detalle(warned)
    bad_activity = _submit(api, vouchers, _xml(vouchers, actividad="999999"))
    assert bad_activity["ind-estado"] == "rechazado" and "-408" in _detalle(bad_activity)


def test_registry_checks_can_be_switched_off(make_sim: Any, api_for: Any, vouchers: Any) -> None:
    api = api_for(make_sim(registry_checks=False))
    answer = _submit(api, vouchers, _xml(vouchers, cabys="8399999999990"))
    assert answer["ind-estado"] == "aceptado", _detalle(answer)


def test_a_registry_file_feeds_the_public_api_and_the_checks(
    make_sim: Any, api_for: Any, vouchers: Any, tmp_path: Path
) -> None:
    path = tmp_path / "registry.json"
    path.write_text(
        json.dumps(
            {
                "contribuyentes": {
                    "3101123456": {
                        "nombre": "OTRA RAZON SOCIAL S.A.",
                        "tipoIdentificacion": "02",
                        "actividades": [{"estado": "A", "tipo": "P", "codigo": 620100, "descripcion": "X"}],
                        "ubicacion": {"provincia": "1", "canton": "01", "distrito": "08"},
                    }
                },
                "actividades": {"620100": "PROGRAMACION"},
                "cabys": [{"codigo": "8314100000000", "descripcion": "Consultoría", "impuesto": "13"}],
                "tipoCambio": {"USD": {"2020-01-01": {"compra": "570.10", "venta": "576.49"}}},
            }
        )
    )
    sim: Simulator = make_sim(registry=path)
    assert _submit(api_for(sim), vouchers, _xml(vouchers))["ind-estado"] == "aceptado"
    with PublicDataClient(sim.root_url, limiter=SlidingWindowLimiter()) as client:
        assert client.taxpayer("3101123456").nombre == "OTRA RAZON SOCIAL S.A."
        assert str(client.exchange_rate().venta) == "576.49"
        assert str(client.cabys("8314100000000").impuesto) == "13"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"cabys": [{"codigo": "123", "impuesto": 13}]}', r"cabys\[0\]: codigo '123' is not 13 digits"),
        ('{"contribuyentes": {"1": {"tipoIdentificacion": "01"}}}', "contribuyentes.1: nombre is required"),
        ('{"tipoCambio": {"CRC": {}}}', "tipoCambio.CRC"),
        ('{"tipoCambio": {"USD": {"ayer": {"venta": 1}}}}', "not a YYYY-MM-DD date"),
        ('{"cabys": [], "otra": 1}', "unknown sections"),
        ("[1, 2", "registry"),
    ],
)
def test_bad_registry_files_name_the_entry(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "registry.json"
    path.write_text(content)
    with pytest.raises(ConfigError, match=message):
        Registry.load(path)
    with pytest.raises(ConfigError, match="cannot read"):
        Registry.load(tmp_path / "missing.json")
