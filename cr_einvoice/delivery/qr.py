"""The QR code of the clave, drawn as vector modules on the page (no image, so it stays sharp when printed).

The symbol is made by zxing-cpp (error correction level M; the smallest version that holds the data; the
mask pattern of lowest penalty, as the QR standard asks): what it encodes is the 50-digit clave alone, as
the existing Costa Rican implementations do. zxing-cpp encodes in C++: a symbol costs about a fifth of a
raw RSA-2048 signature, where a pure-Python encoder cost more than one.

Each dark module is a unit square of one path, filled at once (so neighbours join without seams), in
module units (the page scales the grid once). The squares are picked in C: the operators of every module
of a symbol of that size are written once per process, and ``itertools.compress`` keeps those of the dark
modules of zxing-cpp's picture -- a few microseconds, where finding and writing runs of modules in Python
cost more than encoding the symbol.
"""

from __future__ import annotations

import functools
from itertools import compress

import zxingcpp

__all__ = ["QUIET_ZONE", "QrPath", "qr_path"]

#: The quiet zone the QR standard asks for around the symbol, in modules.
QUIET_ZONE = 4
#: zxing-cpp's picture of a symbol has one byte a module, 0 for a dark one: 1 for those, 0 for the others.
_DARK = bytes(1 if value == 0 else 0 for value in range(256))

#: A symbol as drawn: its side in modules (quiet zone included) and its dark modules as a path, one
#: ``column row 1 1 re`` line a module, in modules from the lower-left corner of the quiet zone.
QrPath = tuple[int, bytes]


@functools.lru_cache(maxsize=4)  # the clave's symbol is always the same size
def _squares(size: int) -> tuple[bytes, ...]:
    """The square of every module of a ``size`` × ``size`` symbol, in zxing-cpp's order (rows from the
    top, each from the left)."""
    top = size + QUIET_ZONE - 1
    return tuple(
        b"%d %d 1 1 re\n" % (QUIET_ZONE + column, top - row) for row in range(size) for column in range(size)
    )


def qr_path(data: str) -> QrPath:
    """The QR code of ``data`` (not empty) as a path of its dark modules."""
    symbol = zxingcpp.create_barcode(data, zxingcpp.BarcodeFormat.QRCode, ec_level="M")
    picture = symbol.to_image(scale=1, add_quiet_zones=False)  # one pixel a module
    modules = bytes(memoryview(picture))  # type: ignore[arg-type]  # its stubs omit the buffer protocol
    size = picture.shape[1]
    if len(modules) != size * size:
        raise ValueError(f"zxing-cpp drew a {picture.shape} picture for a square symbol")
    return size + 2 * QUIET_ZONE, b"".join(compress(_squares(size), modules.translate(_DARK)))
