"""The page layouts (A4, Letter): the header every page repeats, the body's blocks, the footer.

Every page repeats the document's name and version, its clave, consecutivo and fecha de emisión, kept
together as Nota 1 of the Anexos asks, and ends with the leyenda and "Página N de M"; the lines' column
headings repeat on every page the lines run over. The first page carries the QR code of the clave beside
the emisor and receptor.

Drawn with :mod:`cr_einvoice.delivery.pdfwriter` in two passes: the body is first turned into pieces of
known height (a paragraph, a table row, a block kept together), then the pieces are placed on pages; the
footers are drawn once the number of pages is known.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import takewhile
from typing import NamedTuple

from cr_einvoice.delivery.document import Campo, Parte, Representacion
from cr_einvoice.delivery.pdfwriter import BOLD, REGULAR, Document, Page
from cr_einvoice.delivery.qr import qr_path
from cr_einvoice.delivery.textlayout import Run, document_info, hacienda_lines, wrap_runs, wrap_text

__all__ = ["PAGE_SIZES", "render_pages"]

MM = 72 / 25.4
#: Page sizes in points.
PAGE_SIZES = {"a4": (595.2755905511812, 841.8897637795277), "letter": (612.0, 792.0)}
_MARGIN = 12 * MM
_SIZE = 8.0
_LEAD = _SIZE * 1.22
_TITLE = (_SIZE * 1.6, _SIZE * 1.9)
_HEADING = (_SIZE * 1.1, _SIZE * 1.4, _SIZE * 0.6)  # size, leading, space before
_SMALL = (_SIZE * 0.86, _SIZE * 1.05)
_GRID = 0.55
_SHADE = 0.92
_QR_SIZE = 32 * MM
_PAD = 2.0
_LEFT, _RIGHT, _CENTER = "left", "right", "center"
#: Fixed widths of the line table's columns (mm); the detail takes what remains; right-aligned or not.
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

#: Draws something on a page with its top-left corner at (x, y).
Painter = Callable[[Page, float, float], None]


class _Para(NamedTuple):
    """A paragraph laid out in a width: its lines of runs, size and leading, alignment."""

    lines: list[list[Run]]
    size: float
    leading: float
    align: str = _LEFT
    gray: float = 0.0

    @property
    def height(self) -> float:
        return len(self.lines) * self.leading

    def draw(self, page: Page, x: float, top: float, width: float) -> None:
        lines: list[tuple[float, list[Run]]] = []
        for line in self.lines:
            offset = 0.0
            if self.align != _LEFT:
                used = sum(page.width_of(text, font, self.size) for text, font in line)
                offset = width - used if self.align == _RIGHT else (width - used) / 2
            lines.append((offset, line))
        page.paragraph(x, top - self.size, lines, size=self.size, leading=self.leading, gray=self.gray)


def _para(
    runs: Sequence[Run],
    width: float,
    size: float = _SIZE,
    leading: float = _LEAD,
    *,
    align: str = _LEFT,
    gray: float = 0.0,
) -> _Para:
    return _Para(wrap_runs(runs, size, width), size, leading, align, gray)


def _plain(text: str, width: float, *, bold: bool = False, align: str = _LEFT) -> _Para:
    return _para([(text, BOLD if bold else REGULAR)], width, align=align)


def _labelled(campo: Campo, width: float, align: str = _LEFT) -> _Para:
    return _para([(f"{campo.etiqueta}:", BOLD), (f" {campo.valor}", REGULAR)], width, align=align)


def _heading(text: str, width: float) -> _Para:
    size, leading, _ = _HEADING
    return _para([(text, BOLD)], width, size, leading)


@dataclass(slots=True)
class _Stack:
    """Paragraphs one under the other (a table cell's content); a heading's space before is kept except at
    the top."""

    items: list[tuple[float, _Para]] = field(default_factory=list)

    def add(self, para: _Para, space_before: float = 0.0) -> None:
        self.items.append((space_before if self.items else 0.0, para))

    @property
    def height(self) -> float:
        return sum(space + para.height for space, para in self.items)

    def draw(self, page: Page, x: float, top: float, width: float) -> None:
        for space, para in self.items:
            top -= space
            para.draw(page, x, top, width)
            top -= para.height


class _Piece(NamedTuple):
    """Something placed in the body: its height, space before (dropped at the top of a page), painter, and
    for a table row the column headings repeated above it when it starts a page. Like :class:`_Para`, a named
    tuple: a long invoice makes thousands, and a frozen dataclass costs twice as much to make."""

    height: float
    paint: Painter
    space_before: float = 0.0
    heading: _Piece | None = None
    #: Pieces with the same non-zero group number stay on one page when they fit on one.
    group: int = 0


def _para_piece(para: _Para, width: float, space_before: float = 0.0, group: int = 0) -> _Piece:
    return _Piece(para.height, lambda page, x, y: para.draw(page, x, y, width), space_before, group=group)


def _heading_piece(text: str, width: float, group: int = 0) -> _Piece:
    return _para_piece(_heading(text, width), width, _HEADING[2], group)


def _cells_piece(
    cells: Sequence[_Stack | _Para],
    widths: Sequence[float],
    pads: tuple[float, float, float, float],
    group: int = 0,
) -> _Piece:
    """A table row of paragraph cells, top aligned; pads: left, right, top, bottom."""
    left, right, top, bottom = pads
    height = max(cell.height for cell in cells) + top + bottom

    def paint(page: Page, x: float, y: float) -> None:
        for cell, width in zip(cells, widths, strict=True):
            cell.draw(page, x + left, y - top, width - left - right)
            x += width

    return _Piece(height, paint, group=group)


# -- the header and footer every page repeats -------------------------------------------------------------


def _header(view: Representacion, width: float) -> tuple[float, Painter]:
    left_width, right_width = width * 0.42, width * 0.58
    left = _Stack()
    left.add(_para([(view.titulo, BOLD)], left_width, *_TITLE))
    left.add(_plain(f"Versión {view.version} · {view.emisor.nombre}".rstrip(" ·"), left_width))
    right = _Stack()
    for campo in (
        Campo(view.clave_etiqueta, view.clave),
        Campo("Consecutivo", view.consecutivo),
        Campo("Fecha de emisión", f"{view.fecha_emision} (hora de Costa Rica)"),
        Campo("Situación", view.situacion),
    ):
        right.add(_labelled(campo, right_width, _RIGHT))
    height = max(left.height, right.height) + 6  # a table cell's default padding above, 3 points below

    def paint(page: Page, x: float, y: float) -> None:
        left.draw(page, x, y - 3, left_width)
        right.draw(page, x + left_width, y - 3, right_width)
        page.line(x, y - height, x + width, y - height, width=1)

    return height, paint


def _footer(page: Page, leyenda: str, number: int, total: int, width: float) -> None:
    y = _MARGIN + 5 * MM
    page.line(_MARGIN, y, _MARGIN + width, y, width=0.5, gray=_GRID)
    page.text(_MARGIN, _MARGIN + 2 * MM, leyenda, font=REGULAR, size=7)
    page.text(
        _MARGIN + width, _MARGIN + 2 * MM, f"Página {number} de {total}", font=REGULAR, size=7, align=_RIGHT
    )


# -- the body ---------------------------------------------------------------------------------------------


def _parte(parte: Parte, width: float) -> _Stack:
    stack = _Stack()
    stack.add(_heading(parte.rol, width), _HEADING[2])
    if parte.nombre:
        stack.add(_plain(parte.nombre, width, bold=True))
    for campo in parte.campos:
        stack.add(_labelled(campo, width))
    return stack


def _parties(view: Representacion, width: float) -> _Piece:
    column = (width - _QR_SIZE - 4 * MM) / 2
    emisor = _parte(view.emisor, column - 6)
    receptor = _parte(view.receptor, column - 6) if view.receptor else _Stack()
    if view.receptor is None:
        receptor.add(_para([("Sin receptor", REGULAR)], column - 6, *_SMALL, gray=0.2))
    qr_width = _QR_SIZE + 4 * MM
    caption = _para([("Código QR de la clave", REGULAR)], qr_width, align=_CENTER)
    height = max(emisor.height, receptor.height, _QR_SIZE + caption.height) + 6

    def paint(page: Page, x: float, y: float) -> None:
        y -= 3  # a table cell's default padding
        emisor.draw(page, x, y, column - 6)
        receptor.draw(page, x + column, y, column - 6)
        qr_x = x + 2 * column + (qr_width - _QR_SIZE) / 2
        side, path = qr_path(view.qr)
        page.cells(qr_x, y - _QR_SIZE, _QR_SIZE / side, path)
        caption.draw(page, x + 2 * column, y - _QR_SIZE, qr_width)

    return _Piece(height, paint)


_PLAIN_PADS = (0.0, 3.0, 0.5, 0.5)


def _campos(campos: Sequence[Campo], width: float, columns: int) -> list[_Piece]:
    """Labelled values in ``columns`` columns, read row by row."""
    widths = [width / columns] * columns
    inner = widths[0] - _PLAIN_PADS[0] - _PLAIN_PADS[1]
    cells = [_labelled(c, inner) for c in campos]
    return [
        _cells_piece(cells[i : i + columns], widths[: len(cells[i : i + columns])], _PLAIN_PADS)
        for i in range(0, len(cells), columns)
    ]


def _lines(view: Representacion, width: float) -> list[_Piece]:
    if not view.lineas:
        return []
    size = _SIZE * 0.92
    leading = size * 1.2
    fixed = sum(w for _, w, _ in _COLUMNS if w is not None) * MM
    widths = [w * MM if w is not None else width - fixed for _, w, _ in _COLUMNS]
    inner = [w - 2 * _PAD for w in widths]
    aligns = [_RIGHT if right else _LEFT for _, _, right in _COLUMNS]

    def row(cells: list[list[str]], font: str, shade: bool, rule: tuple[float, float]) -> _Piece:
        height = max(len(c) for c in cells) * leading + 3.5

        def paint(page: Page, x: float, y: float) -> None:
            if shade:
                page.rect(x, y - height, width, height, gray=_SHADE)
            for lines, w, align in zip(cells, widths, aligns, strict=True):
                base = y - 1.5 - size
                at = x + w - _PAD if align == _RIGHT else x + _PAD
                for text in lines:
                    page.text(at, base, text, font=font, size=size, align=align)
                    base -= leading
                x += w
            page.line(x - width, y - height, x, y - height, width=rule[0], gray=rule[1])

        return _Piece(height, paint)

    head = row([wrap_text(name, BOLD, size, inner[i]) for i, (name, _, _) in enumerate(_COLUMNS)], BOLD, True,
               (0.8, 0.0))  # fmt: skip
    out = [_heading_piece("Detalle del comprobante", width)]
    for ln in view.lineas:
        cells = [
            [str(ln.numero)],
            [ln.cabys],
            [line for text in (ln.detalle, *ln.notas) for line in wrap_text(text, REGULAR, size, inner[2])],
            [ln.cantidad],
            [ln.unidad],
            [ln.precio_unitario],
            [ln.descuento],
            [line for text in ln.impuestos for line in wrap_text(text, REGULAR, size, inner[7])],
            [ln.total],
        ]
        piece = row(cells, REGULAR, False, (0.25, _GRID))
        out.append(_Piece(piece.height, piece.paint, heading=head))
    first = out[1]
    out[1] = _Piece(first.height + head.height, _above(head, first))
    return out


def _above(top: _Piece, below: _Piece) -> Painter:
    def paint(page: Page, x: float, y: float) -> None:
        top.paint(page, x, y)
        below.paint(page, x, y - top.height)

    return paint


def _pairs(campos: Sequence[Campo], widths: tuple[float, float], group: int = 0) -> list[_Piece]:
    """Label / amount rows (the amount right aligned)."""
    inner = (widths[0] - 3, widths[1] - 3)
    return [
        _cells_piece(
            [_plain(c.etiqueta, inner[0]), _plain(c.valor, inner[1], align=_RIGHT)],
            widths,
            _PLAIN_PADS,
            group,
        )
        for c in campos
    ]


def _resumen(view: Representacion, width: float, amounts: tuple[float, float]) -> list[_Piece]:
    group = 1
    offset = width - sum(amounts)
    rows = [_heading_piece("Resumen", width, group)]
    rows += [_shifted(piece, offset) for piece in _pairs(view.resumen, amounts, group)]
    inner = (amounts[0] - 3, amounts[1] - 3)
    total = _cells_piece(
        [
            _plain(view.total.etiqueta, inner[0], bold=True),
            _plain(view.total.valor, inner[1], bold=True, align=_RIGHT),
        ],
        amounts,
        (0.0, 3.0, 2.0, 2.0),
        group,
    )

    def paint(page: Page, x: float, y: float) -> None:
        left = x + offset
        page.rect(left, y - total.height, sum(amounts), total.height, gray=_SHADE)
        page.line(left, y, left + sum(amounts), y, width=0.8)
        total.paint(page, left, y)

    rows.append(_Piece(total.height, paint, group=group))
    return rows


def _shifted(piece: _Piece, offset: float) -> _Piece:
    return _Piece(piece.height, lambda page, x, y: piece.paint(page, x + offset, y), group=piece.group)


def _text_block(title: str, lines: Sequence[str], width: float, group: int = 0) -> list[_Piece]:
    """A heading and one paragraph per line (nothing when there are no lines)."""
    if not lines:
        return []
    return [_heading_piece(title, width, group)] + [
        _para_piece(_plain(t, width), width, group=group) for t in lines
    ]


def _body(view: Representacion, width: float) -> list[_Piece]:
    amounts = (width * 0.36, width * 0.16)
    return [
        _parties(view, width),
        _Piece(2 * MM, lambda page, x, y: None),
        _heading_piece("Condiciones", width),
        *_campos(view.condiciones, width, 3),
        *_lines(view, width),
        *([_heading_piece("Otros cargos", width)] if view.otros_cargos else []),
        *_pairs(view.otros_cargos, (width - amounts[1], amounts[1])),
        *_text_block("Información de referencia", view.referencias, width),
        *_resumen(view, width, amounts),
        *_text_block("Estado en el Ministerio de Hacienda", hacienda_lines(view), width, group=2),
        *_text_block("Otros", view.otros, width),
    ]


def _group_height(pieces: list[_Piece], start: int) -> float:
    """The height of the group of pieces starting at ``start``."""
    group = pieces[start].group
    block = takewhile(lambda p: p.group == group, pieces[start:])
    return sum(p.height + p.space_before for p in block)


def _paginate(pieces: list[_Piece], room: float) -> list[list[tuple[float, _Piece]]]:
    """The pieces placed on pages: per page, (distance from the body's top, piece)."""
    pages: list[list[tuple[float, _Piece]]] = [[]]
    used = 0.0
    for index, piece in enumerate(pieces):
        if piece.group and (index == 0 or pieces[index - 1].group != piece.group):
            size = _group_height(pieces, index)
            if pages[-1] and used + size > room and size <= room:  # a block kept together
                pages.append([])
                used = 0.0
        space = piece.space_before if pages[-1] else 0.0
        if pages[-1] and used + space + piece.height > room:
            pages.append([])
            used, space = 0.0, 0.0
            if piece.heading is not None:
                pages[-1].append((0.0, piece.heading))
                used = piece.heading.height
        pages[-1].append((used + space, piece))
        used += space + piece.height
    return pages


def render_pages(view: Representacion, key: str, *, deterministic: bool) -> bytes:
    """The PDF of ``view`` on A4 or Letter pages (``key``: ``a4`` or ``letter``)."""
    page_width, page_height = PAGE_SIZES[key]
    width = page_width - 2 * _MARGIN
    header_height, header = _header(view, width)
    top = page_height - _MARGIN - header_height - 4 * MM
    room = top - _MARGIN - 8 * MM
    placed = _paginate(_body(view, width), room)
    document = Document(**document_info(view), deterministic=deterministic)
    for number, pieces in enumerate(placed, start=1):
        page = document.page(page_width, page_height)
        header(page, _MARGIN, page_height - _MARGIN)
        for offset, piece in pieces:
            piece.paint(page, _MARGIN, top - offset)
        _footer(page, view.leyenda, number, len(placed), width)
    return document.to_bytes()
