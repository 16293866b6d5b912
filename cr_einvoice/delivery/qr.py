"""The QR code of the clave, drawn as vector modules on the page (no image, so it stays sharp when printed).

The symbol is made by segno (error correction level M, not raised when a higher level would fit; the
smallest version that holds the data); what it encodes is the 50-digit clave alone, as the existing Costa
Rican implementations do. The mask pattern is fixed (pattern 0, a checkerboard): every mask gives a valid
symbol, and choosing the one with the lowest penalty, segno's default, costs several times the rest of the
encoding. Each row of dark modules is drawn as runs of rectangles.
"""

from __future__ import annotations

import segno

__all__ = ["qr_modules", "qr_rects"]

#: The quiet zone the QR standard asks for around the symbol, in modules.
QUIET_ZONE = 4
#: The mask pattern every symbol uses.
MASK = 0


def qr_modules(data: str) -> tuple[bytearray, ...]:
    """The module matrix of ``data`` (1 = dark), without the quiet zone."""
    return tuple(segno.make(data, error="m", micro=False, mask=MASK, boost_error=False).matrix)


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
