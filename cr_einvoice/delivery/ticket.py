"""The roll layouts: 80 mm and 58 mm thermal tickets (any document type on request).

A roll has no pages: the ticket is one page exactly as long as its content. A document too long for one PDF
page (200 inches) continues on further pages, the last as long as what is left, each numbered "Página N de
M". Everything a page layout shows is here, stacked: each line of the voucher takes a few rows (detail, CABYS,
quantity × price and total, taxes, notes).

The roll is drawn straight on the canvas (no flowables): a first pass turns the view into rows of known
height, so the page length is known before anything is drawn; the second pass draws them.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

from cr_einvoice.delivery.document import Campo, Linea, Representacion
from cr_einvoice.delivery.pdfwriter import BOLD, REGULAR, Document, Font, Page, get_font
from cr_einvoice.delivery.qr import qr_runs
from cr_einvoice.delivery.textlayout import amount_width, document_info, hacienda_lines, measured_lines

__all__ = ["render_ticket"]

#: One millimetre in points.
mm = 72 / 25.4

#: Printable width and base font size of each roll.
_ROLLS: dict[int, tuple[float, float]] = {80: (72 * mm, 7.5), 58: (48 * mm, 6.2)}
_MARGIN = 3 * mm
#: The tallest page a PDF viewer accepts (200 inches).
_MAX_HEIGHT = 14400.0
_LEFT, _CENTER, _RIGHT = "left", "center", "right"


class _Text(NamedTuple):
    """A text measured once: in its font's codes, with its width (for the alignment)."""

    data: bytes
    font: Font
    size: float
    width: float
    align: str = _LEFT


class _Row(NamedTuple):
    """One row of the roll: texts placed on one baseline, a rule, a shade, or the QR code (a named tuple,
    like :class:`_Text`: a ticket makes about a hundred; a frozen dataclass costs twice as much to make)."""

    height: float
    texts: tuple[_Text, ...] = ()
    rule: bool = False
    shade: bool = False
    qr: str | None = None


class _Roll:
    """Turns texts into rows of a given width (wrapping words) in the roll's fonts."""

    def __init__(self, width: float, size: float) -> None:
        self.width = width
        self.size = size
        self.small = size * 0.86
        self.rows: list[_Row] = []
        self.regular = get_font(REGULAR)
        self.bold = get_font(BOLD)

    def leading(self, size: float) -> float:
        return size * 1.22

    def text(self, text: str, *, bold: bool = False, small: bool = False, align: str = _LEFT) -> None:
        font = self.bold if bold else self.regular
        size = self.small if small else self.size
        height = self.leading(size)
        for data, width in measured_lines(text, font, size, self.width):
            self.rows.append(_Row(height, (_Text(data, font, size, width, align),)))

    def heading(self, text: str) -> None:
        self.gap(self.size * 0.5)
        self.text(text, bold=True)

    def pair(self, left: str, right: str, *, column: float, bold: bool = False, shade: bool = False) -> None:
        """``left`` wrapped in the width the amount ``right`` leaves; the amount on its last row."""
        font = self.bold if bold else self.regular
        size = self.size
        height = self.leading(size)
        lines = measured_lines(left, font, size, self.width - column - 2)
        last = len(lines) - 1
        for i, (data, width) in enumerate(lines):
            text = _Text(data, font, size, width)
            if i == last:
                amount = font.encode(right)
                texts: tuple[_Text, ...] = (
                    text,
                    _Text(amount, font, size, font.units(amount) * size / 1000.0, _RIGHT),
                )
            else:
                texts = (text,)
            self.rows.append(_Row(height, texts, shade=shade))

    def campo(self, campo: Campo, *, align: str = _LEFT) -> None:
        self.text(f"{campo.etiqueta}: {campo.valor}", align=align)

    def gap(self, height: float) -> None:
        self.rows.append(_Row(height))

    def rule(self) -> None:
        self.rows.append(_Row(self.size * 0.4, rule=True))


def _grouped(clave: str) -> str:
    """The clave in its parts (país, fecha, identificación, consecutivo, situación, código), so it wraps."""
    return " ".join((clave[:3], clave[3:9], clave[9:21], clave[21:41], clave[41:42], clave[42:]))


def _line(roll: _Roll, ln: Linea, column: float) -> None:
    roll.text(f"{ln.numero}. {ln.detalle}", bold=True)
    roll.text(f"CABYS {ln.cabys}", small=True)
    roll.pair(
        f"{ln.cantidad} {ln.unidad} × {ln.precio_unitario}  Desc. {ln.descuento}", ln.total, column=column
    )
    for text in (*ln.impuestos, *ln.notas):
        roll.text(text, small=True)
    roll.rule()


