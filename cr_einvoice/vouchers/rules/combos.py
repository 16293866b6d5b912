"""Combo rules (DetalleSurtido): every component (LineaDetalleSurtido) is checked like a line, and what the
components add up to for ONE combo unit is returned for the line's own checks."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from lxml import etree

from cr_einvoice.core.catalogs import CodigoTarifaIVA, TratamientoFiscal
from cr_einvoice.core.money import ONE_HUNDRED, ZERO, q5
from cr_einvoice.core.money import fmt_amount as fmt
from cr_einvoice.vouchers import compute
from cr_einvoice.vouchers.rules._base import BASE_CODES, IMPUESTOS, IVA_CODES, TARIFAS, Ctx, show_rate

__all__ = ["Combo", "check_surtido"]


@dataclass
class Combo:
    """What a DetalleSurtido adds up to, per ONE unit of the combo."""

    sub_total: Decimal = ZERO  # Σ SubTotalSurtido
    #: (Codigo, CodigoTarifaIVA for 01/07) → (Σ MontoImpuestoSurtido, Σ IVA assumed on regalías)
    groups: dict[tuple[str, str | None], tuple[Decimal, Decimal]] = field(default_factory=dict)
    #: IVA treatment → Σ SubTotalSurtido of the components with that treatment
    weights: dict[TratamientoFiscal, Decimal] = field(default_factory=dict)


def check_surtido(ctx: Ctx, node: etree._Element, path: str) -> Combo:
    combo = Combo()
    notas = ctx.notas
    for k, comp in enumerate(ctx.children(node, "LineaDetalleSurtido"), start=1):
        cpath = f"{path}/LineaDetalleSurtido[{k}]"
        cantidad = ctx.dec(comp, "CantidadSurtido")
        precio = ctx.dec(comp, "PrecioUnitarioSurtido")
        monto_total = ctx.dec(comp, "MontoTotalSurtido") or ZERO
        sub_total = ctx.dec(comp, "SubTotalSurtido") or ZERO
        if precio is not None and precio <= 0:
            ctx.add(f"{cpath}/PrecioUnitarioSurtido", "PrecioUnitarioSurtido must be greater than zero")
        if cantidad is not None and cantidad <= 0:
            ctx.add(f"{cpath}/CantidadSurtido", "CantidadSurtido must be greater than zero")
        if cantidad is not None and precio is not None and monto_total != q5(cantidad * precio):
            ctx.add(
                f"{cpath}/MontoTotalSurtido",
                "MontoTotalSurtido must be CantidadSurtido × PrecioUnitarioSurtido = "
                f"{fmt(q5(cantidad * precio))}, found {fmt(monto_total)}",
            )
        remaining = monto_total
        regalias = ZERO
        has_regalia = False
        for j, desc in enumerate(ctx.children(comp, "DescuentoSurtido"), start=1):
            dpath = f"{cpath}/DescuentoSurtido[{j}]"
            amount = ctx.dec(desc, "MontoDescuentoSurtido") or ZERO
            code = ctx.text(desc, "CodigoDescuentoSurtido")
            if amount > remaining:
                ctx.add(
                    f"{dpath}/MontoDescuentoSurtido",
                    f"the discount {fmt(amount)} exceeds the remaining base {fmt(remaining)} "
                    "(MontoTotalSurtido minus the previous discounts)",
                )
            remaining -= amount
            if code in ("01", "03"):
                has_regalia = True
                regalias += amount
            if code == "99" and ctx.text(desc, "DescuentoSurtidoOtros") is None:
                ctx.add(
                    f"{dpath}/DescuentoSurtidoOtros",
                    "DescuentoSurtidoOtros is required with CodigoDescuentoSurtido 99",
                )
        if sub_total != remaining:
            ctx.add(
                f"{cpath}/SubTotalSurtido",
                "SubTotalSurtido must be MontoTotalSurtido − the component's discounts = "
                f"{fmt(remaining)}, found {fmt(sub_total)}",
            )
        impuestos = ctx.children(comp, "ImpuestoSurtido")
        codes = [ctx.text(imp, "CodigoImpuestoSurtido") or "" for imp in impuestos]
        base_el = ctx.child(comp, "BaseImponibleSurtido")
        base = sub_total
        if base_el is not None:
            base = ctx.dec(comp, "BaseImponibleSurtido") or ZERO
            editable = ctx.text(comp, "IVACobradoFabricaSurtido") == "01" or "07" in codes
            expected_base = sub_total + sum(
                (
                    ctx.dec(imp, "MontoImpuestoSurtido") or ZERO
                    for imp, code in zip(impuestos, codes, strict=True)
                    if code in BASE_CODES
                ),
                ZERO,
            )
            if not editable and base != expected_base:
                ctx.add(
                    f"{cpath}/BaseImponibleSurtido",
                    "BaseImponibleSurtido must be SubTotalSurtido plus the component's taxes 02, 04, 05 "
                    f"and 12 = {fmt(expected_base)}, found {fmt(base)}",
                )
        treatment: TratamientoFiscal | None = None
        for m, (imp, codigo) in enumerate(zip(impuestos, codes, strict=True), start=1):
            ipath = f"{cpath}/ImpuestoSurtido[{m}]"
            ctar_text = ctx.text(imp, "CodigoTarifaIVASurtido")
            tarifa = ctx.dec(imp, "TarifaSurtido")
            monto = ctx.dec(imp, "MontoImpuestoSurtido") or ZERO
            # None for an unknown code: the XSD reports it

            ctar = TARIFAS.get(ctar_text) if ctar_text is not None else None
            if codigo == "99" and ctx.text(imp, "CodigoImpuestoOTROSurtido") is None:
                ctx.add(
                    f"{ipath}/CodigoImpuestoOTROSurtido",
                    "CodigoImpuestoOTROSurtido is required with CodigoImpuestoSurtido 99",
                )
            asumido = ZERO
            if codigo in IVA_CODES:
                if ctar_text is None:
                    ctx.add(
                        f"{ipath}/CodigoTarifaIVASurtido",
                        f"CodigoTarifaIVASurtido is required for tax code {codigo}",
                    )
                if tarifa is None:
                    ctx.add(f"{ipath}/TarifaSurtido", f"TarifaSurtido is required for tax code {codigo}")
                elif ctar is not None and tarifa != ctar.tarifa:
                    ctx.add(
                        f"{ipath}/TarifaSurtido",
                        f"for CodigoTarifaIVASurtido {ctar.value} the TarifaSurtido must be "
                        f"{show_rate(ctar.tarifa)}, found {show_rate(tarifa)}",
                    )
                if ctar is not None and ctar.solo_notas and not notas:
                    ctx.add(
                        f"{ipath}/CodigoTarifaIVASurtido",
                        f"CodigoTarifaIVASurtido {ctar.value} (transitional rate) is only allowed in credit "
                        "and debit notes",
                    )
                if ctar is not None and tarifa is not None:
                    regalia = codigo == "01" and has_regalia
                    expected = q5((monto_total if regalia else base) * tarifa / ONE_HUNDRED)
                    if ctar is CodigoTarifaIVA.EXENTA:
                        expected = ZERO
                    if monto != expected:
                        ctx.add(
                            f"{ipath}/MontoImpuestoSurtido",
                            f"the component's tax amount must be {fmt(expected)} (rate applied to "
                            f"{'MontoTotalSurtido' if regalia else 'the taxable base'}), found {fmt(monto)}",
                        )
                    if regalia:
                        asumido = min(q5(regalias * tarifa / ONE_HUNDRED), monto)
                if treatment is None:
                    treatment = compute.treatment(IMPUESTOS[codigo], ctar, export=ctx.fee)
            elif codigo == "08" and treatment is None:
                treatment = TratamientoFiscal.GRAVADO
            key = (codigo, ctar_text if codigo in IVA_CODES else None)
            total, assumed = combo.groups.get(key, (ZERO, ZERO))
            combo.groups[key] = (total + monto, assumed + asumido)
        treatment = treatment or compute.treatment(None, None, export=ctx.fee)
        combo.weights[treatment] = combo.weights.get(treatment, ZERO) + sub_total
        combo.sub_total += sub_total
    return combo
