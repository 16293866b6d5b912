"""The issuing pipeline generates the XML once: the tree it validates is the tree it signs, and the stored
bytes are exactly what signing the model's own serialisation of the numbered document gives."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from lxml import etree
from outbox_docs import EMISOR_ID, factura, ticket

from cr_einvoice.core.clave import CR_TZ
from cr_einvoice.core.errors import Problem, ValidationError
from cr_einvoice.outbox.issuing import Issuer, IssuerSettings
from cr_einvoice.outbox.store import CounterKey, SQLiteStore
from cr_einvoice.signing.certs import load_p12
from cr_einvoice.signing.xades import Signer, SignerConfig, TrustStore, verify
from cr_einvoice.testing.pki import TestPKI
from cr_einvoice.vouchers.model import Document
from cr_einvoice.vouchers.validate import ValidationReport
from cr_einvoice.vouchers.xmlwrite import to_xml

NOW = dt.datetime.now(CR_TZ).replace(microsecond=0)


@pytest.fixture
def fixed_signer(pki: TestPKI) -> Signer:
    cred = load_p12(str(pki.taxpayer_p12), pki.pin)
    return Signer(cred, SignerConfig(clock=lambda: NOW, id_factory=lambda: "0ne7ree"))


@pytest.mark.parametrize("make", [ticket, factura])
def test_stored_bytes_are_the_signed_serialisation(
    store: SQLiteStore, fixed_signer: Signer, pki: TestPKI, make: Any
) -> None:
    issuer = Issuer(store, fixed_signer, IssuerSettings("02", EMISOR_ID, "X"), clock=lambda: NOW)
    document: Document = make()
    for _ in range(3):
        issued = issuer.issue(document)
        numbered = document.with_numbering(
            consecutivo=issued.consecutivo, clave=issued.clave, fecha_emision=issued.fecha_emision
        )
        expected = fixed_signer.sign(to_xml(numbered))
        assert issued.signed_xml == expected
        assert store.require(issued.key).signed_xml == expected
        verify(expected, TrustStore.from_pem_files(pki.ca_cert_pem), expected_cedula=EMISOR_ID)


def test_the_validated_tree_is_the_signed_one(
    store: SQLiteStore, signer: Signer, monkeypatch: pytest.MonkeyPatch
) -> None:
    issuer = Issuer(store, signer, IssuerSettings("02", EMISOR_ID, "X"))
    seen: list[bytes] = []
    real = issuer._validate_xml

    def spy(root: etree._Element, **options: Any) -> ValidationReport:
        seen.append(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))
        return real(root, **options)

    monkeypatch.setattr(issuer, "_validate_xml", spy)
    issued = issuer.issue(ticket())
    assert len(seen) == 1  # generated and checked once, with the number drawn
    unsigned = seen[0]
    assert issued.signed_xml.startswith(unsigned[: unsigned.rindex(b"</TiqueteElectronico>")])
    assert etree.fromstring(unsigned).findtext("{*}NumeroConsecutivo") == issued.consecutivo


def test_refused_by_the_checks_inside_the_transaction_takes_no_number(
    store: SQLiteStore, signer: Signer, monkeypatch: pytest.MonkeyPatch
) -> None:
    issuer = Issuer(store, signer, IssuerSettings("02", EMISOR_ID, "X"))
    issuer.issue(ticket())
    real = issuer._validate_xml

    # What only the XSD or the rules would see (the model let it through): refused after the number is drawn.
    def refuse(root: etree._Element, **options: Any) -> ValidationReport:
        report = real(root, **options)
        assert report.ok and etree.QName(root).localname == "TiqueteElectronico"
        return ValidationReport(
            problems=(Problem("Clave", "refused for the test", -1),),
            document_type=report.document_type,
            version=report.version,
        )

    monkeypatch.setattr(issuer, "_validate_xml", refuse)
    with pytest.raises(ValidationError, match="refused for the test"):
        issuer.issue(ticket())
    assert store.peek_next_number(CounterKey(EMISOR_ID, 1, 1, "04")) == 2
    assert len(list(store.iter_vouchers())) == 1
