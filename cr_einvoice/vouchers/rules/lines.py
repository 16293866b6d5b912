"""Line rules: MontoTotal, the successive discounts, SubTotal, BaseImponible, each tax and exoneration,
ImpuestoNeto and MontoTotalLinea (and a combo line's taxes from its components)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from lxml import etree

from cr_einvoice.core.catalogs import CodigoTarifaIVA, TratamientoFiscal
from cr_einvoice.core.money import ONE_HUNDRED, ZERO, q5
from cr_einvoice.core.money import fmt_amount as fmt
from cr_einvoice.vouchers import compute
from cr_einvoice.vouchers.rules._base import BASE_CODES, IMPUESTOS, IVA_CODES, TARIFAS, Ctx, show_rate
from cr_einvoice.vouchers.rules.combos import Combo, check_surtido

__all__ = ["Line", "check_lines"]


@dataclass
class Line:
    """What the summary rules need of a checked line."""

    path: str
    cabys: str | None
    monto_total: Decimal
    descuentos: Decimal
    neto: Decimal
    asumido: Decimal
    #: MontoTotal per IVA treatment (:func:`cr_einvoice.vouchers.compute.sale_parts`, or
    #: :func:`~cr_einvoice.vouchers.compute.combo_split` for a combo)
    parts: dict[TratamientoFiscal, Decimal]
    #: goods with IVA charged at factory level: their gravado part is excluded from TotalMercanciasGravadas
    factory_goods: bool
    tax_groups: dict[tuple[str, str | None], Decimal]
    has_tax: bool


def check_lines(ctx: Ctx) -> list[Line]:
    out: list[Line] = []
    detalle = ctx.child(ctx.root, "DetalleServicio")
    for i, line in enumerate(ctx.children(detalle, "LineaDetalle"), start=1):
        path = f"DetalleServicio/LineaDetalle[{i}]"
        out.append(check_line(ctx, line, path, ctx.text(line, "NumeroLinea") or str(i)))
    return out


def check_line(ctx: Ctx, line: etree._Element, path: str, n: str) -> Line:
    rep = ctx.rep
    surtido_el = ctx.child(line, "DetalleSurtido")
    surtido = surtido_el is not None
    combo = check_surtido(ctx, surtido_el, f"{path}/DetalleSurtido") if surtido_el is not None else None
    cantidad = ctx.dec(line, "Cantidad")
    precio = ctx.dec(line, "PrecioUnitario")
    monto_total = ctx.dec(line, "MontoTotal") or ZERO
    sub_total = ctx.dec(line, "SubTotal") or ZERO
    if not rep and cantidad is not None and precio is not None:
        if precio <= 0:
            ctx.add(f"{path}/PrecioUnitario", "PrecioUnitario must be greater than zero")
        expected = q5(cantidad * precio)
        if monto_total != expected:
            ctx.add(
                f"{path}/MontoTotal",
                f"MontoTotal must be Cantidad × PrecioUnitario = {fmt(expected)}, found {fmt(monto_total)}",
            )
    # discounts, applied one after another on the remaining base
    remaining = monto_total
    total_desc = ZERO
    codes: set[str] = set()
    for j, desc in enumerate(ctx.children(line, "Descuento"), start=1):
        dpath = f"{path}/Descuento[{j}]"
        amount = ctx.dec(desc, "MontoDescuento") or ZERO
        code = ctx.text(desc, "CodigoDescuento") or ""
        codes.add(code)
        if amount > remaining:
            ctx.add(
                f"{dpath}/MontoDescuento",
                f"the discount {fmt(amount)} exceeds the remaining base {fmt(remaining)} (MontoTotal minus "
                "the previous discounts)",
            )
        remaining -= amount
        total_desc += amount
        if code == "99":
            if ctx.text(desc, "CodigoDescuentoOTRO") is None:
                ctx.add(
                    f"{dpath}/CodigoDescuentoOTRO", "CodigoDescuentoOTRO is required with CodigoDescuento 99"
                )
            if ctx.text(desc, "NaturalezaDescuento") is None:
                ctx.add(
                    f"{dpath}/NaturalezaDescuento", "NaturalezaDescuento is required with CodigoDescuento 99"
                )
    if not rep:
        expected_sub = monto_total - total_desc
        if sub_total != expected_sub:
            ctx.add(
                f"{path}/SubTotal",
                f"SubTotal must be MontoTotal − discounts = {fmt(expected_sub)}, found {fmt(sub_total)}",
            )
        elif combo is not None and cantidad is not None and sub_total != q5(cantidad * combo.sub_total):
            ctx.add(
                f"{path}/SubTotal",
                "the SubTotal of a combo line must be Cantidad × the components' SubTotalSurtido = "
                f"{fmt(q5(cantidad * combo.sub_total))}, found {fmt(sub_total)}",
            )
    fabrica_code = ctx.text(line, "IVACobradoFabrica")
    impuestos = ctx.children(line, "Impuesto")
    base_el = ctx.child(line, "BaseImponible")
    base = ctx.dec(line, "BaseImponible") if base_el is not None else sub_total
    base = sub_total if base is None else base
    editable = fabrica_code == "01" or any(ctx.text(imp, "Codigo") == "07" for imp in impuestos)
    if base_el is not None and not rep and not editable:
        expected_base = sub_total + sum(
            ((ctx.dec(imp, "Monto") or ZERO) for imp in impuestos if ctx.text(imp, "Codigo") in BASE_CODES),
            ZERO,
        )
        if base != expected_base:
            ctx.add(
                f"{path}/BaseImponible",
                "BaseImponible must be SubTotal plus the taxes 02, 04, 05 and 12 of the line = "
                f"{fmt(expected_base)}, found {fmt(base)}",
            )
    treatment = compute.treatment(None, None, export=ctx.fee)
    treatment_set = False
    exonerado_share = ZERO
    monto_sum = ZERO
    exon_sum = ZERO
    groups: dict[tuple[str, str | None], Decimal] = {}
    own: dict[tuple[str, str | None], tuple[Decimal, Decimal]] = {}
    first_iva_key: tuple[str, str | None] | None = None
    has_tax = False
    for k, imp in enumerate(impuestos, start=1):
        ipath = f"{path}/Impuesto[{k}]"
        codigo = ctx.text(imp, "Codigo") or ""
        ctar_text = ctx.text(imp, "CodigoTarifaIVA")
        tarifa = ctx.dec(imp, "Tarifa")
        monto = ctx.dec(imp, "Monto") or ZERO
        monto_sum += monto
        if monto != 0:
            has_tax = True
        # None for an unknown code: the XSD reports it

        ctar = TARIFAS.get(ctar_text) if ctar_text is not None else None
        if codigo == "99" and ctx.text(imp, "CodigoImpuestoOTRO") is None:
            ctx.add(f"{ipath}/CodigoImpuestoOTRO", "CodigoImpuestoOTRO is required with Codigo 99")
        if combo is not None:
            for element in ("CodigoTarifaIVA", "Tarifa"):
                if ctx.child(imp, element) is not None:
                    ctx.add(
                        f"{ipath}/{element}",
                        f"a combo line's tax carries no {element}: the rates are on its components "
                        "(DetalleSurtido/LineaDetalleSurtido/ImpuestoSurtido)",
                    )
            want = _combo_monto(combo, cantidad or ZERO, codigo)
            if monto != want:
                ctx.add(
                    f"{ipath}/Monto",
                    f"the tax {codigo} of a combo line must be Cantidad × the components' "
                    f"MontoImpuestoSurtido = {fmt(want)}, found {fmt(monto)}",
                )
        if codigo in IVA_CODES and not surtido:
            if ctar_text is None:
                ctx.add(f"{ipath}/CodigoTarifaIVA", f"CodigoTarifaIVA is required for tax code {codigo}")
            if tarifa is None:
                ctx.hacienda(-45, f"{ipath}/Tarifa", n=n, codigo=codigo)
        if ctar is not None and tarifa is not None and not surtido and tarifa != ctar.tarifa:
            ctx.hacienda(-505, f"{ipath}/Tarifa", n=n, codigo=ctar.value, tarifa=show_rate(ctar.tarifa))
        if ctar is not None and ctar.solo_notas and not ctx.notas:
            ctx.add(
                f"{ipath}/CodigoTarifaIVA",
                f"CodigoTarifaIVA {ctar.value} (transitional rate) is only allowed in credit and debit notes",
            )
        # IVA amount
        expected_monto: Decimal | None = None
        if not surtido and codigo in IVA_CODES and ctar is not None:
            if ctar is CodigoTarifaIVA.EXENTA:
                expected_monto = ZERO
            elif tarifa is not None:
                on = monto_total if (codigo == "01" and codes & {"01", "03"}) else base
                expected_monto = q5(on * tarifa / ONE_HUNDRED)
        elif not surtido and codigo == "08":
            factor = ctx.dec(imp, "FactorCalculoIVA")
            if factor is None:
                ctx.add(
                    f"{ipath}/FactorCalculoIVA",
                    "FactorCalculoIVA is required with tax code 08 (bienes usados)",
                )
            else:
                expected_monto = q5(factor * sub_total)
        if expected_monto is not None and monto != expected_monto:
            ctx.add(
                f"{ipath}/Monto",
                f"the tax amount must be {fmt(expected_monto)} (rate applied to the taxable base), found "
                f"{fmt(monto)}",
            )
        # exoneration
        exon = ctx.child(imp, "Exoneracion")
        exon_amount = ZERO
        if exon is not None:
            tarifa_ex = ctx.dec(exon, "TarifaExonerada") or ZERO
            exon_amount = ctx.dec(exon, "MontoExoneracion") or ZERO
            expected_exon = min(q5(base * tarifa_ex / ONE_HUNDRED), monto)
            if exon_amount != expected_exon:
                ctx.add(
                    f"{ipath}/Exoneracion/MontoExoneracion",
                    "MontoExoneracion must be BaseImponible × TarifaExonerada / 100 = "
                    f"{fmt(expected_exon)}, found {fmt(exon_amount)}",
                )
            if tarifa is not None and tarifa_ex > tarifa:
                ctx.add(
                    f"{ipath}/Exoneracion/TarifaExonerada",
                    f"TarifaExonerada {show_rate(tarifa_ex)} exceeds the tax rate {show_rate(tarifa)}",
                )
            if codigo in IVA_CODES and tarifa:
                exonerado_share = q5(monto_total * tarifa_ex / tarifa)
        exon_sum += exon_amount
        key = (codigo, ctar_text if codigo in IVA_CODES else None)
        groups[key] = groups.get(key, ZERO) + monto - exon_amount
        own_monto, own_exon = own.get(key, (ZERO, ZERO))
        own[key] = (own_monto + monto, own_exon + exon_amount)
        # treatment, from the first IVA tax
        if not treatment_set and codigo in (*IVA_CODES, "08"):
            treatment_set = True
            first_iva_key = key
            treatment = compute.treatment(IMPUESTOS[codigo], ctar, export=ctx.fee)
    asumido = ctx.dec(line, "ImpuestoAsumidoEmisorFabrica") or ZERO
    cabys = ctx.text(line, "CodigoCABYS")
    factory_goods = fabrica_code is not None and (cabys or "9")[0] in "01234"
    if combo is not None:
        groups = _combo_groups(ctx, combo, line, path, own)
        parts = compute.combo_split(monto_total, combo.weights)
    else:
        parts = compute.sale_parts(
            monto_total,
            treatment,
            exonerado_share,
            factory_goods=factory_goods,
        )
    if combo is None and asumido:
        target = first_iva_key or next(iter(groups), None)
        if target is not None:
            groups[target] -= asumido
    expected_neto = monto_sum - exon_sum - asumido
    neto = ctx.dec(line, "ImpuestoNeto")
    if neto is None:
        neto = expected_neto  # FEE lines have no ImpuestoNeto
    elif neto != expected_neto:
        ctx.add(
            f"{path}/ImpuestoNeto",
            "ImpuestoNeto must be the tax amounts minus exonerations minus ImpuestoAsumidoEmisorFabrica = "
            f"{fmt(expected_neto)}, found {fmt(neto)}",
        )
    total_linea = ctx.dec(line, "MontoTotalLinea")
    if total_linea is not None and total_linea != sub_total + neto:
        ctx.hacienda(-46, f"{path}/MontoTotalLinea", n=n)
    return Line(
        path=path,
        cabys=cabys,
        monto_total=monto_total,
        descuentos=total_desc,
        neto=neto,
        asumido=asumido,
        parts=parts,
        factory_goods=factory_goods,
        tax_groups=groups,
        has_tax=has_tax,
    )


def _combo_monto(combo: Combo, cantidad: Decimal, codigo: str) -> Decimal:
    """A combo line's tax Monto for one tax code: Σ over the components' groups of Cantidad × Σ monto."""
    groups = compute.combo_groups(cantidad, combo.groups)
    return sum((monto for (c, _), (monto, _a) in groups.items() if c == codigo), ZERO)


def _combo_groups(
    ctx: Ctx,
    combo: Combo,
    line: etree._Element,
    path: str,
    stated: dict[tuple[str, str | None], tuple[Decimal, Decimal]],
) -> dict[tuple[str, str | None], Decimal]:
    """The TotalDesgloseImpuesto contributions of a combo line (its components' groups times Cantidad, net
    of the assumed IVA and of any exoneration stated on the line's taxes), after checking that every tax
    code of the components has its Impuesto on the line and that ImpuestoAsumidoEmisorFabrica matches."""
    line_codes = {c for c, _ in stated}  # the line's own (Codigo, CodigoTarifaIVA) → (Monto, exonerated)
    groups: dict[tuple[str, str | None], Decimal] = {}
    asumido = ZERO
    cantidad = ctx.dec(line, "Cantidad") or ZERO
    for key, (total, share) in compute.combo_groups(cantidad, combo.groups).items():
        asumido += share
        groups[key] = total - share
        if key[0] not in line_codes:
            ctx.add(
                f"{path}/Impuesto",
                f"the components carry tax code {key[0]} but the combo line has no Impuesto with that Codigo",
            )
            line_codes.add(key[0])
    stated_asumido = ctx.dec(line, "ImpuestoAsumidoEmisorFabrica")
    if stated_asumido is not None and stated_asumido != asumido:
        ctx.add(
            f"{path}/ImpuestoAsumidoEmisorFabrica",
            "the ImpuestoAsumidoEmisorFabrica of a combo line must be Cantidad × the IVA its components "
            f"assume on regalías/bonificaciones = {fmt(asumido)}, found {fmt(stated_asumido)}",
        )
    for (codigo, _ctar), (monto, exonerated) in stated.items():
        # line taxes the components lack keep their stated net amount; exonerations reduce the first group
        target = next((k for k in groups if k[0] == codigo), None)
        if target is None:
            groups[(codigo, None)] = monto - exonerated
        else:
            groups[target] -= exonerated
    return groups
