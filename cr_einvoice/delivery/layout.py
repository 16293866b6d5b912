"""What the page and roll layouts share: the embedded fonts, the text styles and the blocks built from a
:class:`~cr_einvoice.delivery.document.Representacion` (parties, conditions, summary, references, Hacienda's
state), and the canvas that numbers the pages ("Página N de M").

Fonts: Bitstream Vera Sans and Vera Sans Bold, the TrueType fonts reportlab ships (Bitstream Vera licence,
free to embed); they hold every Spanish letter (á é í ó ú ñ ü ¿ ¡ and capitals). They are embedded as
subsets, so the PDF shows the accents on any viewer or printer.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape

import reportlab
from reportlab import rl_config
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_RIGHT
from reportlab.lib.styles import ParagraphStyle
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable, Paragraph, Spacer, Table, TableStyle

from cr_einvoice.delivery.document import Campo, Parte, Representacion
from cr_einvoice.delivery.pdfwriter import BOLD, REGULAR
from cr_einvoice.delivery.textlayout import amount_width, document_info, hacienda_lines, wrap_text

__all__ = [
    "BOLD",
    "REGULAR",
    "NumberedCanvas",
    "Styles",
    "amount_width",
    "campos_table",
    "hacienda_block",
    "hacienda_lines",
    "metadata",
    "otros_cargos_table",
    "p",
    "parte_flowables",
    "register_fonts",
    "resumen_table",
    "spacer",
    "table_style",
    "text_block",
    "wrap_text",
]

_FONTS = {REGULAR: "Vera.ttf", BOLD: "VeraBd.ttf"}
GRID = colors.Color(0.55, 0.55, 0.55)
SHADE = colors.Color(0.92, 0.92, 0.92)


@functools.cache
def register_fonts() -> None:
    """Register the embedded fonts (once per process), and write binary streams: reportlab's default
    ASCII85 encoding of them only makes the file larger and slower to write."""
    rl_config.useA85 = 0
    folder = os.path.join(os.path.dirname(reportlab.__file__), "fonts")
    for name, file in _FONTS.items():
        pdfmetrics.registerFont(TTFont(name, os.path.join(folder, file)))
    pdfmetrics.registerFontFamily(REGULAR, normal=REGULAR, bold=BOLD, italic=REGULAR, boldItalic=BOLD)


@dataclass(frozen=True, slots=True)
class Styles:
    """The paragraph styles of one layout, scaled from a base font size."""

    normal: ParagraphStyle
    small: ParagraphStyle
    bold: ParagraphStyle
    right: ParagraphStyle
    right_bold: ParagraphStyle
    center: ParagraphStyle
    title: ParagraphStyle
    heading: ParagraphStyle

    @classmethod
    def of(cls, size: float) -> Styles:
        lead = size * 1.22

        def style(name: str, **kw: Any) -> ParagraphStyle:
            base: dict[str, Any] = {"fontName": REGULAR, "fontSize": size, "leading": lead}
            return ParagraphStyle(name, **(base | kw))

        return cls(
            normal=style("normal"),
            small=style(
                "small", fontSize=size * 0.86, leading=size * 1.05, textColor=colors.Color(0.2, 0.2, 0.2)
            ),
            bold=style("bold", fontName=BOLD),
            right=style("right", alignment=TA_RIGHT),
            right_bold=style("right_bold", fontName=BOLD, alignment=TA_RIGHT),
            center=style("center", alignment=TA_CENTER),
            title=style("title", fontName=BOLD, fontSize=size * 1.6, leading=size * 1.9),
            heading=style(
                "heading", fontName=BOLD, fontSize=size * 1.1, leading=size * 1.4, spaceBefore=size * 0.6
            ),
        )


def p(text: str, style: ParagraphStyle) -> Paragraph:
    """A paragraph of plain text (escaped: the voucher's texts are data, not markup)."""
    return Paragraph(escape(text), style)


def _label(campo: Campo) -> str:
    return f"<b>{escape(campo.etiqueta)}:</b> {escape(campo.valor)}"


def parte_flowables(parte: Parte, styles: Styles) -> list[Flowable]:
    """A party block: role heading, name in bold, one line per detail."""
    out: list[Flowable] = [p(parte.rol, styles.heading)]
    if parte.nombre:
        out.append(p(parte.nombre, styles.bold))
    out += [Paragraph(_label(c), styles.normal) for c in parte.campos]
    return out


def campos_table(campos: Sequence[Campo], styles: Styles, width: float, columns: int = 2) -> Table:
    """Labelled values in ``columns`` columns, read row by row."""
    cells: list[Any] = [Paragraph(_label(c), styles.normal) for c in campos]
    rows = [cells[i : i + columns] for i in range(0, len(cells), columns)]
    if rows and len(rows[-1]) < columns:
        rows[-1] += [""] * (columns - len(rows[-1]))
    table = Table(rows or [[""]], colWidths=[width / columns] * columns)
    table.setStyle(_PLAIN)
    return table


def table_style(commands: Sequence[tuple[Any, ...]]) -> TableStyle:
    """A table style whose cells use the embedded font (a table's default is a standard, unembedded one,
    which reportlab would reference for an empty cell)."""
    return TableStyle([("FONTNAME", (0, 0), (-1, -1), REGULAR), *commands])


_PLAIN = table_style(
    [
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 0),
        ("RIGHTPADDING", (0, 0), (-1, -1), 3),
        ("TOPPADDING", (0, 0), (-1, -1), 0.5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 0.5),
    ]
)


