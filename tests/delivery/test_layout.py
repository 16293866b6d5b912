"""Multi-page invoices, the deterministic mode (golden text dumps), Costa Rican number formatting, the Spanish
names of every code."""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
from datetime import UTC
from decimal import Decimal
from enum import StrEnum
from pathlib import Path

import pytest
from delivery_docs import signed_voucher
from hypothesis import given
from hypothesis import strategies as st
from pdf_reading import decode_qr, page_sizes, page_texts, squeeze

from cr_einvoice.core import catalogs
from cr_einvoice.core.catalogs import TipoDocumento
from cr_einvoice.delivery import labels
from cr_einvoice.delivery.formatting import fecha_hora, fmt_cantidad, fmt_monto, fmt_porcentaje
from cr_einvoice.delivery.pdf import render_pdf
from cr_einvoice.signing.xades import Signer

GOLDEN = Path(__file__).resolve().parent / "golden"


@pytest.fixture(scope="module")
def long_invoice(signer: Signer) -> bytes:
    return signed_voucher("fe", signer, lines=200)


@pytest.mark.parametrize("fmt", ["a4", "letter"])
def test_a_200_line_invoice_repeats_the_header_and_numbers_its_pages(long_invoice: bytes, fmt: str) -> None:
    pdf = render_pdf(long_invoice, format=fmt, deterministic=True)
    pages = page_texts(pdf)
    total = len(pages)
    assert total >= 5
    clave = "50615072600310112345600100001010000000123148213975"
    for number, text in enumerate(pages, start=1):
        flat = squeeze(text)
        assert "FacturaElectrónica" in flat
        assert clave in flat
        assert "Consecutivo:00100001010000000123" in flat
        assert f"Página {number} de {total}" in text
        assert "MH-DGT-RES-0027-2024" in flat
        if number < total:  # every page the lines run over repeats the column headings
            assert "CABYS" in text and "Total línea" in text
    every = squeeze("\n".join(pages))
    for i in (1, 57, 123, 200):
        assert squeeze(f"Artículo número {i}:") in every
    assert "Artículo número 201" not in every
    assert "Totalcomprobante(CRC)" in squeeze(pages[-1])
    assert decode_qr(pdf) == [clave]


def test_a_long_ticket_continues_on_numbered_pages(signer: Signer) -> None:
    pdf = render_pdf(signed_voucher("fe", signer, lines=400), format="58mm", deterministic=True)
    pages = page_texts(pdf)
    assert len(pages) >= 2
    for number, text in enumerate(pages, start=1):
        assert f"Página {number} de {len(pages)}" in text
    assert squeeze("Artículo número 400:") in squeeze("\n".join(pages))
    assert all(height <= 14400 for _, height in page_sizes(pdf))
    assert decode_qr(pdf, page=len(pages) - 1) == ["50615072600310112345600100001010000000123148213975"]


def _dump(pdf: bytes) -> str:
    pages = page_texts(pdf)
    return "".join(f"=== página {i} ===\n{text.strip()}\n" for i, text in enumerate(pages, start=1))


@pytest.mark.parametrize(
    ("kind", "fmt"), [("fe", "a4"), ("te", "80mm"), ("mr-rechazo", "58mm"), ("rep", "letter")]
)
def test_deterministic_output_matches_the_golden_text(signed: dict[str, bytes], kind: str, fmt: str) -> None:
    first = render_pdf(signed[kind], format=fmt, deterministic=True, estado="aceptado")
    assert render_pdf(signed[kind], format=fmt, deterministic=True, estado="aceptado") == first
    golden = GOLDEN / f"{kind}-{fmt}.txt"
    assert golden.is_file(), f"missing golden file {golden}"
    assert _dump(first) == golden.read_text(encoding="utf-8")


def test_deterministic_bytes_are_the_same_in_another_process(
    signed: dict[str, bytes], tmp_path: Path
) -> None:
    source = tmp_path / "te.xml"
    source.write_bytes(signed["te"])
    script = (
        "import hashlib, sys\n"
        "from cr_einvoice.delivery.pdf import render_pdf\n"
        "data = open(sys.argv[1], 'rb').read()\n"
        "print(hashlib.sha256(render_pdf(data, format='80mm', deterministic=True)).hexdigest())\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script, str(source)], capture_output=True, text=True, check=True, timeout=120
    )
    here = hashlib.sha256(render_pdf(signed["te"], format="80mm", deterministic=True)).hexdigest()
    assert out.stdout.strip() == here


