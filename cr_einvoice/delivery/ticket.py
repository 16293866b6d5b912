"""The roll layouts: 80 mm and 58 mm thermal tickets (any document type on request).

A roll has no pages: the ticket is one page exactly as long as its content. A document too long for one PDF
page (200 inches) continues on further pages, the last as long as what is left, each numbered "Página N de
M". Everything a page layout shows is here, stacked: each line of the voucher takes a few rows (detail, CABYS,
quantity × price and total, taxes, notes).

The roll is drawn in one pass, row by row as the texts are wrapped: a page's rows are placed from its top
edge down, and once its length is known the page moves them onto itself (one ``cm`` operator), instead of
keeping every row to draw it in a second pass.
"""

from __future__ import annotations

from cr_einvoice.delivery.document import Campo, Linea, Representacion
from cr_einvoice.delivery.pdfwriter import BOLD, REGULAR, Document, Page, get_font
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


class _Roll:
    """Lays texts out down the roll in rows of the roll's width (wrapping words) and draws each row at
    once: a page's rows are drawn from its top edge down (y negative), because the page's length is known
    only at its end (:meth:`~cr_einvoice.delivery.pdfwriter.Page.place` then moves them onto the page). A
    row that would pass ``room`` starts a new page. ``left`` is where the printable width starts."""

    def __init__(self, document: Document, page_width: float, width: float, size: float, room: float) -> None:
        self.document = document
        self.page_width = page_width
        self.width = width
        self.size = size
        self.small = size * 0.86
        self.left = (page_width - width) / 2
        self.room = room
        self.regular = get_font(REGULAR)
        self.bold = get_font(BOLD)
        #: Each page with the height of its rows.
        self.pages: list[tuple[Page, float]] = []
        self.page = document.page(page_width, 0.0)
        self.y = 0.0  # the bottom of the last row, from the page's top edge

    def row(self, height: float) -> float:
        """Room for a row ``height`` high (on a new page when this one is full); the row's bottom."""
        if self.y and height - self.y > self.room:
            self.pages.append((self.page, -self.y))
            self.page = self.document.page(self.page_width, 0.0)
            self.y = 0.0
        self.y -= height
        return self.y

    def end(self) -> list[tuple[Page, float]]:
        """Every page with the height of its rows."""
        self.pages.append((self.page, -self.y))
        return self.pages

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
        for data, width in measured_lines(text, font, size, self.width):
            baseline = self.row(height) + height * 0.22
            self.page.show(self.left if align == _LEFT else self._x(align, width), baseline, data, font, size)

    def heading(self, text: str) -> None:
        self.gap(self.size * 0.5)
        self.text(text, bold=True)

    def pair(self, left: str, right: str, *, column: float, bold: bool = False, shade: bool = False) -> None:
        """``left`` wrapped in the width the amount ``right`` leaves; the amount on its last row."""
        font = self.bold if bold else self.regular
        size = self.size
        height = size * 1.22
        lines = measured_lines(left, font, size, self.width - column - 2)
        last = len(lines) - 1
        for i, (data, _) in enumerate(lines):
            y = self.row(height)
            if shade:
                self.page.rect(self.left, y - height * 0.22, self.width, height, gray=0.92)
            baseline = y + height * 0.22
            self.page.show(self.left, baseline, data, font, size)
            if i == last:
                amount = font.encode(right)
                at = self._x(_RIGHT, font.units(amount) * size / 1000.0)
                self.page.show(at, baseline, amount, font, size)

    def campo(self, campo: Campo, *, align: str = _LEFT) -> None:
        self.text(f"{campo.etiqueta}: {campo.valor}", align=align)

    def gap(self, height: float) -> None:
        self.row(height)

    def rule(self) -> None:
        height = self.size * 0.4
        y = self.row(height) + height * 0.5
        self.page.line(self.left, y, self.left + self.width, y)

    def qr(self, data: str, height: float) -> None:
        """The QR code of ``data`` centred on a square row ``height`` high."""
        y = self.row(height)
        side, path = qr_path(data)
        self.page.cells(self.left + (self.width - height) / 2, y, height / side, path)


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


def _lay_out(view: Representacion, roll: _Roll, qr_size: float) -> None:
    """Everything ``view`` shows, down the roll."""
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
    roll.qr(view.qr, qr_size)
    roll.gap(roll.size * 0.5)
    roll.text(view.leyenda, align=_CENTER)


def _block(roll: _Roll, title: str, lines: tuple[str, ...] | list[str]) -> None:
    if lines:
        roll.heading(title)
        for line in lines:
            roll.text(line)


def render_ticket(view: Representacion, *, width_mm: int, deterministic: bool) -> bytes:
    """The PDF of ``view`` on a roll ``width_mm`` wide (80 or 58)."""
    width, size = _ROLLS[width_mm]
    footer = 4 * mm
    page_width = width_mm * mm
    document = Document(**document_info(view), deterministic=deterministic)
    roll = _Roll(document, page_width, width, size, room=_MAX_HEIGHT - 2 * _MARGIN - footer)
    _lay_out(view, roll, qr_size=min(width * 0.6, 36 * mm))
    pages = roll.end()
    for number, (page, used) in enumerate(pages, start=1):
        extra = footer if len(pages) > 1 else 0.0
        height = used + 2 * _MARGIN + extra
        page.place(height, top=height - _MARGIN)
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
