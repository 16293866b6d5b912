"""Fixtures for the model/XML tests: the OFFICIAL v4.4 XSDs loaded with lxml, network disabled."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from pathlib import Path

import pytest
from lxml import etree

DS = "http://www.w3.org/2000/09/xmldsig#"


@cache
def _schema(path: str) -> etree.XMLSchema:
    parser = etree.XMLParser(no_network=True, load_dtd=False, resolve_entities=False)
    return etree.XMLSchema(etree.parse(path, parser))


def with_dummy_signature(root: etree._Element) -> etree._Element:
    """A copy of ``root`` with a structurally valid ds:Signature appended: the published schemas require one
    and the signer (another area) appends the real signature to our bytes."""
    copy = etree.fromstring(etree.tostring(root))
    sig = etree.SubElement(copy, f"{{{DS}}}Signature", nsmap={"ds": DS})
    info = etree.SubElement(sig, f"{{{DS}}}SignedInfo")
    etree.SubElement(
        info, f"{{{DS}}}CanonicalizationMethod", Algorithm="http://www.w3.org/TR/2001/REC-xml-c14n-20010315"
    )
    etree.SubElement(
        info, f"{{{DS}}}SignatureMethod", Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
    )
    ref = etree.SubElement(info, f"{{{DS}}}Reference", URI="")
    etree.SubElement(ref, f"{{{DS}}}DigestMethod", Algorithm="http://www.w3.org/2001/04/xmlenc#sha256")
    etree.SubElement(ref, f"{{{DS}}}DigestValue").text = "AAAA"
    etree.SubElement(sig, f"{{{DS}}}SignatureValue").text = "AAAA"
    return copy


XsdErrors = Callable[[bytes], list[str]]


@pytest.fixture(scope="session")
def xsd_errors(schemas_dir: Path) -> XsdErrors:
    """``xsd_errors(xml_bytes)`` validates against the official v4.4 XSD of the root element (with a dummy
    signature appended) and returns the error messages (empty when valid)."""

    def check(data: bytes) -> list[str]:
        root = etree.fromstring(data)
        name = etree.QName(root).localname
        path = schemas_dir / "2024" / "v4.4" / f"{name}_V4.4.xsd"
        schema = _schema(str(path))
        if schema.validate(with_dummy_signature(root)):
            return []
        return [f"{e.line}: {e.message}" for e in schema.error_log]

    return check


Numberer = Callable[..., object]


@pytest.fixture
def numbered() -> Callable[..., object]:
    """``numbered(doc, numero=1)``: the document numbered with a real Consecutivo/Clave of its emisor."""
    from cr_einvoice.core.clave import Clave, Consecutivo, cr_now
    from cr_einvoice.vouchers.model import MensajeReceptor

    def number(doc: object, numero: int = 1, fecha: object = None) -> object:
        when = fecha if fecha is not None else cr_now()
        cons = Consecutivo(sucursal=1, terminal=1, tipo=doc.tipo, numero=numero)  # type: ignore[attr-defined]
        if isinstance(doc, MensajeReceptor):
            return doc.with_numbering(consecutivo=cons, fecha_emision=when)
        ident = doc.emisor.identificacion  # type: ignore[attr-defined]
        if doc.tipo.value == "08":  # type: ignore[attr-defined]
            ident = doc.receptor.identificacion  # type: ignore[attr-defined]
        clave = Clave.build(
            tipo_identificacion=ident.tipo, numero_identificacion=ident.numero, consecutivo=cons, fecha=when
        )
        return doc.with_numbering(consecutivo=cons, clave=clave, fecha_emision=when)  # type: ignore[attr-defined]

    return number
