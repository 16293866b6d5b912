"""The view model of a graphic representation (what a page or a ticket prints, in Spanish, formatted the
Costa Rican way) and the small text builders shared by the two readings that fill it
(:mod:`cr_einvoice.delivery.document`, :mod:`cr_einvoice.delivery.quickread`): one wording of each printed
text."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import NamedTuple

from cr_einvoice.core.catalogs import (
    CodigoDescuento,
    CodigoImpuesto,
    CodigoReferencia,
    CodigoTarifaIVA,
    InstitucionExoneracion,
    IVACobradoFabrica,
    Situacion,
    TipoCodigoComercial,
    TipoDocReferencia,
    TipoDocumento,
    TipoDocumentoExoneracion,
    TipoDocumentoOtrosCargos,
    TipoIdentificacion,
    TipoMedioPago,
    TipoTransaccion,
)
from cr_einvoice.delivery.formatting import fmt_cantidad, fmt_monto, fmt_porcentaje
from cr_einvoice.delivery.labels import PROVINCIAS, describe, impuesto_corto

__all__ = [
    "RESUMEN",
    "RESUMEN_FIN",
    "Campo",
    "Linea",
    "Parte",
    "Representacion",
    "asumido_nota",
    "descuento_nota",
    "direccion",
    "exoneracion_nota",
    "identificacion",
    "impuesto_celda",
    "impuesto_otro_nota",
    "linea_notas",
    "medio",
    "otro_cargo",
    "otro_texto",
    "parte",
    "referencia",
    "resumen_filas",
    "situacion",
    "tarifa",
]


class Campo(NamedTuple):
    """One labelled value (``Condición de venta``: ``01 Contado``). The parts of the view are named tuples
    (a frozen dataclass costs twice as much to make, and a view has dozens of them)."""

    etiqueta: str
    valor: str


class Parte(NamedTuple):
    """A party block: its role (``Emisor``, ``Receptor``), name and labelled details."""

    rol: str
    nombre: str
    campos: tuple[Campo, ...]


class Linea(NamedTuple):
    """One LineaDetalle as printed; ``notas`` are the extra texts under the detail (codes, discounts,
    exoneration, combo components)."""

    numero: int
    cabys: str
    detalle: str
    notas: tuple[str, ...]
    cantidad: str
    unidad: str
    precio_unitario: str
    descuento: str
    impuestos: tuple[str, ...]
    total: str


@dataclass(frozen=True, slots=True)
class Representacion:
    """Everything a graphic representation prints, in reading order."""

    tipo: TipoDocumento
    titulo: str
    version: str
    clave: str
    consecutivo: str
    fecha_emision: str
    situacion: str
    emisor: Parte
    receptor: Parte | None
    condiciones: tuple[Campo, ...]
    lineas: tuple[Linea, ...]
    otros_cargos: tuple[Campo, ...]
    resumen: tuple[Campo, ...]
    total: Campo
    referencias: tuple[str, ...]
    otros: tuple[str, ...]
    estado: str | None
    hacienda: tuple[str, ...]
    leyenda: str
    #: What the QR code encodes: the clave.
    qr: str
    #: How the clave is labelled (a MensajeReceptor carries the confirmed voucher's).
    clave_etiqueta: str = "Clave"

    @property
    def moneda(self) -> str:
        return next((c.valor for c in self.condiciones if c.etiqueta == "Moneda"), "CRC")


#: The ResumenFactura's rows before the tax breakdown: (field of ResumenFactura, label).
RESUMEN: tuple[tuple[str, str], ...] = (
    ("total_serv_gravados", "Servicios gravados"),
    ("total_serv_exentos", "Servicios exentos"),
    ("total_serv_exonerado", "Servicios exonerados"),
    ("total_serv_no_sujeto", "Servicios no sujetos"),
    ("total_mercancias_gravadas", "Mercancías gravadas"),
    ("total_mercancias_exentas", "Mercancías exentas"),
    ("total_merc_exonerada", "Mercancías exoneradas"),
    ("total_merc_no_sujeta", "Mercancías no sujetas"),
    ("total_gravado", "Total gravado"),
    ("total_exento", "Total exento"),
    ("total_exonerado", "Total exonerado"),
    ("total_no_sujeto", "Total no sujeto"),
    ("total_venta", "Total venta"),
    ("total_descuentos", "Total descuentos"),
    ("total_venta_neta", "Total venta neta"),
)
#: The rows after the tax breakdown.
RESUMEN_FIN: tuple[tuple[str, str], ...] = (
    ("total_impuesto", "Total impuestos"),
    ("total_imp_asum_emisor_fabrica", "Impuesto asumido por el emisor o a nivel de fábrica"),
    ("total_iva_devuelto", "IVA devuelto"),
    ("total_otros_cargos", "Total otros cargos"),
)


def resumen_filas(
    amount: Callable[[str], Decimal],
    desglose: Iterable[tuple[CodigoImpuesto, CodigoTarifaIVA | None, Decimal]],
) -> tuple[Campo, ...]:
    """The summary's rows: :data:`RESUMEN` (``amount(field)`` of each), a row per tax of the breakdown
    (code, IVA tarifa code, TotalMontoImpuesto), then :data:`RESUMEN_FIN`."""
    rows = [Campo(label, fmt_monto(amount(attr))) for attr, label in RESUMEN]
    rows += [
        Campo(f"Impuesto {tarifa(codigo, tarifa_iva, None)}", fmt_monto(monto))
        for codigo, tarifa_iva, monto in desglose
    ]
    rows += [Campo(label, fmt_monto(amount(attr))) for attr, label in RESUMEN_FIN]
    return tuple(rows)


def tarifa(codigo: CodigoImpuesto, tarifa_iva: CodigoTarifaIVA | None, rate: Decimal | None) -> str:
    """A tax as a line shows it: ``IVA 01/08 13 %`` (the rate of the IVA tarifa code when none is given)."""
    code = codigo.value + (f"/{tarifa_iva.value}" if tarifa_iva is not None else "")
    if rate is None and tarifa_iva is not None:
        rate = tarifa_iva.tarifa
    return f"{impuesto_corto(codigo)} {code}" + (f" {fmt_porcentaje(rate)}" if rate is not None else "")


def impuesto_celda(
    codigo: CodigoImpuesto,
    tarifa_iva: CodigoTarifaIVA | None,
    rate: Decimal | None,
    factor: Decimal | None,
    monto: Decimal,
) -> str:
    """A line's tax and its amount: ``IVA 01/08 13 %: 130,00``."""
    text = tarifa(codigo, tarifa_iva, rate)
    if factor is not None:
        text += f" factor {fmt_cantidad(factor)}"
    return f"{text}: {fmt_monto(monto)}"