def _rows(view: Representacion, roll: _Roll, qr_size: float) -> list[_Row]:
    column = amount_width(view, BOLD, roll.size, roll.width)
    emisor = view.emisor
    roll.text(emisor.nombre or emisor.rol, bold=True, align=_CENTER)
    for campo in emisor.campos:
        roll.campo(campo, align=_CENTER)
    roll.heading(view.titulo)
    roll.text(f"Versión {view.version}")
    roll.text(f"{view.clave_etiqueta}: {_grouped(view.clave)}")
    roll.text(f"Consecutivo: {view.consecutivo}")
    roll.text(f"Fecha de emisión: {view.fecha_emision} (hora de Costa Rica)")
    roll.text(f"Situación: {view.situacion}")
    if view.receptor is not None:
        roll.heading(view.receptor.rol)
        if view.receptor.nombre:
            roll.text(view.receptor.nombre, bold=True)
        for campo in view.receptor.campos:
            roll.campo(campo)
    roll.heading("Condiciones")
    for campo in view.condiciones:
        roll.campo(campo)
    if view.lineas:
        roll.heading("Detalle")
        for ln in view.lineas:
            _line(roll, ln, column)
    if view.otros_cargos:
        roll.heading("Otros cargos")
        for campo in view.otros_cargos:
            roll.pair(campo.etiqueta, campo.valor, column=column)
    _block(roll, "Información de referencia", view.referencias)
    roll.heading("Resumen")
    for campo in view.resumen:
        roll.pair(campo.etiqueta, campo.valor, column=column)
    roll.rule()
    roll.pair(view.total.etiqueta, view.total.valor, column=column, bold=True, shade=True)
    _block(roll, "Estado en el Ministerio de Hacienda", hacienda_lines(view))
    _block(roll, "Otros", view.otros)
    roll.gap(roll.size)
    roll.rows.append(_Row(qr_size, qr=view.qr))
    roll.gap(roll.size * 0.5)
    roll.text(view.leyenda, align=_CENTER)
    return roll.rows


def _block(roll: _Roll, title: str, lines: tuple[str, ...] | list[str]) -> None:
    if lines:
        roll.heading(title)
        for line in lines:
            roll.text(line)


def _pages(rows: list[_Row], room: float) -> Iterator[list[_Row]]:
    page: list[_Row] = []
    used = 0.0
    for row in rows:
        if page and used + row.height > room:
            yield page
            page, used = [], 0.0
        page.append(row)
        used += row.height
    yield page


def _draw(page: Page, rows: list[_Row], left: float, top: float, width: float) -> None:
    y = top
    for row in rows:
        y -= row.height
        if row.shade:
            page.rect(left, y - row.height * 0.22, width, row.height, gray=0.92)
        if row.rule:
            page.line(left, y + row.height * 0.5, left + width, y + row.height * 0.5)
        if row.qr is not None:
            side, runs = qr_runs(row.qr)
            page.cells(left + (width - row.height) / 2, y, row.height / side, runs)
        baseline = y + row.height * 0.22
        for t in row.texts:
            if t.align == _LEFT:
                x = left
            elif t.align == _RIGHT:
                x = left + width
                x -= t.width
            else:
                x = left + width / 2
                x -= t.width / 2
            page.show(x, baseline, t.data, t.font, t.size)


def render_ticket(view: Representacion, *, width_mm: int, deterministic: bool) -> bytes:
    """The PDF of ``view`` on a roll ``width_mm`` wide (80 or 58)."""
    width, size = _ROLLS[width_mm]
    roll = _Roll(width, size)
    rows = _rows(view, roll, qr_size=min(width * 0.6, 36 * mm))
    footer = 4 * mm
    pages = list(_pages(rows, _MAX_HEIGHT - 2 * _MARGIN - footer))
    page_width = width_mm * mm
    left = (page_width - width) / 2
    document = Document(**document_info(view), deterministic=deterministic)
    for number, rows_of_page in enumerate(pages, start=1):
        extra = footer if len(pages) > 1 else 0.0
        height = sum(row.height for row in rows_of_page) + 2 * _MARGIN + extra
        page = document.page(page_width, height)
        _draw(page, rows_of_page, left, height - _MARGIN, width)
        if len(pages) > 1:
            page.text(
                page_width / 2,
                _MARGIN,
                f"Página {number} de {len(pages)}",
                font=REGULAR,
                size=6,
                align=_CENTER,
            )
    return document.to_bytes()
