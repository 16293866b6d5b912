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

from cr_einvoice.delivery.document import Campo, Linea, Representacion
from cr_einvoice.delivery.pdfwriter import BOLD, REGULAR, Document, Font, Page, get_font
from cr_einvoice.delivery.qr import qr_path
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


#: A text placed on a row: (x, the text in the font's codes, font, size), measured and aligned once.
_Text = tuple[float, bytes, Font, float]
#: What a row holds besides its texts: nothing, a rule, a shade under the texts, or the QR code.
_PLAIN, _RULE, _SHADE, _QR = "", "rule", "shade", "qr"
#: One row of the roll: (height, texts on one baseline, what else). Plain tuples: a ticket makes about a
#: hundred rows and texts, and a tuple costs a fifth of a named tuple to make.
_Row = tuple[float, tuple[_Text, ...], str]


class _Roll:
    """Turns texts into rows of a given width (wrapping words) in the roll's fonts; ``left`` is where the
    printable width starts on the page."""

    def __init__(self, width: float, size: float, left: float) -> None:
        self.width = width
        self.size = size
        self.small = size * 0.86
        self.left = left
        self.rows: list[_Row] = []
        self.regular = get_font(REGULAR)
        self.bold = get_font(BOLD)

    def _x(self, align: str, width: float) -> float:
        """Where a text ``width`` wide starts."""
        if align == _LEFT:
            return self.left
        if align == _RIGHT:
            x = self.left + self.width
            return x - width
        x = self.left + self.width / 2
        return x - width / 2

    def text(self, text: str, *, bold: bool = False, small: bool = False, align: str = _LEFT) -> None:
        font = self.bold if bold else self.regular
        size = self.small if small else self.size
        height = size * 1.22
        append = self.rows.append
        for data, width in measured_lines(text, font, size, self.width):
            append((height, ((self._x(align, width), data, font, size),), _PLAIN))

    def heading(self, text: str) -> None:
        self.gap(self.size * 0.5)
        self.text(text, bold=True)

    def pair(self, left: str, right: str, *, column: float, bold: bool = False, shade: bool = False) -> None:
        """``left`` wrapped in the width the amount ``right`` leaves; the amount on its last row."""
        font = self.bold if bold else self.regular
        size = self.size
        height = size * 1.22
        kind = _SHADE if shade else _PLAIN
        lines = measured_lines(left, font, size, self.width - column - 2)
        for data, _ in lines[:-1]:
            self.rows.append((height, ((self.left, data, font, size),), kind))
        amount = font.encode(right)
        at = self._x(_RIGHT, font.units(amount) * size / 1000.0)
        self.rows.append((height, ((self.left, lines[-1][0], font, size), (at, amount, font, size)), kind))

    def campo(self, campo: Campo, *, align: str = _LEFT) -> None:
        self.text(f"{campo.etiqueta}: {campo.valor}", align=align)

    def gap(self, height: float, kind: str = _PLAIN) -> None:
        self.rows.append((height, (), kind))

    def rule(self) -> None:
        self.gap(self.size * 0.4, _RULE)


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
    """The rows of ``view`` (the QR code's row is drawn with ``view.qr``)."""
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
    roll.gap(qr_size, _QR)
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
        height = row[0]
        if page and used + height > room:
            yield page
            page, used = [], 0.0
        page.append(row)
        used += height
    yield page


def _draw(page: Page, rows: list[_Row], top: float, left: float, width: float, *, qr: str) -> None:
    y = top
    show = page.show
    for height, texts, kind in rows:
        y -= height
        if kind:
            if kind == _SHADE:
                page.rect(left, y - height * 0.22, width, height, gray=0.92)
            elif kind == _RULE:
                page.line(left, y + height * 0.5, left + width, y + height * 0.5)
            else:
                side, path = qr_path(qr)
                page.cells(left + (width - height) / 2, y, height / side, path)
        baseline = y + height * 0.22
        for x, data, font, size in texts:
            show(x, baseline, data, font, size)


def render_ticket(view: Representacion, *, width_mm: int, deterministic: bool) -> bytes:
    """The PDF of ``view`` on a roll ``width_mm`` wide (80 or 58)."""
    width, size = _ROLLS[width_mm]
    page_width = width_mm * mm
    left = (page_width - width) / 2
    roll = _Roll(width, size, left)
    rows = _rows(view, roll, qr_size=min(width * 0.6, 36 * mm))
    footer = 4 * mm
    pages = list(_pages(rows, _MAX_HEIGHT - 2 * _MARGIN - footer))
    document = Document(**document_info(view), deterministic=deterministic)
    for number, rows_of_page in enumerate(pages, start=1):
        extra = footer if len(pages) > 1 else 0.0
        height = sum(row[0] for row in rows_of_page) + 2 * _MARGIN + extra
        page = document.page(page_width, height)
        _draw(page, rows_of_page, height - _MARGIN, left, width, qr=view.qr)
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
