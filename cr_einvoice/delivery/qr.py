"""The QR code of the clave, drawn as vector modules on the page (no image, so it stays sharp when printed).

The symbol is made by zxing-cpp (error correction level M; the smallest version that holds the data; the
mask pattern of lowest penalty, as the QR standard asks): what it encodes is the 50-digit clave alone, as
the existing Costa Rican implementations do. zxing-cpp encodes in C++: a symbol costs about a fifth of a
raw RSA-2048 signature, where a pure-Python encoder cost more than one. Each row of dark modules is drawn as
runs of rectangles, in module units (the page scales the grid once).
"""

from __future__ import annotations

import re

import zxingcpp

__all__ = ["QUIET_ZONE", "QrRuns", "qr_runs"]

#: The quiet zone the QR standard asks for around the symbol, in modules.
QUIET_ZONE = 4
#: A run of dark modules in zxing-cpp's picture of the symbol (one byte a module, 0 = dark).
_DARK_RUN = re.compile(rb"\x00+")

#: A symbol as drawn: its side in modules (quiet zone included) and its dark runs, each (column, row,
#: length) in modules from the lower-left corner of the quiet zone.
QrRuns = tuple[int, list[tuple[int, int, int]]]


def qr_runs(data: str) -> QrRuns:
    """The QR code of ``data`` (not empty) as runs of dark modules, one per run of a row."""
    symbol = zxingcpp.create_barcode(data, zxingcpp.BarcodeFormat.QRCode, ec_level="M")
    picture = symbol.to_image(scale=1, add_quiet_zones=False)  # one pixel a module
    modules = bytes(memoryview(picture))  # type: ignore[arg-type]  # its stubs omit the buffer protocol
    size = picture.shape[1]
    side = size + 2 * QUIET_ZONE
    runs: list[tuple[int, int, int]] = []
    for row_index in range(size):
        bottom = side - QUIET_ZONE - 1 - row_index
        start = row_index * size
        for run in _DARK_RUN.finditer(modules, start, start + size):
            first, end = run.span()
            runs.append((first - start + QUIET_ZONE, bottom, end - first))
    return side, runs
