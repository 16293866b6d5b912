"""ResumenFactura rules: the goods/services split, the totals, TotalDesgloseImpuesto and OtrosCargos."""

from __future__ import annotations

from decimal import Decimal

from lxml import etree

from cr_einvoice.core.catalogs import TratamientoFiscal
from cr_einvoice.core.money import ZERO
from cr_einvoice.core.money import fmt_amount as fmt
from cr_einvoice.vouchers.rules._base import IVA_CODES, Ctx
from cr_einvoice.vouchers.rules.lines import Line

__all__ = ["check_resumen"]

_T = TratamientoFiscal
_SPLIT_FIELDS: dict[tuple[str, TratamientoFiscal], str] = {
    ("serv", _T.GRAVADO): "TotalServGravados",
    ("serv", _T.EXENTO): "TotalServExentos",
    ("serv", _T.EXONERADO): "TotalServExonerado",
    ("serv", _T.NO_SUJETO): "TotalServNoSujeto",
    ("merc", _T.GRAVADO): "TotalMercanciasGravadas",
    ("merc", _T.EXENTO): "TotalMercanciasExentas",
    ("merc", _T.EXONERADO): "TotalMercExonerada",
    ("merc", _T.NO_SUJETO): "TotalMercNoSujeta",
}


def check_resumen(ctx: Ctx, lines: list[Line]) -> None:
    resumen = ctx.child(ctx.root, "ResumenFactura")
    if resumen is None:
        return
    rep = ctx.rep
    read: dict[str, Decimal] = {}  # each total is read once, however many rules use it

    def val(name: str) -> Decimal:
        found = read.get(name)
        if found is None:
            found = read[name] = ctx.dec(resumen, name) or ZERO
        return found

    def expect(
        name: str, expected: Decimal, what: str, code: int | None = None, hacienda: bool = False
    ) -> None:
        found = val(name)
        if found != expected:
            path = f"ResumenFactura/{name}"
            if hacienda and code is not None:
                ctx.hacienda(code, path)
            else:
                ctx.add(path, f"{name} must be {what} = {fmt(expected)}, found {fmt(found)}", code)

    moneda = ctx.child(resumen, "CodigoTipoMoneda")
    if ctx.text(moneda, "CodigoMoneda") == "CRC" and ctx.dec(moneda, "TipoCambio") not in (None, Decimal(1)):
        ctx.add("ResumenFactura/CodigoTipoMoneda/TipoCambio", "TipoCambio must be 1 for CRC")

    # goods / services split
    if not rep and lines and all(ln.cabys for ln in lines):
        sums = dict.fromkeys(_SPLIT_FIELDS, ZERO)
        for ln in lines:
            kind = "merc" if (ln.cabys or "9")[0] in "01234" else "serv"
            for treatment, amount in ln.parts.items():
                if not (treatment is TratamientoFiscal.GRAVADO and ln.factory_goods):
                    sums[(kind, treatment)] += amount
        for key, name in _SPLIT_FIELDS.items():
            expected = sums[key]
            if name == "TotalServGravados" and val(name) != expected:
                ctx.hacienda(-111, f"ResumenFactura/{name}")
            elif name == "TotalMercanciasGravadas" and ctx.child(resumen, name) is None and expected != 0:
                ctx.hacienda(-110, f"ResumenFactura/{name}")
            else:
                goods = "goods (CABYS starting 0-4)" if key[0] == "merc" else "services (CABYS starting 5-9)"
                expect(name, expected, f"the MontoTotal of the {key[1].replace('_', ' ')} {goods}")
        for total, parts in (
            ("TotalGravado", ("TotalServGravados", "TotalMercanciasGravadas")),
            ("TotalExento", ("TotalServExentos", "TotalMercanciasExentas")),
            ("TotalExonerado", ("TotalServExonerado", "TotalMercExonerada")),
            ("TotalNoSujeto", ("TotalServNoSujeto", "TotalMercNoSujeta")),
        ):
            expect(total, val(parts[0]) + val(parts[1]), f"{parts[0]} + {parts[1]}")
    if rep:
        expect("TotalVenta", sum((ln.monto_total for ln in lines), ZERO), "the sum of the lines' MontoTotal")
    else:
        expect(
            "TotalVenta",
            val("TotalGravado") + val("TotalExento") + val("TotalExonerado") + val("TotalNoSujeto"),
            "TotalGravado + TotalExento + TotalExonerado + TotalNoSujeto",
        )
    descuentos = sum((ln.descuentos for ln in lines), ZERO)
    if val("TotalDescuentos") != descuentos:
        ctx.hacienda(-52, "ResumenFactura/TotalDescuentos")
    expect("TotalVentaNeta", val("TotalVenta") - val("TotalDescuentos"), "TotalVenta − TotalDescuentos")
    impuesto = sum((ln.neto for ln in lines), ZERO)
    if val("TotalImpuesto") != impuesto:
        ctx.hacienda(-54, "ResumenFactura/TotalImpuesto")
    expect(
        "TotalImpAsumEmisorFabrica",
        sum((ln.asumido for ln in lines), ZERO),
        "the sum of ImpuestoAsumidoEmisorFabrica",
    )
    _check_desglose(ctx, resumen, lines)
    cargos = ctx.children(ctx.root, "OtrosCargos")
    total_cargos = ZERO
    for c, cargo in enumerate(cargos, start=1):
        cpath = f"OtrosCargos[{c}]"
        amount = ctx.dec(cargo, "MontoCargo") or ZERO
        total_cargos += amount
        if amount <= 0:
            ctx.add(f"{cpath}/MontoCargo", "MontoCargo must be greater than zero")
        tipo = ctx.text(cargo, "TipoDocumentoOC")
        if tipo == "99" and ctx.text(cargo, "TipoDocumentoOTROS") is None:
            ctx.add(f"{cpath}/TipoDocumentoOTROS", "TipoDocumentoOTROS is required with TipoDocumentoOC 99")
        if tipo == "04":
            if ctx.child(cargo, "IdentificacionTercero") is None:
                ctx.add(
                    f"{cpath}/IdentificacionTercero",
                    "IdentificacionTercero is required with TipoDocumentoOC 04",
                )
            if ctx.text(cargo, "NombreTercero") is None:
                ctx.add(f"{cpath}/NombreTercero", "NombreTercero is required with TipoDocumentoOC 04")
    expect("TotalOtrosCargos", total_cargos, "the sum of OtrosCargos/MontoCargo")
    if rep:
        expect("TotalComprobante", val("TotalVenta"), "TotalVenta (Recibo Electrónico de Pago)")
    else:
        expect(
            "TotalComprobante",
            val("TotalVentaNeta") + val("TotalImpuesto") + val("TotalOtrosCargos") - val("TotalIVADevuelto"),
            "TotalVentaNeta + TotalImpuesto + TotalOtrosCargos − TotalIVADevuelto",
        )


