"""The QR code of the clave, drawn as vector modules on the page (no image, so it stays sharp when printed).

The symbol is made by segno (error correction level M, the smallest version that holds the data); what it
encodes is the 50-digit clave alone, as the existing Costa Rican implementations do. The mask pattern is
fixed (pattern 0, a checkerboard: every mask gives a valid symbol; choosing the one with the lowest
penalty, segno's default, costs several times the rest of the encoding and a printed clave reads with
any). Each row of dark modules is drawn as runs of rectangles in one path.
"""

from __future__ import annotations

from typing import Any

import segno
from reportlab.platypus import Flowable

__all__ = ["QRCode", "qr_modules", "qr_rects"]

#: The quiet zone the QR standard asks for around the symbol, in modules.
QUIET_ZONE = 4
#: The mask pattern every symbol uses.
MASK = 0


def qr_modules(data: str) -> tuple[bytearray, ...]:
    """The module matrix of ``data`` (1 = dark), without the quiet zone."""
    return tuple(segno.make(data, error="m", micro=False, mask=MASK).matrix)


def qr_rects(data: str, x: float, y: float, size: float) -> list[tuple[float, float, float, float]]:
    """The dark modules of the QR code of ``data`` as rectangles (x, y, width, height), one per run of a
    row, for a symbol ``size`` points square (quiet zone included) whose lower-left corner is (x, y)."""
    matrix = qr_modules(data)
    module = size / (len(matrix) + 2 * QUIET_ZONE)
    rects: list[tuple[float, float, float, float]] = []
    for row_index, row in enumerate(matrix):
        top = y + size - (row_index + QUIET_ZONE + 1) * module
        start = -1
        for col, dark in enumerate((*row, 0)):
            if dark and start < 0:
                start = col
            elif not dark and start >= 0:
                rects.append((x + (start + QUIET_ZONE) * module, top, (col - start) * module, module))
                start = -1
    return rects


class QRCode(Flowable):
    """A square flowable of ``size`` points (quiet zone included) showing the QR code of ``data``."""

    def __init__(self, data: str, size: float) -> None:
        super().__init__()
        self.data = data
        self.size = size
        self.hAlign = "CENTER"

    def wrap(self, avail_width: float, avail_height: float) -> tuple[float, float]:
        return self.size, self.size

    def draw(self) -> None:
        canvas: Any = self.canv
        path = canvas.beginPath()
        for rect in qr_rects(self.data, 0.0, 0.0, self.size):
            path.rect(*rect)
        canvas.saveState()
        canvas.setFillColorRGB(0, 0, 0)
        canvas.drawPath(path, stroke=0, fill=1)
        canvas.restoreState()
