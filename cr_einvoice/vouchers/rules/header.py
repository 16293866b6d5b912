"""Header rules: clave, consecutivo and date, sale condition and payment means, references and the
parties' identifications."""

from __future__ import annotations

from datetime import datetime

from lxml import etree

from cr_einvoice.core.clave import Clave, Consecutivo, cr_date, identificacion_problem
from cr_einvoice.core.errors import ClaveError
from cr_einvoice.core.money import ZERO
from cr_einvoice.core.money import fmt_amount as fmt
from cr_einvoice.vouchers.rules._base import Ctx

__all__ = [
    "check_condicion_y_pago",
    "check_header",
    "check_identificaciones",
    "check_referencias",
    "parse_clave",
]

_CREDITO = frozenset({"02", "08", "10"})
#: TipoDocIR whose Numero must be a clave (Anexos, InformacionReferencia/Numero).
_IR_CLAVE = frozenset({"01", "02", "03", "04", "09", "11", "12", "15"})
_REP_IR = frozenset({"01", "02", "03", "04", "08", "20"})


def parse_clave(ctx: Ctx) -> Clave | None:
    text = ctx.text(ctx.root, "Clave")
    if text is None:
        ctx.add("Clave", "the Clave is missing")
        return None
    try:
        return Clave.parse(text)
    except ClaveError as exc:
        for p in exc.problems:
            ctx.add("Clave", f"{p.path}: {p.message}")
        return None


def check_header(ctx: Ctx) -> None:
    root = ctx.root
    clave = parse_clave(ctx)
    consecutivo_text = ctx.text(root, "NumeroConsecutivo")
    consecutivo: Consecutivo | None = None
    if consecutivo_text is not None:
        try:
            consecutivo = Consecutivo.parse(consecutivo_text)
        except ClaveError as exc:
            for p in exc.problems:
                ctx.add("NumeroConsecutivo", f"{p.path}: {p.message}")
    document = ctx.document
    if consecutivo is not None and document is not None and consecutivo.tipo not in document.tipos:
        # Hacienda's exact text; the consecutivo's type does not match the root element.
        ctx.hacienda(-1, "NumeroConsecutivo")
    if clave is None:
        return
    if consecutivo_text is not None and str(clave.consecutivo) != consecutivo_text:
        ctx.hacienda(-23, "NumeroConsecutivo")
    emisor_id = ctx.child(ctx.child(root, "Emisor"), "Identificacion")
    candidates = [emisor_id]
    if ctx.fec:
        # Open point (notes §13.4): which party's id a FEC clave carries; accept the emisor or the receptor.
        candidates.append(ctx.child(ctx.child(root, "Receptor"), "Identificacion"))
    ids = [(ctx.text(c, "Tipo"), ctx.text(c, "Numero")) for c in candidates if c is not None]
    if ids and not any(t and n and clave.matches_identificacion(t, n) for t, n in ids):
        ctx.hacienda(-8, "Clave")
    fecha_text = ctx.text(root, "FechaEmision")
    if fecha_text is not None:
        try:
            fecha = datetime.fromisoformat(fecha_text.replace("Z", "+00:00"))
        except ValueError:
            return  # the XSD reports a malformed dateTime
        if fecha.tzinfo is None:
            ctx.add("FechaEmision", "FechaEmision must carry a time-zone offset (use -06:00)")
        elif cr_date(fecha) != clave.fecha:
            ctx.hacienda(-405, "Clave")


# -- header conditions, payment means, references, identifications ---------------------------------------


def check_condicion_y_pago(ctx: Ctx) -> None:
    root = ctx.root
    rep = ctx.rep
    condicion = ctx.text(root, "CondicionVenta")
    plazo_text = ctx.text(root, "PlazoCredito")
    if condicion in ("02", "10") or plazo_text is not None:
        try:
            plazo = int(plazo_text) if plazo_text is not None else 0
        except ValueError:
            plazo = 0
        if plazo <= 0:
            ctx.hacienda(-58, "PlazoCredito")
    if condicion == "99" and ctx.text(root, "CondicionVentaOtros") is None:
        ctx.add("CondicionVentaOtros", "CondicionVentaOtros is required with CondicionVenta 99")
    if rep and condicion not in ("09", "11"):
        ctx.add(
            "CondicionVenta",
            f"a Recibo Electrónico de Pago only allows CondicionVenta 09 or 11, got {condicion}",
        )
    if not rep and condicion in ("09", "11"):
        ctx.add(
            "CondicionVenta", f"CondicionVenta {condicion} is only allowed in a Recibo Electrónico de Pago"
        )
    if condicion == "12" and not ctx.fe:
        ctx.add("CondicionVenta", "CondicionVenta 12 (mercancía no nacionalizada) is only allowed in a FE")
    resumen = ctx.child(root, "ResumenFactura")
    medios = ctx.children(resumen, "MedioPago")
    if not medios and (rep or condicion not in _CREDITO):
        ctx.add(
            "ResumenFactura/MedioPago",
            "MedioPago is required"
            + (
                " in a Recibo Electrónico de Pago"
                if rep
                else " unless CondicionVenta is a credit sale (02, 08, 10)"
            ),
        )
    total = ZERO
    for m, medio in enumerate(medios, start=1):
        mpath = f"ResumenFactura/MedioPago[{m}]"
        if ctx.text(medio, "TipoMedioPago") == "99" and ctx.text(medio, "MedioPagoOtros") is None:
            ctx.hacienda(-492, f"{mpath}/MedioPagoOtros")
        amount = ctx.dec(medio, "TotalMedioPago")
        if amount is not None and amount <= 0:
            ctx.add(f"{mpath}/TotalMedioPago", "TotalMedioPago must be greater than zero")
        if amount is None and len(medios) > 1:
            ctx.add(
                f"{mpath}/TotalMedioPago",
                "TotalMedioPago is required when more than one payment means is used",
            )
        total += amount or ZERO
    if len(medios) > 1:
        comprobante = ctx.dec(resumen, "TotalComprobante") or ZERO
        if total != comprobante:
            ctx.add(
                "ResumenFactura/TotalComprobante",
                f"TotalComprobante {fmt(comprobante)} must equal the sum of TotalMedioPago {fmt(total)} "
                "when two or more payment means are used",
            )