def linea_notas(
    codigos: Sequence[tuple[TipoCodigoComercial, str]],
    *,
    partida: str | None,
    transaccion: TipoTransaccion | None,
    unidad_comercial: str | None,
    vins: Sequence[str],
    registro: str | None,
    forma: str | None,
    fabrica: IVACobradoFabrica | None,
) -> list[str]:
    """The first notes under a line's detail: its codes and what its optional fields say."""
    notas = [f"{describe(tipo).partition(' ')[2]}: {codigo}" for tipo, codigo in codigos]
    if partida:
        notas.append(f"Partida arancelaria: {partida}")
    if transaccion is not None and transaccion is not TipoTransaccion.VENTA_NORMAL:
        notas.append(f"Transacción: {describe(transaccion)}")
    if unidad_comercial:
        notas.append(f"Unidad comercial: {unidad_comercial}")
    if vins:
        notas.append("VIN o serie: " + ", ".join(vins))
    if registro:
        notas.append(f"Registro de medicamento: {registro}")
    if forma:
        notas.append(f"Forma farmacéutica: {forma}")
    if fabrica is not None:
        notas.append(describe(fabrica))
    return notas


def exoneracion_nota(
    tipo: TipoDocumentoExoneracion,
    numero: str,
    *,
    articulo: int | None,
    inciso: int | None,
    institucion: InstitucionExoneracion,
    institucion_otros: str | None,
    fecha: str,
    tarifa: Decimal,
    monto: Decimal,
) -> str:
    """A tax's exoneration (``fecha`` already printed): the document, the institution, the exonerated rate
    and amount."""
    quien = describe(institucion) + (f" ({institucion_otros})" if institucion_otros else "")
    ley = (f", artículo {articulo}" if articulo is not None else "") + (
        f", inciso {inciso}" if inciso is not None else ""
    )
    return (
        f"Exoneración {describe(tipo)} N° {numero}{ley}, {quien}, {fecha}, tarifa exonerada "
        f"{fmt_porcentaje(tarifa)}: {fmt_monto(monto)}"
    )


def impuesto_otro_nota(codigo: CodigoImpuesto, otro: str) -> str:
    """The name a line gives a tax of code 99 (CodigoImpuestoOTRO)."""
    return f"Impuesto {codigo.value}: {otro}"


