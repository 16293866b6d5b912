"""Numbering a checked document checks only its numbering; the text writer gives lxml's bytes."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from typing import Any

import pytest
from lxml import etree

from cr_einvoice.core.catalogs import TipoDocumento
from cr_einvoice.core.checks import reading_received
from cr_einvoice.core.clave import CR_TZ, Clave, Consecutivo
from cr_einvoice.core.errors import ValidationError
from cr_einvoice.testing.examples import EXAMPLE_KINDS, example_json
from cr_einvoice.vouchers.jsonio import document_from_json
from cr_einvoice.vouchers.model import Comprobante, Tiquete
from cr_einvoice.vouchers.xmlread import from_xml
from cr_einvoice.vouchers.xmlwrite import to_element, to_xml

WHEN = datetime(2026, 12, 7, 9, 30, tzinfo=CR_TZ)


def _numbering(doc: Comprobante, numero: int = 5, when: datetime = WHEN) -> dict[str, object]:
    cons = Consecutivo(sucursal=1, terminal=1, tipo=doc.tipo, numero=numero)
    party = doc.receptor if doc.tipo is TipoDocumento.FACTURA_COMPRA else doc.emisor
    assert party is not None and party.identificacion is not None
    ident = party.identificacion
    clave = Clave.build(
        tipo_identificacion=ident.tipo, numero_identificacion=ident.numero, consecutivo=cons, fecha=when
    )
    return {"consecutivo": cons, "clave": clave, "fecha_emision": when}


def _ticket() -> Tiquete:
    doc = document_from_json(example_json("te"))
    assert isinstance(doc, Tiquete)
    return doc


def test_numbered_copy_equals_a_full_construction() -> None:
    doc = _ticket()
    numbered = doc.with_numbering(**_numbering(doc))  # type: ignore[arg-type]
    rebuilt = dataclasses.replace(doc, **_numbered_fields(numbered))
    assert numbered == rebuilt
    assert numbered.resumen == rebuilt.resumen and numbered.fecha_emision == WHEN
    assert doc.clave is None  # the original is untouched


def _numbered_fields(doc: Comprobante) -> dict[str, Any]:
    return {
        "clave": doc.clave,
        "numero_consecutivo": doc.numero_consecutivo,
        "fecha_emision": doc.fecha_emision,
    }


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"consecutivo": "00100001010000000005"}, "numero_consecutivo"),  # a factura's number on a tiquete
        ({"fecha_emision": WHEN + timedelta(days=1)}, "clave"),  # the clave carries another date
        ({"clave": "5" * 50}, "clave[0:3] pais"),  # not a clave at all
        ({"consecutivo": "12"}, "numero_consecutivo"),
    ],
)
def test_numbering_problems_are_still_found(change: dict[str, object], path: str) -> None:
    doc = _ticket()
    values = _numbering(doc) | change
    with pytest.raises(ValidationError) as info:
        doc.with_numbering(**values)  # type: ignore[arg-type]
    assert path in [p.path for p in info.value.problems]


def test_a_clave_of_another_taxpayer_is_refused() -> None:
    doc = _ticket()
    cons = Consecutivo(sucursal=1, terminal=1, tipo=TipoDocumento.TIQUETE, numero=5)
    other = Clave.build(
        tipo_identificacion="02", numero_identificacion="3101999999", consecutivo=cons, fecha=WHEN
    )
    with pytest.raises(ValidationError) as info:
        doc.with_numbering(consecutivo=cons, clave=other, fecha_emision=WHEN)
    assert [p.path for p in info.value.problems] == ["clave"]


def test_a_leniently_built_document_is_checked_whole_when_numbered() -> None:
    """A document read leniently (a received one) gets every strict check again when numbered."""
    data = example_json("te")
    data["proveedor_sistemas"] = "x" * 40  # over the 20 characters Hacienda allows
    with reading_received():
        doc = document_from_json(data)
    assert isinstance(doc, Tiquete)
    with pytest.raises(ValidationError) as info:
        doc.with_numbering(**_numbering(doc))  # type: ignore[arg-type]
    assert "proveedor_sistemas" in [p.path for p in info.value.problems]


@pytest.mark.parametrize("kind", [k for k in EXAMPLE_KINDS if k != "mr"])
def test_written_bytes_are_lxmls_serialisation_of_the_tree(kind: str) -> None:
    data = example_json(kind)
    data["emisor"]["nombre"] = "Hermanos & Cía. <Ltda> \"x\" 'y'"
    doc = document_from_json(data)
    assert isinstance(doc, Comprobante | type(doc))
    numbered = doc.with_numbering(**_numbering(doc))  # type: ignore[arg-type]
    written = to_xml(numbered)
    assert written.startswith(b"<?xml version='1.0' encoding='UTF-8'?>\n<")
    assert (
        etree.tostring(to_element(numbered).getroottree(), xml_declaration=True, encoding="UTF-8") == written
    )
    assert b"Hermanos &amp; C\xc3\xada. &lt;Ltda&gt; \"x\" 'y'" in written
    # what is read back is what was written
    back = from_xml(written)
    assert back.emisor.nombre == data["emisor"]["nombre"]  # type: ignore[union-attr]


def test_attributes_and_carriage_returns_are_escaped_as_lxml_does() -> None:
    data = example_json("fe")
    data["otros"] = {"otros_textos": [{"valor": "a\r\nb & c", "codigo": 'q"&<\n\t'}, {"valor": "sin código"}]}
    doc = document_from_json(data)
    written = to_xml(doc.with_numbering(**_numbering(doc)))  # type: ignore[arg-type]
    assert b'<OtroTexto codigo="q&quot;&amp;&lt;&#10;&#9;">a&#13;\nb &amp; c</OtroTexto>' in written
    assert "<OtroTexto>sin código</OtroTexto>".encode() in written
    root = etree.fromstring(written)
    assert etree.tostring(root.getroottree(), xml_declaration=True, encoding="UTF-8") == written


@pytest.mark.parametrize("bad", ["\x00", "\x0b", "\x1f", "\ufffe", "\ud800"])
def test_text_xml_cannot_carry_is_refused_naming_the_element(bad: str) -> None:
    data = example_json("te")
    data["lineas"][0]["detalle"] = f"Café{bad}"
    doc = document_from_json(data)
    with pytest.raises(ValidationError) as info:
        to_xml(doc.with_numbering(**_numbering(doc)))  # type: ignore[arg-type]
    assert [p.path for p in info.value.problems] == ["Detalle"]


def test_numbering_objects_are_checked_as_their_text_is() -> None:
    """Consecutivo and Clave objects (what the issuing pipeline passes) are not parsed again, but the same
    disagreements are found as in their digit strings."""
    doc = _ticket()
    right = _numbering(doc)
    other = _numbering(doc, numero=6)
    factura = Consecutivo(sucursal=1, terminal=1, tipo=TipoDocumento.FACTURA_ELECTRONICA, numero=5)
    cases = [
        ({"clave": other["clave"]}, ["clave"]),  # the clave of another number
        ({"fecha_emision": WHEN + timedelta(days=1)}, ["clave"]),  # the clave of another day
        ({"consecutivo": factura}, ["numero_consecutivo", "clave"]),
    ]
    for change, paths in cases:
        for as_text in (False, True):
            values = right | change
            if as_text:
                values = values | {"consecutivo": str(values["consecutivo"]), "clave": str(values["clave"])}
            with pytest.raises(ValidationError) as info:
                doc.with_numbering(**values)  # type: ignore[arg-type]
            assert [p.path for p in info.value.problems] == paths, (change, as_text)
    numbered = doc.with_numbering(**right)  # type: ignore[arg-type]
    assert numbered.clave == str(right["clave"]) and numbered.numero_consecutivo == str(right["consecutivo"])
