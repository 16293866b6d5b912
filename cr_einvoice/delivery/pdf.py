"""The graphic representation as a PDF: :func:`render_pdf`, and the page layouts (A4 and Letter).

Every page repeats the document's name and version, its clave, consecutivo and fecha de emisión, kept
together as Nota 1 of the Anexos asks, and ends with the leyenda and "Página N de M"; the lines' column
headings repeat on every page the lines run over. The first page carries the QR code of the clave beside
the emisor and receptor. Roll layouts (80 mm, 58 mm) are in :mod:`cr_einvoice.delivery.ticket`.

Needs the optional extra ``cr-einvoice[pdf]`` (reportlab for the fonts, zxing-cpp for the QR code).
"""

from __future__ import annotations

from cr_einvoice.core.errors import ConfigError, ValidationError
from cr_einvoice.delivery.document import representacion

__all__ = ["FORMATS", "PAGE_FORMATS", "ROLL_FORMATS", "render_pdf"]

PAGE_FORMATS = ("a4", "letter")
ROLL_FORMATS = ("80mm", "58mm")
#: Every format :func:`render_pdf` knows.
FORMATS = PAGE_FORMATS + ROLL_FORMATS


def render_pdf(
    signed_xml: bytes,
    *,
    respuesta_xml: bytes | None = None,
    estado: str | None = None,
    format: str = "a4",
    deterministic: bool = False,
    leyenda: str | None = None,
) -> bytes:
    """The PDF of a signed voucher (FE, ND, NC, TE, FEC, FEE, REP or MensajeReceptor).

    ``format``: ``a4`` or ``letter`` (pages), ``80mm`` or ``58mm`` (a thermal roll; any type).
    ``respuesta_xml``: Hacienda's MensajeHacienda, whose state and findings are printed; ``estado`` the
    state to print instead (``aceptado``, ``rechazado``, ``procesando``, ... or an outbox state such as
    ``accepted``). ``deterministic``: the same input gives the same bytes (no creation time, fixed document
    id), for golden tests and reproducible archives. ``leyenda``: the resolution text (by default the one of
    the voucher's schema version).

    Raises :class:`~cr_einvoice.core.errors.ValidationError` naming the field for bad input and
    :class:`~cr_einvoice.core.errors.ConfigError` when the ``[pdf]`` extra is not installed.
    """
    key = format.strip().lower() if isinstance(format, str) else format
    if key not in FORMATS:
        raise ValidationError(
            f"unknown format {format!r} (expected one of {', '.join(FORMATS)})", path="format"
        )
    view = representacion(signed_xml, respuesta_xml=respuesta_xml, estado=estado, leyenda=leyenda)
    _require_extra()
    if key in ROLL_FORMATS:
        from cr_einvoice.delivery.ticket import render_ticket

        return render_ticket(view, width_mm=int(key[:-2]), deterministic=deterministic)
    from cr_einvoice.delivery.pages import render_pages

    return render_pages(view, key, deterministic=deterministic)


def _require_extra() -> None:
    try:
        import reportlab  # noqa: F401
        import zxingcpp  # noqa: F401
    except ImportError as exc:
        raise ConfigError(
            "the graphic representation needs the optional extra: pip install 'cr-einvoice[pdf]' "
            f"({exc.name} is missing)"
        ) from None