def check_referencias(ctx: Ctx) -> None:
    root = ctx.root
    refs = ctx.children(root, "InformacionReferencia")
    if not refs and (ctx.notas or ctx.fec or ctx.rep):
        ctx.add("InformacionReferencia", f"InformacionReferencia is required in a {ctx.kind}")
    pairs: list[tuple[str | None, str | None]] = []
    for r, ref in enumerate(refs, start=1):
        rpath = f"InformacionReferencia[{r}]"
        tipo = ctx.text(ref, "TipoDocIR")
        codigo = ctx.text(ref, "Codigo")
        pairs.append((tipo, codigo))
        if tipo == "99" and ctx.text(ref, "TipoDocRefOTRO") is None:
            ctx.add(f"{rpath}/TipoDocRefOTRO", "TipoDocRefOTRO is required with TipoDocIR 99")
        if codigo == "99" and ctx.text(ref, "CodigoReferenciaOTRO") is None:
            ctx.add(f"{rpath}/CodigoReferenciaOTRO", "CodigoReferenciaOTRO is required with Codigo 99")
        if tipo == "16" and not ctx.fec:
            ctx.add(f"{rpath}/TipoDocIR", "TipoDocIR 16 (proveedor no domiciliado) is only allowed in a FEC")
        if ctx.rep and tipo not in _REP_IR:
            ctx.add(f"{rpath}/TipoDocIR", f"a Recibo Electrónico de Pago cannot reference TipoDocIR {tipo}")
        numero = ctx.text(ref, "Numero")
        if tipo != "13":
            if numero is None:
                ctx.add(f"{rpath}/Numero", f"Numero is required with TipoDocIR {tipo}")
            elif tipo in _IR_CLAVE:
                try:
                    Clave.parse(numero)
                except ClaveError as exc:
                    ctx.add(f"{rpath}/Numero", f"TipoDocIR {tipo} references a clave: {exc.problems[0]}")
            if codigo is None:
                ctx.add(f"{rpath}/Codigo", f"Codigo is required with TipoDocIR {tipo}")
    clave = ctx.text(root, "Clave")
    if clave is not None and len(clave) == 50 and clave[41] == "2" and ("08", "05") not in pairs:
        ctx.add(
            "InformacionReferencia",
            "a voucher in situación 2 (contingencia) must reference the contingency voucher with TipoDocIR "
            "08 and Codigo 05",
        )


def _check_id(ctx: Ctx, ident: etree._Element | None, path: str) -> str | None:
    if ident is None:
        return None
    tipo = ctx.text(ident, "Tipo")
    numero = ctx.text(ident, "Numero")
    if tipo is None or numero is None:
        return tipo
    problem = identificacion_problem(tipo, numero)
    if problem is not None:
        ctx.add(f"{path}/Numero", problem)
    return tipo


def check_identificaciones(ctx: Ctx) -> None:
    root = ctx.root
    emisor = _check_id(ctx, ctx.child(ctx.child(root, "Emisor"), "Identificacion"), "Emisor/Identificacion")
    receptor = _check_id(
        ctx, ctx.child(ctx.child(root, "Receptor"), "Identificacion"), "Receptor/Identificacion"
    )
    for c, cargo in enumerate(ctx.children(root, "OtrosCargos"), start=1):
        _check_id(ctx, ctx.child(cargo, "IdentificacionTercero"), f"OtrosCargos[{c}]/IdentificacionTercero")
    fec = ctx.fec
    condicion = ctx.text(root, "CondicionVenta")
    if emisor == "05":
        tipos_ir = {ctx.text(ref, "TipoDocIR") for ref in ctx.children(root, "InformacionReferencia")}
        if not fec or "16" not in tipos_ir:
            ctx.add(
                "Emisor/Identificacion/Tipo",
                "an emisor of type 05 (extranjero no domiciliado) is only allowed in a FEC referencing "
                "TipoDocIR 16",
            )
    if emisor == "06" and not (fec and condicion == "13"):
        ctx.add(
            "Emisor/Identificacion/Tipo",
            "an emisor of type 06 (no contribuyente) is only allowed in a FEC with CondicionVenta 13",
        )
    if receptor == "05" and ctx.fe and condicion != "12":
        ctx.add(
            "Receptor/Identificacion/Tipo",
            "a receptor of type 05 (extranjero no domiciliado) in a FE requires CondicionVenta 12",
        )