def resumen_table(view: Representacion, styles: Styles, widths: tuple[float, float]) -> Table:
    """The ResumenFactura as label / amount rows, the total last in bold on a shaded row."""
    rows: list[list[Any]] = [[p(c.etiqueta, styles.normal), p(c.valor, styles.right)] for c in view.resumen]
    rows.append([p(view.total.etiqueta, styles.bold), p(view.total.valor, styles.right_bold)])
    table = Table(rows, colWidths=list(widths), hAlign="RIGHT")
    table.setStyle(
        table_style(
            [
                *_PLAIN.getCommands(),
                ("LINEABOVE", (0, -1), (-1, -1), 0.8, colors.black),
                ("BACKGROUND", (0, -1), (-1, -1), SHADE),
                ("TOPPADDING", (0, -1), (-1, -1), 2),
                ("BOTTOMPADDING", (0, -1), (-1, -1), 2),
            ]
        )
    )
    return table


def otros_cargos_table(view: Representacion, styles: Styles, widths: tuple[float, float]) -> list[Flowable]:
    if not view.otros_cargos:
        return []
    rows = [[p(c.etiqueta, styles.normal), p(c.valor, styles.right)] for c in view.otros_cargos]
    table = Table(rows, colWidths=list(widths))
    table.setStyle(_PLAIN)
    return [p("Otros cargos", styles.heading), table]


def text_block(title: str, lines: Iterable[str], styles: Styles) -> list[Flowable]:
    """A heading and one paragraph per line (nothing when there are no lines)."""
    items = [p(line, styles.normal) for line in lines]
    return [p(title, styles.heading), *items] if items else []


def hacienda_block(view: Representacion, styles: Styles) -> list[Flowable]:
    """Hacienda's state and the findings of its answer under their heading, when known."""
    return text_block("Estado en el Ministerio de Hacienda", hacienda_lines(view), styles)


def metadata(view: Representacion) -> dict[str, Any]:
    """The document template's options: the PDF's information (title, author, subject, creator) and the
    initial font."""
    return {
        **document_info(view),
        "creator": "cr-einvoice",
        "producer": "cr-einvoice",
        "lang": "es-CR",
        # the page's initial font too: otherwise a standard font that is never embedded is referenced
        "initialFontName": REGULAR,
    }


def spacer(height: float) -> Spacer:
    return Spacer(1, height)


class NumberedCanvas(Canvas):
    """A canvas that keeps every page until the end, so each can say "Página N de M"; ``footer(canvas,
    page, total)`` draws the footer of a page once the total is known."""

    def __init__(self, *args: Any, footer: Callable[[Canvas, int, int], None], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._footer = footer
        self._saved: list[dict[str, Any]] = []

    def showPage(self) -> None:  # noqa: N802 (reportlab's name)
        self._saved.append(dict(self.__dict__))
        self._startPage()  # type: ignore[attr-defined]

    def save(self) -> None:
        total = len(self._saved)
        for number, state in enumerate(self._saved, start=1):
            self.__dict__.update(state)
            self._footer(self, number, total)
            super().showPage()
        super().save()
