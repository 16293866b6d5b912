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

__all__ = ["QUIET_ZONE", "QrPath", "qr_path"]

#: The quiet zone the QR standard asks for around the symbol, in modules.
QUIET_ZONE = 4
#: A run of dark modules in zxing-cpp's picture of the symbol (one byte a module, 0 = dark).
_DARK_RUN = re.compile(rb"\x00+")
#: Each whole number a run can hold, written (a symbol is at most 177 modules and its quiet zone wide):
#: looked up instead of formatted, three numbers a run and a hundred and more runs a symbol.
_NUMBERS = tuple(b"%d" % i for i in range(177 + 2 * QUIET_ZONE + 1))

#: A symbol as drawn: its side in modules (quiet zone included) and its dark runs as a path, one
#: ``column row length 1 re`` line a run, in modules from the lower-left corner of the quiet zone.
QrPath = tuple[int, bytes]


def qr_path(data: str) -> QrPath:
    """The QR code of ``data`` (not empty) as a path of its dark runs, one rectangle per run of a row."""
    symbol = zxingcpp.create_barcode(data, zxingcpp.BarcodeFormat.QRCode, ec_level="M")
    picture = symbol.to_image(scale=1, add_quiet_zones=False)  # one pixel a module
    modules = bytes(memoryview(picture))  # type: ignore[arg-type]  # its stubs omit the buffer protocol
    size = picture.shape[1]
    side = size + 2 * QUIET_ZONE
    numbers = _NUMBERS
    words: list[bytes] = []
    extend = words.extend
    finditer = _DARK_RUN.finditer
    for row_index in range(size):
        start = row_index * size
        origin = start - QUIET_ZONE
        bottom = numbers[side - QUIET_ZONE - 1 - row_index]
        for run in finditer(modules, start, start + size):
            first, end = run.span()
            extend((numbers[first - origin], bottom, numbers[end - first]))
    return side, b"%s %s %s 1 re\n" * (len(words) // 3) % tuple(words)
