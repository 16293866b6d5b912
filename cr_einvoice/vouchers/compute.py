"""The formula chain of the v4.4 vouchers, as pure functions (Anexos v4.4, "Notas" and field descriptions).

Every amount the library computes -- a line's MontoTotal, its successive discounts, SubTotal, BaseImponible,
each tax Monto, MontoExoneracion, ImpuestoAsumidoEmisorFabrica, ImpuestoNeto, MontoTotalLinea, a combo's
(DetalleSurtido) component amounts and taxes, and the ResumenFactura totals -- is computed here, with
half-up rounding at 5 decimals through :func:`cr_einvoice.core.money.q5`. Nothing here validates or raises:
the model (:mod:`cr_einvoice.vouchers.model`) checks its inputs, calls these functions and checks the results
(ranges, discounts larger than what remains, ...).

The chain for one line::

    MontoTotal      = q5(Cantidad × PrecioUnitario)
    discount i      = given, or q5(remaining × porcentaje / 100) on what the previous ones left
    SubTotal        = MontoTotal − Σ discounts (never below 0)
    tax 02/99/12    = q5(SubTotal × Tarifa / 100); 03-06 from their DatosImpuestoEspecifico
    BaseImponible   = SubTotal + taxes 02, 04, 05, 12 (or as given with IVACobradoFabrica 01 / a tax 07)
    IVA 01          = q5(BaseImponible × Tarifa / 100); on MontoTotal with a regalía/bonificación (01/03),
                      whose IVA q5(Σ regalías × Tarifa / 100) the emisor assumes
    IVA 07          = q5(BaseImponible × Tarifa / 100); 08 = q5(FactorCalculoIVA × SubTotal)
    MontoExoneracion = min(q5(base × TarifaExonerada / 100), Monto), base: BaseImponible (IVA) or SubTotal
    ImpuestoNeto    = Σ (Monto − MontoExoneracion − asumido);  MontoTotalLinea = SubTotal + ImpuestoNeto
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol, TypeAlias, TypeVar

from cr_einvoice.core.catalogs import CodigoImpuesto, CodigoTarifaIVA, TratamientoFiscal
from cr_einvoice.core.money import ONE_HUNDRED, ZERO, q5

__all__ = [
    "AMOUNT_FIELDS",
    "COMBO_SPLIT_ORDER",
    "CalculoLinea",
    "CalculoSurtido",
    "DatosEspecificos",
    "DesgloseKey",
    "ImpuestoCalculado",
    "SummaryLine",
    "TaxInput",
    "Totals",
    "apply_discounts",
    "combo_groups",
    "combo_line",
    "combo_split",
    "combo_sub_total",
    "desglose_key",
    "exonerated_share",
    "line",
    "line_taxes",
    "monto_total",
    "payment_line",
    "payment_summary",
    "sale_parts",
    "specific_tax",
    "summary",
    "treatment",
]

_IVA = CodigoImpuesto.IVA
_DESGLOSE_TARIFA = (CodigoImpuesto.IVA, CodigoImpuesto.IVA_CALCULO_ESPECIAL)
#: TotalDesgloseImpuesto groups: the tax code and, for IVA 01/07, its CodigoTarifaIVA.
DesgloseKey: TypeAlias = tuple[CodigoImpuesto, CodigoTarifaIVA | None]
_K = TypeVar("_K")


# -- results --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ImpuestoCalculado:
    """Computed amounts of one :class:`Impuesto`: ``monto``, ``monto_exoneracion``, the part assumed by the
    emisor (regalía/bonificación) and ``neto`` = monto − monto_exoneracion − asumido."""

    codigo: CodigoImpuesto
    codigo_tarifa_iva: CodigoTarifaIVA | None
    monto: Decimal
    monto_exoneracion: Decimal
    asumido: Decimal
    neto: Decimal


@dataclass(frozen=True, slots=True)
class CalculoSurtido:
    """Computed amounts of one combo component, for ONE unit of the combo (or, in ``doc.stated``, what the
    XML states): MontoTotalSurtido, the discounts, SubTotalSurtido, BaseImponibleSurtido and each
    MontoImpuestoSurtido (``impuestos[i].monto``; ``asumido`` is the IVA on regalía/bonificación discounts,
    which the line reports as ImpuestoAsumidoEmisorFabrica)."""

    monto_total_surtido: Decimal
    total_descuentos: Decimal
    sub_total_surtido: Decimal
    base_imponible_surtido: Decimal
    impuestos: tuple[ImpuestoCalculado, ...]


@dataclass(frozen=True, slots=True)
class CalculoLinea:
    """Computed amounts of a line (or, in ``doc.stated``, the amounts an XML states for it)."""

    monto_total: Decimal
    total_descuentos: Decimal
    sub_total: Decimal
    base_imponible: Decimal
    impuestos: tuple[ImpuestoCalculado, ...]
    impuesto_asumido_emisor_fabrica: Decimal
    impuesto_neto: Decimal
    monto_total_linea: Decimal
    surtido: tuple[CalculoSurtido, ...] = ()


# -- inputs ---------------------------------------------------------------------------------------------


class DatosEspecificos(Protocol):
    """The DatosImpuestoEspecifico(Surtido) amounts the taxes 03-06 are computed from."""

    @property
    def cantidad_unidad_medida(self) -> Decimal: ...
    @property
    def impuesto_unidad(self) -> Decimal: ...
    @property
    def proporcion(self) -> Decimal | None: ...
    @property
    def volumen_unidad_consumo(self) -> Decimal | None: ...


@dataclass(frozen=True, slots=True)
class TaxInput:
    """What a tax's amounts are computed from (a line's Impuesto or a component's ImpuestoSurtido).

    ``factor_calculo_iva`` decides tax 08 (bienes usados): with a factor (a line's FactorCalculoIVA, 0 when
    missing) Monto = q5(factor × SubTotal); a component has none, so its 08 is computed like IVA 07."""

    codigo: CodigoImpuesto
    codigo_tarifa_iva: CodigoTarifaIVA | None = None
    tarifa: Decimal | None = None
    datos: DatosEspecificos | None = None
    factor_calculo_iva: Decimal | None = None
    tarifa_exonerada: Decimal | None = None


# -- one line -------------------------------------------------------------------------------------------


def monto_total(cantidad: Decimal, precio_unitario: Decimal) -> Decimal:
    """MontoTotal (MontoTotalSurtido) = q5(Cantidad × PrecioUnitario)."""
    return q5(cantidad * precio_unitario)


def apply_discounts(
    monto_total: Decimal, discounts: Iterable[tuple[Decimal | None, Decimal | None]]
) -> tuple[list[tuple[Decimal, Decimal]], Decimal]:
    """Successive discounts, each ``(amount, percentage)`` with one of the two given: a percentage applies to
    what the previous discounts left, q5(remaining × porcentaje / 100). Returns each discount's
    ``(amount, remaining before it)`` and what remains of ``monto_total`` at the end (negative when the
    discounts exceed it: the caller reports that)."""
    remaining = monto_total
    out: list[tuple[Decimal, Decimal]] = []
    for given, porcentaje in discounts:
        amount = given if given is not None else q5(remaining * (porcentaje or ZERO) / ONE_HUNDRED)
        out.append((amount, remaining))
        remaining -= amount
    return out, remaining


def sub_total(remaining: Decimal) -> Decimal:
    """SubTotal = MontoTotal − discounts, never below zero."""
    return remaining if remaining > 0 else ZERO


def specific_tax(tax: TaxInput, cantidad: Decimal, sub_total: Decimal) -> Decimal:
    """Monto of a non-IVA tax (Anexos v4.4, fields Monto and MontoImpuestoSurtido): 03 (fuel) per litre,
    04 (alcohol) per millilitre of absolute alcohol, 05 (soft drinks, soaps) per unit of volume, 06 (tobacco)
    per unit; every other code q5(SubTotal × Tarifa / 100)."""
    codigo, d = tax.codigo, tax.datos
    if codigo is CodigoImpuesto.UNICO_COMBUSTIBLES and d is not None:
        return q5(d.cantidad_unidad_medida * d.impuesto_unidad)
    if codigo is CodigoImpuesto.BEBIDAS_ALCOHOLICAS and d is not None:
        return q5(cantidad * (d.proporcion or ZERO) * d.impuesto_unidad)
    if codigo is CodigoImpuesto.BEBIDAS_SIN_ALCOHOL_JABONES and d is not None:
        if not d.volumen_unidad_consumo:
            return ZERO
        return q5(cantidad * d.cantidad_unidad_medida * d.impuesto_unidad / d.volumen_unidad_consumo)
    if codigo is CodigoImpuesto.TABACO and d is not None:
        return q5(cantidad * d.cantidad_unidad_medida * d.impuesto_unidad)
    return q5(sub_total * (tax.tarifa or ZERO) / ONE_HUNDRED)


def _rate(amount: Decimal, tarifa: Decimal) -> Decimal:
    return q5(amount * tarifa / ONE_HUNDRED)


def line_taxes(
    taxes: Sequence[TaxInput],
    *,
    cantidad: Decimal,
    monto_total: Decimal,
    sub_total: Decimal,
    base_given: Decimal | None,
    regalias: Sequence[Decimal],
) -> tuple[tuple[ImpuestoCalculado, ...], Decimal]:
    """Every tax of a line or combo component and the taxable base (BaseImponible).

    ``regalias`` are the amounts of the regalía/bonificación discounts (01/03): with any, IVA 01 is computed
    on MontoTotal and the emisor assumes q5(Σ regalías × Tarifa / 100) of it. The non-IVA taxes come first:
    02, 04, 05 and 12 form part of the IVA base."""
    montos = {i: specific_tax(t, cantidad, sub_total) for i, t in enumerate(taxes) if not t.codigo.es_iva}
    especificos = sum((montos[i] for i, t in enumerate(taxes) if t.codigo.forma_base_imponible), ZERO)
    base = base_given if base_given is not None else sub_total + especificos
    asumido_base = sum(regalias, ZERO)
    out: list[ImpuestoCalculado] = []
    for i, t in enumerate(taxes):
        tarifa = t.tarifa if t.tarifa is not None else ZERO
        asumido = ZERO
        if t.codigo is _IVA:
            monto = _rate(monto_total if regalias else base, tarifa)
            asumido = _rate(asumido_base, tarifa)
        elif t.codigo is CodigoImpuesto.IVA_BIENES_USADOS and t.factor_calculo_iva is not None:
            monto = q5(t.factor_calculo_iva * sub_total)
        elif t.codigo.es_iva:
            monto = _rate(base, tarifa)
        else:
            monto = montos[i]
        exonerado = ZERO
        if t.tarifa_exonerada is not None:
            exonerado = min(_rate(base if t.codigo.es_iva else sub_total, t.tarifa_exonerada), monto)
        asumido = min(asumido, monto - exonerado)
        out.append(
            ImpuestoCalculado(
                t.codigo, t.codigo_tarifa_iva, monto, exonerado, asumido, monto - exonerado - asumido
            )
        )
    return tuple(out), base


def _calculo(
    monto_total: Decimal,
    remaining: Decimal,
    base: Decimal,
    impuestos: tuple[ImpuestoCalculado, ...],
    surtido: tuple[CalculoSurtido, ...] = (),
) -> CalculoLinea:
    sub = sub_total(remaining)
    neto = sum((t.neto for t in impuestos), ZERO)
    return CalculoLinea(
        monto_total=monto_total,
        total_descuentos=monto_total - remaining,
        sub_total=sub,
        base_imponible=base,
        impuestos=impuestos,
        impuesto_asumido_emisor_fabrica=sum((t.asumido for t in impuestos), ZERO),
        impuesto_neto=neto,
        monto_total_linea=sub + neto,
        surtido=surtido,
    )


def line(
    taxes: Sequence[TaxInput],
    *,
    cantidad: Decimal,
    monto_total: Decimal,
    remaining: Decimal,
    base_given: Decimal | None,
    regalias: Sequence[Decimal],
) -> CalculoLinea:
    """The amounts of a line from its MontoTotal and what its discounts left (``remaining``)."""
    impuestos, base = line_taxes(
        taxes,
        cantidad=cantidad,
        monto_total=monto_total,
        sub_total=sub_total(remaining),
        base_given=base_given,
        regalias=regalias,
    )
    return _calculo(monto_total, remaining, base, impuestos)


def payment_line(monto_total: Decimal, sub_total: Decimal, taxes: Sequence[TaxInput]) -> CalculoLinea:
    """A Recibo Electrónico de Pago line: each tax Monto = q5(SubTotal × tarifa / 100) (08: q5(factor ×
    SubTotal)); no discounts, BaseImponible = SubTotal."""
    impuestos = []
    for t in taxes:
        if t.codigo is CodigoImpuesto.IVA_BIENES_USADOS:
            monto = q5((t.factor_calculo_iva or ZERO) * sub_total)
        else:
            monto = _rate(sub_total, t.tarifa or ZERO)
        impuestos.append(ImpuestoCalculado(t.codigo, t.codigo_tarifa_iva, monto, ZERO, ZERO, monto))
    neto = sum((t.neto for t in impuestos), ZERO)
    return CalculoLinea(
        monto_total=monto_total,
        total_descuentos=ZERO,
        sub_total=sub_total,
        base_imponible=sub_total,
        impuestos=tuple(impuestos),
        impuesto_asumido_emisor_fabrica=ZERO,
        impuesto_neto=neto,
        monto_total_linea=sub_total + neto,
    )


# -- combos (DetalleSurtido) ----------------------------------------------------------------------------


def desglose_key(codigo: CodigoImpuesto, codigo_tarifa_iva: CodigoTarifaIVA | None) -> DesgloseKey:
    """The TotalDesgloseImpuesto group of a tax: its code and, for IVA 01/07 only, its CodigoTarifaIVA."""
    return codigo, codigo_tarifa_iva if codigo in _DESGLOSE_TARIFA else None


def combo_groups(
    cantidad: Decimal, per_unit: Mapping[_K, tuple[Decimal, Decimal]]
) -> dict[_K, tuple[Decimal, Decimal]]:
    """A combo line's taxes from its components' ``(Σ MontoImpuestoSurtido, Σ assumed IVA)`` per group, for
    one combo unit: ``(q5(Cantidad × Σ monto), min(q5(Cantidad × Σ asumido), that))`` per group.

    The line's tax Monto (summed per tax code) and TotalDesgloseImpuesto (per group) both use these, so the
    two always add up to the same amounts."""
    out: dict[_K, tuple[Decimal, Decimal]] = {}
    for key, (monto, asumido) in per_unit.items():
        total = q5(cantidad * monto)
        out[key] = (total, min(q5(cantidad * asumido), total))
    return out


def _component_groups(surtido: Iterable[CalculoSurtido]) -> dict[DesgloseKey, tuple[Decimal, Decimal]]:
    sums: dict[DesgloseKey, tuple[Decimal, Decimal]] = {}
    for comp in surtido:
        for t in comp.impuestos:
            key = desglose_key(t.codigo, t.codigo_tarifa_iva)
            monto, asumido = sums.get(key, (ZERO, ZERO))
            sums[key] = (monto + t.monto, asumido + t.asumido)
    return sums


def combo_sub_total(cantidad: Decimal, surtido: Iterable[CalculoSurtido]) -> tuple[Decimal, Decimal]:
    """``(Σ SubTotalSurtido, q5(Cantidad × that))``: one combo unit's price and the SubTotal the line must
    have (Anexos, SubTotal)."""
    unidad = sum((comp.sub_total_surtido for comp in surtido), ZERO)
    return unidad, q5(cantidad * unidad)


def combo_line(
    cantidad: Decimal, monto_total: Decimal, remaining: Decimal, surtido: tuple[CalculoSurtido, ...]
) -> CalculoLinea:
    """A combo line's amounts: one tax per code, Monto = Σ of its groups of :func:`combo_groups`, written
    without CodigoTarifaIVA; BaseImponible = SubTotal + its taxes 02/04/05/12."""
    por_codigo: dict[CodigoImpuesto, tuple[Decimal, Decimal]] = {}
    for (codigo, _tarifa), (monto, asumido) in combo_groups(cantidad, _component_groups(surtido)).items():
        m, a = por_codigo.get(codigo, (ZERO, ZERO))
        por_codigo[codigo] = (m + monto, a + asumido)
    impuestos = tuple(
        ImpuestoCalculado(codigo, None, monto, ZERO, asumido, monto - asumido)
        for codigo, (monto, asumido) in por_codigo.items()
    )
    base = sub_total(remaining) + sum((t.monto for t in impuestos if t.codigo.forma_base_imponible), ZERO)
    return _calculo(monto_total, remaining, base, impuestos, surtido)


def combo_split(
    monto_total: Decimal, weights: Mapping[TratamientoFiscal, Decimal]
) -> dict[TratamientoFiscal, Decimal]:
    """How a combo line's MontoTotal is shared among the IVA treatments of its components (for the
    ResumenFactura goods/services totals): in proportion to the components' SubTotalSurtido per treatment
    (``weights``), each share rounded with q5 except the first treatment present (in the order gravado,
    exento, no sujeto), which takes the remainder so the shares add up to MontoTotal exactly."""
    present = [t for t in COMBO_SPLIT_ORDER if t in weights]
    whole = sum(weights.values(), ZERO)
    if len(present) <= 1 or whole == 0:
        return dict.fromkeys(present[:1], monto_total)
    shares = {t: q5(monto_total * weights[t] / whole) for t in present[1:]}
    return {present[0]: monto_total - sum(shares.values(), ZERO), **shares}


COMBO_SPLIT_ORDER = (TratamientoFiscal.GRAVADO, TratamientoFiscal.EXENTO, TratamientoFiscal.NO_SUJETO)


# -- the goods/services split ---------------------------------------------------------------------------


def treatment(
    iva: CodigoImpuesto | None, codigo_tarifa_iva: CodigoTarifaIVA | None, *, export: bool = False
) -> TratamientoFiscal:
    """The IVA treatment of a line (or component) from its first IVA tax: none is no sujeto, 08 (bienes
    usados) or a missing CodigoTarifaIVA gravado, else the tarifa's. ``export``: the FacturaExportacion
    summary has no no-sujeto totals, so those count as exento there."""
    if iva is None:
        found = TratamientoFiscal.NO_SUJETO
    elif iva is CodigoImpuesto.IVA_BIENES_USADOS or codigo_tarifa_iva is None:
        found = TratamientoFiscal.GRAVADO
    else:
        found = codigo_tarifa_iva.tratamiento
    if export and found is TratamientoFiscal.NO_SUJETO:
        return TratamientoFiscal.EXENTO
    return found


def exonerated_share(monto_total: Decimal, tarifa: Decimal, tarifa_exonerada: Decimal) -> Decimal:
    """The exonerated part of an exonerated gravado line's MontoTotal: q5(MontoTotal × TarifaExonerada /
    Tarifa)."""
    return q5(monto_total * tarifa_exonerada / tarifa)


def sale_parts(
    monto_total: Decimal, tratamiento: TratamientoFiscal, exonerado: Decimal, *, factory_goods: bool
) -> dict[TratamientoFiscal, Decimal]:
    """A (non-combo) line's MontoTotal per treatment: an exonerated gravado line splits into its exonerated
    part and the rest; gravado goods whose IVA is charged at factory level (IVACobradoFabrica) count
    nowhere."""
    if tratamiento is TratamientoFiscal.GRAVADO:
        if factory_goods:
            return {}
        if exonerado > 0:
            return {
                TratamientoFiscal.EXONERADO: exonerado,
                TratamientoFiscal.GRAVADO: monto_total - exonerado,
            }
    return {tratamiento: monto_total}


# -- the summary ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SummaryLine:
    """What the ResumenFactura takes from one line: its amounts, whether it is a service, whether it is goods
    with IVA charged at factory level, its Cantidad (a combo's taxes scale with it) and its MontoTotal per
    treatment (:func:`sale_parts`, or :func:`combo_split` for a combo)."""

    calculo: CalculoLinea
    cantidad: Decimal
    servicio: bool
    factory_goods: bool
    parts: Mapping[TratamientoFiscal, Decimal]


#: The computed amounts of a ResumenFactura, in schema order (the field names of
#: :class:`~cr_einvoice.vouchers.model.ResumenFactura`).
AMOUNT_FIELDS = (
    "total_serv_gravados",
    "total_serv_exentos",
    "total_serv_exonerado",
    "total_serv_no_sujeto",
    "total_mercancias_gravadas",
    "total_mercancias_exentas",
    "total_merc_exonerada",
    "total_merc_no_sujeta",
    "total_gravado",
    "total_exento",
    "total_exonerado",
    "total_no_sujeto",
    "total_venta",
    "total_descuentos",
    "total_venta_neta",
    "total_impuesto",
    "total_imp_asum_emisor_fabrica",
    "total_iva_devuelto",
    "total_otros_cargos",
    "total_comprobante",
)


@dataclass(frozen=True, slots=True)
class Totals:
    """The computed amounts of a ResumenFactura (``totals["total_venta"]``; every name of
    :data:`AMOUNT_FIELDS`, 0 when nothing adds to it) and its TotalDesgloseImpuesto groups."""

    amounts: Mapping[str, Decimal]
    desglose: Mapping[DesgloseKey, Decimal]

    @classmethod
    def of(cls, desglose: Mapping[DesgloseKey, Decimal], **amounts: Decimal) -> Totals:
        return cls(dict.fromkeys(AMOUNT_FIELDS, ZERO) | amounts, desglose)

    def __getitem__(self, name: str) -> Decimal:
        return self.amounts[name]


#: (service?, treatment) → the Totals field of the goods/services split.
_SPLIT_FIELDS: dict[tuple[bool, TratamientoFiscal], str] = {
    (True, TratamientoFiscal.GRAVADO): "total_serv_gravados",
    (True, TratamientoFiscal.EXENTO): "total_serv_exentos",
    (True, TratamientoFiscal.EXONERADO): "total_serv_exonerado",
    (True, TratamientoFiscal.NO_SUJETO): "total_serv_no_sujeto",
    (False, TratamientoFiscal.GRAVADO): "total_mercancias_gravadas",
    (False, TratamientoFiscal.EXENTO): "total_mercancias_exentas",
    (False, TratamientoFiscal.EXONERADO): "total_merc_exonerada",
    (False, TratamientoFiscal.NO_SUJETO): "total_merc_no_sujeta",
}
_TOTAL_FIELDS: dict[TratamientoFiscal, str] = {
    TratamientoFiscal.GRAVADO: "total_gravado",
    TratamientoFiscal.EXENTO: "total_exento",
    TratamientoFiscal.EXONERADO: "total_exonerado",
    TratamientoFiscal.NO_SUJETO: "total_no_sujeto",
}


def _add(sums: dict[_K, Decimal], key: _K, amount: Decimal) -> None:
    sums[key] = sums.get(key, ZERO) + amount


def _line_desglose(ln: SummaryLine) -> dict[DesgloseKey, Decimal]:
    """A line's net tax per TotalDesgloseImpuesto group (a combo's from its components' groups)."""
    if ln.calculo.surtido:
        groups = combo_groups(ln.cantidad, _component_groups(ln.calculo.surtido))
        return {key: monto - asumido for key, (monto, asumido) in groups.items()}
    out: dict[DesgloseKey, Decimal] = {}
    for t in ln.calculo.impuestos:
        _add(out, desglose_key(t.codigo, t.codigo_tarifa_iva), t.neto)
    return out


def summary(lines: Sequence[SummaryLine], *, otros_cargos: Decimal, iva_devuelto_salud: bool) -> Totals:
    """The ResumenFactura of FE, ND, NC, TE, FEC and FEE: the goods/services split by treatment, TotalVenta,
    TotalDescuentos, TotalVentaNeta, TotalDesgloseImpuesto, TotalImpuesto, TotalImpAsumEmisorFabrica,
    TotalIVADevuelto (the net IVA 01 of service lines, when ``iva_devuelto_salud``), TotalOtrosCargos and
    TotalComprobante = TotalVentaNeta + TotalImpuesto + TotalOtrosCargos − TotalIVADevuelto."""
    split: dict[str, Decimal] = {}
    desglose: dict[DesgloseKey, Decimal] = {}
    iva_devuelto = ZERO
    for ln in lines:
        for tratamiento, amount in ln.parts.items():
            if tratamiento is TratamientoFiscal.GRAVADO and ln.factory_goods:
                continue  # TotalMercanciasGravadas excludes goods whose IVA is charged at factory level
            _add(split, _SPLIT_FIELDS[(ln.servicio, tratamiento)], amount)
        for key, amount in _line_desglose(ln).items():
            _add(desglose, key, amount)
        if iva_devuelto_salud and ln.servicio:
            iva_devuelto += sum((t.neto for t in ln.calculo.impuestos if t.codigo is _IVA), ZERO)
    totals = {
        name: split.get(_SPLIT_FIELDS[(True, t)], ZERO) + split.get(_SPLIT_FIELDS[(False, t)], ZERO)
        for t, name in _TOTAL_FIELDS.items()
    }
    calculos = [ln.calculo for ln in lines]
    total_venta = sum(totals.values(), ZERO)
    total_descuentos = sum((c.total_descuentos for c in calculos), ZERO)
    total_impuesto = sum((c.impuesto_neto for c in calculos), ZERO)
    return Totals.of(
        desglose,
        **split,
        **totals,
        total_venta=total_venta,
        total_descuentos=total_descuentos,
        total_venta_neta=total_venta - total_descuentos,
        total_impuesto=total_impuesto,
        total_imp_asum_emisor_fabrica=sum((c.impuesto_asumido_emisor_fabrica for c in calculos), ZERO),
        total_iva_devuelto=iva_devuelto,
        total_otros_cargos=otros_cargos,
        total_comprobante=total_venta - total_descuentos + total_impuesto + otros_cargos - iva_devuelto,
    )


def payment_summary(lines: Sequence[CalculoLinea]) -> Totals:
    """The ResumenFactura of a Recibo Electrónico de Pago: TotalVenta = TotalVentaNeta = Σ MontoTotal,
    TotalImpuesto = Σ ImpuestoNeto and, as the Anexos state for the REP, TotalComprobante = TotalVenta."""
    desglose: dict[DesgloseKey, Decimal] = {}
    for c in lines:
        for t in c.impuestos:
            _add(desglose, desglose_key(t.codigo, t.codigo_tarifa_iva), t.neto)
    total_venta = sum((c.monto_total for c in lines), ZERO)
    return Totals.of(
        desglose,
        total_venta=total_venta,
        total_venta_neta=total_venta,
        total_impuesto=sum((c.impuesto_neto for c in lines), ZERO),
        total_comprobante=total_venta,
    )
