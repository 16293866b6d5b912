"""Immutable typed models of every v4.4 voucher, with the totals computed by the library.

Documents: :class:`FacturaElectronica` (01), :class:`NotaDebito` (02), :class:`NotaCredito` (03),
:class:`Tiquete` (04), :class:`FacturaCompra` (08), :class:`FacturaExportacion` (09), :class:`ReciboPago`
(10) and :class:`MensajeReceptor` (05/06/07). Attribute names are the snake_case form of Hacienda's element
names; lists are plural (``lineas``, ``descuentos``, ``impuestos``, ``otros_cargos``, ``medios_pago``,
``referencias``).

What the user gives are the *inputs* (quantities, prices, discount amounts or percentages, tax codes and
rates, exoneration data, other charges, payment means). Every computed amount -- MontoTotal, SubTotal,
BaseImponible, tax Monto, MontoExoneracion, ImpuestoAsumidoEmisorFabrica, ImpuestoNeto, MontoTotalLinea and
the whole ResumenFactura -- is computed at construction (``linea.calculo``, ``doc.resumen``) with half-up
rounding at 5 decimals (:mod:`cr_einvoice.core.money`). Constructors validate and raise
:class:`~cr_einvoice.core.errors.ValidationError` whose problems name the field
(``lineas[2].precio_unitario``;
list indices are 0-based positions, so ``lineas[0]`` is NumeroLinea 1).

Documents read from XML (:func:`cr_einvoice.vouchers.xmlread.from_xml`) additionally carry ``doc.stated``:
the totals
the XML itself states (per line and the ResumenFactura), so they can be compared with the computed ones
(``doc.stated_differences()``). ``stated`` does not take part in equality.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Context, Decimal, localcontext
from typing import Any, ClassVar, TypeAlias, TypeVar

from cr_einvoice.core.catalogs import (
    CodigoDescuento,
    CodigoImpuesto,
    CodigoMoneda,
    CodigoReferencia,
    CodigoTarifaIVA,
    CondicionImpuesto,
    CondicionVenta,
    InstitucionExoneracion,
    IVACobradoFabrica,
    Mensaje,
    TipoCodigoComercial,
    TipoDocReferencia,
    TipoDocumento,
    TipoDocumentoExoneracion,
    TipoDocumentoOtrosCargos,
    TipoIdentificacion,
    TipoMedioPago,
    TipoTransaccion,
    UnidadMedida,
    is_service_cabys,
)
from cr_einvoice.core.checks import Check as _Check
from cr_einvoice.core.checks import lenient as _lenient
from cr_einvoice.core.checks import reading_received
from cr_einvoice.core.errors import Problem, ValidationError
from cr_einvoice.core.identifiers import Identificacion
from cr_einvoice.core.money import AMOUNT_MAX, ONE_HUNDRED, ZERO, q5, to_decimal

__all__ = [
    "CalculoLinea",
    "CalculoSurtido",
    "CodigoComercial",
    "CodigoComercialSurtido",
    "Comprobante",
    "DatosImpuestoEspecifico",
    "Descuento",
    "DescuentoSurtido",
    "Document",
    "Emisor",
    "Exoneracion",
    "FacturaCompra",
    "FacturaElectronica",
    "FacturaExportacion",
    "Identificacion",
    "Impuesto",
    "ImpuestoCalculado",
    "ImpuestoSurtido",
    "InformacionReferencia",
    "LineaDetalle",
    "LineaDetalleSurtido",
    "LineaPago",
    "MedioPago",
    "MensajeReceptor",
    "NotaCredito",
    "NotaDebito",
    "OtroCargo",
    "OtroContenido",
    "OtroTexto",
    "Otros",
    "Receptor",
    "ReciboPago",
    "ResumenFactura",
    "StatedTotals",
    "Telefono",
    "Tiquete",
    "TotalDesgloseImpuesto",
    "Ubicacion",
    "document_class",
    "reading_received",
]

# ---------------------------------------------------------------------------------------------------------
# validation helpers

#: Computations run with ample precision so that even out-of-range inputs are computed exactly and then
#: reported (a default 28-digit context would raise on 13-digit quantities times 13-digit prices).
_WIDE = Context(prec=80)
_F = TypeVar("_F", bound=Callable[..., None])


def _wide(method: _F) -> _F:
    def run(self: object) -> None:
        with localcontext(_WIDE):
            method(self)

    run.__name__ = method.__name__
    run.__doc__ = method.__doc__
    return run  # type: ignore[return-value]


def _check_range(c: _Check, path: str, values: dict[str, Decimal]) -> None:
    """Computed amounts must fit DecimalDineroType (13 integer digits)."""
    for name, value in values.items():
        if value > AMOUNT_MAX:
            c.add(
                f"{path}{name}" if path else name,
                f"the computed amount {value} exceeds {AMOUNT_MAX}",
                always=True,
            )


_EMAIL = re.compile(
    r"\s*[^<>()\[\].,;:\s@\"]+(\.[^<>()\[\].,;:\s@\"]+)*@([^<>()\[\].,;:\s@\"]+\.)+[^<>()\[\].,;:\s@\"]+\s*"
)


def _wrap(check: _Check, prefix: str, build: Callable[[], None]) -> None:
    try:
        build()
    except ValidationError as exc:
        check.nested(prefix, exc)


# ---------------------------------------------------------------------------------------------------------
# parties


@dataclass(frozen=True, slots=True, kw_only=True)
class Ubicacion:
    """Ubicacion (Nota 14 codes): provincia 1 digit, canton and distrito 2 digits (ints are zero-padded)."""

    provincia: str
    canton: str
    distrito: str
    otras_senas: str
    barrio: str | None = None

    def __post_init__(self) -> None:
        c = _Check(self)
        for name, width in (("provincia", 1), ("canton", 2), ("distrito", 2)):
            value = getattr(self, name)
            if isinstance(value, int) and not isinstance(value, bool):
                value = f"{value:0{width}d}"
                c.set(name, value)
            if not isinstance(value, str) or not re.fullmatch(rf"\d{{{width}}}", value) or int(value) == 0:
                c.add(
                    name,
                    f"must be a code of {width} digit{'s' if width > 1 else ''} (Nota 14), got {value!r}",
                    always=not isinstance(value, str),
                )
        c.text("otras_senas", min_len=5, max_len=250)
        c.text("barrio", min_len=5, max_len=50, optional=True)
        c.done()


@dataclass(frozen=True, slots=True, kw_only=True)
class Telefono:
    """Telefono: ``codigo_pais`` (1-3 digits) and ``num_telefono`` (8-20 digits)."""

    codigo_pais: int
    num_telefono: str

    def __post_init__(self) -> None:
        c = _Check(self)
        c.integer("codigo_pais", 1, 999, optional=False)
        raw: object = self.num_telefono
        if isinstance(raw, int) and not isinstance(raw, bool):
            c.set("num_telefono", str(raw))
        c.pattern("num_telefono", r"[1-9]\d{7,19}", "8 to 20 digits without a leading zero")
        c.done()


@dataclass(frozen=True, slots=True, kw_only=True)
class Emisor:
    """Emisor. ``correos_electronicos`` holds 1 to 4 addresses (0 allowed in NC, ND and FEC)."""

    nombre: str
    identificacion: Identificacion
    correos_electronicos: tuple[str, ...] = ()
    ubicacion: Ubicacion | None = None
    nombre_comercial: str | None = None
    registrofiscal8707: str | None = None
    telefono: Telefono | None = None
    otras_senas_extranjero: str | None = None

    def __post_init__(self) -> None:
        c = _Check(self)
        c.text("nombre", min_len=5, max_len=100)
        c.instance("identificacion", Identificacion)
        correos = c.items("correos_electronicos", str, max_items=4)
        for i, correo in enumerate(correos):
            if isinstance(correo, str) and (len(correo) > 160 or not _EMAIL.fullmatch(correo)):
                c.add(f"correos_electronicos[{i}]", f"{correo!r} is not a valid e-mail address (max 160)")
        c.instance("ubicacion", Ubicacion, optional=True)
        c.text("nombre_comercial", min_len=3, max_len=80, optional=True)
        c.text("registrofiscal8707", max_len=12, optional=True)
        c.instance("telefono", Telefono, optional=True)
        c.text("otras_senas_extranjero", min_len=5, max_len=300, optional=True)
        c.done()


@dataclass(frozen=True, slots=True, kw_only=True)
class Receptor:
    """Receptor. ``identificacion`` may be omitted only in TE, NC, ND and FEE."""

    nombre: str
    identificacion: Identificacion | None = None
    nombre_comercial: str | None = None
    ubicacion: Ubicacion | None = None
    otras_senas_extranjero: str | None = None
    telefono: Telefono | None = None
    correo_electronico: str | None = None

    def __post_init__(self) -> None:
        c = _Check(self)
        c.text("nombre", min_len=3, max_len=100)
        c.instance("identificacion", Identificacion, optional=True)
        c.text("nombre_comercial", min_len=3, max_len=80, optional=True)
        c.instance("ubicacion", Ubicacion, optional=True)
        c.text("otras_senas_extranjero", min_len=5, max_len=300, optional=True)
        c.instance("telefono", Telefono, optional=True)
        correo = c.text("correo_electronico", max_len=160, optional=True)
        if correo is not None and not _EMAIL.fullmatch(correo):
            c.add("correo_electronico", f"{correo!r} is not a valid e-mail address")
        c.done()


# ---------------------------------------------------------------------------------------------------------
# line items


@dataclass(frozen=True, slots=True, kw_only=True)
class CodigoComercial:
    """CodigoComercial: ``tipo`` (Nota 12) and ``codigo`` (up to 20 characters)."""

    tipo: TipoCodigoComercial
    codigo: str

    def __post_init__(self) -> None:
        c = _Check(self)
        c.enum("tipo", TipoCodigoComercial)
        c.text("codigo", max_len=20)
        c.done()


@dataclass(frozen=True, slots=True, kw_only=True)
class Descuento:
    """One of up to 5 successive discounts. Give ``monto_descuento`` *or* ``porcentaje``: a percentage is
    applied to what remains after the previous discounts and turned into ``monto_descuento`` by the line
    (``porcentaje`` is kept for reference and does not take part in equality)."""

    codigo_descuento: CodigoDescuento
    monto_descuento: Decimal | None = None
    porcentaje: Decimal | None = field(default=None, compare=False)
    codigo_descuento_otro: str | None = None
    naturaleza_descuento: str | None = None

    def __post_init__(self) -> None:
        c = _Check(self)
        codigo = c.enum("codigo_descuento", CodigoDescuento)
        monto = c.amount("monto_descuento", optional=True)
        pct = c.amount("porcentaje", optional=True)
        if monto is None and pct is None:
            c.add("monto_descuento", "give monto_descuento or porcentaje", always=True)
        if pct is not None and pct > ONE_HUNDRED:
            c.add("porcentaje", f"must be at most 100, got {pct}")
        c.text("codigo_descuento_otro", min_len=5, max_len=100, optional=True)
        c.text("naturaleza_descuento", min_len=3, max_len=80, optional=True)
        if codigo is CodigoDescuento.OTROS:
            if self.codigo_descuento_otro is None:
                c.add("codigo_descuento_otro", "is required with codigo_descuento 99")
            if self.naturaleza_descuento is None:
                c.add("naturaleza_descuento", "is required with codigo_descuento 99")
        c.done()


@dataclass(frozen=True, slots=True, kw_only=True)
class DatosImpuestoEspecifico:
    """Data for the non-rate taxes 03 (fuel: litres), 04 (alcohol), 05 (soft drinks) and 06 (tobacco).

    ``proporcion`` (04) is computed as cantidad_unidad_medida × porcentaje / 100 (millilitres of absolute
    alcohol) when not given."""

    cantidad_unidad_medida: Decimal
    impuesto_unidad: Decimal
    porcentaje: Decimal | None = None
    proporcion: Decimal | None = None
    volumen_unidad_consumo: Decimal | None = None

    def __post_init__(self) -> None:
        c = _Check(self)
        cum = c.rate("cantidad_unidad_medida", optional=False, max_digits=7)
        c.amount("impuesto_unidad")
        pct = c.rate("porcentaje")
        prop = c.rate("proporcion", max_digits=10, decimals=5)
        c.rate("volumen_unidad_consumo", max_digits=7)
        if prop is None and pct is not None and cum is not None:
            c.set("proporcion", q5(cum * pct / ONE_HUNDRED))
        c.done()


@dataclass(frozen=True, slots=True, kw_only=True)
class Exoneracion:
    """Exoneracion (v4.4 fields). MontoExoneracion = TarifaExonerada × BaseImponible / 100 is computed."""

    tipo_documento_ex1: TipoDocumentoExoneracion
    numero_documento: str
    nombre_institucion: InstitucionExoneracion
    fecha_emision_ex: datetime
    tarifa_exonerada: Decimal
    tipo_documento_otro: str | None = None
    articulo: int | None = None
    inciso: int | None = None
    nombre_institucion_otros: str | None = None

    def __post_init__(self) -> None:
        c = _Check(self)
        tipo = c.enum("tipo_documento_ex1", TipoDocumentoExoneracion)
        c.text("numero_documento", min_len=3, max_len=40)
        inst = c.enum("nombre_institucion", InstitucionExoneracion)
        c.moment("fecha_emision_ex")
        c.rate("tarifa_exonerada", optional=False)
        c.text("tipo_documento_otro", min_len=5, max_len=100, optional=True)
        c.integer("articulo", 0, 999_999)
        c.integer("inciso", 0, 999_999)
        c.text("nombre_institucion_otros", min_len=5, max_len=160, optional=True)
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
        c.done()


@dataclass(frozen=True, slots=True, kw_only=True)
class Impuesto:
    """One tax of a line (Nota 8). For IVA (01, 07) give ``codigo_tarifa_iva``; ``tarifa`` then defaults to
    that code's rate and must match it. Taxes 02, 99 need ``tarifa``; 12 (cemento) defaults to 5;
    08 (bienes usados) needs ``factor_calculo_iva``; 03-06 need ``datos_impuesto_especifico``."""

    codigo: CodigoImpuesto
    codigo_tarifa_iva: CodigoTarifaIVA | None = None
    tarifa: Decimal | None = None
    codigo_impuesto_otro: str | None = None
    factor_calculo_iva: Decimal | None = None
    datos_impuesto_especifico: DatosImpuestoEspecifico | None = None
    exoneracion: Exoneracion | None = None
    monto_exportacion: Decimal | None = None

    def __post_init__(self) -> None:
        c = _Check(self)
        codigo, _datos = _check_tax(
            c, "codigo", "codigo_tarifa_iva", "tarifa", "codigo_impuesto_otro", "datos_impuesto_especifico"
        )
        c.rate("factor_calculo_iva", max_digits=5, decimals=4)
        c.instance("exoneracion", Exoneracion, optional=True)
        c.amount("monto_exportacion", optional=True)
        if codigo is CodigoImpuesto.IVA_BIENES_USADOS and self.factor_calculo_iva is None:
            c.add("factor_calculo_iva", "is required for tax code 08 (IVA régimen de bienes usados)")
        c.done()


def _check_tax(  # noqa: PLR0917
    c: _Check, codigo_name: str, tarifa_iva_name: str, tarifa_name: str, otro_name: str, datos_name: str
) -> tuple[CodigoImpuesto | None, DatosImpuestoEspecifico | None]:
    """The checks shared by a line's Impuesto and a combo component's ImpuestoSurtido (Nota 8, 8.1)."""
    codigo = c.enum(codigo_name, CodigoImpuesto)
    tarifa_iva = c.enum(tarifa_iva_name, CodigoTarifaIVA, optional=True)
    tarifa = c.rate(tarifa_name)
    c.text(otro_name, min_len=5, max_len=100, optional=True)
    datos = c.instance(datos_name, DatosImpuestoEspecifico, optional=True)
    if codigo in (CodigoImpuesto.IVA, CodigoImpuesto.IVA_CALCULO_ESPECIAL):
        if tarifa_iva is None:
            c.add(tarifa_iva_name, f"is required for tax code {codigo.value}")
        elif tarifa is None:
            c.set(tarifa_name, tarifa_iva.tarifa)
        elif tarifa != tarifa_iva.tarifa:
            c.add(
                tarifa_name,
                f"{tarifa} does not match {tarifa_iva_name} {tarifa_iva.value} ({tarifa_iva.tarifa} %)",
            )
    elif codigo is CodigoImpuesto.CEMENTO and tarifa is None:
        c.set(tarifa_name, Decimal("5"))
    elif codigo in (CodigoImpuesto.SELECTIVO_CONSUMO, CodigoImpuesto.OTROS) and tarifa is None:
        c.add(tarifa_name, f"is required for tax code {codigo.value}")
    if codigo is CodigoImpuesto.OTROS and getattr(c.obj, otro_name) is None:
        c.add(otro_name, "is required for tax code 99")
    if codigo in _ESPECIFICOS:
        if datos is None:
            c.add(datos_name, f"is required for tax code {codigo.value}")
        elif codigo is CodigoImpuesto.BEBIDAS_ALCOHOLICAS and datos.proporcion is None:
            c.add(f"{datos_name}.porcentaje", "is required for tax code 04")
        elif codigo is CodigoImpuesto.BEBIDAS_SIN_ALCOHOL_JABONES and not datos.volumen_unidad_consumo:
            c.add(f"{datos_name}.volumen_unidad_consumo", "is required for tax code 05")
    elif datos is not None:
        c.add(datos_name, "is only used with tax codes 03, 04, 05 and 06")
    return codigo, datos


_ESPECIFICOS = (
    CodigoImpuesto.UNICO_COMBUSTIBLES,
    CodigoImpuesto.BEBIDAS_ALCOHOLICAS,
    CodigoImpuesto.BEBIDAS_SIN_ALCOHOL_JABONES,
    CodigoImpuesto.TABACO,
)
_ASUMIDO = (CodigoDescuento.REGALIA, CodigoDescuento.BONIFICACION)


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


# ---------------------------------------------------------------------------------------------------------
# combos (DetalleSurtido)


@dataclass(frozen=True, slots=True, kw_only=True)
class CodigoComercialSurtido:
    """CodigoComercialSurtido of a combo component: ``tipo_surtido`` (Nota 12) and ``codigo_surtido``."""

    tipo_surtido: TipoCodigoComercial
    codigo_surtido: str

    def __post_init__(self) -> None:
        c = _Check(self)
        c.enum("tipo_surtido", TipoCodigoComercial)
        c.text("codigo_surtido", max_len=20)
        c.done()


@dataclass(frozen=True, slots=True, kw_only=True)
class DescuentoSurtido:
    """DescuentoSurtido: one of up to 5 successive discounts of a combo component (codes of Nota 20, like
    :class:`Descuento`). Give ``monto_descuento_surtido`` *or* ``porcentaje`` (applied to what remains
    after the previous discounts; kept for reference, not in equality). Code 99 needs
    ``descuento_surtido_otros``."""

    codigo_descuento_surtido: CodigoDescuento
    monto_descuento_surtido: Decimal | None = None
    porcentaje: Decimal | None = field(default=None, compare=False)
    descuento_surtido_otros: str | None = None

    def __post_init__(self) -> None:
        c = _Check(self)
        codigo = c.enum("codigo_descuento_surtido", CodigoDescuento)
        monto = c.amount("monto_descuento_surtido", optional=True)
        pct = c.amount("porcentaje", optional=True)
        if monto is None and pct is None:
            c.add("monto_descuento_surtido", "give monto_descuento_surtido or porcentaje", always=True)
        if pct is not None and pct > ONE_HUNDRED:
            c.add("porcentaje", f"must be at most 100, got {pct}")
        c.text("descuento_surtido_otros", min_len=3, max_len=80, optional=True)
        if codigo is CodigoDescuento.OTROS and self.descuento_surtido_otros is None:
            c.add("descuento_surtido_otros", "is required with codigo_descuento_surtido 99")
        c.done()


@dataclass(frozen=True, slots=True, kw_only=True)
class ImpuestoSurtido:
    """ImpuestoSurtido: one tax of a combo component. IVA (01, 07) needs ``codigo_tarifa_iva_surtido``
    (``tarifa_surtido`` defaults to its rate and must match it); 02 and 99 need ``tarifa_surtido``, 12
    defaults to 5; 03-06 need ``datos_impuesto_especifico_surtido`` (the DatosImpuestoEspecificoSurtido
    fields, as a :class:`DatosImpuestoEspecifico`). 08 (bienes usados) is not possible: components have no
    FactorCalculoIVA. MontoImpuestoSurtido is computed (``LineaDetalleSurtido.calculo``)."""

    codigo_impuesto_surtido: CodigoImpuesto
    codigo_tarifa_iva_surtido: CodigoTarifaIVA | None = None
    tarifa_surtido: Decimal | None = None
    codigo_impuesto_otro_surtido: str | None = None
    datos_impuesto_especifico_surtido: DatosImpuestoEspecifico | None = None

    def __post_init__(self) -> None:
        c = _Check(self)
        codigo, _datos = _check_tax(
            c,
            "codigo_impuesto_surtido",
            "codigo_tarifa_iva_surtido",
            "tarifa_surtido",
            "codigo_impuesto_otro_surtido",
            "datos_impuesto_especifico_surtido",
        )
        if codigo is CodigoImpuesto.IVA_BIENES_USADOS:
            c.add(
                "codigo_impuesto_surtido",
                "08 (bienes usados) needs a FactorCalculoIVA, which components lack",
            )
        c.done()


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

    @_wide
    def __post_init__(self) -> None:
        c = _Check(self)
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
        monto_total = q5(cantidad * precio)
        normalised, remaining = _successive(
            c, "descuentos_surtido", "monto_descuento_surtido", monto_total, "MontoTotalSurtido"
        )
        sub_total = remaining if remaining > 0 else ZERO
        regalias = [
            d.monto_descuento_surtido or ZERO for d in normalised if d.codigo_descuento_surtido in _ASUMIDO
        ]
        calculados, base = _taxes(
            [
                (
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
        _check_range(
            c,
            "",
            {"monto_total_surtido": monto_total, "base_imponible_surtido": base}
            | {f"impuestos_surtido[{i}].monto": t.monto for i, t in enumerate(calculados)},
        )
        c.done()

    @property
    def tratamiento(self) -> str:
        """The component's IVA treatment ('gravado', 'exento', 'no_sujeto') from its IVA tax; none is no
        sujeto (as for lines)."""
        iva = next((t for t in self.impuestos_surtido if t.codigo_impuesto_surtido.es_iva), None)
        if iva is None:
            return "no_sujeto"
        if iva.codigo_tarifa_iva_surtido is None:
            return "gravado"
        return iva.codigo_tarifa_iva_surtido.tratamiento


_TaxInput: TypeAlias = tuple[
    CodigoImpuesto, CodigoTarifaIVA | None, Decimal | None, DatosImpuestoEspecifico | None
]


def _taxes(
    taxes: Sequence[_TaxInput],
    *,
    cantidad: Decimal,
    monto_total: Decimal,
    sub_total: Decimal,
    base_given: Decimal | None,
    regalias: Sequence[Decimal],
) -> tuple[tuple[ImpuestoCalculado, ...], Decimal]:
    """Tax amounts of a combo component (no exoneration, no factor) and its taxable base."""
    montos: dict[int, Decimal] = {}
    for i, (codigo, _ctar, tarifa, datos) in enumerate(taxes):
        if not codigo.es_iva:
            montos[i] = _especifico(codigo, tarifa, datos, cantidad, sub_total)
    especificos_base = sum((montos[i] for i, t in enumerate(taxes) if t[0].forma_base_imponible), ZERO)
    base = base_given if base_given is not None else sub_total + especificos_base
    asumido_base = sum(regalias, ZERO)
    out: list[ImpuestoCalculado] = []
    for i, (codigo, ctar, tarifa_given, _datos) in enumerate(taxes):
        tarifa = tarifa_given if tarifa_given is not None else ZERO
        asumido = ZERO
        if codigo is CodigoImpuesto.IVA:
            monto = q5((monto_total if regalias else base) * tarifa / ONE_HUNDRED)
            asumido = min(q5(asumido_base * tarifa / ONE_HUNDRED), monto)
        elif codigo.es_iva:
            monto = q5(base * tarifa / ONE_HUNDRED)
        else:
            monto = montos[i]
        out.append(ImpuestoCalculado(codigo, ctar, monto, ZERO, asumido, monto - asumido))
    return tuple(out), base


_Grupo: TypeAlias = tuple[CodigoImpuesto, CodigoTarifaIVA | None]


def _combo_groups(
    cantidad: Decimal, surtido: Sequence[LineaDetalleSurtido]
) -> dict[_Grupo, tuple[Decimal, Decimal]]:
    """The taxes of a combo line grouped by (tax code, IVA tarifa code for 01/07): for each group, the
    components' MontoImpuestoSurtido and their assumed IVA, summed over one combo unit and multiplied by the
    line's Cantidad: ``(q5(Cantidad × Σ monto), q5(Cantidad × Σ asumido))``.

    This is what the line's tax Monto (summed per tax code) and TotalDesgloseImpuesto (per group) use, so
    the two always add up to the same amounts."""
    sums: dict[_Grupo, tuple[Decimal, Decimal]] = {}
    for comp in surtido:
        for t in comp.calculo.impuestos:
            key = (t.codigo, t.codigo_tarifa_iva if t.codigo in _DESGLOSE_TARIFA else None)
            monto, asumido = sums.get(key, (ZERO, ZERO))
            sums[key] = (monto + t.monto, asumido + t.asumido)
    out: dict[_Grupo, tuple[Decimal, Decimal]] = {}
    for key, (monto, asumido) in sums.items():
        total = q5(cantidad * monto)
        out[key] = (total, min(q5(cantidad * asumido), total))
    return out


def _combo_split(monto_total: Decimal, weights: dict[str, Decimal]) -> dict[str, Decimal]:
    """How a combo line's MontoTotal is shared among the IVA treatments of its components (for the
    ResumenFactura goods/services totals): in proportion to the components' SubTotalSurtido per treatment
    (``weights``), each share rounded with q5 except the first treatment present (in the order gravado,
    exento, no_sujeto), which takes the remainder so the shares add up to MontoTotal exactly."""
    present = [t for t in ("gravado", "exento", "no_sujeto") if t in weights]
    total_weight = sum(weights.values(), ZERO)
    if not present:
        return {}
    if len(present) == 1 or total_weight == 0:
        return {present[0]: monto_total}
    out: dict[str, Decimal] = {}
    rest = monto_total
    for t in present[1:]:
        out[t] = q5(monto_total * weights[t] / total_weight)
        rest -= out[t]
    return {present[0]: rest, **out}


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
    Cantidad × Σ MontoImpuestoSurtido of that code (summed per IVA tarifa group, see ``_combo_groups``),
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

    @_wide
    def __post_init__(self) -> None:
        c = _Check(self)
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
        monto_total = q5(cantidad * precio)
        normalised, remaining = _successive(c, "descuentos", "monto_descuento", monto_total, "MontoTotal")
        total_desc = monto_total - remaining
        sub_total = remaining if remaining > 0 else ZERO
        if surtido:
            self._combo(c, cantidad, monto_total, total_desc, sub_total, surtido)
            return
        on_monto_total = any(d.codigo_descuento in _ASUMIDO for d in normalised)
        asumido_base = sum(
            (d.monto_descuento or ZERO for d in normalised if d.codigo_descuento in _ASUMIDO), ZERO
        )
        # non-IVA taxes first: some form part of the IVA base
        montos: dict[int, Decimal] = {}
        for i, t in enumerate(impuestos):
            if not t.codigo.es_iva:
                montos[i] = _monto_especifico(t, cantidad, sub_total)
        especificos_base = sum(
            (montos[i] for i, t in enumerate(impuestos) if t.codigo.forma_base_imponible), ZERO
        )
        base = base_given if base_given is not None else sub_total + especificos_base
        calculados: list[ImpuestoCalculado] = []
        for i, t in enumerate(impuestos):
            asumido = ZERO
            tarifa = t.tarifa if t.tarifa is not None else ZERO
            if t.codigo is CodigoImpuesto.IVA:
                # Regalía/Bonificación (01/03): IVA on MontoTotal, the gifted part assumed by the emisor
                monto = q5((monto_total if on_monto_total else base) * tarifa / ONE_HUNDRED)
                asumido = q5(asumido_base * tarifa / ONE_HUNDRED)
            elif t.codigo is CodigoImpuesto.IVA_CALCULO_ESPECIAL:
                monto = q5(base * tarifa / ONE_HUNDRED)
            elif t.codigo is CodigoImpuesto.IVA_BIENES_USADOS:
                monto = q5((t.factor_calculo_iva or ZERO) * sub_total)
            else:
                monto = montos[i]
            exonerado = ZERO
            if t.exoneracion is not None:
                exo_base = base if t.codigo.es_iva else sub_total
                exonerado = min(q5(exo_base * t.exoneracion.tarifa_exonerada / ONE_HUNDRED), monto)
                if t.tarifa is not None and t.exoneracion.tarifa_exonerada > t.tarifa:
                    c.add(
                        f"impuestos[{i}].exoneracion.tarifa_exonerada",
                        f"{t.exoneracion.tarifa_exonerada} exceeds the tax rate {t.tarifa}",
                    )
            asumido = min(asumido, monto - exonerado)
            calculados.append(
                ImpuestoCalculado(
                    t.codigo, t.codigo_tarifa_iva, monto, exonerado, asumido, monto - exonerado - asumido
                )
            )
        asumido_total = sum((t.asumido for t in calculados), ZERO)
        neto = sum((t.neto for t in calculados), ZERO)
        c.set(
            "calculo",
            CalculoLinea(
                monto_total=monto_total,
                total_descuentos=total_desc,
                sub_total=sub_total,
                base_imponible=base,
                impuestos=tuple(calculados),
                impuesto_asumido_emisor_fabrica=asumido_total,
                impuesto_neto=neto,
                monto_total_linea=sub_total + neto,
            ),
        )
        _check_range(
            c,
            "",
            {"monto_total": monto_total, "base_imponible": base, "monto_total_linea": sub_total + neto}
            | {f"impuestos[{i}].monto": t.monto for i, t in enumerate(calculados)},
        )
        c.done()

    def _combo(  # noqa: PLR0917
        self,
        c: _Check,
        cantidad: Decimal,
        monto_total: Decimal,
        total_desc: Decimal,
        sub_total: Decimal,
        surtido: tuple[LineaDetalleSurtido, ...],
    ) -> None:
        """Amounts of a combo line: SubTotal checked against the components, taxes derived from them."""
        unidad = sum((comp.calculo.sub_total_surtido for comp in surtido), ZERO)
        expected = q5(cantidad * unidad)
        if sub_total != expected:
            c.add(
                "precio_unitario",
                f"a combo line's SubTotal must be Cantidad × the components' SubTotalSurtido ({cantidad} × "
                f"{unidad} = {expected}); Cantidad × PrecioUnitario − discounts gives {sub_total} "
                "(LineaDetalle.combo sets PrecioUnitario to the components' SubTotalSurtido)",
            )
        por_codigo: dict[CodigoImpuesto, tuple[Decimal, Decimal]] = {}
        for (codigo, _tarifa), (monto, asumido) in _combo_groups(cantidad, surtido).items():
            m, a = por_codigo.get(codigo, (ZERO, ZERO))
            por_codigo[codigo] = (m + monto, a + asumido)
        calculados = tuple(
            ImpuestoCalculado(codigo, None, monto, ZERO, asumido, monto - asumido)
            for codigo, (monto, asumido) in por_codigo.items()
        )
        base = sub_total + sum((t.monto for t in calculados if t.codigo.forma_base_imponible), ZERO)
        asumido_total = sum((t.asumido for t in calculados), ZERO)
        neto = sum((t.neto for t in calculados), ZERO)
        c.set(
            "calculo",
            CalculoLinea(
                monto_total=monto_total,
                total_descuentos=total_desc,
                sub_total=sub_total,
                base_imponible=base,
                impuestos=calculados,
                impuesto_asumido_emisor_fabrica=asumido_total,
                impuesto_neto=neto,
                monto_total_linea=sub_total + neto,
                surtido=tuple(comp.calculo for comp in surtido),
            ),
        )
        _check_range(
            c,
            "",
            {"monto_total": monto_total, "base_imponible": base, "monto_total_linea": sub_total + neto}
            | {f"impuestos[{i}].monto": t.monto for i, t in enumerate(calculados)},
        )
        c.done()

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


def _successive(
    c: _Check, name: str, amount_name: str, monto_total: Decimal, what: str
) -> tuple[tuple[Any, ...], Decimal]:
    """Apply the discounts in ``name`` one after another (a percentage on what remains), write them back with
    their amounts and return them with what remains of ``monto_total``."""
    remaining = monto_total
    normalised: list[Any] = []
    for i, given in enumerate(getattr(c.obj, name)):
        d = given
        monto = getattr(d, amount_name)
        if monto is None:
            assert d.porcentaje is not None
            monto = q5(remaining * d.porcentaje / ONE_HUNDRED)
            d = dataclasses.replace(d, **{amount_name: monto})
        if monto > remaining:
            c.add(
                f"{name}[{i}].{amount_name}",
                f"{monto} exceeds what remains of {what} after the previous discounts ({remaining})",
            )
        remaining -= monto
        normalised.append(d)
    c.set(name, tuple(normalised))
    return tuple(normalised), remaining


def _monto_especifico(t: Impuesto, cantidad: Decimal, sub_total: Decimal) -> Decimal:
    """Monto of a non-IVA tax of a line (Anexos v4.4, field Monto)."""
    return _especifico(t.codigo, t.tarifa, t.datos_impuesto_especifico, cantidad, sub_total)


def _especifico(
    codigo: CodigoImpuesto,
    tarifa_given: Decimal | None,
    d: DatosImpuestoEspecifico | None,
    cantidad: Decimal,
    sub_total: Decimal,
) -> Decimal:
    """Monto of a non-IVA tax (Anexos v4.4, fields Monto and MontoImpuestoSurtido)."""
    tarifa = tarifa_given if tarifa_given is not None else ZERO
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
    return q5(sub_total * tarifa / ONE_HUNDRED)


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

    @_wide
    def __post_init__(self) -> None:
        c = _Check(self)
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
        calculados = []
        for t in impuestos:
            if t.codigo is CodigoImpuesto.IVA_BIENES_USADOS:
                monto = q5((t.factor_calculo_iva or ZERO) * sub_total)
            else:
                monto = q5(sub_total * (t.tarifa or ZERO) / ONE_HUNDRED)
            calculados.append(ImpuestoCalculado(t.codigo, t.codigo_tarifa_iva, monto, ZERO, ZERO, monto))
        neto = sum((t.neto for t in calculados), ZERO)
        c.set(
            "calculo",
            CalculoLinea(
                monto_total=monto_total,
                total_descuentos=ZERO,
                sub_total=sub_total,
                base_imponible=sub_total,
                impuestos=tuple(calculados),
                impuesto_asumido_emisor_fabrica=ZERO,
                impuesto_neto=neto,
                monto_total_linea=sub_total + neto,
            ),
        )


# ---------------------------------------------------------------------------------------------------------
# other charges, payment, references, others


@dataclass(frozen=True, slots=True, kw_only=True)
class OtroCargo:
    """OtrosCargos entry (Nota 16). ``monto_cargo`` > 0; ``porcentaje_oc`` is informative (13 = 13 %)."""

    tipo_documento_oc: TipoDocumentoOtrosCargos
    detalle: str
    monto_cargo: Decimal
    tipo_documento_otros: str | None = None
    identificacion_tercero: Identificacion | None = None
    nombre_tercero: str | None = None
    porcentaje_oc: Decimal | None = None

    def __post_init__(self) -> None:
        c = _Check(self)
        tipo = c.enum("tipo_documento_oc", TipoDocumentoOtrosCargos)
        c.text("detalle", max_len=160)
        c.amount("monto_cargo", positive=True)
        c.text("tipo_documento_otros", min_len=5, max_len=100, optional=True)
        c.instance("identificacion_tercero", Identificacion, optional=True)
        c.text("nombre_tercero", min_len=5, max_len=100, optional=True)
        c.rate("porcentaje_oc", max_digits=9, decimals=5)
        if tipo is TipoDocumentoOtrosCargos.OTROS and self.tipo_documento_otros is None:
            c.add("tipo_documento_otros", "is required with tipo_documento_oc 99")
        if tipo is TipoDocumentoOtrosCargos.COBRO_TERCERO:
            if self.identificacion_tercero is None:
                c.add("identificacion_tercero", "is required with tipo_documento_oc 04 (cobro de un tercero)")
            if self.nombre_tercero is None:
                c.add("nombre_tercero", "is required with tipo_documento_oc 04 (cobro de un tercero)")
        c.done()


@dataclass(frozen=True, slots=True, kw_only=True)
class MedioPago:
    """ResumenFactura/MedioPago. With a single means ``total_medio_pago`` defaults to TotalComprobante; with
    two or more each needs it and they must add up to TotalComprobante."""

    tipo_medio_pago: TipoMedioPago
    total_medio_pago: Decimal | None = None
    medio_pago_otros: str | None = None

    def __post_init__(self) -> None:
        c = _Check(self)
        tipo = c.enum("tipo_medio_pago", TipoMedioPago)
        c.amount("total_medio_pago", optional=True, positive=True)
        c.text("medio_pago_otros", min_len=3, max_len=100, optional=True)
        if tipo is TipoMedioPago.OTROS and self.medio_pago_otros is None:
            c.add("medio_pago_otros", "is required with tipo_medio_pago 99")
        c.done()


@dataclass(frozen=True, slots=True, kw_only=True)
class InformacionReferencia:
    """InformacionReferencia: the referenced document (``numero`` = its clave or number) and why."""

    tipo_doc_ir: TipoDocReferencia
    fecha_emision_ir: datetime
    numero: str | None = None
    codigo: CodigoReferencia | None = None
    razon: str | None = None
    tipo_doc_ref_otro: str | None = None
    codigo_referencia_otro: str | None = None

    def __post_init__(self) -> None:
        c = _Check(self)
        tipo = c.enum("tipo_doc_ir", TipoDocReferencia)
        c.moment("fecha_emision_ir")
        numero = c.text("numero", max_len=50, optional=True)
        codigo = c.enum("codigo", CodigoReferencia, optional=True)
        c.text("razon", min_len=3, max_len=180, optional=True)
        c.text("tipo_doc_ref_otro", min_len=5, max_len=100, optional=True)
        c.text("codigo_referencia_otro", min_len=5, max_len=100, optional=True)
        if tipo is not TipoDocReferencia.FACTURACION_MES_VENCIDO and tipo is not None:
            for name, value in (("numero", numero), ("codigo", codigo), ("razon", self.razon)):
                if value is None:
                    c.add(name, f"is required with tipo_doc_ir {tipo.value}")
        if tipo in _CLAVE_REFS and numero is not None and not re.fullmatch(r"\d{50}", numero):
            c.add(
                "numero",
                f"tipo_doc_ir {tipo.value} references an electronic voucher: give its 50-digit clave",
            )
        if tipo is TipoDocReferencia.OTROS and self.tipo_doc_ref_otro is None:
            c.add("tipo_doc_ref_otro", "is required with tipo_doc_ir 99")
        if codigo is CodigoReferencia.OTROS and self.codigo_referencia_otro is None:
            c.add("codigo_referencia_otro", "is required with codigo 99")
        c.done()


_CLAVE_REFS = frozenset(
    {
        TipoDocReferencia.FACTURA_ELECTRONICA,
        TipoDocReferencia.NOTA_DEBITO,
        TipoDocReferencia.NOTA_CREDITO,
        TipoDocReferencia.TIQUETE,
        TipoDocReferencia.DEVOLUCION_MERCADERIA,
        TipoDocReferencia.SUSTITUYE_RECHAZADA_POR_RECEPTOR,
        TipoDocReferencia.SUSTITUYE_FACTURA_EXPORTACION,
        TipoDocReferencia.SUSTITUYE_FACTURA_COMPRA,
    }
)


@dataclass(frozen=True, slots=True, kw_only=True)
class OtroTexto:
    """Otros/OtroTexto: free text (≤500) with an optional ``codigo`` attribute."""

    valor: str
    codigo: str | None = None

    def __post_init__(self) -> None:
        c = _Check(self)
        c.text("valor", min_len=0, max_len=500)
        c.text("codigo", optional=True)
        c.done()


@dataclass(frozen=True, slots=True, kw_only=True)
class OtroContenido:
    """Otros/OtroContenido: structured content as text (≤500) with an optional ``codigo`` attribute."""

    valor: str
    codigo: str | None = None

    def __post_init__(self) -> None:
        c = _Check(self)
        c.text("valor", min_len=0, max_len=500)
        c.text("codigo", optional=True)
        c.done()


@dataclass(frozen=True, slots=True, kw_only=True)
class Otros:
    """Otros (commercial, not tax, information)."""

    otros_textos: tuple[OtroTexto, ...] = ()
    otros_contenidos: tuple[OtroContenido, ...] = ()

    def __post_init__(self) -> None:
        c = _Check(self)
        c.items("otros_textos", OtroTexto)
        c.items("otros_contenidos", OtroContenido)
        c.done()


# ---------------------------------------------------------------------------------------------------------
# summary


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

    AMOUNT_FIELDS: ClassVar[tuple[str, ...]] = (
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
class StatedTotals:
    """What a parsed XML states: its ResumenFactura, each line's amounts (in order), the schema version it
    was read as ("4.4", "4.3", ...) and the problems noticed while reading leniently."""

    version: str
    resumen: ResumenFactura
    lineas: tuple[CalculoLinea, ...]
    warnings: tuple[Problem, ...] = ()


# ---------------------------------------------------------------------------------------------------------
# documents

_NUMBERING_FIELDS = ("clave", "numero_consecutivo", "fecha_emision")


def _check_numbering(  # noqa: PLR0917
    c: _Check,
    tipo: TipoDocumento,
    clave_field: str,
    consecutivo_field: str,
    fecha_field: str,
    emisor: Identificacion | None,
) -> None:
    from cr_einvoice.core.clave import Clave, Consecutivo

    obj = c.obj
    for name in (clave_field, consecutivo_field):
        value = getattr(obj, name)
        if value is not None and not isinstance(value, str):
            c.set(name, str(value))
    clave = c.pattern(clave_field, r"\d{50}", "50 digits", optional=True)
    consecutivo = c.pattern(consecutivo_field, r"\d{20}", "20 digits", optional=True)
    fecha = c.moment(fecha_field, optional=True)
    if _lenient():
        return
    if consecutivo is not None and re.fullmatch(r"\d{20}", consecutivo):
        try:
            parsed_c = Consecutivo.parse(consecutivo, path=consecutivo_field)
        except ValidationError as exc:
            c.problems.extend(exc.problems)
        else:
            if parsed_c.tipo is not tipo:
                c.add(
                    consecutivo_field,
                    f"carries document type {parsed_c.tipo.value}, this document is {tipo.value}",
                )
    if (
        clave is not None
        and re.fullmatch(r"\d{50}", clave)
        and consecutivo_field != "numero_consecutivo_receptor"
    ):
        try:
            parsed = Clave.parse(clave)
        except ValidationError as exc:
            c.problems.extend(exc.problems)
            return
        if consecutivo is not None and clave[21:41] != consecutivo:
            c.add(
                clave_field, f"positions 22-41 ({clave[21:41]}) differ from {consecutivo_field} {consecutivo}"
            )
        if fecha is not None and parsed.fecha != fecha.date():
            c.add(
                clave_field,
                f"carries the date {parsed.fecha.isoformat()}, "
                f"{fecha_field} is {fecha.date().isoformat()} (CR time)",
            )
        if (
            emisor is not None
            and tipo is not TipoDocumento.FACTURA_COMPRA
            and emisor.tipo
            not in (TipoIdentificacion.EXTRANJERO_NO_DOMICILIADO, TipoIdentificacion.NO_CONTRIBUYENTE)
            and not parsed.matches_identificacion(emisor.tipo, emisor.numero)
        ):
            c.add(
                clave_field,
                f"positions 10-21 ({clave[9:21]}) are not the emisor's identification {emisor.numero}",
            )


def _missing_numbering(doc: object, names: Sequence[str]) -> list[Problem]:
    return [
        Problem(name, "is missing: number the document first with doc.with_numbering(...)")
        for name in names
        if getattr(doc, name) is None
    ]


_CONDICIONES: dict[TipoDocumento, frozenset[str]] = {
    TipoDocumento.FACTURA_ELECTRONICA: frozenset(
        ["01", "02", "03", "04", "05", "06", "07", "08", "10", "12", "13", "14", "15", "99"]
    ),
    TipoDocumento.TIQUETE: frozenset(
        ["01", "02", "03", "04", "05", "06", "07", "08", "10", "13", "14", "15", "99"]
    ),
    TipoDocumento.NOTA_CREDITO: frozenset(
        ["01", "02", "03", "04", "05", "06", "07", "08", "09", "10", "11", "12", "13", "14", "15", "99"]
    ),
    TipoDocumento.NOTA_DEBITO: frozenset(
        ["01", "02", "03", "04", "05", "06", "07", "08", "09", "10", "11", "12", "13", "14", "15", "99"]
    ),
    TipoDocumento.FACTURA_COMPRA: frozenset(
        ["01", "02", "03", "04", "05", "06", "07", "08", "10", "13", "14", "15", "99"]
    ),
    TipoDocumento.FACTURA_EXPORTACION: frozenset(
        ["01", "02", "03", "04", "05", "06", "07", "08", "10", "13", "14", "15", "99"]
    ),
    TipoDocumento.RECIBO_PAGO: frozenset({"09", "11"}),
}

_D = TypeVar("_D", bound="_Numbered")


class _Numbered:
    """Numbering shared by the voucher types."""

    __slots__ = ()

    def with_numbering(self: _D, *, consecutivo: object, clave: object, fecha_emision: datetime) -> _D:
        """A copy carrying NumeroConsecutivo, Clave and FechaEmision (``Consecutivo``/``Clave`` objects of
        :mod:`cr_einvoice.core.clave` or their digit strings). The three are checked against each other and
        against the document type and the emisor's identification."""
        return dataclasses.replace(  # type: ignore[type-var]
            self, numero_consecutivo=str(consecutivo), clave=str(clave), fecha_emision=fecha_emision
        )


