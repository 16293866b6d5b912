"""Immutable typed models of every v4.4 voucher, with the totals computed by the library.

The package's modules: ``parties`` (Emisor, Receptor, Ubicacion, Telefono), ``items`` (CodigoComercial,
Descuento, Impuesto with its DatosImpuestoEspecifico and Exoneracion), ``combos`` (DetalleSurtido
components), ``lines`` (LineaDetalle, LineaPago), ``references`` (OtroCargo, MedioPago,
InformacionReferencia, Otros), ``summary`` (ResumenFactura, TotalDesgloseImpuesto, StatedTotals),
``numbering``, ``type_rules`` (what each document type allows), ``documents`` (the seven comprobantes) and
``mensaje`` (MensajeReceptor). The amounts are computed by :mod:`cr_einvoice.vouchers.compute`.

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

from cr_einvoice.core.checks import reading_received
from cr_einvoice.vouchers.compute import CalculoLinea, CalculoSurtido, ImpuestoCalculado
from cr_einvoice.vouchers.model.combos import (
    CodigoComercialSurtido,
    DescuentoSurtido,
    ImpuestoSurtido,
    LineaDetalleSurtido,
)
from cr_einvoice.vouchers.model.documents import (
    Comprobante,
    Document,
    FacturaCompra,
    FacturaElectronica,
    FacturaExportacion,
    NotaCredito,
    NotaDebito,
    ReciboPago,
    Tiquete,
    document_class,
)
from cr_einvoice.vouchers.model.items import (
    CodigoComercial,
    DatosImpuestoEspecifico,
    Descuento,
    Exoneracion,
    Impuesto,
)
from cr_einvoice.vouchers.model.lines import LineaDetalle, LineaPago
from cr_einvoice.vouchers.model.mensaje import MensajeReceptor
from cr_einvoice.vouchers.model.parties import Emisor, Identificacion, Receptor, Telefono, Ubicacion
from cr_einvoice.vouchers.model.references import (
    InformacionReferencia,
    MedioPago,
    OtroCargo,
    OtroContenido,
    Otros,
    OtroTexto,
)
from cr_einvoice.vouchers.model.summary import ResumenFactura, StatedTotals, TotalDesgloseImpuesto

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
