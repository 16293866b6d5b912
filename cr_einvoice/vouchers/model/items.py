"""The inputs of a line beside its amounts: commercial codes, discounts, taxes (with their specific-tax data
and exoneration) and the checks a combo component's own discounts and taxes share with them."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, NamedTuple

from cr_einvoice.core.catalogs import (
    CodigoDescuento,
    CodigoImpuesto,
    CodigoTarifaIVA,
    InstitucionExoneracion,
    TipoCodigoComercial,
    TipoDocumentoExoneracion,
)
from cr_einvoice.core.checks import Amount, Check, Checked, Code, Integer, Moment, Part, Rate, Text
from cr_einvoice.core.money import ONE_HUNDRED, ZERO, q5
from cr_einvoice.vouchers import compute
from cr_einvoice.vouchers.compute import TaxInput

__all__ = [
    "ASUMIDO",
    "CodigoComercial",
    "DatosImpuestoEspecifico",
    "Descuento",
    "Exoneracion",
    "Impuesto",
    "TaxFields",
    "check_discount",
    "check_tax",
    "discount",
    "tax_input",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class CodigoComercial(Checked):
    """CodigoComercial: ``tipo`` (Nota 12) and ``codigo`` (up to 20 characters)."""

    tipo: Annotated[TipoCodigoComercial, Code()]
    codigo: Annotated[str, Text(max_len=20)]


@dataclass(frozen=True, slots=True, kw_only=True)
class Descuento(Checked):
    """One of up to 5 successive discounts. Give ``monto_descuento`` *or* ``porcentaje``: a percentage is
    applied to what remains after the previous discounts and turned into ``monto_descuento`` by the line
    (``porcentaje`` is kept for reference and does not take part in equality)."""

    codigo_descuento: Annotated[CodigoDescuento, Code()]
    monto_descuento: Annotated[Decimal | None, Amount()] = None
    porcentaje: Annotated[Decimal | None, Amount()] = field(default=None, compare=False)
    codigo_descuento_otro: Annotated[str | None, Text(min_len=5, max_len=100)] = None
    naturaleza_descuento: Annotated[str | None, Text(min_len=3, max_len=80)] = None

    def check(self, c: Check) -> None:
        check_discount(c, "monto_descuento")
        if c.got("codigo_descuento", CodigoDescuento) is CodigoDescuento.OTROS:
            if self.codigo_descuento_otro is None:
                c.add("codigo_descuento_otro", "is required with codigo_descuento 99")
            if self.naturaleza_descuento is None:
                c.add("naturaleza_descuento", "is required with codigo_descuento 99")


@dataclass(frozen=True, slots=True, kw_only=True)
class DatosImpuestoEspecifico(Checked):
    """Data for the non-rate taxes 03 (fuel: litres), 04 (alcohol), 05 (soft drinks) and 06 (tobacco).

    ``proporcion`` (04) is computed as cantidad_unidad_medida × porcentaje / 100 (millilitres of absolute
    alcohol) when not given."""

    cantidad_unidad_medida: Annotated[Decimal, Rate(max_digits=7)]
    impuesto_unidad: Annotated[Decimal, Amount()]
    porcentaje: Annotated[Decimal | None, Rate()] = None
    proporcion: Annotated[Decimal | None, Rate(max_digits=10, decimals=5)] = None
    volumen_unidad_consumo: Annotated[Decimal | None, Rate(max_digits=7)] = None

    def check(self, c: Check) -> None:
        cum = c.got("cantidad_unidad_medida", Decimal)
        pct = c.got("porcentaje", Decimal)
        if c.got("proporcion", Decimal) is None and pct is not None and cum is not None:
            c.set("proporcion", q5(cum * pct / ONE_HUNDRED))


@dataclass(frozen=True, slots=True, kw_only=True)
class Exoneracion(Checked):
    """Exoneracion (v4.4 fields). MontoExoneracion = TarifaExonerada × BaseImponible / 100 is computed."""

    tipo_documento_ex1: Annotated[TipoDocumentoExoneracion, Code()]
    numero_documento: Annotated[str, Text(min_len=3, max_len=40)]
    nombre_institucion: Annotated[InstitucionExoneracion, Code()]
    fecha_emision_ex: Annotated[datetime, Moment()]
    tarifa_exonerada: Annotated[Decimal, Rate()]
    tipo_documento_otro: Annotated[str | None, Text(min_len=5, max_len=100)] = None
    articulo: Annotated[int | None, Integer(0, 999_999)] = None
    inciso: Annotated[int | None, Integer(0, 999_999)] = None
    nombre_institucion_otros: Annotated[str | None, Text(min_len=5, max_len=160)] = None

    def check(self, c: Check) -> None:
        tipo = c.got("tipo_documento_ex1", TipoDocumentoExoneracion)
        inst = c.got("nombre_institucion", InstitucionExoneracion)
        if tipo is TipoDocumentoExoneracion.OTROS and self.tipo_documento_otro is None:
            c.add("tipo_documento_otro", "is required with tipo_documento_ex1 99")
        if inst is InstitucionExoneracion.OTROS and self.nombre_institucion_otros is None:
            c.add("nombre_institucion_otros", "is required with nombre_institucion 99")
        if (
            tipo
            in (
                TipoDocumentoExoneracion.VENTAS_EXENTAS_DIPLOMATICOS,
                TipoDocumentoExoneracion.LEY_ESPECIAL,
                TipoDocumentoExoneracion.SERVICIOS_TURISTICOS_ICT,
                TipoDocumentoExoneracion.TRANSITORIO_XVII_RECICLAJE,
                TipoDocumentoExoneracion.ZONA_FRANCA,
            )
            and self.articulo is None
        ):
            c.add("articulo", f"is required with tipo_documento_ex1 {tipo.value}")


@dataclass(frozen=True, slots=True, kw_only=True)
class Impuesto(Checked):
    """One tax of a line (Nota 8). For IVA (01, 07) give ``codigo_tarifa_iva``; ``tarifa`` then defaults to
    that code's rate and must match it. Taxes 02, 99 need ``tarifa``; 12 (cemento) defaults to 5;
    08 (bienes usados) needs ``factor_calculo_iva``; 03-06 need ``datos_impuesto_especifico``."""

    codigo: Annotated[CodigoImpuesto, Code()]
    codigo_tarifa_iva: Annotated[CodigoTarifaIVA | None, Code()] = None
    tarifa: Annotated[Decimal | None, Rate()] = None
    codigo_impuesto_otro: Annotated[str | None, Text(min_len=5, max_len=100)] = None
    factor_calculo_iva: Annotated[Decimal | None, Rate(max_digits=5, decimals=4)] = None
    datos_impuesto_especifico: Annotated[DatosImpuestoEspecifico | None, Part()] = None
    exoneracion: Annotated[Exoneracion | None, Part()] = None
    monto_exportacion: Annotated[Decimal | None, Amount()] = None

    def check(self, c: Check) -> None:
        codigo = check_tax(c, _IMPUESTO)
        if codigo is CodigoImpuesto.IVA_BIENES_USADOS and self.factor_calculo_iva is None:
            c.add("factor_calculo_iva", "is required for tax code 08 (IVA régimen de bienes usados)")


class TaxFields(NamedTuple):
    """The field names of a tax: a line's Impuesto or a combo component's ImpuestoSurtido."""

    codigo: str
    tarifa_iva: str
    tarifa: str
    otro: str
    datos: str


_IMPUESTO = TaxFields(
    "codigo", "codigo_tarifa_iva", "tarifa", "codigo_impuesto_otro", "datos_impuesto_especifico"
)


def check_tax(c: Check, names: TaxFields) -> CodigoImpuesto | None:
    """The rules shared by a line's Impuesto and a combo component's ImpuestoSurtido (Nota 8, 8.1), after
    their fields' own checks."""
    codigo = c.got(names.codigo, CodigoImpuesto)
    tarifa_iva = c.got(names.tarifa_iva, CodigoTarifaIVA)
    tarifa = c.got(names.tarifa, Decimal)
    datos = c.got(names.datos, DatosImpuestoEspecifico)
    if codigo in (CodigoImpuesto.IVA, CodigoImpuesto.IVA_CALCULO_ESPECIAL):
        if tarifa_iva is None:
            c.add(names.tarifa_iva, f"is required for tax code {codigo.value}")
        elif tarifa is None:
            c.set(names.tarifa, tarifa_iva.tarifa)
        elif tarifa != tarifa_iva.tarifa:
            c.add(
                names.tarifa,
                f"{tarifa} does not match {names.tarifa_iva} {tarifa_iva.value} ({tarifa_iva.tarifa} %)",
            )
    elif codigo is CodigoImpuesto.CEMENTO and tarifa is None:
        c.set(names.tarifa, Decimal("5"))
    elif codigo in (CodigoImpuesto.SELECTIVO_CONSUMO, CodigoImpuesto.OTROS) and tarifa is None:
        c.add(names.tarifa, f"is required for tax code {codigo.value}")
    if codigo is CodigoImpuesto.OTROS and getattr(c.obj, names.otro) is None:
        c.add(names.otro, "is required for tax code 99")
    if codigo in _ESPECIFICOS:
        if datos is None:
            c.add(names.datos, f"is required for tax code {codigo.value}")
        elif codigo is CodigoImpuesto.BEBIDAS_ALCOHOLICAS and datos.proporcion is None:
            c.add(f"{names.datos}.porcentaje", "is required for tax code 04")
        elif codigo is CodigoImpuesto.BEBIDAS_SIN_ALCOHOL_JABONES and not datos.volumen_unidad_consumo:
            c.add(f"{names.datos}.volumen_unidad_consumo", "is required for tax code 05")
    elif datos is not None:
        c.add(names.datos, "is only used with tax codes 03, 04, 05 and 06")
    return codigo


