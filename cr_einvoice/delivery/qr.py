"""The QR code of the clave, drawn as vector modules on the page (no image, so it stays sharp when printed).

The symbol is made by zint (C, through ``zint-bindings``; error correction level M; the smallest version
that holds the data; the mask pattern of lowest penalty, as the QR standard asks): what it encodes is the
50-digit clave alone, as the existing Costa Rican implementations do. zint is also the encoder zxing-cpp 3 is
built on (the tests compare their symbols of claves module by module, and decode ours with zxing-cpp);
called directly it takes about two thirds of the time of zxing-cpp's ``create_barcode``.

Each dark module is a unit square of one path, filled at once (so neighbours join without seams), in
module units (the page scales the grid once). The squares are picked in C: the operators of every module
of a symbol of that size are written once per process, and ``itertools.compress`` keeps those of the dark
modules of zint's bit rows -- a few microseconds, where finding and writing runs of modules in Python cost
more than encoding the symbol.
"""

from __future__ import annotations

import functools
from itertools import compress

import zint

__all__ = ["QUIET_ZONE", "QrPath", "qr_path"]

#: The quiet zone the QR standard asks for around the symbol, in modules.
QUIET_ZONE = 4
#: zint keeps a symbol's rows in ``encoded_data``, this many bytes a row, eight modules a byte (the first
#: module in the lowest bit; 1 dark).
_ROW_BYTES = 144
#: Each byte's eight modules, one byte each (1 dark), lowest bit first.
_UNPACK = tuple(bytes((value >> bit) & 1 for bit in range(8)) for value in range(256))
#: Error correction level M.
_LEVEL_M = 2

#: A symbol as drawn: its side in modules (quiet zone included) and its dark modules as a path, one
#: ``column row 1 1 re`` line a module, in modules from the lower-left corner of the quiet zone.
QrPath = tuple[int, bytes]


@functools.lru_cache(maxsize=4)  # the clave's symbol is always the same size
def _squares(size: int) -> tuple[bytes, ...]:
    """The square of every module of a ``size`` × ``size`` symbol, rows from the top, each from the left
    and padded to whole bytes as zint keeps them (the padding draws nothing)."""
    top = size + QUIET_ZONE - 1
    width = (size + 7) // 8 * 8
    return tuple(
        b"%d %d 1 1 re\n" % (QUIET_ZONE + column, top - row) if column < size else b""
        for row in range(size)
        for column in range(width)
    )


def qr_path(data: str) -> QrPath:
    """The QR code of ``data`` (not empty) as a path of its dark modules."""
    symbol = zint.Symbol()
    symbol.symbology = zint.Symbology.QRCODE
    symbol.option_1 = _LEVEL_M
    symbol.encode(data.encode("utf-8"))
    size = symbol.width
    if symbol.rows != size:
        raise ValueError(f"zint drew a {symbol.rows} × {size} QR code")
    used = (size + 7) // 8
    rows = memoryview(symbol.encoded_data).cast("B")
    packed = b"".join([rows[at : at + used] for at in range(0, size * _ROW_BYTES, _ROW_BYTES)])
    return size + 2 * QUIET_ZONE, b"".join(
        compress(_squares(size), b"".join(map(_UNPACK.__getitem__, packed)))
    )
