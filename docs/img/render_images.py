"""Render the README's pictures of the graphic representation: docs/img/tiquete-80mm.png and
docs/img/factura-a4.png, from the shipped examples (TE and FE) signed with a TEST key.

Run from the project root: ``python docs/img/render_images.py`` (needs the ``dev`` extra: pypdfium2 rasterises
the PDF). The PNGs are grey levels quantised to 16 shades, so they stay small.
"""

from __future__ import annotations

import sys
import tempfile
from datetime import datetime
from pathlib import Path

import pypdfium2
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from cr_einvoice.core.clave import CR_TZ, Clave, Consecutivo  # noqa: E402
from cr_einvoice.delivery.pdf import render_pdf  # noqa: E402
from cr_einvoice.signing.certs import load_p12  # noqa: E402
from cr_einvoice.signing.xades import Signer  # noqa: E402
from cr_einvoice.testing.examples import example_json  # noqa: E402
from cr_einvoice.testing.pki import make_test_pki  # noqa: E402
from cr_einvoice.vouchers.jsonio import document_from_json  # noqa: E402
from cr_einvoice.vouchers.xmlwrite import to_xml  # noqa: E402

OUT = Path(__file__).resolve().parent
#: (example, format, file, scale)
PICTURES = (("te", "80mm", "tiquete-80mm.png", 1.6), ("fe", "a4", "factura-a4.png", 1.15))


def signed_example(signer: Signer, kind: str) -> bytes:
    doc = document_from_json(example_json(kind))
    fecha = datetime(2026, 7, 15, 9, 30, tzinfo=CR_TZ)
    consecutivo = Consecutivo(sucursal=1, terminal=1, tipo=doc.tipo, numero=123)
    emisor = doc.emisor.identificacion  # type: ignore[union-attr]
    clave = Clave.build(
        tipo_identificacion=emisor.tipo,
        numero_identificacion=emisor.numero,
        consecutivo=consecutivo,
        fecha=fecha,
        codigo_seguridad="48213975",
    )
    numbered = doc.with_numbering(consecutivo=consecutivo, clave=clave, fecha_emision=fecha)  # type: ignore[union-attr]
    return signer.sign(to_xml(numbered))


def main() -> int:
    with tempfile.TemporaryDirectory() as folder:
        pki = make_test_pki(folder, rc2=False)
        signer = Signer(load_p12(str(pki.taxpayer_p12), pki.pin))
        for kind, fmt, name, scale in PICTURES:
            pdf = render_pdf(signed_example(signer, kind), format=fmt, estado="aceptado", deterministic=True)
            document = pypdfium2.PdfDocument(pdf)
            image = document[0].render(scale=scale).to_pil().convert("L")
            document.close()
            small = image.quantize(colors=16, dither=Image.Dither.NONE)
            small.save(OUT / name, optimize=True)
            print(f"{OUT / name}: {image.size[0]}x{image.size[1]}, {(OUT / name).stat().st_size} bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
