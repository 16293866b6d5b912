"""The page layout (A4, Letter): the header every page repeats, the footer, and the body's blocks."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from reportlab.lib import colors
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable, KeepTogether, Paragraph, Table

from cr_einvoice.delivery import layout
from cr_einvoice.delivery.document import Representacion
from cr_einvoice.delivery.layout import Styles, p, table_style
from cr_einvoice.delivery.qr import QRCode

__all__ = ["Decor", "body"]

_QR_SIZE = 32 * mm
_PAD = 2.0
#: Fixed widths of the line table's columns (mm); the detail takes what remains.
_COLUMNS: tuple[tuple[str, float | None, bool], ...] = (
    ("#", 6, False),
    ("CABYS", 24, False),
    ("Detalle", None, False),
    ("Cant.", 13, True),
    ("Unid.", 10, False),
    ("Precio unitario", 21, True),
    ("Desc.", 18, True),
    ("Impuesto (código, tarifa, monto)", 30, False),
    ("Total línea", 22, True),
)


def _header(view: Representacion, styles: Styles, width: float) -> Table:
    left = [
        p(view.titulo, styles.title),
        p(f"Versión {view.version} · {view.emisor.nombre}".rstrip(" ·"), styles.normal),
    ]
    right = [
        Paragraph(f"<b>{view.clave_etiqueta}:</b> {view.clave}", styles.right),
        Paragraph(f"<b>Consecutivo:</b> {view.consecutivo}", styles.right),
        Paragraph(f"<b>Fecha de emisión:</b> {view.fecha_emision} (hora de Costa Rica)", styles.right),
        Paragraph(f"<b>Situación:</b> {view.situacion}", styles.right),
    ]
    table = Table([[left, right]], colWidths=[width * 0.42, width * 0.58])
    table.setStyle(
        table_style(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("RIGHTPADDING", (0, 0), (-1, -1), 0),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
                ("LINEBELOW", (0, 0), (-1, -1), 1, colors.black),
            ]
        )
    )
    return table


class Decor:
    """What every page draws around the body: the header (``onPage``; laid out once, drawn on each page)
    and the footer (once the number of pages is known)."""

    def __init__(self, view: Representacion, styles: Styles, margin: float, width: float) -> None:
        self.view = view
        self.margin = margin
        self.width = width
        self.table = _header(view, styles, width)
        _, height = self.table.wrap(width, 1000)
        self.height = float(height)

    @property
    def room(self) -> float:
        """The room the repeated header takes at the top of each page (points)."""
        return self.height + 4 * mm

    def header(self, canvas: Canvas, doc: Any) -> None:
        self.table.drawOn(canvas, self.margin, doc.pagesize[1] - self.margin - self.height)

    def footer(self, canvas: Canvas, page: int, total: int) -> None:
        margin, width = self.margin, self.width
        canvas.saveState()
        canvas.setStrokeColor(layout.GRID)
        canvas.setLineWidth(0.5)
        canvas.line(margin, margin + 5 * mm, margin + width, margin + 5 * mm)
        canvas.setFont(layout.REGULAR, 7)
        canvas.drawString(margin, margin + 2 * mm, self.view.leyenda)
        canvas.drawRightString(margin + width, margin + 2 * mm, f"Página {page} de {total}")
        canvas.restoreState()


def _parties(view: Representacion, styles: Styles, width: float) -> Table:
    column = (width - _QR_SIZE - 4 * mm) / 2
    receptor = (
        layout.parte_flowables(view.receptor, styles) if view.receptor else [p("Sin receptor", styles.small)]
    )
    qr = [QRCode(view.qr, _QR_SIZE), p("Código QR de la clave", styles.center)]
    table = Table(
        [[layout.parte_flowables(view.emisor, styles), receptor, qr]],
        colWidths=[column, column, _QR_SIZE + 4 * mm],
    )
    table.setStyle(
        table_style(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("RIGHTPADDING", (0, 0), (1, -1), 6),
                ("RIGHTPADDING", (2, 0), (2, -1), 0),
            ]
        )
    )
    return table


def _wrap(texts: Iterable[str], font: str, size: float, width: float) -> str:
    """Texts wrapped to ``width``, one cell's lines (a plain string cell is far cheaper than a paragraph)."""
    return "\n".join(line for text in texts for line in layout.wrap_text(text, font, size, width))


def _lines(view: Representacion, styles: Styles, width: float) -> list[Flowable]:
    if not view.lineas:
        return []
    size = styles.normal.fontSize * 0.92
    fixed = sum(w for _, w, _ in _COLUMNS if w is not None) * mm
    widths = [w * mm if w is not None else width - fixed for _, w, _ in _COLUMNS]
    inner = [w - 2 * _PAD for w in widths]
    head = [_wrap([name], layout.BOLD, size, inner[i]) for i, (name, _, _) in enumerate(_COLUMNS)]
    rows: list[list[str]] = [head]
    for ln in view.lineas:
        rows.append(
            [
                str(ln.numero),
                ln.cabys,
                _wrap([ln.detalle, *ln.notas], layout.REGULAR, size, inner[2]),
                ln.cantidad,
                ln.unidad,
                ln.precio_unitario,
                ln.descuento,
                _wrap(ln.impuestos, layout.REGULAR, size, inner[7]),
                ln.total,
            ]
        )
    right = [("ALIGN", (i, 0), (i, -1), "RIGHT") for i, (_, _, r) in enumerate(_COLUMNS) if r]
    table = Table(rows, colWidths=widths, repeatRows=1)
    table.setStyle(
        table_style(
            [
                *right,
                ("FONTNAME", (0, 0), (-1, 0), layout.BOLD),
                ("FONTSIZE", (0, 0), (-1, -1), size),
                ("LEADING", (0, 0), (-1, -1), size * 1.2),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), _PAD),
                ("RIGHTPADDING", (0, 0), (-1, -1), _PAD),
                ("TOPPADDING", (0, 0), (-1, -1), 1.5),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
                ("BACKGROUND", (0, 0), (-1, 0), layout.SHADE),
                ("LINEBELOW", (0, 0), (-1, 0), 0.8, colors.black),
                ("LINEBELOW", (0, 1), (-1, -1), 0.25, layout.GRID),
            ]
        )
    )
    return [p("Detalle del comprobante", styles.heading), table]


def body(view: Representacion, styles: Styles, width: float) -> list[Flowable]:
    """The flowables of the pages: parties and QR, conditions, lines, charges, references, summary, state."""
    amounts = (width * 0.36, width * 0.16)
    out: list[Flowable] = [
        _parties(view, styles, width),
        layout.spacer(2 * mm),
        p("Condiciones", styles.heading),
        layout.campos_table(view.condiciones, styles, width, columns=3),
        *_lines(view, styles, width),
        *layout.otros_cargos_table(view, styles, (width - amounts[1], amounts[1])),
        *layout.text_block("Información de referencia", view.referencias, styles),
        KeepTogether([p("Resumen", styles.heading), layout.resumen_table(view, styles, amounts)]),
        KeepTogether(layout.hacienda_block(view, styles)),
        *layout.text_block("Otros", view.otros, styles),
    ]
    return out
