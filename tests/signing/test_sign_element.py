"""Signer.sign_element: a tree built in this process signed without a re-parse, byte for byte what
Signer.sign returns for the tree's serialisation, the caller's tree left as it was."""

from __future__ import annotations

import datetime as dt

import pytest
from lxml import etree

from cr_einvoice.core.errors import SignatureError
from cr_einvoice.signing.certs import Credential
from cr_einvoice.signing.xades import SignatureProfile, Signer, SignerConfig, verify

NS = "https://cdn.comprobanteselectronicos.go.cr/xml-schemas/v4.4/facturaElectronica"
WHEN = dt.datetime.now(dt.UTC).replace(microsecond=0)  # one signing time for both signatures


def fixed(cred: Credential, profile: SignatureProfile = SignatureProfile.EMISOR_V44) -> Signer:
    return Signer(cred, SignerConfig(profile=profile, clock=lambda: WHEN, id_factory=lambda: "f1xed"))


def serialised(root: etree._Element) -> bytes:
    return etree.tostring(root.getroottree(), xml_declaration=True, encoding="UTF-8")


def test_same_bytes_as_signing_the_serialisation(cred: Credential, invoice: bytes) -> None:
    root = etree.fromstring(invoice)
    signer = fixed(cred)
    before = serialised(root)
    signed = signer.sign_element(root)
    assert signed == signer.sign(before)
    assert signed.startswith(before[: before.rindex(b"</FacturaElectronica>")])
    assert serialised(root) == before  # the caller's tree is unchanged
    assert verify(signed).signer_cedula == "3101123456"


def test_tree_built_in_memory(cred: Credential) -> None:
    root = etree.Element(f"{{{NS}}}FacturaElectronica", nsmap={None: NS})  # type: ignore[dict-item]
    for name, text in (("Clave", "5" * 50), ("Detalle", 'Café & <té> "1"')):
        etree.SubElement(root, f"{{{NS}}}{name}").text = text
    signer = fixed(cred)
    signed = signer.sign_element(root)
    assert signed == signer.sign(serialised(root))
    verify(signed)
    assert len(root) == 2


@pytest.mark.parametrize(
    "markup",
    [
        # a comment and an attribute: the canonical form comes from libxml2, not from the bytes
        f'<FacturaElectronica xmlns="{NS}"><a b="1">x</a><!-- c --></FacturaElectronica>',
        # an empty root: the signature goes in through lxml (the tree must come back as it was)
        f'<FacturaElectronica xmlns="{NS}"/>',
    ],
)
def test_unusual_layouts(cred: Credential, markup: str) -> None:
    root = etree.fromstring(markup.encode())
    before = serialised(root)
    signer = fixed(cred)
    signed = signer.sign_element(root)
    assert signed == signer.sign(before)
    assert serialised(root) == before
    verify(signed)


def test_hacienda_response_profile(sello_cred: Credential, invoice: bytes) -> None:
    root = etree.fromstring(invoice)
    signer = fixed(sello_cred, SignatureProfile.HACIENDA_RESPONSE)
    assert signer.sign_element(root) == signer.sign(serialised(root))


def test_refusals(signer: Signer, invoice: bytes) -> None:
    root = etree.fromstring(invoice)
    with pytest.raises(SignatureError, match="root element"):
        signer.sign_element(root[0])
    with pytest.raises(TypeError):
        signer.sign_element(invoice)  # type: ignore[arg-type]
    parser = etree.XMLParser(resolve_entities=False, load_dtd=False, no_network=True)
    with_doctype = etree.fromstring(b"<!DOCTYPE a [<!ENTITY e 'x'>]><a>&e;</a>", parser)
    with pytest.raises(SignatureError, match="DOCTYPE"):
        signer.sign_element(with_doctype)
