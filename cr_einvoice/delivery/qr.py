"""The QR code of the clave, drawn as vector modules on the page (no image, so it stays sharp when printed).

The symbol is made by segno (error correction level M, not raised when a higher level would fit; the
smallest version that holds the data); what it encodes is the 50-digit clave alone, as the existing Costa
Rican implementations do. The mask pattern is fixed (pattern 0, a checkerboard): every mask gives a valid
symbol, and choosing the one with the lowest penalty, segno's default, costs several times the rest of the
encoding. Each row of dark modules is drawn as runs of rectangles, in module units (the page scales them).
"""

from __future__ import annotations

import re

import segno

__all__ = ["QUIET_ZONE", "QrRuns", "qr_modules", "qr_runs"]

#: The quiet zone the QR standard asks for around the symbol, in modules.
QUIET_ZONE = 4
#: The mask pattern every symbol uses.
MASK = 0
_DARK_RUN = re.compile(rb"\x01+")

#: A symbol as drawn: its side in modules (quiet zone included) and its dark runs, each (column, row,
#: length) in modules from the lower-left corner of the quiet zone.
QrRuns = tuple[int, list[tuple[int, int, int]]]


def qr_modules(data: str) -> tuple[bytearray, ...]:
    """The module matrix of ``data`` (1 = dark), without the quiet zone."""
    return tuple(segno.make(data, error="m", micro=False, mask=MASK, boost_error=False).matrix)


def qr_runs(data: str) -> QrRuns:
    """The QR code of ``data`` as runs of dark modules, one per run of a row (found by a regular expression
    over the row's bytes rather than module by module)."""
    matrix = qr_modules(data)
    side = len(matrix) + 2 * QUIET_ZONE
    runs: list[tuple[int, int, int]] = []
    for row_index, row in enumerate(matrix):
        bottom = side - QUIET_ZONE - 1 - row_index
        for run in _DARK_RUN.finditer(row):
            start, end = run.span()
            runs.append((start + QUIET_ZONE, bottom, end - start))
    return side, runs
