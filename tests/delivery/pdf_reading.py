"""Reading a rendered PDF back as a person or a scanner would: its text (pypdf), its pages rasterised
(pypdfium2) and the QR code decoded from the picture (zxing-cpp)."""

from __future__ import annotations

import io
import re

import pypdfium2
import zxingcpp
from pypdf import PdfReader


def page_texts(pdf: bytes) -> list[str]:
    """The text of each page (no-break spaces read as spaces)."""
    reader = PdfReader(io.BytesIO(pdf))
    return [(page.extract_text() or "").replace("\u00a0", " ") for page in reader.pages]


def squeeze(text: str) -> str:
    """The text without any white space, so a value wrapped over lines is still found."""
    return re.sub(r"\s+", "", text)


def page_sizes(pdf: bytes) -> list[tuple[float, float]]:
    reader = PdfReader(io.BytesIO(pdf))
    return [(float(p.mediabox.width), float(p.mediabox.height)) for p in reader.pages]


def embedded_fonts(pdf: bytes) -> dict[str, bool]:
    """Base font name → whether its program is embedded (FontFile2 in the descriptor)."""
    reader = PdfReader(io.BytesIO(pdf))
    out: dict[str, bool] = {}
    for page in reader.pages:
        fonts = page["/Resources"].get_object().get("/Font", {})
        for ref in fonts.values():
            font = ref.get_object()
            descriptor = font.get("/FontDescriptor")
            embedded = descriptor is not None and "/FontFile2" in descriptor.get_object()
            out[str(font["/BaseFont"])] = embedded
    return out


def decode_qr(pdf: bytes, page: int = 0, scale: float = 3.0) -> list[str]:
    """Rasterise one page and decode every QR code on it. A long roll page is rasterised in overlapping
    bands (pdfium loses small shapes on a bitmap tens of thousands of pixels tall)."""
    document = pypdfium2.PdfDocument(pdf)
    try:
        sheet = document[page]
        height = sheet.get_height()
        band, step = 700.0, 500.0
        crops = [(0.0, 0.0, 0.0, 0.0)]
        if height > 2 * band:
            crops = [
                (0.0, max(0.0, height - top - band), 0.0, top)
                for top in [i * step for i in range(int(height // step) + 1)]
            ]
        found: list[str] = []
        for crop in crops:
            image = sheet.render(scale=scale, crop=crop).to_pil()
            for r in zxingcpp.read_barcodes(image):
                if r.format == zxingcpp.BarcodeFormat.QRCode and r.text not in found:
                    found.append(r.text)
        return found
    finally:
        document.close()
