"""Every example voucher of the model area builds, numbers, and passes the XSD and the business rules."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest
from lxml import etree

from cr_einvoice.core.clave import CR_TZ, Clave, Consecutivo
from cr_einvoice.testing.examples import example_json
from cr_einvoice.vouchers.jsonio import document_from_json
from cr_einvoice.vouchers.model import MensajeReceptor
from cr_einvoice.vouchers.rules import check_rules
from cr_einvoice.vouchers.validate import validate_xml
from cr_einvoice.vouchers.xmlwrite import to_xml

KINDS = ["fe", "nd", "nc", "te", "fec", "fee", "rep", "mr"]
# 19:30 in Costa Rica: already the next day in UTC, so a clave dated from UTC would be caught (-405).
WHEN = datetime(2026, 7, 15, 19, 30, 5, tzinfo=CR_TZ)


def _numbered(doc: Any) -> Any:
    consecutivo = Consecutivo(sucursal=1, terminal=1, tipo=doc.tipo, numero=42)
    if isinstance(doc, MensajeReceptor):
        return doc.with_numbering(consecutivo=consecutivo, fecha_emision=WHEN)
    ident = doc.emisor.identificacion
    if doc.tipo.value == "08":  # the FEC is issued by the buyer (open point: which id the clave carries)
        ident = doc.receptor.identificacion
    clave = Clave.build(
        tipo_identificacion=ident.tipo,
        numero_identificacion=ident.numero,
        consecutivo=consecutivo,
        fecha=WHEN,
    )
    return doc.with_numbering(consecutivo=consecutivo, clave=clave, fecha_emision=WHEN)


@pytest.mark.parametrize("kind", KINDS)
def test_example_passes_xsd_and_rules(kind: str) -> None:
    doc = _numbered(document_from_json(example_json(kind)))
    data = to_xml(doc)
    report = validate_xml(data)
    assert report.problems == (), [str(p) for p in report.problems]
    assert report.version == "4.4"
    assert report.tipo == doc.tipo
    root = etree.fromstring(data)
    assert check_rules(root) == []


@pytest.mark.parametrize("kind", ["fe", "te", "nc"])
def test_breaking_an_example_total_is_caught(kind: str) -> None:
    root = etree.fromstring(to_xml(_numbered(document_from_json(example_json(kind)))))
    ns = etree.QName(root).namespace
    total = root.find(f"{{{ns}}}ResumenFactura/{{{ns}}}TotalComprobante")
    assert total is not None and total.text
    total.text = f"{Decimal(total.text) + 1:.5f}"
    assert any(p.path == "ResumenFactura/TotalComprobante" for p in check_rules(root))


@pytest.mark.parametrize("tarifa", ["01", "11"])
def test_fee_zero_rate_export_lines_count_as_exento_in_model_and_rules(tarifa: str) -> None:
    """The FEE summary has no no-sujeto totals: 0 % export lines are reported under the exento totals."""
    data = example_json("fee")
    data["lineas"][0]["impuestos"][0]["codigo_tarifa_iva"] = tarifa
    doc = _numbered(document_from_json(data))
    assert doc.resumen.total_mercancias_exentas == doc.resumen.total_venta > 0
    root = etree.fromstring(to_xml(doc))
    assert check_rules(root) == []
    # Moving the amount out of the exento totals is caught.
    ns = {"f": root.nsmap[None]}
    for name in ("TotalMercanciasExentas", "TotalExento"):
        el = root.find(f"f:ResumenFactura/f:{name}", ns)
        assert el is not None
        el.text = "0.00000"
    paths = {p.path for p in check_rules(root)}
    assert "ResumenFactura/TotalMercanciasExentas" in paths
