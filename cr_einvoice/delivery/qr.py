"""The QR code of the clave, drawn as vector modules on the page (no image, so it stays sharp when printed).

The symbol is made by segno (error correction level M, the smallest version that holds the data, segno's
mask selection); what it encodes is the 50-digit clave alone, as the existing Costa Rican implementations
do. Each row of dark modules is drawn as runs of rectangles in one path.
"""

from __future__ import annotations

from typing import Any

import segno
from reportlab.platypus import Flowable

__all__ = ["QRCode", "qr_modules"]

#: The quiet zone the QR standard asks for around the symbol, in modules.
QUIET_ZONE = 4


def qr_modules(data: str) -> tuple[bytearray, ...]:
    """The module matrix of ``data`` (1 = dark), without the quiet zone."""
    return tuple(segno.make(data, error="m", micro=False).matrix)


class QRCode(Flowable):
    """A square flowable of ``size`` points (quiet zone included) showing the QR code of ``data``."""

    def __init__(self, data: str, size: float) -> None:
        super().__init__()
        self.data = data
        self.size = size
        self.hAlign = "CENTER"
        self.matrix = qr_modules(data)

    def wrap(self, avail_width: float, avail_height: float) -> tuple[float, float]:
        return self.size, self.size

    def draw(self) -> None:
        canvas: Any = self.canv
        count = len(self.matrix) + 2 * QUIET_ZONE
        module = self.size / count
        path = canvas.beginPath()
        for row_index, row in enumerate(self.matrix):
            y = self.size - (row_index + QUIET_ZONE + 1) * module
            start = -1
            for col, dark in enumerate((*row, 0)):
                if dark and start < 0:
                    start = col
                elif not dark and start >= 0:
                    path.rect((start + QUIET_ZONE) * module, y, (col - start) * module, module)
                    start = -1
        canvas.saveState()
        canvas.setFillColorRGB(0, 0, 0)
        canvas.drawPath(path, stroke=0, fill=1)
        canvas.restoreState()