class _Voucher(_Numbered):
    """What the seven voucher types share: type, numbering check, stated totals."""

    __slots__ = ()
    TIPO: ClassVar[TipoDocumento]
    ROOT: ClassVar[str]
    stated: StatedTotals | None
    resumen: ResumenFactura
    lineas: tuple[LineaDetalle, ...] | tuple[LineaPago, ...]

    @property
    def tipo(self) -> TipoDocumento:
        return self.TIPO

    @property
    def stated_resumen(self) -> ResumenFactura | None:
        """The ResumenFactura as the parsed XML states it (None for documents built in Python)."""
        return self.stated.resumen if self.stated is not None else None

    def missing_numbering(self) -> list[Problem]:
        """The numbering fields still missing (``to_xml`` refuses the document until they are set)."""
        return _missing_numbering(self, _NUMBERING_FIELDS)

    def stated_differences(self) -> list[Problem]:
        """Where the stated totals of a parsed document differ from the computed ones (empty when they agree
        or when the document was not parsed). Paths use Hacienda's element names."""
        return _differences(self.resumen, self.stated, [ln.calculo for ln in self.lineas])


@dataclass(frozen=True, slots=True, kw_only=True)
class Comprobante(_Voucher):
    """Fields shared by FE, ND, NC, TE, FEC and FEE (the element sets differ per type; a constructor refuses
    what its schema does not have). Use a concrete subclass."""

    TIPO: ClassVar[TipoDocumento]
    ROOT: ClassVar[str]

    proveedor_sistemas: str
    emisor: Emisor
    receptor: Receptor | None = None
    codigo_actividad_emisor: str | None = None
    codigo_actividad_receptor: str | None = None
    condicion_venta: CondicionVenta = CondicionVenta.CONTADO
    condicion_venta_otros: str | None = None
    plazo_credito: int | None = None
    lineas: tuple[LineaDetalle, ...] = ()
    otros_cargos: tuple[OtroCargo, ...] = ()
    codigo_moneda: CodigoMoneda = CodigoMoneda.CRC
    tipo_cambio: Decimal | None = None
    medios_pago: tuple[MedioPago, ...] = ()
    iva_devuelto_salud: bool = False
    referencias: tuple[InformacionReferencia, ...] = ()
    otros: Otros | None = None
    clave: str | None = None
    numero_consecutivo: str | None = None
    fecha_emision: datetime | None = None
    stated: StatedTotals | None = field(default=None, compare=False, repr=False)
    resumen: ResumenFactura = field(init=False, compare=False, repr=False)

    @_wide
    def __post_init__(self) -> None:
        if not hasattr(type(self), "TIPO"):
            raise TypeError("Comprobante is abstract: use FacturaElectronica, NotaCredito, Tiquete, ...")
        c = _Check(self)
        tipo = self.TIPO
        strict = not _lenient()
        c.text("proveedor_sistemas", min_len=0 if not strict else 1, max_len=20)
        emisor = c.instance("emisor", Emisor)
        receptor = c.instance("receptor", Receptor, optional=True)
        for name in ("codigo_actividad_emisor", "codigo_actividad_receptor"):
            value = getattr(self, name)
            if isinstance(value, str) and value.isdigit() and len(value) < 6:
                c.set(name, value.rjust(6, "0"))
            c.pattern(name, r"\S{6}", "6 characters (zero-padded activity code)", optional=True)
        condicion = c.enum("condicion_venta", CondicionVenta)
        c.text("condicion_venta_otros", min_len=5, max_len=100, optional=True)
        plazo = c.integer("plazo_credito", 0, 99_999)
        lineas = c.items("lineas", LineaDetalle, max_items=1000)
        cargos = c.items("otros_cargos", OtroCargo, max_items=15)
        moneda = c.enum("codigo_moneda", CodigoMoneda)
        if self.tipo_cambio is None and moneda is CodigoMoneda.CRC:
            c.set("tipo_cambio", Decimal(1))
        cambio = c.amount("tipo_cambio", positive=True)
        c.items("medios_pago", MedioPago, max_items=4)
        flag: object = self.iva_devuelto_salud
        if not isinstance(flag, bool):
            c.add("iva_devuelto_salud", "expected true or false", always=True)
        refs = c.items("referencias", InformacionReferencia, max_items=10)
        c.instance("otros", Otros, optional=True)
        _check_numbering(
            c,
            tipo,
            "clave",
            "numero_consecutivo",
            "fecha_emision",
            emisor.identificacion if emisor is not None else None,
        )
        c.done()
        assert emisor is not None and condicion is not None and moneda is not None and cambio is not None
        if strict:
            self._check_type_rules(
                c, emisor, receptor, condicion, plazo, lineas, cargos, moneda, cambio, refs
            )
        resumen = _compute_resumen(self, c)
        c.set("resumen", resumen)
        c.done()

    def _check_type_rules(  # noqa: PLR0917
        self,
        c: _Check,
        emisor: Emisor,
        receptor: Receptor | None,
        condicion: CondicionVenta,
        plazo: int | None,
        lineas: tuple[LineaDetalle, ...],
        cargos: tuple[OtroCargo, ...],
        moneda: CodigoMoneda,
        cambio: Decimal,
        refs: tuple[InformacionReferencia, ...],
    ) -> None:
        tipo = self.TIPO
        name = type(self).__name__
        fec, fee = tipo is TipoDocumento.FACTURA_COMPRA, tipo is TipoDocumento.FACTURA_EXPORTACION
        notas = tipo in (TipoDocumento.NOTA_CREDITO, TipoDocumento.NOTA_DEBITO)
        # header
        if self.codigo_actividad_emisor is None and tipo in (
            TipoDocumento.FACTURA_ELECTRONICA,
            TipoDocumento.TIQUETE,
            TipoDocumento.FACTURA_EXPORTACION,
        ):
            c.add("codigo_actividad_emisor", f"is required in {name}")
        if self.codigo_actividad_receptor is not None and tipo in (
            TipoDocumento.TIQUETE,
            TipoDocumento.FACTURA_EXPORTACION,
        ):
            c.add("codigo_actividad_receptor", f"does not exist in {name}")
        if fec and self.codigo_actividad_receptor is None:
            c.add("codigo_actividad_receptor", "is required in FacturaCompra (the buyer's activity)")
        if condicion.value not in _CONDICIONES[tipo]:
            c.add("condicion_venta", f"{condicion.value} is not allowed in {name}")
        if condicion is CondicionVenta.OTROS and self.condicion_venta_otros is None:
            c.add("condicion_venta_otros", "is required with condicion_venta 99")
        if condicion is not CondicionVenta.OTROS and self.condicion_venta_otros is not None:
            c.add("condicion_venta_otros", "is only used with condicion_venta 99")
        if condicion in (CondicionVenta.CREDITO, CondicionVenta.VENTA_CREDITO_IVA_90_DIAS) and not plazo:
            c.add("plazo_credito", f"is required (days, > 0) with condicion_venta {condicion.value}")
        if plazo is not None and plazo <= 0:
            c.add("plazo_credito", "must be greater than zero")
        # parties
        eid = emisor.identificacion
        if not emisor.correos_electronicos and not (fec or notas):
            c.add("emisor.correos_electronicos", f"at least one address is required in {name}")
        if emisor.ubicacion is None and not (fec or notas):
            c.add("emisor.ubicacion", f"is required in {name}")
        if emisor.otras_senas_extranjero is not None and not (
            fec and eid.tipo is TipoIdentificacion.EXTRANJERO_NO_DOMICILIADO
        ):
            c.add(
                "emisor.otras_senas_extranjero", "is only for a non-domiciled (05) emisor of a FacturaCompra"
            )
        if eid.tipo is TipoIdentificacion.EXTRANJERO_NO_DOMICILIADO:
            if not fec:
                c.add(
                    "emisor.identificacion.tipo",
                    "05 (extranjero no domiciliado) may issue only in a FacturaCompra",
                )
            elif not any(r.tipo_doc_ir is TipoDocReferencia.PROVEEDOR_NO_DOMICILIADO for r in refs):
                c.add("referencias", "a non-domiciled (05) seller needs a reference with tipo_doc_ir 16")
        if eid.tipo is TipoIdentificacion.NO_CONTRIBUYENTE and not (
            fec and condicion is CondicionVenta.VENTA_BIENES_USADOS_NO_CONTRIBUYENTE
        ):
            c.add(
                "emisor.identificacion.tipo",
                "06 (no contribuyente) may issue only a FacturaCompra with condicion_venta 13",
            )
        if fec and not re.fullmatch(r"\d{9,20}", eid.numero):
            c.add("emisor.identificacion.numero", "the FacturaCompra schema requires 9 to 20 digits")
        for party, who in ((emisor, "emisor"), (receptor, "receptor")):
            tel = party.telefono if party is not None else None
            if (fec or fee) and tel is not None and len(tel.num_telefono) < 8:
                c.add(f"{who}.telefono.num_telefono", f"the {name} schema requires at least 8 digits")
        if receptor is None:
            if tipo in (TipoDocumento.FACTURA_ELECTRONICA, TipoDocumento.FACTURA_COMPRA):
                c.add("receptor", f"is required in {name}")
        else:
            if receptor.identificacion is None and tipo in (
                TipoDocumento.FACTURA_ELECTRONICA,
                TipoDocumento.FACTURA_COMPRA,
            ):
                c.add("receptor.identificacion", f"is required in {name}")
            if fee and receptor.ubicacion is not None:
                c.add(
                    "receptor.ubicacion", "does not exist in FacturaExportacion (use otras_senas_extranjero)"
                )
            if fec and receptor.otras_senas_extranjero is not None:
                c.add("receptor.otras_senas_extranjero", "does not exist in FacturaCompra")
            rtipo = receptor.identificacion.tipo if receptor.identificacion is not None else None
            if rtipo is TipoIdentificacion.EXTRANJERO_NO_DOMICILIADO:
                if fec:
                    c.add("receptor.identificacion.tipo", "05 is not allowed as receptor of a FacturaCompra")
                if (
                    tipo is TipoDocumento.FACTURA_ELECTRONICA
                    and condicion is not CondicionVenta.VENTA_MERCANCIA_NO_NACIONALIZADA
                ):
                    c.add(
                        "receptor.identificacion.tipo",
                        "05 as receptor of a FacturaElectronica needs condicion_venta 12",
                    )
            if rtipo is TipoIdentificacion.NO_CONTRIBUYENTE and fec:
                c.add("receptor.identificacion.tipo", "the buyer issuing a FacturaCompra must be a taxpayer")
        # lines
        if not lineas:
            if fec or fee:
                c.add("lineas", f"at least one line is required in {name}")
            elif not cargos or any(oc.tipo_documento_oc not in _CARGOS_SIN_DETALLE for oc in cargos):
                c.add(
                    "lineas",
                    "at least one line is required (only other charges 04, 08, 09 and 10 may stand alone)",
                )
        for i, ln in enumerate(lineas):
            p = f"lineas[{i}]"
            if ln.tipo_transaccion is not None and tipo is TipoDocumento.TIQUETE:
                c.add(f"{p}.tipo_transaccion", "does not exist in Tiquete")
            if ln.partida_arancelaria is not None and not (fee or notas):
                c.add(f"{p}.partida_arancelaria", f"does not exist in {name}")
            if ln.iva_cobrado_fabrica is not None and (fec or fee):
                c.add(f"{p}.iva_cobrado_fabrica", f"does not exist in {name}")
            if ln.base_imponible is not None and fee:
                c.add(f"{p}.base_imponible", "does not exist in FacturaExportacion")
            if (
                fee
                and not ln.surtido  # checked per component (_check_combo)
                and ln.calculo.base_imponible != ln.calculo.sub_total
                and any(t.codigo.es_iva and t.monto for t in ln.calculo.impuestos)
            ):
                c.add(
                    f"{p}.impuestos",
                    "FacturaExportacion has no BaseImponible: a tax 02/04/05/12 cannot raise the base of a "
                    "taxed IVA there",
                )
            iva = ln.impuesto_iva
            if ln.surtido:
                self._check_combo(c, p, ln)
            elif iva is None:
                c.add(
                    f"{p}.impuestos",
                    "every line needs its IVA tax (codigo 01, 07 or 08; tarifa 10 when exempt)",
                )
            for j, t in enumerate(ln.impuestos):
                q = f"{p}.impuestos[{j}]"
                if t.codigo_tarifa_iva is not None and t.codigo_tarifa_iva.solo_notas and not notas:
                    c.add(
                        f"{q}.codigo_tarifa_iva",
                        f"{t.codigo_tarifa_iva.value} is only allowed in credit and debit notes",
                    )
                if t.datos_impuesto_especifico is not None and (fec or fee):
                    c.add(f"{q}.datos_impuesto_especifico", f"does not exist in {name}")
                if t.exoneracion is not None and fee:
                    c.add(f"{q}.exoneracion", "does not exist in FacturaExportacion")
                if t.monto_exportacion is not None and not (fee or notas):
                    c.add(f"{q}.monto_exportacion", f"does not exist in {name}")
            if ln.calculo.impuesto_asumido_emisor_fabrica and (fec or fee):
                c.add(f"{p}.descuentos", f"{name} has no ImpuestoAsumidoEmisorFabrica (regalía/bonificación)")
        # other charges
        for i, oc in enumerate(cargos):
            if (
                oc.identificacion_tercero is not None
                and fec
                and not re.fullmatch(r"\d{9,20}", oc.identificacion_tercero.numero)
            ):
                c.add(
                    f"otros_cargos[{i}].identificacion_tercero.numero",
                    "the FacturaCompra schema requires 9 to 20 digits",
                )
        # currency
        if moneda is CodigoMoneda.CRC and cambio != 1:
            c.add("tipo_cambio", f"must be 1 for CRC, got {cambio}")
        # references
        min_refs = 1 if (notas or fec) else 0
        if len(refs) < min_refs:
            c.add("referencias", f"at least one InformacionReferencia is required in {name}")
        for i, r in enumerate(refs):
            if r.tipo_doc_ir is TipoDocReferencia.PROVEEDOR_NO_DOMICILIADO and not fec:
                c.add(f"referencias[{i}].tipo_doc_ir", "16 may be used only in a FacturaCompra")
            if r.codigo is CodigoReferencia.PAGO_COMPROBANTE_ELECTRONICO:
                c.add(
                    f"referencias[{i}].codigo",
                    "17 (pago a comprobante electrónico) is for the ReciboPago only",
                )
        # others
        if (
            fec
            and self.otros is not None
            and (
                any(o.codigo is not None for o in self.otros.otros_textos)
                or any(o.codigo is not None for o in self.otros.otros_contenidos)
            )
        ):
            c.add("otros", "the FacturaCompra schema has no codigo attribute on OtroTexto/OtroContenido")
        if self.iva_devuelto_salud and tipo in (
            TipoDocumento.FACTURA_COMPRA,
            TipoDocumento.FACTURA_EXPORTACION,
        ):
            c.add("iva_devuelto_salud", f"{name} has no TotalIVADevuelto")

    def _check_combo(self, c: _Check, p: str, ln: LineaDetalle) -> None:
        """Per-type restrictions of a combo line's components."""
        name = type(self).__name__
        tipo = self.TIPO
        if tipo is TipoDocumento.FACTURA_COMPRA:
            c.add(f"{p}.surtido", "does not exist in FacturaCompra (DetalleSurtido)")
        fee = tipo is TipoDocumento.FACTURA_EXPORTACION
        notas = tipo in (TipoDocumento.NOTA_CREDITO, TipoDocumento.NOTA_DEBITO)
        for k, comp in enumerate(ln.surtido):
            q = f"{p}.surtido[{k}]"
            if not any(t.codigo_impuesto_surtido.es_iva for t in comp.impuestos_surtido):
                c.add(
                    f"{q}.impuestos_surtido",
                    "every component needs its IVA tax (codigo 01 or 07; tarifa 10 when exempt)",
                )
            if fee and comp.iva_cobrado_fabrica_surtido is not None:
                c.add(f"{q}.iva_cobrado_fabrica_surtido", f"does not exist in {name}")
            if fee and comp.base_imponible_surtido is not None:
                c.add(f"{q}.base_imponible_surtido", f"does not exist in {name}")
            for j, t in enumerate(comp.impuestos_surtido):
                tq = f"{q}.impuestos_surtido[{j}]"
                ctar = t.codigo_tarifa_iva_surtido
                if ctar is not None and ctar.solo_notas and not notas:
                    c.add(
                        f"{tq}.codigo_tarifa_iva_surtido",
                        f"{ctar.value} is only allowed in credit and debit notes",
                    )
                if fee and t.datos_impuesto_especifico_surtido is not None:
                    c.add(f"{tq}.datos_impuesto_especifico_surtido", f"does not exist in {name}")
            if (
                fee
                and comp.calculo.base_imponible_surtido != comp.calculo.sub_total_surtido
                and any(t.codigo.es_iva and t.monto for t in comp.calculo.impuestos)
            ):
                c.add(
                    f"{q}.impuestos_surtido",
                    "FacturaExportacion has no BaseImponibleSurtido: a tax 02/04/05/12 cannot raise the base "
                    "of a taxed IVA there",
                )


