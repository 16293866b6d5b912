"""The seven comprobantes: FacturaElectronica (01), NotaDebito (02), NotaCredito (03), Tiquete (04),
FacturaCompra (08), FacturaExportacion (09) and ReciboPago (10), what they share, and the ``Document`` union
(with the MensajeReceptor). Each class knows its :class:`~cr_einvoice.core.catalogs.TipoDocumento`; its root
element (``ROOT``) comes from that code's entry in :data:`cr_einvoice.core.catalogs.DOCUMENT_KINDS`."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar, Self, TypeAlias

from cr_einvoice.core.catalogs import CodigoMoneda, CondicionVenta, TipoDocumento, TipoMedioPago
from cr_einvoice.core.checks import Check, lenient, stated_amounts
from cr_einvoice.core.clave import Clave, Consecutivo
from cr_einvoice.core.errors import Problem, ValidationError
from cr_einvoice.core.money import ZERO
from cr_einvoice.vouchers import compute
from cr_einvoice.vouchers.model._support import check_range, wide
from cr_einvoice.vouchers.model.lines import LineaDetalle, LineaPago
from cr_einvoice.vouchers.model.mensaje import MensajeReceptor
from cr_einvoice.vouchers.model.numbering import (
    NUMBERING_FIELDS,
    check_numbering,
    missing_numbering,
)
from cr_einvoice.vouchers.model.parties import Emisor, Receptor
from cr_einvoice.vouchers.model.references import InformacionReferencia, MedioPago, OtroCargo, Otros
from cr_einvoice.vouchers.model.summary import (
    ResumenFactura,
    StatedTotals,
    build_resumen,
    differences,
    factory_goods,
    sale_parts,
)
from cr_einvoice.vouchers.model.type_rules import check_comprobante, check_recibo

__all__ = [
    "Comprobante",
    "Document",
    "FacturaCompra",
    "FacturaElectronica",
    "FacturaExportacion",
    "NotaCredito",
    "NotaDebito",
    "ReciboPago",
    "Tiquete",
    "document_class",
]


#: The field names of each voucher class (every slot a copy carries over), found once per class.
_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _field_names(cls: type) -> tuple[str, ...]:
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = _FIELD_NAMES[cls] = tuple(f.name for f in dataclasses.fields(cls))
    return names


class _Voucher:
    """What the seven voucher types share: type, root element, numbering check, currency, stated totals."""

    __slots__ = ()
    TIPO: ClassVar[TipoDocumento]
    ROOT: ClassVar[str]
    stated: StatedTotals | None
    resumen: ResumenFactura
    lineas: tuple[LineaDetalle, ...] | tuple[LineaPago, ...]
    tipo_cambio: Decimal | None
    _checked: bool

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        tipo = cls.__dict__.get("TIPO")
        if isinstance(tipo, TipoDocumento):
            cls.ROOT = tipo.root

    @property
    def tipo(self) -> TipoDocumento:
        return self.TIPO

    @property
    def stated_resumen(self) -> ResumenFactura | None:
        """The ResumenFactura as the parsed XML states it (None for documents built in Python)."""
        return self.stated.resumen if self.stated is not None else None

    def missing_numbering(self) -> list[Problem]:
        """The numbering fields still missing (``to_xml`` refuses the document until they are set)."""
        return missing_numbering(self, NUMBERING_FIELDS)

    def stated_differences(self) -> list[Problem]:
        """Where the stated totals of a parsed document differ from the computed ones (empty when they agree
        or when the document was not parsed). Paths use Hacienda's element names."""
        return differences(self.resumen, self.stated, [ln.calculo for ln in self.lineas])

    def _currency(self, c: Check) -> tuple[CodigoMoneda | None, Decimal | None]:
        """CodigoMoneda and TipoCambio (1 by default for colones)."""
        moneda = c.enum("codigo_moneda", CodigoMoneda)
        if self.tipo_cambio is None and moneda is CodigoMoneda.CRC:
            c.set("tipo_cambio", Decimal(1))
        return moneda, c.amount("tipo_cambio", positive=True)

    def with_numbering(self, *, consecutivo: object, clave: object, fecha_emision: datetime) -> Self:
        """A copy carrying NumeroConsecutivo, Clave and FechaEmision (``Consecutivo``/``Clave`` objects of
        :mod:`cr_einvoice.core.clave` or their digit strings). The three are checked against each other and
        against the document type and the emisor's identification.

        A document whose constructor ran every check (outside
        :func:`~cr_einvoice.core.checks.reading_received`) has ``_checked`` set; numbering it checks only what
        numbering changes (:meth:`_numbering`): nothing else of the frozen document can differ from what its
        constructor checked."""
        numbering = {
            "numero_consecutivo": str(consecutivo),
            "clave": str(clave),
            "fecha_emision": fecha_emision,
        }
        if not self._checked or lenient():
            # Built leniently (a received document), or numbered leniently: the constructor decides again.
            return dataclasses.replace(self, **numbering)  # type: ignore[type-var]
        cls = type(self)
        copy = object.__new__(cls)
        for name in _field_names(cls):
            object.__setattr__(copy, name, numbering[name] if name in numbering else getattr(self, name))
        c = Check(copy)
        parsed: tuple[Consecutivo, Clave] | None = None
        if isinstance(consecutivo, Consecutivo) and isinstance(clave, Clave):
            parsed = (consecutivo, clave)  # well formed by construction: not parsed again from the text
        copy._numbering(c, parsed)
        c.done()
        return copy

    def _numbering(self, c: Check, parsed: tuple[Consecutivo, Clave] | None = None) -> None:
        """Check the numbering fields against the type and the emisor's identification; ``parsed``: the
        objects they were written from (see :func:`check_numbering`)."""
        emisor: object = getattr(self, "emisor", None)
        ident = emisor.identificacion if isinstance(emisor, Emisor) else None
        check_numbering(c, self.TIPO, ident, parsed=parsed)


