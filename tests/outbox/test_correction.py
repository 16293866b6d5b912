"""build_correction: the NC/ND that corrects an issued voucher, valid and issuable."""

from __future__ import annotations

import copy

import pytest
from lxml import etree
from outbox_docs import factura

from cr_einvoice.core.errors import ValidationError
from cr_einvoice.outbox.issuing import Issuer, build_correction
from cr_einvoice.outbox.store import SQLiteStore, VoucherState
from cr_einvoice.testing.examples import example_json
from cr_einvoice.vouchers.jsonio import document_from_json
from cr_einvoice.vouchers.model import NotaCredito, NotaDebito


def test_full_annulment_repeats_every_line_and_references_the_original(issuer: Issuer) -> None:
    original = issuer.issue(factura())
    note = build_correction(original.record)
    assert isinstance(note, NotaCredito)
    [ref] = note.referencias
    assert (ref.tipo_doc_ir.value, ref.numero, ref.codigo and ref.codigo.value) == (
        "01",
        original.clave,
        "01",
    )
    assert ref.fecha_emision_ir == original.fecha_emision
    assert f"{note.resumen.total_comprobante:f}" == original.record.total_comprobante


def test_partial_return_and_debit_note_are_issuable(issuer: Issuer, store: SQLiteStore) -> None:
    original = issuer.issue(factura())
    first_line = factura().lineas[0]
    credit = issuer.issue(
        build_correction(original.record, codigo="06", razon="Devolución de mercadería", lineas=[first_line])
    )
    assert credit.tipo == "03"
    root = etree.fromstring(credit.signed_xml)
    assert root.findtext("{*}InformacionReferencia/{*}Codigo") == "06"
    assert len(root.findall("{*}DetalleServicio/{*}LineaDetalle")) == 1
    debit = build_correction(original.record, kind="debit", codigo="02", razon="Corrige monto facturado")
    assert isinstance(debit, NotaDebito)
    assert issuer.issue(debit).tipo == "02"


def test_a_rejected_voucher_can_be_noted_too(issuer: Issuer, store: SQLiteStore) -> None:
    original = issuer.issue(factura())
    store.transition(original.key, VoucherState.SENDING)
    store.transition(original.key, VoucherState.REJECTED, error="[-52] totales")
    note = build_correction(store.require(original.key), razon="Anula comprobante rechazado")
    assert note.referencias[0].numero == original.clave


def test_factura_compra_is_refused_with_the_reference_types_to_use(issuer: Issuer) -> None:
    fec = issuer.issue(document_from_json(copy.deepcopy(example_json("fec"))))
    with pytest.raises(ValidationError, match="TipoDocIR 17"):
        build_correction(fec.record)


def test_bad_arguments_name_the_field(issuer: Issuer) -> None:
    original = issuer.issue(factura())
    with pytest.raises(ValidationError, match="kind"):
        build_correction(original.record, kind="refund")
    with pytest.raises(ValidationError, match="codigo"):
        build_correction(original.record, codigo="42")