_CARGOS_SIN_DETALLE = frozenset(
    {
        TipoDocumentoOtrosCargos.COBRO_TERCERO,
        TipoDocumentoOtrosCargos.DEPOSITOS_GARANTIA,
        TipoDocumentoOtrosCargos.MULTAS_PENALIZACIONES,
        TipoDocumentoOtrosCargos.INTERESES_MORATORIOS,
    }
)


def _tratamiento(doc: Comprobante, ln: LineaDetalle) -> tuple[str, Decimal]:
    """The line's IVA treatment and, with an exoneration, the exonerated part of its MontoTotal:
    q5(MontoTotal × TarifaExonerada / Tarifa)."""
    iva = ln.impuesto_iva
    if iva is None:
        return "no_sujeto", ZERO
    if iva.codigo is CodigoImpuesto.IVA_BIENES_USADOS or iva.codigo_tarifa_iva is None:
        treatment = "gravado"
    else:
        treatment = iva.codigo_tarifa_iva.tratamiento
    if doc.TIPO is TipoDocumento.FACTURA_EXPORTACION and treatment == "no_sujeto":
        treatment = "exento"  # the FEE summary has no no-sujeto totals
    exonerado = ZERO
    if treatment == "gravado" and iva.exoneracion is not None and iva.tarifa:
        share = min(iva.exoneracion.tarifa_exonerada, iva.tarifa)
        exonerado = q5(ln.calculo.monto_total * share / iva.tarifa)
    return treatment, exonerado