def test_costa_rican_number_formatting() -> None:
    nbsp = "\u00a0"
    assert fmt_monto(Decimal("1428565.00000")) == f"1{nbsp}428{nbsp}565,00"
    assert fmt_monto(Decimal("36390.18515")) == f"36{nbsp}390,18515"  # never rounded
    assert fmt_monto(Decimal("0")) == "0,00"
    assert fmt_monto(Decimal("999.5")) == "999,50"
    assert fmt_monto(Decimal("-1234.5")) == f"-1{nbsp}234,50"
    assert fmt_cantidad(Decimal("2.000")) == "2"
    assert fmt_cantidad(Decimal("4140")) == f"4{nbsp}140"
    assert fmt_cantidad(Decimal("0.125")) == "0,125"
    assert fmt_porcentaje(Decimal("13.00")) == f"13{nbsp}%"
    assert fmt_porcentaje(Decimal("0.5")) == f"0,5{nbsp}%"
    from datetime import datetime

    # 01:30 UTC on 16 July is still 15 July in Costa Rica
    assert fecha_hora(datetime(2026, 7, 16, 1, 30, tzinfo=UTC)) == "15/07/2026 19:30:00"
    assert fmt_monto(Decimal("1E+3")) == f"1{nbsp}000,00"
    assert fmt_monto(Decimal("-0.00")) == "-0,00"


@given(
    st.decimals(allow_nan=False, allow_infinity=False, min_value=-(10**16), max_value=10**16, places=None),
    st.sampled_from([fmt_monto, fmt_cantidad]),
)
def test_printed_numbers_read_back_exactly_and_group_digits_in_threes(value: Decimal, fmt: object) -> None:
    assert callable(fmt)
    text = fmt(value)
    whole, comma, frac = text.partition(",")
    assert re.fullmatch(r"-?\d{1,3}(\u00a0\d{3})*", whole), text
    assert (len(frac) >= 2) if fmt is fmt_monto else (frac != "" or comma == "")
    assert len(frac) <= 2 or not frac.endswith("0"), text  # no trailing zeros beyond the minimum
    assert Decimal(text.replace("\u00a0", "").replace(",", ".")) == value


DESCRIBED = (
    catalogs.TipoIdentificacion,
    catalogs.Situacion,
    catalogs.CondicionVenta,
    catalogs.TipoMedioPago,
    catalogs.CodigoImpuesto,
    catalogs.CodigoTarifaIVA,
    catalogs.CodigoReferencia,
    catalogs.TipoDocReferencia,
    catalogs.CodigoDescuento,
    catalogs.TipoDocumentoOtrosCargos,
    catalogs.TipoDocumentoExoneracion,
    catalogs.InstitucionExoneracion,
    catalogs.IVACobradoFabrica,
    catalogs.TipoTransaccion,
    catalogs.TipoCodigoComercial,
    catalogs.CondicionImpuesto,
    catalogs.Mensaje,
)


@pytest.mark.parametrize("enum", DESCRIBED, ids=lambda e: e.__name__)
def test_every_code_has_a_spanish_name(enum: type[StrEnum]) -> None:
    for member in enum:
        text = labels.describe(member)
        assert text.startswith(member.value + " ") and len(text) > len(member.value) + 2, member


def test_every_document_type_has_a_title_and_every_tax_a_short_name() -> None:
    assert {labels.titulo(t) for t in TipoDocumento} and all(labels.titulo(t) for t in TipoDocumento)
    assert all(labels.impuesto_corto(c) for c in catalogs.CodigoImpuesto)


def test_wrapping_keeps_figures_whole_and_cuts_only_overlong_words() -> None:
    from cr_einvoice.delivery.pdfwriter import REGULAR
    from cr_einvoice.delivery.textlayout import wrap_text

    nbsp = "\u00a0"
    amount = f"IVA 01/08 13{nbsp}%: 1{nbsp}041{nbsp}295,00"
    lines = wrap_text(amount, REGULAR, 7, 60)
    assert f"1{nbsp}041{nbsp}295,00" in lines[-1] and len(lines) >= 2
    assert wrap_text("corto", REGULAR, 7, 200) == ["corto"]
    long = wrap_text("cuentasporpagar@lasabana.example.cr", REGULAR, 7, 40)
    assert "".join(long) == "cuentasporpagar@lasabana.example.cr" and len(long) > 1


def test_renders_in_parallel_threads_equal_the_sequential_ones(signed: dict[str, bytes]) -> None:
    """The service and the worker render from several threads at once: the shared fonts must not mix."""
    from concurrent.futures import ThreadPoolExecutor

    jobs = [(kind, fmt) for kind in ("fe", "te", "mr", "rep") for fmt in ("a4", "58mm")] * 2
    expected = {job: render_pdf(signed[job[0]], format=job[1], deterministic=True) for job in set(jobs)}
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda j: render_pdf(signed[j[0]], format=j[1], deterministic=True), jobs))
    assert [r == expected[j] for r, j in zip(results, jobs, strict=True)] == [True] * len(jobs)
