"""The PDF writer on its own: what it writes reads back with pypdf, characters the embedded fonts cannot show
are substituted visibly, literal-string delimiters survive, pages keep their size and the information
dictionary its accents."""

from __future__ import annotations

import io

import pytest
from pdf_reading import embedded_fonts, page_sizes, page_texts
from pypdf import PdfReader

from cr_einvoice.delivery.pdfwriter import BOLD, REGULAR, Document, get_font, text_width
from cr_einvoice.delivery.textlayout import measured_lines, wrap_text


def _one_page(*texts: str) -> bytes:
    document = Document(title="Prueba ñandú", author="Autor", subject="Asunto", deterministic=True)
    page = document.page(200, 300)
    for i, text in enumerate(texts):
        page.text(10, 280 - 12 * i, text, font=BOLD if i % 2 else REGULAR, size=8)
    return document.to_bytes()


def test_text_reads_back_with_accents_delimiters_and_substitutions() -> None:
    pdf = _one_page("Canción: ¿año? ¡sí! € — ×", r"paréntesis (a) y barra \ fin", "colón ₡ ő 中")
    lines = page_texts(pdf)[0].splitlines()
    assert lines == ["Canción: ¿año? ¡sí! € — ×", r"paréntesis (a) y barra \ fin", "colón ? o ?"]
    assert embedded_fonts(pdf) and all(embedded_fonts(pdf).values())
    assert page_sizes(pdf) == [(200.0, 300.0)]
    assert PdfReader(io.BytesIO(pdf)).metadata.title == "Prueba ñandú"  # type: ignore[union-attr]


def test_deterministic_output_is_stable_and_the_normal_one_is_dated_and_unique() -> None:
    assert _one_page("uno") == _one_page("uno")
    assert _one_page("uno") != _one_page("dos")
    normal = [Document(title="t", author="a", subject="s") for _ in range(2)]
    for document in normal:
        document.page(100, 100).text(10, 50, "x", font=REGULAR, size=8)
    first, second = (d.to_bytes() for d in normal)
    assert b"/CreationDate (D:" in first and first != second  # the file identifiers differ


def test_widths_come_from_the_fonts_and_scale_with_the_size() -> None:
    assert text_width("", REGULAR, 10) == 0
    assert text_width("MMMM", REGULAR, 10) > text_width("iiii", REGULAR, 10) > 0
    assert text_width("Total", BOLD, 10) > text_width("Total", REGULAR, 10)
    assert abs(text_width("ab", REGULAR, 20) - 2 * text_width("ab", REGULAR, 10)) < 1e-9


def test_a_width_summed_in_c_equals_the_widths_added_one_by_one() -> None:
    for name in (REGULAR, BOLD):
        font = get_font(name)
        for text in ("", "Total comprobante (CRC)", "Canción ¿año? € — × \u00a0", "colón ₡ ő 中 \u2002x"):
            data = font.encode(text)
            assert len(data) == len(text)  # one code a character, substitutes included (wrapping slices)
            assert font.units(data) == sum(font.widths[code] for code in data)
            assert font.width(text, 7.5) == sum(font.widths[code] for code in data) * 7.5 / 1000.0


@pytest.mark.parametrize(
    "text",
    [
        "Dirección: San José (provincia 1, cantón 01, distrito 08), Mata Redonda, Supercalifragilístico",
        " a leading space,  two  spaces and a trailing one ",
        "WWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWW then words after a long one",
        "1\u00a0428\u00a0565,00 held together by no-break spaces, őőő substituted",
        "",
    ],
)
def test_measured_lines_break_as_wrap_text_and_carry_each_line_measured(text: str) -> None:
    font = get_font(REGULAR)
    for width in (5.0, 40.0, 90.0, 200.0, 1000.0):
        lines = measured_lines(text, font, 7.5, width)
        wrapped = wrap_text(text, REGULAR, 7.5, width)
        assert [data for data, _ in lines] == [font.encode(line) for line in wrapped]
        assert [measured for _, measured in lines] == [text_width(line, REGULAR, 7.5) for line in wrapped]
        assert all(measured <= width for data, measured in lines if len(data) > 1)


@pytest.mark.parametrize("isal", [True, False])
def test_page_content_deflates_to_zlib_format_small_and_large(
    isal: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    import zlib

    from cr_einvoice.delivery import pdfwriter

    if not isal:  # without the isal package: zlib
        monkeypatch.setattr(pdfwriter, "_isal_compress", None)
    else:
        assert pdfwriter._isal_compress is not None
    for size in (0, 100, pdfwriter._SMALL - 1, pdfwriter._SMALL, 3 * pdfwriter._SMALL):
        data = (b"BT 1 0 0 1 14.173 -9.15 Tm /F1 7.5 Tf (Total venta) Tj T* ET\n" * (size // 60 + 1))[:size]
        packed = pdfwriter._deflate(data)
        assert zlib.decompress(packed) == data
        assert len(packed) < len(data) // 2 or size < 1000


def test_the_amount_column_is_the_widest_amount_measured_alone(signed: dict[str, bytes]) -> None:
    from cr_einvoice.delivery.document import representacion
    from cr_einvoice.delivery.textlayout import amount_width

    for kind in ("te", "fe", "fe-exo", "rep"):
        view = representacion(signed[kind])
        values = [c.valor for c in (*view.resumen, *view.otros_cargos, view.total)]
        values += [ln.total for ln in view.lineas]
        for size, width in ((7.5, 204.0), (6.2, 40.0), (6.2, 1000.0)):
            widest = max(text_width(v, BOLD, size) for v in values)
            assert amount_width(view, BOLD, size, width) == min(max(widest + 4, width / 4), width / 2)
