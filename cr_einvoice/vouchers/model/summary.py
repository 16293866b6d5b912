"""The ResumenFactura: its model, how a document computes it (through :mod:`cr_einvoice.vouchers.compute`),
its payment means, and the comparison of a parsed document's stated totals with the computed ones."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import ClassVar

from cr_einvoice.core.catalogs import (
    CodigoImpuesto,
    CodigoMoneda,
    CodigoTarifaIVA,
    CondicionVenta,
    TratamientoFiscal,
)
from cr_einvoice.core.checks import Check, lenient
from cr_einvoice.core.errors import Problem
from cr_einvoice.core.money import ZERO
from cr_einvoice.vouchers import compute
from cr_einvoice.vouchers.compute import CalculoLinea, Totals
from cr_einvoice.vouchers.model.lines import LineaDetalle
from cr_einvoice.vouchers.model.references import MedioPago

__all__ = [
    "ResumenFactura",
    "StatedTotals",
    "TotalDesgloseImpuesto",
    "build_resumen",
    "differences",
    "normalise_medios",
    "sale_parts",
]


def _element_names(fields: Sequence[str]) -> dict[str, str]:
    names = {f: "".join(part.capitalize() for part in f.split("_")) for f in fields}
    return names | {"total_iva_devuelto": "TotalIVADevuelto"}


@dataclass(frozen=True, slots=True)
class TotalDesgloseImpuesto:
    """ResumenFactura/TotalDesgloseImpuesto: the net tax of one tax code (and IVA tarifa code)."""

    codigo: CodigoImpuesto
    codigo_tarifa_iva: CodigoTarifaIVA | None
    total_monto_impuesto: Decimal


@dataclass(frozen=True, slots=True, kw_only=True)
class ResumenFactura:
    """ResumenFactura, computed by the library (or, in ``doc.stated.resumen``, as an XML states it; absent
    optional totals read as 0)."""

    codigo_moneda: CodigoMoneda
    tipo_cambio: Decimal
    total_serv_gravados: Decimal = ZERO
    total_serv_exentos: Decimal = ZERO
    total_serv_exonerado: Decimal = ZERO
    total_serv_no_sujeto: Decimal = ZERO
    total_mercancias_gravadas: Decimal = ZERO
    total_mercancias_exentas: Decimal = ZERO
    total_merc_exonerada: Decimal = ZERO
    total_merc_no_sujeta: Decimal = ZERO
    total_gravado: Decimal = ZERO
    total_exento: Decimal = ZERO
    total_exonerado: Decimal = ZERO
    total_no_sujeto: Decimal = ZERO
    total_venta: Decimal = ZERO
    total_descuentos: Decimal = ZERO
    total_venta_neta: Decimal = ZERO
    total_desglose_impuesto: tuple[TotalDesgloseImpuesto, ...] = ()
    total_impuesto: Decimal = ZERO
    total_imp_asum_emisor_fabrica: Decimal = ZERO
    total_iva_devuelto: Decimal = ZERO
    total_otros_cargos: Decimal = ZERO
    medios_pago: tuple[MedioPago, ...] = ()
    total_comprobante: Decimal = ZERO

    AMOUNT_FIELDS: ClassVar[tuple[str, ...]] = compute.AMOUNT_FIELDS
    #: amount field → its element name (``total_iva_devuelto`` → ``TotalIVADevuelto``).
    AMOUNT_ELEMENTS: ClassVar[dict[str, str]] = _element_names(AMOUNT_FIELDS)


@dataclass(frozen=True, slots=True)
class StatedTotals:
    """What a parsed XML states: its ResumenFactura, each line's amounts (in order), the schema version it
    was read as ("4.4", "4.3", ...) and the problems noticed while reading leniently."""

    version: str
    resumen: ResumenFactura
    lineas: tuple[CalculoLinea, ...]
    warnings: tuple[Problem, ...] = ()


def normalise_medios(c: Check, total: Decimal, condicion: CondicionVenta) -> tuple[MedioPago, ...]:
    """Default a single means' amount to the total; check two or more add up to it. Writes the normalised
    tuple back to the document (its ``medios_pago``) so it round-trips through XML."""
    name = "medios_pago"
    medios: tuple[MedioPago, ...] = getattr(c.obj, name)
    if len(medios) == 1 and medios[0].total_medio_pago is None and total > 0 and not lenient():
        medios = (dataclasses.replace(medios[0], total_medio_pago=total),)
        c.set(name, medios)
    if lenient():
        return medios
    if not medios and not condicion.es_credito:
        c.add(
            name,
            "at least one payment means is required (except credit sales 02, 08, 10); "
            f"condicion_venta is {condicion.value}",
        )
    if len(medios) >= 2:
        missing = [i for i, m in enumerate(medios) if m.total_medio_pago is None]
        for i in missing:
            c.add(f"{name}[{i}].total_medio_pago", "is required when two or more payment means are used")
        if not missing:
            paid = sum((m.total_medio_pago or ZERO for m in medios), ZERO)
            if paid != total:
                c.add(name, f"the payment means add up to {paid}, TotalComprobante is {total}")
    elif len(medios) == 1 and medios[0].total_medio_pago is not None and medios[0].total_medio_pago != total:
        c.add(
            f"{name}[0].total_medio_pago",
            f"{medios[0].total_medio_pago} differs from TotalComprobante {total}",
        )
    return medios


def differences(
    resumen: ResumenFactura, stated: StatedTotals | None, lineas: list[CalculoLinea]
) -> list[Problem]:
    if stated is None:
        return []
    out: list[Problem] = []
    names = {
        "monto_total": "MontoTotal",
        "sub_total": "SubTotal",
        "impuesto_neto": "ImpuestoNeto",
        "monto_total_linea": "MontoTotalLinea",
    }
    for i, (mine, theirs) in enumerate(zip(lineas, stated.lineas, strict=False), start=1):
        for attr, element in names.items():
            a, b = getattr(mine, attr), getattr(theirs, attr)
            if a != b:
                out.append(
                    Problem(f"DetalleServicio/LineaDetalle[{i}]/{element}", f"states {b}, computed {a}")
                )
        for k, (comp, stated_comp) in enumerate(zip(mine.surtido, theirs.surtido, strict=False), start=1):
            path = f"DetalleServicio/LineaDetalle[{i}]/DetalleSurtido/LineaDetalleSurtido[{k}]"
            pairs = [
                ("MontoTotalSurtido", comp.monto_total_surtido, stated_comp.monto_total_surtido),
                ("SubTotalSurtido", comp.sub_total_surtido, stated_comp.sub_total_surtido),
            ] + [
                (f"ImpuestoSurtido[{m}]/MontoImpuestoSurtido", t.monto, st.monto)
                for m, (t, st) in enumerate(zip(comp.impuestos, stated_comp.impuestos, strict=False), start=1)
            ]
            out.extend(Problem(f"{path}/{el}", f"states {b}, computed {a}") for el, a, b in pairs if a != b)
    for attr in ResumenFactura.AMOUNT_FIELDS:
        a, b = getattr(resumen, attr), getattr(stated.resumen, attr)
        if a != b:
            out.append(
                Problem(f"ResumenFactura/{ResumenFactura.AMOUNT_ELEMENTS[attr]}", f"states {b}, computed {a}")
            )
    return out


def sale_parts(ln: LineaDetalle, export: bool) -> dict[TratamientoFiscal, Decimal]:
    """The line's MontoTotal per IVA treatment (the goods/services split of the ResumenFactura)."""
    calc = ln.calculo
    if ln.surtido:
        weights: dict[TratamientoFiscal, Decimal] = {}
        for comp in ln.surtido:
            t = comp.tratamiento
            if export and t is TratamientoFiscal.NO_SUJETO:
                t = TratamientoFiscal.EXENTO  # the FEE summary has no no-sujeto totals
            weights[t] = weights.get(t, ZERO) + comp.calculo.sub_total_surtido
        return compute.combo_split(calc.monto_total, weights)
    iva = ln.impuesto_iva
    tratamiento = compute.treatment(
        iva.codigo if iva else None, iva.codigo_tarifa_iva if iva else None, export=export
    )
    exonerado = ZERO
    if (
        tratamiento is TratamientoFiscal.GRAVADO
        and iva is not None
        and iva.exoneracion is not None
        and iva.tarifa
    ):
        share = min(iva.exoneracion.tarifa_exonerada, iva.tarifa)
        exonerado = compute.exonerated_share(calc.monto_total, iva.tarifa, share)
    return compute.sale_parts(calc.monto_total, tratamiento, exonerado, factory_goods=factory_goods(ln))


def factory_goods(ln: LineaDetalle) -> bool:
    return not ln.es_servicio and ln.iva_cobrado_fabrica is not None


def build_resumen(
    c: Check, moneda: CodigoMoneda, tipo_cambio: Decimal, totals: Totals, condicion: CondicionVenta
) -> ResumenFactura:
    """The ResumenFactura of ``totals``, with the document's payment means normalised (see
    :func:`normalise_medios`)."""
    return ResumenFactura(
        codigo_moneda=moneda,
        tipo_cambio=tipo_cambio,
        total_desglose_impuesto=tuple(
            TotalDesgloseImpuesto(k[0], k[1], v) for k, v in totals.desglose.items()
        ),
        medios_pago=normalise_medios(c, totals["total_comprobante"], condicion),
        **totals.amounts,
    )
