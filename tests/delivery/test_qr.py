"""The QR code of a clave: zint's symbol, the very modules zxing-cpp 3 (which is built on zint) makes for
it, drawn as one square a dark module."""

from __future__ import annotations

import random

import zxingcpp

from cr_einvoice.delivery.qr import QUIET_ZONE, qr_path


def _zxing_squares(data: str) -> tuple[int, set[tuple[int, int]]]:
    """The symbol zxing-cpp makes for ``data``: its side (quiet zone included) and its dark modules, as
    (column, row from the bottom) in the drawing's module units."""
    picture = zxingcpp.create_barcode(data, zxingcpp.BarcodeFormat.QRCode, ec_level="M").to_image(
        scale=1, add_quiet_zones=False
    )
    size = picture.shape[1]
    modules = bytes(memoryview(picture))  # type: ignore[arg-type]
    top = size + QUIET_ZONE - 1
    dark = {(QUIET_ZONE + i % size, top - i // size) for i, value in enumerate(modules) if value == 0}
    return size + 2 * QUIET_ZONE, dark


def _squares(path: bytes) -> set[tuple[int, int]]:
    out = set()
    for line in path.splitlines():
        x, y, w, h, op = line.split()
        assert (w, h, op) == (b"1", b"1", b"re")
        out.add((int(x), int(y)))
    return out


def test_the_modules_are_zxing_cpps_for_claves() -> None:
    rng = random.Random(20261207)
    claves = ["50615072600310112345600100001010000000123148213975"]
    claves += ["506" + "".join(rng.choice("0123456789") for _ in range(47)) for _ in range(300)]
    for clave in claves:
        side, path = qr_path(clave)
        assert (side, _squares(path)) == _zxing_squares(clave), clave


def test_other_texts_and_sizes() -> None:
    for data in ("1", "https://www.hacienda.go.cr/", "X" * 300):
        side, path = qr_path(data)
        assert (side, _squares(path)) == _zxing_squares(data), data
        assert path.count(b"\n") == len(_squares(path))  # one square a module, none twice
