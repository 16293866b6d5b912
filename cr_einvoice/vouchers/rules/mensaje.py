"""MensajeReceptor rules: the confirmed clave against the emisor's cédula, the reason of a partial
acceptance or rejection, and the consecutivo's document type."""

from __future__ import annotations

from cr_einvoice.core.catalogs import Mensaje
from cr_einvoice.core.clave import Consecutivo
from cr_einvoice.core.errors import ClaveError
from cr_einvoice.vouchers.rules._base import Ctx
from cr_einvoice.vouchers.rules.header import parse_clave

__all__ = ["check_mensaje_receptor"]

#: Mensaje 1/2/3 → the document type its consecutivo carries (05/06/07).
_MENSAJE_TIPO = {m.value: m.tipo_documento.value for m in Mensaje}


def check_mensaje_receptor(ctx: Ctx) -> None:
    root = ctx.root
    clave = parse_clave(ctx)
    cedula = ctx.text(root, "NumeroCedulaEmisor")
    if (
        clave is not None
        and cedula is not None
        and not (cedula.isdigit() and len(cedula) <= 12 and cedula.rjust(12, "0") == clave.identificacion)
    ):
        ctx.hacienda(-8, "Clave")
    mensaje = ctx.text(root, "Mensaje")
    if mensaje in ("2", "3") and not ctx.text(root, "DetalleMensaje"):
        ctx.add("DetalleMensaje", f"DetalleMensaje (the reason) is required with Mensaje {mensaje}")
    consecutivo_text = ctx.text(root, "NumeroConsecutivoReceptor")
    if consecutivo_text is None:
        return
    try:
        consecutivo = Consecutivo.parse(consecutivo_text, path="NumeroConsecutivoReceptor")
    except ClaveError as exc:
        for p in exc.problems:
            ctx.add("NumeroConsecutivoReceptor", f"{p.path}: {p.message}")
        return
    want = _MENSAJE_TIPO.get(mensaje or "")
    if want is not None and consecutivo.tipo.value != want:
        # Mensaje 1/2/3 needs document type 05/06/07 in the consecutivo; Hacienda's exact text.
        ctx.hacienda(-1, "NumeroConsecutivoReceptor")