@dataclass(frozen=True, slots=True, kw_only=True)
class Comprobante(_Voucher):
    """Fields shared by FE, ND, NC, TE, FEC and FEE (the element sets differ per type; a constructor refuses
    what its schema does not have). Use a concrete subclass."""

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
    #: Every check of the constructor ran (not a lenient reading): see :meth:`_Voucher.with_numbering`.
    _checked: bool = field(default=False, init=False, compare=False, repr=False)

    @wide
    def __post_init__(self) -> None:
        if not hasattr(type(self), "TIPO"):
            raise TypeError("Comprobante is abstract: use FacturaElectronica, NotaCredito, Tiquete, ...")
        c = Check(self)
        strict = not lenient()
        c.text("proveedor_sistemas", min_len=0 if not strict else 1, max_len=20)
        emisor = c.instance("emisor", Emisor)
        c.instance("receptor", Receptor, optional=True)
        for name in ("codigo_actividad_emisor", "codigo_actividad_receptor"):
            value = getattr(self, name)
            if isinstance(value, str) and value.isdigit() and len(value) < 6:
                c.set(name, value.rjust(6, "0"))
            c.pattern(name, r"\S{6}", "6 characters (zero-padded activity code)", optional=True)
        condicion = c.enum("condicion_venta", CondicionVenta)
        c.text("condicion_venta_otros", min_len=5, max_len=100, optional=True)
        c.integer("plazo_credito", 0, 99_999)
        c.items("lineas", LineaDetalle, max_items=1000)
        c.items("otros_cargos", OtroCargo, max_items=15)
        moneda, cambio = self._currency(c)
        c.items("medios_pago", MedioPago, max_items=4)
        flag: object = self.iva_devuelto_salud
        if not isinstance(flag, bool):
            c.add("iva_devuelto_salud", "expected true or false", always=True)
        c.items("referencias", InformacionReferencia, max_items=10)
        c.instance("otros", Otros, optional=True)
        self._numbering(c)
        c.done()
        assert emisor is not None and condicion is not None and moneda is not None and cambio is not None
        if strict:
            check_comprobante(c, self)
        if not stated_amounts():  # else the reader sets the stated ResumenFactura
            c.set("resumen", self._resumen(c))
        c.done()
        c.set("_checked", strict)

    def _resumen(self, c: Check) -> ResumenFactura:
        """The computed ResumenFactura (checking TotalIVADevuelto's conditions)."""
        export = self.TIPO is TipoDocumento.FACTURA_EXPORTACION
        totals = compute.summary(
            [
                compute.SummaryLine(
                    ln.calculo, ln.cantidad, ln.es_servicio, factory_goods(ln), sale_parts(ln, export)
                )
                for ln in self.lineas
            ],
            otros_cargos=sum((oc.monto_cargo for oc in self.otros_cargos), ZERO),
            iva_devuelto_salud=self.iva_devuelto_salud,
        )
        if self.iva_devuelto_salud and not lenient():
            if totals["total_iva_devuelto"] <= 0:
                c.add("iva_devuelto_salud", "no service line carries IVA to return")
            if not any(m.tipo_medio_pago is TipoMedioPago.TARJETA for m in self.medios_pago):
                c.add(
                    "iva_devuelto_salud",
                    "TotalIVADevuelto applies only to health services paid by card (medio 02)",
                )
        check_range(
            c, {"total_venta": totals["total_venta"], "total_comprobante": totals["total_comprobante"]}
        )
        assert self.tipo_cambio is not None
        return build_resumen(c, self.codigo_moneda, self.tipo_cambio, totals, self.condicion_venta)