_ESPECIFICOS = (
    CodigoImpuesto.UNICO_COMBUSTIBLES,
    CodigoImpuesto.BEBIDAS_ALCOHOLICAS,
    CodigoImpuesto.BEBIDAS_SIN_ALCOHOL_JABONES,
    CodigoImpuesto.TABACO,
)
#: Regalía and bonificación (Nota 20, 01 and 03): the IVA of these discounts is assumed by the emisor.
ASUMIDO = (CodigoDescuento.REGALIA, CodigoDescuento.BONIFICACION)


def check_discount(c: Check, monto_name: str) -> None:
    """The rule shared by a line's Descuento and a combo component's DescuentoSurtido: an amount or a
    percentage (at most 100)."""
    pct = c.got("porcentaje", Decimal)
    if c.got(monto_name, Decimal) is None and pct is None:
        c.add(monto_name, f"give {monto_name} or porcentaje", always=True)
    if pct is not None and pct > ONE_HUNDRED:
        c.add("porcentaje", f"must be at most 100, got {pct}")


def tax_input(t: Impuesto) -> TaxInput:
    """What :mod:`cr_einvoice.vouchers.compute` needs of a line's tax (08 without a factor computes to 0)."""
    return TaxInput(
        codigo=t.codigo,
        codigo_tarifa_iva=t.codigo_tarifa_iva,
        tarifa=t.tarifa,
        datos=t.datos_impuesto_especifico,
        factor_calculo_iva=t.factor_calculo_iva if t.factor_calculo_iva is not None else ZERO,
        tarifa_exonerada=t.exoneracion.tarifa_exonerada if t.exoneracion is not None else None,
    )


def discount(c: Check, name: str, amount_name: str, monto_total: Decimal, what: str) -> tuple[Any, Decimal]:
    """Apply the discounts in field ``name`` one after another (:func:`cr_einvoice.vouchers.compute.
    apply_discounts`), write them back with their amounts and return them with what remains of
    ``monto_total``; a discount above what the previous ones left is reported."""
    given = getattr(c.obj, name)
    amounts, remaining = compute.apply_discounts(
        monto_total, [(getattr(d, amount_name), d.porcentaje) for d in given]
    )
    normalised = []
    for i, (d, (monto, before)) in enumerate(zip(given, amounts, strict=True)):
        normalised.append(
            d if getattr(d, amount_name) is not None else dataclasses.replace(d, **{amount_name: monto})
        )
        if monto > before:
            c.add(
                f"{name}[{i}].{amount_name}",
                f"{monto} exceeds what remains of {what} after the previous discounts ({before})",
            )
    c.set(name, tuple(normalised))
    return tuple(normalised), remaining