def _combo_shares(ln: LineaDetalle, fee: bool) -> dict[str, Decimal]:
    """A combo line's MontoTotal per IVA treatment of its components (weights: SubTotalSurtido)."""
    weights: dict[str, Decimal] = {}
    for comp in ln.surtido:
        treatment = comp.tratamiento
        if fee and treatment == "no_sujeto":
            treatment = "exento"  # the FEE summary has no no-sujeto totals
        weights[treatment] = weights.get(treatment, ZERO) + comp.calculo.sub_total_surtido
    return _combo_split(ln.calculo.monto_total, weights)


def _compute_resumen(doc: Comprobante, c: _Check) -> ResumenFactura:
    sums: dict[str, Decimal] = {}

    def add(key: str, value: Decimal) -> None:
        sums[key] = sums.get(key, ZERO) + value

    desglose: dict[tuple[CodigoImpuesto, CodigoTarifaIVA | None], Decimal] = {}
    iva_devuelto = ZERO
    fee = doc.TIPO is TipoDocumento.FACTURA_EXPORTACION
    for ln in doc.lineas:
        calc = ln.calculo
        kind = "serv" if ln.es_servicio else "merc"
        if ln.surtido:
            shares = _combo_shares(ln, fee)
        else:
            treatment, exonerado = _tratamiento(doc, ln)
            if treatment == "gravado" and kind == "merc" and ln.iva_cobrado_fabrica is not None:
                shares = {}
            elif treatment == "gravado" and exonerado > 0:
                shares = {"exonerado": exonerado, "gravado": calc.monto_total - exonerado}
            else:
                shares = {treatment: calc.monto_total}
        for treatment, amount in shares.items():
            if treatment == "gravado" and kind == "merc" and ln.iva_cobrado_fabrica is not None:
                continue  # TotalMercanciasGravadas excludes goods whose IVA is charged at factory level
            add(f"{kind}_{treatment}", amount)
        if ln.surtido:
            for key, (monto, asumido) in _combo_groups(ln.cantidad, ln.surtido).items():
                desglose[key] = desglose.get(key, ZERO) + monto - asumido
        for t in calc.impuestos:
            if not ln.surtido:
                key = (t.codigo, t.codigo_tarifa_iva if t.codigo in _DESGLOSE_TARIFA else None)
                desglose[key] = desglose.get(key, ZERO) + t.neto
            if doc.iva_devuelto_salud and ln.es_servicio and t.codigo is CodigoImpuesto.IVA:
                iva_devuelto += t.neto
    total = {
        k: sums.get(f"serv_{k}", ZERO) + sums.get(f"merc_{k}", ZERO)
        for k in ("gravado", "exento", "exonerado", "no_sujeto")
    }
    total_venta = sum(total.values(), ZERO)
    total_descuentos = sum((ln.calculo.total_descuentos for ln in doc.lineas), ZERO)
    total_venta_neta = total_venta - total_descuentos
    total_impuesto = sum((ln.calculo.impuesto_neto for ln in doc.lineas), ZERO)
    total_asumido = sum((ln.calculo.impuesto_asumido_emisor_fabrica for ln in doc.lineas), ZERO)
    total_cargos = sum((oc.monto_cargo for oc in doc.otros_cargos), ZERO)
    total_comprobante = total_venta_neta + total_impuesto + total_cargos - iva_devuelto
    if doc.iva_devuelto_salud and not _lenient():
        if iva_devuelto <= 0:
            c.add("iva_devuelto_salud", "no service line carries IVA to return")
        if not any(m.tipo_medio_pago is TipoMedioPago.TARJETA for m in doc.medios_pago):
            c.add(
                "iva_devuelto_salud",
                "TotalIVADevuelto applies only to health services paid by card (medio 02)",
            )
    _check_range(c, "", {"total_venta": total_venta, "total_comprobante": total_comprobante})
    medios = _normalise_medios(c, doc.medios_pago, total_comprobante, doc.condicion_venta, "medios_pago")
    assert doc.tipo_cambio is not None
    return ResumenFactura(
        codigo_moneda=doc.codigo_moneda,
        tipo_cambio=doc.tipo_cambio,
        total_serv_gravados=sums.get("serv_gravado", ZERO),
        total_serv_exentos=sums.get("serv_exento", ZERO),
        total_serv_exonerado=sums.get("serv_exonerado", ZERO),
        total_serv_no_sujeto=sums.get("serv_no_sujeto", ZERO),
        total_mercancias_gravadas=sums.get("merc_gravado", ZERO),
        total_mercancias_exentas=sums.get("merc_exento", ZERO),
        total_merc_exonerada=sums.get("merc_exonerado", ZERO),
        total_merc_no_sujeta=sums.get("merc_no_sujeto", ZERO),
        total_gravado=total["gravado"],
        total_exento=total["exento"],
        total_exonerado=total["exonerado"],
        total_no_sujeto=total["no_sujeto"],
        total_venta=total_venta,
        total_descuentos=total_descuentos,
        total_venta_neta=total_venta_neta,
        total_desglose_impuesto=tuple(TotalDesgloseImpuesto(k[0], k[1], v) for k, v in desglose.items()),
        total_impuesto=total_impuesto,
        total_imp_asum_emisor_fabrica=total_asumido,
        total_iva_devuelto=iva_devuelto,
        total_otros_cargos=total_cargos,
        medios_pago=medios,
        total_comprobante=total_comprobante,
    )


