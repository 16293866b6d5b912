"""The lines of a voucher: LineaDetalle (FE, ND, NC, TE, FEC, FEE; combos included) and the Recibo
Electrónico de Pago's LineaPago. Their amounts come from :mod:`cr_einvoice.vouchers.compute`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from cr_einvoice.core.catalogs import (
    CodigoImpuesto,
    CodigoTarifaIVA,
    IVACobradoFabrica,
    TipoTransaccion,
    UnidadMedida,
    is_service_cabys,
)
from cr_einvoice.core.checks import Check, stated_amounts
from cr_einvoice.core.money import ZERO, to_decimal
from cr_einvoice.vouchers import compute
from cr_einvoice.vouchers.compute import CalculoLinea, TaxInput
from cr_einvoice.vouchers.model._support import check_range, wide
from cr_einvoice.vouchers.model.combos import LineaDetalleSurtido
from cr_einvoice.vouchers.model.items import (
    ASUMIDO,
    CodigoComercial,
    Descuento,
    Impuesto,
    discount,
    tax_input,
)

__all__ = ["LineaDetalle", "LineaPago"]


@dataclass(frozen=True, slots=True, kw_only=True)
class LineaDetalle:
    """LineaDetalle of FE, TE, NC, ND, FEC and FEE. NumeroLinea is the position in ``doc.lineas``.

    Inputs only; ``calculo`` holds MontoTotal (cantidad × precio_unitario), the successive discounts,
    SubTotal, BaseImponible (SubTotal + taxes 02/04/05/12; ``base_imponible`` may be given only with
    ``iva_cobrado_fabrica`` 01 or a tax 07), every tax Monto, exoneration, ImpuestoAsumidoEmisorFabrica
    (IVA on regalía/bonificación discounts), ImpuestoNeto and MontoTotalLinea.

    **Combos** (``surtido``: 1 to 20 :class:`LineaDetalleSurtido`, written as DetalleSurtido): the
    components describe ONE unit of the combo. The line then has no ``impuestos`` of its own (nor
    ``base_imponible``): its taxes are computed from the components, one per tax code, with Monto =
    Cantidad × Σ MontoImpuestoSurtido of that code (summed per IVA tarifa group,
    see :func:`cr_einvoice.vouchers.compute.combo_groups`),
    written without CodigoTarifaIVA/Tarifa as the Anexos require; ImpuestoAsumidoEmisorFabrica is likewise
    Cantidad × the components' IVA on regalía/bonificación discounts. SubTotal must equal
    q5(Cantidad × Σ SubTotalSurtido) (Anexos, SubTotal): :meth:`combo` builds such a line with
    PrecioUnitario = Σ SubTotalSurtido. Exoneration is not supported on combo lines.
    """

    codigo_cabys: str
    detalle: str
    precio_unitario: Decimal
    impuestos: tuple[Impuesto, ...] = ()  # at least one, except on a combo line (none)
    cantidad: Decimal = Decimal(1)
    unidad_medida: UnidadMedida = UnidadMedida.UNIDAD
    codigos_comerciales: tuple[CodigoComercial, ...] = ()
    partida_arancelaria: str | None = None
    tipo_transaccion: TipoTransaccion | None = None
    unidad_medida_comercial: str | None = None
    numeros_vin_serie: tuple[str, ...] = ()
    registro_medicamento: str | None = None
    forma_farmaceutica: str | None = None
    surtido: tuple[LineaDetalleSurtido, ...] = ()
    descuentos: tuple[Descuento, ...] = ()
    iva_cobrado_fabrica: IVACobradoFabrica | None = None
    base_imponible: Decimal | None = None
    calculo: CalculoLinea = field(init=False, compare=False, repr=False)

    @wide
    def __post_init__(self) -> None:
        c = Check(self)
        c.pattern("codigo_cabys", r"\d{13}", "13 digits (CABYS)")
        c.text("detalle", min_len=3, max_len=200)
        precio = c.amount("precio_unitario", positive=True)
        cantidad = c.amount("cantidad", positive=True, decimals=3)
        if cantidad is not None and cantidad >= Decimal(10) ** 13:
            c.add("cantidad", "must have at most 13 integer digits", always=True)
        c.enum("unidad_medida", UnidadMedida)
        c.items("codigos_comerciales", CodigoComercial, max_items=5)
        c.pattern("partida_arancelaria", r"\d{12}", "12 digits", optional=True)
        c.enum("tipo_transaccion", TipoTransaccion, optional=True)
        c.text("unidad_medida_comercial", max_len=20, optional=True)
        vins = c.items("numeros_vin_serie", str, max_items=1000)
        for i, vin in enumerate(vins):
            if isinstance(vin, str) and not 1 <= len(vin) <= 17:
                c.add(f"numeros_vin_serie[{i}]", "must have 1 to 17 characters")
        c.text("registro_medicamento", max_len=100, optional=True)
        c.text("forma_farmaceutica", max_len=3, optional=True)
        c.items("descuentos", Descuento, max_items=5)
        fabrica = c.enum("iva_cobrado_fabrica", IVACobradoFabrica, optional=True)
        base_given = c.amount("base_imponible", optional=True)
        surtido = c.items("surtido", LineaDetalleSurtido, max_items=20)
        impuestos = c.items("impuestos", Impuesto, min_items=0 if surtido else 1, max_items=1000)
        c.done()
        assert precio is not None and cantidad is not None
        if surtido:
            if impuestos:
                c.add(
                    "impuestos",
                    "a combo line takes its taxes from its components (surtido[].impuestos_surtido); "
                    "leave impuestos empty",
                    always=True,
                )
            if base_given is not None:
                c.add("base_imponible", "is computed for a combo line", always=True)
            c.done()
        iva = [t for t in impuestos if t.codigo.es_iva]
        if len(iva) > 1:
            c.add("impuestos", "a line carries at most one IVA tax (codigo 01, 07 or 08)")
        if (
            base_given is not None
            and fabrica is not IVACobradoFabrica.VENTA_CON_IVA_FABRICA
            and not any(t.codigo is CodigoImpuesto.IVA_CALCULO_ESPECIAL for t in impuestos)
        ):
            c.add(
                "base_imponible", "is computed; it may be given only with iva_cobrado_fabrica 01 or a tax 07"
            )
        if fabrica is IVACobradoFabrica.VENTA_EXENTA_IVA_FABRICA and any(
            t.codigo_tarifa_iva is not CodigoTarifaIVA.EXENTA for t in iva
        ):
            c.add(
                "impuestos", "iva_cobrado_fabrica 02 requires the IVA tax with codigo_tarifa_iva 10 (exenta)"
            )
        if stated_amounts():  # read for print: the reader sets the stated amounts as calculo
            c.done()
            return
        monto_total = compute.monto_total(cantidad, precio)
        normalised, remaining = discount(c, "descuentos", "monto_descuento", monto_total, "MontoTotal")
        if surtido:
            self._check_combo_sub_total(c, cantidad, compute.sub_total(remaining))
            calculo = compute.combo_line(cantidad, monto_total, remaining, tuple(s.calculo for s in surtido))
        else:
            for i, t in enumerate(impuestos):
                if (
                    t.exoneracion is not None
                    and t.tarifa is not None
                    and t.exoneracion.tarifa_exonerada > t.tarifa
                ):
                    c.add(
                        f"impuestos[{i}].exoneracion.tarifa_exonerada",
                        f"{t.exoneracion.tarifa_exonerada} exceeds the tax rate {t.tarifa}",
                    )
            calculo = compute.line(
                [tax_input(t) for t in impuestos],
                cantidad=cantidad,
                monto_total=monto_total,
                remaining=remaining,
                base_given=base_given,
                regalias=[d.monto_descuento or ZERO for d in normalised if d.codigo_descuento in ASUMIDO],
            )
        c.set("calculo", calculo)
        check_range(
            c,
            {
                "monto_total": monto_total,
                "base_imponible": calculo.base_imponible,
                "monto_total_linea": calculo.monto_total_linea,
            }
            | {f"impuestos[{i}].monto": t.monto for i, t in enumerate(calculo.impuestos)},
        )
        c.done()

    def _check_combo_sub_total(self, c: Check, cantidad: Decimal, sub_total: Decimal) -> None:
        """A combo line's SubTotal must be Cantidad × the components' SubTotalSurtido."""
        unidad, expected = compute.combo_sub_total(cantidad, (comp.calculo for comp in self.surtido))
        if sub_total != expected:
            c.add(
                "precio_unitario",
                f"a combo line's SubTotal must be Cantidad × the components' SubTotalSurtido ({cantidad} × "
                f"{unidad} = {expected}); Cantidad × PrecioUnitario − discounts gives {sub_total} "
                "(LineaDetalle.combo sets PrecioUnitario to the components' SubTotalSurtido)",
            )

    @classmethod
    def combo(
        cls,
        *,
        codigo_cabys: str,
        detalle: str,
        surtido: Sequence[LineaDetalleSurtido],
        cantidad: Decimal | int | str = 1,
        **kwargs: object,
    ) -> LineaDetalle:
        """A combo line whose PrecioUnitario is the price of one combo unit: the components'
        Σ SubTotalSurtido (so MontoTotal = SubTotal = q5(Cantidad × Σ SubTotalSurtido)). ``kwargs`` are the
        other :class:`LineaDetalle` fields (``codigos_comerciales``, ``unidad_medida``, ...)."""
        comps = tuple(surtido)
        precio = sum(
            (comp.calculo.sub_total_surtido for comp in comps if isinstance(comp, LineaDetalleSurtido)), ZERO
        )
        return cls(
            codigo_cabys=codigo_cabys,
            detalle=detalle,
            precio_unitario=precio,
            impuestos=(),
            cantidad=to_decimal(cantidad, "cantidad"),
            surtido=comps,
            **kwargs,  # type: ignore[arg-type]
        )

    @property
    def es_servicio(self) -> bool:
        """Goods/services split by the first CABYS digit (5-9 = service). Without a CABYS code (v4.3
        vouchers read leniently) the Nota 15 service units decide, as v4.3 systems did."""
        if self.codigo_cabys:
            return is_service_cabys(self.codigo_cabys)
        return self.unidad_medida.es_servicio

    @property
    def impuesto_iva(self) -> Impuesto | None:
        """The line's IVA tax (codigo 01, 07 or 08), if any (None for a combo line: see ``surtido``)."""
        return next((t for t in self.impuestos if t.codigo.es_iva), None)