@dataclass(frozen=True, slots=True, kw_only=True)
class FacturaElectronica(Comprobante):
    """Factura electrónica (01)."""

    TIPO: ClassVar[TipoDocumento] = TipoDocumento.FACTURA_ELECTRONICA


@dataclass(frozen=True, slots=True, kw_only=True)
class NotaDebito(Comprobante):
    """Nota de débito electrónica (02): needs at least one InformacionReferencia."""

    TIPO: ClassVar[TipoDocumento] = TipoDocumento.NOTA_DEBITO


@dataclass(frozen=True, slots=True, kw_only=True)
class NotaCredito(Comprobante):
    """Nota de crédito electrónica (03): needs at least one InformacionReferencia."""

    TIPO: ClassVar[TipoDocumento] = TipoDocumento.NOTA_CREDITO


@dataclass(frozen=True, slots=True, kw_only=True)
class Tiquete(Comprobante):
    """Tiquete electrónico (04): receptor optional."""

    TIPO: ClassVar[TipoDocumento] = TipoDocumento.TIQUETE


@dataclass(frozen=True, slots=True, kw_only=True)
class FacturaCompra(Comprobante):
    """Factura electrónica de compra (08): issued by the buyer (``receptor``) for a purchase from a seller
    (``emisor``) that does not issue vouchers: a non-domiciled supplier (05, with a reference tipo_doc_ir 16)
    or a non-taxpayer selling used goods (06, condicion_venta 13)."""

    TIPO: ClassVar[TipoDocumento] = TipoDocumento.FACTURA_COMPRA


@dataclass(frozen=True, slots=True, kw_only=True)
class FacturaExportacion(Comprobante):
    """Factura electrónica de exportación (09)."""

    TIPO: ClassVar[TipoDocumento] = TipoDocumento.FACTURA_EXPORTACION


@dataclass(frozen=True, slots=True, kw_only=True)
class ReciboPago(_Voucher):
    """Recibo electrónico de pago (10): records the payment of an FE sold on credit (CondicionVenta 08 → 09,
    10 → 11). TotalVenta = TotalVentaNeta = Σ MontoTotal, TotalImpuesto = Σ ImpuestoNeto and, as the Anexos
    state for the REP, TotalComprobante = TotalVenta. MedioPago is mandatory."""

    TIPO: ClassVar[TipoDocumento] = TipoDocumento.RECIBO_PAGO

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
    #: Every check of the constructor ran (not a lenient reading): see :meth:`_Voucher.with_numbering`.
    _checked: bool = field(default=False, init=False, compare=False, repr=False)

    @wide
    def __post_init__(self) -> None:
        c = Check(self)
        c.text("proveedor_sistemas", max_len=20)
        emisor = c.instance("emisor", Emisor)
        receptor = c.instance("receptor", Receptor)
        condicion = c.enum("condicion_venta", CondicionVenta)
        lineas = c.items("lineas", LineaPago, min_items=1, max_items=1000)
        c.items("referencias", InformacionReferencia, min_items=1, max_items=10)
        c.items("medios_pago", MedioPago, max_items=4)
        moneda, cambio = self._currency(c)
        self._numbering(c)
        c.done()
        assert emisor is not None and receptor is not None and condicion is not None and cambio is not None
        assert moneda is not None
        if not lenient():
            check_recibo(c, self)
        totals = compute.payment_summary([ln.calculo for ln in lineas])
        check_range(c, {"total_venta": totals["total_venta"], "total_impuesto": totals["total_impuesto"]})
        c.set("resumen", build_resumen(c, moneda, cambio, totals, condicion))
        c.done()
        c.set("_checked", not lenient())


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
    cls.ROOT: cls
    for cls in (
        FacturaElectronica,
        NotaDebito,
        NotaCredito,
        Tiquete,
        FacturaCompra,
        FacturaExportacion,
        ReciboPago,
        MensajeReceptor,
    )
}


def document_class(root_name: str) -> type[Comprobante] | type[ReciboPago] | type[MensajeReceptor]:
    """The model class of a root element name (``FacturaElectronica`` → :class:`FacturaElectronica`)."""
    try:
        return _CLASSES[root_name]
    except KeyError:
        raise ValidationError(f"unknown voucher root element {root_name!r}", path=root_name) from None
