"""Measuring and breaking text in the embedded fonts, shared by the page and roll layouts (no PDF library:
the widths are the fonts' own, read once by :mod:`cr_einvoice.delivery.pdfwriter`)."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import accumulate

from cr_einvoice.delivery.document import Representacion
from cr_einvoice.delivery.pdfwriter import Font, get_font, text_width

__all__ = [
    "Run",
    "amount_width",
    "document_info",
    "hacienda_lines",
    "measured_lines",
    "wrap_runs",
    "wrap_text",
]


def wrap_text(text: str, font: str, size: float, width: float) -> list[str]:
    """``text`` broken into lines no wider than ``width``, at ordinary spaces only: a figure's no-break
    spaces (``1 428 565,00``) hold it together; a word wider than a line is cut between characters."""
    f = get_font(font)
    data = f.encode(text)
    if not text.startswith(" ") and f.units(data) * size / 1000.0 <= width:
        return [text]  # what the loop below would give, at once
    return [text[start:stop] for start, stop in _Wrap(text, data, f, size, width).spans]


def measured_lines(text: str, font: Font, size: float, width: float) -> list[tuple[bytes, float]]:
    """``text`` broken as :func:`wrap_text` breaks it, each line in ``font``'s codes with its width at
    ``size``: measured once, for a layout that aligns the lines and draws them with
    :meth:`~cr_einvoice.delivery.pdfwriter.Page.show`."""
    data = font.encode(text)
    used = font.units(data) * size / 1000.0
    if used <= width and not text.startswith(" "):
        return [(data, used)]
    wrap = _Wrap(text, data, font, size, width)
    return [(data[start:stop], wrap.width(start, stop)) for start, stop in wrap.spans]


class _Sums:
    """The running sums of a text's code widths (``data``: the text in ``f``'s codes, one byte a character;
    the high and low bytes of the font units summed in C): any span's width in font units by two
    subtractions, the very number :meth:`~cr_einvoice.delivery.pdfwriter.Font.units` gives for that span's
    own encoding, so no span is encoded or measured again."""

    __slots__ = ("high", "low")

    def __init__(self, data: bytes, f: Font) -> None:
        self.high = list(accumulate(data.translate(f.high), initial=0))
        self.low = list(accumulate(data.translate(f.low), initial=0))

    def units(self, start: int, stop: int) -> int:
        """The width of ``data[start:stop]`` in whole font units."""
        high, low = self.high, self.low
        return (high[stop] - high[start]) * 256 + low[stop] - low[start]


class _Wrap:
    """The loop of :func:`wrap_text`: each line as the span of ``text`` it is (its words and the single
    spaces between them, or a piece of a word too wide for a line), its width from the running sums of
    ``data`` (``text`` in the font's codes, :class:`_Sums`)."""

    __slots__ = ("scale", "spans", "sums")

    def __init__(self, text: str, data: bytes, f: Font, size: float, width: float) -> None:
        self.sums = _Sums(data, f)
        self.scale = (f.unit, size)
        space = f.units(b" ") * size / 1000.0
        spans: list[tuple[int, int]] = []
        start = stop = 0  # the line so far: text[start:stop] (empty when equal)
        used = 0.0  # its width, summed word by word (the fonts are not kerned)
        at = 0
        for word in text.split(" "):
            end = at + len(word)
            extra = self.width(at, end)
            candidate = used + space + extra if stop > start else extra
            if candidate <= width:
                if stop == start:
                    start = at
                stop, used = end, candidate
                at = end + 1
                continue
            if stop > start:
                spans.append((start, stop))
            start, stop, used = at, end, extra
            at = end + 1
            while used > width and stop - start > 1:
                cut = stop - start - 1
                while cut > 1 and self.width(start, start + cut) > width:
                    cut -= 1
                spans.append((start, start + cut))
                start += cut
                used = self.width(start, stop)
        spans.append((start, stop))
        self.spans = spans

    def width(self, start: int, stop: int) -> float:
        """The width of ``text[start:stop]`` at the size."""
        unit, size = self.scale
        return self.sums.units(start, stop) * unit * size / 1000.0


def amount_width(view: Representacion, font: str, size: float, width: float) -> float:
    """The width of an amount column: the widest amount the document prints in ``font`` and ``size``, at
    least a quarter of ``width`` and at most half of it, so figures never wrap."""
    values = [c.valor for c in (*view.resumen, *view.otros_cargos, view.total)]
    values += [ln.total for ln in view.lineas]
    # all encoded and summed at once, the widest turned into points as text_width turns it
    f = get_font(font)
    sums = _Sums(f.encode("".join(values)), f)
    widest = at = 0
    for value in values:
        end = at + len(value)
        widest = max(widest, sums.units(at, end))
        at = end
    return min(max(widest * f.unit * size / 1000.0 + 4, width / 4), width / 2)


def hacienda_lines(view: Representacion) -> list[str]:
    """Hacienda's state and the findings of its answer, when known (nothing otherwise)."""
    return ([f"Estado: {view.estado}"] if view.estado else []) + list(view.hacienda)


def document_info(view: Representacion) -> dict[str, str]:
    """The PDF's information: title, author, subject."""
    return {
        "title": f"{view.titulo} {view.consecutivo}",
        "author": view.emisor.nombre or view.emisor.campos[0].valor,
        "subject": f"Clave {view.clave}",
    }


#: A run of text in one font: (text, font name).
Run = tuple[str, str]


def wrap_runs(runs: Sequence[Run], size: float, width: float) -> list[list[Run]]:
    """Mixed-font text (a bold label, then its value) broken into lines no wider than ``width`` at ordinary
    spaces. Each line is a list of runs; a run after the first of a line starts with the space that
    separates it from the previous word."""
    lines: list[list[Run]] = []
    line: list[Run] = []
    used = 0.0
    for text, font in runs:
        for piece in text.split(" "):
            if not piece:
                continue
            for word in wrap_text(piece, font, size, width):
                gap = f" {word}" if line else word
                extra = text_width(gap, font, size)
                if line and used + extra > width:
                    lines.append(line)
                    line, used, gap, extra = [], 0.0, word, text_width(word, font, size)
                if line and line[-1][1] == font:
                    line[-1] = (line[-1][0] + gap, font)
                else:
                    line.append((gap, font))
                used += extra
    lines.append(line)
    return lines
