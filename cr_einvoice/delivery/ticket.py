"""The roll layouts: 80 mm and 58 mm thermal tickets (any document type on request).

One long page as tall as its content (a roll has no page breaks); a document too long for one PDF page
(200 inches) continues on further pages, each numbered. Everything a page shows is there, stacked: each line
takes a few rows (detail, CABYS, quantity × price and total, taxes, notes).
"""

from __future__ import annotations

import io
from functools import partial
from typing import Any

from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import BaseDocTemplate, Flowable, Frame, PageTemplate, Table

from cr_einvoice.delivery import layout
from cr_einvoice.delivery.document import Linea, Representacion
from cr_einvoice.delivery.layout import Styles, p, table_style
from cr_einvoice.delivery.qr import QRCode

__all__ = ["render_ticket"]

#: Printable width and base font size of each roll.
_ROLLS: dict[int, tuple[float, float]] = {80: (72 * mm, 7.5), 58: (48 * mm, 6.2)}
_MARGIN = 3 * mm
#: The tallest page a PDF viewer accepts (200 inches).
_MAX_HEIGHT = 14400.0


def _grouped(clave: str) -> str:
    """The clave in its parts (país, fecha, identificación, consecutivo, situación, código), so it wraps."""
    return " ".join((clave[:3], clave[3:9], clave[9:21], clave[21:41], clave[41:42], clave[42:]))


def _line(ln: Linea, styles: Styles, width: float, column: float) -> Table:
    rows: list[list[Any]] = [
        [p(f"{ln.numero}. {ln.detalle}", styles.bold), ""],
        [p(f"CABYS {ln.cabys}", styles.small), ""],
        [
            p(f"{ln.cantidad} {ln.unidad} × {ln.precio_unitario}  Desc. {ln.descuento}", styles.normal),
            p(ln.total, styles.right),
        ],
    ]
    rows += [[p(t, styles.small), ""] for t in ln.impuestos]
    rows += [[p(n, styles.small), ""] for n in ln.notas]
    table = Table(rows, colWidths=[width - column, column])
    spans = [("SPAN", (0, i), (1, i)) for i in range(len(rows)) if i != 2]
    table.setStyle(
        table_style(
            [
                *spans,
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("RIGHTPADDING", (0, 0), (-1, -1), 0),
                ("TOPPADDING", (0, 0), (-1, -1), 0),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 0.6),
                ("LINEBELOW", (0, -1), (-1, -1), 0.25, layout.GRID),
            ]
        )
    )
    return table


def _flowables(view: Representacion, styles: Styles, width: float, qr_size: float) -> list[Flowable]:
    emisor = view.emisor
    column = layout.amount_width(view, styles.normal, width)
    out: list[Flowable] = [p(emisor.nombre if emisor.nombre else emisor.rol, styles.center)]
    out += [p(f"{c.etiqueta}: {c.valor}", styles.center) for c in view.emisor.campos]
    out += [
        layout.spacer(2),
        p(view.titulo, styles.heading),
        p(f"Versión {view.version}", styles.normal),
        p(f"{view.clave_etiqueta}: {_grouped(view.clave)}", styles.normal),
        p(f"Consecutivo: {view.consecutivo}", styles.normal),
        p(f"Fecha de emisión: {view.fecha_emision} (hora de Costa Rica)", styles.normal),
        p(f"Situación: {view.situacion}", styles.normal),
    ]
    if view.receptor is not None:
        receptor = view.receptor
        out.append(p(receptor.rol, styles.heading))
        if receptor.nombre:
            out.append(p(receptor.nombre, styles.bold))
        out += [p(f"{c.etiqueta}: {c.valor}", styles.normal) for c in receptor.campos]
    out.append(p("Condiciones", styles.heading))
    out += [p(f"{c.etiqueta}: {c.valor}", styles.normal) for c in view.condiciones]
    if view.lineas:
        out.append(p("Detalle", styles.heading))
        out += [_line(ln, styles, width, column) for ln in view.lineas]
    amounts = (width - column, column)
    out += layout.otros_cargos_table(view, styles, amounts)
    out += layout.text_block("Información de referencia", view.referencias, styles)
    out += [p("Resumen", styles.heading), layout.resumen_table(view, styles, amounts)]
    out += layout.hacienda_block(view, styles)
    out += layout.text_block("Otros", view.otros, styles)
    out += [layout.spacer(4), QRCode(view.qr, qr_size), p(view.leyenda, styles.center)]
    return out


def _footer(page_width: float, canvas: Canvas, page: int, total: int) -> None:
    if total > 1:
        canvas.saveState()
        canvas.setFont(layout.REGULAR, 6)
        canvas.drawCentredString(page_width / 2, 2 * mm, f"Página {page} de {total}")
        canvas.restoreState()


def render_ticket(view: Representacion, *, width_mm: int, deterministic: bool) -> bytes:
    """The PDF of ``view`` on a roll ``width_mm`` wide (80 or 58)."""
    layout.register_fonts()
    width, size = _ROLLS[width_mm]
    styles = Styles.of(size)
    flowables = _flowables(view, styles, width, qr_size=min(width * 0.6, 36 * mm))
    height = 2 * _MARGIN
    measure = Canvas(io.BytesIO())
    for f in flowables:
        _, h = f.wrapOn(measure, width, _MAX_HEIGHT)
        height += h + f.getSpaceBefore() + f.getSpaceAfter()
    page_height = min(height + 6 * mm, _MAX_HEIGHT)
    page_width = width_mm * mm
    frame = Frame(
        (page_width - width) / 2,
        _MARGIN,
        width,
        page_height - 2 * _MARGIN,
        leftPadding=0,
        rightPadding=0,
        topPadding=0,
        bottomPadding=0,
    )
    buffer = io.BytesIO()
    doc = BaseDocTemplate(
        buffer,
        pagesize=(page_width, page_height),
        leftMargin=0,
        rightMargin=0,
        topMargin=0,
        bottomMargin=0,
        invariant=1 if deterministic else 0,
        **layout.metadata(view),
    )
    doc.addPageTemplates([PageTemplate(id="roll", frames=[frame])])
    doc.build(flowables, canvasmaker=partial(layout.NumberedCanvas, footer=partial(_footer, page_width)))
    return buffer.getvalue()