def asumido_nota(monto: Decimal) -> str:
    """A line's tax assumed by the issuer or at the factory (ImpuestoAsumidoEmisorFabrica)."""
    return f"Impuesto asumido por el emisor: {fmt_monto(monto)}"


def descuento_nota(codigo: CodigoDescuento, otro: str | None, naturaleza: str | None, monto: Decimal) -> str:
    """A line's discount: ``Descuento 07 Descuento comercial: 1 000,00``."""
    nombre = describe(codigo)
    if otro:
        nombre += f" ({otro})"
    if naturaleza:
        nombre += f", {naturaleza}"
    return f"Descuento {nombre}: {fmt_monto(monto)}"


def medio(tipo: TipoMedioPago, otros: str | None, total: Decimal | None) -> Campo:
    """One MedioPago: ``02 Tarjeta: 1 000,00``."""
    text = describe(tipo)
    if otros:
        text += f" ({otros})"
    if total is not None:
        text += f": {fmt_monto(total)}"
    return Campo("Medio de pago", text)


def direccion(provincia: str, canton: str, distrito: str, barrio: str | None, otras_senas: str) -> str:
    """An address of Nota 14's codes: the province by name, the codes, barrio and otras señas."""
    nombre = PROVINCIAS.get(provincia, provincia)
    parts = [f"{nombre} (provincia {provincia}, cantón {canton}, distrito {distrito})"]
    if barrio:
        parts.append(barrio)
    parts.append(otras_senas)
    return ", ".join(parts)


def parte(
    rol: str,
    nombre: str,
    *,
    nombre_comercial: str | None,
    identificacion: Campo | None,
    registro: str | None,
    direccion: str | None,
    telefono: str | None,
    correos: Sequence[str | None],
) -> Parte:
    """A party block, its details in the printed order (the empty ones left out)."""
    pairs: list[Campo | None] = [
        Campo("Nombre comercial", nombre_comercial) if nombre_comercial else None,
        identificacion,
        Campo("Registro fiscal 8707", registro) if registro else None,
        Campo("Dirección", direccion) if direccion else None,
        Campo("Teléfono", telefono) if telefono else None,
        Campo("Correo electrónico", ", ".join(c for c in correos if c)) if any(correos) else None,
    ]
    return Parte(rol, nombre, tuple(c for c in pairs if c is not None))


def otro_cargo(
    tipo: TipoDocumentoOtrosCargos,
    otros: str | None,
    *,
    detalle: str,
    porcentaje: Decimal | None,
    tercero: tuple[str | None, str | None] | None,
    monto: Decimal,
) -> Campo:
    """An OtrosCargos row: ``06 Impuesto de servicio: Servicio 10% (10 %)`` and its amount; ``tercero``:
    the third party's name and identification number, when either is given."""
    label = describe(tipo) + (f" ({otros})" if otros else "")
    pct = f" ({fmt_porcentaje(porcentaje)})" if porcentaje is not None else ""
    quien = ""
    if tercero is not None:
        quien = f"; tercero: {tercero[0] or ''} {tercero[1] or ''}".rstrip()
    return Campo(f"{label}: {detalle}{pct}{quien}", fmt_monto(monto))


def referencia(
    tipo: TipoDocReferencia,
    tipo_otro: str | None,
    *,
    numero: str | None,
    fecha: str,
    codigo: CodigoReferencia | None,
    codigo_otro: str | None,
    razon: str | None,
) -> str:
    """An InformacionReferencia (``fecha`` already printed)."""
    text = describe(tipo) + (f" ({tipo_otro})" if tipo_otro else "") + f" N° {numero or '—'} del {fecha}"
    if codigo is not None:
        text += f"; {describe(codigo)}"
        if codigo_otro:
            text += f" ({codigo_otro})"
    if razon:
        text += f"; razón: {razon}"
    return text


def otro_texto(codigo: str | None, valor: str) -> str:
    """An OtroTexto or OtroContenido, its code first."""
    return (f"[{codigo}] " if codigo else "") + valor


def situacion(clave: str) -> str:
    """The clave's situación (digit 42) by name."""
    try:
        return describe(Situacion(clave[41:42]))
    except ValueError:
        return clave[41:42] or "—"


def identificacion(tipo: TipoIdentificacion, numero: str) -> Campo:
    """An identification labelled by its type (``Cédula jurídica``)."""
    return Campo(describe(tipo).partition(" ")[2] or "Identificación", numero)