_DESGLOSE_TARIFA = (CodigoImpuesto.IVA, CodigoImpuesto.IVA_CALCULO_ESPECIAL)


def _normalise_medios(
    c: _Check, medios: tuple[MedioPago, ...], total: Decimal, condicion: CondicionVenta, name: str
) -> tuple[MedioPago, ...]:
    """Default a single means' amount to the total; check two or more add up to it. Writes the normalised
    tuple back to the document so it round-trips through XML."""
    if len(medios) == 1 and medios[0].total_medio_pago is None and total > 0 and not _lenient():
        medios = (dataclasses.replace(medios[0], total_medio_pago=total),)
        c.set(name, medios)
    if _lenient():
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


def _differences(
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
            element = "".join(part.capitalize() for part in attr.split("_"))
            element = _ELEMENT_FIXES.get(element, element)
            out.append(Problem(f"ResumenFactura/{element}", f"states {b}, computed {a}"))
    return out


_ELEMENT_FIXES = {"TotalIvaDevuelto": "TotalIVADevuelto"}


@dataclass(frozen=True, slots=True, kw_only=True)
class FacturaElectronica(Comprobante):
    """Factura electrónica (01)."""

    TIPO: ClassVar[TipoDocumento] = TipoDocumento.FACTURA_ELECTRONICA
    ROOT: ClassVar[str] = "FacturaElectronica"


@dataclass(frozen=True, slots=True, kw_only=True)
class NotaDebito(Comprobante):
    """Nota de débito electrónica (02): needs at least one InformacionReferencia."""

    TIPO: ClassVar[TipoDocumento] = TipoDocumento.NOTA_DEBITO
    ROOT: ClassVar[str] = "NotaDebitoElectronica"


@dataclass(frozen=True, slots=True, kw_only=True)
class NotaCredito(Comprobante):
    """Nota de crédito electrónica (03): needs at least one InformacionReferencia."""

    TIPO: ClassVar[TipoDocumento] = TipoDocumento.NOTA_CREDITO
    ROOT: ClassVar[str] = "NotaCreditoElectronica"


@dataclass(frozen=True, slots=True, kw_only=True)
class Tiquete(Comprobante):
    """Tiquete electrónico (04): receptor optional."""

    TIPO: ClassVar[TipoDocumento] = TipoDocumento.TIQUETE
    ROOT: ClassVar[str] = "TiqueteElectronico"


@dataclass(frozen=True, slots=True, kw_only=True)
class FacturaCompra(Comprobante):
    """Factura electrónica de compra (08): issued by the buyer (``receptor``) for a purchase from a seller
    (``emisor``) that does not issue vouchers: a non-domiciled supplier (05, with a reference tipo_doc_ir 16)
    or a non-taxpayer selling used goods (06, condicion_venta 13)."""

    TIPO: ClassVar[TipoDocumento] = TipoDocumento.FACTURA_COMPRA
    ROOT: ClassVar[str] = "FacturaElectronicaCompra"


@dataclass(frozen=True, slots=True, kw_only=True)
class FacturaExportacion(Comprobante):
    """Factura electrónica de exportación (09)."""

    TIPO: ClassVar[TipoDocumento] = TipoDocumento.FACTURA_EXPORTACION
    ROOT: ClassVar[str] = "FacturaElectronicaExportacion"


@dataclass(frozen=True, slots=True, kw_only=True)
class ReciboPago(_Voucher):
    """Recibo electrónico de pago (10): records the payment of an FE sold on credit (CondicionVenta 08 → 09,
    10 → 11). TotalVenta = TotalVentaNeta = Σ MontoTotal, TotalImpuesto = Σ ImpuestoNeto and, as the Anexos
    state for the REP, TotalComprobante = TotalVenta. MedioPago is mandatory."""

    TIPO: ClassVar[TipoDocumento] = TipoDocumento.RECIBO_PAGO
    ROOT: ClassVar[str] = "ReciboElectronicoPago"

    proveedor_sistemas: str
    emisor: Emisor
    receptor: Receptor
    condicion_venta: CondicionVenta
    lineas: tuple[LineaPago, ...]
    referencias: tuple[InformacionReferencia, ...]
    medios_pago: tuple[MedioPago, ...] = ()
    codigo_moneda: CodigoMoneda = CodigoMoneda.CRC
    tipo_cambio: Decimal | None = None
    clave: str | None = None
    numero_consecutivo: str | None = None
    fecha_emision: datetime | None = None
    stated: StatedTotals | None = field(default=None, compare=False, repr=False)
    resumen: ResumenFactura = field(init=False, compare=False, repr=False)

    @_wide
    def __post_init__(self) -> None:
        c = _Check(self)
        c.text("proveedor_sistemas", max_len=20)
        emisor = c.instance("emisor", Emisor)
        receptor = c.instance("receptor", Receptor)
        condicion = c.enum("condicion_venta", CondicionVenta)
        lineas = c.items("lineas", LineaPago, min_items=1, max_items=1000)
        refs = c.items("referencias", InformacionReferencia, min_items=1, max_items=10)
        medios = c.items("medios_pago", MedioPago, max_items=4)
        moneda = c.enum("codigo_moneda", CodigoMoneda)
        if self.tipo_cambio is None and moneda is CodigoMoneda.CRC:
            c.set("tipo_cambio", Decimal(1))
        cambio = c.amount("tipo_cambio", positive=True)
        _check_numbering(
            c,
            self.TIPO,
            "clave",
            "numero_consecutivo",
            "fecha_emision",
            emisor.identificacion if emisor is not None else None,
        )
        c.done()
        assert emisor is not None and receptor is not None and condicion is not None and cambio is not None
        if not _lenient():
            if condicion.value not in _CONDICIONES[self.TIPO]:
                c.add("condicion_venta", f"{condicion.value} is not allowed in ReciboPago (09 or 11)")
            if not emisor.correos_electronicos:
                c.add("emisor.correos_electronicos", "at least one address is required in ReciboPago")
            for attr in (
                "ubicacion",
                "nombre_comercial",
                "registrofiscal8707",
                "telefono",
                "otras_senas_extranjero",
            ):
                if getattr(emisor, attr) is not None:
                    c.add(f"emisor.{attr}", "does not exist in ReciboPago")
            for attr in ("nombre_comercial", "ubicacion", "otras_senas_extranjero", "telefono"):
                if getattr(receptor, attr) is not None:
                    c.add(f"receptor.{attr}", "does not exist in ReciboPago")
            if receptor.identificacion is None:
                c.add("receptor.identificacion", "is required in ReciboPago")
            elif receptor.identificacion.tipo is TipoIdentificacion.EXTRANJERO_NO_DOMICILIADO:
                c.add("receptor.identificacion.tipo", "05 is not allowed in ReciboPago")
            if not medios:
                c.add("medios_pago", "at least one payment means is required in ReciboPago")
            if moneda is CodigoMoneda.CRC and cambio != 1:
                c.add("tipo_cambio", f"must be 1 for CRC, got {cambio}")
            allowed = {
                TipoDocReferencia.FACTURA_ELECTRONICA,
                TipoDocReferencia.NOTA_DEBITO,
                TipoDocReferencia.NOTA_CREDITO,
                TipoDocReferencia.TIQUETE,
                TipoDocReferencia.COMPROBANTE_CONTINGENCIA,
                TipoDocReferencia.RECIBO_PAGO,
            }
            for i, r in enumerate(refs):
                if r.tipo_doc_ir not in allowed:
                    c.add(
                        f"referencias[{i}].tipo_doc_ir",
                        "a ReciboPago may reference only 01, 02, 03, 04, 08 or 20",
                    )
                if r.numero is None:
                    c.add(f"referencias[{i}].numero", "is required in ReciboPago")
            for i, ln in enumerate(lineas):
                for j, t in enumerate(ln.impuestos):
                    if t.codigo_tarifa_iva is not None and t.codigo_tarifa_iva.solo_notas:
                        c.add(
                            f"lineas[{i}].impuestos[{j}].codigo_tarifa_iva",
                            "05-07 are only for credit and debit notes",
                        )
        total_venta = sum((ln.calculo.monto_total for ln in lineas), ZERO)
        desglose: dict[tuple[CodigoImpuesto, CodigoTarifaIVA | None], Decimal] = {}
        for ln in lineas:
            for tc in ln.calculo.impuestos:
                key = (tc.codigo, tc.codigo_tarifa_iva if tc.codigo in _DESGLOSE_TARIFA else None)
                desglose[key] = desglose.get(key, ZERO) + tc.neto
        total_impuesto = sum((ln.calculo.impuesto_neto for ln in lineas), ZERO)
        total_comprobante = total_venta
        _check_range(c, "", {"total_venta": total_venta, "total_impuesto": total_impuesto})
        medios = _normalise_medios(c, medios, total_comprobante, condicion, "medios_pago")
        c.set(
            "resumen",
            ResumenFactura(
                codigo_moneda=moneda or CodigoMoneda.CRC,
                tipo_cambio=cambio,
                total_venta=total_venta,
                total_venta_neta=total_venta,
                total_desglose_impuesto=tuple(
                    TotalDesgloseImpuesto(k[0], k[1], v) for k, v in desglose.items()
                ),
                total_impuesto=total_impuesto,
                medios_pago=medios,
                total_comprobante=total_comprobante,
            ),
        )
        c.done()


@dataclass(frozen=True, slots=True, kw_only=True)
class MensajeReceptor(_Numbered):
    """MensajeReceptor: the buyer's confirmation (Mensaje 1 → type 05, 2 → 06, 3 → 07) of a voucher whose
    ``clave`` it carries. Numbering: ``with_numbering(consecutivo=..., fecha_emision=..., clave=None)`` sets
    NumeroConsecutivoReceptor and FechaEmisionDoc (``clave`` stays the confirmed voucher's unless given)."""

    ROOT: ClassVar[str] = "MensajeReceptor"

    clave: str
    numero_cedula_emisor: str
    mensaje: Mensaje
    total_factura: Decimal
    numero_cedula_receptor: str
    detalle_mensaje: str | None = None
    monto_total_impuesto: Decimal | None = None
    codigo_actividad: str | None = None
    condicion_impuesto: CondicionImpuesto | None = None
    monto_total_impuesto_acreditar: Decimal | None = None
    monto_total_de_gasto_aplicable: Decimal | None = None
    fecha_emision_doc: datetime | None = None
    numero_consecutivo_receptor: str | None = None
    stated: StatedTotals | None = field(default=None, compare=False, repr=False)

    @property
    def tipo(self) -> TipoDocumento:
        return self.mensaje.tipo_documento

    def missing_numbering(self) -> list[Problem]:
        return _missing_numbering(self, ("numero_consecutivo_receptor", "fecha_emision_doc"))

    def with_numbering(
        self, *, consecutivo: object, fecha_emision: datetime, clave: object | None = None
    ) -> MensajeReceptor:
        return dataclasses.replace(
            self,
            numero_consecutivo_receptor=str(consecutivo),
            fecha_emision_doc=fecha_emision,
            clave=self.clave if clave is None else str(clave),
        )

    def __post_init__(self) -> None:
        c = _Check(self)
        raw_clave: object = self.clave
        if raw_clave is not None and not isinstance(raw_clave, str):
            c.set("clave", str(raw_clave))
        c.pattern("clave", r"\d{50}", "the 50-digit clave of the confirmed voucher")
        c.text("numero_cedula_emisor", max_len=20)
        mensaje = c.enum("mensaje", Mensaje)
        c.amount("total_factura")
        c.pattern("numero_cedula_receptor", r"\d{9,12}", "9 to 12 digits")
        detalle = c.text("detalle_mensaje", min_len=5, max_len=160, optional=True)
        c.amount("monto_total_impuesto", optional=True)
        codigo = self.codigo_actividad
        if isinstance(codigo, str) and codigo.isdigit() and len(codigo) < 6:
            c.set("codigo_actividad", codigo.rjust(6, "0"))
        c.pattern("codigo_actividad", r"\S{6}", "6 characters", optional=True)
        condicion = c.enum("condicion_impuesto", CondicionImpuesto, optional=True)
        acreditar = c.amount("monto_total_impuesto_acreditar", optional=True)
        gasto = c.amount("monto_total_de_gasto_aplicable", optional=True)
        _check_numbering(
            c,
            mensaje.tipo_documento if mensaje else TipoDocumento.CONFIRMACION_ACEPTACION,
            "clave",
            "numero_consecutivo_receptor",
            "fecha_emision_doc",
            None,
        )
        if mensaje in (Mensaje.ACEPTACION_PARCIAL, Mensaje.RECHAZADO) and detalle is None:
            c.add("detalle_mensaje", "is required (the reason) for a partial acceptance or a rejection")
        if condicion is CondicionImpuesto.PROPORCIONALIDAD and self.codigo_actividad is not None:
            c.add("codigo_actividad", "is omitted when proportionality (condicion_impuesto 05) applies")
        if mensaje is Mensaje.RECHAZADO and (acreditar is not None or gasto is not None):
            c.add("monto_total_impuesto_acreditar", "is not used in a rejection")
        c.done()


Document: TypeAlias = (
    FacturaElectronica
    | NotaDebito
    | NotaCredito
    | Tiquete
    | FacturaCompra
    | FacturaExportacion
    | ReciboPago
    | MensajeReceptor
)

_CLASSES: dict[str, type[Comprobante] | type[ReciboPago] | type[MensajeReceptor]] = {
    "FacturaElectronica": FacturaElectronica,
    "NotaDebitoElectronica": NotaDebito,
    "NotaCreditoElectronica": NotaCredito,
    "TiqueteElectronico": Tiquete,
    "FacturaElectronicaCompra": FacturaCompra,
    "FacturaElectronicaExportacion": FacturaExportacion,
    "ReciboElectronicoPago": ReciboPago,
    "MensajeReceptor": MensajeReceptor,
}


def document_class(root_name: str) -> type[Comprobante] | type[ReciboPago] | type[MensajeReceptor]:
    """The model class of a root element name (``FacturaElectronica`` → :class:`FacturaElectronica`)."""
    try:
        return _CLASSES[root_name]
    except KeyError:
        raise ValidationError(f"unknown voucher root element {root_name!r}", path=root_name) from None