@dataclass(frozen=True, slots=True, kw_only=True)
class LineaPago:
    """LineaDetalle of a Recibo Electrónico de Pago: ``monto_total`` is the amount paid on the item originally
    invoiced (without taxes); ``sub_total`` (default: monto_total) the payment on which IVA is computed.
    Taxes are optional; their Monto = SubTotal × tarifa / 100."""

    detalle: str
    monto_total: Decimal
    impuestos: tuple[Impuesto, ...] = ()
    sub_total: Decimal | None = None
    calculo: CalculoLinea = field(init=False, compare=False, repr=False)

    @wide
    def __post_init__(self) -> None:
        c = Check(self)
        c.text("detalle", min_len=3, max_len=200)
        monto_total = c.amount("monto_total", positive=True)
        sub_total = c.amount("sub_total", optional=True)
        impuestos = c.items("impuestos", Impuesto, max_items=1000)
        c.done()
        for i, t in enumerate(impuestos):
            if (
                t.datos_impuesto_especifico is not None
                or t.exoneracion is not None
                or t.monto_exportacion is not None
            ):
                c.add(
                    f"impuestos[{i}]",
                    "a REP tax has only codigo, codigo_tarifa_iva, tarifa and factor_calculo_iva",
                )
        c.done()
        assert monto_total is not None
        if sub_total is None:
            sub_total = monto_total
            c.set("sub_total", sub_total)
        c.set(
            "calculo",
            compute.payment_line(
                monto_total,
                sub_total,
                [
                    TaxInput(t.codigo, t.codigo_tarifa_iva, t.tarifa, factor_calculo_iva=t.factor_calculo_iva)
                    for t in impuestos
                ],
            ),
        )
