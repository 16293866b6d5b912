"""Combos, surtidos and packages (DetalleSurtido): the components of ONE unit of a combo line."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Annotated

from cr_einvoice.core.catalogs import (
    CodigoDescuento,
    CodigoImpuesto,
    CodigoTarifaIVA,
    IVACobradoFabrica,
    TipoCodigoComercial,
    TratamientoFiscal,
    UnidadMedida,
)
from cr_einvoice.core.checks import Amount, Check, Checked, Code, Part, Rate, Text
from cr_einvoice.core.money import ZERO
from cr_einvoice.vouchers import compute
from cr_einvoice.vouchers.compute import CalculoSurtido, TaxInput
from cr_einvoice.vouchers.model._support import check_range, wide
from cr_einvoice.vouchers.model.items import (
    ASUMIDO,
    DatosImpuestoEspecifico,
    TaxFields,
    check_discount,
    check_tax,
    discount,
)

__all__ = ["CodigoComercialSurtido", "DescuentoSurtido", "ImpuestoSurtido", "LineaDetalleSurtido"]


@dataclass(frozen=True, slots=True, kw_only=True)
class CodigoComercialSurtido(Checked):
    """CodigoComercialSurtido of a combo component: ``tipo_surtido`` (Nota 12) and ``codigo_surtido``."""

    tipo_surtido: Annotated[TipoCodigoComercial, Code()]
    codigo_surtido: Annotated[str, Text(max_len=20)]


@dataclass(frozen=True, slots=True, kw_only=True)
class DescuentoSurtido(Checked):
    """DescuentoSurtido: one of up to 5 successive discounts of a combo component (codes of Nota 20, like
    :class:`Descuento`). Give ``monto_descuento_surtido`` *or* ``porcentaje`` (applied to what remains
    after the previous discounts; kept for reference, not in equality). Code 99 needs
    ``descuento_surtido_otros``."""

    codigo_descuento_surtido: Annotated[CodigoDescuento, Code()]
    monto_descuento_surtido: Annotated[Decimal | None, Amount()] = None
    porcentaje: Annotated[Decimal | None, Amount()] = field(default=None, compare=False)
    descuento_surtido_otros: Annotated[str | None, Text(min_len=3, max_len=80)] = None

    def check(self, c: Check) -> None:
        check_discount(c, "monto_descuento_surtido")
        codigo = c.got("codigo_descuento_surtido", CodigoDescuento)
        if codigo is CodigoDescuento.OTROS and self.descuento_surtido_otros is None:
            c.add("descuento_surtido_otros", "is required with codigo_descuento_surtido 99")


@dataclass(frozen=True, slots=True, kw_only=True)
class ImpuestoSurtido(Checked):
    """ImpuestoSurtido: one tax of a combo component. IVA (01, 07) needs ``codigo_tarifa_iva_surtido``
    (``tarifa_surtido`` defaults to its rate and must match it); 02 and 99 need ``tarifa_surtido``, 12
    defaults to 5; 03-06 need ``datos_impuesto_especifico_surtido`` (the DatosImpuestoEspecificoSurtido
    fields, as a :class:`DatosImpuestoEspecifico`). 08 (bienes usados) is not possible: components have no
    FactorCalculoIVA. MontoImpuestoSurtido is computed (``LineaDetalleSurtido.calculo``)."""

    codigo_impuesto_surtido: Annotated[CodigoImpuesto, Code()]
    codigo_tarifa_iva_surtido: Annotated[CodigoTarifaIVA | None, Code()] = None
    tarifa_surtido: Annotated[Decimal | None, Rate()] = None
    codigo_impuesto_otro_surtido: Annotated[str | None, Text(min_len=5, max_len=100)] = None
    datos_impuesto_especifico_surtido: Annotated[DatosImpuestoEspecifico | None, Part()] = None

    def check(self, c: Check) -> None:
        codigo = check_tax(c, _IMPUESTO_SURTIDO)
        if codigo is CodigoImpuesto.IVA_BIENES_USADOS:
            c.add(
                "codigo_impuesto_surtido",
                "08 (bienes usados) needs a FactorCalculoIVA, which components lack",
            )


_IMPUESTO_SURTIDO = TaxFields(
    "codigo_impuesto_surtido",
    "codigo_tarifa_iva_surtido",
    "tarifa_surtido",
    "codigo_impuesto_otro_surtido",
    "datos_impuesto_especifico_surtido",
)


@dataclass(frozen=True, slots=True, kw_only=True)
class LineaDetalleSurtido:
    """LineaDetalleSurtido: one component of a combo, surtido or package. It describes the composition of
    ONE unit of the combo, whatever the quantity of the main line (Anexos v4.4).

    Inputs only; ``calculo`` holds MontoTotalSurtido (cantidad_surtido × precio_unitario_surtido), the
    successive discounts, SubTotalSurtido, BaseImponibleSurtido (SubTotalSurtido + taxes 02/04/05/12; it may
    be given only with ``iva_cobrado_fabrica_surtido`` 01 or a tax 07) and every MontoImpuestoSurtido (IVA
    on MontoTotalSurtido with a regalía/bonificación discount 01/03, as for lines).
    """

    codigo_cabys_surtido: str
    detalle_surtido: str
    precio_unitario_surtido: Decimal
    impuestos_surtido: tuple[ImpuestoSurtido, ...]
    cantidad_surtido: Decimal = Decimal(1)
    unidad_medida_surtido: UnidadMedida = UnidadMedida.UNIDAD
    codigos_comerciales_surtido: tuple[CodigoComercialSurtido, ...] = ()
    unidad_medida_comercial_surtido: str | None = None
    descuentos_surtido: tuple[DescuentoSurtido, ...] = ()
    iva_cobrado_fabrica_surtido: IVACobradoFabrica | None = None
    base_imponible_surtido: Decimal | None = None
    calculo: CalculoSurtido = field(init=False, compare=False, repr=False)

    @wide
    def __post_init__(self) -> None:
        c = Check(self)
        c.pattern("codigo_cabys_surtido", r"\d{13}", "13 digits (CABYS)")
        c.text("detalle_surtido", min_len=3, max_len=200)
        precio = c.amount("precio_unitario_surtido", positive=True)
        cantidad = c.amount("cantidad_surtido", positive=True, decimals=3)
        if cantidad is not None and cantidad >= Decimal(10) ** 13:
            c.add("cantidad_surtido", "must have at most 13 integer digits", always=True)
        unidad = c.enum("unidad_medida_surtido", UnidadMedida)
        if unidad is not None and len(unidad.value) > 15:
            c.add("unidad_medida_surtido", "UnidadMedidaSurtido allows at most 15 characters")
        c.items("codigos_comerciales_surtido", CodigoComercialSurtido, max_items=5)
        c.text("unidad_medida_comercial_surtido", max_len=20, optional=True)
        c.items("descuentos_surtido", DescuentoSurtido, max_items=5)
        fabrica = c.enum("iva_cobrado_fabrica_surtido", IVACobradoFabrica, optional=True)
        base_given = c.amount("base_imponible_surtido", optional=True)
        impuestos = c.items("impuestos_surtido", ImpuestoSurtido, min_items=1, max_items=1000)
        c.done()
        assert precio is not None and cantidad is not None
        iva = [t for t in impuestos if t.codigo_impuesto_surtido.es_iva]
        if len(iva) > 1:
            c.add("impuestos_surtido", "a component carries at most one IVA tax (codigo 01 or 07)")
        editable = fabrica is IVACobradoFabrica.VENTA_CON_IVA_FABRICA or any(
            t.codigo_impuesto_surtido is CodigoImpuesto.IVA_CALCULO_ESPECIAL for t in impuestos
        )
        if base_given is not None and not editable:
            c.add(
                "base_imponible_surtido",
                "is computed; it may be given only with iva_cobrado_fabrica_surtido 01 or a tax 07",
            )
        if fabrica is IVACobradoFabrica.VENTA_EXENTA_IVA_FABRICA and any(
            t.codigo_tarifa_iva_surtido is not CodigoTarifaIVA.EXENTA for t in iva
        ):
            c.add(
                "impuestos_surtido",
                "iva_cobrado_fabrica_surtido 02 requires the IVA tax with codigo_tarifa_iva_surtido 10",
            )
        monto_total = compute.monto_total(cantidad, precio)
        normalised, remaining = discount(
            c, "descuentos_surtido", "monto_descuento_surtido", monto_total, "MontoTotalSurtido"
        )
        regalias = [
            d.monto_descuento_surtido or ZERO for d in normalised if d.codigo_descuento_surtido in ASUMIDO
        ]
        sub_total = compute.sub_total(remaining)
        calculados, base = compute.line_taxes(
            [
                TaxInput(
                    t.codigo_impuesto_surtido,
                    t.codigo_tarifa_iva_surtido,
                    t.tarifa_surtido,
                    t.datos_impuesto_especifico_surtido,
                )
                for t in impuestos
            ],
            cantidad=cantidad,
            monto_total=monto_total,
            sub_total=sub_total,
            base_given=base_given,
            regalias=regalias,
        )
        c.set(
            "calculo",
            CalculoSurtido(
                monto_total_surtido=monto_total,
                total_descuentos=monto_total - remaining,
                sub_total_surtido=sub_total,
                base_imponible_surtido=base,
                impuestos=calculados,
            ),
        )
        check_range(
            c,
            {"monto_total_surtido": monto_total, "base_imponible_surtido": base}
            | {f"impuestos_surtido[{i}].monto": t.monto for i, t in enumerate(calculados)},
        )
        c.done()

    @property
    def tratamiento(self) -> TratamientoFiscal:
        """The component's IVA treatment (gravado, exento, no sujeto) from its IVA tax; none is no sujeto
        (as for lines)."""
        iva = next((t for t in self.impuestos_surtido if t.codigo_impuesto_surtido.es_iva), None)
        if iva is None:
            return compute.treatment(None, None)
        return compute.treatment(iva.codigo_impuesto_surtido, iva.codigo_tarifa_iva_surtido)