def _check_desglose(ctx: Ctx, resumen: etree._Element, lines: list[Line]) -> None:
    expected: dict[tuple[str, str | None], Decimal] = {}
    for ln in lines:
        for key, amount in ln.tax_groups.items():
            expected[key] = expected.get(key, ZERO) + amount
    entries = ctx.children(resumen, "TotalDesgloseImpuesto")
    if not entries:
        if any(ln.has_tax for ln in lines):
            ctx.hacienda(-487, "ResumenFactura/TotalDesgloseImpuesto")
        return
    seen: set[tuple[str, str | None]] = set()
    for d, entry in enumerate(entries, start=1):
        dpath = f"ResumenFactura/TotalDesgloseImpuesto[{d}]"
        codigo = ctx.text(entry, "Codigo") or ""
        ctar = ctx.text(entry, "CodigoTarifaIVA")
        if codigo in IVA_CODES and ctar is None:
            ctx.add(f"{dpath}/CodigoTarifaIVA", f"CodigoTarifaIVA is required for tax code {codigo}")
        key = (codigo, ctar if codigo in IVA_CODES else None)
        if key in seen:
            ctx.add(dpath, f"a second TotalDesgloseImpuesto for tax code {codigo} / tarifa {ctar}")
            continue
        seen.add(key)
        found = ctx.dec(entry, "TotalMontoImpuesto") or ZERO
        want = expected.get(key, ZERO)
        if key not in expected:
            ctx.add(
                dpath,
                f"no line carries tax code {codigo}" + (f" with CodigoTarifaIVA {ctar}" if ctar else ""),
            )
        elif found != want:
            ctx.add(
                f"{dpath}/TotalMontoImpuesto",
                f"TotalMontoImpuesto for tax code {codigo}"
                + (f" / tarifa {ctar}" if key[1] else "")
                + " must be "
                f"the sum of the lines' net tax = {fmt(want)}, found {fmt(found)}",
            )
    for key, amount in expected.items():
        if key not in seen and amount != 0:
            ctx.add(
                "ResumenFactura/TotalDesgloseImpuesto",
                f"missing the entry for tax code {key[0]}"
                + (f" / tarifa {key[1]}" if key[1] else "")
                + f" (lines total {fmt(amount)})",
            )
